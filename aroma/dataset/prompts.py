"""The chat prompt and the reasoning target of one example, built only from the evidence retrieved for it."""

from __future__ import annotations

from aroma.retrieval.evidence import PairEvidence
from aroma.retrieval.render import render_evidence, score_text
from aroma.tokens import (ANSWER_CLOSE, ANSWER_OPEN, DOWN, LABELS, NOT_CHANGED, PLACEHOLDERS, THINK_CLOSE,
                          THINK_OPEN, UP)

SYSTEM = (
    "You are an expert in molecular and cell biology. Given a CRISPRi knockdown of one gene, decide whether the "
    "expression of another gene changes, reasoning only from the evidence provided. Think inside "
    f"{THINK_OPEN}{THINK_CLOSE}, then answer inside {ANSWER_OPEN}{ANSWER_CLOSE} with one of: {', '.join(LABELS)}."
)


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
    """A rationale that cites only items of ``evidence`` and arrives at ``label`` (the measured outcome)."""
    p, t = evidence.perturbed, evidence.target
    sentences = []
    what = f"{p.symbol} encodes {p.description}" if p.description else f"{p.symbol} is not described in the graph"
    if p.is_tf:
        what += ", a transcription factor"
    sentences.append(what + f"; {t.symbol} encodes {t.description or 'an undescribed product'}.")
    signs = {r.sign for r in evidence.regulations if r.tf == p.symbol}
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
    context = [x["name"] for x in evidence.shared_pathways[:2]] + [x["name"] for x in evidence.shared_hallmarks[:1]]
    if context:
        sentences.append("Both belong to " + "; ".join(context) + ".")
    if evidence.shared_go_terms:
        sentences.append(f"They share the GO term {evidence.shared_go_terms[0]['name']} "
                         f"({evidence.shared_go_terms[0]['id']}).")
    if evidence.shared_complexes:
        sentences.append(f"Both are part of {evidence.shared_complexes[0]['name']} ({evidence.shared_complexes[0]['id']}).")
    linked = evidence.has_direct_relation or evidence.has_path or evidence.has_shared_pathway
    if not linked:
        sentences.append(f"The graphs hold no direct relation, path or shared pathway between {p.symbol} and {t.symbol}.")
    sentences.append(_conclusion(evidence, label, signs, linked))
    return " ".join(sentences)


def _conclusion(evidence: PairEvidence, label: int, signs: set[str], linked: bool) -> str:
    p, t, cell = evidence.perturbed.symbol, evidence.target.symbol, evidence.cell_line
    if label == NOT_CHANGED:
        if linked:
            return (f"These relations do not amount to transcriptional control of {t} strong enough to show after "
                    f"{p} knockdown in {cell}, so {t} is not changed.")
        return f"With nothing tying {t} to {p}, knocking down {p} in {cell} leaves {t} not changed."
    if label == DOWN:
        if "activation" in signs:
            return f"Losing an activator of {t} lowers its transcription, so {t} is downregulated."
        return (f"Losing {p} removes support that {t} depends on in {cell}, so {t} is downregulated."
                if linked else f"{t} nevertheless responds to the loss of {p} in {cell}: it is downregulated.")
    assert label == UP
    if "repression" in signs:
        return f"Losing a repressor of {t} relieves its repression, so {t} is upregulated."
    return (f"Losing {p} triggers a compensatory or stress response that raises {t} in {cell}, so {t} is upregulated."
            if linked else f"{t} nevertheless responds to the loss of {p} in {cell}: it is upregulated.")


def completion(evidence: PairEvidence, label: int) -> str:
    return f"{THINK_OPEN}{reasoning(evidence, label)}{THINK_CLOSE}{ANSWER_OPEN}{LABELS[label]}{ANSWER_CLOSE}"
