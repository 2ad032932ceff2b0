"""The fast non-LLM path: the same per-modality fusion, then a 3-class head (not changed / down / up)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from aroma.model.assets import GeneSpace
from aroma.model.fusion import FusionConfig, ModalityTable, MultimodalFusion
from aroma.tokens import LABELS


def build_fusion(space: GeneSpace, config: FusionConfig) -> MultimodalFusion:
    tables = {m: ModalityTable(vectors, present) for m, (vectors, present) in space.tables.items()}
    return MultimodalFusion(tables, space.neighbours, config)


class PairClassifier(nn.Module):
    """Fused tokens of every modality (and ``extra`` per-pair inputs, such as what similar knockdowns did)
    → MLP → logits over LABELS."""

    def __init__(self, fusion: MultimodalFusion, hidden: int = 256, dropout: float = 0.2, extra: int = 0) -> None:
        super().__init__()
        self.fusion = fusion
        self.extra = extra
        # fused tokens of every modality, plus the cosine similarity of the two genes in each modality
        width = len(fusion.modalities) * (fusion.config.tokens * fusion.config.out_dim + 1) + extra
        self.head = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, len(LABELS)))

    def forward(self, perturbed: Tensor, target: Tensor, extra: Tensor | None = None) -> Tensor:
        fused = self.fusion(perturbed, target)
        similarity = [torch.cosine_similarity(table(perturbed), table(target), dim=1).unsqueeze(1)
                      for table in self.fusion.tables.values()]
        inputs = [fused[m].flatten(1) for m in self.fusion.modalities] + similarity
        if self.extra:
            if extra is None or extra.shape[1] != self.extra:
                raise ValueError(f"this classifier takes {self.extra} per-pair inputs beside the genes")
            inputs.append(extra)
        return self.head(torch.cat(inputs, dim=1))
