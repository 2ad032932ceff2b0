"""What SFT, GRPO, evaluation and prediction share: the base LM, the multimodal wrapper, LoRA, the data."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aroma.dataset.splits import open_split
from aroma.model.assets import GeneSpace
from aroma.model.classifier import build_fusion
from aroma.model.fusion import FusionConfig
from aroma.model.base_lm import SMOLLM2, load_base
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.errors import AromaError
from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, NOT_CHANGED, THINK_CLOSE, THINK_OPEN
from aroma.train.config import TrainSettings


def build_model(base_model: str, space: GeneSpace, settings: TrainSettings, prompt: str = "text") -> AromaLM:
    """The base LM with the fusion over ``space``; for ``typed`` prompts also the typed tokens' embeddings."""
    lm, tokenizer = load_base(base_model)
    config = FusionConfig(out_dim=lm.config.hidden_size, model_dim=settings.fusion_dim, tokens=settings.soft_tokens,
                          dropout=settings.fusion_dropout, typed=prompt == "typed")
    model = AromaLM(lm, tokenizer, build_fusion(space, config))
    model.gene_ids = list(space.ids)
    return model


def add_lora(model: AromaLM, settings: TrainSettings) -> None:
    """LoRA on the LM (PEFT), or with ``finetune=full`` every LM weight trainable; the fusion modules stay fully
    trainable."""
    if settings.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        lora = settings.lora
        model.lm = get_peft_model(model.lm, LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                       target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    else:
        for parameter in model.lm.parameters():
            parameter.requires_grad = True
    for parameter in model.fusion.parameters():
        parameter.requires_grad = True


def dataset_prompt(data: Path) -> str:
    """The prompt style a PerturbReason dataset was generated with (its card; text before typed prompts existed)."""
    card = Path(data) / "card.json"
    return json.loads(card.read_text()).get("prompt", "text") if card.is_file() else "text"


def check_prompt(model: AromaLM, data: Path) -> None:
    style = dataset_prompt(data)
    if style != model.prompt_style:
        raise AromaError(f"{data} holds {style} prompts but the model reads {model.prompt_style} prompts: generate "
                         f"the dataset with `--prompt {model.prompt_style}` (or train a model on this one)")


def training_rows(labels: Sequence[int], settings: TrainSettings | None) -> list[int]:
    """The rows trained on, in training order: all (or the first ``limit``); with ``changed_share``, a seeded
    sample holding as many changed pairs as that share allows, shuffled."""
    if settings is None or settings.changed_share is None:
        total = len(labels) if settings is None or not settings.limit else min(settings.limit, len(labels))
        return list(range(total))
    rng = random.Random(settings.seed)
    changed = [i for i, y in enumerate(labels) if y != NOT_CHANGED]
    unchanged = [i for i, y in enumerate(labels) if y == NOT_CHANGED]
    share = settings.changed_share
    wanted = len(changed) + len(unchanged) if not settings.limit else min(settings.limit, len(labels))
    take_changed = min(len(changed), round(wanted * share))
    take_unchanged = min(len(unchanged), round(take_changed * (1 - share) / share)) if take_changed else \
        min(len(unchanged), wanted)
    rows = rng.sample(changed, take_changed) + rng.sample(unchanged, take_unchanged)
    rng.shuffle(rows)
    return rows


def is_direct(example_id: str, settings: TrainSettings | None) -> bool:
    """Whether this example is trained on the answer alone (``direct_answers``; seeded, by example id)."""
    share = settings.direct_answers if settings is not None else 0.0
    return share > 0 and zlib.crc32(f"{settings.seed}/{example_id}".encode()) / 2**32 < share


DIRECT = f"{THINK_OPEN}{THINK_CLOSE}{ANSWER_OPEN}{{answer}}{ANSWER_CLOSE}"


def load_split(data: Path, split: str, model: AromaLM, settings: TrainSettings | None = None, lazy: bool = False):
    """A PerturbReason split with the columns training needs: prompt, completion, label, evidence, gene rows (and
    for typed prompts each prompt's entity rows and numbers), over ``training_rows``. Examples are converted as
    they are read: ``lazy`` gives an ``IterableDataset`` (TRL then tokenizes each batch as it is drawn), else a
    ``Dataset`` converting on access."""
    check_prompt(model, data)
    dataset = open_split(data, split)
    rows = training_rows(dataset["label"], settings)
    dataset = dataset.select(rows)
    genes, tokens, typed = model.gene_rows, model.fusion.config.tokens, model.typed
    if typed and "entities" not in dataset.column_names:
        raise AromaError(f"{data} has typed prompts without their entities and numbers: generate it again")

    def convert(example: dict) -> dict:
        evidence = json.loads(example["evidence"])
        prompt = [{**m, "content": expand_placeholders(m["content"], tokens)} for m in example["prompt"]]
        answer = DIRECT.format(answer=LABELS[example["label"]]) if is_direct(example["id"], settings) \
            else example["completion"]
        converted = {
            "prompt": prompt,
            "completion": [{"role": "assistant", "content": answer}],
            "perturbed_index": genes.row(evidence["perturbed"]["id"]),
            "target_index": genes.row(evidence["target"]["id"]),
        }
        if typed:
            converted["entity_rows"] = [genes.row(g) for g in example["entities"]]
            converted["numbers"] = list(example["numbers"])
        return converted

    keep = {"prompt", "completion", "label", "evidence", "gene", "pert", "cell_line"}
    drop = [c for c in dataset.column_names if c not in keep]
    if lazy:
        return dataset.to_iterable_dataset().map(convert, remove_columns=drop)

    def convert_batch(batch: dict[str, list]) -> dict[str, list]:
        examples = [convert({k: batch[k][i] for k in batch}) for i in range(len(batch["id"]))]
        kept = {k: batch[k] for k in batch if k in keep and k not in examples[0]}
        return {**kept, **{k: [e[k] for e in examples] for k in examples[0]}}

    return dataset.with_transform(convert_batch)


def label_shares(labels: Sequence[int]) -> list[float]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(LABELS))
    return [round(float(c) / max(int(counts.sum()), 1), 6) for c in counts]


def average_across_processes(params: Sequence[torch.nn.Parameter]) -> None:
    """Data-parallel training (torchrun, accelerate launch): each parameter's gradient averaged over the processes,
    as DDP averages the LM's (a parameter without a gradient here counts as zero)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= dist.get_world_size()


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
            # The Trainer averages (DDP), clips and zeroes only its model's gradients; the fusion is not part of
            # that model.
            def average_and_clip(*_: Any) -> None:
                average_across_processes(params)
                if self.args.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(params, self.args.max_grad_norm)

            def clear(*_: Any) -> None:
                self.aroma.fusion.zero_grad(set_to_none=True)

            optimizer.register_step_pre_hook(average_and_clip)
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
        if self.args.should_save:  # the first process of a data-parallel run
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
