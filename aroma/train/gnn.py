"""``aroma train gnn``: pretrain a graph encoder by link prediction with held-out edges; save gene embeddings."""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.progress import Progress
from sklearn.metrics import roc_auc_score
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import negative_sampling

from aroma.model.fusion import FusionConfig, top_neighbours
from aroma.model.gnn import EncoderConfig, HeteroEncoder, add_reverse_edges, reverse_type
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


@dataclass
class LinkSplit:
    """The target relation split for link prediction (PyG ``RandomLinkSplit``).

    ``message`` is the graph the encoder passes messages over: every relation both ways, the target
    relation with its training links only. Validation and test hold positives (label 1) and as many
    negatives (label 0) that are no link of the target relation in either direction.
    """

    target: tuple[str, str, str]
    message: HeteroData
    train_positives: Tensor  # [2, n], one direction per pair
    val_index: Tensor
    val_label: Tensor
    test_index: Tensor
    test_label: Tensor

    @property
    def size(self) -> tuple[int, int]:
        return self.message[self.target[0]].num_nodes, self.message[self.target[2]].num_nodes

    def train_negatives(self, count: int) -> Tensor:
        """``count`` node pairs that are no training link, in either direction (PyG ``negative_sampling``)."""
        n_src, n_dst = self.size
        known = self.message[self.target].edge_index  # the training links, both directions if symmetric
        return negative_sampling(known, (n_src, n_dst) if self.target[0] != self.target[2] else n_src,
                                 num_neg_samples=count, method="sparse")


def split_links(bundle: GraphBundle, graph: str, config: GnnTrainConfig) -> LinkSplit:
    """Hold out validation and test links of the graph's target relation (seeded by ``config.seed``)."""
    target = LINK_TARGETS[graph]
    torch.manual_seed(config.seed)
    reverse = reverse_type(target)
    split = RandomLinkSplit(num_val=config.val_fraction, num_test=config.test_fraction, is_undirected=reverse is None,
                            edge_types=[target], rev_edge_types=[reverse], add_negative_train_samples=False,
                            neg_sampling_ratio=1.0)
    train, val, test = split(add_reverse_edges(bundle.data))
    links = LinkSplit(target, train, train[target].edge_label_index, val[target].edge_label_index,
                      val[target].edge_label, test[target].edge_label_index, test[target].edge_label)
    for key in ("edge_label", "edge_label_index"):  # the labels live on LinkSplit; the message graph holds edges
        del train[target][key]
    return links


def _score(z: dict[str, Tensor], target: tuple[str, str, str], edges: Tensor) -> Tensor:
    """Scaled dot product of the two ends' embeddings (the link logit)."""
    a, b = z[target[0]][edges[0]], z[target[2]][edges[1]]
    return (a * b).sum(dim=1) / a.shape[1] ** 0.5


def _auroc(z: dict[str, Tensor], target, index: Tensor, label: Tensor) -> float:
    return float(roc_auc_score(label.numpy(), _score(z, target, index).detach().numpy()))


def train_gnn(bundle: GraphBundle, graph: str, config: GnnTrainConfig, show_progress: bool = True,
              ) -> tuple[HeteroEncoder, GnnResult, Tensor]:
    """Train on the edges left after holding out validation and test links of the graph's target relation."""
    links = split_links(bundle, graph, config)
    target, message = links.target, links.message
    torch.manual_seed(config.seed)
    random.seed(config.seed)  # PyG's negative_sampling draws with Python's random module
    model = HeteroEncoder(message, config.encoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x, edge_index = message.x_dict, message.edge_index_dict
    positives = links.train_positives
    losses, seconds = [], []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task(f"link prediction ({graph}-KG)", total=config.epochs)
        for _ in range(config.epochs):
            start = time.perf_counter()
            model.train()
            optimizer.zero_grad()
            z = model(x, edge_index)
            negatives = links.train_negatives(positives.shape[1])
            logits = torch.cat([_score(z, target, positives), _score(z, target, negatives)])
            labels = torch.cat([torch.ones(positives.shape[1]), torch.zeros(negatives.shape[1])])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
            loss.backward()
            optimizer.step()
            losses.append(round(loss.item(), 4))
            seconds.append(time.perf_counter() - start)
            progress.update(task, advance=1, description=f"link prediction ({graph}-KG) loss {loss:.3f}")
    model.eval()
    with torch.no_grad():
        z = model(x, edge_index)
        result = GnnResult(graph, _auroc(z, target, links.val_index, links.val_label),
                           _auroc(z, target, links.test_index, links.test_label),
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
        record["neighbours"] = top_neighbours(edges.edge_index, edges.edge_weight, len(bundle.ids["gene"]),
                                              FusionConfig.neighbours)
    torch.save(record, path)
    (path.parent / f"{graph}_metrics.json").write_text(json.dumps(
        {"result": asdict(result), "config": asdict(config), "checksum": bundle.checksum}, indent=1))


def save_encoder(path: Path, model: HeteroEncoder) -> None:
    """The trained encoder's weights (``{graph}_encoder.pt``), beside its embeddings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
