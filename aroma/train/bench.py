"""``aroma bench``: every method on every PerturbQA cell line, scored with PerturbQA's protocol, beside the
published numbers.

Per cell line, two phases with the same code: ``validation`` (neighbours and training from the training
split less the validation perturbations; scored on those) for choosing settings, and ``test`` (everything
of the training split; scored on the unseen test perturbations), read once for the report. Test labels are
only read to score: the graph holds training outcomes alone, and every input a method sees is built from it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil
import torch
from rich.progress import Progress

from aroma.dataset.perturbqa import LabelledPair, carve_validation, cell_lines, read_cell_line
from aroma.errors import AromaError
from aroma.kg.store import GraphStore
from aroma.model.assets import GeneSpace, load_gene_space
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.neighbours import KnockdownNeighbours, NeighbourSettings, feature_names, per_perturbation
from aroma.retrieval.outcomes import OutcomeTable
from aroma.retrieval.similarity import GeneSimilarity, SimilarityConfig
from aroma.train.baselines import evidence_heuristic
from aroma.train.metrics import evaluate, nan_to_null
from aroma.train.neighbour_model import NeighbourModel, NeighbourModelConfig

PUBLISHED_SOURCE = ("PerturbQA: Wu et al., \"Contextualizing biological perturbation experiments through language\", "
                    "ICLR 2025, Table 1 (per-gene AUROC, same test split)")
# method → cell line → (DE AUROC, direction AUROC); None where the table gives none
PUBLISHED: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "SUMMER (LLM, PerturbQA)": {"K562": (0.62, 0.64), "RPE1": (0.59, 0.64)},
    "PerturbQA retrieval, no LLM": {"K562": (0.58, 0.69), "RPE1": (0.59, 0.63)},
    "GenePT-Prot": {"K562": (0.59, None), "RPE1": (0.56, None)},
    "GAT": {"K562": (0.53, 0.59), "RPE1": (0.55, 0.60)},
}
PHASES = ("validation", "test")
CLASSIFIER = "classifier (fusion + neighbours)"
HATCHES = ("//", "\\\\", "xx", "..", "--")


@dataclass
class MethodResult:
    """One method on one cell line and split: PerturbQA's metrics, wall time and peak memory."""

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


@dataclass(frozen=True)
class BenchSettings:
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)
    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)
    model: NeighbourModelConfig = field(default_factory=NeighbourModelConfig)
    validation_fraction: float = 0.1
    seed: int = 0
    cross_cell_line: bool = True  # also run the neighbour model with what P did in other cell lines
    embeddings: Path | None = None  # GNN embeddings: adds the classifier (fusion + neighbour features)
    classifier_epochs: int = 5
    lm_model: Path | None = None  # an `aroma train sft|grpo` output: adds the language model (test split)
    lm_data: Path | None = None  # the PerturbReason dataset whose test prompts it answers
    lm_pairs: int = 200  # about this many test pairs per cell line: whole target genes, seeded


@contextmanager
def peak_memory() -> Iterator[Callable[[], float]]:
    """Samples this process's resident memory every 50 ms; yields a function returning the peak in MB."""
    process, done = psutil.Process(), threading.Event()
    peak = [process.memory_info().rss]

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: max(peak[0], process.memory_info().rss) / 2**20
    finally:
        done.set()
        thread.join()


@dataclass
class _Phase:
    """The pairs a phase fits on and scores, and the neighbours it may use."""

    fit: list[LabelledPair]
    score: list[LabelledPair]
    neighbours: KnockdownNeighbours


def target_base_rate(neighbours: KnockdownNeighbours, pairs: Sequence[LabelledPair], ids: dict[str, str]
                     ) -> np.ndarray:
    """Each pair predicted from its target gene's training label frequencies (constant per target gene, so
    its per-gene AUROC is 0.5 by construction, while its macro-F1 need not be)."""
    overall = float(np.nanmean(np.abs(neighbours.table.effects)))
    rows = []
    for pair in pairs:
        j = neighbours.target_col.get(ids.get(pair.target))
        changed, up_share = (neighbours.target_rate[j], neighbours.target_up[j]) if j is not None else (overall, 0.5)
        rows.append([1 - changed, changed * (1 - up_share), changed * up_share])
    return np.array(rows)


