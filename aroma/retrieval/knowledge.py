"""What a prediction may rest on, read once per command: ``GraphContext`` (what the graph offers every cell line)
and ``Knowledge`` (what a method may know about one cell line in one phase of the split rule)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.kg.schema import GENE_SET_PREFIX
from aroma.kg.store import GraphStore
from aroma.retrieval.cache import DerivedCache
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.neighbours import KnockdownNeighbours, NeighbourSettings, per_perturbation
from aroma.retrieval.outcomes import OutcomeTable, outcome_cell_lines
from aroma.retrieval.responses import ResponseSettings, Responses
from aroma.retrieval.similarity import GeneSimilarity, SimilarityConfig


class GraphContext:
    """What the graph offers every cell line, read once per command: the evidence index, the similarity of
    knockdowns, each cell line's training outcomes (all kept in the build's cache on disk)."""

    def __init__(self, store: GraphStore, similarity: SimilarityConfig | None = None,
                 whole_network: bool = False, cache: DerivedCache | None = None) -> None:
        """``whole_network``: read all of STRING once (many pairs); ``cache``: where the derived tables are kept
        (default: beside the build, ``DerivedCache.of``)."""
        self.store = store
        self.similarity_config = similarity or SimilarityConfig()
        self.index = EvidenceIndex(store, whole_network=whole_network, cache=cache)
        self._tables: dict[str, OutcomeTable] = {}

    @property
    def cache(self) -> DerivedCache:
        return self.index.cache

    @cached_property
    def checksum(self) -> str:
        """The build checksum of the graph (what a saved predictor was fit on)."""
        rows = self.store.read("model/build_checksum")
        return str(rows[0]["checksum"]) if rows and rows[0]["checksum"] else ""

    @cached_property
    def similarity(self) -> GeneSimilarity:
        return GeneSimilarity.from_store(self.store, self.similarity_config, cache=self.cache)

    @cached_property
    def outcome_cell_lines(self) -> list[str]:
        """The cell lines whose training outcomes the graph holds."""
        return outcome_cell_lines(self.store, self.cache)

    def table(self, cell_line: str) -> OutcomeTable:
        """``cell_line``'s training outcomes in the graph (an empty table where it holds none)."""
        name = cell_line.upper()
        if name not in self._tables:
            self._tables[name] = OutcomeTable.from_store(self.store, name, self.cache) \
                if name in self.outcome_cell_lines else OutcomeTable.from_rows(name, [])
        return self._tables[name]

    def measures_gene_sets(self, cell_line: str) -> bool:
        """Whether the dataset's targets are named gene sets (a gene-set task) rather than genes."""
        return any(target.startswith(GENE_SET_PREFIX) for target in self.table(cell_line).targets[:1])

    def other_cell_lines(self, cell_line: str) -> list[OutcomeTable]:
        """The outcome tables whose knockdowns may inform ``cell_line``'s: the other gene-level datasets. A gene-set
        task has none and informs none: its clusters summarise the same cells' genes (K562 gene sets and K562
        genes are one experiment, and their splits differ), so each would leak the other's held-out outcomes."""
        if self.measures_gene_sets(cell_line):
            return []
        return [self.table(name) for name in self.outcome_cell_lines
                if name != cell_line.upper() and not self.measures_gene_sets(name)]

    def resolve(self, symbols: Sequence[str]) -> dict[str, str]:
        """Symbol → gene id for the symbols the graph knows (aliases naming one gene included)."""
        return self.index.resolve(symbols, strict=False)

    def knowledge(self, cell_line: str, hidden: Sequence[str] = (), own_outcomes: bool = True) -> Knowledge:
        """What a predictor of ``cell_line`` may know: the graph, the cell line's training outcomes less the
        ``hidden`` knockdowns (names; none at all without ``own_outcomes``), and the other cell lines'."""
        full = self.table(cell_line)
        knowledge = Knowledge(cell_line.upper(), self, full, self.other_cell_lines(cell_line))
        ids = knowledge.ids([LabelledPair(cell_line, name, name, None, "") for name in hidden])
        knowledge.table = full.without([ids[name] for name in hidden if name in ids] if own_outcomes else full.perts)
        knowledge.whole = knowledge.table is full  # every training outcome the build holds: derived tables keep
        return knowledge


