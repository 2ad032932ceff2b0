"""Evidence records for one (perturbed gene, target gene) pair; every item names its source and identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from aroma.tokens import DOWN, LABELS, NOT_CHANGED, UP

NOT_CHANGED_TEXT, DOWN_TEXT, UP_TEXT = LABELS[NOT_CHANGED], LABELS[DOWN], LABELS[UP]


@dataclass(frozen=True)
class Process:
    """A GO biological process a gene is annotated with, and the evidence codes of the annotation."""

    id: str
    name: str
    gene_count: int | None
    evidence: list[str]


@dataclass(frozen=True)
class Interactor:
    """One of a gene's strongest STRING partners."""

    symbol: str
    id: str
    combined_score: int


@dataclass(frozen=True)
class SharedPathway:
    """A Reactome pathway, MSigDB hallmark or KEGG set that both genes belong to."""

    id: str
    name: str
    source: str  # reactome, msigdb_hallmark, kegg
    size: int | None


@dataclass(frozen=True)
class SharedTerm:
    """A GO term (or protein complex) that both genes are annotated with."""

    id: str
    name: str
    namespace: str
    gene_count: int | None


@dataclass(frozen=True)
class GeneFacts:
    """What a gene is (NCBI), whether it is a transcription factor, and its main GO processes."""

    id: str
    symbol: str
    description: str
    type: str
    uniprot: str | None
    is_tf: bool
    tf_evidence: list[str]
    processes: list[Process]  # main GO processes, experimental evidence first
    degree: int
    top_interactors: list[Interactor]

    @classmethod
    def placeholder(cls, symbol: str) -> GeneFacts:
        """A gene (or gene set) the graph does not hold: its name and nothing else."""
        return cls(id="", symbol=symbol, description="", type="", uniprot=None, is_tf=False, tf_evidence=[],
                   processes=[], degree=0, top_interactors=[])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneFacts:
        return cls(**{**data, "processes": [Process(**p) for p in data["processes"]],
                      "top_interactors": [Interactor(**i) for i in data["top_interactors"]]})


@dataclass(frozen=True)
class Interaction:
    """A STRING edge with its combined score and channel scores (0–1000); ``source`` names the release."""

    source: str
    a: str
    b: str
    combined_score: int
    channels: dict[str, int]


@dataclass(frozen=True)
class Regulation:
    """A TRRUST v2 TF → target edge."""

    source: str
    tf: str
    target: str
    sign: str
    pmids: list[str]