def heuristic(index: EvidenceIndex, pairs: Sequence[LabelledPair], ids: dict[str, str]) -> np.ndarray:
    """The evidence-only heuristic on each pair's graph evidence (genes outside the graph: "not changed")."""
    index.prefetch({ids[g] for p in pairs for g in (p.perturbed, p.target) if g in ids})
    rows = []
    for pair in pairs:
        if pair.perturbed in ids and pair.target in ids:
            rows.append(evidence_heuristic(index.pair(ids[pair.perturbed], ids[pair.target], pair.cell_line)))
        else:
            rows.append([0.95, 0.025, 0.025])
    return np.array(rows)


@dataclass
class Prediction:
    """One method's probabilities ``[pairs, 3]`` on a phase's scored pairs, with its cost."""

    probabilities: np.ndarray
    seconds: float
    peak_rss_mb: float


class CellLineBench:
    """Everything a bench needs for one cell line: its pairs, ids, and the training outcomes in the graph."""

    def __init__(self, store: GraphStore, perturbqa: Path, name: str, similarity: GeneSimilarity,
                 index: EvidenceIndex, tables: dict[str, OutcomeTable], settings: BenchSettings,
                 space: GeneSpace | None = None) -> None:
        self.name, self.settings, self.index, self.similarity, self.space = name, settings, index, similarity, space
        self.pairs = carve_validation(read_cell_line(perturbqa, name), settings.validation_fraction, settings.seed)
        self.ids = index.resolve({p.perturbed for p in self.pairs} | {p.target for p in self.pairs}, strict=False)
        self.table = tables[name.upper()]
        self.others = [t for other, t in tables.items() if other != name.upper()]

    @property
    def methods(self) -> list[str]:
        methods = ["target base rate", "evidence heuristic", "neighbour vote", "neighbour model"]
        if self.settings.cross_cell_line and self.others:
            methods.append("neighbour model + other cell lines")
        if self.space is not None:
            methods.append(CLASSIFIER)
        return methods

    def phase(self, name: str) -> _Phase:
        return _phase(name, self.pairs, self.ids, self.table, self.others, self.similarity, self.settings)

    def predict(self, phase: _Phase, on_method: Callable[[str], None] = lambda method: None
                ) -> dict[str, Prediction]:
        """Every method's probabilities on ``phase.score`` (labels of those pairs are never read here)."""
        ids, settings = self.ids, self.settings
        cross = settings.cross_cell_line and bool(self.others)
        compute = lambda pert, targets: phase.neighbours.features(pert, targets, cross)  # noqa: E731
        on_method("neighbour features")
        with peak_memory() as peak:
            start = time.perf_counter()
            fit_x = per_perturbation(phase.fit, ids, compute)
            score_x = per_perturbation(phase.score, ids, compute)
            feature_seconds, feature_peak = time.perf_counter() - start, peak()
        within = len(feature_names(settings.neighbours, sorted(self.similarity.profiles), False))
        runners: dict[str, Callable[[], np.ndarray]] = {
            "target base rate": lambda: target_base_rate(phase.neighbours, phase.score, ids),
            "evidence heuristic": lambda: heuristic(self.index, phase.score, ids),
            "neighbour vote": lambda: per_perturbation(phase.score, ids, phase.neighbours.vote),
            "neighbour model": lambda: NeighbourModel(settings.model).fit(
                fit_x[:, :within], _labels(phase.fit)).predict_proba(score_x[:, :within]),
            "neighbour model + other cell lines": lambda: NeighbourModel(settings.model).fit(
                fit_x, _labels(phase.fit)).predict_proba(score_x),
            CLASSIFIER: lambda: self._classifier(phase, fit_x, score_x),
        }
        predictions = {}
        for method in self.methods:
            on_method(method)
            learned = method.startswith("neighbour model")  # its features are part of its cost
            with peak_memory() as peak:
                start = time.perf_counter()
                probabilities = runners[method]()
                seconds = time.perf_counter() - start + (feature_seconds if learned else 0.0)
                memory = max(peak(), feature_peak if learned else 0.0)
            predictions[method] = Prediction(probabilities, round(seconds, 2), round(memory, 1))
        return predictions


    def _classifier(self, phase: _Phase, fit_x: np.ndarray, score_x: np.ndarray) -> np.ndarray:
        """The fusion classifier with the neighbour features as inputs; pairs whose genes have no embedding
        get their target gene's base rate."""
        from aroma.train.classifier import ClassifierConfig, PairTensors, Standardiser, fit, predict

        assert self.space is not None
        position = self.space.rows
        scale = Standardiser.fit(fit_x)

        def tensors(pairs: list[LabelledPair], features: np.ndarray) -> tuple[PairTensors, list[int]]:
            keep = [i for i, p in enumerate(pairs) if self.ids.get(p.perturbed) in position and self.ids.get(p.target)
                    in position]
            chosen = [pairs[i] for i in keep]
            return PairTensors(chosen, position.rows(self.ids[p.perturbed] for p in chosen),
                               position.rows(self.ids[p.target] for p in chosen),
                               torch.tensor([p.label for p in chosen]), scale(features[keep])), keep

        train, _ = tensors(phase.fit, fit_x)
        config = ClassifierConfig(self.name, epochs=self.settings.classifier_epochs, seed=self.settings.seed)
        model, _ = fit(self.space, train, config)
        scored, keep = tensors(phase.score, score_x)
        probabilities = target_base_rate(phase.neighbours, phase.score, self.ids)
        probabilities[keep] = predict(model, scored)
        return probabilities


