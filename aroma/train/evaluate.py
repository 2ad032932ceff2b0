"""``aroma eval`` and ``aroma predict``: answer probabilities by scoring the three answers, PerturbQA's metrics."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from aroma.kg.store import GraphStore
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, NOT_CHANGED, THINK_CLOSE, THINK_OPEN, UP
from aroma.train.baselines import classifier_probabilities, heuristic_probabilities
from aroma.train.lm_setup import load_split, quiet_libraries
from aroma.train.metrics import evaluate, json_ready
from aroma.train.rewards import parse


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
    return torch.cat(out).numpy()


def _plots(methods: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, axes = plt.subplots(2, 2, figsize=(10, 9), dpi=100)
    changed = labels != NOT_CHANGED
    tasks = {"DE (changed vs not)": (changed.astype(int), lambda p: p[:, 1] + p[:, 2], slice(None)),
             "direction (up vs down, DE pairs)": ((labels == UP).astype(int),
                                                  lambda p: p[:, 2] / np.clip(p[:, 1] + p[:, 2], 1e-12, None), changed)}
    for column, (title, (y, score, rows)) in enumerate(tasks.items()):
        for name, probabilities in methods.items():
            if len(set(y[rows])) < 2:
                continue
            s = score(probabilities)[rows]
            fpr, tpr, _ = roc_curve(y[rows], s)
            precision, recall, _ = precision_recall_curve(y[rows], s)
            axes[0, column].plot(fpr, tpr, label=name)
            axes[1, column].plot(recall, precision, label=name)
        axes[0, column].plot([0, 1], [0, 1], "k:", linewidth=0.8)
        axes[0, column].set(title=f"ROC, {title}", xlabel="false positive rate", ylabel="true positive rate")
        axes[1, column].set(title=f"Precision-recall, {title}", xlabel="recall", ylabel="precision")
        for row in (0, 1):
            if axes[row, column].get_legend_handles_labels()[0]:  # no curve when no gene has both classes
                axes[row, column].legend(fontsize=8)
    fig.suptitle("Pooled over pairs; the report's AUROCs are per target gene, averaged (PerturbQA)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@dataclass
class EvalReport:
    """``aroma eval``'s result (``eval_report.json``): per method, PerturbQA's metrics on one split's pairs."""

    split: str
    pairs: int
    model: str
    metrics: dict[str, dict[str, Any]]  # method → de_auroc, direction_auroc, macro_f1, accuracy, … (None: undefined)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_model(model_dir: Path, data: Path, split: str, out: Path, limit: int | None = None,
                   classifier: Path | None = None, embeddings: Path | None = None, batch_size: int = 4,
                   show_progress: bool = True, store: GraphStore | None = None) -> EvalReport:
    """The model and the baselines on one split: metrics JSON, ROC and PR plots."""
    quiet_libraries()
    model = AromaLM.from_pretrained(model_dir)
    examples = load_split(data, split, model, genes_sample=limit)
    labels = np.array(examples["label"])
    genes = examples["gene"]
    methods = {"aroma": answer_probabilities(model, examples["prompt"], examples["perturbed_index"],
                                             examples["target_index"], batch_size=batch_size,
                                             show_progress=show_progress),
               "evidence heuristic": heuristic_probabilities(examples["evidence"])}
    if classifier is not None and embeddings is not None:
        methods["classifier"] = classifier_probabilities(classifier, embeddings, examples["evidence"], store)
    report = EvalReport(split, len(labels), str(model_dir),
                        {name: json_ready(evaluate(genes, labels, p)) for name, p in methods.items()})
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_report.json").write_text(json.dumps(report.to_dict(), indent=1, allow_nan=False))
    _plots(methods, labels, out / "roc_pr.png")
    return report


class _TokenProgress:
    """A transformers streamer that advances a progress bar by one per generated token."""

    def __init__(self, progress: Progress, task) -> None:
        self.progress, self.task, self.prompt_seen = progress, task, False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # the first call carries the prompt
            self.prompt_seen = True
            return
        self.progress.advance(self.task, 1)

    def end(self) -> None:
        done = next(t.completed for t in self.progress.tasks if t.id == self.task)
        self.progress.update(self.task, total=done)


def predict_pair(model: AromaLM, evidence, names: tuple[str, str], max_new_tokens: int = 256,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Generate the reasoning for one pair, then score the three answers after it; ``progress`` (a rich
    Progress) shows the tokens generated."""
    from aroma.dataset.prompts import chat_prompt

    rows = model.gene_rows
    prompt = [{**m, "content": expand_placeholders(m["content"], model.fusion.config.tokens)}
              for m in chat_prompt(evidence, names)]
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
