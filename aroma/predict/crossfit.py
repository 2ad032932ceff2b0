"""Features of training pairs that look like a new pair's: cross-fitted by knockdown.

A training pair (P, T) whose features come from a table with only P left out still carries P's own label: within
target T, the vote of the others is (T's changes − P's label) / (n − 1), and T's rate counts P's label, so trees learn
to read the label backwards (on K562 validation the 20-neighbour vote ranks validation pairs at AUROC 0.70 and the
training pairs it is fit on at 0.44). Split the training knockdowns into folds instead: a fold's pairs get every
feature from the outcomes less the whole fold, as a new knockdown's pairs get theirs from all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.retrieval.knowledge import Knowledge

Features = Callable[[Knowledge, Sequence[LabelledPair]], np.ndarray]


def folds_of(pairs: Sequence[LabelledPair], folds: int, seed: int) -> np.ndarray:
    """Each pair's fold: its knockdown's, the sorted knockdowns dealt round in a seeded random order."""
    perts = np.array(sorted({p.perturbed for p in pairs}))
    fold = dict(zip(perts[np.random.RandomState(seed).permutation(len(perts))].tolist(), np.arange(len(perts)) % folds))
    return np.array([fold[p.perturbed] for p in pairs], dtype=np.int64)


def cross_fitted(knowledge: Knowledge, pairs: Sequence[LabelledPair], features: Features, folds: int = 10,
                 seed: int = 0) -> np.ndarray:
    """``features`` of ``pairs``, each fold's from ``knowledge`` less that fold's knockdowns (``folds`` < 2: from
    ``knowledge`` itself, each knockdown left out of its own neighbours only)."""
    if folds < 2 or not pairs:
        return features(knowledge, pairs)
    fold = folds_of(pairs, folds, seed)
    ids = knowledge.ids(pairs)
    out: np.ndarray | None = None
    for f in range(folds):
        rows = np.flatnonzero(fold == f)
        chosen = [pairs[i] for i in rows]
        held_out = sorted({ids[p.perturbed] for p in chosen if p.perturbed in ids})
        values = features(knowledge.without(held_out), chosen)
        if out is None:
            out = np.full((len(pairs), values.shape[1]), np.nan, dtype=values.dtype)
        out[rows] = values
    return out
