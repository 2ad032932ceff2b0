"""The neighbour model: gradient-boosted trees over what similar knockdowns did (``retrieval.neighbours``).

Two scikit-learn ``HistGradientBoostingClassifier``s (kept as ``trees.Forest`` arrays once fit): one for "T
changes" on every training pair, one for "up rather than down" on the training pairs that changed. Their product gives the three answers, so the
direction score PerturbQA evaluates is exactly the second model's probability. Training pairs get the same
features a test pair gets: their own knockdown is never among their neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.errors import AromaError
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.predict.crossfit import cross_fitted
from aroma.predict.trees import Forest
from aroma.retrieval.neighbours import NeighbourSettings, feature_names
from aroma.retrieval.responses import ResponseSettings
from aroma.tokens import NOT_CHANGED, UP

MODEL_FILE = "trees.npz"


@dataclass(frozen=True)
class TreeSettings:
    """Tree settings, chosen on the validation split of K562 and RPE1 among three (README: benchmark)."""

    max_iter: int = 300
    learning_rate: float = 0.03
    min_samples_leaf: int = 500
    max_depth: int | None = 4
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    seed: int = 0

    def trees(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        settings = asdict(self)
        seed = settings.pop("seed")
        return HistGradientBoostingClassifier(random_state=seed, **settings)


@dataclass(frozen=True)
class ChangeAndDirection:
    """P(changed) and P(up | changed) from one feature row per pair, as ``[n, 3]`` probabilities."""

    changed: Forest
    up: Forest

    @classmethod
    def fit(cls, settings: TreeSettings, features: np.ndarray, labels: np.ndarray) -> ChangeAndDirection:
        labels = np.asarray(labels)
        changed = labels != NOT_CHANGED
        if changed.all() or not changed.any() or len(set(labels[changed])) < 2:
            raise AromaError("the neighbour model needs training pairs of all three answers")
        return cls(Forest.from_sklearn(settings.trees().fit(features, changed)),
                   Forest.from_sklearn(settings.trees().fit(features[changed], labels[changed] == UP)))

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros((0, 3))
        changed, up = self.changed.probability(features), self.up.probability(features)
        return np.stack([1 - changed, changed * (1 - up), changed * up], axis=1)

    def save(self, path: Path) -> None:
        np.savez(path, **self.changed.arrays("changed_"), **self.up.arrays("up_"))

    @classmethod
    def load(cls, path: Path) -> ChangeAndDirection:
        with np.load(path, allow_pickle=False) as stored:
            return cls(Forest.from_arrays(stored, "changed_"), Forest.from_arrays(stored, "up_"))


def labels_of(pairs: Sequence[LabelledPair]) -> np.ndarray:
    return np.array([p.label for p in pairs])


@dataclass
class NeighbourModel(Predictor):
    name = "neighbour model"
    summary = ("gradient-boosted trees (scikit-learn `HistGradientBoostingClassifier`; one for \"changed\", one "
               "for \"up given changed\") over the neighbour votes at k = 5/20/50 and 10/50 with their weights, the "
               "nearest similarities, P's estimated strength and up-share (from its 20 nearest knockdowns), T's "
               "training rates and the pair's per-modality similarity; training pairs' features cross-fitted "
               "(10 folds of knockdowns, `aroma.predict.crossfit`)")
    cross = False  # with what P itself did in the other cell lines
    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)
    trees: TreeSettings = field(default_factory=TreeSettings)
    folds: int = 10  # cross-fitting of the training pairs' features (below 2: each knockdown left out alone)

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> NeighbourModel | None:
        if not knowledge.has_outcomes or (cls.cross and not (options.cross_cell_line and knowledge.others)):
            return None
        return cls(options.neighbours, replace(cls.trees_default(), seed=options.seed))

    @classmethod
    def trees_default(cls) -> TreeSettings:
        return TreeSettings()

    def columns(self, knowledge: Knowledge, pairs: Sequence[LabelledPair]) -> np.ndarray:
        """The features this model reads, from ``knowledge`` (the within-cell-line neighbour features, or all of
        them with ``cross``)."""
        features = knowledge.features(pairs, self.neighbours)
        if self.cross:
            if not knowledge.others:
                raise AromaError(f"{self.name} needs other cell lines' outcomes in the graph; it has only "
                                 f"{knowledge.cell_line}'s")
            return features
        return features[:, :len(feature_names(self.neighbours, sorted(knowledge.graph.similarity.profiles), False))]

    def _fit(self, pairs: Sequence[LabelledPair]) -> None:
        features = cross_fitted(self.knowledge, pairs, self.columns, self.folds, self.trees.seed)
        self.model = ChangeAndDirection.fit(self.trees, features, labels_of(pairs))

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        return self.model.predict_proba(self.columns(self.knowledge, pairs))

    def _save_state(self, directory: Path) -> None:
        self.model.save(directory / MODEL_FILE)

    def _load_state(self, directory: Path) -> None:
        self.model = ChangeAndDirection.load(directory / MODEL_FILE)


@dataclass
class NeighbourModelOtherCellLines(NeighbourModel):
    name = "neighbour model + other cell lines"
    summary = ("the same, plus what P itself did in the other cell lines' training splits (its strength, its "
               "up-share, its effect on T where measured)")
    cross = True


@dataclass
class ResponseModel(NeighbourModelOtherCellLines):
    """The neighbour model + other cell lines, with the outcomes also seen through genes that respond together."""

    name = "response model"
    summary = ("the neighbour model + other cell lines, plus what the knockdowns did seen through genes that "
               "respond together (`aroma.retrieval.responses`): target-smoothed votes of P's graph neighbours, P's "
               "responses in the other cell lines smoothed onto T, knockdowns alike by those responses, and a joint "
               "low-rank factorisation of every cell line's knockdown × gene outcomes; cross-fitted; trees with "
               "leaves of 200 and 600 rounds")
    responses: ResponseSettings = field(default_factory=ResponseSettings)
    trees: TreeSettings = field(default_factory=lambda: ResponseModel.trees_default())

    @classmethod
    def trees_default(cls) -> TreeSettings:
        return TreeSettings(max_iter=600, min_samples_leaf=200)

    def columns(self, knowledge: Knowledge, pairs: Sequence[LabelledPair]) -> np.ndarray:
        return np.hstack([super().columns(knowledge, pairs),
                          knowledge.response_features(pairs, self.responses).astype(np.float64)])
