"""The PerturbReason dataset card: counts per split and label, evidence coverage, genes missing from the graph,
as ``card.json``, a ``README.md`` and ``card.png``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aroma.data.perturbqa import SPLIT_ORDER
from aroma.tokens import LABELS

if TYPE_CHECKING:
    from aroma.dataset.generate import GenerateConfig


@dataclass
class DatasetCard:
    """Counts per split and label, evidence coverage, and genes missing from the graph."""

    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # cell → split → label → n
    coverage: dict[str, dict[str, float]] = field(default_factory=dict)  # cell → kind → share of pairs
    unknown_genes: dict[str, list[str]] = field(default_factory=dict)
    pairs: int = 0
    prompt: str = "text"  # the prompt style of the examples
    prompt_tokens: dict[str, Any] | None = None  # both styles' prompt lengths on a sample of the pairs
    seconds: dict[str, float] = field(default_factory=dict)  # per stage; kept out of card.json (determinism)
    peak_rss_mb: float = 0.0  # this process's peak resident memory so far; likewise kept out of card.json

    def as_dict(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "prompt": self.prompt, "prompt_tokens": self.prompt_tokens,
                "counts": self.counts, "coverage": self.coverage, "unknown_genes": self.unknown_genes}


class PromptSample:
    """Every n-th example of a dataset (about ``size`` in all), whose prompts are measured in both styles."""

    def __init__(self, pairs: int, size: int = 200) -> None:
        self.step = max(1, pairs // size)
        self.seen = 0
        self.examples: list[dict[str, Any]] = []

    def offer(self, example: dict[str, Any]) -> None:
        if self.seen % self.step == 0:
            self.examples.append({k: example[k] for k in ("pert", "gene", "evidence")})
        self.seen += 1

    def tokens(self, base_model: str | None) -> dict[str, Any] | None:
        """Mean, median and largest prompt length (chat template applied) of the text and typed prompts of the same
        pairs, counted by ``base_model``'s tokenizer with the added tokens one token each (None: no tokenizer)."""
        if base_model is None or not self.examples:
            return None
        from aroma.dataset.styles import build_prompt
        from aroma.model.base_lm import load_tokenizer
        from aroma.retrieval.evidence import PairEvidence
        from aroma.tokens import PROMPT_STYLES

        tokenizer = load_tokenizer(base_model)
        lengths: dict[str, list[int]] = {style: [] for style in PROMPT_STYLES}
        for example in self.examples:
            evidence = PairEvidence.from_dict(json.loads(example["evidence"]))
            for style in PROMPT_STYLES:
                messages = build_prompt(evidence, (example["pert"], example["gene"]), style).messages
                text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
                lengths[style].append(len(tokenizer(text, add_special_tokens=False).input_ids))
        summary: dict[str, Any] = {"tokenizer": base_model, "pairs": len(self.examples)}
        for style, values in lengths.items():
            ordered = sorted(values)
            summary[style] = {"mean": round(sum(values) / len(values), 1), "median": ordered[len(ordered) // 2],
                              "max": ordered[-1]}
        summary["typed_share"] = round(sum(lengths["typed"]) / sum(lengths["text"]), 3)
        return summary


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_card(card: DatasetCard, config: GenerateConfig) -> None:
    (config.out / "card.json").write_text(json.dumps(card.as_dict(), indent=1, sort_keys=True) + "\n")
    lines = ["# PerturbReason", "",
             "PerturbQA labels (Wu et al., ICLR 2025; CC BY 4.0) with evidence retrieved from Gene-KG and Path-KG.",
             f"Labels: {', '.join(LABELS)}. Validation: {config.data.validation_fraction:.0%} of the training "
             f"perturbations (seed {config.data.seed}); test perturbations never appear in train or validation.", "",
             "| cell line | split | " + " | ".join(LABELS) + " | total |", "|---|---|" + "---|" * (len(LABELS) + 1)]
    for cell, splits in card.counts.items():
        for split in SPLIT_ORDER:
            row = splits.get(split, {})
            lines.append(f"| {cell} | {split} | " + " | ".join(str(row.get(l, 0)) for l in LABELS)
                         + f" | {sum(row.values())} |")
    lines += ["", "| cell line | direct relation | path | shared pathway | similar knockdowns measured T "
              "| genes not in the graph |", "|---|---|---|---|---|---|"]
    for cell, cov in card.coverage.items():
        lines.append(f"| {cell} | {cov['direct_relation']:.1%} | {cov['path']:.1%} | {cov['shared_pathway']:.1%} | "
                     f"{cov.get('experiments', 0):.1%} | "
                     f"{len(card.unknown_genes.get(cell, []))} |")
    lines += ["", f"Prompts: {card.prompt}."]
    tokens = card.prompt_tokens
    if tokens:
        lines += [f"Prompt tokens on {tokens['pairs']} pairs (every n-th; tokenizer of {tokens['tokenizer']}, chat "
                  "template applied, each added token one token):", "", "| style | mean | median | max |",
                  "|---|---|---|---|"]
        lines += [f"| {style} | {tokens[style]['mean']} | {tokens[style]['median']} | {tokens[style]['max']} |"
                  for style in ("text", "typed")]
        lines += ["", f"Typed prompts are {tokens['typed_share']:.0%} of the text prompts' length."]
    lines += ["", "![counts and coverage](card.png)", ""]
    (config.out / "README.md").write_text("\n".join(lines))
    plot_card(card, config.out / "card.png")


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
