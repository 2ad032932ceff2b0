"""The neighbour model: gradient-boosted trees over what similar knockdowns did (``retrieval.neighbours``).

Two scikit-learn ``HistGradientBoostingClassifier``s: one for "T changes" on every training pair, one for
"up rather than down" on the training pairs that changed. Their product gives the three answers, so the
direction score PerturbQA evaluates is exactly the second model's probability. Training pairs get the
same features a test pair gets: their own knockdown is never among their neighbours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from aroma.tokens import NOT_CHANGED, UP


@dataclass(frozen=True)
class NeighbourModelConfig:
    """Tree settings, chosen on the validation split of K562 and RPE1 among three (README: benchmark)."""

    max_iter: int = 300
    learning_rate: float = 0.03
    min_samples_leaf: int = 500
    max_depth: int | None = 4
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    seed: int = 0

    def trees(self) -> HistGradientBoostingClassifier:
        settings = asdict(self)
        seed = settings.pop("seed")
        return HistGradientBoostingClassifier(random_state=seed, **settings)


class NeighbourModel:
    """P(changed) and P(up | changed) from neighbour features."""

    def __init__(self, config: NeighbourModelConfig | None = None) -> None:
        self.config = config or NeighbourModelConfig()
        self.changed = self.config.trees()
        self.up = self.config.trees()

    def fit(self, features: np.ndarray, labels: np.ndarray) -> NeighbourModel:
        labels = np.asarray(labels)
        changed = labels != NOT_CHANGED
        if changed.all() or not changed.any() or len(set(labels[changed])) < 2:
            raise ValueError("the neighbour model needs training pairs of all three answers")
        self.changed.fit(features, changed)
        self.up.fit(features[changed], labels[changed] == UP)
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``[n, 3]`` probabilities in LABELS order."""
        if not len(features):
            return np.zeros((0, 3))
        changed = self.changed.predict_proba(features)[:, 1]
        up = self.up.predict_proba(features)[:, 1]
        return np.stack([1 - changed, changed * (1 - up), changed * up], axis=1)
