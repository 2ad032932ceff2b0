"""Every prediction method by name: ``aroma bench``, ``aroma eval`` and ``aroma predict`` iterate this.

A new method is one module with a ``Predictor`` and one entry here (or ``register(cls)`` from outside the
package). Entries are import paths, resolved on first use, so that a command loads only the methods it runs
(the classifier and the language model import torch)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from aroma.errors import AromaError
from aroma.predict.base import SETTINGS_FILE, Knowledge, Predictor

_ENTRIES: dict[str, str | type[Predictor]] = {  # in the order tables show them
    "target base rate": "aroma.predict.base_rate:TargetBaseRate",
    "evidence heuristic": "aroma.predict.heuristic:EvidenceHeuristic",
    "neighbour vote": "aroma.predict.vote:NeighbourVote",
    "neighbour model": "aroma.predict.neighbour_model:NeighbourModel",
    "neighbour model + other cell lines": "aroma.predict.neighbour_model:NeighbourModelOtherCellLines",
    "response model": "aroma.predict.neighbour_model:ResponseModel",
    "neighbour vote (zero-shot)": "aroma.predict.zero_shot:ZeroShotVote",
    "classifier (fusion + neighbours)": "aroma.predict.classifier:FusionClassifier",
    "language model": "aroma.predict.lm:LanguageModel",
}


def register(cls: type[Predictor]) -> type[Predictor]:
    """Add a method (usable as a class decorator); its ``name`` must be new."""
    if cls.name in _ENTRIES and method(cls.name) is not cls:
        raise ValueError(f"a method named {cls.name!r} is already registered")
    _ENTRIES[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a method added with ``register``."""
    _ENTRIES.pop(name, None)


def added() -> dict[str, type[Predictor]]:
    """The methods added with ``register`` (a worker process registers them again)."""
    return {name: entry for name, entry in _ENTRIES.items() if not isinstance(entry, str)}


def names() -> list[str]:
    return list(_ENTRIES)


def method(name: str) -> type[Predictor]:
    """The class of the method called ``name``."""
    entry = _ENTRIES.get(name)
    if entry is None:
        raise AromaError(f"unknown method {name!r}; known: {', '.join(repr(n) for n in _ENTRIES)}")
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = _ENTRIES[name] = getattr(importlib.import_module(module), attribute)
    return entry


def read_record(directory: Path) -> dict[str, Any]:
    """What ``Predictor.save`` wrote to ``directory/predictor.json``: method, settings and what it was fit on."""
    path = Path(directory) / SETTINGS_FILE
    if not path.is_file():
        raise AromaError(f"{directory} holds no saved predictor (no {SETTINGS_FILE}): make one with "
                         "`aroma train predictor`")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        record["method"], record["settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AromaError(f"{path} is not a saved predictor's record ({exc})") from None
    return record


def load_predictor(directory: Path, knowledge: Knowledge) -> Predictor:
    """The fitted predictor saved in ``directory`` (``Predictor.save``), bound to ``knowledge``."""
    record = read_record(directory)
    return method(record["method"]).restore(Path(directory), record["settings"], knowledge)
