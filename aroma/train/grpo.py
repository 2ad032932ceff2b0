"""``aroma train grpo``: GRPO with TRL's GRPOTrainer, soft tokens injected in generation and in scoring alike.

TRL generates with the LM's ``generate`` and scores log-probs through the backbone; both pass through
the input-embedding hook of ``AromaLM``, which gets the batch's gene pairs from the overrides below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import set_seed
from trl import GRPOConfig, GRPOTrainer

from aroma.memory import return_freed_memory
from aroma.model.base_lm import quiet_libraries
from aroma.model.lm import AromaLM
from aroma.retrieval.evidence import PairEvidence
from aroma.train.config import TrainSettings
from aroma.dataset.splits import open_split
from aroma.model.lm import pad_rows, pad_values
from aroma.train.lm_setup import (FusionTrainingMixin, TrainRun, add_lora, base_reference, finish, label_shares,
                                 load_split, training_rows)
from aroma.train.rewards import correctness_reward, format_reward, label_reward, make_grounding_reward
from aroma.train.sft import add_progress, load_split_labels, sft_arguments


class AromaGRPOTrainer(FusionTrainingMixin, GRPOTrainer):
    """GRPOTrainer that carries each rollout's gene pair through generation, scoring and the loss."""

    def __init__(self, *args: Any, aroma: AromaLM, fusion_learning_rate: float, **kwargs: Any) -> None:
        self.aroma = aroma
        self.fusion_learning_rate = fusion_learning_rate
        super().__init__(*args, **kwargs)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        device = self.accelerator.device
        perturbed = torch.tensor([x["perturbed_index"] for x in inputs], dtype=torch.long, device=device)
        target = torch.tensor([x["target_index"] for x in inputs], dtype=torch.long, device=device)
        typed = {}
        if "entity_rows" in inputs[0]:
            typed = {"entities": pad_rows([x["entity_rows"] for x in inputs]).to(device),
                     "numbers": pad_values([x["numbers"] for x in inputs]).to(device)}
        with torch.no_grad(), self.aroma.genes(perturbed, target, **typed):
            output = super()._generate_and_score_completions(inputs)
        output["aroma_perturbed"], output["aroma_target"] = perturbed, target  # split and shuffled with the batch
        for name, value in typed.items():
            output[f"aroma_{name}"] = value
        return output

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        with self.aroma.genes(inputs["aroma_perturbed"], inputs["aroma_target"], inputs.get("aroma_entities"),
                              inputs.get("aroma_numbers")):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def reward_functions(symbols: list[str]) -> list:
    """Format, valid label, correctness (+5 / −1) and evidence grounding, in that order."""
    return [format_reward, label_reward, correctness_reward, make_grounding_reward(symbols)]


def run_grpo(data: Path, init: Path, out: Path, settings: TrainSettings, resume: bool = False) -> TrainRun:
    quiet_libraries()
    return_freed_memory()
    set_seed(settings.seed)  # before anything random is initialised (fusion, LoRA)
    model = AromaLM.from_pretrained(init, dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    add_lora(model, settings)
    train = load_split(data, "train", model, settings)
    labels = load_split_labels(data)
    rows = training_rows(labels, settings)
    symbols = _symbols(open_split(data, "train").select(rows))
    arguments = {**sft_arguments(out / "checkpoints", settings), "remove_unused_columns": False}  # rewards read columns
    config = GRPOConfig(**arguments, num_generations=settings.num_generations,
                        max_completion_length=settings.max_completion_length, temperature=settings.temperature,
                        beta=settings.beta, generation_kwargs={"suppress_tokens": model.added_token_ids()})
    trainer = AromaGRPOTrainer(model=model.lm, args=config, train_dataset=train, processing_class=model.tokenizer,
                               reward_funcs=reward_functions(symbols), aroma=model,
                               fusion_learning_rate=settings.fusion_learning_rate)
    add_progress(trainer, settings)
    result = trainer.train(resume_from_checkpoint=resume or None)
    model.about = {"label_shares": label_shares(labels), "trained_label_shares": label_shares([labels[i] for i in rows])}
    run = TrainRun(result.global_step, result.training_loss, trainer.state.log_history)
    if trainer.is_world_process_zero():
        finish(model, out, base_reference(str(init)), settings.save_merged)  # the SFT model is GRPO's base
        run.write_log(out / "grpo_log.json")
    return run


def _symbols(dataset) -> list[str]:
    """Gene symbols a reasoning text might cite: every gene named in the evidence of the examples trained on."""
    import json

    names: set[str] = set()
    for example in dataset.select_columns(["evidence", "pert", "gene"]):
        names.update((example["pert"], example["gene"]))
        names |= PairEvidence.from_dict(json.loads(example["evidence"])).cited_symbols()
    return sorted(names)
