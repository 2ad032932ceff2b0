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
from aroma.dataset.prompts import Prompt
from aroma.dataset.styles import build_prompt
from aroma.model.base_lm import bf16_available
from aroma.model.lm import AromaLM, expand_placeholders, pad_rows, pad_values
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.retrieval.evidence import PairEvidence
from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, THINK_CLOSE, THINK_OPEN


def _prefix(model: AromaLM, prompt: list[dict], reasoning: str) -> list[int]:
    text = model.tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    return model.tokenizer(text + THINK_OPEN + reasoning + THINK_CLOSE + ANSWER_OPEN, add_special_tokens=False).input_ids


@dataclass
class ModelInputs:
    """What the model reads for pairs: prompts with each pair's gene rows, and a typed prompt's entity rows and
    numbers."""

    prompts: list[Prompt]
    perturbed: list[int]
    target: list[int]
    entity_rows: list[list[int]]

    def typed(self, start: int, stop: int, repeat: int, device) -> dict[str, torch.Tensor]:
        """``entities`` and ``numbers`` of prompts ``start:stop``, each repeated ``repeat`` times (none for text)."""
        if not any(p.entities or p.numbers for p in self.prompts[start:stop]):
            return {}
        entities = pad_rows(self.entity_rows[start:stop]).repeat_interleave(repeat, dim=0)
        numbers = pad_values([p.numbers for p in self.prompts[start:stop]]).repeat_interleave(repeat, dim=0)
        return {"entities": entities.to(device), "numbers": numbers.to(device)}


def model_inputs(model: AromaLM, evidence: Sequence[PairEvidence], names: Sequence[tuple[str, str]]) -> ModelInputs:
    """Each pair's prompt built from its evidence exactly as PerturbReason builds it, in the style the model was
    trained on, placeholders expanded to its soft tokens."""
    rows = model.gene_rows
    prompts = []
    for e, n in zip(evidence, names):
        prompt = build_prompt(e, n, model.prompt_style)
        prompt.messages = [{**m, "content": expand_placeholders(m["content"], model.fusion.config.tokens)}
                           for m in prompt.messages]
        prompts.append(prompt)
    return ModelInputs(prompts, [rows.row(e.perturbed.id) for e in evidence], [rows.row(e.target.id) for e in evidence],
                       [[rows.row(g) for g in p.entities] for p in prompts])


@torch.no_grad()
def answer_probabilities(model: AromaLM, inputs: ModelInputs, reasonings: list[str] | None = None,
                         batch_size: int = 8, show_progress: bool = False, bf16: bool | None = None) -> np.ndarray:
    """P(label) for each example: each ``<answer>label</answer>`` scored by its mean per-token log-likelihood
    (summed log-likelihoods would favour the shorter labels), softmaxed over the three. The prompt is read once
    per pair and its cache shared by the three answers (on a CPU in bf16 where it has it, unless ``bf16``
    says)."""
    tokenizer, device = model.tokenizer, next(model.lm.parameters()).device
    answers = [tokenizer(label + ANSWER_CLOSE, add_special_tokens=False).input_ids for label in LABELS]
    prompts = inputs.prompts
    reasonings = reasonings or [""] * len(prompts)
    bf16 = bf16_available() if bf16 is None else bf16
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=device.type == "cpu" and bf16)
    model.eval()
    out = []
    with Progress(disable=not show_progress) as progress, autocast:
        task = progress.add_task("scoring answers", total=len(prompts))
        for start in range(0, len(prompts), batch_size):
            stop = min(start + batch_size, len(prompts))
            prefixes = [_prefix(model, prompts[i].messages, reasonings[i]) for i in range(start, stop)]
            ids, mask = _left_padded(prefixes, tokenizer.pad_token_id)
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            read = model(ids.to(device), perturbed=torch.tensor(inputs.perturbed[start:stop], device=device),
                         target=torch.tensor(inputs.target[start:stop], device=device),
                         attention_mask=mask.to(device), position_ids=positions.to(device), use_cache=True,
                         **inputs.typed(start, stop, 1, device))
            first = torch.log_softmax(read.logits[:, -1].float(), dim=-1)  # [n, vocab]: each answer's first token
            out.append(_score_answers(model, answers, first, read.past_key_values, mask, device).cpu())
            progress.advance(task, stop - start)
    return torch.cat(out).numpy() if out else np.zeros((0, len(LABELS)))


