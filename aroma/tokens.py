"""The answer labels and the placeholder tokens of the multimodal prompt — defined here and nowhere else."""

from __future__ import annotations

# AROMA's three classes, in label-id order.
LABELS: tuple[str, ...] = ("not changed", "downregulated", "upregulated")
NOT_CHANGED, DOWN, UP = range(3)

# One placeholder per modality; the model replaces each with fused (perturbed ⟶ target) embeddings.
MODALITIES: tuple[str, ...] = ("gene_kg", "path_kg", "protein")
PLACEHOLDERS: dict[str, str] = {m: f"<|aroma_{m}|>" for m in MODALITIES}

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
