"""How much "what P did to T in another cell line" can tell zero-shot: for each ordered pair of cell lines, how many
of one's pairs the other measured in its training split, and, where both training splits measured a pair, how well
the other's label ranks this one's (pooled AUROC over those pairs, DE and direction). Reads training labels only;
of the test split it counts pairs, never labels.

    python benchmarks/transfer_overlap.py --perturbqa ../shared/data/perturbqa
"""

from __future__ import annotations

import argparse
from itertools import permutations
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from aroma.data.perturbqa import PerturbQA
from aroma.tokens import NOT_CHANGED, UP


def _pooled_auroc(truth: list[bool], other: list[bool]) -> float:
    return float(roc_auc_score(truth, other)) if len(set(truth)) == 2 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--perturbqa", type=Path, required=True)
    args = parser.parse_args()
    data = PerturbQA(args.perturbqa)
    training = {cell: {(p.perturbed, p.target): p.label for p in data.pairs(cell) if p.split != "test"}
                for cell in data.cell_lines}
    print("cell line ← other | test knockdowns screened there | test pairs measured there | "
          "training pairs measured in both | DE AUROC of the other's label | direction AUROC")
    for cell, other in permutations(data.cell_lines, 2):
        test = [p for p in data.pairs(cell) if p.split == "test"]
        screened = {pert for pert, _ in training[other]}
        knockdowns = {p.perturbed for p in test}
        both = [(label, training[other][pair]) for pair, label in training[cell].items() if pair in training[other]]
        changed = [(a, b) for a, b in both if a != NOT_CHANGED and b != NOT_CHANGED]
        de = _pooled_auroc([a != NOT_CHANGED for a, _ in both], [b != NOT_CHANGED for _, b in both])
        direction = _pooled_auroc([a == UP for a, _ in changed], [b == UP for _, b in changed])
        print(f"{cell} ← {other} | {len(knockdowns & screened)} of {len(knockdowns)} | "
              f"{sum((p.perturbed, p.target) in training[other] for p in test):,} of {len(test):,} | "
              f"{len(both):,} ({np.mean([a != NOT_CHANGED for a, _ in both]):.0%} changed) | {de:.3f} | "
              f"{direction:.3f} ({len(changed):,} changed in both)")


if __name__ == "__main__":
    main()
