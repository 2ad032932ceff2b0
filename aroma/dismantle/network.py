"""The undirected network an attack runs on: nodes, unique edges, optional sources and embeddings."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

from aroma.errors import AromaError


@dataclass
class Network:
    """Nodes ``0..n-1`` named by ``names``; ``edges`` holds each undirected pair once (``i < j``)."""

    name: str
    names: list[str]
    edges: np.ndarray
    ids: list[str] | None = None
    sources: np.ndarray | None = None  # bool mask: where signal enters (the "reach" objective)
    embeddings: np.ndarray | None = None  # (n, d) learned graph embeddings, rows of zeros where missing
    meta: dict = field(default_factory=dict)
    _neighbours: list[list[int]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def from_pairs(cls, name: str, names: list[str], pairs, **kwargs) -> Network:
        """Build from index pairs in any order; self-loops and repeats are dropped."""
        array = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, dtype=np.int64).reshape(-1, 2)
        if len(array) and (array.min() < 0 or array.max() >= len(names)):
            raise AromaError(f"network {name}: edge endpoint outside 0..{len(names) - 1}")
        array = np.sort(array[array[:, 0] != array[:, 1]], axis=1)
        array = np.unique(array, axis=0) if len(array) else array
        return cls(name, list(names), array, **kwargs)

    @classmethod
    def from_networkx(cls, name: str, graph: nx.Graph, **kwargs) -> Network:
        nodes = list(graph.nodes)
        index = {v: i for i, v in enumerate(nodes)}
        return cls.from_pairs(name, [str(v) for v in nodes], [(index[a], index[b]) for a, b in graph.edges], **kwargs)

    def adjacency(self) -> sp.csr_matrix:
        """Symmetric 0/1 adjacency in CSR form."""
        n, e = self.n, self.edges
        rows = np.concatenate([e[:, 0], e[:, 1]])
        cols = np.concatenate([e[:, 1], e[:, 0]])
        return sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))

    def neighbours(self) -> list[list[int]]:
        """Each node's neighbours in increasing order, as Python lists (built once; ``edges`` never change)."""
        if self._neighbours is None:
            adjacency = self.adjacency()
            self._neighbours = [row.tolist() for row in np.split(adjacency.indices, adjacency.indptr[1:-1])]
        return self._neighbours

    def to_networkx(self) -> nx.Graph:
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n))
        graph.add_edges_from(map(tuple, self.edges.tolist()))
        return graph

    def degrees(self) -> np.ndarray:
        return np.bincount(self.edges.ravel(), minlength=self.n)

    def source_mask(self) -> np.ndarray:
        if self.sources is None or not self.sources.any():
            raise AromaError(f"network {self.name} has no source genes (receptors or transcription factors), "
                             "which the 'reach' objective needs")
        return self.sources


def synthetic(kind: str, n: int, rng: np.random.Generator, source_share: float = 0.1) -> Network:
    """A Barabási–Albert, Erdős–Rényi or Watts–Strogatz graph with a random share of source nodes."""
    seed = int(rng.integers(2**31))
    if kind == "ba":
        graph = nx.barabasi_albert_graph(n, int(rng.integers(1, 4)), seed=seed)
    elif kind == "er":
        graph = nx.gnp_random_graph(n, float(rng.uniform(1.5, 4.0)) / n, seed=seed)
    elif kind == "ws":
        graph = nx.connected_watts_strogatz_graph(n, 2 * int(rng.integers(1, 3)), float(rng.uniform(0.05, 0.3)),
                                                  seed=seed)
    else:
        raise AromaError(f"unknown synthetic graph kind {kind!r}: choose ba, er or ws")
    sources = np.zeros(n, dtype=bool)
    sources[rng.choice(n, max(1, round(source_share * n)), replace=False)] = True
    return Network.from_networkx(f"{kind}-{n}-{seed}", graph, sources=sources)
