"""Variants of the response model's direction trees, on validation only: the README's list of what was tried for
RPE1's direction. Each dataset's validation phase for several carves (``--seeds``): the response model's
cross-fitted features, then the direction trees (up vs down on changed pairs) as shipped and varied; prints the
mean direction AUROC per dataset and variant, and the per-carve spread. Test is never read.

    python benchmarks/direction_variants.py --perturbqa ../shared/data/perturbqa [--db ~/.aroma/db] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aroma.data.perturbqa import PerturbQA
from aroma.evaluate.metrics import per_gene_auroc
from aroma.kg.store import open_store
from aroma.predict.base import MethodOptions
from aroma.predict.crossfit import cross_fitted
from aroma.predict.neighbour_model import ResponseModel, TreeSettings
from aroma.predict.zero_shot import ZeroShotVote
from aroma.retrieval.knowledge import GraphContext
from aroma.retrieval.phases import phase
from aroma.retrieval.similarity import SimilarityConfig
from aroma.tokens import NOT_CHANGED, UP

SHIPPED = ResponseModel.trees_default()
TREES = {"leaves 50": dict(min_samples_leaf=50), "leaves 100, 1,200 rounds": dict(min_samples_leaf=100, max_iter=1200),
         "leaves 400": dict(min_samples_leaf=400), "leaves 800": dict(min_samples_leaf=800), "depth 6": dict(max_depth=6),
         "learning rate 0.06": dict(learning_rate=0.06), "300 rounds": dict(max_iter=300)}


def dump(graph: GraphContext, by_modality: dict[str, GraphContext], data: PerturbQA, cell: str) -> dict[str, np.ndarray]:
    """The validation phase's features (fit pairs cross-fitted), labels and targets, and the extra columns."""
    current = phase("validation", data.pairs(cell))
    knowledge = graph.knowledge(cell, current.hidden)
    model = ResponseModel()
    out = {"fit": cross_fitted(knowledge, current.fit, model.columns, model.folds, 0),
           "score": model.columns(knowledge, current.score),
           "fit_label": np.array([p.label for p in current.fit]), "score_label": np.array([p.label for p in current.score]),
           "fit_target": np.array([p.target for p in current.fit]),
           "score_target": np.array([p.target for p in current.score])}
    blind = graph.knowledge(cell, own_outcomes=False)
    zero_shot = ZeroShotVote.create(MethodOptions(), blind)
    for side, pairs in (("fit", current.fit), ("score", current.score)):
        vote = zero_shot.fit(blind, []).predict_proba(pairs)
        out[f"{side}+zero-shot vote"] = np.stack([vote[:, 1] + vote[:, 2], vote[:, 2] / np.clip(vote[:, 1] + vote[:, 2], 1e-9, None)], 1)
    votes = lambda k, pairs: k.features(pairs)[:, :10]  # the within-cell-line vote columns
    for name, context in by_modality.items():
        alone = context.knowledge(cell, current.hidden)
        out[f"fit+{name} votes"] = cross_fitted(alone, current.fit, votes, model.folds, 0)
        out[f"score+{name} votes"] = votes(alone, current.score)
    return out


