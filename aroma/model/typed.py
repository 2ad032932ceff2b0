"""Input embeddings of a typed prompt's added tokens (``aroma.tokens.TYPED_TOKENS``), after MAMMAL's entity and
scalar inputs.

* an **entity** token: the gene's vectors of every modality (Gene-KG, Path-KG, protein; a learned "missing"
  vector where a gene has none) through a small MLP, added to the entity token's own vector;
* a **number** token: a learned projection of its value (an MLP from the scalar), added to the number token's
  own vector — the LM reads the value, never its digits;
* a **kind** token (an evidence kind or relation): a learned vector.

Every token's own vector starts as the LM's embedding of a few words describing it, and the projections start at
zero, so an untrained model reads "gene", "number", "knockdown" … where the typed tokens stand.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from aroma.tokens import ENTITY, KIND_DESCRIPTIONS, KINDS, NUMBER, TYPED_TOKENS

DESCRIPTIONS = {ENTITY: "gene", NUMBER: "number", **{KINDS[k]: words for k, words in KIND_DESCRIPTIONS.items()}}
ENTITY_PAD = -2  # padding in a batch's entity rows (−1 is a gene the tables do not hold: its "missing" vectors)


class TypedInputs(nn.Module):
    """Vectors of width ``out_dim`` for the typed tokens: ``tokens()`` (one per TYPED_TOKENS entry), ``entities``
    from table rows, ``numbers`` from values."""

    def __init__(self, table_dims: Mapping[str, int], out_dim: int, hidden: int = 256) -> None:
        super().__init__()
        width = sum(table_dims.values())
        self.token = nn.Embedding(len(TYPED_TOKENS), out_dim)
        self.entity = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        self.number = nn.Sequential(nn.Linear(1, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        for projection in (self.entity, self.number):
            nn.init.zeros_(projection[-1].weight)
            nn.init.zeros_(projection[-1].bias)
        self.started = False  # True once the token vectors come from an LM (or from a saved model)

    @torch.no_grad()
    def start_from(self, embeddings: nn.Embedding, tokenizer) -> None:
        """Each token's vector ← the mean of the LM's embeddings of the words describing it."""
        for row, token in enumerate(TYPED_TOKENS):
            ids = tokenizer(" " + DESCRIPTIONS[token], add_special_tokens=False).input_ids
            self.token.weight[row] = embeddings.weight[ids].float().mean(0).to(self.token.weight.dtype)
        self.started = True

    def tokens(self) -> Tensor:
        """``[len(TYPED_TOKENS), out_dim]``: each typed token's own vector."""
        return self.token.weight

    def entities(self, tables: nn.ModuleDict, rows: Tensor) -> Tensor:
        """``rows [...]`` (table rows; −1: not in the tables) → ``[..., out_dim]`` added to the entity token."""
        return self.entity(torch.cat([table(rows) for table in tables.values()], dim=-1))

    def numbers(self, values: Tensor) -> Tensor:
        """``values [...]`` → ``[..., out_dim]`` added to the number token."""
        return self.number(values.unsqueeze(-1).to(self.token.weight.dtype))
