"""GRPO rewards, each a plain callable ``(completions, **columns) -> list[float]`` (TRL's convention)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from aroma.tokens import ANSWER_CLOSE, ANSWER_OPEN, LABELS, THINK_CLOSE, THINK_OPEN

FORMAT = re.compile(rf"^\s*{re.escape(THINK_OPEN)}(.*?){re.escape(THINK_CLOSE)}\s*"
                    rf"{re.escape(ANSWER_OPEN)}(.+?){re.escape(ANSWER_CLOSE)}\s*$", re.S)
IDENTIFIER = re.compile(r"\b(?:GO:\d{7}|R-HSA-\d+)\b")
CORRECT, WRONG = 5.0, -1.0  # AROMA's correctness reward


def text_of(completion: Any) -> str:
    """TRL passes plain strings or, for chat data, a list of messages."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if m.get("role", "assistant") == "assistant")
    return str(completion)


def parse(completion: Any) -> tuple[str, str] | None:
    """``(reasoning, answer)`` of a well-formed completion, else None; the reasoning may be empty (a direct
    answer, ``<think></think><answer>…</answer>``, as SFT's ``direct_answers`` teaches)."""
    match = FORMAT.match(text_of(completion))
    return (match.group(1).strip(), match.group(2).strip()) if match else None


def format_reward(completions: list, **_: Any) -> list[float]:
    """1 for ``<think>…</think><answer>…</answer>`` with a reasoning, else 0 (a direct answer still counts for
    the label and correctness rewards)."""
    return [1.0 if (p := parse(c)) and p[0] else 0.0 for c in completions]


def label_reward(completions: list, **_: Any) -> list[float]:
    """1 when the answer is exactly one of the three labels, else 0."""
    return [1.0 if (p := parse(c)) and p[1] in LABELS else 0.0 for c in completions]


def correctness_reward(completions: list, label: list[int], **_: Any) -> list[float]:
    """+5 for the right label, −1 otherwise (an unparsable answer is wrong)."""
    return [CORRECT if (p := parse(c)) and p[1] == LABELS[y] else WRONG for c, y in zip(completions, label)]


def make_grounding_reward(gene_symbols: Iterable[str]) -> Callable[..., list[float]]:
    """A reward in [−1, 0]: minus the share of cited genes, GO terms and pathways absent from the evidence."""
    vocabulary = set(gene_symbols)

    def grounding_reward(completions: list, evidence: list[str], **_: Any) -> list[float]:
        rewards = []
        for completion, raw in zip(completions, evidence):
            parsed = parse(completion)
            reasoning = parsed[0] if parsed else text_of(completion)
            cited = {w for w in re.findall(r"[A-Za-z0-9-]+", reasoning) if w in vocabulary}
            cited |= set(IDENTIFIER.findall(reasoning))
            known = json.dumps(json.loads(raw)) if isinstance(raw, str) else json.dumps(raw)
            absent = [item for item in cited if item not in known]
            rewards.append(-len(absent) / len(cited) if cited else 0.0)
        return rewards

    grounding_reward.__name__ = "grounding_reward"
    return grounding_reward
