"""The fusion classifier: the per-modality fusion of the genes' embeddings and a 3-class head, with the
neighbour features beside (what the most similar training knockdowns did to T)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aroma.data.perturbqa import LabelledPair
from aroma.model.assets import GeneSpace, load_gene_space
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.predict.base_rate import base_rates
from aroma.predict.crossfit import cross_fitted
from aroma.retrieval.neighbours import NeighbourSettings
from aroma.train.classifier import ClassifierConfig, PairTensors, Standardiser, fit, new_classifier, predict

WEIGHTS_FILE, SCALE_FILE = "classifier.pt", "standardiser.npz"


@dataclass
class FusionClassifier(Predictor):
    """Pairs whose genes have no embedding get their target's base rate."""

    name = "classifier (fusion + neighbours)"
    summary = ("the graph encoders' embeddings through the cross-attention fusion and a 3-class head, with the "
               "neighbour model's features beside (standardised with the training rows' statistics)")
    embeddings: Path = Path()
    config: ClassifierConfig = field(default_factory=ClassifierConfig)
    neighbours: NeighbourSettings = field(default_factory=NeighbourSettings)
    folds: int = 10  # cross-fitting of the training pairs' neighbour features (aroma.predict.crossfit)

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> FusionClassifier | None:
        if options.embeddings is None or not knowledge.targets_are_genes:
            return None
        return cls(options.embeddings, ClassifierConfig(epochs=options.classifier_epochs, seed=options.seed),
                   options.neighbours)

    @cached_property
    def space(self) -> GeneSpace:
        return load_gene_space(self.embeddings, self.knowledge.graph.store)

    def _tensors(self, pairs: Sequence[LabelledPair], features: np.ndarray | None = None
                 ) -> tuple[PairTensors, list[int]]:
        """The pairs whose two genes have an embedding, as model inputs (``features``: their neighbour features,
        default from the knowledge), and their positions in ``pairs``."""
        ids, position = self.knowledge.ids(pairs), self.space.rows
        keep = [i for i, p in enumerate(pairs) if ids.get(p.perturbed) in position and ids.get(p.target) in position]
        chosen = [pairs[i] for i in keep]
        inputs = None
        if self.scale is not None:
            raw = self.knowledge.features(pairs, self.neighbours) if features is None else features
            inputs = self.scale(raw[keep])
        return PairTensors(chosen, position.rows(ids[p.perturbed] for p in chosen),
                           position.rows(ids[p.target] for p in chosen),
                           torch.tensor([p.label or 0 for p in chosen], dtype=torch.long), inputs), keep

    def fit(self, knowledge: Knowledge, pairs: Sequence[LabelledPair], show_progress: bool = False,
            after_epoch: Any = None) -> FusionClassifier:
        self.knowledge = knowledge
        features = None
        if self.config.neighbour_features and knowledge.has_outcomes:
            features = cross_fitted(knowledge, pairs, lambda k, p: k.features(p, self.neighbours), self.folds,
                                    self.config.seed)
        self.scale = Standardiser.fit(features) if features is not None else None
        train, _ = self._tensors(pairs, features)
        self.dropped = len(pairs) - len(train.pairs)
        extra = {"after_epoch": after_epoch} if after_epoch else {}
        self.model, self.epochs = fit(self.space, train, self.config, show_progress, **extra)
        return self

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        probabilities = base_rates(self.knowledge, pairs)
        scored, keep = self._tensors(pairs)
        if keep:
            probabilities[keep] = predict(self.model, scored)
        return probabilities

    def _save_state(self, directory: Path) -> None:
        torch.save(self.model.state_dict(), directory / WEIGHTS_FILE)
        if self.scale is not None:
            np.savez(directory / SCALE_FILE, **asdict(self.scale))

    def _load_state(self, directory: Path) -> None:
        self.scale = Standardiser(**np.load(directory / SCALE_FILE)) if (directory / SCALE_FILE).is_file() else None
        extra = 0 if self.scale is None else len(self.scale.mean)
        self.model = new_classifier(self.space, self.config, extra)
        self.model.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
        self.model.eval()
