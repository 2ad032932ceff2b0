"""Where the toolkit finds data: options first, then environment variables."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "AROMA_DATA"  # a directory holding sources/ and perturbqa/ (e.g. ../shared/data)
SOURCES_ENV = "AROMA_SOURCES"  # overrides $AROMA_DATA/sources


def data_dir() -> Path | None:
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None


def sources_dir(option: Path | None = None) -> Path | None:
    if option is not None:
        return option
    if os.environ.get(SOURCES_ENV):
        return Path(os.environ[SOURCES_ENV]).expanduser()
    root = data_dir()
    return root / "sources" if root else None


def perturbqa_dir(option: Path | None = None) -> Path | None:
    if option is not None:
        return option
    root = data_dir()
    return root / "perturbqa" if root else None
