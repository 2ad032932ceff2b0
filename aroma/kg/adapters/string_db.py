"""STRING protein info (id → preferred name) and detailed links with channel scores.

The release is parsed once, from the file name, into ``aroma.kg.sources.STRING_VERSION``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.kg.readers import read_table, nonempty

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
