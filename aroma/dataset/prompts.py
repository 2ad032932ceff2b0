"""The chat prompt and the reasoning target of one example, built only from the evidence retrieved for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from aroma.retrieval.evidence import PairEvidence
from aroma.retrieval.render import render_evidence, score_text
from aroma.tokens import (ANSWER_CLOSE, ANSWER_OPEN, DOWN, LABELS, NOT_CHANGED, PLACEHOLDERS, THINK_CLOSE,
                          THINK_OPEN, UP)

SYSTEM = (
    "You are an expert in molecular and cell biology. Given a CRISPRi knockdown of one gene, decide whether the "
    "expression of another gene changes, reasoning only from the evidence provided. Think inside "
    f"{THINK_OPEN}{THINK_CLOSE}, then answer inside {ANSWER_OPEN}{ANSWER_CLOSE} with one of: {', '.join(LABELS)}."
)


@dataclass
class Prompt:
    """Chat messages, with the gene ids of their entity tokens ("" for a gene not in the graph) and the values of
    their number tokens, both in order of appearance (empty for text prompts)."""

    messages: list[dict[str, str]]
    entities: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)


def user_message(evidence: PairEvidence, names: tuple[str, str] | None = None) -> str:
    """The question about the pair as named in the labels (``names``), with the evidence and placeholders."""
    p, t = names or (evidence.perturbed.symbol, evidence.target.symbol)
    embeddings = ", ".join(f"{name.replace('_', '-')} {token}" for name, token in PLACEHOLDERS.items())
    renamed = [f"{asked} is {facts.symbol} in NCBI Gene." for asked, facts in
               ((p, evidence.perturbed), (t, evidence.target)) if asked != facts.symbol]
    return (
        f"In {evidence.cell_line} cells, {p} is knocked down by CRISPRi. Is the expression of {t} not changed, "
        f"downregulated or upregulated?\n" + "".join(line + "\n" for line in renamed) +
        f"Embeddings of {p} attending to {t}: {embeddings}.\n"
        f"Evidence from the knowledge graphs:\n{render_evidence(evidence)}"
    )


def chat_prompt(evidence: PairEvidence, names: tuple[str, str] | None = None) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_message(evidence, names)}]


def reasoning(evidence: PairEvidence, label: int) -> str:
    """A rationale in which every sentence restates an item of ``evidence``, ending at ``label`` (the measured
    outcome). Nothing is asserted that the evidence does not hold: no mechanism is invented."""
    p, t = evidence.perturbed, evidence.target
    sentences = _experiment_sentences(evidence)
    what = f"{p.symbol} encodes {p.description}" if p.description else f"{p.symbol} is not described in the graph"
    if p.is_tf:
        what += ", a transcription factor"
    sentences.append(what + f"; {t.symbol} encodes {t.description or 'an undescribed product'}.")
    for r in evidence.regulations:
        sentences.append(f"TRRUST records {r.tf} → {r.target} ({r.sign}, PMID {r.pmids[0] if r.pmids else 'n/a'}).")
    if evidence.interaction:
        i = evidence.interaction
        top = max(i.channels, key=i.channels.get) if i.channels else None
        sentences.append(f"STRING links {i.a} and {i.b} with combined score {score_text(i.combined_score)}"
                         + (f", mostly from {top} evidence." if top else "."))
    if evidence.paths:
        best = evidence.paths[0]
        sentences.append(f"They are connected through {' – '.join(best.symbols)} "
                         f"(weakest edge {score_text(best.strength)}).")
    context = [x.name for x in evidence.shared_pathways[:2]] + [x.name for x in evidence.shared_hallmarks[:1]]
    if context:
        sentences.append("Both belong to " + "; ".join(context) + ".")
    if evidence.shared_go_terms:
        term = evidence.shared_go_terms[0]
        sentences.append(f"They share the GO term {term.name} ({term.id}).")
    if evidence.shared_complexes:
        complex_ = evidence.shared_complexes[0]
        sentences.append(f"Both are part of {complex_.name} ({complex_.id}).")
    if not (evidence.has_direct_relation or evidence.has_path or evidence.has_shared_pathway):
        sentences.append(f"The graphs hold no direct relation, path or shared pathway between {p.symbol} and {t.symbol}.")
    sentences.append(_conclusion(evidence, label))
    return " ".join(sentences)


def _experiment_sentences(evidence: PairEvidence) -> list[str]:
    """The measured outcomes of similar knockdowns (and of P elsewhere), cited by name and similarity."""
    experiments = evidence.experiments
    if experiments is None:
        return []
    p, t = evidence.perturbed.symbol, evidence.target.symbol
    sentences = [experiments.summary(p, t)]
    if experiments.neighbours:
        nearest = experiments.neighbours[0]
        sentences.append(f"The most similar, {nearest.symbol} (similarity {nearest.similarity:.2f}), left {t} "
                         f"{nearest.effect}.")
        changed = [n for n in experiments.changed if n is not nearest]
        if changed and nearest.effect == LABELS[NOT_CHANGED]:
            sentences.append(f"{changed[0].symbol} (similarity {changed[0].similarity:.2f}) left it {changed[0].effect}.")
    for other in experiments.other_cell_lines:
        if other.effect_on_target:
            sentences.append(f"In {other.cell_line}, knocking down {p} itself left {t} {other.effect_on_target}.")
    return sentences


def _conclusion(evidence: PairEvidence, label: int) -> str:
    """The answer, related to the evidence that supports it or said to go against it, never explained beyond it."""
    p, t, cell = evidence.perturbed.symbol, evidence.target.symbol, evidence.cell_line
    answer = LABELS[label]
    signs = {r.sign for r in evidence.regulations if r.tf == p}
    if label == DOWN and "activation" in signs:
        return f"TRRUST has {p} activating {t}, and the knockdown of an activator fits {t} being {answer}."
    if label == UP and "repression" in signs:
        return f"TRRUST has {p} repressing {t}, and the knockdown of a repressor fits {t} being {answer}."
    experiments = evidence.experiments
    if experiments is not None and experiments.neighbours:
        agreeing = sum(n.effect == answer for n in experiments.neighbours)
        share = agreeing / len(experiments.neighbours)
        verb = "as" if share >= 0.5 else "though only"
        return (f"Weighing this, {verb} {agreeing} of the {len(experiments.neighbours)} similar knockdowns did, "
                f"knocking down {p} in {cell} leaves {t} {answer}.")
    return f"Weighing this evidence, knocking down {p} in {cell} leaves {t} {answer}."


def completion(evidence: PairEvidence, label: int) -> str:
    return f"{THINK_OPEN}{reasoning(evidence, label)}{THINK_CLOSE}{ANSWER_OPEN}{LABELS[label]}{ANSWER_CLOSE}"
