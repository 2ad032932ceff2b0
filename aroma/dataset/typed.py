"""Typed prompts (after MAMMAL's entity and scalar tokens): the same evidence as the text prompt, each gene one
entity token, each number one number token, each evidence kind or relation one added token; text only where a gene
must be named (the question, the genes a reasoning cites).

A typed prompt is its chat messages plus, in order of appearance, the gene ids of its entity tokens and the values
of its number tokens. Every value is put on a scale of about 0–1 here, once: shares and similarities as they are,
STRING scores / 1000, gene-set sizes and degrees on a log scale.
"""

from __future__ import annotations

import math

from aroma.dataset.prompts import Prompt
from aroma.retrieval.evidence import ExperimentalEvidence, GeneFacts, Neighbour, PairEvidence
from aroma.retrieval.render import SHOWN_NEIGHBOURS
from aroma.tokens import (ANSWER_CLOSE, ANSWER_OPEN, DOWN, ENTITY, KINDS, LABELS, NOT_CHANGED, NUMBER, PLACEHOLDERS,
                          THINK_CLOSE, THINK_OPEN, UP)

SYSTEM = (f"Predict whether a CRISPRi knockdown changes a gene's expression from typed evidence. Think inside "
          f"{THINK_OPEN}{THINK_CLOSE}, then answer inside {ANSWER_OPEN}{ANSWER_CLOSE}: {', '.join(LABELS)}.")
EFFECT_KINDS = {LABELS[NOT_CHANGED]: "not_changed", LABELS[DOWN]: "down", LABELS[UP]: "up", None: "not_measured"}
SIGN_KINDS = {"activation": "activates", "repression": "represses"}
DIRECTION_VOTERS = 50  # NeighbourSettings.k_direction: the count of direction voters is scaled by it


class _Builder:
    """Appends text, kind tokens, entity tokens and number tokens, keeping entities and numbers in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.entities: list[str] = []
        self.numbers: list[float] = []

    def text(self, value: str) -> _Builder:
        self.parts.append(value)
        return self

    def kind(self, name: str) -> _Builder:
        self.parts.append(KINDS[name])
        return self

    def gene(self, gene_id: str, symbol: str | None = None) -> _Builder:
        """A gene as an entity token, preceded by its symbol where a reasoning may cite it."""
        self.parts.append((symbol or "") + ENTITY)
        self.entities.append(gene_id)
        return self

    def number(self, value: float) -> _Builder:
        self.parts.append(NUMBER)
        self.numbers.append(round(float(value), 4))
        return self

    def __str__(self) -> str:
        return "".join(self.parts)


def log_scale(value: float, top: float) -> float:
    """``value`` ≥ 0 on a log scale where ``top`` maps to 1."""
    return math.log1p(max(value, 0)) / math.log1p(top)


def typed_prompt(evidence: PairEvidence, names: tuple[str, str] | None = None) -> Prompt:
    """The typed chat prompt of ``evidence`` about the pair as named in the labels (``names``)."""
    p, t = evidence.perturbed, evidence.target
    asked_p, asked_t = names or (p.symbol, t.symbol)
    b = _Builder()
    b.text(f"{evidence.cell_line}: knock down {asked_p}").gene(p.id).text(f"; is {asked_t}").gene(t.id)
    b.text(" changed? " + "".join(PLACEHOLDERS.values()))
    for asked, facts in ((asked_p, p), (asked_t, t)):
        if asked != facts.symbol:
            b.text(f" ({asked} is {facts.symbol})")
    if evidence.experiments is not None:
        _experiments(b, evidence.experiments)
    for facts in (p, t):
        _gene(b, facts)
    _relations(b, evidence)
    return Prompt([{"role": "system", "content": SYSTEM}, {"role": "user", "content": str(b)}], b.entities, b.numbers)


def _experiments(b: _Builder, experiments: ExperimentalEvidence) -> None:
    votes = experiments.votes
    if votes is not None:
        b.text("\n").kind("vote").number(votes.changed).number(votes.up if votes.up is not None else 0.5)
        b.number(log_scale(votes.direction_count, DIRECTION_VOTERS))
    for n in experiments.neighbours[:SHOWN_NEIGHBOURS]:
        b.text("\n").kind("knockdown").gene(n.id, n.symbol).number(n.similarity).number(n.strength)
        b.kind(EFFECT_KINDS[n.effect])
    for other in experiments.other_cell_lines:
        b.text("\n").kind("elsewhere").text(other.cell_line).kind(EFFECT_KINDS[other.effect_on_target])
        b.number(other.strength).number(other.up_share)


def _gene(b: _Builder, facts: GeneFacts) -> None:
    """A gene's own facts: transcription factor or not, STRING degree, strongest partners (entities and scores)."""
    b.text("\n").gene(facts.id)
    if facts.is_tf:
        b.kind("tf")
    b.number(log_scale(facts.degree, 1000))
    for partner in facts.top_interactors:
        b.kind("partner").gene(partner.id).number(partner.combined_score / 1000)