def _left_padded(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows aligned at their ends (so every row's next token follows its last), and their mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, row in enumerate(rows):
        ids[r, width - len(row):] = torch.tensor(row)
        mask[r, width - len(row):] = 1
    return ids, mask


def _score_answers(model: AromaLM, answers: list[list[int]], first: torch.Tensor, cache, mask: torch.Tensor,
                   device) -> torch.Tensor:
    """``[n, 3]`` probabilities: every answer's later tokens read after its earlier ones, on the prompt's cache."""
    n, labels = first.shape[0], len(answers)
    width = max(len(a) for a in answers) - 1
    follow = torch.full((labels, max(width, 1)), model.tokenizer.pad_token_id, dtype=torch.long)
    for k, answer in enumerate(answers):
        follow[k, :len(answer) - 1] = torch.tensor(answer[:-1], dtype=torch.long)
    later = None
    if width > 0:
        cache.batch_repeat_interleave(labels)
        rows = follow.repeat(n, 1)  # pair-major, answer-minor
        full_mask = torch.cat([mask.repeat_interleave(labels, dim=0), torch.ones_like(rows)], dim=1)
        positions = mask.sum(dim=1).repeat_interleave(labels).unsqueeze(1) + torch.arange(rows.shape[1])
        logits = model.lm(input_ids=rows.to(device), attention_mask=full_mask.to(device),
                          position_ids=positions.to(device), past_key_values=cache, use_cache=False).logits
        later = torch.log_softmax(logits.float(), dim=-1).view(n, labels, rows.shape[1], -1)
    scores = torch.zeros(n, labels, device=first.device)
    for k, answer in enumerate(answers):
        total = first[:, answer[0]]
        for j, token in enumerate(answer[1:]):
            total = total + later[:, k, j, token]
        scores[:, k] = total / len(answer)
    return torch.softmax(scores, dim=1)


def prior_corrected(model: AromaLM, probabilities: np.ndarray) -> np.ndarray:
    """Probabilities of a model trained on a resampled split (``changed_share``) brought back to the split's label
    shares (Bayes' rule; down and up move together, so per-gene AUROCs are unchanged and only the answers move)."""
    split, trained = model.about.get("label_shares"), model.about.get("trained_label_shares")
    if not split or not trained or split == trained or min(trained) <= 0:
        return probabilities
    weighted = probabilities * (np.asarray(split) / np.asarray(trained))
    return weighted / weighted.sum(axis=1, keepdims=True)


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
    batch_size: int = 8

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
        model = self.model
        inputs = model_inputs(model, self.evidence(pairs), [(p.perturbed, p.target) for p in pairs])
        return prior_corrected(model, answer_probabilities(model, inputs, batch_size=self.batch_size,
                                                           show_progress=show_progress))


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

    inputs = model_inputs(model, [evidence], [names])
    text = model.tokenizer.apply_chat_template(inputs.prompts[0].messages, add_generation_prompt=True, tokenize=False)
    ids = model.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    device = next(model.lm.parameters()).device
    streamer = None
    if progress is not None:
        task = progress.add_task("generating the reasoning (tokens)", total=max_new_tokens)
        streamer = _TokenProgress(progress, task)
    generated = model.generate(ids.to(device), perturbed=torch.tensor(inputs.perturbed, device=device),
                               target=torch.tensor(inputs.target, device=device), max_new_tokens=max_new_tokens,
                               do_sample=False, pad_token_id=model.tokenizer.pad_token_id, streamer=streamer,
                               **inputs.typed(0, 1, 1, device))
    completion = model.tokenizer.decode(generated[0, ids.shape[1]:], skip_special_tokens=False)
    parsed = parse(completion.split(model.tokenizer.eos_token)[0])
    reasoning = parsed[0] if parsed else completion.split(THINK_CLOSE)[0].replace(THINK_OPEN, "").strip()
    probabilities = prior_corrected(model, answer_probabilities(model, inputs, reasonings=[reasoning]))[0]
    return {"answer": LABELS[int(probabilities.argmax())],
            "probabilities": {label: float(p) for label, p in zip(LABELS, probabilities)},
            "reasoning": reasoning, "generated": completion, "evidence": evidence.to_dict()}
