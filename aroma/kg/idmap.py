"""Identifier mapping, done once and here only: symbols, aliases, UniProt and STRING ids → NCBI GeneID."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from aroma.kg.adapters.ncbi import GeneInfo
from aroma.kg.adapters.uniprot import ProteinEntry

EXAMPLES_KEPT = 10
# why a symbol maps to no gene (the reasons `aroma kg stats` counts)
NOT_IN_NCBI = "symbol not in NCBI"
AMBIGUOUS = "ambiguous alias (names several genes; the file does not settle which)"
T = TypeVar("T")


def gene_node_id(gene_id: int) -> str:
    return f"ncbigene:{gene_id}"


def symbol_variants(symbol: str) -> list[str]:
    """The symbol, then spellings it may have in an older NCBI release: mitochondrial ``MT-CO1`` → ``MTCO1``."""
    variants = [symbol]
    if symbol.upper().startswith("MT-"):
        variants.append("MT" + symbol[3:])
    return variants


def canonical_accession(accession: str) -> str:
    """``P12345-2`` (an isoform) → ``P12345``."""
    return accession.split("-", 1)[0]


class GeneIndex:
    """Resolves gene symbols and aliases to NCBI GeneIDs.

    Order: official symbol, then nomenclature-authority symbol, then an alias that names
    exactly one gene. Aliases shared by several genes are ambiguous and not resolved.
    Matching is exact first, then case-insensitive.
    """

    def __init__(self, genes: Iterable[GeneInfo]) -> None:
        self.genes: dict[int, GeneInfo] = {}
        self._symbol: dict[str, int] = {}
        aliases: dict[str, set[int]] = defaultdict(set)
        for gene in genes:
            self.genes[gene.gene_id] = gene
            self._symbol.setdefault(gene.symbol, gene.gene_id)
            if gene.authority_symbol:
                aliases[gene.authority_symbol].add(gene.gene_id)
            for alias in gene.synonyms:
                aliases[alias].add(gene.gene_id)
        self._alias = {a: next(iter(ids)) for a, ids in aliases.items() if len(ids) == 1 and a not in self._symbol}
        self._shared = {a: ids for a, ids in aliases.items() if len(ids) > 1 and a not in self._symbol}
        self._upper = {k.upper(): v for k, v in {**self._alias, **self._symbol}.items()}
        self._protein_symbol: dict[str, str] = {}

    def resolve_symbol(self, symbol: str) -> int | None:
        for name in symbol_variants(symbol):
            found = self._symbol.get(name) or self._alias.get(name) or self._upper.get(name.upper())
            if found:
                return found
        return None

    def candidates(self, symbol: str) -> set[int]:
        """The genes an alias shared by several genes may name (empty for any other symbol)."""
        for name in symbol_variants(symbol):
            if name in self._shared:
                return set(self._shared[name])
        return set()

    def resolve_names(self, names: Iterable[str]) -> tuple[dict[str, int], dict[str, set[int]]]:
        """The names of one file resolved together: ``(name → gene, ambiguous name → candidate genes)``, with the
        aliases the file itself settles (``settle_aliases``) among the resolved."""
        resolved: dict[str, int] = {}
        ambiguous: dict[str, set[int]] = {}
        for name in set(names):
            found = self.resolve_symbol(name)
            if found is not None:
                resolved[name] = found
            elif self.candidates(name):
                ambiguous[name] = self.candidates(name)
        settled = settle_aliases(ambiguous, set(resolved.values()))
        return {**resolved, **settled}, {n: c for n, c in ambiguous.items() if n not in settled}

    def add_proteins(self, proteins: Iterable[ProteinEntry]) -> None:
        """Learn UniProt accession → gene symbol from the FASTA ``GN=`` field."""
        for protein in proteins:
            if protein.gene_symbol:
                self._protein_symbol[protein.accession] = protein.gene_symbol

    def resolve_uniprot(self, accession: str) -> int | None:
        symbol = self._protein_symbol.get(canonical_accession(accession))
        return self.resolve_symbol(symbol) if symbol else None


def settle_aliases(ambiguous: dict[str, set[T]], taken: set[T]) -> dict[str, T]:
    """Aliases of one file that the file itself settles: an alias naming several genes names the one that no other
    name of the file already names (one gene has one name in a file), e.g. QARS names QARS1 or EPRS1, and the
    file also lists EPRS1. Repeated until nothing more settles, since a settled alias takes its gene too."""
    settled: dict[str, T] = {}
    taken = set(taken)
    changed = True
    while changed:
        changed = False
        for name in sorted(set(ambiguous) - set(settled)):
            left = ambiguous[name] - taken
            if len(left) == 1:
                settled[name] = next(iter(left))
                taken.add(settled[name])
                changed = True
    return settled


@dataclass
class SourceMapping:
    """How many records of one source could be mapped to graph nodes, with unmapped examples."""

    source: str
    records: int = 0
    mapped: int = 0
    unmapped: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def ok(self, count: int = 1) -> None:
        self.records += count
        self.mapped += count

    def miss(self, reason: str, example: str) -> None:
        self.records += 1
        self.unmapped += 1
        self.reasons[reason] += 1
        if len(self.examples[reason]) < EXAMPLES_KEPT and example not in self.examples[reason]:
            self.examples[reason].append(example)  # distinct examples: a name can miss on many rows

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "mapped": self.mapped,
            "unmapped": self.unmapped,
            "reasons": dict(self.reasons),
            "examples": dict(self.examples),
        }