@dataclass
class Knowledge:
    """What a predictor may know about one cell line: the graph (``graph``), the training outcomes of this cell
    line it may see (``table``) and those of the other cell lines (``others``)."""

    cell_line: str
    graph: GraphContext
    table: OutcomeTable
    others: list[OutcomeTable]
    _neighbours: dict[NeighbourSettings, KnockdownNeighbours] = field(default_factory=dict, repr=False)
    _features: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)
    _known: dict[str, str | None] = field(default_factory=dict, repr=False)  # names resolved so far
    whole: bool = False  # the cell line's every training outcome (what the build fixed): its derivations are cached
    _responses: dict[ResponseSettings, Responses] = field(default_factory=dict, repr=False)
    _without: dict[frozenset[str], Knowledge] = field(default_factory=dict, repr=False)

    @property
    def has_outcomes(self) -> bool:
        return bool(self.table.perts)

    @property
    def targets_are_genes(self) -> bool:
        """False for a gene-set task (targets are named gene sets: no gene evidence, embedding or prompt)."""
        return not self.graph.measures_gene_sets(self.cell_line)

    def neighbours(self, settings: NeighbourSettings | None = None) -> KnockdownNeighbours:
        """The similar-knockdown finder over ``table`` (one per settings, shared by the methods)."""
        settings = settings or NeighbourSettings()
        if settings not in self._neighbours:
            self._neighbours[settings] = KnockdownNeighbours(self.table, self.graph.similarity, settings, self.others)
        return self._neighbours[settings]

    def neighbours_elsewhere(self, settings: NeighbourSettings | None = None) -> list[KnockdownNeighbours]:
        """Similar-knockdown finders over each other cell line's outcomes, P's own row there counting as a neighbour
        of similarity 1 (what P did elsewhere is the best evidence a cell line without labels has)."""
        return [KnockdownNeighbours(other, self.graph.similarity, settings or NeighbourSettings(), own_similarity=1.0)
                for other in self.others]

    def responses(self, settings: ResponseSettings | None = None) -> Responses:
        """Outcomes seen through genes that respond together (``retrieval.responses``), one per settings."""
        settings = settings or ResponseSettings()
        if settings not in self._responses:
            self._responses[settings] = Responses(self.neighbours(), settings,
                                                  self.graph.cache if self.whole else None)
        return self._responses[settings]

    def without(self, knockdowns: Sequence[str]) -> Knowledge:
        """The same knowledge less some knockdowns' outcomes in this cell line (gene ids): one object per set, so
        that the methods fit on the same folds share its features."""
        key = frozenset(knockdowns)
        if key not in self._without:
            self._without[key] = Knowledge(self.cell_line, self.graph, self.table.without(key), self.others,
                                           _known=self._known)
        return self._without[key]

    def ids(self, pairs: Sequence[LabelledPair]) -> dict[str, str]:
        """Name → id for the genes (or gene sets) of ``pairs`` that the graph knows: a name of the cell line's
        training outcomes as the build mapped it; another one resolved with them, so that an alias the label file
        settles (``kg.idmap.settle_aliases``: QARS where the file also names EPRS1) maps as the build would."""
        names = {p.perturbed for p in pairs} | {p.target for p in pairs}
        new = names - self._known.keys() - self.table.names.keys()
        if new:
            found = self.graph.index.resolve_names(new, taken=self.table.names.values())
            self._known.update((name, found.get(name)) for name in new)
        found = {name: self.table.names.get(name) or self._known.get(name) for name in names}
        return {name: gene for name, gene in found.items() if gene}

    def symbols(self, gene_ids: Sequence[str]) -> list[str]:
        """The official symbols of genes of the outcome tables, remembered so that asking about them needs no
        look-up (a list of the cell line's measured genes or knockdowns)."""
        names = {}
        for table in (self.table, *self.others):
            names.update(table.symbols)
        symbols = [names.get(gene, gene) for gene in gene_ids]
        self._known.update((symbol, gene) for symbol, gene in zip(symbols, gene_ids))
        return symbols

    def features(self, pairs: Sequence[LabelledPair], settings: NeighbourSettings | None = None) -> np.ndarray:
        """The neighbour features of ``pairs`` (``retrieval.neighbours.feature_names``, with what P did in the
        other cell lines last when there are any), computed once per pairs and settings."""
        settings = settings or NeighbourSettings()
        key = (settings, tuple(pairs))
        if key not in self._features:
            neighbours, cross = self.neighbours(settings), bool(self.others)
            self._features[key] = per_perturbation(pairs, self.ids(pairs),
                                                   lambda pert, targets: neighbours.features(pert, targets, cross))
        return self._features[key]

    def response_features(self, pairs: Sequence[LabelledPair], settings: ResponseSettings | None = None
                          ) -> np.ndarray:
        """The response features of ``pairs`` (``retrieval.responses.FEATURES``), computed once per pairs and
        settings."""
        settings = settings or ResponseSettings()
        key = (settings, tuple(pairs))
        if key not in self._features:
            responses = self.responses(settings)
            self._features[key] = per_perturbation(pairs, self.ids(pairs), responses.features)
        return self._features[key]
