"""Soft tokens in any Hugging Face causal LM: fused vectors replace placeholder tokens in the input embeddings.

A forward hook on the LM's input-embedding layer swaps the rows at placeholder positions for the
fused (perturbed → target) vectors of the current batch, so the LM's own ``forward`` and ``generate``
work unchanged, and so does anything that calls the backbone (TRL computing log-probs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

from aroma.errors import AromaError
from aroma.model.fusion import FusionConfig, ModalityTable, MultimodalFusion
from aroma.model.gene_rows import GeneRows
from aroma.tokens import PLACEHOLDERS

CONFIG_FILE = "aroma.json"


def add_placeholder_tokens(tokenizer, model) -> None:
    """Register the placeholder tokens (once) and grow the LM's vocabulary to match."""
    new = [t for t in PLACEHOLDERS.values() if t not in tokenizer.get_vocab()]
    if new:
        tokenizer.add_special_tokens({"additional_special_tokens": new})
        model.resize_token_embeddings(len(tokenizer))


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
        add_placeholder_tokens(tokenizer, lm)
        self.placeholder_ids = {m: tokenizer.convert_tokens_to_ids(PLACEHOLDERS[m]) for m in fusion.modalities}
        self._pending: dict[str, Tensor] | None = None
        self._cursor = 0
        self.gene_ids: list[str] | None = None  # the genes behind the table rows (saved with the model)
        self._hook = lm.get_input_embeddings().register_forward_hook(self._inject)

    @property
    def gene_rows(self) -> GeneRows:
        """Gene id → row of the fusion's tables (−1 for every gene when the model has no gene list)."""
        return GeneRows(self.gene_ids or [])

    # -- injection ----------------------------------------------------------------------------
    def _inject(self, module: nn.Module, inputs: tuple, output: Tensor) -> Tensor:
        input_ids = inputs[0]
        masks = {m: input_ids == token for m, token in self.placeholder_ids.items()}
        if not any(mask.any() for mask in masks.values()):
            return output  # e.g. generation steps after the prompt
        if self._pending is None:
            raise AromaError("prompt has placeholder tokens but no genes were given (pass perturbed= and target=)")
        # Rows are consumed in order, so a batch run in chunks (TRL's log-prob passes) stays aligned;
        # a pass that starts again from the first row wraps around.
        rows, total = input_ids.shape[0], next(iter(self._pending.values())).shape[0]
        if self._cursor + rows > total:
            self._cursor = 0
        output = output.clone()
        for modality, mask in masks.items():
            fused = self._pending[modality][self._cursor:self._cursor + rows]  # [rows, tokens, H]
            counts = mask.sum(dim=1)
            if fused.shape[0] != rows or not torch.all(counts == fused.shape[1]):
                raise AromaError(f"each prompt needs exactly {self._pending[modality].shape[1]} "
                                 f"{PLACEHOLDERS[modality]} token(s) and one gene pair; found {counts.tolist()} "
                                 f"for {fused.shape[0]} pair(s)")
            output[mask] = fused.reshape(-1, fused.shape[-1]).to(output.dtype)
        self._cursor = (self._cursor + rows) % total
        return output

    @contextmanager
    def genes(self, perturbed: Tensor, target: Tensor) -> Iterator[None]:
        """Within this block every LM call on a batch injects the fused vectors of these gene pairs."""
        device = self.lm.get_input_embeddings().weight.device
        if self.fusion.neighbours.device != device:  # trainers move the LM only; parameters keep their identity
            self.fusion.to(device)
        self._pending, self._cursor = self.fusion(perturbed.to(device), target.to(device)), 0
        try:
            yield
        finally:
            self._pending = None

    def forward(self, input_ids: Tensor, perturbed: Tensor, target: Tensor, **kwargs):
        with self.genes(perturbed, target):
            return self.lm(input_ids=input_ids, **kwargs)

    @torch.no_grad()
    def generate(self, input_ids: Tensor, perturbed: Tensor, target: Tensor, **kwargs) -> Tensor:
        with self.genes(perturbed, target):
            return self.lm.generate(input_ids=input_ids, **kwargs)

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
                  "genes": int(self.fusion.neighbours.shape[0]), "neighbours": int(self.fusion.neighbours.shape[1])}
        if lean:
            config["base_model"] = base_model
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1))

    def _placeholder_rows(self) -> dict[str, Tensor | list[int] | None]:
        """The embedding (and untied output) rows of the placeholder tokens: new rows are randomly initialised."""
        ids = sorted(self.placeholder_ids.values())
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
        model = cls(lm, tokenizer, fusion)
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
        lm = AromaLM.from_pretrained(base, **lm_kwargs).lm
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
