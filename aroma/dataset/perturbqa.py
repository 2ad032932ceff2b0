"""PerturbQA label files (``{cell}-de.csv``, ``{cell}-dir.csv``) merged into AROMA's three classes."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, replace
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.tokens import DOWN, NOT_CHANGED, UP

HEADER = ["pert", "gene", "label", "split"]
SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelledPair:
    """One (perturbed gene, target gene) pair of a cell line with its 3-class label and split."""

    cell_line: str
    pert: str
    gene: str
    label: int
    split: str


def _rows(path: Path) -> dict[tuple[str, str], tuple[int, str, int]]:
    """``(pert, gene) → (label, split, line)``, every row checked."""
    if not path.is_file():
        raise SourceFormatError(path, None, "file not found")
    rows: dict[tuple[str, str], tuple[int, str, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise SourceFormatError(path, 1, f"header {header} is not {HEADER}")
        for fields in reader:
            line = reader.line_num
            if len(fields) != 4:
                raise SourceFormatError(path, line, f"expected 4 columns, found {len(fields)}")
            pert, gene, label, split = fields
            if label not in ("0", "1"):
                raise SourceFormatError(path, line, f"label {label!r} is not 0 or 1")
            if split not in SPLITS:
                raise SourceFormatError(path, line, f"split {split!r} is not one of {SPLITS}")
            if not pert or not gene:
                raise SourceFormatError(path, line, "empty gene symbol")
            if (pert, gene) in rows:
                raise SourceFormatError(path, line, f"pair {pert}→{gene} repeats line {rows[(pert, gene)][2]}")
            rows[(pert, gene)] = (int(label), split, line)
    return rows


def read_cell_line(directory: Path, cell_line: str) -> list[LabelledPair]:
    """Merge DE (changed or not) and direction (1 = increased, 0 = decreased) into not changed / down / up."""
    name = cell_line.lower()
    de_path, dir_path = directory / f"{name}-de.csv", directory / f"{name}-dir.csv"
    de, direction = _rows(de_path), _rows(dir_path)
    pairs = []
    for (pert, gene), (changed, split, line) in de.items():
        if changed:
            if (pert, gene) not in direction:
                raise SourceFormatError(de_path, line, f"{pert}→{gene} is DE but has no row in {dir_path.name}")
            up, dir_split, _ = direction[(pert, gene)]
            if dir_split != split:
                raise SourceFormatError(dir_path, direction[(pert, gene)][2], f"split {dir_split!r} differs from "
                                        f"{split!r} in {de_path.name}")
            label = UP if up else DOWN
        else:
            label = NOT_CHANGED
        pairs.append(LabelledPair(cell_line.upper(), pert, gene, label, split))
    for (pert, gene), (_, _, line) in direction.items():
        if de.get((pert, gene), (0,))[0] != 1:
            raise SourceFormatError(dir_path, line, f"{pert}→{gene} has a direction but is not DE in {de_path.name}")
    return pairs


def carve_validation(pairs: list[LabelledPair], fraction: float, seed: int) -> list[LabelledPair]:
    """Move a seeded share of the training perturbations (all their pairs) to a validation split."""
    perts = sorted({p.pert for p in pairs if p.split == "train"})
    chosen = set(random.Random(seed).sample(perts, round(len(perts) * fraction)))
    return [replace(p, split="validation") if p.split == "train" and p.pert in chosen else p for p in pairs]
