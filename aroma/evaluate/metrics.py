"""PerturbQA's evaluation protocol: AUROC per target gene, averaged over genes, for DE and for direction."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from aroma.tokens import DOWN, NOT_CHANGED, UP


def per_gene_auroc(genes: Sequence[str], labels: Sequence[int], scores: Sequence[float]) -> tuple[float, int]:
    """Mean AUROC over target genes that have both classes; returns (mean, number of genes used)."""
    by_gene: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for gene, label, score in zip(genes, labels, scores):
        by_gene[gene][0].append(label)
        by_gene[gene][1].append(score)
    values = [roc_auc_score(y, s) for y, s in by_gene.values() if 0 < sum(y) < len(y)]
    return (float(np.mean(values)) if values else float("nan")), len(values)


def evaluate(genes: Sequence[str], labels: Sequence[int], probabilities: np.ndarray) -> dict[str, float]:
    """``probabilities [n, 3]`` in LABELS order → DE and direction per-gene AUROC, macro-F1, accuracy."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=float)
    de_auroc, de_genes = per_gene_auroc(genes, (labels != NOT_CHANGED).astype(int),
                                        probabilities[:, DOWN] + probabilities[:, UP])
    changed = labels != NOT_CHANGED
    up_share = probabilities[:, UP] / np.clip(probabilities[:, UP] + probabilities[:, DOWN], 1e-12, None)
    dir_auroc, dir_genes = per_gene_auroc([g for g, c in zip(genes, changed) if c],
                                          (labels[changed] == UP).astype(int), up_share[changed])
    predicted = probabilities.argmax(axis=1)
    return {
        "de_auroc": de_auroc, "de_genes": de_genes, "direction_auroc": dir_auroc, "direction_genes": dir_genes,
        "macro_f1": float(f1_score(labels, predicted, average="macro", labels=[NOT_CHANGED, DOWN, UP],
                                   zero_division=0)),
        "accuracy": float(accuracy_score(labels, predicted)), "pairs": int(len(labels)),
    }


UNDEFINED = {  # why a per-gene AUROC can be undefined
    "de_auroc": "no target gene in this sample had both changed and unchanged pairs",
    "direction_auroc": "no target gene in this sample had both up- and downregulated pairs",
}


def json_ready(metrics: dict[str, float]) -> dict[str, object]:
    """``metrics`` for a JSON report: undefined (NaN) values become ``null`` and ``notes`` says why."""
    ready: dict[str, object] = {}
    notes: dict[str, str] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and math.isnan(value):
            ready[key] = None
            notes[key] = UNDEFINED.get(key, "undefined for this sample")
        else:
            ready[key] = value
    if notes:
        ready["notes"] = notes
    return ready


def nan_to_null(value: object) -> object:
    """``value`` with every NaN or infinite float, at any depth, as ``None`` (strict JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: nan_to_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_null(v) for v in value]
    return value
