"""``aroma train sft``: multimodal supervised fine-tuning with TRL's SFTTrainer (LoRA on the LM, fusion trained).

Prompt tokens are masked from the loss (prompt–completion data, TRL's completion-only loss).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import set_seed
from trl import SFTConfig, SFTTrainer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from aroma.model.assets import load_gene_space
from aroma.model.base_lm import dtype, quiet_libraries
from aroma.model.lm import AromaLM
from aroma.train.config import TrainSettings
from aroma.train.lm_setup import (FusionTrainingMixin, TrainRun, add_lora, base_reference, build_model, finish,
                                 load_split)

GENE_COLUMNS = ("perturbed_index", "target_index")


class GeneCollator:
    """TRL's language-modelling collator plus the gene indices of each example."""

    def __init__(self, pad_token_id: int) -> None:
        self.base = DataCollatorForLanguageModeling(pad_token_id=pad_token_id)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        genes = {c: torch.tensor([e[c] for e in examples], dtype=torch.long) for c in GENE_COLUMNS}
        batch = self.base([{k: v for k, v in e.items() if k not in GENE_COLUMNS} for e in examples])
        batch["aroma_perturbed"], batch["aroma_target"] = genes["perturbed_index"], genes["target_index"]
        return batch


class AromaSFTTrainer(FusionTrainingMixin, SFTTrainer):
    """SFTTrainer whose every forward pass carries the batch's gene pairs into the soft tokens."""

    def __init__(self, *args: Any, aroma: AromaLM, fusion_learning_rate: float, **kwargs: Any) -> None:
        self.aroma = aroma
        self.fusion_learning_rate = fusion_learning_rate
        super().__init__(*args, **kwargs)

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        self._signature_columns = list(dict.fromkeys([*self._signature_columns, *GENE_COLUMNS]))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        perturbed, target = inputs.pop("aroma_perturbed"), inputs.pop("aroma_target")
        with self.aroma.genes(perturbed.to(self.args.device), target.to(self.args.device)):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def sft_arguments(out: Path, settings: TrainSettings) -> dict[str, Any]:
    """TrainingArguments shared by SFT and GRPO (bf16 on CUDA, fp32 on CPU; multi-GPU via accelerate/torchrun)."""
    return dict(
        output_dir=str(out), num_train_epochs=settings.epochs, max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size, gradient_accumulation_steps=settings.gradient_accumulation,
        learning_rate=settings.learning_rate, save_steps=settings.save_steps, logging_steps=settings.logging_steps,
        seed=settings.seed, bf16=dtype() == torch.bfloat16, report_to="none", remove_unused_columns=True,
        use_cpu=not torch.cuda.is_available(), save_only_model=False,
    )


def run_sft(data: Path, base_model: str, embeddings: Path, out: Path, settings: TrainSettings,
            resume: bool = False) -> TrainRun:
    quiet_libraries()
    set_seed(settings.seed)  # before anything random is initialised (fusion, LoRA)
    space = load_gene_space(embeddings)
    model = build_model(base_model, space, settings)
    add_lora(model, settings)
    train = load_split(data, "train", model, settings)
    config = SFTConfig(**sft_arguments(out / "checkpoints", settings), max_length=settings.max_length,
                       completion_only_loss=True)
    trainer = AromaSFTTrainer(model=model.lm, args=config, train_dataset=train, processing_class=model.tokenizer,
                              data_collator=GeneCollator(model.tokenizer.pad_token_id), aroma=model,
                              fusion_learning_rate=settings.fusion_learning_rate)
    result = trainer.train(resume_from_checkpoint=resume or None)
    finish(model, out, base_reference(base_model), settings.save_merged)
    run = TrainRun(result.global_step, result.training_loss, trainer.state.log_history)
    run.write_log(out / "sft_log.json")
    return run
