"""``aroma train sft``: multimodal supervised fine-tuning with TRL's SFTTrainer (LoRA on the LM, fusion trained).

Prompt tokens are masked from the loss (prompt–completion data, TRL's completion-only loss). Examples are read,
converted and tokenized batch by batch as training draws them, never the whole split up front.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from transformers import PrinterCallback, set_seed
from trl import SFTConfig, SFTTrainer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from aroma.model.assets import load_gene_space
from aroma.memory import return_freed_memory
from aroma.model.base_lm import bf16_available, quiet_libraries
from aroma.model.lm import AromaLM, pad_rows, pad_values
from aroma.train.config import TrainSettings
from aroma.train.lm_setup import (FusionTrainingMixin, TrainRun, add_lora, base_reference, build_model, dataset_prompt,
                                 finish, label_shares, load_split, training_rows)
from aroma.train.progress import StepFigures, TimeLimit, to_terminal

GENE_COLUMNS = ("perturbed_index", "target_index")
TYPED_COLUMNS = ("entity_rows", "numbers")


class GeneCollator:
    """TRL's language-modelling collator plus the gene rows of each example (and a typed prompt's entity rows and
    numbers, padded)."""

    def __init__(self, pad_token_id: int) -> None:
        self.base = DataCollatorForLanguageModeling(pad_token_id=pad_token_id)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        genes = {c: torch.tensor([e[c] for e in examples], dtype=torch.long) for c in GENE_COLUMNS}
        ours = (*GENE_COLUMNS, *TYPED_COLUMNS)
        batch = self.base([{k: v for k, v in e.items() if k not in ours} for e in examples])
        batch["aroma_perturbed"], batch["aroma_target"] = genes["perturbed_index"], genes["target_index"]
        if "entity_rows" in examples[0]:
            batch["aroma_entities"] = pad_rows([e["entity_rows"] for e in examples])
            batch["aroma_numbers"] = pad_values([e["numbers"] for e in examples])
        return batch


class AromaSFTTrainer(FusionTrainingMixin, SFTTrainer):
    """SFTTrainer whose every forward pass carries the batch's gene pairs (and typed inputs) into the embeddings."""

    def __init__(self, *args: Any, aroma: AromaLM, fusion_learning_rate: float, **kwargs: Any) -> None:
        self.aroma = aroma
        self.fusion_learning_rate = fusion_learning_rate
        super().__init__(*args, **kwargs)

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        self._signature_columns = list(dict.fromkeys([*self._signature_columns, *GENE_COLUMNS, *TYPED_COLUMNS]))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        device = self.args.device
        perturbed, target = inputs.pop("aroma_perturbed"), inputs.pop("aroma_target")
        entities, numbers = inputs.pop("aroma_entities", None), inputs.pop("aroma_numbers", None)
        with self.aroma.genes(perturbed.to(device), target.to(device), entities, numbers):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def score_completions_only() -> None:
    """TRL's fused LM head projects only the positions that have a label where it runs Triton kernels (CUDA), but
    every position elsewhere, to keep tile shapes fixed for compilers; a CPU compiles nothing, so there too only
    the completion's positions are projected (a quarter of a typed example's tokens: less time and memory, the
    same loss)."""
    import trl.trainer.utils as trl_utils
    from trl.kernels.chunked_logprob import _use_triton

    trl_utils._use_triton = lambda device: _use_triton(device) or device.type == "cpu"


def use_bf16(settings: TrainSettings) -> bool:
    return bf16_available() if settings.bf16 is None else settings.bf16


def world_size() -> int:
    """Processes of a data-parallel run (torchrun and accelerate launch set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def sft_arguments(out: Path, settings: TrainSettings) -> dict[str, Any]:
    """TrainingArguments shared by SFT and GRPO: bf16 where the hardware has it (weights fp32 on CPU, autocast),
    gradient checkpointing if asked, data-parallel across the processes of torchrun or accelerate launch."""
    return dict(
        output_dir=str(out), num_train_epochs=settings.epochs, max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size, gradient_accumulation_steps=settings.gradient_accumulation,
        learning_rate=settings.learning_rate, save_steps=settings.save_steps, logging_steps=settings.logging_steps,
        seed=settings.seed, bf16=use_bf16(settings), report_to="none", remove_unused_columns=True,
        use_cpu=not torch.cuda.is_available(), save_only_model=False, disable_tqdm=not to_terminal(),
        gradient_checkpointing=settings.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if settings.gradient_checkpointing else None,
        ddp_backend="gloo" if world_size() > 1 and not torch.cuda.is_available() else None,
    )


def examples_per_step(settings: TrainSettings) -> int:
    return settings.batch_size * settings.gradient_accumulation * world_size()


def add_progress(trainer, settings: TrainSettings) -> None:
    """Each log entry timed; one plain line per logging step (instead of the printed dict) off a terminal; the
    time limit."""
    lines = not to_terminal()
    if lines:
        trainer.remove_callback(PrinterCallback)
    trainer.add_callback(StepFigures(examples_per_step(settings), lines))
    if settings.max_minutes:
        trainer.add_callback(TimeLimit(settings.max_minutes))


def run_sft(data: Path, base_model: str, embeddings: Path, out: Path, settings: TrainSettings,
            resume: bool = False) -> TrainRun:
    quiet_libraries()
    return_freed_memory()
    score_completions_only()
    set_seed(settings.seed)  # before anything random is initialised (fusion, LoRA)
    space = load_gene_space(embeddings)
    model = build_model(base_model, space, settings, dataset_prompt(data))
    add_lora(model, settings)
    train = load_split(data, "train", model, settings, lazy=True)
    labels = load_split_labels(data)
    rows = training_rows(labels, settings)
    steps = settings.max_steps if settings.max_steps > 0 else \
        math.ceil(len(rows) * settings.epochs / examples_per_step(settings))  # an IterableDataset has no length
    arguments = {**sft_arguments(out / "checkpoints", settings), "max_steps": steps}
    config = SFTConfig(**arguments, max_length=settings.max_length, completion_only_loss=True)
    trainer = AromaSFTTrainer(model=model.lm, args=config, train_dataset=train, processing_class=model.tokenizer,
                              data_collator=GeneCollator(model.tokenizer.pad_token_id), aroma=model,
                              fusion_learning_rate=settings.fusion_learning_rate)
    add_progress(trainer, settings)
    result = trainer.train(resume_from_checkpoint=resume or None)
    model.about = {"label_shares": label_shares(labels), "trained_label_shares": label_shares([labels[i] for i in rows])}
    run = TrainRun(result.global_step, result.training_loss, trainer.state.log_history)
    if trainer.is_world_process_zero():  # one process writes the model (every process holds the same weights)
        finish(model, out, base_reference(base_model), settings.save_merged)
        run.write_log(out / "sft_log.json")
    return run


def load_split_labels(data: Path, split: str = "train") -> list[int]:
    """The labels of a split (one column read, not the examples)."""
    from aroma.dataset.splits import open_split

    return list(open_split(data, split)["label"])
