"""PerturbQA labels for the dataset: the reader (``aroma.kg.adapters.perturbqa``) and the validation split."""

from __future__ import annotations

import random
from dataclasses import replace

from aroma.kg.adapters.perturbqa import LabelledPair, cell_lines, read_cell_line

__all__ = ["LabelledPair", "carve_validation", "cell_lines", "read_cell_line"]


def carve_validation(pairs: list[LabelledPair], fraction: float, seed: int) -> list[LabelledPair]:
    """Move a seeded share of the training perturbations (all their pairs) to a validation split."""
    perts = sorted({p.perturbed for p in pairs if p.split == "train"})
    chosen = set(random.Random(seed).sample(perts, round(len(perts) * fraction)))
    return [replace(p, split="validation") if p.split == "train" and p.perturbed in chosen else p for p in pairs]
