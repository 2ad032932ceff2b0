"""What similar knockdowns did: for a pair (P, T), the training knockdowns most like P that measured T.

Only training-split knockdowns are neighbours, and P itself never is, so the evidence of a training pair
looks like that of a test pair. Everything here is computed per perturbation, for all its targets at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from aroma.retrieval.evidence import CrossCellLine, ExperimentalEvidence, Neighbour, Votes
from aroma.retrieval.outcomes import LABEL_OF_SIGN, OutcomeTable
from aroma.retrieval.similarity import GeneSimilarity
from aroma.data.perturbqa import LabelledPair
from aroma.tokens import LABELS


@dataclass(frozen=True)
class NeighbourSettings:
    """``k`` neighbours that measured T (DE vote, evidence), ``k_direction`` that changed T (direction vote);
    vote weights are similarity ** ``power``; ``prior`` is how many neighbours' weight the target gene's own
    training rate counts for."""

    k: int = 20
    k_direction: int = 50
    power: float = 2.0
    prior: float = 0.01
    feature_ks: tuple[int, ...] = (5, 20, 50)
    feature_direction_ks: tuple[int, ...] = (10, 50)


# names of the per-pair features, in column order (see ``PertNeighbours.features``)
def feature_names(settings: NeighbourSettings, modalities: Sequence[str], cross: bool) -> list[str]:
    names = [f"de_k{k}" for k in settings.feature_ks] + [f"weight_k{k}" for k in settings.feature_ks]
    names += [f"up_k{k}" for k in settings.feature_direction_ks]
    names += [f"up_weight_k{k}" for k in settings.feature_direction_ks]
    names += ["nearest_similarity", "mean_similarity_20", "estimated_strength", "estimated_up_share",
              "target_rate", "target_up_rate"]
    names += [f"pair_{m}" for m in modalities]
    if cross:
        names += ["other_strength", "other_up_share", "other_effect"]
    return names


@dataclass(frozen=True)
class _Ranked:
    """What the training knockdowns did to each target, nearest to P first: one entry per (target, knockdown that
    measured it), grouped by target in rank order — a target is measured by a few dozen knockdowns, so this is
    far smaller than the knockdowns × targets table."""

    order: np.ndarray  # rows of the outcome table, most similar first
    similarity: np.ndarray  # of each of ``order``
    targets: int
    target: np.ndarray  # each entry's target (column of the query)
    weight: np.ndarray  # the knockdown's similarity ** power
    value: np.ndarray  # 0 / -1 / +1
    measured_rank: np.ndarray  # 0-based rank among the knockdowns that measured this target
    changed_rank: np.ndarray  # 0-based rank among those that changed it (-1 where this one did not)

    def total(self, weights: np.ndarray) -> np.ndarray:
        """Per target, the sum of ``weights`` over its entries."""
        return np.bincount(self.target, weights=weights, minlength=self.targets)

    def first(self, k: int, changed: bool = False) -> np.ndarray:
        """The knockdown weights of each target's ``k`` nearest entries that measured (or changed) it, else 0."""
        rank = self.changed_rank if changed else self.measured_rank
        return np.where((rank >= 0) & (rank < k), self.weight, 0.0)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For labels sorted ascending, each entry's position among the entries of its label."""
    return np.arange(len(groups)) - np.searchsorted(groups, groups, side="left")


