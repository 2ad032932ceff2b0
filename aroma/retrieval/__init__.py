"""Evidence retrieval: named Cypher queries → per-gene evidence (batched, cached) → evidence for a pair → text."""

from aroma.retrieval.evidence import PairEvidence
from aroma.retrieval.index import EvidenceIndex, UnknownGene
from aroma.retrieval.render import render_evidence

__all__ = ["EvidenceIndex", "PairEvidence", "UnknownGene", "render_evidence"]
