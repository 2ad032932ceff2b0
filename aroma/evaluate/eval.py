"""``aroma eval``: a trained language model on one split of its PerturbReason dataset, beside every other method
that applies, with PerturbQA's metrics, ROC and precision-recall plots."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aroma.data.perturbqa import LabelledPair, PerturbQA, whole_targets
from aroma.dataset.splits import open_split
from aroma.errors import AromaError
from aroma.evaluate.metrics import evaluate, json_ready
from aroma.predict import registry
from aroma.predict.base import GraphContext, MethodOptions, Predictor
from aroma.predict.lm import LanguageModel
from aroma.retrieval.phases import PHASES, phase
from aroma.tokens import NOT_CHANGED, UP


@dataclass
class EvalReport:
    """``aroma eval``'s result (``eval_report.json``): per method, PerturbQA's metrics on one split's pairs."""

    split: str
    pairs: int
    model: str
    metrics: dict[str, dict[str, Any]]  # method → de_auroc, direction_auroc, macro_f1, accuracy, … (None: undefined)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dataset_pairs(data: Path, split: str, limit: int | None, seed: int = 0) -> list[LabelledPair]:
    """The labelled pairs of a PerturbReason split (all, or whole target genes adding up to about ``limit``)."""
    rows = open_split(data, split).select_columns(["cell_line", "pert", "gene", "label", "split"]).to_list()
    pairs = [LabelledPair(r["cell_line"], r["pert"], r["gene"], r["label"], r["split"]) for r in rows]
    return [pairs[i] for i in whole_targets([p.target for p in pairs], limit, seed)] if limit else pairs


def evaluate_model(graph: GraphContext, data: PerturbQA, model_dir: Path, dataset: Path, split: str, out: Path,
                   limit: int | None = None, options: MethodOptions | None = None, classifier: Path | None = None,
                   batch_size: int = 4, show_progress: bool = True) -> EvalReport:
    """The language model and every other method that applies (fit as in ``aroma bench``'s phase of ``split``;
    ``classifier``: a saved classifier too) on the same pairs; metrics JSON, ROC and PR plots."""
    if split not in PHASES:
        raise AromaError(f"--split must be one of {', '.join(PHASES)} (the pairs a method is not fit on)")
    options = options or MethodOptions()
    pairs = dataset_pairs(dataset, split, limit, options.seed)
    if not pairs:
        raise AromaError(f"{dataset} has no {split} pairs")
    methods: dict[str, np.ndarray] = {}
    for cell in sorted({p.cell_line for p in pairs}):
        rows = [i for i, p in enumerate(pairs) if p.cell_line == cell]
        chosen = [pairs[i] for i in rows]
        current = phase(split, data.pairs(cell))
        knowledge = graph.knowledge(cell, current.hidden)
        fitted: list[tuple[str, Predictor]] = [("aroma", LanguageModel(model_dir, batch_size=batch_size)
                                                .fit(knowledge, []))]
        for name in registry.names():
            predictor = registry.method(name).create(options, knowledge)
            if predictor is not None and not isinstance(predictor, LanguageModel):
                fitted.append((name, predictor.fit(knowledge, current.fit)))
        if classifier is not None:
            fitted.append(("classifier", registry.load_predictor(classifier, knowledge)))
        for name, predictor in fitted:
            probabilities = predictor.predict_proba(chosen, show_progress=show_progress) \
                if isinstance(predictor, LanguageModel) else predictor.predict_proba(chosen)
            methods.setdefault(name, np.zeros((len(pairs), 3)))[rows] = probabilities
    labels = np.array([p.label for p in pairs])
    targets = [p.target for p in pairs]
    report = EvalReport(split, len(pairs), str(model_dir),
                        {name: json_ready(evaluate(targets, labels, p)) for name, p in methods.items()})
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_report.json").write_text(json.dumps(report.to_dict(), indent=1, allow_nan=False))
    plot_curves(methods, labels, out / "roc_pr.png")
    return report


def plot_curves(methods: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> None:
    """ROC and precision-recall curves of every method, for DE and for direction, pooled over pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, axes = plt.subplots(2, 2, figsize=(10, 9), dpi=100)
    changed = labels != NOT_CHANGED
    tasks = {"DE (changed vs not)": (changed.astype(int), lambda p: p[:, 1] + p[:, 2], slice(None)),
             "direction (up vs down, DE pairs)": ((labels == UP).astype(int),
                                                  lambda p: p[:, 2] / np.clip(p[:, 1] + p[:, 2], 1e-12, None), changed)}
    for column, (title, (y, score, rows)) in enumerate(tasks.items()):
        for name, probabilities in methods.items():
            if len(set(y[rows])) < 2:
                continue
            s = score(probabilities)[rows]
            fpr, tpr, _ = roc_curve(y[rows], s)
            precision, recall, _ = precision_recall_curve(y[rows], s)
            axes[0, column].plot(fpr, tpr, label=name)
            axes[1, column].plot(recall, precision, label=name)
        axes[0, column].plot([0, 1], [0, 1], "k:", linewidth=0.8)
        axes[0, column].set(title=f"ROC, {title}", xlabel="false positive rate", ylabel="true positive rate")
        axes[1, column].set(title=f"Precision-recall, {title}", xlabel="recall", ylabel="precision")
        for row in (0, 1):
            if axes[row, column].get_legend_handles_labels()[0]:  # no curve when no gene has both classes
                axes[row, column].legend(fontsize=8)
    fig.suptitle("Pooled over pairs; the report's AUROCs are per target gene, averaged (PerturbQA)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