@dataclass(frozen=True)
class GenePath:
    """A path through STRING between the pair; strength = its weakest edge score (0–1000)."""

    symbols: list[str]
    ids: list[str]
    scores: list[int]

    @property
    def strength(self) -> int:
        return min(self.scores)

    @property
    def hops(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class Neighbour:
    """A training knockdown like P, what it did to T, and how strong a knockdown it is overall."""

    symbol: str
    id: str
    similarity: float
    effect: str  # one of LABELS
    strength: float  # share of its measured target genes it changed


@dataclass(frozen=True)
class CrossCellLine:
    """What P itself did in another cell line's training split."""

    cell_line: str
    effect_on_target: str | None  # None: T not measured there
    strength: float
    up_share: float  # share of its changes that were up


@dataclass(frozen=True)
class Votes:
    """The neighbour vote's two shares, weighted by similarity ** power (``NeighbourSettings``): of the knockdowns
    listed as neighbours, the share that changed T; of the ``k_direction`` most like P that changed T, the share
    that raised it (None: none changed it) and how many those were."""

    changed: float
    up: float | None
    direction_count: int


@dataclass
class ExperimentalEvidence:
    """The evidence from experiments: neighbours of P that measured T, and P in other cell lines."""

    cell_line: str
    neighbours: list[Neighbour] = field(default_factory=list)
    other_cell_lines: list[CrossCellLine] = field(default_factory=list)
    target_measured_by: int = 0  # training knockdowns (P excluded) that measured T
    votes: Votes | None = None

    @property
    def changed(self) -> list[Neighbour]:
        return [n for n in self.neighbours if n.effect != NOT_CHANGED_TEXT]

    def summary(self, perturbed: str, target: str) -> str:
        """One sentence: "Of the 20 training knockdowns most like P that measured T, 7 changed T (6 down, 1 up)"."""
        if not self.neighbours:
            return f"No training knockdown in {self.cell_line} measured {target}."
        down = sum(n.effect == DOWN_TEXT for n in self.neighbours)
        up = sum(n.effect == UP_TEXT for n in self.neighbours)
        return (f"Of the {len(self.neighbours)} training knockdowns in {self.cell_line} most like {perturbed} that "
                f"measured {target}, {down + up} changed it ({down} down, {up} up).")

@dataclass
class PairEvidence:
    """All evidence retrieved for a pair, in the order a biologist would read it."""

    cell_line: str
    perturbed: GeneFacts
    target: GeneFacts
    interaction: Interaction | None = None
    regulations: list[Regulation] = field(default_factory=list)
    paths: list[GenePath] = field(default_factory=list)
    shared_pathways: list[SharedPathway] = field(default_factory=list)
    shared_go_terms: list[SharedTerm] = field(default_factory=list)
    shared_complexes: list[SharedTerm] = field(default_factory=list)
    shared_hallmarks: list[SharedPathway] = field(default_factory=list)
    experiments: ExperimentalEvidence | None = None  # what similar training knockdowns did (if outcomes loaded)

    @property
    def has_direct_relation(self) -> bool:
        return self.interaction is not None or bool(self.regulations)

    @property
    def has_path(self) -> bool:
        return bool(self.paths)

    @property
    def has_shared_pathway(self) -> bool:
        return bool(self.shared_pathways or self.shared_hallmarks)

    def cited_symbols(self) -> set[str]:
        """Every gene symbol that this evidence mentions (what a reasoning text may cite)."""
        symbols = {self.perturbed.symbol, self.target.symbol}
        for path in self.paths:
            symbols.update(path.symbols)
        for facts in (self.perturbed, self.target):
            symbols.update(i.symbol for i in facts.top_interactors)
        return symbols

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairEvidence:
        """The inverse of ``to_dict`` (the ``evidence`` column of the dataset)."""
        interaction, experiments = data.get("interaction"), data.get("experiments")
        if experiments is not None:
            votes = experiments.get("votes")  # absent from datasets generated before the votes were recorded
            experiments = ExperimentalEvidence(
                experiments["cell_line"], [Neighbour(**n) for n in experiments["neighbours"]],
                [CrossCellLine(**c) for c in experiments["other_cell_lines"]], experiments["target_measured_by"],
                Votes(**votes) if votes else None)
        return cls(
            cell_line=data["cell_line"],
            perturbed=GeneFacts.from_dict(data["perturbed"]),
            target=GeneFacts.from_dict(data["target"]),
            interaction=Interaction(**interaction) if interaction else None,
            regulations=[Regulation(**r) for r in data["regulations"]],
            paths=[GenePath(p["symbols"], p["ids"], p["scores"]) for p in data["paths"]],
            shared_pathways=[SharedPathway(**x) for x in data["shared_pathways"]],
            shared_go_terms=[SharedTerm(**x) for x in data["shared_go_terms"]],
            shared_complexes=[SharedTerm(**x) for x in data["shared_complexes"]],
            shared_hallmarks=[SharedPathway(**x) for x in data["shared_hallmarks"]],
            experiments=experiments,
        )

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)  # what asdict gives, without deep-copying every leaf (a dataset has ~10^5 pairs)
        for path, raw in zip(self.paths, data["paths"]):
            raw["strength"] = path.strength
        return data


_LEAVES = (str, int, float, bool, type(None))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, lists and dicts as new containers (like ``dataclasses.asdict``, leaves shared)."""
    if isinstance(value, _LEAVES):
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: v if isinstance(v := getattr(value, name), _LEAVES) else _plain(v) for name in names}
    if isinstance(value, list):
        return [v if isinstance(v, _LEAVES) else _plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: v if isinstance(v, _LEAVES) else _plain(v) for k, v in value.items()}
    return value
