"""The attack as a decision process: observe the residual network, remove nodes, receive -objective.

A state is the subgraph of nodes whose removal can still lower the objective (alive nodes in
components of two or more, and for ``reach`` only components holding a source); the episode ends
when none is left. The reward after each single removal is ``-objective / objective(intact) / N``,
and the last one also carries the rest of the robustness curve (the order completed by ``finish_order``),
so an episode of single removals returns exactly ``-R``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from aroma.dismantle.features import node_features
from aroma.dismantle.network import Network
from aroma.dismantle.objectives import check_objective, component_value, curve


@dataclass
class State:
    """Candidate nodes (indices into the network) and their features and edges, renumbered 0..k-1."""

    nodes: np.ndarray
    x: torch.Tensor
    edge_index: torch.Tensor
    embeddings: torch.Tensor | None = None


class DismantleEnv:
    """One network under attack for one objective."""

    def __init__(self, network: Network, objective: str, adjacency: sp.csr_matrix | None = None,
                 feature_set: str = "v1") -> None:
        self.network = network
        self.objective = check_objective(objective)
        self.feature_set = feature_set
        self.adjacency = network.adjacency() if adjacency is None else adjacency
        self._rows = np.repeat(np.arange(self.adjacency.shape[0]), np.diff(self.adjacency.indptr))
        self.is_source = network.source_mask() if objective == "reach" else None
        self.embeddings = None if network.embeddings is None else torch.tensor(network.embeddings, dtype=torch.float32)
        self.reset()

    def reset(self) -> State | None:
        self.alive = np.ones(self.network.n, dtype=bool)
        self.removed: list[int] = []
        self.initial = self.current = self._scan()
        if self.initial == 0:
            self.initial = 1.0
        return self.observe()

    def _scan(self) -> float:
        """Objective now; remembers the candidate nodes for ``observe``."""
        keep = np.flatnonzero(self.alive)
        sub = self._induced(keep)
        _, labels = connected_components(sub, directed=False)
        sizes = np.bincount(labels)
        src = self.is_source[keep] if self.is_source is not None else np.zeros(len(keep), dtype=bool)
        counts = np.bincount(labels, weights=src, minlength=len(sizes))
        relevant = sizes[labels] > 1
        if self.is_source is not None:
            relevant &= counts[labels] > 0
        self._candidates = keep[relevant]
        return component_value(self.objective, sizes, counts)

    def _induced(self, nodes: np.ndarray) -> sp.csr_matrix:
        """The subgraph on ``nodes`` (increasing), renumbered 0..k-1: ``adjacency[nodes][:, nodes]`` with its
        sorted indices, from one pass over the edges instead of scipy's two fancy-indexing steps."""
        position = np.full(self.adjacency.shape[0], -1, dtype=np.int64)
        position[nodes] = np.arange(len(nodes))
        rows, cols = position[self._rows], position[self.adjacency.indices]
        inside = (rows >= 0) & (cols >= 0)
        indptr = np.zeros(len(nodes) + 1, dtype=self.adjacency.indptr.dtype)
        np.cumsum(np.bincount(rows[inside], minlength=len(nodes)), out=indptr[1:])
        return sp.csr_matrix((self.adjacency.data[inside], cols[inside].astype(self.adjacency.indices.dtype), indptr),
                             shape=(len(nodes), len(nodes)))

    def clone(self) -> DismantleEnv:
        """An independent copy of the attack so far (the network and its adjacency are shared, not copied)."""
        twin = copy.copy(self)
        twin.alive = self.alive.copy()
        twin.removed = list(self.removed)
        return twin

    @property
    def done(self) -> bool:
        return len(self._candidates) == 0

    def observe(self) -> State | None:
        """The current state, or None once no removal can lower the objective."""
        if self.done:
            return None
        nodes = self._candidates
        sub = self._induced(nodes)
        x = node_features(sub, None if self.is_source is None else self.is_source[nodes], self.objective,
                          self.feature_set, self.current)
        coo = sub.tocoo()
        edge_index = torch.tensor(np.stack([coo.row, coo.col]), dtype=torch.long)
        embeddings = None if self.embeddings is None else self.embeddings[torch.as_tensor(nodes)]
        return State(nodes, x, edge_index, embeddings)

    def remove(self, nodes) -> float:
        """Remove nodes (network indices); the reward is minus the new normalised objective per node removed,
        plus, once the episode ends, minus the rest of the curve (the tail no removal can lower)."""
        nodes = np.atleast_1d(np.asarray(nodes, dtype=np.int64))
        self.alive[nodes] = False
        self.removed.extend(nodes.tolist())
        now = self.current = self._scan()
        reward = -now / self.initial / self.network.n * len(nodes)
        if self.done:
            tail = curve(self.network, finish_order(self.network, self.removed, self.objective), self.objective)
            reward -= float(tail[len(self.removed) + 1:].sum()) / self.network.n
        return reward


def finish_order(network: Network, prefix: list[int], objective: str) -> list[int]:
    """Complete a removal order: the nodes not yet removed, sources first (for reach), then by degree."""
    taken = np.zeros(network.n, dtype=bool)
    taken[prefix] = True
    rest = np.flatnonzero(~taken)
    degree = network.degrees()[rest]
    first = network.source_mask()[rest] if objective == "reach" else np.zeros(len(rest), dtype=bool)
    keys = np.lexsort((rest, -degree, ~first))
    return list(prefix) + rest[keys].tolist()
