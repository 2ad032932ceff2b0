"""Console width for rich output: the terminal's own width, or no wrapping when writing to a log or a pipe; and no
library progress bars there."""

from __future__ import annotations

import os
from typing import TextIO

PIPE_WIDTH = 1000  # wide enough that tables, progress lines and messages never wrap in a log


def output_width(stream: TextIO) -> int | None:
    """``None`` (rich measures the terminal) on a terminal or when ``COLUMNS`` is set, else ``PIPE_WIDTH``."""
    if os.environ.get("COLUMNS"):
        return None
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return None if interactive else PIPE_WIDTH


def configure_global_console() -> None:
    """Give rich's global console (used by progress bars) the same width rule as the command's own output."""
    import sys

    import rich

    width = output_width(sys.stdout)
    if width is not None:
        rich.reconfigure(width=width)


def no_library_bars_off_terminal() -> None:
    """Off a terminal (a log file, a pipe), bars that libraries draw with tqdm itself (transformers' GGUF loading)
    are turned off; tqdm reads ``TQDM_DISABLE`` when first imported, so call this before any library loads."""
    import sys

    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
