"""Node features of the residual network, recomputed at every step of an attack.

Three feature sets: ``v1`` (structure only; agents trained before ``v2`` keep it), ``v2``, which adds
what one removal would do to the objective (the one-step reward), collective influence, the share of
the candidates in the node's component, and exact betweenness on pathway-sized graphs; and ``v3``, the
``v2`` columns with tied values sharing one rank (``v2`` ranks ties by node index, which is noise: on a
large network most genes tie at a one-step drop of zero). All features are scale-free so that agents
trained on small graphs transfer to large ones.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.stats import rankdata

from aroma.errors import AromaError

FEATURE_SETS = {
    "v1": ("one", "degree", "core", "degree_rank", "betweenness", "source"),
    "v2": ("one", "degree", "core", "degree_rank", "betweenness", "source", "drop", "drop_rank",
           "collective_influence", "component_share", "component_vs_largest", "betweenness_rank"),
}
FEATURE_SETS["v3"] = FEATURE_SETS["v2"]  # the same columns; ties share their mean rank
PIVOTS = 32  # betweenness is estimated from the BFS trees of this many pivots in graphs over ALL_PIVOTS nodes
ALL_PIVOTS = 256  # up to this many nodes every node is a pivot (v1) / betweenness is exact (v2)


def check_feature_set(name: str) -> tuple[str, ...]:
    if name not in FEATURE_SETS:
        raise AromaError(f"unknown feature set {name!r}: choose one of {', '.join(FEATURE_SETS)}")
    return FEATURE_SETS[name]


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


def tree_betweenness(adjacency: sp.csr_matrix, seed: int = 0) -> np.ndarray:
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


def exact_betweenness(adjacency: sp.csr_matrix) -> np.ndarray:
    """Brandes' betweenness (unnormalised, undirected) for all sources at once with dense level-by-level
    sparse-dense products: O(diameter * N * M), fast for pathway-sized graphs. The forward sweep counts
    shortest paths and finds each source's BFS levels in the same products (no separate distance pass)."""
    n = adjacency.shape[0]
    a = adjacency.astype(np.float64).tocsr()
    sigma = np.eye(n)  # shortest paths from s (row) to v (column)
    reached = sigma > 0
    front = sigma
    levels = [reached.copy()]  # levels[d][s, v]: v is d steps from s
    while True:
        paths = (a @ front.T).T  # paths to each node through the last level
        level = (paths > 0) & ~reached
        if not level.any():
            break
        front = paths * level
        sigma += front
        reached |= level
        levels.append(level)
    delta = np.zeros((n, n))
    safe = np.where(sigma > 0, sigma, 1.0)
    for d in range(len(levels) - 2, 0, -1):
        spread = (a @ (levels[d + 1] * (1.0 + delta) / safe).T).T
        delta += levels[d] * sigma * spread
    return delta.sum(axis=0) / 2.0


def betweenness(adjacency: sp.csr_matrix, exact: bool = False) -> np.ndarray:
    if exact and adjacency.shape[0] <= ALL_PIVOTS:
        return exact_betweenness(adjacency)
    return tree_betweenness(adjacency)


def collective_influence(adjacency: sp.csr_matrix) -> np.ndarray:
    """Collective influence at radius 2 in its message-passing form (Morone & Makse 2015):
    (k_i - 1) * sum of (k_l - 1) over non-backtracking 2-step walks i-j-l; on locally tree-like networks
    this is the sum over the ball's boundary, and it costs two sparse products even on all of STRING."""
    a = adjacency.astype(np.float64).tocsr()
    k = np.asarray(a.sum(axis=1)).ravel()
    excess = (k - 1).clip(0)
    walks = a @ (a @ excess) - k * excess  # walks i-j-l less the ones that come back (l = i)
    return excess * walks


def _dfs_lowpoints(adjacency: sp.csr_matrix, sources: np.ndarray):
    """Iterative DFS: parent, discovery time, low point, subtree size and subtree source count per node."""
    n = adjacency.shape[0]
    indptr, indices = adjacency.indptr.tolist(), adjacency.indices.tolist()
    src = sources.astype(np.int64).tolist()
    disc, low, parent = [-1] * n, [0] * n, [-1] * n
    size, below = [1] * n, list(src)
    clock = 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, indptr[root])]
        while stack:
            v, i = stack[-1]
            if i < indptr[v + 1]:
                stack[-1] = (v, i + 1)
                w = indices[i]
                if disc[w] < 0:
                    parent[w] = v
                    disc[w] = low[w] = clock
                    clock += 1
                    stack.append((w, indptr[w]))
                elif w != parent[v] and disc[w] < low[v]:
                    low[v] = disc[w]
            else:
                stack.pop()
                p = parent[v]
                if p >= 0:
                    if low[v] < low[p]:
                        low[p] = low[v]
                    size[p] += size[v]
                    below[p] += below[v]
    return (np.array(parent), np.array(disc), np.array(low), np.array(size, dtype=np.float64),
            np.array(below, dtype=np.float64))


