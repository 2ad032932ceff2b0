"""``aroma train classifier``: the fusion + 3-class head on PerturbQA pairs, with what similar training
knockdowns did as inputs beside the genes (when the graph holds the cell line's outcomes); per-gene AUROC."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from aroma.dataset.perturbqa import LabelledPair, carve_validation, read_cell_line
from aroma.kg.store import GraphStore
from aroma.model.assets import GeneSpace
from aroma.model.classifier import PairClassifier, build_fusion
from aroma.model.fusion import FusionConfig
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.neighbours import KnockdownNeighbours, neighbours_from_store, per_perturbation
from aroma.tokens import LABELS
from aroma.train.metrics import evaluate, nan_to_null


@dataclass
class ClassifierConfig:
    cell_line: str = "k562"
    epochs: int = 5
    batch_size: int = 512
    lr: float = 1e-3
    model_dim: int = 128
    tokens: int = 2
    seed: int = 0
    validation_fraction: float = 0.1
    neighbour_features: bool = True  # what similar training knockdowns did (needs outcomes in the graph)
    cross_cell_line: bool = True  # and what P did in the graph's other cell lines


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


def neighbour_features(neighbours: KnockdownNeighbours, pairs: list[LabelledPair], ids: dict[str, str],
                       cross: bool) -> np.ndarray:
    """One feature row per pair (``retrieval.neighbours.feature_names``), computed per perturbation."""
    return per_perturbation(pairs, ids, lambda pert, targets: neighbours.features(pert, targets, cross))


def pair_tensors(pairs: list[LabelledPair], space: GeneSpace, store: GraphStore,
                 features: dict[str, np.ndarray] | None = None) -> tuple[dict[str, PairTensors], int]:
    """Gene indices per split; pairs whose genes are not in the graph are dropped (returned as a count).
    ``features``: per split, one row per pair of that split (in order), kept for the pairs kept."""
    ids = EvidenceIndex(store).resolve({p.perturbed for p in pairs} | {p.target for p in pairs}, strict=False)
    position = space.rows
    splits = {}
    for split in ("train", "validation", "test"):
        in_split = [p for p in pairs if p.split == split]
        keep = [i for i, p in enumerate(in_split) if ids.get(p.perturbed) in position and ids.get(p.target) in position]
        chosen = [in_split[i] for i in keep]
        splits[split] = PairTensors(
            chosen, position.rows(ids[p.perturbed] for p in chosen), position.rows(ids[p.target] for p in chosen),
            torch.tensor([p.label for p in chosen], dtype=torch.long),
            torch.as_tensor(features[split][keep], dtype=torch.float32) if features else None)
    kept = sum(len(t.pairs) for t in splits.values())
    return splits, len(pairs) - kept


@torch.no_grad()
def predict(model: PairClassifier, data: PairTensors, batch_size: int = 4096) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(data.perturbed[i:i + batch_size], data.target[i:i + batch_size],
                               None if data.features is None else data.features[i:i + batch_size]), dim=1)
           for i in range(0, len(data.labels), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(LABELS)))


def fit(space: GeneSpace, train: PairTensors, config: ClassifierConfig, show_progress: bool = False,
        after_epoch=lambda model, epoch, loss: None) -> tuple[PairClassifier, list[float]]:
    """Train the fusion + head on ``train``; returns the model and the seconds per epoch."""
    torch.manual_seed(config.seed)
    extra = 0 if train.features is None else train.features.shape[1]
    model = PairClassifier(build_fusion(space, FusionConfig(out_dim=config.model_dim, model_dim=config.model_dim,
                                                            tokens=config.tokens)), extra=extra)
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


def _features(store: GraphStore, pairs: list[LabelledPair], config: ClassifierConfig
              ) -> tuple[dict[str, np.ndarray] | None, Standardiser | None]:
    """Neighbour features per split: train and validation pairs see the training split less the validation
    knockdowns; test pairs see all of it. Standardised with the training rows' statistics."""
    cell = config.cell_line.upper()
    if not config.neighbour_features or cell not in {r["cell_line"] for r in store.read("outcomes/cell_lines")}:
        return None, None
    ids = EvidenceIndex(store).resolve({p.perturbed for p in pairs} | {p.target for p in pairs}, strict=False)
    held_out = [ids[p.perturbed] for p in pairs if p.split == "validation" and p.perturbed in ids]
    full = neighbours_from_store(store, cell)
    development = full.without(held_out)
    raw = {split: neighbour_features(full if split == "test" else development,
                                     [p for p in pairs if p.split == split], ids, config.cross_cell_line)
           for split in ("train", "validation", "test")}
    scale = Standardiser.fit(raw["train"])
    return {split: scale(values).numpy() for split, values in raw.items()}, scale


@dataclass
class ClassifierReport:
    """``train classifier``'s result (``classifier_report.json``): validation history and test metrics."""

    config: dict[str, Any]
    dropped_pairs: int  # pairs whose genes have no row in the embeddings
    epoch_seconds: float  # mean
    history: list[dict[str, Any]]  # per epoch: loss and validation metrics
    test: dict[str, Any]  # PerturbQA's metrics on the test split (None where undefined)
    modalities: list[str]
    checksum: str  # the graph build the embeddings came from
    neighbour_features: dict[str, list[float]] | None  # the standardiser fitted on train, if features were used

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_classifier(space: GeneSpace, store: GraphStore, perturbqa: Path, config: ClassifierConfig,
                     out_dir: Path, show_progress: bool = True) -> ClassifierReport:
    pairs = carve_validation(read_cell_line(perturbqa, config.cell_line), config.validation_fraction, config.seed)
    features, scale = _features(store, pairs, config)
    splits, dropped = pair_tensors(pairs, space, store, features)
    history = []

    def after_epoch(model: PairClassifier, epoch: int, loss: float) -> None:
        history.append({"epoch": epoch + 1, "loss": loss, **_metrics(model, splits["validation"])})

    model, epoch_seconds = fit(space, splits["train"], config, show_progress, after_epoch)
    report = ClassifierReport(
        asdict(config), dropped, float(np.mean(epoch_seconds)), history, _metrics(model, splits["test"]),
        list(space.tables), space.checksum,
        None if scale is None else {"mean": scale.mean.tolist(), "std": scale.std.tolist()})
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "classifier.pt")
    (out_dir / "classifier_report.json").write_text(json.dumps(nan_to_null(report.to_dict()), indent=1, allow_nan=False))
    return report


def _metrics(model: PairClassifier, data: PairTensors) -> dict:
    if not len(data.labels):
        return {}
    return evaluate([p.target for p in data.pairs], data.labels.tolist(), predict(model, data))
