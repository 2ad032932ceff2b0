"""What SFT, GRPO, evaluation and prediction share: the base LM, the multimodal wrapper, LoRA, the data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aroma.dataset.splits import open_split
from aroma.model.assets import GeneSpace
from aroma.model.classifier import build_fusion
from aroma.model.fusion import FusionConfig
from aroma.model.base_lm import SMOLLM2, load_base
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.train.config import TrainSettings


def build_model(base_model: str, space: GeneSpace, settings: TrainSettings) -> AromaLM:
    lm, tokenizer = load_base(base_model)
    config = FusionConfig(out_dim=lm.config.hidden_size, model_dim=settings.fusion_dim, tokens=settings.soft_tokens,
                          dropout=settings.fusion_dropout)
    model = AromaLM(lm, tokenizer, build_fusion(space, config))
    model.gene_ids = list(space.ids)
    return model


def add_lora(model: AromaLM, settings: TrainSettings) -> None:
    """LoRA on the LM (PEFT); the fusion modules stay fully trainable."""
    from peft import LoraConfig, get_peft_model

    lora = settings.lora
    model.lm = get_peft_model(model.lm, LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                   target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    for parameter in model.fusion.parameters():
        parameter.requires_grad = True


def load_split(data: Path, split: str, model: AromaLM, settings: TrainSettings | None = None):
    """A PerturbReason split with the columns training needs: prompt, completion, label, evidence, gene indices
    (``settings.limit``: the first N examples)."""
    dataset = open_split(data, split)
    if settings is not None and settings.limit:
        dataset = dataset.select(range(min(settings.limit, len(dataset))))
    rows = model.gene_rows
    tokens = model.fusion.config.tokens

    def convert(example: dict) -> dict:
        evidence = json.loads(example["evidence"])
        prompt = [{**m, "content": expand_placeholders(m["content"], tokens)} for m in example["prompt"]]
        return {
            "prompt": prompt,
            "completion": [{"role": "assistant", "content": example["completion"]}],
            "perturbed_index": rows.row(evidence["perturbed"]["id"]),
            "target_index": rows.row(evidence["target"]["id"]),
        }

    keep = {"prompt", "completion", "label", "evidence", "gene", "pert", "cell_line"}
    return dataset.map(convert, remove_columns=[c for c in dataset.column_names if c not in keep])


class FusionTrainingMixin:
    """For TRL trainers of an ``AromaLM``: train the fusion beside the LoRA weights, checkpoint and resume it."""

    aroma: AromaLM
    fusion_learning_rate: float

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        params = [p for p in self.aroma.fusion.parameters() if p.requires_grad]
        known = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if params and id(params[0]) not in known:
            optimizer.add_param_group({"params": params, "lr": self.fusion_learning_rate, "weight_decay": 0.0})
            # The Trainer clips and zeroes only its model's gradients; the fusion is not part of that model.
            def clip(*_: Any) -> None:
                torch.nn.utils.clip_grad_norm_(params, self.args.max_grad_norm)

            def clear(*_: Any) -> None:
                self.aroma.fusion.zero_grad(set_to_none=True)

            if self.args.max_grad_norm:
                optimizer.register_step_pre_hook(clip)
            optimizer.register_step_post_hook(clear)
        return optimizer

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        # A checkpoint holds the LoRA weights only: PEFT would add the whole (resized) embedding matrices,
        # which training never changes (placeholder rows are replaced by the fused vectors).
        if hasattr(self.model, "peft_config"):
            import functools

            self.model.save_pretrained = functools.partial(type(self.model).save_pretrained, self.model,
                                                           save_embedding_layers=False)
        try:
            super()._save(output_dir, state_dict)
        finally:
            self.model.__dict__.pop("save_pretrained", None)
        torch.save(self.aroma.fusion.state_dict(), Path(output_dir or self.args.output_dir) / "fusion.pt")

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        self.aroma.fusion.load_state_dict(torch.load(Path(resume_from_checkpoint) / "fusion.pt", weights_only=True))


@dataclass
class TrainRun:
    """What one SFT or GRPO run did: optimizer steps, mean training loss and the trainer's log entries."""

    steps: int
    train_loss: float
    log: list[dict[str, Any]]

    def write_log(self, path: Path) -> Path:
        """The log entries as JSON (``OUT/sft_log.json`` or ``OUT/grpo_log.json``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.log, indent=1))
        return path


def finish(model: AromaLM, out: Path, base_model: str, merged: bool = False) -> None:
    """Save the LoRA adapter, fusion, tokenizer and gene ids with a reference to ``base_model``; with ``merged``
    also a self-contained copy with LoRA merged into the LM in ``out/merged``."""
    model.save_pretrained(out, base_model=base_model)
    if merged:
        model.lm = model.lm.merge_and_unload()
        model.save_pretrained(out / "merged")


def base_reference(base_model: str) -> str:
    """How a saved model names its base: ``smollm2`` as is, a local path made absolute."""
    return base_model if base_model == SMOLLM2 else str(Path(base_model).expanduser().resolve())