class KnockdownNeighbours:
    """Finds, for each perturbation, the training knockdowns most like it, and what they did to its targets."""

    def __init__(self, table: OutcomeTable, similarity: GeneSimilarity, settings: NeighbourSettings | None = None,
                 others: Sequence[OutcomeTable] = (), own_similarity: float | None = None) -> None:
        """``own_similarity``: None leaves P out of its own neighbours (a knockdown never votes on itself); a
        value counts P's own row as a neighbour that alike (another cell line's table, where what P did is the
        best evidence of what it does here)."""
        self.own_similarity = own_similarity
        self.table = table
        self.similarity = similarity
        self.settings = settings or NeighbourSettings()
        self.others = list(others)
        self.target_col = {t: j for j, t in enumerate(table.targets)}
        self.pert_row = {p: i for i, p in enumerate(table.perts)}
        self._last: tuple[str | None, tuple[np.ndarray, np.ndarray]] | None = None
        self._similar_to: Callable[[Sequence[str | None]], np.ndarray] | None = None

    @property
    def strength(self) -> np.ndarray:
        return self.table.strength

    @property
    def up_share(self) -> np.ndarray:
        return self.table.up_share

    @cached_property  # per-target rates over the whole table: computed on first use (one pair needs none)
    def _target_rates(self) -> tuple[np.ndarray, np.ndarray]:
        return self.table.target_rates()

    @property
    def target_rate(self) -> np.ndarray:
        return self._target_rates[0]

    @property
    def target_up(self) -> np.ndarray:
        return self._target_rates[1]

    @cached_property
    def _other_index(self) -> list[tuple[dict[str, int], dict[str, int], np.ndarray, np.ndarray]]:
        return [({p: i for i, p in enumerate(o.perts)}, {t: j for j, t in enumerate(o.targets)}, o.strength,
                 o.up_share) for o in self.others]

    def nearest(self, pert: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Training knockdowns by decreasing similarity to ``pert`` (itself left out) and their similarities;
        the last perturbation's answer is kept (callers go pair by pair, sorted by perturbation)."""
        if self._last is not None and self._last[0] == pert:
            return self._last[1]
        self._last = (pert, self._compute_order(pert))
        return self._last[1]

    def _compute_order(self, pert: str | None) -> tuple[np.ndarray, np.ndarray]:
        if self._similar_to is None:
            self._similar_to = self.similarity.against(self.table.perts)
        similarity = self._similar_to([pert])[0]
        if pert in self.pert_row:
            similarity[self.pert_row[pert]] = -np.inf if self.own_similarity is None else self.own_similarity
        order = np.argsort(-similarity, kind="stable")
        order = order[np.isfinite(similarity[order])]
        return order, similarity[order]

    def _effects(self, order: np.ndarray, targets: Sequence[str | None]) -> np.ndarray:
        """``[neighbours in order, targets]`` effects; targets nobody measured are all NaN."""
        columns = np.array([self.target_col.get(t, -1) if t is not None else -1 for t in targets])
        effects = self.table.effects[:, np.maximum(columns, 0)][order] if len(columns) else \
            np.zeros((len(order), 0), dtype=np.float32)
        effects[:, columns < 0] = np.nan
        return effects

    def evidence(self, pert: str | None, targets: Sequence[str | None]) -> list[ExperimentalEvidence]:
        """Experimental evidence for (pert, t) for every t of ``targets`` (all at once: one ranking, and one
        ``Neighbour`` record per knockdown and effect, shared by the targets)."""
        order, similarity = self.nearest(pert)
        effects = self._effects(order, targets)
        measured = ~np.isnan(effects)
        counts = measured.sum(0).tolist()
        first_k = measured & (np.cumsum(measured, axis=0, dtype=np.int32) <= self.settings.k)
        columns, rows = np.nonzero(first_k.T)  # by target, then by rank
        made: dict[tuple[int, float], Neighbour] = {}
        perts, symbols, strength = self.table.perts, self.table.symbols, self.strength
        chosen: list[list[Neighbour]] = [[] for _ in targets]
        for j, r, effect in zip(columns.tolist(), rows.tolist(), effects[rows, columns].tolist()):
            neighbour = made.get((r, effect))
            if neighbour is None:
                gene = perts[order[r]]
                neighbour = made[(r, effect)] = Neighbour(
                    symbols.get(gene, gene), gene, round(float(similarity[r]), 3), LABELS[LABEL_OF_SIGN[effect]],
                    round(float(strength[order[r]]), 3))
            chosen[j].append(neighbour)
        votes = self._votes(similarity, effects, measured, first_k)
        return [ExperimentalEvidence(self.table.cell_line, neighbours, self._cross(pert, target), count,
                                     votes[j] if neighbours else None)
                for j, (target, neighbours, count) in enumerate(zip(targets, chosen, counts))]

    def _votes(self, similarity: np.ndarray, effects: np.ndarray, measured: np.ndarray, first_k: np.ndarray
               ) -> list[Votes]:
        """Per target: the weighted share of the first k that changed it, and of the first ``k_direction`` that
        changed it the weighted share up (the neighbour vote's shares, before its shrinkage to T's rates)."""
        weight = (np.clip(similarity, 0, None) ** self.settings.power)[:, None]
        filled = np.where(measured, effects, 0.0)
        w = np.where(first_k, weight, 0.0)
        changed = (w * np.abs(filled)).sum(0) / np.maximum(w.sum(0), 1e-12)
        moved = filled != 0
        first_changed = moved & (np.cumsum(moved, axis=0, dtype=np.int32) <= self.settings.k_direction)
        w = np.where(first_changed, weight, 0.0)
        up = (w * (filled > 0)).sum(0) / np.maximum(w.sum(0), 1e-12)
        count = first_changed.sum(0)
        return [Votes(round(float(c), 4), round(float(u), 4) if n else None, int(n))
                for c, u, n in zip(changed.tolist(), up.tolist(), count.tolist())]

    def _cross(self, pert: str | None, target: str | None) -> list[CrossCellLine]:
        found = []
        for other, (rows, columns, strength, up_share) in zip(self.others, self._other_index):
            if pert in rows:
                i = rows[pert]
                value = other.effects[i, columns[target]] if target in columns else np.nan
                effect = None if np.isnan(value) else LABELS[LABEL_OF_SIGN[float(value)]]
                found.append(CrossCellLine(other.cell_line, effect, round(float(strength[i]), 3),
                                           round(float(up_share[i]), 3)))
        return found

    def _ranked(self, pert: str | None, targets: Sequence[str | None]) -> _Ranked:
        order, similarity = self.nearest(pert)
        effects = self._effects(order, targets)
        target, row = np.nonzero(~np.isnan(effects.T))  # by target, then by rank
        value = effects[row, target].astype(np.float64)
        changed = np.flatnonzero(value != 0)
        changed_rank = np.full(len(value), -1)
        changed_rank[changed] = _rank_within(target[changed])
        weight = np.clip(similarity, 0, None) ** self.settings.power
        return _Ranked(order, similarity, len(targets), target, weight[row], value, _rank_within(target),
                       changed_rank)

    def features(self, pert: str | None, targets: Sequence[str | None], cross: bool = False) -> np.ndarray:
        """One row of ``feature_names`` per target: neighbour votes, their weights, similarities, rates."""
        settings = self.settings
        ranked = self._ranked(pert, targets)
        order, similarity, value = ranked.order, ranked.similarity, ranked.value
        columns = []
        de, de_weight = [], []
        for k in settings.feature_ks:
            w = ranked.first(k)
            de.append(ranked.total(w * np.abs(value)) / (ranked.total(w) + 1e-9))
            de_weight.append(ranked.total(w))
        up, up_weight = [], []
        for k in settings.feature_direction_ks:
            w = ranked.first(k, changed=True)
            up.append((ranked.total(w * (value > 0)) + 0.5e-9) / (ranked.total(w) + 1e-9))
            up_weight.append(ranked.total(w))
        columns += de + de_weight + up + up_weight
        n = len(targets)
        nearest = similarity[:20]
        near_weight = nearest.clip(0) + 1e-9
        estimated = float((self.strength[order[:20]] * near_weight).sum() / near_weight.sum())
        estimated_up = float((self.up_share[order[:20]] * near_weight).sum() / near_weight.sum())
        target_cols = [self.target_col.get(t) for t in targets]
        columns += [np.full(n, similarity[0] if len(similarity) else 0.0), np.full(n, nearest.mean() if n else 0.0),
                    np.full(n, estimated), np.full(n, estimated_up),
                    np.array([self.target_rate[c] if c is not None else np.nan for c in target_cols]),
                    np.array([self.target_up[c] if c is not None else np.nan for c in target_cols])]
        pair = self.similarity.pairwise([pert] * n, list(targets))
        columns += [pair[m] for m in sorted(pair)]
        if cross:
            crossed = [self._cross(pert, t) for t in targets]
            columns.append(np.array([np.mean([c.strength for c in cs]) if cs else np.nan for cs in crossed]))
            columns.append(np.array([np.mean([c.up_share for c in cs]) if cs else np.nan for cs in crossed]))
            sign = {LABELS[0]: 0.0, LABELS[1]: -1.0, LABELS[2]: 1.0}
            columns.append(np.array([np.mean([sign[c.effect_on_target] for c in cs if c.effect_on_target])
                                     if any(c.effect_on_target for c in cs) else np.nan for cs in crossed]))
        return np.stack(columns, axis=1).astype(np.float32) if n else np.zeros((0, len(columns)), np.float32)

    def vote(self, pert: str | None, targets: Sequence[str | None]) -> np.ndarray:
        """The no-learning neighbour vote: ``[len(targets), 3]`` probabilities in LABELS order, each vote
        shrunk towards the target gene's training rates by ``prior`` neighbours' weight."""
        settings = self.settings
        ranked = self._ranked(pert, targets)
        value = ranked.value
        cols = [self.target_col.get(t) for t in targets]
        rate = np.array([self.target_rate[c] if c is not None else 0.1 for c in cols])
        up_rate = np.array([self.target_up[c] if c is not None else 0.5 for c in cols])
        w = ranked.first(settings.k)
        changed_p = (ranked.total(w * np.abs(value)) + settings.prior * rate) / (ranked.total(w) + settings.prior)
        changed_p = np.clip(changed_p, 1e-6, 1 - 1e-6)  # keeps the direction score defined
        w = ranked.first(settings.k_direction, changed=True)
        up_p = (ranked.total(w * (value > 0)) + settings.prior * up_rate) / (ranked.total(w) + settings.prior)
        return np.stack([1 - changed_p, changed_p * (1 - up_p), changed_p * up_p], axis=1)


def per_perturbation(pairs: Sequence[LabelledPair], ids: dict[str, str],
                     compute: Callable[[str | None, list[str | None]], np.ndarray]) -> np.ndarray:
    """Runs ``compute(pert id, target ids)`` once per perturbation; rows come back in ``pairs`` order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        groups[pair.perturbed].append(i)
    out: np.ndarray | None = None
    for pert, rows in groups.items():
        values = compute(ids.get(pert), [ids.get(pairs[i].target) for i in rows])
        if out is None:
            out = np.zeros((len(pairs), values.shape[1]), dtype=np.float64)
        out[rows] = values
    return out if out is not None else np.zeros((0, 3))
