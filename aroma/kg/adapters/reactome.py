"""Reactome: pathway list, pathway hierarchy, UniProt→pathway (all levels) and GMT."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.kg.readers import read_table, nonempty

HUMAN_PREFIX = "R-HSA-"


@dataclass(frozen=True, slots=True)
class ReactomePathway:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ReactomeMembership:
    accession: str
    pathway_id: str
    evidence: str
    line: int


def _check_id(path: Path, line: int, value: str) -> None:
    if not value.startswith("R-"):
        raise SourceFormatError(path, line, f"{value!r} is not a Reactome stable identifier")


@nonempty("human pathways")
def read_pathways(path: Path) -> Iterator[ReactomePathway]:
    for line, (pathway_id, name, _species) in read_table(path, 3):  # species is in the id prefix
        _check_id(path, line, pathway_id)
        if pathway_id.startswith(HUMAN_PREFIX):
            yield ReactomePathway(pathway_id, " ".join(name.split()))  # the file has stray double spaces


@nonempty("human pathway relations")
def read_relations(path: Path) -> Iterator[tuple[str, str]]:
    """Human parent→child pairs; other species are skipped."""
    for line, (parent, child) in read_table(path, 2):
        _check_id(path, line, parent)
        _check_id(path, line, child)
        if parent.startswith(HUMAN_PREFIX) and child.startswith(HUMAN_PREFIX):
            yield parent, child


@nonempty("human pathway memberships")
def read_uniprot_memberships(path: Path) -> Iterator[ReactomeMembership]:
    for line, f in read_table(path, 6):
        _check_id(path, line, f[1])
        if f[1].startswith(HUMAN_PREFIX):
            yield ReactomeMembership(f[0], f[1], f[4], line)
