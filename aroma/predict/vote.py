"""The neighbour vote: what the training knockdowns most like P did to T, with no learning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.retrieval.neighbours import NeighbourSettings, per_perturbation


@dataclass
class NeighbourVote(Predictor):
    """``KnockdownNeighbours.vote``: similarity²-weighted votes of the k nearest knockdowns that measured T on
    "changed", of the first ``k_direction`` that changed T on the direction, shrunk towards T's rates."""

    name = "neighbour vote"
    summary = ("no learning: the k = 20 training knockdowns most like P that measured T vote on \"changed\" "
               "(weights similarity²); the first 50 that changed T vote on the direction; both shrunk towards T's "
               "training rates")
    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> NeighbourVote | None:
        return cls(options.neighbours) if knowledge.has_outcomes else None

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        return per_perturbation(pairs, self.knowledge.ids(pairs), self.knowledge.neighbours(self.neighbours).vote)
