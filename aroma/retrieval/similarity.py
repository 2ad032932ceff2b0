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
from typing import TYPE_CHECKING, Any

import numpy as np

from aroma.kg.store import GraphStore
from aroma.retrieval.cache import DerivedCache

if TYPE_CHECKING:  # SciPy builds the profiles once per build; comparing genes needs only NumPy (fast start)
    import scipy.sparse as sp

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


@dataclass(frozen=True)
class SparseRows:
    """A sparse genes × features matrix as CSR arrays; a row past the last is all zero (a gene outside the
    graph). Only the products that similarity needs, in NumPy."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    columns: int

    @classmethod
    def of(cls, matrix: Any) -> SparseRows:
        """From a SciPy sparse matrix (or ``SparseRows`` itself)."""
        if isinstance(matrix, SparseRows):
            return matrix
        csr = matrix.tocsr()
        return cls(csr.data, csr.indices, csr.indptr, csr.shape[1])

    @classmethod
    def from_arrays(cls, stored: dict[str, np.ndarray]) -> SparseRows:
        return cls(stored["data"], stored["indices"], stored["indptr"], int(stored["shape"][1]))

    @classmethod
    def dense(cls, table: np.ndarray) -> SparseRows:
        rows, columns = table.shape
        return cls(table.ravel(), np.tile(np.arange(columns), rows), np.arange(0, rows * columns + 1, columns),
                   columns)

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def dense_row(self, row: int) -> np.ndarray:
        vector = np.zeros(self.columns, dtype=np.float64)
        if row < self.rows:
            start, end = self.indptr[row], self.indptr[row + 1]
            vector[self.indices[start:end]] = self.data[start:end]
        return vector

    def dot(self, rows: Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
        """``products(vector)``: each of ``rows`` dotted with a dense vector; the rows' entries are gathered
        once, so many vectors against the same rows cost one gather and one weighted count each."""
        rows = np.asarray(rows, dtype=np.int64)
        at = np.flatnonzero(rows < self.rows)  # positions of the rows inside the matrix (the rest score 0)
        inside = rows[at]
        lengths = self.indptr[inside + 1] - self.indptr[inside]
        offsets = np.repeat(self.indptr[inside] - (np.cumsum(lengths) - lengths), lengths)
        positions = offsets + np.arange(int(lengths.sum()))
        columns, values = self.indices[positions], self.data[positions]
        segment = np.repeat(at, lengths)

        def products(vector: np.ndarray) -> np.ndarray:
            return np.bincount(segment, weights=values * vector[columns], minlength=len(rows))

        return products


def _tfidf_rows(matrix: sp.csr_matrix) -> SparseRows:
    """Inverse-document-frequency weighting, then unit-length rows (empty rows stay zero)."""
    import scipy.sparse as sp

    genes = matrix.shape[0]
    document_frequency = np.asarray((matrix > 0).sum(axis=0)).ravel()
    weighted = matrix @ sp.diags(np.log((genes + 1) / (document_frequency + 1)))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return SparseRows.of(sp.csr_matrix(sp.diags(1 / norms) @ weighted))


def _modality_profile(store: GraphStore, modality: str, row: dict[str, int], string_min_score: int) -> SparseRows:
    """The TF-IDF gene × feature profile of one modality, from its edges in the graph."""
    import scipy.sparse as sp

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


def _csr_arrays(matrix: SparseRows) -> dict[str, np.ndarray]:
    return {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr,
            "shape": np.array([matrix.rows, matrix.columns], dtype=np.int64)}


class GeneSimilarity:
    """Per-modality unit-length gene profiles; ``matrix`` gives the combined similarity of two gene lists."""

    def __init__(self, gene_ids: Sequence[str], profiles: dict[str, Any], config: SimilarityConfig | None = None) -> None:
        """``profiles``: modality → genes × features matrix (``SparseRows`` or a SciPy sparse matrix), rows in
        ``gene_ids`` order."""
        self.config = config or SimilarityConfig()
        missing = [m for m, w in self.config.weights.items() if w and m not in profiles]
        if missing:
            raise ValueError(f"similarity weights name {missing}, which have no profiles (embeddings not given?)")
        self.gene_ids = list(gene_ids)
        self.row = {gene: i for i, gene in enumerate(self.gene_ids)}
        self.profiles = {m: SparseRows.of(p) for m, p in profiles.items()}

    @classmethod
    def from_store(cls, store: GraphStore, config: SimilarityConfig | None = None,
                   embeddings: np.ndarray | None = None, embedding_ids: Sequence[str] | None = None,
                   cache: DerivedCache | None = None) -> GeneSimilarity:
        """Read the graph's genes and their GO, pathway and STRING edges (named queries ``model/*``); the
        profiles are kept in the build's ``cache`` (default: ``DerivedCache.of(store)``)."""
        config = config or SimilarityConfig()
        cache = cache if cache is not None else DerivedCache.of(store)
        gene_ids = cache.json("genes", lambda: [row["id"] for row in store.read("model/gene_nodes")])
        profiles: dict[str, SparseRows] = {}
        for modality in MODALITY_EDGES:
            if config.weights.get(modality):
                name = f"similarity-{modality}" + (f"-min{config.string_min_score}" if modality == "string" else "")
                stored = cache.arrays(name, lambda: _csr_arrays(_modality_profile(
                    store, modality, {gene: i for i, gene in enumerate(gene_ids)}, config.string_min_score)))
                profiles[modality] = SparseRows.from_arrays(stored)
        if embeddings is not None and config.weights.get("embedding"):
            table = np.zeros((len(gene_ids), embeddings.shape[1]), dtype=np.float32)
            position = {gene: i for i, gene in enumerate(embedding_ids or [])}
            for i, gene in enumerate(gene_ids):
                if gene in position:
                    table[i] = embeddings[position[gene]]
            norms = np.linalg.norm(table, axis=1, keepdims=True)
            profiles["embedding"] = SparseRows.dense(table / np.where(norms == 0, 1, norms))
        return cls(gene_ids, profiles, config)

    def _rows(self, genes: Sequence[str | None]) -> list[int]:
        outside = len(self.gene_ids)  # past the last row: all zero
        return [self.row.get(g, outside) if g is not None else outside for g in genes]

    def matrix(self, queries: Sequence[str | None], candidates: Sequence[str | None]) -> np.ndarray:
        """Combined similarity ``[len(queries), len(candidates)]`` in [0, 1] (the weighted mean of the modality
        cosines); genes outside the graph score 0."""
        return self.against(candidates)(queries)

    def against(self, candidates: Sequence[str | None]) -> Callable[[Sequence[str | None]], np.ndarray]:
        """``matrix(·, candidates)`` for many queries against the same candidates, whose profile entries are
        gathered once (a knockdown's neighbours are always ranked among the same training knockdowns)."""
        c = self._rows(candidates)
        weights = {m: w for m, w in self.config.weights.items() if w}
        products = {m: self.profiles[m].dot(c) for m in weights}
        scale = max(sum(self.config.weights.values()), 1e-12)

        def matrix(queries: Sequence[str | None]) -> np.ndarray:
            total = np.zeros((len(queries), len(c)), dtype=np.float64)
            for i, q in enumerate(self._rows(queries)):
                for modality, weight in weights.items():
                    total[i] += weight * products[modality](self.profiles[modality].dense_row(q))
            return total / scale

        return matrix

    def pairwise(self, a: Sequence[str | None], b: Sequence[str | None]) -> dict[str, np.ndarray]:
        """Per-modality cosine of each (a[i], b[i]) pair."""
        ra, rb = np.array(self._rows(a), dtype=np.int64), np.array(self._rows(b), dtype=np.int64)
        out = {m: np.zeros(len(ra)) for m in self.profiles}
        for q in np.unique(ra).tolist():  # one dense row per distinct first gene (usually one: the knockdown)
            at = np.flatnonzero(ra == q)
            for modality, profile in self.profiles.items():
                out[modality][at] = profile.dot(rb[at])(profile.dense_row(q))
        return out
