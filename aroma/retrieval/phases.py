"""The split rule, written once: which labelled pairs a method learns from, which it is scored on, and whose
training outcomes the pairs may see as similar knockdowns.

Two phases run with the same code. ``validation``: learn from the training split less the validation
perturbations, whose outcomes are hidden from everyone; score on those (every setting is chosen here).
``test``: learn from the whole training split (validation included), score on PerturbQA's unseen test
perturbations (read once, for the report). A predictor fit for users (``aroma train predictor``) is the
test phase's: every training outcome, nothing hidden. A knockdown is never its own neighbour (see
``retrieval.neighbours``), so a training pair's evidence looks like a test pair's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from aroma.data.perturbqa import LabelledPair

VALIDATION, TEST = "validation", "test"
PHASES = (VALIDATION, TEST)
LEARNED_FROM = {VALIDATION: ("train",), TEST: ("train", "validation")}


@dataclass(frozen=True)
class Phase:
    """The pairs a phase fits on and scores, and the knockdowns whose outcomes it hides."""

    name: str
    fit: list[LabelledPair]
    score: list[LabelledPair]
    hidden: frozenset[str]  # perturbed-gene symbols whose outcomes in this cell line the phase may not see


def hidden_knockdowns(pairs: Sequence[LabelledPair], split: str) -> frozenset[str]:
    """The knockdowns whose outcomes pairs of ``split`` may not see: the validation perturbations for train and
    validation pairs (model selection is not helped by validation's own labels); none for test pairs."""
    if split == TEST:
        return frozenset()
    return frozenset(p.perturbed for p in pairs if p.split == VALIDATION)


def phase(name: str, pairs: Sequence[LabelledPair]) -> Phase:
    """``name`` is ``validation`` or ``test``; ``pairs`` one cell line's pairs with validation carved out."""
    if name not in PHASES:
        raise ValueError(f"phase {name!r} is not one of {PHASES}")
    fit = [p for p in pairs if p.split in LEARNED_FROM[name]]
    score = [p for p in pairs if p.split == name]
    return Phase(name, fit, score, hidden_knockdowns(pairs, name))


def screened(current: Phase, fraction: float, seed: int = 0) -> Phase:
    """``current`` as if only a seeded share of its training knockdowns had been screened: the others' pairs are
    not learned from and their outcomes are hidden; nested (a smaller share's knockdowns are among a larger
    one's), the scored pairs unchanged."""
    perts = sorted({p.perturbed for p in current.fit})
    kept = set(random.Random(seed).sample(perts, len(perts))[:round(len(perts) * fraction)])
    return Phase(current.name, [p for p in current.fit if p.perturbed in kept], current.score,
                 current.hidden | (frozenset(perts) - kept))


def deployed(pairs: Sequence[LabelledPair]) -> Phase:
    """What a predictor fit for users learns from: every training pair, nothing hidden, nothing scored."""
    return Phase("deployed", [p for p in pairs if p.split in LEARNED_FROM[TEST]], [], frozenset())
