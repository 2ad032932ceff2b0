"""PerturbQA's protocol against a reference computation with scikit-learn on a hand-made case."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from aroma.evaluate.metrics import evaluate, per_gene_auroc


def test_per_gene_auroc_averages_genes_with_both_classes() -> None:
    genes = ["A", "A", "A", "B", "B", "B", "C", "C"]
    labels = [1, 0, 0, 1, 1, 0, 0, 0]  # C has one class only: left out
    scores = [0.9, 0.2, 0.95, 0.3, 0.8, 0.5, 0.1, 0.2]
    mean, used = per_gene_auroc(genes, labels, scores)
    expected = np.mean([roc_auc_score([1, 0, 0], [0.9, 0.2, 0.95]), roc_auc_score([1, 1, 0], [0.3, 0.8, 0.5])])
    assert used == 2 and abs(mean - expected) < 1e-12


def test_evaluate_de_direction_and_f1() -> None:
    genes = ["A"] * 4 + ["B"] * 4
    labels = [0, 1, 2, 0, 2, 1, 0, 2]
    probs = np.array([[.8, .1, .1], [.2, .7, .1], [.1, .2, .7], [.5, .4, .1],
                      [.3, .2, .5], [.2, .3, .5], [.6, .2, .2], [.1, .1, .8]])
    result = evaluate(genes, labels, probs)
    de_a = roc_auc_score([0, 1, 1, 0], probs[:4, 1] + probs[:4, 2])
    de_b = roc_auc_score([1, 1, 0, 1], probs[4:, 1] + probs[4:, 2])
    assert abs(result["de_auroc"] - (de_a + de_b) / 2) < 1e-12
    up = probs[:, 2] / (probs[:, 1] + probs[:, 2])
    dir_a = roc_auc_score([0, 1], up[[1, 2]])
    dir_b = roc_auc_score([1, 0, 1], up[[4, 5, 7]])
    assert abs(result["direction_auroc"] - (dir_a + dir_b) / 2) < 1e-12
    assert abs(result["macro_f1"] - f1_score(labels, probs.argmax(1), average="macro")) < 1e-12
    assert result["accuracy"] == np.mean(np.array(labels) == probs.argmax(1))


def test_evaluation_sample_keeps_whole_target_genes() -> None:
    from aroma.data.perturbqa import whole_targets

    targets = ["A", "B", "A", "C", "B", "A", "D"]
    chosen = whole_targets(targets, about=3, seed=1)
    genes = [targets[i] for i in chosen]
    assert len(genes) >= 3 and chosen == sorted(chosen)
    for gene in set(genes):
        assert genes.count(gene) == targets.count(gene)  # every pair of a chosen gene


def test_undefined_auroc_is_null_with_the_reason_in_json() -> None:
    import json

    from aroma.evaluate.metrics import json_ready

    genes, labels = ["A", "A", "B"], [0, 0, 2]  # no gene has both classes; one changed pair only
    metrics = json_ready(evaluate(genes, labels, np.array([[.8, .1, .1], [.6, .2, .2], [.2, .2, .6]])))
    text = json.dumps(metrics, allow_nan=False)  # raises on NaN
    loaded = json.loads(text)
    assert loaded["de_auroc"] is None and loaded["direction_auroc"] is None
    assert "both changed and unchanged" in loaded["notes"]["de_auroc"]
    assert "up- and downregulated" in loaded["notes"]["direction_auroc"]
    assert loaded["accuracy"] == 1.0 and "macro_f1" not in loaded["notes"]
