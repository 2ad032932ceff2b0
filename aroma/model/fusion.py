"""Cross-attention fusion: the perturbed gene queries the target gene's neighbourhood, per modality.

AROMA's original attends with one query vector over one key vector, so its attention weight is always
1. Here the keys are the target gene and its strongest Gene-KG (STRING) neighbours, tagged by role,
and the perturbed gene asks with ``tokens`` learned query offsets, giving that many soft tokens per
modality. Genes without an embedding in a modality (no protein sequence) use a learned "missing" vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from aroma.errors import AromaError
from aroma.model.typed import TypedInputs


@dataclass
class FusionConfig:
    out_dim: int  # the language model's hidden size (or the classifier's input size)
    model_dim: int = 256
    heads: int = 4
    tokens: int = 1  # soft tokens per modality
    neighbours: int = 8  # keys: the target plus this many neighbours
    dropout: float = 0.1
    typed: bool = False  # also the input embeddings of typed prompts' entity, number and kind tokens

    def as_dict(self) -> dict:
        return asdict(self)


def top_neighbours(edge_index: Tensor, weight: Tensor, num_nodes: int, k: int) -> Tensor:
    """``[num_nodes, k]`` indices of each node's k strongest neighbours (undirected), −1 where fewer."""
    src = torch.cat([edge_index[0], edge_index[1]])
    dst = torch.cat([edge_index[1], edge_index[0]])
    w = torch.cat([weight, weight])
    order = torch.argsort(src * 4.0 - w.clamp(0, 1) * 2.0, stable=True)  # by node, strongest first
    src, dst = src[order], dst[order]
    table = torch.full((num_nodes, k), -1, dtype=torch.long)
    starts = torch.searchsorted(src, torch.arange(num_nodes))
    counts = torch.bincount(src, minlength=num_nodes)
    for slot in range(k):
        has = counts > slot
        table[has, slot] = dst[starts[has] + slot]
    return table


class ModalityTable(nn.Module):
    """Frozen per-gene vectors of one modality, with a learned vector for genes that have none."""

    def __init__(self, vectors: Tensor, present: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("vectors", vectors.float())
        self.register_buffer("present", present if present is not None else torch.ones(len(vectors), dtype=torch.bool))
        self.missing = nn.Parameter(torch.randn(vectors.shape[1]) * 0.02)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def forward(self, index: Tensor) -> Tensor:
        safe = index.clamp(min=0)
        found = self.present[safe] & (index >= 0)
        return torch.where(found.unsqueeze(-1), self.vectors[safe], self.missing.to(self.vectors.dtype))


class NeighbourhoodCrossAttention(nn.Module):
    """Perturbed gene (queries) × target gene and its neighbours (keys/values) → ``tokens`` fused vectors."""

    def __init__(self, in_dim: int, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        self.query = nn.Linear(in_dim, config.model_dim)
        self.key_value = nn.Linear(in_dim, config.model_dim)
        self.query_offsets = nn.Parameter(torch.randn(config.tokens, config.model_dim) * 0.02)
        self.role = nn.Embedding(2, config.model_dim)  # 0 = the target itself, 1 = a neighbour
        self.attention = nn.MultiheadAttention(config.model_dim, config.heads, dropout=config.dropout,
                                               batch_first=True)
        self.out = nn.Sequential(nn.LayerNorm(config.model_dim), nn.Linear(config.model_dim, config.out_dim))

    def forward(self, perturbed: Tensor, keys: Tensor, key_mask: Tensor) -> tuple[Tensor, Tensor]:
        """``perturbed [B, d]``, ``keys [B, K, d]``, ``key_mask [B, K]`` (True = use) → ``[B, T, out]``, weights."""
        q = self.query(perturbed).unsqueeze(1) + self.query_offsets.unsqueeze(0)
        roles = torch.ones(keys.shape[1], dtype=torch.long, device=keys.device)
        roles[0] = 0
        kv = self.key_value(keys) + self.role(roles).unsqueeze(0)
        attended, weights = self.attention(q, kv, kv, key_padding_mask=~key_mask, need_weights=True,
                                           average_attn_weights=True)
        return self.out(attended + q), weights


class MultimodalFusion(nn.Module):
    """One cross-attention per modality over frozen gene tables; output ``{modality: [B, tokens, out_dim]}``."""

    def __init__(self, tables: dict[str, ModalityTable], neighbours: Tensor, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        self.tables = nn.ModuleDict(tables)
        if neighbours.shape[1] < config.neighbours:
            raise AromaError(f"the gene embeddings hold {neighbours.shape[1]} STRING neighbours per gene, fewer than "
                             f"the {config.neighbours} the fusion attends to: retrain `aroma train gnn --graph gene`")
        self.register_buffer("neighbours", neighbours[:, : config.neighbours].clone())
        self.attend = nn.ModuleDict({m: NeighbourhoodCrossAttention(t.dim, config) for m, t in tables.items()})
        self.typed = TypedInputs({m: t.dim for m, t in tables.items()}, config.out_dim, config.model_dim) \
            if config.typed else None
        self.last_attention: dict[str, Tensor] = {}

    @property
    def modalities(self) -> list[str]:
        return list(self.tables)

    def entities(self, rows: Tensor) -> Tensor:
        """Typed prompts: what the genes at table ``rows`` add to their entity tokens."""
        return self.typed.entities(self.tables, rows)

    def forward(self, perturbed: Tensor, target: Tensor) -> dict[str, Tensor]:
        """``perturbed``, ``target``: gene indices ``[B]`` (row numbers of the tables)."""
        neighbours = torch.where((target >= 0).unsqueeze(1), self.neighbours[target.clamp(min=0)], -1)
        keys_index = torch.cat([target.unsqueeze(1), neighbours], dim=1)  # [B, 1 + k]; −1 = gene not in the tables
        key_mask = keys_index >= 0
        key_mask[:, 0] = True  # the target slot always attends (its "missing" vector when unknown)
        fused = {}
        for modality, table in self.tables.items():
            out, weights = self.attend[modality](table(perturbed), table(keys_index), key_mask)
            fused[modality] = out
            self.last_attention[modality] = weights.detach()
        return fused
