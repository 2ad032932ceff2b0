"""Training the fusion classifier: the fusion + 3-class head on PerturbQA pairs, with what similar training
knockdowns did as inputs beside the genes (``aroma train classifier``; the method is
``aroma.predict.classifier.FusionClassifier``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from aroma.data.perturbqa import LabelledPair, PerturbQA
from aroma.evaluate.metrics import evaluate, nan_to_null
from aroma.model.assets import GeneSpace
from aroma.model.classifier import PairClassifier, build_fusion
from aroma.model.fusion import FusionConfig
from aroma.tokens import LABELS


@dataclass
class ClassifierConfig:
    epochs: int = 5
    batch_size: int = 512
    lr: float = 1e-3
    model_dim: int = 128
    tokens: int = 2
    seed: int = 0
    neighbour_features: bool = True  # what similar training knockdowns did (needs outcomes in the graph)


@dataclass
class PairTensors:
    pairs: list[LabelledPair]
    perturbed: torch.Tensor
    target: torch.Tensor
    labels: torch.Tensor
    features: torch.Tensor | None = None  # standardised neighbour features, one row per pair


@dataclass
class Standardiser:
    """Per-column mean and spread of the training features; missing values become the mean (0)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardiser:
        mean = np.nan_to_num(np.nanmean(features, axis=0)) if len(features) else np.zeros(features.shape[1])
        std = np.nan_to_num(np.nanstd(features, axis=0)) if len(features) else np.ones(features.shape[1])
        return cls(mean, np.where(std > 0, std, 1.0))

    def __call__(self, features: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.nan_to_num((features - self.mean) / self.std), dtype=torch.float32)


def new_classifier(space: GeneSpace, config: ClassifierConfig, extra: int) -> PairClassifier:
    """The fusion (over ``space``'s tables) and the head, with ``extra`` per-pair inputs."""
    torch.manual_seed(config.seed)
    fusion = build_fusion(space, FusionConfig(out_dim=config.model_dim, model_dim=config.model_dim,
                                              tokens=config.tokens))
    return PairClassifier(fusion, extra=extra)


@torch.no_grad()
def predict(model: PairClassifier, data: PairTensors, batch_size: int = 4096) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(data.perturbed[i:i + batch_size], data.target[i:i + batch_size],
                               None if data.features is None else data.features[i:i + batch_size]), dim=1)
           for i in range(0, len(data.labels), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(LABELS)))


def fit(space: GeneSpace, train: PairTensors, config: ClassifierConfig, show_progress: bool = False,
        after_epoch: Callable[[PairClassifier, int, float], None] = lambda model, epoch, loss: None
        ) -> tuple[PairClassifier, list[float]]:
    """Train the fusion + head on ``train``; returns the model and the seconds per epoch."""
    model = new_classifier(space, config, 0 if train.features is None else train.features.shape[1])
    counts = torch.bincount(train.labels, minlength=len(LABELS)).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=(counts.sum() / counts.clamp(min=1)) ** 0.5)  # classes are imbalanced
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    epoch_seconds = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("classifier", total=config.epochs * ((len(train.labels) - 1) // config.batch_size + 1))
        for epoch in range(config.epochs):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(len(train.labels), generator=generator)
            total = 0.0
            for i in range(0, len(order), config.batch_size):
                batch = order[i:i + config.batch_size]
                extra_inputs = None if train.features is None else train.features[batch]
                loss = loss_fn(model(train.perturbed[batch], train.target[batch], extra_inputs), train.labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
                progress.advance(task)
            epoch_seconds.append(time.perf_counter() - start)
            after_epoch(model, epoch, total / len(order))
    return model, epoch_seconds


@dataclass
class ClassifierReport:
    """``train classifier``'s result (``classifier_report.json``): validation history and test metrics."""

    config: dict[str, Any]
    cell_line: str
    dropped_pairs: int  # training pairs whose genes have no row in the embeddings
    epoch_seconds: float  # mean
    history: list[dict[str, Any]]  # per epoch: loss and validation metrics
    test: dict[str, Any]  # PerturbQA's metrics on the test split (None where undefined)
    modalities: list[str]
    checksum: str  # the graph build the embeddings came from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_classifier(graph: Any, data: PerturbQA, cell_line: str, embeddings: Path, config: ClassifierConfig,
                     out_dir: Path, show_progress: bool = True) -> ClassifierReport:
    """Fit the classifier on the training split less validation (history on validation each epoch), score it
    on the test split with every training outcome visible, and save it in ``out_dir`` as a predictor."""
    from aroma.predict.classifier import FusionClassifier
    from aroma.retrieval.phases import phase

    pairs = data.pairs(cell_line)
    validation, test = phase("validation", pairs), phase("test", pairs)
    knowledge = graph.knowledge(cell_line, validation.hidden)
    history: list[dict[str, Any]] = []
    predictor = FusionClassifier(embeddings, config)

    def after_epoch(model: PairClassifier, epoch: int, loss: float) -> None:
        predictor.model = model
        history.append({"epoch": epoch + 1, "loss": loss,
                        **_metrics(validation.score, predictor.predict_proba(validation.score))})

    predictor.fit(knowledge, validation.fit, show_progress=show_progress, after_epoch=after_epoch)
    predictor.knowledge = graph.knowledge(cell_line, test.hidden)
    report = ClassifierReport(asdict(config), cell_line.upper(), predictor.dropped, float(np.mean(predictor.epochs)),
                              history, _metrics(test.score, predictor.predict_proba(test.score)),
                              list(predictor.space.tables), predictor.space.checksum)
    predictor.save(out_dir, {"cell_line": cell_line.upper(), "checksum": graph.checksum, "fit_pairs": len(validation.fit)})
    (out_dir / "classifier_report.json").write_text(json.dumps(nan_to_null(report.to_dict()), indent=1,
                                                               allow_nan=False))
    return report


def _metrics(pairs: list[LabelledPair], probabilities: np.ndarray) -> dict[str, Any]:
    if not pairs:
        return {}
    return evaluate([p.target for p in pairs], [p.label for p in pairs], probabilities)
