"""A fitted scikit-learn ``HistGradientBoostingClassifier`` (binary) as plain arrays, predicted with NumPy.

Fitting stays scikit-learn's; predicting this way gives its probabilities exactly (the same comparisons, the
same order of sums) without importing scikit-learn or unpickling code, which keeps ``aroma predict`` fast and a
saved predictor a set of ``.npz`` arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Forest:
    """Every tree's nodes concatenated; ``roots[t]`` is tree t's first node, ``left``/``right`` are global."""

    baseline: np.ndarray  # [1]: the raw prediction before any tree
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    depth: np.ndarray  # [1]: the deepest leaf

    @classmethod
    def from_sklearn(cls, model: Any) -> Forest:
        """From a fitted binary ``HistGradientBoostingClassifier`` (numeric features only)."""
        if len(model.classes_) != 2:
            raise ValueError("only binary classifiers become a Forest")
        trees = [iteration[0].nodes for iteration in model._predictors]
        if any(nodes["is_categorical"].any() for nodes in trees):
            raise ValueError("categorical splits are not supported")
        offsets = np.cumsum([0] + [len(nodes) for nodes in trees[:-1]])
        nodes = np.concatenate(trees)
        shift = np.repeat(offsets, [len(t) for t in trees])
        return cls(np.asarray(model._baseline_prediction, dtype=np.float64).ravel()[:1], offsets.astype(np.int64),
                   nodes["feature_idx"].astype(np.int64), nodes["num_threshold"].astype(np.float64),
                   nodes["missing_go_to_left"].astype(bool), (nodes["left"] + shift).astype(np.int64),
                   (nodes["right"] + shift).astype(np.int64), nodes["is_leaf"].astype(bool),
                   nodes["value"].astype(np.float64), np.array([int(nodes["depth"].max())]))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{f.name}": getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, stored: Any, prefix: str) -> Forest:
        return cls(**{f.name: np.asarray(stored[f"{prefix}{f.name}"]) for f in fields(cls)})

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(class 1) for each row, as ``predict_proba(features)[:, 1]``."""
        features = np.asarray(features, dtype=np.float64)
        rows = np.arange(len(features))[:, None]
        node = np.broadcast_to(self.roots, (len(features), len(self.roots))).copy()
        for _ in range(int(self.depth[0])):
            inner = ~self.leaf[node]
            value = features[rows, self.feature[node]]
            go_left = np.where(np.isnan(value), self.missing_left[node], value <= self.threshold[node])
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        leaves = self.value[node]
        raw = np.full(len(features), self.baseline[0])
        for tree in range(leaves.shape[1]):  # summed tree by tree, as scikit-learn does
            raw += leaves[:, tree]
        # the logistic function through the C library's exp, as SciPy's expit computes it (NumPy's own exp may
        # differ in the last bit)
        return np.array([1.0 / (1.0 + math.exp(-value)) for value in raw.tolist()])