def removal_values(adjacency: sp.csr_matrix, objective: str, sources: np.ndarray | None = None,
                   labels: np.ndarray | None = None) -> np.ndarray:
    """The objective after removing each single node (with the others kept), for every node at once.

    Linear time: a DFS finds, per node, the subtrees its removal cuts off (children whose low point does
    not reach above it); its component splits into those subtrees and the rest."""
    n = adjacency.shape[0]
    src = np.zeros(n, dtype=bool) if sources is None else sources.astype(bool)
    if labels is None:
        _, labels = connected_components(adjacency, directed=False)
    comp_size = np.bincount(labels).astype(np.float64)
    comp_src = np.bincount(labels, weights=src, minlength=len(comp_size))
    parent, disc, low, size, below = _dfs_lowpoints(adjacency, src)
    child = np.flatnonzero(parent >= 0)
    cut = child[low[child] >= disc[parent[child]]]  # subtrees cut off when their parent goes
    owner = parent[cut]
    pieces_size = np.zeros(n)
    pieces_src = np.zeros(n)
    np.add.at(pieces_size, owner, size[cut])
    np.add.at(pieces_src, owner, below[cut])
    rest_size = comp_size[labels] - 1 - pieces_size
    rest_src = comp_src[labels] - src - pieces_src
    if objective == "lcc":
        biggest_piece = np.zeros(n)
        np.maximum.at(biggest_piece, owner, size[cut])
        biggest_piece = np.maximum(biggest_piece, rest_size)
        order = np.sort(comp_size)[::-1]
        first, second = order[0], (order[1] if len(order) > 1 else 0.0)
        others = np.where((comp_size[labels] == first) & (np.sum(comp_size == first) == 1), second, first)
        return np.maximum(others, biggest_piece)
    if objective == "pairwise":
        pairs = float((comp_size * (comp_size - 1) / 2).sum())
        cut_pairs = np.zeros(n)
        np.add.at(cut_pairs, owner, size[cut] * (size[cut] - 1) / 2)
        own = comp_size[labels]
        return pairs - own * (own - 1) / 2 + cut_pairs + rest_size * (rest_size - 1) / 2
    if objective == "reach":
        reach = float(comp_size[comp_src > 0].sum())
        cut_reach = np.zeros(n)
        np.add.at(cut_reach, owner, size[cut] * (below[cut] > 0))
        own = comp_size[labels] * (comp_src[labels] > 0)
        return reach - own + cut_reach + rest_size * (rest_src > 0)
    raise AromaError(f"unknown objective {objective!r}")


def _rank(values: np.ndarray, ties: bool = False) -> np.ndarray:
    """Each value's rank scaled to 0..1; with ``ties``, equal values share their mean rank, else the node
    index breaks ties."""
    n = len(values)
    if ties:
        return (rankdata(values, method="average") - 1.0) / max(n - 1, 1)
    rank = np.empty(n)
    rank[np.argsort(values, kind="stable")] = np.arange(n) / max(n - 1, 1)
    return rank


SEARCH = "search"  # internal feature set: only what the beam demonstrator ranks by (SEARCH_COLUMNS)
SEARCH_COLUMNS = ("degree", "betweenness", "drop")


def node_features(adjacency: sp.csr_matrix, sources: np.ndarray | None, objective: str = "lcc",
                  feature_set: str = "v1", current: float | None = None) -> torch.Tensor:
    """The ``feature_set`` columns (see ``FEATURE_SETS``; ``SEARCH``: ``SEARCH_COLUMNS``, the same values)
    for every node of the residual network.

    ``current`` is the objective of the whole residual network (it may count nodes outside ``adjacency``,
    such as isolated receptors for ``reach``); the one-step drop is taken relative to it."""
    if feature_set != SEARCH:
        check_feature_set(feature_set)
    n = adjacency.shape[0]
    degree = np.asarray(adjacency.sum(axis=1)).ravel().astype(np.float64)
    between = betweenness(adjacency, exact=feature_set != "v1").clip(0)
    if feature_set != "v1":
        _, labels = connected_components(adjacency, directed=False)
        sizes = np.bincount(labels)
        after = removal_values(adjacency, objective, sources, labels)
        now = _objective(sizes.astype(np.float64), labels, objective, sources)
        drop = (now - after).clip(0)
        share = drop / max(current if current else now, 1e-9)
        if feature_set == SEARCH:
            return torch.tensor(np.stack([degree / max(degree.max(), 1), between / max(between.max(), 1e-9), share],
                                         axis=1), dtype=torch.float32)
    core = core_numbers(adjacency).astype(np.float64)
    source = sources.astype(np.float64) if sources is not None else np.zeros(n)
    ties = feature_set == "v3"
    columns = [np.ones(n), degree / max(degree.max(), 1), core / max(core.max(), 1), _rank(degree, ties),
               between / max(between.max(), 1e-9), source]
    if feature_set in ("v2", "v3"):
        ci = collective_influence(adjacency)
        columns += [share, drop / max(drop.max(), 1e-9), ci / max(ci.max(), 1e-9), sizes[labels] / max(n, 1),
                    sizes[labels] / sizes.max(), _rank(between, ties)]
    return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)


def _objective(sizes: np.ndarray, labels: np.ndarray, objective: str, sources: np.ndarray | None) -> float:
    """The objective of the network as it is, from its components."""
    if objective == "lcc":
        return float(sizes.max()) if len(sizes) else 0.0
    if objective == "pairwise":
        return float((sizes * (sizes - 1) / 2).sum())
    src = np.bincount(labels, weights=sources.astype(np.float64), minlength=len(sizes))
    return float(sizes[src > 0].sum())
