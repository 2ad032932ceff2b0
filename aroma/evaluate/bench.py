"""``aroma bench``: every registered method on every PerturbQA dataset, scored with PerturbQA's protocol, beside
the published numbers.

Per dataset, the two phases of ``aroma.retrieval.phases`` run with the same code: ``validation`` for choosing
settings, ``test`` (PerturbQA's unseen perturbations) read once for the report. Test labels are only read to
score: the graph holds training outcomes alone, and every input a method sees is built from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil
from rich.progress import Progress

from aroma.data.perturbqa import LabelledPair, PerturbQA, whole_targets
from aroma.evaluate.metrics import evaluate
from aroma.evaluate.parallel import GraphOpener, run_parts, workers_can_run
from aroma.evaluate.report import MethodResult, markdown_table, write_report
from aroma.predict import registry
from aroma.predict.base import GraphContext, Knowledge, MethodOptions, Predictor
from aroma.retrieval.phases import PHASES, Phase, phase, screened


@dataclass(frozen=True)
class BenchSettings:
    options: MethodOptions = field(default_factory=MethodOptions)
    methods: tuple[str, ...] | None = None  # only these (registry names); default every one that applies
    phases: tuple[str, ...] = PHASES  # validation for choices; test read once, for the report
    zero_shot: bool = False  # also the zero-shot methods, knowing none of the cell line's own outcomes
    fractions: tuple[float, ...] = ()  # a learning curve: the test phase with these shares of knockdowns screened


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


def sample_positions(predictor: Predictor, pairs: list[LabelledPair], seed: int) -> list[int] | None:
    """Where a method is too slow for every pair (its ``max_pairs``), the positions of a seeded sample of whole
    target genes it is scored on; None: all pairs."""
    budget = getattr(predictor, "max_pairs", None)
    if not budget or budget >= len(pairs):
        return None
    return whole_targets([p.target for p in pairs], budget, seed)


def scored_pairs(predictor: Predictor, pairs: list[LabelledPair], seed: int) -> list[LabelledPair]:
    """The pairs a method is scored on: all of them, or its seeded sample of whole targets."""
    positions = sample_positions(predictor, pairs, seed)
    return pairs if positions is None else [pairs[i] for i in positions]


def score(predictor: Predictor, knowledge: Knowledge, fit: list[LabelledPair], pairs: list[LabelledPair],
          ) -> tuple[np.ndarray, float, float]:
    """Fit, predict ``pairs``; returns the probabilities, seconds and peak memory (MB)."""
    with peak_memory() as peak:
        start = time.perf_counter()
        probabilities = predictor.fit(knowledge, fit).predict_proba(pairs)
        return probabilities, round(time.perf_counter() - start, 2), round(peak(), 1)


def result(cell_line: str, split: str, method: str, pairs: Sequence[LabelledPair], probabilities: np.ndarray,
           seconds: float, peak_mb: float, knowledge: Knowledge, share: float = 1.0) -> MethodResult:
    metrics = evaluate([p.target for p in pairs], [p.label for p in pairs], probabilities)  # labels: scoring only
    return MethodResult(cell_line, split, method, metrics["de_auroc"], metrics["de_genes"],
                        metrics["direction_auroc"], metrics["direction_genes"], metrics["macro_f1"],
                        metrics["accuracy"], metrics["pairs"], seconds, peak_mb, len(knowledge.table.perts), share)


@dataclass
class BenchReport:
    """What a bench measured: every method's result, notes, and the datasets without test pairs."""

    results: list[MethodResult]
    notes: list[str]
    untested: list[str]

    def table(self) -> str:
        """The test split's table (validation's where nothing was tested), published numbers beside."""
        split = "test" if any(r.split == "test" for r in self.results) else "validation"
        return markdown_table(self.results, split, self.untested)


@dataclass
class _Run:
    """One scoring of a dataset: the phase (maybe with a share of its knockdowns screened), what the methods may
    know, which methods run, and how their rows are named."""

    phase: Phase
    knowledge: Knowledge
    zero_shot: bool
    share: float = 1.0

    def label(self, name: str) -> str:
        return name if self.share in (0.0, 1.0) else f"{name} ({self.share:.0%} of knockdowns)"


def _runs(graph: GraphContext, cell: str, current: Phase, settings: BenchSettings) -> list[_Run]:
    """The usual scoring; with ``zero_shot``, the zero-shot methods knowing none of the cell line's outcomes;
    on the test phase, each share of ``fractions`` below 1 (a learning curve)."""
    runs = [_Run(current, graph.knowledge(cell, current.hidden), False)]
    if settings.zero_shot:
        runs.append(_Run(current, graph.knowledge(cell, own_outcomes=False), True, 0.0))
    if current.name == "test":
        for share in sorted(f for f in settings.fractions if f < 1):
            part = screened(current, share, settings.options.seed)
            runs.append(_Run(part, graph.knowledge(cell, part.hidden), False, share))
    return runs


