"""PerturbQA label files (``{cell}-de.csv``, ``{cell}-dir.csv``) merged into AROMA's three classes.

A cell line is data, not code: any directory holding ``NAME-de.csv`` and ``NAME-dir.csv`` has the cell
line ``NAME`` (PerturbQA ships K562, RPE1, HepG2 and Jurkat in this form).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import SourceFormatError
from aroma.tokens import DOWN, NOT_CHANGED, UP

HEADER = ["pert", "gene", "label", "split"]
SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelledPair:
    """One (perturbed gene, target gene) pair of a cell line with its 3-class label and split."""

    cell_line: str
    perturbed: str  # the knocked-down gene (PerturbQA's ``pert`` column)
    target: str  # the measured gene (PerturbQA's ``gene`` column)
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


def cell_lines(directory: Path) -> list[str]:
    """Every cell line of a PerturbQA directory: names with both a ``-de.csv`` and a ``-dir.csv`` file."""
    if not directory.is_dir():
        raise SourceFormatError(directory, None, "PerturbQA directory not found")
    names = sorted(path.name[: -len("-de.csv")] for path in directory.glob("*-de.csv"))
    return [name for name in names if (directory / f"{name}-dir.csv").is_file()]
