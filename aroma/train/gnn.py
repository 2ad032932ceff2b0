"""``aroma train gnn``: pretrain a graph encoder by link prediction with held-out edges; save gene embeddings."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.progress import Progress
from sklearn.metrics import roc_auc_score
from torch import Tensor

from aroma.model.fusion import top_neighbours
from aroma.model.gnn import EncoderConfig, HeteroEncoder, add_reverse_edges
from aroma.model.graph_data import LINK_TARGETS, GraphBundle


@dataclass
class GnnTrainConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    epochs: int = 50
    lr: float = 0.01
    val_fraction: float = 0.05
    test_fraction: float = 0.10
    seed: int = 0


@dataclass
class GnnResult:
    graph: str
    val_auroc: float
    test_auroc: float
    epoch_seconds: float
    epochs: int
    losses: list[float]


def _split(edges: Tensor, config: GnnTrainConfig, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    order = torch.randperm(edges.shape[1], generator=generator)
    n_test = int(edges.shape[1] * config.test_fraction)
    n_val = int(edges.shape[1] * config.val_fraction)
    return edges[:, order[n_test + n_val:]], edges[:, order[n_test:n_test + n_val]], edges[:, order[:n_test]]


def _negatives(count: int, n_src: int, n_dst: int, generator: torch.Generator) -> Tensor:
    return torch.stack([torch.randint(n_src, (count,), generator=generator),
                        torch.randint(n_dst, (count,), generator=generator)])


def _score(z: dict[str, Tensor], target: tuple[str, str, str], edges: Tensor) -> Tensor:
    """Scaled dot product of the two ends' embeddings (the link logit)."""
    a, b = z[target[0]][edges[0]], z[target[2]][edges[1]]
    return (a * b).sum(dim=1) / a.shape[1] ** 0.5


def _auroc(z: dict[str, Tensor], target, positives: Tensor, n_src: int, n_dst: int, generator) -> float:
    negatives = _negatives(positives.shape[1], n_src, n_dst, generator)
    scores = torch.cat([_score(z, target, positives), _score(z, target, negatives)]).detach()
    labels = torch.cat([torch.ones(positives.shape[1]), torch.zeros(positives.shape[1])])
    return float(roc_auc_score(labels.numpy(), scores.numpy()))


def train_gnn(bundle: GraphBundle, graph: str, config: GnnTrainConfig, show_progress: bool = True,
              ) -> tuple[HeteroEncoder, GnnResult, Tensor]:
    """Train on the edges left after holding out validation and test links of the graph's target relation."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    target = LINK_TARGETS[graph]
    data = bundle.data
    train_edges, val_edges, test_edges = _split(data[target].edge_index, config, generator)
    message = data.clone()
    message[target].edge_index = train_edges
    message = add_reverse_edges(message)
    model = HeteroEncoder(message, config.encoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    n_src, n_dst = data[target[0]].num_nodes, data[target[2]].num_nodes
    x, edge_index = message.x_dict, message.edge_index_dict
    losses, seconds = [], []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task(f"link prediction ({graph}-KG)", total=config.epochs)
        for _ in range(config.epochs):
            start = time.perf_counter()
            model.train()
            optimizer.zero_grad()
            z = model(x, edge_index)
            negatives = _negatives(train_edges.shape[1], n_src, n_dst, generator)
            logits = torch.cat([_score(z, target, train_edges), _score(z, target, negatives)])
            labels = torch.cat([torch.ones(train_edges.shape[1]), torch.zeros(negatives.shape[1])])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            loss.backward()
            optimizer.step()
            losses.append(round(loss.item(), 4))
            seconds.append(time.perf_counter() - start)
            progress.update(task, advance=1, description=f"link prediction ({graph}-KG) loss {loss:.3f}")
    model.eval()
    with torch.no_grad():
        z = model(x, edge_index)
        result = GnnResult(graph, _auroc(z, target, val_edges, n_src, n_dst, generator),
                           _auroc(z, target, test_edges, n_src, n_dst, generator),
                           sum(seconds) / len(seconds), config.epochs, losses)
    return model, result, z["gene"].detach()


def save_embeddings(path: Path, bundle: GraphBundle, graph: str, embeddings: Tensor, result: GnnResult,
                    config: GnnTrainConfig) -> None:
    """Per-gene embeddings with the build checksum of the graph they came from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"graph": graph, "checksum": bundle.checksum, "ids": bundle.ids["gene"], "symbols": bundle.symbols,
              "embeddings": embeddings.float()}
    if graph == "gene":  # the strongest STRING partners of each gene: the keys of cross-attention
        edges = bundle.data["gene", "interacts_with", "gene"]
        record["neighbours"] = top_neighbours(edges.edge_index, edges.edge_weight, len(bundle.ids["gene"]), 16)
    torch.save(record, path)
    (path.parent / f"{graph}_metrics.json").write_text(json.dumps(
        {"result": asdict(result), "config": asdict(config), "checksum": bundle.checksum}, indent=1))


def save_encoder(path: Path, model: HeteroEncoder) -> None:
    """The trained encoder's weights (``{graph}_encoder.pt``), beside its embeddings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
