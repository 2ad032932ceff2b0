"""What an attack minimises, each a plain function of the network after removals, and the robustness R.

* ``lcc``: nodes in the largest connected component.
* ``pairwise``: connected node pairs, the sum of s(s-1)/2 over components (Schneider et al. 2011).
* ``reach``: nodes still connected to a surviving *source* gene (a receptor, or a transcription factor
  where the network has no receptor). A pathway works when the signal entering at its receptors can
  reach its genes; a fragment cut off from every receptor is silenced even if it is large, and a
  receptor that is knocked down no longer lets signal in. This is the attack a biologist wants to
  find: the fewest knockdowns that silence the pathway, not merely break it into pieces.

``R = (1/N) sum_{k=1..N} objective(after k removals) / objective(intact)``; lower is a better attack.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from aroma.dismantle.network import Network
from aroma.errors import AromaError

OBJECTIVES = ("lcc", "pairwise", "reach")


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise AromaError(f"unknown objective {name!r}: choose one of {', '.join(OBJECTIVES)}")
    return name


def component_value(objective: str, sizes: np.ndarray, source_counts: np.ndarray) -> float:
    """The objective from the components' sizes and how many sources each holds."""
    if len(sizes) == 0:
        return 0.0
    if objective == "lcc":
        return float(sizes.max())
    if objective == "pairwise":
        return float((sizes * (sizes - 1) // 2).sum())
    return float(sizes[source_counts > 0].sum())


def value(network: Network, alive: np.ndarray, objective: str, adjacency: sp.csr_matrix | None = None) -> float:
    """The objective on the subgraph induced by the ``alive`` mask."""
    adjacency = network.adjacency() if adjacency is None else adjacency
    keep = np.flatnonzero(alive)
    if len(keep) == 0:
        return 0.0
    _, labels = connected_components(adjacency[keep][:, keep], directed=False)
    sizes = np.bincount(labels)
    sources = network.source_mask()[keep] if objective == "reach" else np.zeros(len(keep), dtype=bool)
    return component_value(objective, sizes, np.bincount(labels, weights=sources, minlength=len(sizes)))


def curve(network: Network, order: Sequence[int], objective: str) -> np.ndarray:
    """``values[k]`` = objective after removing ``order[:k]`` (k = 0..N), divided by the intact value.

    Computed in one pass by adding the nodes back in reverse order with a union-find.
    """
    objective = check_objective(objective)
    n = network.n
    order = np.asarray(order, dtype=np.int64).tolist()
    if sorted(order) != list(range(n)):
        raise AromaError(f"network {network.name}: a removal order must name each of its {n} nodes once")
    neighbours = network.neighbours()
    is_source = network.source_mask() if objective == "reach" else np.zeros(n, dtype=bool)
    parent = list(range(n))
    size = [1] * n
    sources = [int(s) for s in is_source]
    present = [False] * n

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    values = [0] * (n + 1)
    largest, pairs, reach = 0, 0, 0
    for k in range(n - 1, -1, -1):
        v = order[k]
        present[v] = True
        largest = max(largest, 1)
        reach += sources[v] > 0
        for u in neighbours[v]:
            if not present[u]:
                continue
            a, b = find(u), find(v)
            if a == b:
                continue
            if size[a] < size[b]:
                a, b = b, a
            before = (size[a] if sources[a] else 0) + (size[b] if sources[b] else 0)
            pairs += size[a] * size[b]
            parent[b] = a
            size[a] += size[b]
            sources[a] += sources[b]
            reach += (size[a] if sources[a] else 0) - before
            largest = max(largest, size[a])
        values[k] = largest if objective == "lcc" else pairs if objective == "pairwise" else reach
    if values[0] == 0:
        raise AromaError(f"network {network.name}: the {objective} objective is already zero before any removal")
    return np.array(values, dtype=np.float64) / values[0]


def robustness(values: np.ndarray) -> float:
    """R: the mean of the normalised objective over removals 1..N (the area under the curve)."""
    return float(values[1:].mean())
