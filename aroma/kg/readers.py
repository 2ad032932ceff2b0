"""Line readers shared by the source adapters: gzip detection, line numbers, clear errors."""

from __future__ import annotations

import functools
import gzip
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

from aroma.errors import SourceFormatError

GZIP_MAGIC = b"\x1f\x8b"
T = TypeVar("T")
BLOCK_BYTES = 1 << 20
# No line of any source comes near this (the longest, a UniProt sequence, is 34 KB): a longer one is refused while
# reading, naming its line, before it is held in memory whole or reaches a database.
MAX_LINE_BYTES = 1 << 20


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _open_binary(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise SourceFormatError(path, None, "file not found")
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else path.open("rb")


def numbered_lines(path: Path | str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line_without_newline)``; only LF ends a line (a lone CR is part of it).

    Decoding and the check for control characters (other than tab and CR) name the line that
    holds the bad byte. Blocks of lines are decoded at once, for speed.
    """
    path = Path(path)
    for before, chunk in whole_line_blocks(path):
        yield from block_lines(path, chunk, before)


def whole_line_blocks(path: Path | str, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """Yield ``(lines_before, chunk)``: the file (gunzipped) in chunks of whole lines, each ending in LF
    (a last line without one gets it). A line longer than MAX_LINE_BYTES is an error naming it; a truncated
    or corrupt gzip file is an error naming the file."""
    path = Path(path)
    lineno = 0
    try:
        with _open_binary(path) as handle:
            rest = b""
            for block in iter(lambda: handle.read(block_bytes), b""):
                data = rest + block
                cut = data.rfind(b"\n") + 1
                chunk, rest = data[:cut], data[cut:]
                if len(rest) > MAX_LINE_BYTES:
                    _too_long(path, lineno + chunk.count(b"\n") + 1, f"{len(rest):,} bytes and no end of line yet")
                if chunk:
                    _check_line_lengths(path, chunk, lineno)
                    yield lineno, chunk
                    lineno += chunk.count(b"\n")
            if rest:
                yield lineno, rest + b"\n"
    except _GZIP_FAULTS as exc:  # the file's fault, not a line's
        raise SourceFormatError(path, None, f"{_gzip_fault(exc)}, found after {lineno:,} whole lines; "
                                            "fetch it again") from exc


_GZIP_FAULTS = (EOFError, gzip.BadGzipFile, zlib.error)


def _gzip_fault(exc: BaseException) -> str:
    """What a gzip read error says about the file: it ends too soon, or its data or CRC is wrong."""
    return f"{'truncated' if isinstance(exc, EOFError) else 'corrupt'} gzip file ({exc})"


def _too_long(path: Path, line: int, size: str) -> NoReturn:
    raise SourceFormatError(path, line, f"line longer than {MAX_LINE_BYTES:,} bytes ({size}): no record of a "
                                        "source is near that long")


def _check_line_lengths(path: Path, chunk: bytes, before: int) -> None:
    """Refuse a line of ``chunk`` longer than MAX_LINE_BYTES. Such a line covers a whole window of half that
    size, so only windows without a newline (none, in a sound file) are looked at closely: a few finds a block."""
    half = MAX_LINE_BYTES // 2
    for start in range(0, len(chunk) - half + 1, half):
        if chunk.find(b"\n", start, start + half) < 0:
            begin, end = chunk.rfind(b"\n", 0, start) + 1, chunk.find(b"\n", start)
            if end - begin > MAX_LINE_BYTES:
                _too_long(path, before + chunk.count(b"\n", 0, begin) + 1, f"{end - begin:,} bytes")


def gzip_damage(path: Path | str) -> str | None:
    """Why a gzip file is damaged (truncated, or its data or CRC corrupt), read to its end; None if it is
    sound or not gzip. Asked when a parse fails, since flipped bytes are only caught by the CRC at the end."""
    path = Path(path)
    try:
        with path.open("rb") as probe:
            if probe.read(2) != GZIP_MAGIC:
                return None
        with gzip.open(path, "rb") as handle:
            while handle.read(BLOCK_BYTES):
                pass
    except _GZIP_FAULTS as exc:
        return _gzip_fault(exc)
    except OSError:
        return None
    return None


def check_block(path: Path, chunk: bytes, before: int) -> str:
    """``chunk`` decoded; bytes that are not UTF-8 or are control characters are an error naming the line."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = chunk.rfind(b"\n", 0, exc.start) + 1
        raise SourceFormatError(path, before + chunk.count(b"\n", 0, exc.start) + 1,
                                f"not UTF-8 text (byte 0x{chunk[exc.start]:02x} at column {exc.start - start + 1}: "
                                f"{exc.reason})") from exc
    if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk) and (bad := _CONTROL.search(text)) is not None:
        start = text.rfind("\n", 0, bad.start()) + 1
        raise SourceFormatError(path, before + text.count("\n", 0, bad.start()) + 1,
                                f"control character U+{ord(bad.group()):04X} at column {bad.start() - start + 1}")
    return text


def plain_ascii(chunk: bytes) -> bool:
    """Whether ``chunk`` is ASCII without control characters other than tab and LF (nothing to check)."""
    return chunk.isascii() and len(chunk.translate(None, _CONTROL_BYTES)) == len(chunk) and b"\r" not in chunk


def block_lines(path: Path, chunk: bytes, before: int) -> Iterator[tuple[int, str]]:
    """Lines of ``chunk`` (whole lines, each ending in LF) that follow line ``before``."""
    lines = check_block(path, chunk, before).split("\n")
    lines.pop()  # after the last LF
    for number, line in enumerate(lines, start=before + 1):
        yield number, line[:-1] if line.endswith("\r") else line


def nonempty(what: str) -> Callable[[Callable[..., Iterator[T]]], Callable[..., Iterator[T]]]:
    """Decorate a reader ``f(path, ...)`` so that a source yielding nothing is an error naming the file."""
    def wrap(func: Callable[..., Iterator[T]]) -> Callable[..., Iterator[T]]:
        @functools.wraps(func)
        def reader(path: Path | str, *args: Any, **kwargs: Any) -> Iterator[T]:
            return require_rows(path, func(path, *args, **kwargs), what)
        return reader
    return wrap


def require_rows(path: Path | str, rows: Iterable[T], what: str = "records") -> Iterator[T]:
    """Pass ``rows`` through; a source that yields none is an error naming the file."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        raise SourceFormatError(path, None, f"no {what} found ({size:,} bytes): the file is empty or truncated; "
                                            "a source must yield rows")


def read_table(
    path: Path | str,
    columns: int,
    *,
    sep: str = "\t",
    skip_comments: bool = False,
    header_first_field: str | None = None,
    min_columns: int | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` of a delimited file, checking every row's column count.

    ``columns`` is the exact count expected (or the minimum when ``min_columns`` is given,
    for GMT-like rows). A first line whose first field equals ``header_first_field`` is
    skipped; with ``skip_comments`` so is every line starting with ``#``.
    """
    path = Path(path)
    for lineno, line in numbered_lines(path):
        if not line or (skip_comments and line.startswith("#")):
            continue
        fields = line.split(sep)
        if lineno == 1 and header_first_field is not None and fields[0] == header_first_field:
            continue
        if min_columns is not None:
            if len(fields) < min_columns:
                raise SourceFormatError(
                    path, lineno, f"expected at least {min_columns} columns, found {len(fields)}"
                )
        elif len(fields) != columns:
            raise SourceFormatError(path, lineno, f"expected {columns} columns, found {len(fields)}")
        yield lineno, fields
