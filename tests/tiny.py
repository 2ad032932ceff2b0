"""Tiny models built in the tests: a BPE tokenizer trained here, Llama/Qwen3 configs with a few layers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, PLACEHOLDERS, THINK_CLOSE, THINK_OPEN

SPECIAL = [*PLACEHOLDERS.values(), THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def tokenizer(corpus: Iterable[str] = (), vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(corpus) or [f"In K562 cells, TP53 is knocked down. Is MDM2 {label}? STRING TRRUST GO." for label in LABELS]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    special = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", *SPECIAL]
    bpe.train_from_iterator(texts * 5, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    result = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                     eos_token="</s>", additional_special_tokens=SPECIAL)
    result.chat_template = CHAT_TEMPLATE
    return result


def causal_lm(kind: str, vocab: int, hidden: int = 32):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    common = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    if kind == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(head_dim=hidden // 4, **common))
    return LlamaForCausalLM(LlamaConfig(**common))


def save_base_model(directory: Path, corpus: Iterable[str] = (), kind: str = "llama") -> Path:
    """A tiny causal LM with its tokenizer saved like any local Hugging Face model."""
    tok = tokenizer(corpus)
    model = causal_lm(kind, len(tok))
    model.config.pad_token_id = tok.pad_token_id
    model.config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
