"""Errors the toolkit reports to users: each names what was wrong and where."""

from __future__ import annotations

import re
from pathlib import Path

SHOWN_CHARS = 60
MESSAGE_CHARS = 400


def redact(text: str) -> str:
    """Text with the ``user:password@`` part of every URI removed."""
    return re.sub(r"://[^@/\s]*@", "://", text)


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as it may appear in a message: control characters escaped, at most ``limit`` characters."""
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        text = repr(text)[1:-1]
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(str(value)):,} characters)"


def not_utf8(text: str) -> bool:
    """Whether ``text`` came from bytes that are not UTF-8 (decoded with ``surrogateescape``, as Python does for
    command-line arguments): it holds lone surrogates, which no database or file accepts."""
    return any("\udc80" <= c <= "\udcff" for c in text)


class AromaError(Exception):
    """Base class for errors shown to users as a one-line message (no traceback)."""


class SourceFormatError(AromaError):
    """A source file does not have the format its publisher uses."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 1] + "…"
        super().__init__(f"{where}: {message}")


class StoreError(AromaError):
    """The graph database could not be reached or refused an operation."""


class ReadOnlyViolation(StoreError):
    """A query tried to change the graph in a read-only session."""
