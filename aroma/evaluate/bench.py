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
from aroma.evaluate.report import MethodResult, write_report
from aroma.predict import registry
from aroma.predict.base import GraphContext, Knowledge, MethodOptions, Predictor
from aroma.retrieval.phases import PHASES, phase


@dataclass(frozen=True)
class BenchSettings:
    options: MethodOptions = field(default_factory=MethodOptions)
    methods: tuple[str, ...] | None = None  # only these (registry names); default every one that applies


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
           seconds: float, peak_mb: float) -> MethodResult:
    metrics = evaluate([p.target for p in pairs], [p.label for p in pairs], probabilities)  # labels: scoring only
    return MethodResult(cell_line, split, method, metrics["de_auroc"], metrics["de_genes"],
                        metrics["direction_auroc"], metrics["direction_genes"], metrics["macro_f1"],
                        metrics["accuracy"], metrics["pairs"], seconds, peak_mb)


def same_pairs(cell: str, phase_name: str, pairs: list[LabelledPair], whole: dict[str, tuple[np.ndarray, float, float]],
               samples: dict[str, list[int]]) -> list[MethodResult]:
    """Every method scored on all pairs, scored again on each sampled method's pairs (``NAME (on the sample of
    OTHER)``), so that a sampled method is compared on the same pairs; its time and memory are the whole run's."""
    rows = []
    for sampled, positions in samples.items():
        chosen = [pairs[i] for i in positions]
        for name, (probabilities, seconds, peak) in whole.items():
            rows.append(result(cell, phase_name, f"{name} (on the sample of {sampled})", chosen,
                               probabilities[positions], seconds, peak))
    return rows


def run_bench(graph: GraphContext, data: PerturbQA, out_dir: Path, settings: BenchSettings | None = None,
              show_progress: bool = True) -> list[MethodResult]:
    """Every method on every dataset of ``data`` (both phases); writes ``bench.json``, ``bench.md`` and
    ``bench.png`` to ``out_dir``."""
    settings = settings or BenchSettings()
    names = list(settings.methods or registry.names())
    results: list[MethodResult] = []
    notes: list[str] = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("bench", total=len(data.cell_lines) * len(PHASES) * len(names))
        for cell in data.cell_lines:
            pairs = data.pairs(cell)
            for phase_name in PHASES:
                current = phase(phase_name, pairs)
                if not current.score:
                    notes.append(f"{cell} has no {phase_name} pairs: its {phase_name} phase is not scored")
                    progress.advance(task, len(names))
                    continue
                knowledge = graph.knowledge(cell, current.hidden)
                whole: dict[str, tuple[np.ndarray, float, float]] = {}  # methods scored on every pair
                samples: dict[str, list[int]] = {}  # sampled methods: their positions
                for name in names:
                    progress.update(task, description=f"{cell} {phase_name}: {name}")
                    predictor = registry.method(name).create(settings.options, knowledge)
                    if predictor is not None and phase_name in predictor.phases:
                        positions = sample_positions(predictor, current.score, settings.options.seed)
                        scored = current.score if positions is None else [current.score[i] for i in positions]
                        label = name if positions is None else f"{name} (sample)"
                        probabilities, seconds, peak = score(predictor, knowledge, current.fit, scored)
                        results.append(result(cell, phase_name, label, scored, probabilities, seconds, peak))
                        if positions is None:
                            whole[name] = (probabilities, seconds, peak)
                        else:
                            samples[name] = positions
                    progress.advance(task)
                results += same_pairs(cell, phase_name, current.score, whole, samples)
    write_report(results, {"options": asdict(settings.options), "methods": names,
                           "validation_fraction": data.validation_fraction, "seed": data.seed}, out_dir, notes)
    return results
