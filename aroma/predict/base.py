"""One interface for every prediction method, in scikit-learn's habits.

A ``Predictor`` keeps its settings as constructor arguments (a dataclass), ``fit(knowledge, pairs)`` learns
from labelled pairs and returns the predictor, ``predict_proba(pairs)`` gives ``[n, 3]`` probabilities in
``LABELS`` order, and ``save(dir)`` / ``registry.load_predictor(dir, knowledge)`` keep a fitted one.
``Knowledge`` (``aroma.retrieval.knowledge``) is what it may know while it fits and predicts one cell line: the
graph and the training outcomes the phase lets it see (``aroma.retrieval.phases``).
"""

from __future__ import annotations

import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.errors import AromaError
from aroma.retrieval.knowledge import GraphContext, Knowledge
from aroma.retrieval.neighbours import NeighbourSettings

__all__ = ["GraphContext", "Knowledge", "MethodOptions", "Predictor"]

SETTINGS_FILE = "predictor.json"
P = TypeVar("P", bound="Predictor")


class Predictor(ABC):
    """A prediction method. Subclasses are dataclasses whose fields are their settings, and set ``name`` (the
    registry's key) and ``summary`` (one line for tables and help)."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    phases: ClassVar[tuple[str, ...]] = ("validation", "test")  # the bench phases it is scored in
    zero_shot: ClassVar[bool] = False  # it predicts a cell line with none of its own outcomes (bench --zero-shot)
    knowledge: Knowledge

    @classmethod
    def create(cls: type[P], options: MethodOptions, knowledge: Knowledge) -> P | None:
        """The predictor a command's options configure, or None where it does not apply (e.g. no embeddings)."""
        return cls()

    def fit(self: P, knowledge: Knowledge, pairs: Sequence[LabelledPair]) -> P:
        """Learn from labelled ``pairs`` of ``knowledge``'s cell line; returns the predictor."""
        self.knowledge = knowledge
        self._fit(pairs)
        return self

    def _fit(self, pairs: Sequence[LabelledPair]) -> None:
        """What fitting learns beyond the knowledge (nothing, for methods that do not learn)."""

    @abstractmethod
    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        """``[len(pairs), 3]`` probabilities in LABELS order (labels of ``pairs`` are never read)."""

    def settings(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)} if hasattr(self, "__dataclass_fields__") \
            else {}

    def save(self, directory: Path, about: dict[str, Any] | None = None) -> None:
        """``directory/predictor.json`` (method, settings, and ``about``: what it was fit on) and whatever the
        method learned."""
        directory.mkdir(parents=True, exist_ok=True)
        self._save_state(directory)
        record = {"method": self.name, "settings": self.settings(), **(about or {})}
        (directory / SETTINGS_FILE).write_text(json.dumps(record, indent=1) + "\n")

    def _save_state(self, directory: Path) -> None:
        """Write what ``_fit`` learned (nothing, for methods that do not learn)."""

    @classmethod
    def restore(cls: type[P], directory: Path, settings: dict[str, Any], knowledge: Knowledge) -> P:
        """The predictor saved in ``directory`` with ``settings``, bound to ``knowledge``."""
        predictor = cls(**_typed(cls, settings))
        predictor.knowledge = knowledge
        predictor._load_state(directory)
        return predictor

    def _load_state(self, directory: Path) -> None:
        """Read what ``_save_state`` wrote."""


@dataclass(frozen=True)
class MethodOptions:
    """What a command offers the methods (``Predictor.create`` decides from these whether it applies)."""

    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)
    cross_cell_line: bool = True  # the methods that use what P did in the other cell lines
    embeddings: Path | None = None  # GNN embeddings: the fusion classifier
    classifier_epochs: int = 5
    model: Path | None = None  # a trained language model (`aroma train sft|grpo`)
    lm_pairs: int = 200  # the language model is scored on about this many pairs: whole target genes, seeded
    seed: int = 0


def _plain(value: Any) -> Any:
    """A setting as JSON: dataclasses as dicts, paths as strings, tuples as lists."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _typed(cls: type, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings read from JSON turned back into the types the dataclass declares (dataclasses, paths, tuples)."""
    hints = typing.get_type_hints(cls)
    unknown = set(settings) - {f.name for f in fields(cls)}
    if unknown:
        raise AromaError(f"saved settings {sorted(unknown)} are unknown to {cls.__name__} (saved by another version?)")
    return {name: _from_json(hints[name], value) for name, value in settings.items()}


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    for kind in kinds:
        if kind is Path:
            return Path(value)
        if typing.get_origin(kind) is tuple:
            return tuple(value)
        if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__") and isinstance(value, dict):
            inner = typing.get_type_hints(kind)
            return kind(**{k: _from_json(inner[k], v) for k, v in value.items()})
    return value
