"""The dataset card's figure: labels per split and evidence coverage per cell line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aroma.tokens import LABELS

if TYPE_CHECKING:
    from aroma.dataset.generate import DatasetCard


def plot_card(card: DatasetCard, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(card.counts)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    groups = [(f"{cell}\n{split}", row) for cell in cells for split, row in card.counts[cell].items()]
    width = 0.8 / len(LABELS)
    for i, label in enumerate(LABELS):  # grouped, not stacked: stacks mislead on a log axis
        axes[0].bar([g + i * width for g in range(len(groups))], [row.get(label, 0) for _, row in groups],
                    width=width, label=label)
    axes[0].set_xticks([g + width for g in range(len(groups))], [name for name, _ in groups])
    axes[0].set_yscale("log")
    axes[0].set_ylabel("pairs (log scale)")
    axes[0].set_title("Labels per split")
    axes[0].legend(fontsize=8)
    kinds = ["direct_relation", "path", "shared_pathway", "experiments"]
    width = 0.8 / max(len(cells), 1)
    for j, cell in enumerate(cells):
        axes[1].bar([k + j * width for k in range(len(kinds))], [card.coverage[cell].get(k, 0) * 100 for k in kinds],
                    width=width, label=cell)
    axes[1].set_xticks([k + width * (len(cells) - 1) / 2 for k in range(len(kinds))],
                       [k.replace("_", " ") for k in kinds])
    axes[1].set_ylabel("% of pairs")
    axes[1].set_title("Evidence coverage")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
