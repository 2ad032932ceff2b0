"""``python -m aroma.cli``."""

from aroma.cli import app

app()
