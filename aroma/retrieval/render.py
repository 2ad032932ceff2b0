"""Evidence → plain text for a language model; each line carries its source and identifiers."""

from __future__ import annotations

from aroma.retrieval.evidence import ExperimentalEvidence, GeneFacts, PairEvidence


MAX_PMIDS = 5


def score_text(value: int) -> str:
    """A STRING score (0–1000) as written in evidence and reasoning: 0.998."""
    return f"{value / 1000:.3f}"


_GENE_LINES: dict[tuple[str, int], tuple[GeneFacts, list[str]]] = {}  # (role, id(facts)) → facts, lines
_GENE_LINES_KEPT = 100_000


def _gene_lines(role: str, gene: GeneFacts) -> list[str]:
    """The lines of one gene; remembered per facts object (a dataset renders each gene in many pairs)."""
    known = _GENE_LINES.get((role, id(gene)))
    if known is not None and known[0] is gene:
        return known[1]
    if len(_GENE_LINES) >= _GENE_LINES_KEPT:
        _GENE_LINES.clear()
    lines = _render_gene(role, gene)
    _GENE_LINES[(role, id(gene))] = (gene, lines)
    return lines


def _render_gene(role: str, gene: GeneFacts) -> list[str]:
    lines = [f"{role} {gene.symbol} ({gene.id or 'not in the graph'}): {gene.description or 'no description'}"
             f" [{gene.type or 'unknown type'}; NCBI Gene]"]
    if gene.is_tf:
        lines.append(f"  {gene.symbol} is a transcription factor: " + "; ".join(gene.tf_evidence))
    if gene.processes:
        lines.append("  GO processes: " + "; ".join(f"{p.name} ({p.id})" for p in gene.processes))
    if gene.top_interactors:
        partners = ", ".join(f"{i.symbol} {score_text(i.combined_score)}" for i in gene.top_interactors)
        lines.append(f"  STRING degree {gene.degree}; strongest partners: {partners}")
    return lines


SHOWN_NEIGHBOURS = 10


def experiment_lines(evidence: PairEvidence) -> list[str]:
    """The experimental evidence: what the most similar training knockdowns did to T, and P elsewhere."""
    if evidence.experiments is None:
        return []
    return experiments_lines(evidence.experiments, evidence.perturbed.symbol, evidence.target.symbol)


def experiments_lines(experiments: ExperimentalEvidence, p: str, t: str) -> list[str]:
    """What the training knockdowns most like ``p`` did to ``t``, and what ``p`` did in other cell lines."""
    lines = [f"Experiments (PerturbQA training split, {experiments.cell_line}): "
             + experiments.summary(p, t)]
    votes = experiments.votes
    if votes is not None:
        direction = (f"of the {votes.direction_count} most like {p} that changed {t}, share up {votes.up:.2f}"
                     if votes.up is not None else f"none of those most like {p} changed {t}")
        lines.append(f"  Weighted by similarity²: share that changed {t} {votes.changed:.2f}; {direction}")
    for n in experiments.neighbours[:SHOWN_NEIGHBOURS]:
        lines.append(f"  {n.symbol} knockdown (similarity to {p} {n.similarity:.2f}; changed {n.strength:.0%} of its "
                     f"measured genes): {t} {n.effect}")
    for other in experiments.other_cell_lines:
        effect = f"{t} {other.effect_on_target}" if other.effect_on_target else f"{t} not measured"
        lines.append(f"  {p} knockdown in {other.cell_line}: {effect}; changed {other.strength:.0%} of its measured "
                     f"genes ({other.up_share:.0%} of those up)")
    return lines


def render_evidence(evidence: PairEvidence) -> str:
    """A compact, source-annotated text block describing the pair."""
    p, t = evidence.perturbed, evidence.target
    lines = experiment_lines(evidence) + _gene_lines("Perturbed gene", p) + _gene_lines("Target gene", t)
    lines.append("Direct relations:")
    if evidence.interaction:
        i = evidence.interaction
        channels = ", ".join(f"{k} {score_text(v)}" for k, v in sorted(i.channels.items()))
        lines.append(f"  {i.source}: {i.a}–{i.b} combined score {score_text(i.combined_score)}"
                     + (f" ({channels})" if channels else ""))
    for r in evidence.regulations:
        more = f" and {len(r.pmids) - MAX_PMIDS} more" if len(r.pmids) > MAX_PMIDS else ""
        lines.append(f"  TRRUST v2: {r.tf} → {r.target}, {r.sign} (PMID {', '.join(r.pmids[:MAX_PMIDS]) or 'none'}{more})")
    if not evidence.has_direct_relation:
        lines.append("  none found in STRING or TRRUST")
    if evidence.paths:
        lines.append("Paths in the STRING network (weakest edge score):")
        for path in evidence.paths:
            lines.append(f"  {' – '.join(path.symbols)} ({score_text(path.strength)})")
    for title, items in (("Shared pathways", evidence.shared_pathways),
                         ("Shared hallmark gene sets (MSigDB)", evidence.shared_hallmarks)):
        if items:
            lines.append(f"{title}: " + "; ".join(f"{x.name} ({x.id}, {x.size} genes)" for x in items))
    for title, items in (("Shared GO terms (most specific first)", evidence.shared_go_terms),
                         ("Shared protein complexes (GO)", evidence.shared_complexes)):
        if items:
            lines.append(f"{title}: " + "; ".join(f"{x.name} ({x.id})" for x in items))
    return "\n".join(lines)
