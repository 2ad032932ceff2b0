"""SFT → GRPO → bench of the multimodal LM, with settings for the hardware it runs on; prints s/step, examples/s,
tokens/s, peak memory (CPU RSS, GPU) and, for the SFT and the GRPO model, the per-gene AUROC (DE, direction) and
macro-F1 of the LM beside the neighbour vote on the same test pairs (whole target genes).

    python benchmarks/train_lm.py --data runs/pr_typed --embeddings runs/emb --out runs/train_lm \\
        --preset cpu|gpu-24gb|gpu-80gb [--base-model smollm2|DIR|FILE.gguf] [--finetune lora|full] \\
        [--sft-minutes 60] [--grpo-minutes 30] [--lm-pairs 2000] [--cell-line k562] [--perturbqa DIR] [--db TARGET] \\
        [--skip-grpo] [--set key=value ...]

The presets are for SmolLM2-135M-Instruct (`smollm2`); `--set` overrides any setting (`aroma train settings`).
On a GPU: bf16 weights and autocast, gradient checkpointing on 24 GB cards, batches as the card holds them;
`accelerate launch benchmarks/train_lm.py …` or `torchrun --nproc_per_node N benchmarks/train_lm.py …` trains
data-parallel (the bench then runs on the first process). Say which device gave the figures when you report them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

# Settings per preset: SFT, then GRPO (the GRPO batch holds prompts × generations).
PRESETS: dict[str, tuple[list[str], list[str]]] = {
    "cpu": (["batch_size=8", "gradient_checkpointing=true", "changed_share=0.5", "direct_answers=0.5",
             "learning_rate=5e-4", "fusion_learning_rate=2e-3", "max_steps=100", "logging_steps=5", "save_steps=25"],
            ["batch_size=8", "num_generations=4", "max_completion_length=160", "changed_share=0.5",
             "learning_rate=5e-5", "fusion_learning_rate=1e-4", "max_steps=30", "logging_steps=1", "save_steps=10"]),
    "gpu-24gb": (["batch_size=32", "gradient_accumulation=2", "gradient_checkpointing=true", "bf16=true",
                  "changed_share=0.5", "direct_answers=0.5", "learning_rate=5e-4", "fusion_learning_rate=2e-3",
                  "epochs=1", "logging_steps=20", "save_steps=500"],
                 ["batch_size=32", "num_generations=8", "max_completion_length=160", "gradient_checkpointing=true",
                  "bf16=true", "changed_share=0.5", "learning_rate=5e-5", "fusion_learning_rate=1e-4",
                  "max_steps=300", "logging_steps=10", "save_steps=100"]),
    "gpu-80gb": (["batch_size=128", "bf16=true", "changed_share=0.5", "direct_answers=0.5", "learning_rate=5e-4",
                  "fusion_learning_rate=2e-3", "epochs=1", "logging_steps=20", "save_steps=500"],
                 ["batch_size=128", "num_generations=8", "max_completion_length=160", "bf16=true",
                  "changed_share=0.5", "learning_rate=5e-5", "fusion_learning_rate=1e-4", "max_steps=300",
                  "logging_steps=10", "save_steps=100"]),
}


def _figures(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Median s/step, examples/s and tokens/s over the logged steps (the first excluded: it warms up), peaks."""
    steps = [e for e in log if "s_per_step" in e][1:] or [e for e in log if "s_per_step" in e]

    def median(key: str) -> float | None:
        values = sorted(e[key] for e in steps if key in e)
        return values[len(values) // 2] if values else None

    figures = {"steps": max((e.get("step", 0) for e in log), default=0), "s_per_step": median("s_per_step"),
               "examples_per_s": median("examples_per_s"), "tokens_per_s": median("tokens_per_s"),
               "peak_rss_gb": max((e.get("peak_rss_gb", 0) for e in log), default=None)}
    if torch.cuda.is_available():
        figures["gpu_peak_gb"] = max((e.get("gpu_peak_gb", 0) for e in log), default=None)
    return figures


def _bench(model: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The LM and the neighbour vote on the LM's seeded sample of whole test target genes."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, run_bench
    from aroma.kg.store import open_store
    from aroma.predict.base import MethodOptions
    from aroma.retrieval.knowledge import GraphContext

    start = time.monotonic()
    with open_store(args.db) as store:
        results = run_bench(GraphContext(store), PerturbQA(args.perturbqa, only=[args.cell_line]), out,
                            BenchSettings(MethodOptions(model=model, lm_pairs=args.lm_pairs),
                                          ("neighbour vote", "language model")), show_progress=False).results
    rows = {r.method: {"de_auroc": r.de_auroc, "direction_auroc": r.direction_auroc, "macro_f1": r.macro_f1,
                       "pairs": r.pairs} for r in results if r.split == "test"}
    return {"seconds": round(time.monotonic() - start), **rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="PerturbReason dataset (typed or text prompts)")
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--base-model", default="smollm2")
    parser.add_argument("--finetune", choices=("lora", "full"), default="lora")
    parser.add_argument("--sft-minutes", type=float, default=60)
    parser.add_argument("--grpo-minutes", type=float, default=30)
    parser.add_argument("--skip-grpo", action="store_true")
    parser.add_argument("--lm-pairs", type=int, default=2000)
    parser.add_argument("--cell-line", default="k562")
    parser.add_argument("--perturbqa", type=Path, default=Path(os.environ.get("AROMA_DATA", "../shared/data"),
                                                                   "perturbqa"))
    parser.add_argument("--db", help="the graph (default: the local database)")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], help="settings for both SFT and GRPO")
    args = parser.parse_args()

    from aroma.model.base_lm import quiet_libraries
    from aroma.train.config import load_settings
    from aroma.train.grpo import run_grpo
    from aroma.train.sft import run_sft

    quiet_libraries()
    sft_preset, grpo_preset = PRESETS[args.preset]
    common = [f"finetune={args.finetune}", *args.overrides]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    report: dict[str, Any] = {"device": device, "preset": args.preset, "base_model": args.base_model,
                              "finetune": args.finetune}
    sft_settings = load_settings(None, [*sft_preset, f"max_minutes={args.sft_minutes}", *common])
    sft = run_sft(args.data, args.base_model, args.embeddings, args.out / "sft", sft_settings)
    report["sft"] = {**_figures(sft.log), "final_loss": next((e["loss"] for e in reversed(sft.log) if "loss" in e),
                                                             None)}
    models = {"sft": args.out / "sft"}
    if not args.skip_grpo:
        grpo_settings = load_settings(None, [*grpo_preset, f"max_minutes={args.grpo_minutes}", *common])
        grpo = run_grpo(args.data, args.out / "sft", args.out / "grpo", grpo_settings)
        rewards = [e for e in grpo.log if "reward" in e]
        report["grpo"] = {**_figures(grpo.log), "first_rewards": _rewards(rewards[0]) if rewards else None,
                          "last_rewards": _rewards(rewards[-1]) if rewards else None}
        models["grpo"] = args.out / "grpo"
    if int(os.environ.get("RANK", "0")) == 0:
        report["bench"] = {name: _bench(model, args.out / f"bench_{name}", args) for name, model in models.items()}
        print(json.dumps(report, indent=1))
        (args.out / "train_lm.json").write_text(json.dumps(report, indent=1) + "\n")


def _rewards(entry: dict[str, Any]) -> dict[str, float]:
    return {k.removeprefix("rewards/").removesuffix("/mean"): v for k, v in entry.items()
            if k.startswith("rewards/") and k.endswith("/mean")}


if __name__ == "__main__":
    main()
