"""TRRUST v2 raw data: TF, target, mode of regulation, PubMed ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.kg.readers import read_table, nonempty

SIGNS = {"Activation": "activation", "Repression": "repression", "Unknown": "unknown"}


@dataclass(frozen=True, slots=True)
class Regulation:
    tf: str
    target: str
    sign: str
    pmids: tuple[str, ...]
    line: int


@nonempty("regulations")
def read_trrust(path: Path) -> Iterator[Regulation]:
    for line, (tf, target, mode, refs) in read_table(path, 4, header_first_field="TF"):
        if mode not in SIGNS:
            raise SourceFormatError(path, line, f"regulation {mode!r} is not one of {sorted(SIGNS)}")
        yield Regulation(tf, target, SIGNS[mode], tuple(p for p in refs.split(";") if p), line)
