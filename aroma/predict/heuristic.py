"""The evidence heuristic: the graph's evidence for the pair alone, no learning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.predict.base import Knowledge, MethodOptions, Predictor
from aroma.retrieval.evidence import PairEvidence

OUTSIDE_THE_GRAPH = [0.95, 0.025, 0.025]  # a pair whose gene the graph lacks has no evidence: "not changed"


def evidence_heuristic(evidence: PairEvidence) -> list[float]:
    """[not changed, down, up] from the evidence alone: regulation > interaction > path > shared pathway."""
    p, t = evidence.perturbed.symbol, evidence.target.symbol
    regulation = [r for r in evidence.regulations if r.tf == p and r.target == t]
    changed = 0.05
    if regulation:
        changed = 0.6
    elif evidence.interaction:
        changed = 0.1 + 0.4 * evidence.interaction.combined_score / 1000
    elif evidence.paths:
        changed = 0.05 + 0.15 * max(path.strength for path in evidence.paths) / 1000
    if evidence.has_shared_pathway:
        changed = min(changed + 0.05, 0.95)
    signs = {r.sign for r in regulation}
    up_share = 0.2 if signs == {"activation"} else 0.8 if signs == {"repression"} else 0.5  # knockdown of an activator
    return [1 - changed, changed * (1 - up_share), changed * up_share]


@dataclass
class EvidenceHeuristic(Predictor):
    name = "evidence heuristic"
    summary = "the graph evidence alone (regulation > interaction > path > shared pathway), no learning"

    @classmethod
    def create(cls, options: MethodOptions, knowledge: Knowledge) -> EvidenceHeuristic | None:
        return cls() if knowledge.targets_are_genes else None  # gene sets have no gene evidence

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        index, ids = self.knowledge.graph.index, self.knowledge.ids(pairs)
        index.prefetch({ids[g] for p in pairs for g in (p.perturbed, p.target) if g in ids})
        rows = [evidence_heuristic(index.pair(ids[p.perturbed], ids[p.target], p.cell_line))
                if p.perturbed in ids and p.target in ids else OUTSIDE_THE_GRAPH for p in pairs]
        return np.array(rows).reshape(-1, 3)
