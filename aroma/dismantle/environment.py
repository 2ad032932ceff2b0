"""The attack as a decision process: observe the residual network, remove nodes, receive -objective.

A state is the subgraph of nodes whose removal can still lower the objective (alive nodes in
components of two or more, and for ``reach`` only components holding a source); the episode ends
when none is left. The reward after each single removal is ``-objective / objective(intact) / N``,
so an episode's return is ``-R`` up to the flat tail after the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components, shortest_path

from aroma.dismantle.network import Network
from aroma.dismantle.objectives import check_objective, component_value

FEATURES = ("one", "degree", "core", "degree_rank", "betweenness", "source")
PIVOTS = 32  # betweenness is estimated from the BFS trees of this many pivots in graphs over ALL_PIVOTS nodes
ALL_PIVOTS = 256  # up to this many nodes every node is a pivot, as in training


@dataclass
class State:
    """Candidate nodes (indices into the network) and their features and edges, renumbered 0..k-1."""

    nodes: np.ndarray
    x: torch.Tensor
    edge_index: torch.Tensor
    embeddings: torch.Tensor | None = None


def core_numbers(adjacency: sp.csr_matrix) -> np.ndarray:
    """k-core index of every node by vectorised peeling (one sparse product per peeling round)."""
    n = adjacency.shape[0]
    adjacency = adjacency.astype(np.int32)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    core = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    k = 0
    while alive.any():
        k = max(k, int(degree[alive].min()))
        while True:
            peel = alive & (degree <= k)
            if not peel.any():
                break
            core[peel] = k
            alive &= ~peel
            degree = degree - adjacency @ peel.astype(np.int32)
    return core


def betweenness(adjacency: sp.csr_matrix, seed: int = 0) -> np.ndarray:
    """Tree betweenness: summed over pivots (every node up to ``ALL_PIVOTS`` nodes, else ``PIVOTS`` seeded
    ones), each node's number of descendants in the pivot's BFS tree. Linear time per pivot; exact where
    shortest paths are unique."""
    n = adjacency.shape[0]
    total = np.zeros(n)
    pivots = np.arange(n) if n <= ALL_PIVOTS else np.random.default_rng(seed).choice(n, PIVOTS, replace=False)
    # one C call: BFS distances and a shortest-path tree (predecessors) from every pivot
    dist, pred = shortest_path(adjacency, method="D", directed=True, unweighted=True, indices=pivots,
                               return_predecessors=True)
    for row, pivot in enumerate(pivots):
        reached = np.isfinite(dist[row])
        depth = np.where(reached, dist[row], -1).astype(np.int64)
        below = reached.astype(np.float64)
        for d in range(int(depth.max()), 0, -1):  # leaves first, one vectorised step per BFS level
            nodes = np.flatnonzero(depth == d)
            np.add.at(below, pred[row, nodes], below[nodes])
        below[reached] -= 1.0  # descendants, the node itself not counted
        below[pivot] = 0.0
        total += below
    return total


def node_features(adjacency: sp.csr_matrix, sources: np.ndarray | None) -> torch.Tensor:
    """Scale-free features (see ``FEATURES``) so that agents trained on small graphs transfer to large ones."""
    n = adjacency.shape[0]
    degree = np.asarray(adjacency.sum(axis=1)).ravel().astype(np.float64)
    core = core_numbers(adjacency).astype(np.float64)
    rank = np.empty(n)
    rank[np.argsort(degree, kind="stable")] = np.arange(n) / max(n - 1, 1)
    between = betweenness(adjacency).clip(0)
    source = sources.astype(np.float64) if sources is not None else np.zeros(n)
    columns = [np.ones(n), degree / max(degree.max(), 1), core / max(core.max(), 1), rank,
               between / max(between.max(), 1e-9), source]
    return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)


class DismantleEnv:
    """One network under attack for one objective."""

    def __init__(self, network: Network, objective: str, adjacency: sp.csr_matrix | None = None) -> None:
        self.network = network
        self.objective = check_objective(objective)
        self.adjacency = network.adjacency() if adjacency is None else adjacency
        self.is_source = network.source_mask() if objective == "reach" else None
        self.embeddings = None if network.embeddings is None else torch.tensor(network.embeddings, dtype=torch.float32)
        self.reset()

    def reset(self) -> State | None:
        self.alive = np.ones(self.network.n, dtype=bool)
        self.removed: list[int] = []
        self.initial = self._scan()
        if self.initial == 0:
            self.initial = 1.0
        return self.observe()

    def _scan(self) -> float:
        """Objective now; remembers the candidate nodes for ``observe``."""
        keep = np.flatnonzero(self.alive)
        sub = self.adjacency[keep][:, keep]
        _, labels = connected_components(sub, directed=False)
        sizes = np.bincount(labels)
        src = self.is_source[keep] if self.is_source is not None else np.zeros(len(keep), dtype=bool)
        counts = np.bincount(labels, weights=src, minlength=len(sizes))
        relevant = sizes[labels] > 1
        if self.is_source is not None:
            relevant &= counts[labels] > 0
        self._candidates = keep[relevant]
        return component_value(self.objective, sizes, counts)

    @property
    def done(self) -> bool:
        return len(self._candidates) == 0

    def observe(self) -> State | None:
        """The current state, or None once no removal can lower the objective."""
        if self.done:
            return None
        nodes = self._candidates
        sub = self.adjacency[nodes][:, nodes].tocoo()
        x = node_features(sub.tocsr(), None if self.is_source is None else self.is_source[nodes])
        edge_index = torch.tensor(np.stack([sub.row, sub.col]), dtype=torch.long)
        embeddings = None if self.embeddings is None else self.embeddings[torch.as_tensor(nodes)]
        return State(nodes, x, edge_index, embeddings)

    def remove(self, nodes) -> float:
        """Remove nodes (network indices); the reward is minus the new normalised objective per node removed."""
        nodes = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
        self.alive[nodes] = False
        self.removed.extend(nodes.tolist())
        now = self._scan()
        return -now / self.initial / self.network.n * len(nodes)


def finish_order(network: Network, prefix: list[int], objective: str) -> list[int]:
    """Complete a removal order: the nodes not yet removed, sources first (for reach), then by degree."""
    taken = np.zeros(network.n, dtype=bool)
    taken[prefix] = True
    rest = np.flatnonzero(~taken)
    degree = network.degrees()[rest]
    first = network.source_mask()[rest] if objective == "reach" else np.zeros(len(rest), dtype=bool)
    keys = np.lexsort((rest, -degree, ~first))
    return list(prefix) + rest[keys].tolist()
