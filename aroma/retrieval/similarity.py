"""How alike two knockdowns are, from the graph alone: TF-IDF cosine over each gene's GO terms, pathways
and STRING neighbourhood (and learned embeddings when given), combined with configurable weights.

Each modality is a sparse gene × feature matrix: GO terms a gene is annotated with, pathways and gene sets
it belongs to, STRING partners weighted by score (links of at least medium confidence, 400, so that a graph
built with every low-score link has the same profiles; plus the gene itself, so direct partners are alike).
Features shared by many genes count less (inverse document frequency), rows are L2-normalised, and the
similarity of two genes is the weighted sum of their per-modality cosines, in [0, sum of weights].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from aroma.kg.store import GraphStore
from aroma.retrieval.cache import DerivedCache

# modality → relationship types read through model/edges
MODALITY_EDGES: dict[str, str] = {"go": "ANNOTATED_WITH", "pathway": "MEMBER_OF", "string": "INTERACTS_WITH"}


@dataclass(frozen=True)
class SimilarityConfig:
    """Weight of each modality in the combined similarity (0 leaves it out); ``embedding`` needs vectors."""

    weights: dict[str, float] = field(default_factory=lambda: {"go": 1.0, "pathway": 0.5, "string": 1.0})
    string_min_score: int = 400  # STRING links below this (STRING's medium confidence) are no partners here

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(MODALITY_EDGES) - {"embedding"}
        if unknown:
            raise ValueError(f"unknown similarity modality {sorted(unknown)}; known: "
                             f"{sorted(MODALITY_EDGES) + ['embedding']}")


def _tfidf_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Inverse-document-frequency weighting, then unit-length rows (empty rows stay zero)."""
    genes = matrix.shape[0]
    document_frequency = np.asarray((matrix > 0).sum(axis=0)).ravel()
    weighted = matrix @ sp.diags(np.log((genes + 1) / (document_frequency + 1)))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1 / norms) @ weighted)


def _modality_profile(store: GraphStore, modality: str, row: dict[str, int], string_min_score: int) -> sp.csr_matrix:
    """The TF-IDF gene × feature profile of one modality, from its edges in the graph."""
    rows, columns, values, feature = [], [], [], {}
    edges = store.read("retrieval/string_profile_links", min_score=string_min_score) if modality == "string" \
        else store.read("model/edges", types=[MODALITY_EDGES[modality]])
    for edge in edges:
        score = edge["score"] / 1000 if edge["score"] is not None else 1.0
        ends = [(edge["source"], edge["target"])]
        if modality == "string":  # undirected: each gene's partners are its features
            ends.append((edge["target"], edge["source"]))
        for gene, other in ends:
            if gene in row:
                rows.append(row[gene])
                columns.append(feature.setdefault(other, len(feature)))
                values.append(score)
    if modality == "string":  # a gene is alike its strongest partners: itself as a feature
        for gene, i in row.items():
            rows.append(i)
            columns.append(feature.setdefault(gene, len(feature)))
            values.append(1.0)
    matrix = sp.csr_matrix((values, (rows, columns)), shape=(len(row), max(len(feature), 1)))
    return _tfidf_rows(matrix)


def _csr_arrays(matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr,
            "shape": np.array(matrix.shape, dtype=np.int64)}


class GeneSimilarity:
    """Per-modality unit-length gene profiles; ``matrix`` gives the combined similarity of two gene lists."""

    def __init__(self, gene_ids: Sequence[str], profiles: dict[str, sp.csr_matrix],
                 config: SimilarityConfig | None = None) -> None:
        self.config = config or SimilarityConfig()
        missing = [m for m, w in self.config.weights.items() if w and m not in profiles]
        if missing:
            raise ValueError(f"similarity weights name {missing}, which have no profiles (embeddings not given?)")
        self.gene_ids = list(gene_ids)
        self.row = {gene: i for i, gene in enumerate(self.gene_ids)}
        # one extra all-zero row for genes outside the graph
        self.profiles = {m: sp.vstack([p, sp.csr_matrix((1, p.shape[1]))]).tocsr() for m, p in profiles.items()}

    @classmethod
    def from_store(cls, store: GraphStore, config: SimilarityConfig | None = None,
                   embeddings: np.ndarray | None = None, embedding_ids: Sequence[str] | None = None,
                   cache: DerivedCache | None = None) -> GeneSimilarity:
        """Read the graph's genes and their GO, pathway and STRING edges (named queries ``model/*``); the
        profiles are kept in the build's ``cache`` (default: ``DerivedCache.of(store)``)."""
        config = config or SimilarityConfig()
        cache = cache if cache is not None else DerivedCache.of(store)
        gene_ids = cache.json("genes", lambda: [row["id"] for row in store.read("model/gene_nodes")])
        row = {gene: i for i, gene in enumerate(gene_ids)}
        profiles: dict[str, sp.csr_matrix] = {}
        for modality in MODALITY_EDGES:
            if config.weights.get(modality):
                name = f"similarity-{modality}" + (f"-min{config.string_min_score}" if modality == "string" else "")
                stored = cache.arrays(name, lambda: _csr_arrays(
                    _modality_profile(store, modality, row, config.string_min_score)))
                profiles[modality] = sp.csr_matrix((stored["data"], stored["indices"], stored["indptr"]),
                                                   shape=tuple(stored["shape"]))
        if embeddings is not None and config.weights.get("embedding"):
            table = np.zeros((len(gene_ids), embeddings.shape[1]), dtype=np.float32)
            position = {gene: i for i, gene in enumerate(embedding_ids or [])}
            for gene, i in row.items():
                if gene in position:
                    table[i] = embeddings[position[gene]]
            norms = np.linalg.norm(table, axis=1, keepdims=True)
            profiles["embedding"] = sp.csr_matrix(table / np.where(norms == 0, 1, norms))
        return cls(gene_ids, profiles, config)

    def _rows(self, genes: Sequence[str | None]) -> list[int]:
        empty = len(self.gene_ids)
        return [self.row.get(g, empty) if g is not None else empty for g in genes]

    def matrix(self, queries: Sequence[str | None], candidates: Sequence[str | None]) -> np.ndarray:
        """Combined similarity ``[len(queries), len(candidates)]`` in [0, 1] (the weighted mean of the modality
        cosines); genes outside the graph score 0."""
        return self.against(candidates)(queries)

    def against(self, candidates: Sequence[str | None]) -> Callable[[Sequence[str | None]], np.ndarray]:
        """``matrix(·, candidates)`` for many queries against the same candidates, whose profiles are sliced
        and transposed once (a knockdown's neighbours are always ranked among the same training knockdowns)."""
        c = self._rows(candidates)
        weights = {m: w for m, w in self.config.weights.items() if w}
        sliced = {m: self.profiles[m][c].T.tocsr() for m in weights}  # the form the product converts it to
        scale = max(sum(self.config.weights.values()), 1e-12)

        def matrix(queries: Sequence[str | None]) -> np.ndarray:
            q = self._rows(queries)
            total = np.zeros((len(q), len(c)), dtype=np.float64)
            for modality, weight in weights.items():
                total += weight * (self.profiles[modality][q] @ sliced[modality]).toarray()
            return total / scale

        return matrix

    def pairwise(self, a: Sequence[str | None], b: Sequence[str | None]) -> dict[str, np.ndarray]:
        """Per-modality cosine of each (a[i], b[i]) pair."""
        ra, rb = self._rows(a), self._rows(b)
        return {m: np.asarray(p[ra].multiply(p[rb]).sum(axis=1)).ravel() for m, p in self.profiles.items()}
