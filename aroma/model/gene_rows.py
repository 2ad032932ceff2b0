"""Gene id → row of the per-gene tables: the one mapping the classifier, the language model and evaluation use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

MISSING = -1  # a gene outside the tables: the fusion uses its learned "missing" vector


class GeneRows:
    """The rows of ``ids`` (the gene order of ``gene_embeddings.pt`` and of a saved model's ``gene_ids.json``)."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = list(ids)
        self._row = {gene_id: i for i, gene_id in enumerate(self.ids)}

    def __contains__(self, gene_id: object) -> bool:
        return gene_id in self._row

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, gene_id: str | None) -> int:
        """The gene's row, ``MISSING`` (−1) for a gene not in the tables or none (``""``/None: not in the graph)."""
        return self._row.get(gene_id, MISSING) if gene_id else MISSING

    def rows(self, gene_ids: Iterable[str | None]) -> Tensor:
        return torch.tensor([self.row(g) for g in gene_ids], dtype=torch.long)
