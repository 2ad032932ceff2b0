"""PerturbQA label files (``{name}-de.csv``, ``{name}-dir.csv``) merged into AROMA's three classes, and the one
object a command builds for a PerturbQA directory.

A dataset is data, not code: any directory holding ``NAME-de.csv`` and ``NAME-dir.csv`` has the dataset ``NAME``
(PerturbQA ships K562, RPE1, HepG2 and Jurkat in this form, and its K562 gene-set task, whose targets are named
gene clusters rather than genes). PerturbQA splits by perturbation: a knockdown is either a training or a test
one, and a file that lists it in both is refused.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from aroma.errors import SourceFormatError, shown
from aroma.kg.readers import numbered_lines
from aroma.kg.sources import sha256_of
from aroma.tokens import DOWN, NOT_CHANGED, UP

HEADER = ["pert", "gene", "label", "split"]
SPLITS = ("train", "test")
SPLIT_ORDER = ("train", "validation", "test")  # with the validation split carved from train


@dataclass(frozen=True)
class LabelledPair:
    """One (perturbed gene, target) pair of a dataset with its 3-class label and split.

    ``label`` is ``None`` for a pair a user asks about (no measurement); ``target`` is a gene symbol or, in a
    gene-set task, the name of a gene set."""

    cell_line: str
    perturbed: str  # the knocked-down gene (PerturbQA's ``pert`` column)
    target: str  # the measured gene or gene set (PerturbQA's ``gene`` column)
    label: int | None
    split: str


def _rows(path: Path) -> dict[tuple[str, str], tuple[int, str, int]]:
    """``(pert, gene) → (label, split, line)``, every row checked; lines are read as the sources' are (UTF-8, no
    control characters, no overlong line, gzip allowed), each fault named by file and line."""
    rows: dict[tuple[str, str], tuple[int, str, int]] = {}
    split_of: dict[str, tuple[str, int]] = {}  # perturbation → its split and first line
    reader = csv.reader(text for _, text in numbered_lines(path))
    try:
        header = next(reader, None)
        if header != HEADER:
            raise SourceFormatError(path, 1, f"header {header} is not {HEADER}")
        for fields in reader:
            line = reader.line_num
            if len(fields) != 4:
                raise SourceFormatError(path, line, f"expected 4 columns, found {len(fields)}")
            pert, gene, label, split = fields
            if label not in ("0", "1"):
                raise SourceFormatError(path, line, f"label {shown(label)!r} is not 0 or 1")
            if split not in SPLITS:
                raise SourceFormatError(path, line, f"split {shown(split)!r} is not one of {SPLITS}")
            if not pert or not gene:
                raise SourceFormatError(path, line, "empty gene symbol")
            if (pert, gene) in rows:
                raise SourceFormatError(path, line, f"pair {pert}→{gene} repeats line {rows[(pert, gene)][2]}")
            first_split, first_line = split_of.setdefault(pert, (split, line))
            if split != first_split:
                raise SourceFormatError(path, line, f"perturbation {shown(pert)} is in the {split} split here but "
                                        f"in the {first_split} split on line {first_line}: PerturbQA splits by "
                                        "perturbation, so a test knockdown never has training rows")
            rows[(pert, gene)] = (int(label), split, line)
    except csv.Error as exc:  # a field over the csv module's limit, say
        raise SourceFormatError(path, reader.line_num, str(exc)) from None
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
    """Every dataset of a PerturbQA directory: names with both a ``-de.csv`` and a ``-dir.csv`` file."""
    if not directory.is_dir():
        raise SourceFormatError(directory, None, "PerturbQA directory not found" if not directory.exists()
                                else "is a file, not a PerturbQA directory")
    names = sorted(path.name[: -len("-de.csv")] for path in directory.glob("*-de.csv"))
    return [name for name in names if (directory / f"{name}-dir.csv").is_file()]


def whole_targets(targets: Sequence[str], about: int, seed: int = 0) -> list[int]:
    """Positions of every pair of randomly chosen targets, about ``about`` in all (per-target AUROC needs whole
    targets), in their original order."""
    by_target: dict[str, list[int]] = {}
    for position, target in enumerate(targets):
        by_target.setdefault(target, []).append(position)
    chosen: list[int] = []
    names = sorted(by_target)
    random.Random(seed).shuffle(names)
    for name in names:
        if len(chosen) >= about:
            break
        chosen.extend(by_target[name])
    return sorted(chosen)


def carve_validation(pairs: list[LabelledPair], fraction: float, seed: int) -> list[LabelledPair]:
    """Move a seeded share of the training perturbations (all their pairs) to a validation split."""
    perts = sorted({p.perturbed for p in pairs if p.split == "train"})
    chosen = set(random.Random(seed).sample(perts, round(len(perts) * fraction)))
    return [replace(p, split="validation") if p.split == "train" and p.perturbed in chosen else p for p in pairs]


@dataclass
class PerturbQA:
    """A PerturbQA directory, read once per command and passed down: its datasets (cell lines or tasks, upper
    case), each one's pairs with ``validation_fraction`` of the training perturbations carved out as validation
    (seeded), and the label files' hashes. ``only`` restricts it to some datasets."""

    directory: Path
    validation_fraction: float = 0.1
    seed: int = 0
    only: list[str] | None = None
    _pairs: dict[str, list[LabelledPair]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).expanduser()
        found = {name.upper(): name for name in cell_lines(self.directory)}
        if self.only:
            unknown = [name for name in self.only if name.upper() not in found]
            if unknown:
                raise SourceFormatError(self.directory, None, f"no label files for {', '.join(unknown)} (it has: "
                                        f"{', '.join(sorted(found)) or 'none'}; expected NAME-de.csv and NAME-dir.csv)")
            found = {name.upper(): found[name.upper()] for name in self.only}
        if not found:
            raise SourceFormatError(self.directory, None, "no PerturbQA dataset: expected NAME-de.csv and "
                                    "NAME-dir.csv files")
        self._files = found

    @property
    def cell_lines(self) -> list[str]:
        return list(self._files)

    def pairs(self, cell_line: str) -> list[LabelledPair]:
        """Every pair of ``cell_line`` (any case), validation carved from train."""
        name = cell_line.upper()
        if name not in self._files:
            raise SourceFormatError(self.directory, None, f"no label files for {cell_line} (it has: "
                                    f"{', '.join(self.cell_lines)})")
        if name not in self._pairs:
            self._pairs[name] = carve_validation(read_cell_line(self.directory, self._files[name]),
                                                 self.validation_fraction, self.seed)
        return self._pairs[name]

    def files(self, cell_line: str) -> list[Path]:
        stem = self._files[cell_line.upper()]
        return [self.directory / f"{stem}-{kind}.csv" for kind in ("de", "dir")]

    def hashes(self, cell_line: str) -> dict[str, str]:
        """File name → sha256 of ``cell_line``'s label files (what a saved predictor was fit on)."""
        return {path.name: sha256_of(path) for path in self.files(cell_line)}
