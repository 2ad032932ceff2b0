"""The multimodal language model as a predictor: its answer probabilities, from scoring each of the three
``<answer>…</answer>`` continuations of the pair's prompt (built from the same evidence as PerturbReason's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from aroma.data.perturbqa import LabelledPair
from aroma.errors import AromaError
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.retrieval.evidence import PairEvidence
from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, THINK_CLOSE, THINK_OPEN


def _prefix(model: AromaLM, prompt: list[dict], reasoning: str) -> list[int]:
    text = model.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    return model.tokenizer(text + THINK_OPEN + reasoning + THINK_CLOSE + ANSWER_OPEN, add_special_tokens=False).input_ids


@torch.no_grad()
def answer_probabilities(model: AromaLM, prompts: list[list[dict]], perturbed: list[int], target: list[int],
                         reasonings: list[str] | None = None, batch_size: int = 4, show_progress: bool = False,
                         ) -> np.ndarray:
    """P(label) for each example: each ``<answer>label</answer>`` scored by its mean per-token log-likelihood
    (summed log-likelihoods would favour the shorter labels), softmaxed over the three."""
    tokenizer, device = model.tokenizer, next(model.lm.parameters()).device
    answers = [tokenizer(label + ANSWER_CLOSE, add_special_tokens=False).input_ids for label in LABELS]
    reasonings = reasonings or [""] * len(prompts)
    model.eval()
    out = []
    with Progress(disable=not show_progress) as progress:
        task = progress.add_task("scoring answers", total=len(prompts))
        for start in range(0, len(prompts), batch_size):
            rows, spans = [], []
            for i in range(start, min(start + batch_size, len(prompts))):
                prefix = _prefix(model, prompts[i], reasonings[i])
                for answer in answers:
                    rows.append(prefix + answer)
                    spans.append((len(prefix), len(answer)))
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, row in enumerate(rows):
                ids[r, :len(row)] = torch.tensor(row)
                mask[r, :len(row)] = 1
            genes_p = torch.tensor(perturbed[start:start + batch_size]).repeat_interleave(len(LABELS))
            genes_t = torch.tensor(target[start:start + batch_size]).repeat_interleave(len(LABELS))
            logits = model(ids.to(device), perturbed=genes_p.to(device), target=genes_t.to(device),
                           attention_mask=mask.to(device)).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            scores = []
            for r, (begin, length) in enumerate(spans):
                positions = torch.arange(begin - 1, begin - 1 + length, device=logprobs.device)
                tokens = ids[r, begin:begin + length].to(logprobs.device)
                scores.append(logprobs[r, positions, tokens].mean())
            out.append(torch.softmax(torch.stack(scores).view(-1, len(LABELS)), dim=1).cpu())
            progress.advance(task, len(spans) // len(LABELS))
    return torch.cat(out).numpy() if out else np.zeros((0, len(LABELS)))


def model_prompt(model: AromaLM, evidence: PairEvidence, names: tuple[str, str]) -> list[dict]:
    """The chat prompt of PerturbReason for ``evidence``, placeholders expanded to the model's soft tokens."""
    from aroma.dataset.prompts import chat_prompt

    return [{**m, "content": expand_placeholders(m["content"], model.fusion.config.tokens)}
            for m in chat_prompt(evidence, names)]


@dataclass
class LanguageModel(Predictor):
    """Trained by ``aroma train sft|grpo`` (``fit`` learns nothing); about 3 s a pair on a CPU, so the bench scores
    it on a seeded sample of whole target genes (``max_pairs``) of the test split."""

    name = "language model"
    summary = ("the multimodal LM of `aroma train sft|grpo`: its three answers scored after the pair's prompt "
               "(evidence, similar knockdowns, soft tokens)")
    phases = ("test",)
    model_dir: Path = Path()
    max_pairs: int | None = None
    batch_size: int = 4

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> LanguageModel | None:
        return None if options.model is None or not knowledge.targets_are_genes else cls(options.model, options.lm_pairs)

    @cached_property
    def model(self) -> AromaLM:
        from aroma.model.base_lm import quiet_libraries

        if not (self.model_dir / "aroma.json").is_file():
            raise AromaError(f"{self.model_dir} is not a trained language model (no aroma.json): train one with "
                             "`aroma train sft`")
        quiet_libraries()
        return AromaLM.from_pretrained(self.model_dir)

    def evidence(self, pairs: Sequence[LabelledPair]) -> list[PairEvidence]:
        """Each pair's evidence as PerturbReason builds it, with the knowledge's similar knockdowns."""
        index, ids = self.knowledge.graph.index, self.knowledge.ids(pairs)
        index.prefetch(ids.values())
        neighbours = self.knowledge.neighbours() if self.knowledge.has_outcomes else None
        return [index.labelled_pair(p.perturbed, p.target, ids, p.cell_line,
                                    neighbours.evidence(ids.get(p.perturbed), [ids.get(p.target)])[0]
                                    if neighbours else None) for p in pairs]

    def predict_proba(self, pairs: Sequence[LabelledPair], show_progress: bool = False) -> np.ndarray:
        model, rows = self.model, self.model.gene_rows
        evidence = self.evidence(pairs)
        prompts = [model_prompt(model, e, (p.perturbed, p.target)) for e, p in zip(evidence, pairs)]
        return answer_probabilities(model, prompts, [rows.row(e.perturbed.id) for e in evidence],
                                    [rows.row(e.target.id) for e in evidence], batch_size=self.batch_size,
                                    show_progress=show_progress)


class _TokenProgress:
    """A transformers streamer that advances a progress bar by one per generated token."""

    def __init__(self, progress: Progress, task: Any) -> None:
        self.progress, self.task, self.prompt_seen = progress, task, False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # the first call carries the prompt
            self.prompt_seen = True
            return
        self.progress.advance(self.task, 1)

    def end(self) -> None:
        done = next(t.completed for t in self.progress.tasks if t.id == self.task)
        self.progress.update(self.task, total=done)


def explain(model: AromaLM, evidence: PairEvidence, names: tuple[str, str], max_new_tokens: int = 256,
            progress: Progress | None = None) -> dict[str, Any]:
    """Generate the reasoning for one pair, then score the three answers after it; ``progress`` (a rich
    Progress) shows the tokens generated."""
    from aroma.train.rewards import parse

    rows = model.gene_rows
    prompt = model_prompt(model, evidence, names)
    genes = ([rows.row(evidence.perturbed.id)], [rows.row(evidence.target.id)])
    text = model.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    ids = model.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    device = next(model.lm.parameters()).device
    streamer = None
    if progress is not None:
        task = progress.add_task("generating the reasoning (tokens)", total=max_new_tokens)
        streamer = _TokenProgress(progress, task)
    generated = model.generate(ids.to(device), perturbed=torch.tensor(genes[0], device=device),
                               target=torch.tensor(genes[1], device=device), max_new_tokens=max_new_tokens,
                               do_sample=False, pad_token_id=model.tokenizer.pad_token_id, streamer=streamer)
    completion = model.tokenizer.decode(generated[0, ids.shape[1]:], skip_special_tokens=False)
    parsed = parse(completion.split(model.tokenizer.eos_token)[0])
    reasoning = parsed[0] if parsed else completion.split(THINK_CLOSE)[0].replace(THINK_OPEN, "").strip()
    probabilities = answer_probabilities(model, [prompt], *genes, reasonings=[reasoning])[0]
    return {"answer": LABELS[int(probabilities.argmax())],
            "probabilities": {label: float(p) for label, p in zip(LABELS, probabilities)},
            "reasoning": reasoning, "generated": completion, "evidence": evidence.to_dict()}
