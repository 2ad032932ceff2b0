"""What ``aroma bench`` writes: every method's scores per dataset and phase, beside PerturbQA's published Table 1
(``bench.md``, ``bench.json``, ``bench.png``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aroma.evaluate.metrics import nan_to_null

PUBLISHED_SOURCE = ("PerturbQA: Wu et al., \"Contextualizing biological perturbation experiments through language\", "
                    "ICLR 2025, Table 1 (per-gene AUROC on the test split; their repository's examples/results.ipynb)")
# PerturbQA's datasets in Table 1's order, as this toolkit names them (file stems upper-cased): their k562_gw,
# rpe1, hepg2, jurkat and k562_gw_path (the K562 gene-set task, whose targets are gene clusters)
PUBLISHED_DATASETS = ("K562", "RPE1", "HEPG2", "JURKAT", "K562_SET")
_TABLE_1 = {  # method: (DE per dataset, direction per dataset)
    "MLP": ((.48, .51, .51, .49, .49), (.53, .51, .49, .45, .48)),
    "GAT": ((.53, .55, .58, .51, .55), (.59, .60, .63, .58, .51)),
    "GEARS": ((.55, .49, .48, .51, .50), (.67, .61, .52, .52, .70)),
    "GenePT-Gene": ((.57, .55, .56, .55, .58), (.49, .61, .61, .57, .54)),
    "GenePT-Prot": ((.59, .56, .54, .55, .59), (.55, .61, .55, .60, .57)),
    "LLM without CoT": ((.52, .52, .51, .52, .51), (.50, .49, .49, .50, .50)),
    "LLM without retrieval": ((.52, .48, .49, .49, .50), (.50, .52, .53, .54, .49)),
    "retrieval without LLM": ((.58, .59, .56, .56, .66), (.69, .63, .64, .61, .66)),
    "SUMMER (LLM)": ((.62, .59, .62, .59, .62), (.64, .64, .66, .67, .70)),
}
# method → dataset → (DE AUROC, direction AUROC)
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    method: {dataset: (de[i], direction[i]) for i, dataset in enumerate(PUBLISHED_DATASETS)}
    for method, (de, direction) in _TABLE_1.items()}
PLOTTED = ("SUMMER (LLM)", "retrieval without LLM", "GEARS", "GenePT-Prot", "GAT")  # hatched bars beside ours
HATCHES = ("//", "\\\\", "xx", "..", "--")


@dataclass
class MethodResult:
    """One method on one dataset and phase: PerturbQA's metrics, wall time and peak memory."""

    cell_line: str
    split: str
    method: str
    de_auroc: float
    de_genes: int
    direction_auroc: float
    direction_genes: int
    macro_f1: float
    accuracy: float
    pairs: int
    seconds: float
    peak_rss_mb: float
    knockdowns: int = 0  # the dataset's training knockdowns whose outcomes the method could see (0: zero-shot)
    share: float = 1.0  # of the training knockdowns screened (a learning curve's point; 0: zero-shot)


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def markdown_table(results: Sequence[MethodResult], split: str, untested: Sequence[str] = ()) -> str:
    """Methods × datasets for one phase, with the published numbers of those datasets beside: under the test
    split, or under validation for the ``untested`` datasets (their test rows withheld)."""
    lines = ["| dataset | method | DE AUROC (targets) | direction AUROC (targets) | macro-F1 | accuracy | pairs | s | "
             "peak MB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in (r for r in results if r.split == split):
        lines.append(f"| {r.cell_line} | {r.method} | {_number(r.de_auroc)} ({r.de_genes}) | "
                     f"{_number(r.direction_auroc)} ({r.direction_genes}) | {_number(r.macro_f1)} | "
                     f"{_number(r.accuracy)} | {r.pairs} | {r.seconds:.1f} | {r.peak_rss_mb:.0f} |")
    anchored = [c for c in dict.fromkeys(r.cell_line for r in results if r.split == split)
                if split == "test" or c in untested]
    for cell in anchored:
        for method, values in PUBLISHED.items():
            if cell in values:
                de, direction = values[cell]
                where = "published" if split == "test" else "published, their test split"
                lines.append(f"| {cell} | *{where}:* {method} | {_number(de, 2)} | {_number(direction, 2)} "
                             f"| – | – | – | – | – |")
    return "\n".join(lines)


def write_report(results: Sequence[MethodResult], settings: dict[str, Any], out_dir: Path,
                 notes: Sequence[str] = (), untested: Sequence[str] = ()) -> None:
    """``bench.json`` (strict JSON: null where a metric is undefined), ``bench.md`` and ``bench.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"results": [asdict(r) for r in results], "settings": settings, "notes": list(notes),
              "published": {"source": PUBLISHED_SOURCE, "per_gene_auroc": PUBLISHED},
              "protocol": "per-gene AUROC as PerturbQA's eval.auc_per_gene: per target with both classes, averaged; "
                          "DE = changed vs not; direction = up vs down on changed pairs"}
    (out_dir / "bench.json").write_text(json.dumps(nan_to_null(report), indent=1, allow_nan=False, default=str))
    text = "# aroma bench\n\n"
    if any(r.split == "test" for r in results):
        text += ("## Test (unseen perturbations)\n\n" + markdown_table(results, "test") +
                 f"\n\nPublished: {PUBLISHED_SOURCE}.\n\n")
    text += ("## Validation (carved from train; used for choices)\n\n" + markdown_table(results, "validation", untested)
             + "\n")
    if notes:
        text += "\n" + "".join(f"- {note}\n" for note in notes)
    curves = learning_curves(results)
    if curves:
        text += "\n## Learning curves (test)\n\n" + curves + "\n\n![learning curves](learning_curves.png)\n"
        plot_learning_curves(results, out_dir / "learning_curves.png")
    (out_dir / "bench.md").write_text(text)
    plot(results, out_dir / "bench.png")


BENCHMARK = "SUMMER (LLM)"  # the published method the learning curves are read against


def _curve_points(results: Sequence[MethodResult]) -> dict[str, dict[str, list[MethodResult]]]:
    """Dataset → method → its test rows by share of knockdowns screened, the zero-shot row first (share 0)."""
    test = [r for r in results if r.split == "test"]
    curves: dict[str, dict[str, list[MethodResult]]] = {}
    for cell in dict.fromkeys(r.cell_line for r in test if 0 < r.share < 1):
        rows = [r for r in test if r.cell_line == cell]
        zero = [r for r in rows if r.share == 0][:1]
        for method in dict.fromkeys(r.method.rsplit(" (", 1)[0] for r in rows if 0 < r.share < 1):
            points = [r for r in rows if 0 < r.share < 1 and r.method.rsplit(" (", 1)[0] == method]
            points += [r for r in rows if r.share == 1 and r.method == method]
            curves.setdefault(cell, {})[method] = zero + sorted(points, key=lambda r: r.share)
    return curves


def learning_curves(results: Sequence[MethodResult]) -> str:
    """A table of per-gene AUROC against knockdowns screened, and where the best method passes the benchmark."""
    lines = []
    for cell, methods in _curve_points(results).items():
        lines += [f"| {cell} | knockdowns (share) | " + " | ".join(methods) + " |",
                  "|---|---|" + "---|" * len(methods)]
        shares = sorted({r.share for rows in methods.values() for r in rows})
        for share in shares:
            row = {m: next((r for r in rows if r.share == share), None) for m, rows in methods.items()}
            knockdowns = next(r.knockdowns for r in row.values() if r is not None)
            lines.append(f"| {cell} | {knockdowns} ({share:.0%}) | " + " | ".join(
                f"{_number(r.de_auroc)} / {_number(r.direction_auroc)}" if r else "–" for r in row.values()) + " |")
        de, direction = PUBLISHED[BENCHMARK].get(cell, (None, None))
        if de is not None:
            firsts = []
            for method, rows in methods.items():
                first = next((r for r in rows if (r.de_auroc or 0) > de and (r.direction_auroc or 0) > direction),
                             None)
                firsts.append(f"{method} from {first.knockdowns} knockdowns ({first.share:.0%})" if first
                              else f"{method} at no share")
            lines.append("")
            lines.append(f"{cell}: {BENCHMARK} published {de:.2f} / {direction:.2f}, passed on both by "
                         + "; ".join(firsts) + ".")
        lines.append("")
    return "\n".join(lines).strip()


def plot_learning_curves(results: Sequence[MethodResult], path: Path) -> None:
    """Per dataset, DE and direction per-gene AUROC against the knockdowns screened (zero-shot at 0), the
    benchmark's published figure dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = _curve_points(results)
    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 3.8 * len(curves)), squeeze=False)
    for row, (cell, methods) in enumerate(curves.items()):
        for column, (metric, title) in enumerate((("de_auroc", "DE"), ("direction_auroc", "direction"))):
            axis = axes[row, column]
            for m, (method, rows) in enumerate(methods.items()):
                axis.plot([r.knockdowns for r in rows], [getattr(r, metric) for r in rows], marker="o",
                          color=plt.get_cmap("tab10")(m % 10), label=method)
            published = PUBLISHED[BENCHMARK].get(cell)
            if published:
                axis.axhline(published[column], color="black", linestyle=":", linewidth=1,
                             label=f"published: {BENCHMARK}")
            axis.set(title=f"{cell}: {title} per-gene AUROC (test)", xlabel="training knockdowns screened",
                     ylabel="mean AUROC over targets")
            axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot(results: Sequence[MethodResult], path: Path) -> None:
    """DE and direction per-gene AUROC per method and dataset (test where there is one, else validation),
    published methods hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    split = "test" if any(r.split == "test" for r in results) else "validation"
    shown = [r for r in results if r.split == split]
    cells = list(dict.fromkeys(r.cell_line for r in shown))
    ours = list(dict.fromkeys(r.method for r in shown))
    published = [m for m in PLOTTED if any(c in PUBLISHED[m] for c in cells)]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    width = 0.8 / max(len(ours) + len(published), 1)
    colours = plt.get_cmap("tab10")
    for axis, (metric, title) in zip(axes, (("de_auroc", "DE"), ("direction_auroc", "direction"))):
        for c, cell in enumerate(cells):
            for m, method in enumerate(ours):
                value = next((getattr(r, metric) for r in shown if r.cell_line == cell and r.method == method), None)
                if value is not None and value == value:
                    axis.bar(c + m * width, value, width, color=colours(m % 10), label=method if c == 0 else None)
            for p, method in enumerate(published):
                if cell in PUBLISHED[method]:
                    de, direction = PUBLISHED[method][cell]
                    axis.bar(c + (len(ours) + p) * width, de if metric == "de_auroc" else direction, width,
                             color="white", edgecolor="dimgrey", hatch=HATCHES[p % len(HATCHES)],
                             label=f"published: {method}" if c == 0 else None)
        axis.axhline(0.5, color="black", linewidth=0.8, linestyle=":")
        axis.set_xticks([c + 0.4 - width / 2 for c in range(len(cells))], cells)
        axis.set_ylim(0.4, 0.95)
        axis.set_title(f"{title}: per-gene AUROC, {split} split")
    axes[0].set_ylabel("mean AUROC over targets")
    handles, labels = [], []
    for axis in axes:  # a dataset without published numbers may show no hatched bar on one axis
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
