"""STRING protein info (id → preferred name) and detailed links with channel scores.

The release is parsed once, from the file name, into ``aroma.kg.sources.STRING_VERSION``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
import numpy as np

from aroma.kg.readers import block_lines, nonempty, plain_ascii, read_table, whole_line_blocks

CHANNELS = (
    "neighborhood",
    "fusion",
    "cooccurence",
    "coexpression",
    "experimental",
    "database",
    "textmining",
)


@dataclass(frozen=True, slots=True)
class StringLink:
    protein_a: str
    protein_b: str
    channels: tuple[int, ...]  # in CHANNELS order
    combined_score: int
    line: int


def read_protein_info(path: Path) -> dict[str, str]:
    """STRING protein id → preferred name (the gene symbol)."""
    names: dict[str, str] = {}
    for _line, f in read_table(path, 4, skip_comments=True):
        names[f[0]] = f[1]
    if not names:
        raise SourceFormatError(path, None, "no proteins found: the file is empty or truncated; a source must yield rows")
    return names


@nonempty("protein links")
def read_links(path: Path) -> Iterator[StringLink]:
    for line, f in read_table(path, 10, sep=" ", header_first_field="protein1"):
        try:
            scores = [int(v) for v in f[2:]]
        except ValueError as exc:
            raise SourceFormatError(path, line, f"score is not an integer ({exc})") from exc
        yield StringLink(f[0], f[1], tuple(scores[:7]), scores[7], line)


BLOCK_BYTES = 32 << 20  # lines are parsed in blocks of about this size
_COLUMNS = ("protein1", "protein2", *CHANNELS, "combined_score")


@dataclass(frozen=True)
class LinkBlock:
    """Consecutive links of the file as arrays: ``names[codes]`` gives each end's protein id."""

    lines: np.ndarray  # int64 file line number of each row
    codes_a: np.ndarray  # int32 indices into names_a
    names_a: list[str]
    codes_b: np.ndarray
    names_b: list[str]
    channels: np.ndarray  # (rows, 7) int32, in CHANNELS order
    combined_score: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.combined_score)


def read_link_blocks(path: Path, block_bytes: int = BLOCK_BYTES) -> Iterator[LinkBlock]:
    """The links file as arrays, block by block (the 13.7M-line publisher file in seconds, in bounded memory).

    Blocks of whole lines are checked like every source (UTF-8, control characters) and parsed by
    pyarrow; a block pyarrow rejects, or one with blank lines or CRs, is read line by line so that the
    error (wrong column count, a score that is not an integer) names its line, as ``read_links`` does.
    """
    path = Path(path)
    found = False
    for before, chunk in whole_line_blocks(path, block_bytes):
        if before == 0 and chunk.startswith(b"protein1 "):
            cut = chunk.find(b"\n") + 1
            chunk, before = chunk[cut:], 1
        if not chunk:
            continue
        simple = plain_ascii(chunk) and b"\n\n" not in chunk and not chunk.startswith(b"\n")
        block = _arrow_block(chunk, before) if simple else None
        block = block or _python_block(path, chunk, before)
        found = found or len(block) > 0
        yield block
    if not found:
        raise SourceFormatError(path, None, "no protein links found: the file is empty or truncated; "
                                            "a source must yield rows")


def _arrow_block(chunk: bytes, before: int) -> LinkBlock | None:
    """Parse whole lines with pyarrow; None when it refuses them (the line-by-line reader names the line)."""
    import pyarrow as pa
    from pyarrow import csv

    proteins = pa.dictionary(pa.int32(), pa.string())
    try:
        table = csv.read_csv(
            pa.BufferReader(chunk),
            read_options=csv.ReadOptions(column_names=list(_COLUMNS), use_threads=False, block_size=1 << 26),
            parse_options=csv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False),
            convert_options=csv.ConvertOptions(column_types={"protein1": proteins, "protein2": proteins,
                                                             **{c: pa.int32() for c in _COLUMNS[2:]}},
                                               null_values=[], strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if any(table.column(c).null_count for c in _COLUMNS):
        return None
    ends = []
    for name in ("protein1", "protein2"):
        column = table.column(name).unify_dictionaries() if table.column(name).num_chunks > 1 else table.column(name)
        column = column.combine_chunks()
        ends.append((column.indices.to_numpy(zero_copy_only=False).astype(np.int32), column.dictionary.to_pylist()))
    channels = np.column_stack([table.column(c).to_numpy() for c in CHANNELS]).astype(np.int32)
    rows = table.num_rows
    return LinkBlock(np.arange(before + 1, before + 1 + rows, dtype=np.int64), ends[0][0], ends[0][1], ends[1][0], ends[1][1], channels,
                     table.column("combined_score").to_numpy().astype(np.int32))


def _python_block(path: Path, chunk: bytes, before: int) -> LinkBlock:
    """The slow, exact reader for one block: every error names its line; blank lines are skipped."""
    rows: list[StringLink] = []
    for line, text in block_lines(path, chunk, before):
        if not text:
            continue
        f = text.split(" ")
        if len(f) != 10:
            raise SourceFormatError(path, line, f"expected 10 columns, found {len(f)}")
        try:
            scores = [int(v) for v in f[2:]]
        except ValueError as exc:
            raise SourceFormatError(path, line, f"score is not an integer ({exc})") from exc
        rows.append(StringLink(f[0], f[1], tuple(scores[:7]), scores[7], line))
    names_a, names_b = sorted({r.protein_a for r in rows}), sorted({r.protein_b for r in rows})
    index_a, index_b = {n: i for i, n in enumerate(names_a)}, {n: i for i, n in enumerate(names_b)}
    return LinkBlock(np.array([r.line for r in rows], dtype=np.int64),
                     np.array([index_a[r.protein_a] for r in rows], dtype=np.int32), names_a,
                     np.array([index_b[r.protein_b] for r in rows], dtype=np.int32), names_b,
                     np.array([r.channels for r in rows], dtype=np.int32).reshape(len(rows), 7),
                     np.array([r.combined_score for r in rows], dtype=np.int32))
