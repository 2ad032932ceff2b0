"""Classic attacks to compare against: highest degree (static and adaptive), adaptive betweenness,
collective influence (Morone & Makse 2015, adaptive) and random. Each returns a full removal order."""

from __future__ import annotations

import math
from collections.abc import Callable

import networkx as nx
import numpy as np
import scipy.sparse as sp

from aroma.dismantle.environment import finish_order
from aroma.dismantle.network import Network

BASELINES = ("degree", "adaptive_degree", "adaptive_betweenness", "collective_influence", "random")


def degree(network: Network, objective: str, seed: int = 0) -> list[int]:
    """Highest degree first, degrees of the intact network."""
    deg = network.degrees()
    return np.lexsort((np.arange(network.n), -deg)).tolist()


def adaptive_degree(network: Network, objective: str, seed: int = 0) -> list[int]:
    """Highest degree in the residual network, recomputed after every removal."""
    adjacency = network.adjacency()
    deg = network.degrees().astype(np.int64)
    order: list[int] = []
    while deg.max() > 0:
        v = int(np.argmax(deg))
        order.append(v)
        neighbours = adjacency.indices[adjacency.indptr[v]:adjacency.indptr[v + 1]]
        deg[neighbours[deg[neighbours] > 0]] -= 1
        deg[v] = -1
    return finish_order(network, order, objective)


def _batch(n: int, exact_limit: int, fraction: float) -> int:
    return 1 if n <= exact_limit else max(1, math.floor(fraction * n))


def adaptive_betweenness(network: Network, objective: str, seed: int = 0, exact_limit: int = 1000,
                         fraction: float = 0.01, samples: int = 64) -> list[int]:
    """Highest betweenness in the residual network, recomputed after every removal.

    Above ``exact_limit`` nodes, betweenness is estimated from ``samples`` pivots and the top
    ``fraction`` of nodes goes per recomputation (exact adaptive betweenness is O(N^2 M)).
    """
    graph = network.to_networkx()
    graph.remove_nodes_from([v for v, d in graph.degree if d == 0])
    per_step = _batch(network.n, exact_limit, fraction)
    order: list[int] = []
    while graph.number_of_edges():
        k = None if graph.number_of_nodes() <= exact_limit else min(samples, graph.number_of_nodes())
        score = nx.betweenness_centrality(graph, k=k, seed=seed)
        top = sorted(score, key=lambda v: (-score[v], -graph.degree[v], v))[:per_step]
        order.extend(top)
        graph.remove_nodes_from(top)
        graph.remove_nodes_from([v for v, d in graph.degree if d == 0])
    return finish_order(network, order, objective)


def _collective_influence(adjacency: sp.csr_matrix, alive: np.ndarray, radius: int) -> np.ndarray:
    """CI_l(i) = (k_i - 1) * sum of (k_j - 1) over nodes j at distance exactly l from i."""
    a = adjacency[alive][:, alive].astype(np.float32).tocsr()
    k = np.asarray(a.sum(axis=1)).ravel()
    reached = sp.identity(a.shape[0], dtype=np.float32, format="csr")
    frontier = reached
    for _ in range(radius):
        step = ((frontier @ a) > 0).astype(np.float32)
        frontier = ((step - step.multiply(reached > 0)) > 0).astype(np.float32)
        reached = ((reached + frontier) > 0).astype(np.float32)
    return (k - 1).clip(0) * (frontier @ (k - 1).clip(0))


def collective_influence(network: Network, objective: str, seed: int = 0, radius: int = 2, exact_limit: int = 1000,
                         fraction: float = 0.01) -> list[int]:
    """Highest collective influence (ball radius 2) in the residual network, recomputed adaptively;
    ties (CI is 0 on trees' leaves and on stars' centres' neighbours) go to the higher degree."""
    adjacency = network.adjacency()
    alive = np.ones(network.n, dtype=bool)
    per_step = _batch(network.n, exact_limit, fraction)
    order: list[int] = []
    while True:
        nodes = np.flatnonzero(alive)
        sub = adjacency[nodes][:, nodes]
        k = np.asarray(sub.sum(axis=1)).ravel()
        if k.max(initial=0) == 0:
            break
        ci = _collective_influence(adjacency, alive, radius)
        top = nodes[np.lexsort((nodes, -k, -ci))[:per_step]]
        top = top[k[np.searchsorted(nodes, top)] > 0]
        order.extend(top.tolist())
        alive[top] = False
    return finish_order(network, order, objective)


def random_order(network: Network, objective: str, seed: int = 0) -> list[int]:
    """A seeded random permutation."""
    return np.random.default_rng(seed).permutation(network.n).tolist()


ATTACKS: dict[str, Callable[..., list[int]]] = {
    "degree": degree,
    "adaptive_degree": adaptive_degree,
    "adaptive_betweenness": adaptive_betweenness,
    "collective_influence": collective_influence,
    "random": random_order,
}
