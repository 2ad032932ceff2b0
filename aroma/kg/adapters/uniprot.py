"""UniProt FASTA: accession, gene name (GN=) and sequence of each entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.kg.readers import numbered_lines, nonempty

_HEADER = re.compile(r"^>(?:sp|tr)\|([^|]+)\|(\S+)")
_GENE_NAME = re.compile(r"\bGN=(\S+)")


@dataclass(frozen=True, slots=True)
class ProteinEntry:
    accession: str
    entry_name: str
    gene_symbol: str | None
    sequence: str
    line: int


@nonempty("FASTA entries")
def read_fasta(path: Path) -> Iterator[ProteinEntry]:
    header: tuple[str, str, str | None, int] | None = None
    chunks: list[str] = []
    for line, text in numbered_lines(path):
        if text.startswith(">"):
            if header is not None:
                yield ProteinEntry(*header[:3], "".join(chunks), header[3])
            match = _HEADER.match(text)
            if not match:
                raise SourceFormatError(path, line, "FASTA header is not '>sp|ACCESSION|ENTRY_NAME ...'")
            gene = _GENE_NAME.search(text)
            header = (match.group(1), match.group(2), gene.group(1) if gene else None, line)
            chunks = []
        elif text:
            if header is None:
                raise SourceFormatError(path, line, "sequence before the first FASTA header")
            chunks.append(text.strip())
    if header is not None:
        yield ProteinEntry(*header[:3], "".join(chunks), header[3])