def _relations(b: _Builder, evidence: PairEvidence) -> None:
    b.text("\n")
    if evidence.interaction:
        b.kind("string").number(evidence.interaction.combined_score / 1000)
    for r in evidence.regulations:
        b.text(r.tf).kind(SIGN_KINDS.get(r.sign, "regulates")).text(r.target)
    for path in evidence.paths:
        b.kind("path")
        for gene_id, symbol in zip(path.ids[1:-1], path.symbols[1:-1]):
            b.gene(gene_id, symbol)
        b.number(path.strength / 1000)
    for kind, items in (("pathway", evidence.shared_pathways), ("hallmark", evidence.shared_hallmarks)):
        for item in items:
            b.kind(kind).number(log_scale(item.size or 0, 10_000))
    for kind, terms in (("go_term", evidence.shared_go_terms), ("complex", evidence.shared_complexes)):
        for term in terms:
            b.kind(kind).number(log_scale(term.gene_count or 0, 10_000))
    if not (evidence.has_direct_relation or evidence.has_path or evidence.has_shared_pathway):
        b.kind("none")


def typed_reasoning(evidence: PairEvidence, label: int) -> str:
    """A short rationale citing the typed prompt's evidence by gene, ending at ``label`` (the measured outcome);
    numbers are said in words, since the prompt gives them as values, not digits."""
    p, t, cell = evidence.perturbed.symbol, evidence.target.symbol, evidence.cell_line
    sentences: list[str] = []
    experiments = evidence.experiments
    if experiments is not None:
        sentences += _experiment_sentences(experiments, p, t)
    for r in evidence.regulations:
        sentences.append(f"TRRUST records {r.tf} → {r.target} ({r.sign}).")
    if evidence.interaction:
        sentences.append(f"STRING links {p} and {t}.")
    if evidence.paths:
        sentences.append(f"They are connected through {' – '.join(evidence.paths[0].symbols)}.")
    shared = len(evidence.shared_pathways) + len(evidence.shared_hallmarks)
    if shared:
        sentences.append(f"They share {shared} pathway{'s' if shared > 1 else ''} or gene set{'s' if shared > 1 else ''}.")
    if not (evidence.has_direct_relation or evidence.has_path or evidence.has_shared_pathway):
        sentences.append(f"The graphs hold no direct relation, path or shared pathway between {p} and {t}.")
    sentences.append(f"Weighing this, knocking down {p} in {cell} leaves {t} {LABELS[label]}.")
    return " ".join(sentences)


def _experiment_sentences(experiments: ExperimentalEvidence, p: str, t: str) -> list[str]:
    shown = experiments.neighbours[:SHOWN_NEIGHBOURS]
    if not shown:
        return [f"No training knockdown in {experiments.cell_line} measured {t}."]
    down = sum(n.effect == LABELS[DOWN] for n in shown)
    up = sum(n.effect == LABELS[UP] for n in shown)
    sentences = [f"{down + up} of the {len(shown)} knockdowns most like {p} changed {t} ({down} down, {up} up)."]
    nearest = shown[0]
    sentences.append(f"The nearest, {nearest.symbol}, left it {nearest.effect}.")
    changed: list[Neighbour] = [n for n in shown if n.effect != LABELS[NOT_CHANGED] and n is not nearest]
    if changed and nearest.effect == LABELS[NOT_CHANGED]:
        sentences.append(f"{changed[0].symbol} left it {changed[0].effect}.")
    votes = experiments.votes
    if votes is not None and votes.up is not None:
        word = "raised" if votes.up >= 0.5 else "lowered"
        sentences.append(f"Most of the similar knockdowns that changed {t} {word} it.")
    for other in experiments.other_cell_lines:
        if other.effect_on_target:
            sentences.append(f"In {other.cell_line}, knocking down {p} itself left {t} {other.effect_on_target}.")
    return sentences


def typed_completion(evidence: PairEvidence, label: int) -> str:
    return f"{THINK_OPEN}{typed_reasoning(evidence, label)}{THINK_CLOSE}{ANSWER_OPEN}{LABELS[label]}{ANSWER_CLOSE}"
