"""Line readers shared by the source adapters: gzip detection, line numbers, clear errors."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from aroma.errors import SourceFormatError

GZIP_MAGIC = b"\x1f\x8b"


def _open_text(path: Path) -> IO[str]:
    if not path.is_file():
        raise SourceFormatError(path, None, "file not found")
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    raw = gzip.open(path, "rb") if compressed else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def numbered_lines(path: Path | str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line_without_newline)``; corrupt input names the line reached."""
    path = Path(path)
    lineno = 0
    try:
        with _open_text(path) as handle:
            for lineno, line in enumerate(handle, start=1):
                yield lineno, line.rstrip("\r\n")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise SourceFormatError(path, lineno + 1, f"truncated or corrupt gzip data ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise SourceFormatError(path, lineno + 1, f"not UTF-8 text ({exc.reason})") from exc


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
