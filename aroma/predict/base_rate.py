"""The target base rate: each pair from its target's training label frequencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.predict.base import Knowledge, Predictor


def base_rates(knowledge: Knowledge, pairs: Sequence[LabelledPair]) -> np.ndarray:
    """``[n, 3]``: each pair's target's share of training knockdowns that changed it and the up share of those
    changes; a target no training knockdown measured gets the cell line's overall rates."""
    neighbours = knowledge.neighbours()
    effects = knowledge.table.effects
    overall = float(np.nanmean(np.abs(effects))) if effects.size else 0.1
    ids = knowledge.ids(pairs)
    rows = []
    for pair in pairs:
        j = neighbours.target_col.get(ids.get(pair.target))
        changed, up_share = (neighbours.target_rate[j], neighbours.target_up[j]) if j is not None else (overall, 0.5)
        rows.append([1 - changed, changed * (1 - up_share), changed * up_share])
    return np.array(rows).reshape(-1, 3)


@dataclass
class TargetBaseRate(Predictor):
    """Constant per target, so its per-gene AUROC is 0.5 by construction while its macro-F1 need not be."""

    name = "target base rate"
    summary = ("each pair from its target gene's training label frequencies: per-gene AUROC 0.50 by construction, "
               "yet a high macro-F1 — why F1 alone says little")

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        return base_rates(self.knowledge, pairs)