def direction(d: dict[str, np.ndarray], extra: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The direction trees' training rows (changed fit pairs), their labels (up), and the changed scored pairs' rows."""
    fit, score = d["fit_label"] != NOT_CHANGED, d["score_label"] != NOT_CHANGED
    x_fit, x_score = d["fit"], d["score"]
    if extra:
        x_fit, x_score = np.hstack([x_fit, d[f"fit+{extra}"]]), np.hstack([x_score, d[f"score+{extra}"]])
    return x_fit[fit], d["fit_label"][fit] == UP, x_score[score]


def auroc(d: dict[str, np.ndarray], p: np.ndarray) -> float:
    changed = d["score_label"] != NOT_CHANGED
    return per_gene_auroc(list(d["score_target"][changed]), (d["score_label"][changed] == UP).astype(int), p)[0]


def trees(settings: TreeSettings, x, y, weights=None):
    return settings.trees().fit(x, y, sample_weight=weights)


def variants(d: dict[str, np.ndarray], other: dict[str, np.ndarray] | None) -> dict[str, float]:
    x, y, xs = direction(d)
    up = lambda model: model.predict_proba(xs)[:, 1]
    shipped = up(trees(SHIPPED, x, y))
    found = {"as shipped": auroc(d, shipped)}
    for name, change in TREES.items():
        found[f"trees: {name}"] = auroc(d, up(trees(replace(SHIPPED, **change), x, y)))
    _, index, counts = np.unique(d["fit_target"][d["fit_label"] != NOT_CHANGED], return_inverse=True,
                                 return_counts=True)
    for name, weights in (("each target weighted once", 1 / counts[index]),
                          ("each target weighted by 1/sqrt(pairs)", 1 / np.sqrt(counts[index]))):
        found[name] = auroc(d, up(trees(SHIPPED, x, y, weights / weights.mean())))
    for name, extra in (("zero-shot vote as features", "zero-shot vote"), ("GO votes", "go votes"),
                        ("STRING votes", "string votes"), ("pathway votes", "pathway votes")):
        xe, ye, xse = direction(d, extra)
        found[f"+ {name}"] = auroc(d, trees(SHIPPED, xe, ye).predict_proba(xse)[:, 1])
    impute = SimpleImputer(strategy="median").fit(x)
    others: dict[str, Callable[[], np.ndarray]] = {
        "extra-trees": lambda: ExtraTreesClassifier(300, min_samples_leaf=50, max_features=0.3, n_jobs=-1, random_state=0)
        .fit(impute.transform(x), y).predict_proba(impute.transform(xs))[:, 1],
        "random forest": lambda: RandomForestClassifier(300, min_samples_leaf=50, max_features=0.3, n_jobs=-1, random_state=0)
        .fit(impute.transform(x), y).predict_proba(impute.transform(xs))[:, 1],
        "logistic regression": lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        .fit(x, y).predict_proba(xs)[:, 1]}
    for name, predict in others.items():
        found[f"rank-average with {name}"] = auroc(d, rankdata(shipped) + rankdata(predict()))
    if other is None:
        return found
    xo, yo, _ = direction(other)
    for weight in (1.0, 0.5):
        pooled = trees(SHIPPED, np.vstack([x, xo]), np.concatenate([y, yo]),
                       np.concatenate([np.ones(len(y)), np.full(len(yo), weight)]))
        found[f"fit on both cell lines (other at weight {weight})"] = auroc(d, up(pooled))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--perturbqa", type=Path, required=True)
    parser.add_argument("--db", default=None)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[tuple[str, str], list[float]] = {}
    with open_store(args.db, create=False) as store:
        graph = GraphContext(store, whole_network=True)
        by_modality = {m: GraphContext(store, SimilarityConfig(weights={m: 1.0}), whole_network=True)
                       for m in ("go", "string", "pathway")}
        for seed in seeds:
            data = PerturbQA(args.perturbqa, seed=seed)
            dumps = {cell: dump(graph, by_modality, data, cell) for cell in data.cell_lines}
            for cell in data.cell_lines:
                other = next((dumps[c] for c in data.cell_lines if c != cell), None)
                for name, value in variants(dumps[cell], other).items():
                    results.setdefault((cell, name), []).append(value)
            print(f"carve {seed} done", flush=True)
    cells = sorted({cell for cell, _ in results})
    print("variant | " + " | ".join(f"{c} direction AUROC (carves)" for c in cells))
    for name in dict.fromkeys(n for _, n in results):
        print(name + " | " + " | ".join(f"{np.mean(results[c, name]):.3f} ({', '.join(f'{v:.3f}' for v in results[c, name])})"
                                       for c in cells))


if __name__ == "__main__":
    main()