def run_bench(store: GraphStore, perturbqa: Path, out_dir: Path, cell_line_names: Sequence[str] | None = None,
              settings: BenchSettings | None = None, show_progress: bool = True) -> list[MethodResult]:
    """Runs every method on every cell line (both phases) and writes ``bench.json``, ``bench.md`` and
    ``bench.png`` to ``out_dir``."""
    settings = settings or BenchSettings()
    names = list(cell_line_names or cell_lines(perturbqa))
    similarity = GeneSimilarity.from_store(store, settings.similarity)
    index = EvidenceIndex(store, whole_network=True)  # every test pair: read STRING once
    tables = {name.upper(): OutcomeTable.from_store(store, name) for name in names}
    space = load_gene_space(settings.embeddings, store) if settings.embeddings else None
    results: list[MethodResult] = []
    with Progress(disable=not show_progress) as progress:
        task = None
        for name in names:
            bench = CellLineBench(store, perturbqa, name, similarity, index, tables, settings, space)
            if task is None:
                task = progress.add_task("bench", total=len(names) * len(PHASES) * (len(bench.methods) + 1))
            for phase_name in PHASES:
                phase = bench.phase(phase_name)

                def step(method: str, phase_name: str = phase_name) -> None:
                    progress.update(task, description=f"{name} {phase_name}: {method}")
                    progress.advance(task)

                predictions = bench.predict(phase, step)
                genes, labels = [p.target for p in phase.score], _labels(phase.score)  # scoring only
                for method, prediction in predictions.items():
                    metrics = evaluate(genes, labels, prediction.probabilities)
                    results.append(MethodResult(name.upper(), phase_name, method, metrics["de_auroc"],
                                                metrics["de_genes"], metrics["direction_auroc"],
                                                metrics["direction_genes"], metrics["macro_f1"], metrics["accuracy"],
                                                metrics["pairs"], prediction.seconds, prediction.peak_rss_mb))
    if settings.lm_model is not None:
        results += language_model_results(settings, names)
    write_report(results, settings, out_dir)
    return results


def language_model_results(settings: BenchSettings, names: Sequence[str]) -> list[MethodResult]:
    """The language model on a seeded sample of whole target genes of each cell line's test prompts, its three
    answers scored as in `aroma eval` (about 3 s a pair on a CPU, hence the sample)."""
    from aroma.model.lm import AromaLM
    from aroma.train.evaluate import answer_probabilities
    from aroma.train.lm_setup import load_split, quiet_libraries, sample_by_target_gene

    if settings.lm_data is None:
        raise AromaError("the language model needs the PerturbReason dataset its prompts come from (--data)")
    quiet_libraries()
    model = AromaLM.from_pretrained(settings.lm_model)
    test = load_split(settings.lm_data, "test", model)
    results = []
    for name in names:
        examples = test.filter(lambda e, cell=name.upper(): e["cell_line"] == cell)
        if not len(examples):
            continue
        examples = sample_by_target_gene(examples, settings.lm_pairs, settings.seed)
        with peak_memory() as peak:
            start = time.perf_counter()
            probabilities = answer_probabilities(model, examples["prompt"], examples["perturbed_index"],
                                                 examples["target_index"])
            seconds, memory = time.perf_counter() - start, peak()
        metrics = evaluate(examples["gene"], np.array(examples["label"]), probabilities)
        results.append(MethodResult(name.upper(), "test", f"language model ({settings.lm_model.name}, sample)",
                                    metrics["de_auroc"], metrics["de_genes"], metrics["direction_auroc"],
                                    metrics["direction_genes"], metrics["macro_f1"], metrics["accuracy"],
                                    metrics["pairs"], round(seconds, 2), round(memory, 1)))
    return results


