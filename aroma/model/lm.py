"""Soft tokens in any Hugging Face causal LM: fused vectors replace placeholder tokens in the input embeddings.

A forward hook on the LM's input-embedding layer swaps the rows at placeholder positions for the
fused (perturbed → target) vectors of the current batch, so the LM's own ``forward`` and ``generate``
work unchanged, and so does anything that calls the backbone (TRL computing log-probs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aroma.errors import AromaError
from aroma.model.fusion import FusionConfig, ModalityTable, MultimodalFusion
from aroma.model.gene_rows import GeneRows
from aroma.model.typed import ENTITY_PAD
from aroma.tokens import ENTITY, NUMBER, PLACEHOLDERS, TYPED_TOKENS

CONFIG_FILE = "aroma.json"
ABOUT = ("label_shares", "trained_label_shares")  # recorded by training: the split's and the trained examples' labels


def add_tokens(tokenizer, model=None, typed: bool = False) -> None:
    """Register the placeholder tokens (and with ``typed`` the typed prompts' tokens) once, and grow the LM's
    vocabulary to match."""
    wanted = [*PLACEHOLDERS.values(), *(TYPED_TOKENS if typed else ())]
    new = [t for t in wanted if t not in tokenizer.get_vocab()]
    if new:
        tokenizer.add_special_tokens({"additional_special_tokens": new}, replace_extra_special_tokens=False)
        if model is not None:
            model.resize_token_embeddings(len(tokenizer))


def pad_rows(rows: Sequence[Sequence[int]]) -> Tensor:
    """Each prompt's entity rows as one ``[B, E]`` tensor, padded with ``ENTITY_PAD``."""
    width = max((len(r) for r in rows), default=0)
    return torch.tensor([list(r) + [ENTITY_PAD] * (width - len(r)) for r in rows], dtype=torch.long).view(len(rows), width)


def pad_values(values: Sequence[Sequence[float]]) -> Tensor:
    """Each prompt's number values as one ``[B, N]`` tensor, padded with NaN."""
    width = max((len(v) for v in values), default=0)
    return torch.tensor([list(v) + [math.nan] * (width - len(v)) for v in values], dtype=torch.float32
                        ).view(len(values), width)


@dataclass
class _Pending:
    """What the current batch's prompts put in place of their added tokens, row by row."""

    fused: dict[str, Tensor]  # modality → [B, tokens, H]
    entities: Tensor | None = None  # [B, E, H] added to the entity tokens (padding rows unused)
    entity_counts: Tensor | None = None  # [B]
    numbers: Tensor | None = None  # [B, N, H] added to the number tokens
    number_counts: Tensor | None = None  # [B]

    @property
    def rows(self) -> int:
        return next(iter(self.fused.values())).shape[0]


def expand_placeholders(text: str, tokens: int) -> str:
    """Each modality's single placeholder in a prompt becomes ``tokens`` consecutive placeholders."""
    for token in PLACEHOLDERS.values():
        text = text.replace(token, token * tokens)
    return text


class AromaLM(nn.Module):
    """A causal LM plus the multimodal fusion whose outputs become soft tokens in its prompt."""

    def __init__(self, lm, tokenizer, fusion: MultimodalFusion) -> None:
        super().__init__()
        self.lm = lm
        self.tokenizer = tokenizer
        self.fusion = fusion
        self.typed = fusion.typed is not None
        add_tokens(tokenizer, lm, self.typed)
        self.placeholder_ids = {m: tokenizer.convert_tokens_to_ids(PLACEHOLDERS[m]) for m in fusion.modalities}
        self.typed_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(TYPED_TOKENS)) if self.typed else [],
                                      dtype=torch.long)
        self._pending: _Pending | None = None
        self._cursor = 0
        if self.typed and not fusion.typed.started:
            fusion.typed.start_from(lm.get_input_embeddings(), tokenizer)
        self.gene_ids: list[str] | None = None  # the genes behind the table rows (saved with the model)
        self.about: dict[str, Any] = {}  # what training recorded (ABOUT keys), saved in aroma.json
        self._hook = lm.get_input_embeddings().register_forward_hook(self._inject)

    def release_lm(self) -> nn.Module:
        """The language model alone, without this wrapper's injection hook (for a model built on top of it)."""
        self._hook.remove()
        return self.lm

    @property
    def prompt_style(self) -> str:
        """The prompt style the model reads (and was trained on): typed or text."""
        return "typed" if self.typed else "text"

    @property
    def gene_rows(self) -> GeneRows:
        """Gene id → row of the fusion's tables (−1 for every gene when the model has no gene list)."""
        return GeneRows(self.gene_ids or [])

    # -- injection ----------------------------------------------------------------------------
    def _inject(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        input_ids = inputs[0]
        masks = {m: input_ids == token for m, token in self.placeholder_ids.items()}
        typed = torch.isin(input_ids, self.typed_ids.to(input_ids.device)) if self.typed else None
        if not any(mask.any() for mask in masks.values()) and (typed is None or not typed.any()):
            return output  # e.g. generation steps after the prompt
        if self._pending is None:
            raise AromaError("prompt has placeholder or typed tokens but no genes were given (pass perturbed= and "
                             "target=, and entities= and numbers= for typed prompts)")
        # Rows are consumed in order, so a batch run in chunks (TRL's log-prob passes) stays aligned;
        # a pass that starts again from the first row wraps around.
        rows, total = input_ids.shape[0], self._pending.rows
        if self._cursor + rows > total:
            self._cursor = 0
        at = slice(self._cursor, self._cursor + rows)
        output = output.clone()
        for modality, mask in masks.items():
            fused = self._pending.fused[modality][at]  # [rows, tokens, H]
            counts = mask.sum(dim=1)
            if fused.shape[0] != rows or not torch.all(counts == fused.shape[1]):
                raise AromaError(f"each prompt needs exactly {self._pending.fused[modality].shape[1]} "
                                 f"{PLACEHOLDERS[modality]} token(s) and one gene pair; found {counts.tolist()} "
                                 f"for {fused.shape[0]} pair(s)")
            output[mask] = fused.reshape(-1, fused.shape[-1]).to(output.dtype)
        if typed is not None and typed.any():
            self._inject_typed(input_ids, typed, output, at)
        self._cursor = (self._cursor + rows) % total
        return output

    def _inject_typed(self, input_ids: Tensor, typed: Tensor, output: Tensor, at: slice) -> None:
        """Typed tokens get their own vectors; entity and number tokens add their gene's and value's projection."""
        lookup = torch.full((int(self.typed_ids.max()) + 1,), -1, dtype=torch.long, device=input_ids.device)
        lookup[self.typed_ids.to(input_ids.device)] = torch.arange(len(self.typed_ids), device=input_ids.device)
        output[typed] = self.fusion.typed.tokens()[lookup[input_ids[typed]]].to(output.dtype)
        pending = self._pending
        for token, added, counts in ((ENTITY, pending.entities, pending.entity_counts),
                                     (NUMBER, pending.numbers, pending.number_counts)):
            mask = input_ids == self.typed_ids[TYPED_TOKENS.index(token)].item()
            found = mask.sum(dim=1)
            expected = counts[at] if counts is not None else torch.zeros_like(found)
            if not torch.equal(found, expected.to(found.device)):
                raise AromaError(f"the prompts hold {found.tolist()} {token} token(s), but {expected.tolist()} were "
                                 f"given (a prompt cut by max_length, or entities/numbers of other prompts)")
            if added is not None and bool(found.any()):
                used = torch.arange(added.shape[1], device=found.device).unsqueeze(0) < found.unsqueeze(1)
                output[mask] += added[at][used].to(output.dtype)

    @contextmanager
    def genes(self, perturbed: Tensor, target: Tensor, entities: Tensor | None = None,
              numbers: Tensor | None = None) -> Iterator[None]:
        """Within this block every LM call on a batch injects the fused vectors of these gene pairs and, for typed
        prompts, the vectors of each prompt's entities (``[B, E]`` table rows padded with ``ENTITY_PAD``) and
        numbers (``[B, N]`` values padded with NaN)."""
        device = self.lm.get_input_embeddings().weight.device
        if self.fusion.neighbours.device != device:  # trainers move the LM only; parameters keep their identity
            self.fusion.to(device)
        pending = _Pending(self.fusion(perturbed.to(device), target.to(device)))
        if self.typed:
            if entities is not None:
                entities = entities.to(device)
                pending.entities = self.fusion.entities(entities.clamp(min=-1))
                pending.entity_counts = (entities != ENTITY_PAD).sum(dim=1)
            if numbers is not None:
                numbers = numbers.to(device)
                pending.numbers = self.fusion.typed.numbers(numbers.nan_to_num(0.0))
                pending.number_counts = (~numbers.isnan()).sum(dim=1)
        self._pending, self._cursor = pending, 0
        try:
            yield
        finally:
            self._pending = None

    def forward(self, input_ids: Tensor, perturbed: Tensor, target: Tensor, entities: Tensor | None = None,
                numbers: Tensor | None = None, **kwargs):
        with self.genes(perturbed, target, entities, numbers):
            return self.lm(input_ids=input_ids, **kwargs)

    @torch.no_grad()
    def generate(self, input_ids: Tensor, perturbed: Tensor, target: Tensor, entities: Tensor | None = None,
                 numbers: Tensor | None = None, **kwargs) -> Tensor:
        """The LM's ``generate``; the added tokens are never generated."""
        kwargs.setdefault("suppress_tokens", self.added_token_ids())
        with self.genes(perturbed, target, entities, numbers):
            return self.lm.generate(input_ids=input_ids, **kwargs)

    def added_token_ids(self) -> list[int]:
        """The ids of the tokens this model adds (placeholders, typed tokens): never generated."""
        return sorted({*self.placeholder_ids.values(), *self.typed_ids.tolist()})

    # -- persistence -----------------------------------------------------------------------------
    def save_pretrained(self, directory: Path, base_model: str | None = None) -> None:
        """Fusion weights and tables, tokenizer, config, and the LM: with ``base_model`` (and LoRA on the
        LM) only the adapter, the placeholder-token rows and a reference to the base model; else the whole LM."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        lean = base_model is not None and hasattr(self.lm, "peft_config")
        if lean:
            self.lm.save_pretrained(directory / ADAPTER_DIR, save_embedding_layers=False)
            self.tokenizer.save_pretrained(directory / TOKENIZER_DIR)
            torch.save(self._placeholder_rows(), directory / PLACEHOLDER_FILE)
        else:
            self.lm.save_pretrained(directory / "lm")
            self.tokenizer.save_pretrained(directory / "lm")
        torch.save(self.fusion.state_dict(), directory / "fusion.pt")
        if self.gene_ids is not None:
            (directory / "gene_ids.json").write_text(json.dumps(self.gene_ids))
        dims = {m: t.dim for m, t in self.fusion.tables.items()}
        config = {"fusion": self.fusion.config.as_dict(), "table_dims": dims,
                  "genes": int(self.fusion.neighbours.shape[0]), "neighbours": int(self.fusion.neighbours.shape[1]),
                  "prompt": self.prompt_style, **self.about}
        if lean:
            config["base_model"] = base_model
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1))

    def _placeholder_rows(self) -> dict[str, Tensor | list[int] | None]:
        """The embedding (and untied output) rows of the placeholder tokens: new rows are randomly initialised."""
        ids = self.added_token_ids()
        output = self.lm.get_output_embeddings()
        tied = output is None or output.weight.data_ptr() == self.lm.get_input_embeddings().weight.data_ptr()
        return {"ids": ids, "input": self.lm.get_input_embeddings().weight[ids].detach().cpu().clone(),
                "output": None if tied else output.weight[ids].detach().cpu().clone()}

    @classmethod
    def from_pretrained(cls, directory: Path, **lm_kwargs) -> AromaLM:
        """Load a saved model; an adapter directory loads its base model (a path, ``smollm2``, or another saved
        AromaLM such as the SFT model under a GRPO one) and merges the adapter for inference."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        directory = Path(directory)
        if not (directory / CONFIG_FILE).is_file():
            raise AromaError(f"{directory} is not an aroma model directory (no {CONFIG_FILE})")
        config = json.loads((directory / CONFIG_FILE).read_text())
        if "base_model" in config:
            lm, tokenizer = _load_adapter(directory, config["base_model"], lm_kwargs)
        else:
            tokenizer = AutoTokenizer.from_pretrained(directory / "lm")
            lm = AutoModelForCausalLM.from_pretrained(directory / "lm", **lm_kwargs)
        tables = {m: ModalityTable(torch.zeros(config["genes"], d)) for m, d in config["table_dims"].items()}
        fusion = MultimodalFusion(tables, torch.full((config["genes"], config["neighbours"]), -1, dtype=torch.long),
                                  FusionConfig(**config["fusion"]))
        fusion.load_state_dict(torch.load(directory / "fusion.pt", weights_only=True))
        if fusion.typed is not None:
            fusion.typed.started = True  # its token vectors are the trained ones just loaded
        model = cls(lm, tokenizer, fusion)
        model.about = {k: config[k] for k in ABOUT if k in config}
        if (directory / "gene_ids.json").is_file():
            model.gene_ids = json.loads((directory / "gene_ids.json").read_text())
        return model


ADAPTER_DIR, TOKENIZER_DIR, PLACEHOLDER_FILE = "adapter", "tokenizer", "placeholder_rows.pt"


def _load_adapter(directory: Path, base_model: str, lm_kwargs: dict):
    """The base LM with this directory's placeholder rows and LoRA adapter merged in, and the tokenizer."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    base = Path(base_model).expanduser()
    if (base / CONFIG_FILE).is_file():  # e.g. GRPO trained on top of the (merged) SFT model
        lm = AromaLM.from_pretrained(base, **lm_kwargs).release_lm()
    else:
        from aroma.model.base_lm import load_base

        lm, _ = load_base(base_model, lm_kwargs.get("dtype") or lm_kwargs.get("torch_dtype"))
    tokenizer = AutoTokenizer.from_pretrained(directory / TOKENIZER_DIR)
    rows = torch.load(directory / PLACEHOLDER_FILE, weights_only=True)
    lm.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        lm.get_input_embeddings().weight[rows["ids"]] = rows["input"].to(lm.get_input_embeddings().weight.dtype)
        if rows["output"] is not None:
            lm.get_output_embeddings().weight[rows["ids"]] = rows["output"].to(lm.get_output_embeddings().weight.dtype)
    return PeftModel.from_pretrained(lm, directory / ADAPTER_DIR).merge_and_unload(), tokenizer
