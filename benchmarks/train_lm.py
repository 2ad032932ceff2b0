"""Short SFT → GRPO → eval run of the multimodal LM; prints s/step, tokens/s, memory and eval metrics.

    python benchmarks/train_lm.py --data perturbreason/ --embeddings emb/ --base-model smollm2 --out runs/ \
        [--sft-steps 16] [--grpo-steps 4] [--eval-pairs 150] [--classifier clf/] [--perturbqa DIR] [--db TARGET]

Runs wherever torch finds a device (bf16 on CUDA, fp32 on CPU); say which when you report the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

from aroma.train.config import load_settings
from aroma.data.perturbqa import PerturbQA
from aroma.evaluate.eval import evaluate_model
from aroma.kg.store import open_store
from aroma.predict.base import MethodOptions
from aroma.retrieval.knowledge import GraphContext
from aroma.train.grpo import run_grpo
from aroma.train.sft import run_sft


def _memory() -> dict[str, float]:
    figures = {"cpu_peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    if torch.cuda.is_available():
        figures["gpu_peak_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return figures


def _tokens(log: list[dict]) -> float:
    return max((entry.get("num_tokens", 0) for entry in log), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--base-model", default="smollm2")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sft-steps", type=int, default=16)
    parser.add_argument("--grpo-steps", type=int, default=4)
    parser.add_argument("--eval-pairs", type=int, default=150)
    parser.add_argument("--classifier", type=Path, help="a saved classifier (`aroma train classifier`)")
    parser.add_argument("--perturbqa", type=Path, default=Path("../shared/data/perturbqa"))
    parser.add_argument("--db", help="the graph (default: the local database)")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[])
    args = parser.parse_args()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    sft_settings = load_settings(None, [f"max_steps={args.sft_steps}", "batch_size=2", "logging_steps=1",
                                        f"save_steps={args.sft_steps}", f"limit={args.sft_steps * 2}", *args.overrides])
    start = time.monotonic()
    sft = run_sft(args.data, args.base_model, args.embeddings, args.out / "sft", sft_settings)
    sft_seconds = time.monotonic() - start
    grpo_settings = load_settings(None, [f"max_steps={args.grpo_steps}", "batch_size=4", "num_generations=4",
                                         "max_completion_length=96", "logging_steps=1",
                                         f"save_steps={args.grpo_steps}", f"limit={args.grpo_steps * 4}",
                                         *args.overrides])
    start = time.monotonic()
    grpo = run_grpo(args.data, args.out / "sft", args.out / "grpo", grpo_settings)
    grpo_seconds = time.monotonic() - start
    start = time.monotonic()
    with open_store(args.db) as store:
        report = evaluate_model(GraphContext(store, whole_network=True), PerturbQA(args.perturbqa), args.out / "grpo",
                                args.data, "test", args.out / "eval", limit=args.eval_pairs, options=MethodOptions(),
                                classifier=args.classifier, show_progress=False)
    eval_seconds = time.monotonic() - start
    rewards = {k: v for entry in grpo.log for k, v in entry.items() if k.startswith("rewards/") and k.endswith("/mean")}
    print(json.dumps({
        "device": device,
        "sft": {"steps": sft.steps, "s_per_step": round(sft_seconds / sft.steps, 2),
                "tokens_per_s": round(_tokens(sft.log) / sft_seconds), "final_loss": sft.log[-2].get("loss")},
        "grpo": {"steps": grpo.steps, "s_per_step": round(grpo_seconds / grpo.steps, 2),
                 "tokens_per_s": round(_tokens(grpo.log) / grpo_seconds), "last_rewards": rewards},
        "eval": {"pairs": report.pairs, "s_per_pair": round(eval_seconds / report.pairs, 2),
                 "metrics": report.metrics},
        **_memory(),
    }, indent=1))


if __name__ == "__main__":
    main()
