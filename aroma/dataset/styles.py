"""The two prompt styles of PerturbReason, chosen by name in one place: ``text`` (evidence spelt out) and ``typed``
(entity, number and kind tokens; ``aroma.dataset.typed``)."""

from __future__ import annotations

from aroma.dataset.prompts import Prompt, chat_prompt, completion
from aroma.dataset.typed import typed_completion, typed_prompt
from aroma.errors import AromaError
from aroma.retrieval.evidence import PairEvidence
from aroma.tokens import PROMPT_STYLES


def check_style(style: str) -> str:
    if style not in PROMPT_STYLES:
        raise AromaError(f"--prompt must be one of {', '.join(PROMPT_STYLES)}, not {style!r}")
    return style


def build_prompt(evidence: PairEvidence, names: tuple[str, str] | None, style: str) -> Prompt:
    """The chat prompt of ``evidence`` in ``style`` (with its entities and numbers when typed)."""
    if check_style(style) == "typed":
        return typed_prompt(evidence, names)
    return Prompt(chat_prompt(evidence, names))


def build_completion(evidence: PairEvidence, label: int, style: str) -> str:
    """The reasoning target and answer of ``evidence`` in ``style``."""
    return typed_completion(evidence, label) if check_style(style) == "typed" else completion(evidence, label)
