"""NCBI Gene: ``gene_info`` (16 columns) and ``gene2go`` (8 columns)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.kg.readers import read_table, nonempty

HUMAN = "9606"


@dataclass(frozen=True, slots=True)
class GeneInfo:
    gene_id: int
    symbol: str
    synonyms: tuple[str, ...]
    description: str
    type_of_gene: str
    chromosome: str
    authority_symbol: str


@dataclass(frozen=True, slots=True)
class GoAnnotation:
    gene_id: int
    go_id: str
    evidence: str
    qualifier: str
    category: str
    line: int


def _dash(value: str) -> str:
    return "" if value == "-" else value


def _gene_id(path: Path, line: int, value: str) -> int:
    if not value.isdigit():
        raise SourceFormatError(path, line, f"GeneID {value!r} is not a number")
    return int(value)


@nonempty("human genes")
def read_gene_info(path: Path) -> Iterator[GeneInfo]:
    for line, f in read_table(path, 16, skip_comments=True):
        if f[0] != HUMAN:
            continue
        yield GeneInfo(
            gene_id=_gene_id(path, line, f[1]),
            symbol=f[2],
            synonyms=tuple(s for s in _dash(f[4]).split("|") if s),
            description=_dash(f[8]),
            type_of_gene=f[9],
            chromosome=_dash(f[6]),
            authority_symbol=_dash(f[10]),
        )


@nonempty("human GO annotations")
def read_gene2go(path: Path) -> Iterator[GoAnnotation]:
    for line, f in read_table(path, 8, skip_comments=True):
        if f[0] != HUMAN:
            continue
        if not f[2].startswith("GO:"):
            raise SourceFormatError(path, line, f"GO_ID {f[2]!r} is not a GO identifier")
        yield GoAnnotation(_gene_id(path, line, f[1]), f[2], f[3], f[4], f[7], line)
