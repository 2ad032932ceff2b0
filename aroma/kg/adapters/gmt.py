"""Gene Matrix Transposed files (MSigDB, Reactome): one gene set per line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.kg.readers import read_table, nonempty


@dataclass(frozen=True, slots=True)
class GeneSet:
    name: str
    description: str
    genes: tuple[str, ...]
    line: int


@nonempty("gene sets")
def read_gmt(path: Path) -> Iterator[GeneSet]:
    for line, f in read_table(path, 0, min_columns=3):
        yield GeneSet(f[0], f[1], tuple(dict.fromkeys(g for g in f[2:] if g)), line)
