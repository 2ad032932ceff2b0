"""Predictors fit for users: trained once on every training outcome of a cell line, kept in a directory with
what they were fit on, and reloaded by ``aroma predict``.

``aroma train predictor`` fits on the PerturbQA label files (the pairs ``aroma bench``'s test phase fits on, so
its output scores exactly as the bench's row). Without ``--predictor``, ``aroma predict`` uses the default
method fit on the training outcomes the graph holds, once per build, kept in the build's cache.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aroma import __version__
from aroma.data.perturbqa import LabelledPair, PerturbQA
from aroma.errors import AromaError
from aroma.predict import registry
from aroma.predict.base import SETTINGS_FILE, GraphContext, Knowledge, MethodOptions, Predictor
from aroma.retrieval.cache import atomic_folder
from aroma.retrieval.outcomes import LABEL_OF_SIGN
from aroma.retrieval.phases import deployed

# The default method, and what stands in where it does not apply (no other cell lines, no outcomes at all):
# the best method on the validation split of `aroma bench` (README: Predictions).
DEFAULT_METHODS = ("response model", "neighbour model + other cell lines", "neighbour model",
                   "neighbour vote (zero-shot)", "target base rate")


@dataclass
class Fitted:
    """A predictor bound to the graph, with what it was fit on and what a user should know about it."""

    predictor: Predictor
    about: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def default_method(options: MethodOptions, knowledge: Knowledge) -> Predictor:
    """The first of ``DEFAULT_METHODS`` that applies to ``knowledge``: a cell line without outcomes of its own
    gets the zero-shot vote where other cell lines have some."""
    for name in DEFAULT_METHODS:
        predictor = registry.method(name).create(options, knowledge)
        if predictor is not None and (knowledge.has_outcomes or predictor.zero_shot or name == DEFAULT_METHODS[-1]):
            return predictor
    raise AromaError("no default method applies")  # the last one always does


def train_predictor(graph: GraphContext, data: PerturbQA, cell_line: str, out: Path, method: str | None = None,
                    options: MethodOptions | None = None) -> Fitted:
    """Fit ``method`` (default: ``DEFAULT_METHODS``' first that applies) on every training pair of ``cell_line``
    with every training outcome visible, and save it in ``out`` with the build checksum and the label files'
    hashes."""
    options = options or MethodOptions()
    knowledge = graph.knowledge(cell_line)
    if method is None:
        predictor = default_method(options, knowledge)
    else:
        predictor = registry.method(method).create(options, knowledge)
        if predictor is None:
            raise AromaError(f"{method!r} does not apply here (it needs what the options or the graph do not give: "
                             "--embeddings for the classifier, --model for the language model, other cell lines' "
                             "outcomes for the '+ other cell lines' model)")
    pairs = deployed(data.pairs(cell_line)).fit
    start = time.perf_counter()
    predictor.fit(knowledge, pairs)
    about = _about(graph, knowledge, len(pairs), time.perf_counter() - start,
                   {"directory": str(data.directory), "files": data.hashes(cell_line)})
    predictor.save(out, about)
    return Fitted(predictor, about)


def open_predictor(directory: Path, graph: GraphContext) -> Fitted:
    """The predictor saved in ``directory``, bound to ``graph``; a note says when the graph is another build."""
    about = registry.read_record(directory)
    if "cell_line" not in about:
        raise AromaError(f"{directory}/{SETTINGS_FILE} does not say which cell line the predictor answers for")
    knowledge = graph.knowledge(about["cell_line"])
    notes = []
    if about.get("checksum") and about["checksum"] != graph.checksum:
        notes.append(f"warning: the predictor in {directory} was fit on graph build {about['checksum']}, but the "
                     f"graph is now build {graph.checksum}: its similar knockdowns and features come from the new "
                     "graph; refit it with `aroma train predictor` for answers it was validated on")
    return Fitted(registry.load_predictor(directory, knowledge), about, notes)


def graph_training_pairs(knowledge: Knowledge) -> list[LabelledPair]:
    """Every training outcome the graph holds for the cell line, as labelled pairs of official symbols."""
    table = knowledge.table
    rows, columns = (table.measured.nonzero())
    symbols = table.symbols
    return [LabelledPair(knowledge.cell_line, symbols.get(table.perts[i], table.perts[i]),
                         symbols.get(table.targets[j], table.targets[j]),
                         LABEL_OF_SIGN[float(table.effects[i, j])], "train") for i, j in zip(rows.tolist(),
                                                                                               columns.tolist())]


def default_predictor(graph: GraphContext, cell_line: str, options: MethodOptions | None = None) -> Fitted:
    """The default method for ``cell_line``, fit on the graph's training outcomes once per build and kept in the
    build's cache (fit again, and not kept, where the cache is off)."""
    options = options or MethodOptions()
    folder = graph.cache.directory / f"predictor-{_slug(cell_line)}" if graph.cache.directory else None
    if folder is not None and (folder / SETTINGS_FILE).is_file():
        try:
            return open_predictor(folder, graph)
        except (AromaError, OSError, ValueError, EOFError):
            shutil.rmtree(folder, ignore_errors=True)  # unreadable: fit again
    knowledge = graph.knowledge(cell_line)
    predictor = default_method(options, knowledge)
    pairs = graph_training_pairs(knowledge)
    start = time.perf_counter()
    predictor.fit(knowledge, pairs)
    about = _about(graph, knowledge, len(pairs), time.perf_counter() - start, {"graph": "KNOCKDOWN_EFFECT edges"})
    if folder is not None:
        _save_atomically(predictor, folder, about)
    return Fitted(predictor, about)


def _about(graph: GraphContext, knowledge: Knowledge, pairs: int, seconds: float, labels: dict[str, Any]
           ) -> dict[str, Any]:
    return {"cell_line": knowledge.cell_line, "checksum": graph.checksum, "labels": labels, "fit_pairs": pairs,
            "fit_seconds": round(seconds, 1), "aroma": __version__,
            "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _save_atomically(predictor: Predictor, folder: Path, about: dict[str, Any]) -> None:
    """Save where concurrent commands see a whole predictor or none (skipped where the cache cannot be written)."""
    with atomic_folder(folder) as staging:
        if staging is not None:
            predictor.save(staging, about)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.upper())
