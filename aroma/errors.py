"""Errors the toolkit reports to users: each names what was wrong and where."""

from __future__ import annotations

from pathlib import Path


class AromaError(Exception):
    """Base class for errors shown to users as a one-line message (no traceback)."""


class SourceFormatError(AromaError):
    """A source file does not have the format its publisher uses."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")


class StoreError(AromaError):
    """The graph database could not be reached or refused an operation."""


class ReadOnlyViolation(StoreError):
    """A query tried to change the graph in a read-only session."""
