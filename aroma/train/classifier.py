"""``aroma train classifier``: train the fusion + 3-class head on PerturbQA pairs; evaluate per-gene AUROC."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from aroma.dataset.perturbqa import LabelledPair, carve_validation, read_cell_line
from aroma.kg.store import GraphStore
from aroma.model.assets import GeneSpace
from aroma.model.classifier import PairClassifier, build_fusion
from aroma.model.fusion import FusionConfig
from aroma.retrieval.index import EvidenceIndex
from aroma.tokens import LABELS
from aroma.train.metrics import evaluate


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


@dataclass
class PairTensors:
    pairs: list[LabelledPair]
    perturbed: torch.Tensor
    target: torch.Tensor
    labels: torch.Tensor


def pair_tensors(pairs: list[LabelledPair], space: GeneSpace, store: GraphStore) -> tuple[dict[str, PairTensors], int]:
    """Gene indices per split; pairs whose genes are not in the graph are dropped (returned as a count)."""
    ids = EvidenceIndex(store).resolve({p.pert for p in pairs} | {p.gene for p in pairs}, strict=False)
    position = space.index_of()
    kept = [p for p in pairs if ids.get(p.pert) in position and ids.get(p.gene) in position]
    splits = {}
    for split in ("train", "validation", "test"):
        chosen = [p for p in kept if p.split == split]
        splits[split] = PairTensors(
            chosen, torch.tensor([position[ids[p.pert]] for p in chosen], dtype=torch.long),
            torch.tensor([position[ids[p.gene]] for p in chosen], dtype=torch.long),
            torch.tensor([p.label for p in chosen], dtype=torch.long))
    return splits, len(pairs) - len(kept)


@torch.no_grad()
def predict(model: PairClassifier, data: PairTensors, batch_size: int = 4096) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(data.perturbed[i:i + batch_size], data.target[i:i + batch_size]), dim=1)
           for i in range(0, len(data.labels), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, len(LABELS)))


def train_classifier(space: GeneSpace, store: GraphStore, perturbqa: Path, config: ClassifierConfig,
                     out_dir: Path, show_progress: bool = True) -> dict:
    torch.manual_seed(config.seed)
    pairs = carve_validation(read_cell_line(perturbqa, config.cell_line), config.validation_fraction, config.seed)
    splits, dropped = pair_tensors(pairs, space, store)
    train = splits["train"]
    model = PairClassifier(build_fusion(space, FusionConfig(out_dim=config.model_dim, model_dim=config.model_dim,
                                                            tokens=config.tokens)))
    counts = torch.bincount(train.labels, minlength=len(LABELS)).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=(counts.sum() / counts.clamp(min=1)) ** 0.5)  # classes are imbalanced
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    history, epoch_seconds = [], []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("classifier", total=config.epochs * ((len(train.labels) - 1) // config.batch_size + 1))
        for epoch in range(config.epochs):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(len(train.labels), generator=generator)
            total = 0.0
            for i in range(0, len(order), config.batch_size):
                batch = order[i:i + config.batch_size]
                loss = loss_fn(model(train.perturbed[batch], train.target[batch]), train.labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
                progress.advance(task)
            epoch_seconds.append(time.perf_counter() - start)
            validation = _metrics(model, splits["validation"])
            history.append({"epoch": epoch + 1, "loss": total / len(order), **validation})
    report = {
        "config": asdict(config), "dropped_pairs": dropped, "epoch_seconds": float(np.mean(epoch_seconds)),
        "history": history, "test": _metrics(model, splits["test"]),
        "modalities": list(space.tables), "checksum": space.checksum,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "classifier.pt")
    (out_dir / "classifier_report.json").write_text(json.dumps(report, indent=1))
    return report


def _metrics(model: PairClassifier, data: PairTensors) -> dict:
    if not len(data.labels):
        return {}
    return evaluate([p.gene for p in data.pairs], data.labels.tolist(), predict(model, data))
