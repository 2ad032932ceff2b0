"""Zero-shot: a cell line predicted with none of its own labels, from the other cell lines' outcomes and the graph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.retrieval.neighbours import NeighbourSettings, per_perturbation


@dataclass
class ZeroShotVote(Predictor):
    """In each other cell line, the knockdowns most like P that measured T vote as in the neighbour vote, P's own
    row counting as a neighbour of similarity 1 (what P did there is the best evidence of what it does here),
    shrunk towards T's rates there; the cell lines' votes are averaged. It learns nothing and reads none of the
    predicted cell line's outcomes."""

    name = "neighbour vote (zero-shot)"
    summary = ("no label of the predicted cell line: in each other cell line, the knockdowns most like P that "
               "measured T (P's own row counting as similarity 1) vote as in the neighbour vote; averaged")
    zero_shot = True
    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> ZeroShotVote | None:
        return cls(options.neighbours) if knowledge.others else None

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        ids = self.knowledge.ids(pairs)
        votes = [per_perturbation(pairs, ids, finder.vote) for finder in self.knowledge.neighbours_elsewhere(self.neighbours)]
        return np.mean(votes, axis=0).reshape(-1, 3)
