"""Training configuration: dataclasses filled from a YAML or TOML file, then ``--set key=value`` overrides."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from aroma.errors import AromaError, shown


@dataclass
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TrainSettings:
    """Shared by SFT and GRPO; the GRPO-only fields are ignored by SFT."""

    epochs: float = 1.0
    max_steps: int = -1
    max_minutes: float | None = None  # stop after this many minutes of training (saved as at that step)
    batch_size: int = 4
    gradient_accumulation: int = 1
    learning_rate: float = 2e-4
    fusion_learning_rate: float = 1e-3
    save_steps: int = 100
    logging_steps: int = 10
    seed: int = 0
    max_length: int = 2048
    soft_tokens: int = 1  # per modality
    fusion_dim: int = 256
    fusion_dropout: float = 0.1
    limit: int | None = None  # train on the first N examples (of the seeded sample, with changed_share)
    changed_share: float | None = None  # sample the split so that changed pairs make up this share
    direct_answers: float = 0.0  # SFT: share of examples trained on the answer alone (what the predictor scores)
    bf16: bool | None = None  # mixed precision; None: where the hardware has it (CUDA, or a CPU with AVX-512 BF16)
    gradient_checkpointing: bool = False
    finetune: str = "lora"  # lora (PEFT adapters on the LM) or full (every LM weight)
    save_merged: bool = False  # also save the LM with LoRA merged (a full copy of the base model)
    lora: LoraSettings = field(default_factory=LoraSettings)
    # GRPO
    num_generations: int = 4
    max_completion_length: int = 256
    temperature: float = 1.0
    beta: float = 0.04  # KL coefficient

    def __post_init__(self) -> None:
        check_settings(self)


HELP = {
    "epochs": "passes over the training split (fractions allowed)",
    "max_steps": "stop after this many optimizer steps (-1: run all epochs)",
    "max_minutes": "stop after this many minutes of training, the model saved as at that step (null: no limit)",
    "batch_size": "examples per device per step (GRPO: prompts × generations must divide it)",
    "gradient_accumulation": "steps whose gradients are summed before each update",
    "learning_rate": "learning rate of the LoRA weights",
    "fusion_learning_rate": "learning rate of the fusion modules (soft tokens)",
    "save_steps": "checkpoint every N steps into OUT/checkpoints",
    "logging_steps": "log loss and rewards every N steps",
    "seed": "seed of data order, LoRA and fusion initialisation",
    "max_length": "SFT: longest prompt + completion in tokens (longer ones are truncated)",
    "soft_tokens": "soft tokens per modality in the prompt",
    "fusion_dim": "width of the cross-attention fusion",
    "fusion_dropout": "dropout in the fusion",
    "limit": "train on the first N examples only (null: all; with changed_share, the first N of its seeded sample)",
    "changed_share": "sample the training split (seeded) so that changed pairs (down or up) make up this share of "
                     "it, keeping every changed pair it can (null: the split as it is, ~8% changed in K562)",
    "direct_answers": "SFT: share of examples (seeded, by example id) whose completion is the answer after an empty "
                      "reasoning — what `aroma bench` and `aroma eval` score — the rest reasoning + answer",
    "bf16": "bf16 mixed precision (null: on CUDA with bf16, or on a CPU with AVX-512 BF16 or AMX; else fp32)",
    "gradient_checkpointing": "recompute activations in the backward pass: less memory, about 30% more time",
    "finetune": "lora (PEFT adapters on the LM, small checkpoints) or full (every LM weight trained and saved)",
    "save_merged": "also write the LM with LoRA merged in (a full copy of the base model) to OUT/merged",
    "lora.rank": "LoRA rank",
    "lora.alpha": "LoRA alpha (scaling = alpha / rank)",
    "lora.dropout": "LoRA dropout",
    "lora.target_modules": "LM modules that get LoRA adapters",
    "num_generations": "GRPO: completions sampled per prompt (the group)",
    "max_completion_length": "GRPO: longest generated completion in tokens",
    "temperature": "GRPO: sampling temperature",
    "beta": "GRPO: KL coefficient against the reference model",
}


def _whole(low: int, high: int | None = None, *, also: tuple[int, ...] = (), optional: bool = False):
    """A whole number in [low, high] (or one of ``also``; or null where ``optional``)."""
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number" + (" or null" if optional else "")
        if value in also or (value >= low and (high is None or value <= high)):
            return None
        allowed = f"at least {low}" if high is None else f"from {low} to {high}"
        return f"must be {allowed}" + "".join(f" or {a}" for a in also)
    return check


def _real(low: float, high: float | None = None, *, above: bool = False, below: bool = False):
    """A finite number from ``low`` (exclusive where ``above``) up to ``high`` (exclusive where ``below``)."""
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "must be a finite number"
        if (value > low if above else value >= low) and (high is None or (value < high if below else value <= high)):
            return None
        lower = f"above {low}" if above else f"at least {low}"
        upper = "" if high is None else f" and {'below' if below else 'at most'} {high}"
        return f"must be {lower}{upper}"
    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _real_or_null(low: float):
    def check(value: Any) -> str | None:
        return None if value is None else _real(low, above=True)(value)
    return check


def _flag_or_null(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else "must be true, false or null"


def _share(optional: bool = False):
    """A number strictly between 0 and 1 (or null where ``optional``)."""
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        return _real(0, 1, above=True, below=True)(value)
    return check


def _one_of(*choices: str):
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _names(value: Any) -> str | None:
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return None
    return 'must be a non-empty list of module names, e.g. ["q_proj", "v_proj"]'


# What each setting accepts, checked in one place whenever settings are made (file, --set or code), before a model loads.
RULES = {
    "epochs": _real(0, above=True),
    "max_steps": _whole(1, also=(-1,)),
    "max_minutes": _real_or_null(0),
    "batch_size": _whole(1),
    "gradient_accumulation": _whole(1),
    "learning_rate": _real(0, above=True),
    "fusion_learning_rate": _real(0, above=True),
    "save_steps": _whole(1),
    "logging_steps": _whole(1),
    "seed": _whole(0, 2**32 - 1),
    "max_length": _whole(1),
    "soft_tokens": _whole(1),
    "fusion_dim": _whole(1),
    "fusion_dropout": _real(0, 1, below=True),
    "limit": _whole(1, optional=True),
    "changed_share": _share(optional=True),
    "direct_answers": _real(0, 1),
    "bf16": _flag_or_null,
    "gradient_checkpointing": _flag,
    "finetune": _one_of("lora", "full"),
    "save_merged": _flag,
    "lora.rank": _whole(1),
    "lora.alpha": _whole(1),
    "lora.dropout": _real(0, 1, below=True),
    "lora.target_modules": _names,
    "num_generations": _whole(2),
    "max_completion_length": _whole(1),
    "temperature": _real(0, above=True),
    "beta": _real(0),
}


def check_settings(settings: TrainSettings) -> None:
    """Raise an AromaError naming the first setting whose value is of the wrong type or out of range."""
    for key, rule in RULES.items():
        owner, _, name = key.rpartition(".")
        value = getattr(settings.lora if owner else settings, name)
        problem = rule(value)
        if problem:
            raise AromaError(f"training setting {key}={shown(json.dumps(value, default=str))}: {problem}")


@dataclass(frozen=True)
class SettingInfo:
    """One training setting as ``aroma train settings`` lists it."""

    key: str
    default: Any
    type: str
    help: str


def describe_settings() -> list[SettingInfo]:
    """Every setting (``lora.*`` nested) with its default, type and meaning."""
    rows: list[SettingInfo] = []
    for cls, prefix in ((TrainSettings, ""), (LoraSettings, "lora.")):
        defaults = cls()
        for f in fields(cls):
            if f.name == "lora":
                continue
            key = prefix + f.name
            rows.append(SettingInfo(key, getattr(defaults, f.name), str(f.type), HELP[key]))
    return rows


def _coerce(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def load_settings(path: Path | None, overrides: list[str]) -> TrainSettings:
    """Read ``path`` (.yaml/.yml/.toml) if given, then apply ``key=value`` overrides (``lora.rank=8``)."""
    raw: dict[str, Any] = {}
    if path is not None:
        text = Path(path).read_text()
        try:
            if path.suffix == ".toml":
                raw = tomllib.loads(text)
            elif path.suffix in (".yaml", ".yml"):
                import yaml

                raw = yaml.safe_load(text) or {}
            else:
                raise AromaError(f"{path}: configuration must be .toml, .yaml or .yml")
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise AromaError(f"{path}: {exc}") from exc
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise AromaError(f"override {item!r} is not key=value")
        target = raw
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise AromaError(f"override {item!r}: {parent} is not a group of settings")
        target[leaf] = _coerce(value)
    lora = raw.pop("lora", {})
    if not isinstance(lora, dict):
        raise AromaError(f"training setting lora={shown(json.dumps(lora, default=str))}: must be a group "
                         "(lora.rank, lora.alpha …)")
    known = {f.name for f in fields(TrainSettings)}
    unknown = sorted(set(raw) - known) + sorted(f"lora.{k}" for k in set(lora) - {f.name for f in fields(LoraSettings)})
    if unknown:
        raise AromaError(f"unknown training setting(s): {', '.join(unknown)}")
    return TrainSettings(**raw, lora=LoraSettings(**lora))
