"""Observed knockdown outcomes of one cell line (PerturbQA training split), read from the graph's
``KNOCKDOWN_EFFECT`` edges into a knockdowns × target genes table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from aroma.errors import AromaError
from aroma.kg.store import GraphStore
from aroma.retrieval.cache import DerivedCache
from aroma.tokens import DOWN, LABELS, NOT_CHANGED, UP

# effect code in the table: NaN = not measured
SIGN = {NOT_CHANGED: 0.0, DOWN: -1.0, UP: 1.0}
LABEL_OF_SIGN = {0.0: NOT_CHANGED, -1.0: DOWN, 1.0: UP}


class NoOutcomes(AromaError):
    """The graph holds no training outcomes for a cell line."""

    def __init__(self, cell_line: str, known: list[str]) -> None:
        super().__init__(
            f"the graph holds no PerturbQA training outcomes for cell line {cell_line!r} "
            f"(it has: {', '.join(known) or 'none'}); rebuild with `aroma kg build --perturbqa DIR`")


@dataclass
class OutcomeTable:
    """``effects[i, j]``: what knocking down ``perts[i]`` did to ``targets[j]`` (0 / -1 / +1, NaN = not measured).

    Per knockdown, ``strength`` is the share of its measured target genes that it changed and ``up_share`` the
    share of its changes that were up (0.5 where it changed nothing); computed from ``effects`` when not given.
    ``names`` maps the names the label file gave the knockdowns and targets to their ids, as the build mapped them.
    """

    cell_line: str
    perts: list[str]
    targets: list[str]
    effects: np.ndarray
    symbols: dict[str, str]
    strength: np.ndarray = None  # type: ignore[assignment]
    up_share: np.ndarray = None  # type: ignore[assignment]
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strength is None:
            self.strength = (np.abs(self.filled).sum(1) / np.maximum(self.measured.sum(1), 1)).astype(np.float32)
        if self.up_share is None:
            changed = (self.filled != 0).sum(1)
            self.up_share = np.where(changed > 0, (self.filled > 0).sum(1) / np.maximum(changed, 1),
                                     0.5).astype(np.float32)

    @classmethod
    def from_rows(cls, cell_line: str, rows: Iterable[tuple[str, str, int]],
                  symbols: dict[str, str] | None = None, names: dict[str, str] | None = None) -> OutcomeTable:
        """``rows``: (perturbed gene id, target gene id, label id)."""
        rows = list(rows)
        perts = sorted({r[0] for r in rows})
        targets = sorted({r[1] for r in rows})
        pi, ti = {p: i for i, p in enumerate(perts)}, {t: i for i, t in enumerate(targets)}
        effects = np.full((len(perts), len(targets)), np.nan, dtype=np.float32)
        for perturbed, target, label in rows:
            effects[pi[perturbed], ti[target]] = SIGN[label]
        return cls(cell_line.upper(), perts, targets, effects, dict(symbols or {}), names=dict(names or {}))

    @classmethod
    def from_store(cls, store: GraphStore, cell_line: str, cache: DerivedCache | None = None) -> OutcomeTable:
        """The training outcomes of ``cell_line`` (any case) as loaded by ``aroma kg build --perturbqa``, kept
        in the build's ``cache`` (default: ``DerivedCache.of(store)``) and mapped from there: one pair reads
        only the rows and the column it needs."""
        cache = cache if cache is not None else DerivedCache.of(store)
        name = cell_line.upper()
        stored = cache.arrays(f"outcomes-{name}", lambda: cls._read(store, name)._arrays(), memory_map=True)
        return cls(name, stored["perts"].tolist(), stored["targets"].tolist(), stored["effects"],
                   dict(zip(stored["symbol_ids"].tolist(), stored["symbol_names"].tolist())),
                   stored["strength"], stored["up_share"],
                   dict(zip(stored["file_names"].tolist(), stored["file_name_ids"].tolist())))

    @classmethod
    def _read(cls, store: GraphStore, cell_line: str) -> OutcomeTable:
        label_of = {name: i for i, name in enumerate(LABELS)}
        rows, symbols, names = [], {}, {}
        for row in store.read("outcomes/knockdown_effects", cell_line=cell_line):
            rows.append((row["perturbed"], row["target"], label_of[row["effect"]]))
            symbols[row["perturbed"]], symbols[row["target"]] = row["perturbed_symbol"], row["target_symbol"]
            names[row["perturbed_name"]], names[row["target_name"]] = row["perturbed"], row["target"]
        if not rows:
            raise NoOutcomes(cell_line, outcome_cell_lines(store))
        return cls.from_rows(cell_line, rows, symbols, names)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"perts": np.array(self.perts, dtype=str), "targets": np.array(self.targets, dtype=str),
                "effects": self.effects, "symbol_ids": np.array(list(self.symbols), dtype=str),
                "symbol_names": np.array(list(self.symbols.values()), dtype=str), "strength": self.strength,
                "up_share": self.up_share, "file_names": np.array(list(self.names), dtype=str),
                "file_name_ids": np.array(list(self.names.values()), dtype=str)}

    def without(self, perts: Iterable[str]) -> OutcomeTable:
        """The same table less some knockdowns (e.g. the validation perturbations, for model selection)."""
        dropped = set(perts)
        if not dropped & set(self.perts):
            return self  # nothing to leave out: the table is never modified, so it can be shared
        keep = [i for i, p in enumerate(self.perts) if p not in dropped]
        return OutcomeTable(self.cell_line, [self.perts[i] for i in keep], self.targets, self.effects[keep],
                            self.symbols, self.strength[keep], self.up_share[keep], self.names)

    @cached_property
    def measured(self) -> np.ndarray:
        return ~np.isnan(self.effects)

    @cached_property
    def filled(self) -> np.ndarray:
        """``effects`` with 0 where not measured (computed once: the table is large)."""
        return np.where(self.measured, self.effects, 0.0)

    def target_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """Per target gene: the share of knockdowns that changed it, and the share of those changes that were up."""
        values = self.filled
        changed = (values != 0).sum(0)
        measured = np.maximum(self.measured.sum(0), 1)
        up = np.where(changed > 0, (values > 0).sum(0) / np.maximum(changed, 1), 0.5)
        return (changed / measured).astype(np.float32), up.astype(np.float32)


def outcome_cell_lines(store: GraphStore, cache: DerivedCache | None = None) -> list[str]:
    """The cell lines whose training outcomes the graph holds (``outcomes/cell_lines``, kept in the cache)."""
    cache = cache if cache is not None else DerivedCache.of(store)
    return cache.json("outcome-cell-lines", lambda: [r["cell_line"] for r in store.read("outcomes/cell_lines")])
