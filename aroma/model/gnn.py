"""Heterogeneous GNN encoders (GraphSAGE or GAT layers per relation, PyG ``HeteroConv``), full-batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.nn import GATConv, HeteroConv, SAGEConv
from torch_geometric.transforms import ToUndirected
from torch_geometric.utils import to_undirected

SYMMETRIC = {"interacts_with"}  # relations stored once per pair


def reverse_type(edge_type: tuple[str, str, str]) -> tuple[str, str, str] | None:
    """The relation ``add_reverse_edges`` adds for messages against ``edge_type`` (None: symmetric, in place)."""
    src, rel, dst = edge_type
    return None if rel in SYMMETRIC else (dst, f"rev_{rel}", src)


def add_reverse_edges(data: HeteroData) -> HeteroData:
    """Message passing both ways (PyG ``ToUndirected``): symmetric relations hold both directions, every other
    relation gets a ``rev_`` relation (also between nodes of one type: regulation has a direction).
    Edge weights are dropped: messages are unweighted."""
    out = data.clone()
    for store in out.edge_stores:
        if "edge_weight" in store:
            del store.edge_weight
    symmetric = {et: out[et].edge_index for et in out.edge_types if reverse_type(et) is None}
    for edge_type in symmetric:
        del out[edge_type]
    out = ToUndirected(merge=False)(out)
    for edge_type, edges in symmetric.items():
        out[edge_type].edge_index = to_undirected(edges, num_nodes=out[edge_type[0]].num_nodes)
    return out


@dataclass
class EncoderConfig:
    hidden: int = 128
    out_dim: int = 128  # AROMA: 1024
    layers: int = 2  # AROMA: 3-layer GAT
    conv: str = "sage"  # or "gat"
    heads: int = 2
    learned_dim: int = 32
    dropout: float = 0.1


class HeteroEncoder(nn.Module):
    """Features + learned node embeddings → ``layers`` relation-wise convolutions → one vector per node."""

    def __init__(self, data: HeteroData, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.node_types = list(data.node_types)
        self.embed = nn.ModuleDict({t: nn.Embedding(data[t].num_nodes, config.learned_dim) for t in self.node_types})
        self.project = nn.ModuleDict({
            t: nn.Linear(data[t].x.shape[1] + config.learned_dim, config.hidden) for t in self.node_types
        })
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for layer in range(config.layers):
            dim = config.out_dim if layer == config.layers - 1 else config.hidden
            self.convs.append(HeteroConv({et: self._conv(dim) for et in data.edge_types}, aggr="sum"))
            self.norms.append(nn.ModuleDict({t: nn.LayerNorm(dim) for t in self.node_types}))
        self.skip = nn.ModuleDict({t: nn.Linear(config.hidden, config.out_dim) for t in self.node_types})
        self.dropout = nn.Dropout(config.dropout)

    def _conv(self, dim: int) -> nn.Module:
        if self.config.conv == "gat":
            return GATConv((-1, -1), dim // self.config.heads, heads=self.config.heads, add_self_loops=False)
        if self.config.conv == "sage":
            return SAGEConv((-1, -1), dim)
        raise ValueError(f"unknown convolution {self.config.conv!r}; expected 'sage' or 'gat'")

    def forward(self, x: dict[str, Tensor], edge_index: dict[tuple[str, str, str], Tensor]) -> dict[str, Tensor]:
        h = {t: torch.relu(self.project[t](torch.cat([x[t], self.embed[t].weight], dim=1))) for t in self.node_types}
        first = h
        for layer, (conv, norms) in enumerate(zip(self.convs, self.norms)):
            out = conv(h, edge_index)
            last = layer == len(self.convs) - 1
            h = {t: norms[t](out[t] if t in out else torch.zeros_like(norms[t].weight).expand(h[t].shape[0], -1))
                 for t in self.node_types}
            if not last:
                h = {t: self.dropout(torch.relu(v)) for t, v in h.items()}
        return {t: h[t] + self.skip[t](first[t]) for t in self.node_types}