def _labels(pairs: Sequence[LabelledPair]) -> np.ndarray:
    return np.array([p.label for p in pairs])


def _phase(name: str, pairs: list[LabelledPair], ids: dict[str, str], table: OutcomeTable,
           others: list[OutcomeTable], similarity: GeneSimilarity, settings: BenchSettings) -> _Phase:
    if name == "validation":
        held_out = {ids[p.perturbed] for p in pairs if p.split == "validation" and p.perturbed in ids}
        table = table.without(held_out)
        fit = [p for p in pairs if p.split == "train"]
        score = [p for p in pairs if p.split == "validation"]
    else:
        fit = [p for p in pairs if p.split in ("train", "validation")]
        score = [p for p in pairs if p.split == "test"]
    return _Phase(fit, score, KnockdownNeighbours(table, similarity, settings.neighbours, others))


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def markdown_table(results: Sequence[MethodResult], split: str) -> str:
    """Methods × cell lines for one split, published numbers beside (test split only)."""
    lines = ["| cell line | method | DE AUROC (genes) | direction AUROC (genes) | macro-F1 | accuracy | s | peak MB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in (r for r in results if r.split == split):
        lines.append(f"| {r.cell_line} | {r.method} | {_number(r.de_auroc)} ({r.de_genes}) | "
                     f"{_number(r.direction_auroc)} ({r.direction_genes}) | {_number(r.macro_f1)} | "
                     f"{_number(r.accuracy)} | {r.seconds:.1f} | {r.peak_rss_mb:.0f} |")
    if split == "test":
        shown = sorted({r.cell_line for r in results})
        for method, values in PUBLISHED.items():
            for cell in shown:
                if cell in values:
                    de, direction = values[cell]
                    lines.append(f"| {cell} | *published:* {method} | {_number(de, 2)} | {_number(direction, 2)} "
                                 f"| – | – | – | – |")
    return "\n".join(lines)


def write_report(results: Sequence[MethodResult], settings: BenchSettings, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"results": [asdict(r) for r in results], "settings": asdict(settings),
              "published": {"source": PUBLISHED_SOURCE, "per_gene_auroc": PUBLISHED},
              "protocol": "per-gene AUROC as PerturbQA's eval.auc_per_gene: per target gene with both classes, "
                          "averaged; DE = changed vs not; direction = up vs down on changed pairs"}
    (out_dir / "bench.json").write_text(json.dumps(nan_to_null(report), indent=1, allow_nan=False, default=str))
    (out_dir / "bench.md").write_text(
        "# aroma bench\n\n## Test (unseen perturbations)\n\n" + markdown_table(results, "test") +
        f"\n\nPublished: {PUBLISHED_SOURCE}.\n\n## Validation (carved from train; used for choices)\n\n" +
        markdown_table(results, "validation") + "\n")
    plot(results, out_dir / "bench.png")


def plot(results: Sequence[MethodResult], path: Path) -> None:
    """DE and direction per-gene AUROC per method and cell line (test), published methods hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    test = [r for r in results if r.split == "test"]
    cells = sorted({r.cell_line for r in test})
    ours = list(dict.fromkeys(r.method for r in test))
    published = list(PUBLISHED)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    width = 0.8 / (len(ours) + len(published))
    colours = plt.get_cmap("tab10")
    for axis, (metric, title) in zip(axes, (("de_auroc", "DE"), ("direction_auroc", "direction"))):
        for c, cell in enumerate(cells):
            for m, method in enumerate(ours):
                value = next((getattr(r, metric) for r in test if r.cell_line == cell and r.method == method), None)
                if value is not None and value == value:
                    axis.bar(c + m * width, value, width, color=colours(m), label=method if c == 0 else None)
            for p, method in enumerate(published):
                de, direction = PUBLISHED[method].get(cell, (None, None))
                value = de if metric == "de_auroc" else direction
                if value is not None:
                    axis.bar(c + (len(ours) + p) * width, value, width, color="white", edgecolor="dimgrey",
                             hatch=HATCHES[p % len(HATCHES)], label=f"published: {method}" if c == 0 else None)
        axis.axhline(0.5, color="black", linewidth=0.8, linestyle=":")
        axis.set_xticks([c + 0.4 - width / 2 for c in range(len(cells))], cells)
        axis.set_ylim(0.4, 0.9)
        axis.set_title(f"{title}: per-gene AUROC, test split")
    axes[0].set_ylabel("mean AUROC over target genes")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