def same_pairs(cell: str, phase_name: str, pairs: list[LabelledPair], whole: dict[str, tuple[np.ndarray, float, float]],
               samples: dict[str, list[int]], run: _Run) -> list[MethodResult]:
    """Every method scored on all pairs, scored again on each sampled method's pairs (``NAME (on the sample of
    OTHER)``), so that a sampled method is compared on the same pairs; its time and memory are the whole run's."""
    rows = []
    for sampled, positions in samples.items():
        chosen = [pairs[i] for i in positions]
        for name, (probabilities, seconds, peak) in whole.items():
            rows.append(result(cell, phase_name, f"{name} (on the sample of {sampled})", chosen,
                               probabilities[positions], seconds, peak, run.knowledge, run.share))
    return rows


@dataclass
class Part:
    """What scoring one dataset in one phase gave: its rows, notes, and whether it is a test phase without pairs."""

    results: list[MethodResult]
    notes: list[str]
    untested: bool = False


def bench_part(graph: GraphContext, data: PerturbQA, cell: str, phase_name: str, settings: BenchSettings,
               names: Sequence[str], doing: Callable[[str], None] = lambda _: None) -> Part:
    """Every method of ``names`` on ``cell`` in one phase (and its zero-shot and learning-curve runs); ``doing`` is
    told which method runs."""
    current = phase(phase_name, data.pairs(cell))
    if not current.score:
        return Part([], [f"{cell} has no {phase_name} pairs: its {phase_name} phase is not scored"],
                    phase_name == "test")
    results: list[MethodResult] = []
    for run in _runs(graph, cell, current, settings):
        whole: dict[str, tuple[np.ndarray, float, float]] = {}  # methods scored on every pair
        samples: dict[str, list[int]] = {}  # sampled methods: their positions
        for name in names:
            method = registry.method(name)
            if method.zero_shot != run.zero_shot:
                continue
            doing(f"{cell} {phase_name}: {run.label(name)}")
            predictor = method.create(settings.options, run.knowledge)
            if predictor is None or phase_name not in predictor.phases:
                continue
            positions = sample_positions(predictor, current.score, settings.options.seed)
            scored = current.score if positions is None else [current.score[i] for i in positions]
            label = run.label(name) if positions is None else f"{run.label(name)} (sample)"
            probabilities, seconds, peak = score(predictor, run.knowledge, run.phase.fit, scored)
            results.append(result(cell, phase_name, label, scored, probabilities, seconds, peak, run.knowledge,
                                  run.share))
            if positions is None:
                whole[run.label(name)] = (probabilities, seconds, peak)
            else:
                samples[run.label(name)] = positions
        results += same_pairs(cell, phase_name, current.score, whole, samples, run)
    return Part(results, [])


def run_bench(graph: GraphContext, data: PerturbQA, out_dir: Path, settings: BenchSettings | None = None,
              show_progress: bool = True, jobs: int = 1, open_graph: GraphOpener | None = None) -> BenchReport:
    """Every method on every dataset of ``data`` (both phases); writes ``bench.json``, ``bench.md`` and
    ``bench.png`` to ``out_dir`` (and ``learning_curves.png`` with ``fractions``). With ``jobs`` above 1 and
    ``open_graph`` (how a worker process opens the same graph), the datasets' phases are scored in that many
    worker processes (``aroma.evaluate.parallel``); the report is the same."""
    settings = settings or BenchSettings()
    names = list(settings.methods or registry.names())
    parts = [(cell, phase_name) for cell in data.cell_lines for phase_name in settings.phases]
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("bench", total=len(parts))
        if jobs > 1 and open_graph is not None and len(parts) > 1 and workers_can_run(names):
            done = run_parts(open_graph, data, parts, settings, names, jobs,
                             lambda finished: progress.update(task, advance=1, description=f"{finished} scored"))
        else:
            done = []
            for cell, phase_name in parts:
                done.append(bench_part(graph, data, cell, phase_name, settings, names,
                                       lambda doing: progress.update(task, description=doing)))
                progress.advance(task)
    results = [row for part in done for row in part.results]
    notes = [note for part in done for note in part.notes]
    untested = [cell for (cell, _), part in zip(parts, done) if part.untested]  # test rows withheld
    write_report(results, {"options": asdict(settings.options), "methods": names, "zero_shot": settings.zero_shot,
                           "fractions": list(settings.fractions), "validation_fraction": data.validation_fraction,
                           "seed": data.seed}, out_dir, notes, untested)
    return BenchReport(results, notes, untested)
