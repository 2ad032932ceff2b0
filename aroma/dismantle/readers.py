"""Networks to attack, read from the graph database with the named queries in ``aroma/cypher/dismantle/``:
a pathway's or hallmark's STRING subgraph, the STRING subgraph of a gene list, TRRUST, or the whole Gene-KG.

Sources (for the ``reach`` objective) are the network's receptors: genes annotated with GO
"signaling receptor activity" (GO:0038023) or any term below it; a network without one uses its
TRRUST transcription factors instead.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aroma.dismantle.network import Network
from aroma.errors import AromaError
from aroma.kg.store import GraphStore

RECEPTOR_TERM = "GO:0038023"
DEFAULT_MIN_SCORE = 400  # STRING's medium confidence: every interaction the build loads


def _descendants(store: GraphStore, term: str, namespace: str = "molecular_function") -> list[str]:
    children = defaultdict(list)
    for row in store.read("dismantle/go_is_a_edges", namespace=namespace):
        children[row["parent"]].append(row["child"])
    seen, stack = {term}, [term]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return sorted(seen)


_RECEPTOR_TERMS: weakref.WeakKeyDictionary[GraphStore, list[str]] = weakref.WeakKeyDictionary()


def receptor_terms(store: GraphStore) -> list[str]:
    """GO:0038023 and every term below it, read once per store (the whole is_a tree is read to find them)."""
    if store not in _RECEPTOR_TERMS:
        _RECEPTOR_TERMS[store] = _descendants(store, RECEPTOR_TERM)
    return _RECEPTOR_TERMS[store]


def _sources(store: GraphStore, ids: list[str]) -> tuple[np.ndarray, str]:
    index = {gene: i for i, gene in enumerate(ids)}
    mask = np.zeros(len(ids), dtype=bool)
    receptors = store.read("dismantle/genes_annotated", ids=ids, terms=receptor_terms(store))
    for row in receptors:
        mask[index[row["id"]]] = True
    if mask.any():
        return mask, "receptors"
    for row in store.read("dismantle/transcription_factors", ids=ids):
        mask[index[row["id"]]] = True
    return mask, "transcription_factors" if mask.any() else "none"


def _among(store: GraphStore, name: str, genes: list[dict], min_score: int, with_sources: bool) -> Network:
    """The STRING subgraph induced by ``genes`` (rows with ``id`` and ``symbol``)."""
    ids = [g["id"] for g in genes]
    index = {gene: i for i, gene in enumerate(ids)}
    rows = store.read("dismantle/string_edges_among", ids=ids, min_score=min_score)
    pairs = [(index[r["a"]], index[r["b"]]) for r in rows]
    sources, kind = _sources(store, ids) if with_sources else (None, "not read")
    return Network.from_pairs(name, [g["symbol"] for g in genes], pairs, ids=ids, sources=sources,
                              meta={"min_score": min_score, "sources": kind})


def pathway_network(store: GraphStore, pathway: str, min_score: int = DEFAULT_MIN_SCORE,
                    with_sources: bool = True) -> Network:
    """A Reactome, hallmark or KEGG pathway's member genes and the STRING interactions among them."""
    rows = store.read("dismantle/pathway_genes", pathway=pathway)
    if not rows:
        raise AromaError(f"pathway {pathway!r} is not in the graph (or has no member genes)")
    network = _among(store, pathway, rows, min_score, with_sources)
    network.meta["pathway_name"] = rows[0]["pathway_name"]
    return network


def hallmark_network(store: GraphStore, name: str, min_score: int = DEFAULT_MIN_SCORE) -> Network:
    """An MSigDB hallmark set by name, with or without the ``HALLMARK_`` prefix."""
    name = name.upper()
    return pathway_network(store, "msigdb:" + (name if name.startswith("HALLMARK_") else "HALLMARK_" + name),
                           min_score)


def gene_list_network(store: GraphStore, symbols: list[str], min_score: int = DEFAULT_MIN_SCORE) -> Network:
    """The STRING subgraph of the given official gene symbols; unknown symbols are an error."""
    wanted = list(dict.fromkeys(s.strip() for s in symbols if s.strip()))
    rows = store.read("dismantle/genes_by_symbol", symbols=wanted)
    found = {r["symbol"]: r for r in rows}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise AromaError(f"genes not in the graph (official symbols expected): {', '.join(missing)}")
    return _among(store, "genes", [found[s] for s in wanted], min_score, True)


def _whole(store: GraphStore, name: str, query: str, **params) -> Network:
    index: dict[str, int] = {}
    symbols: list[str] = []
    pairs = []
    for row in store.stream(query, **params):
        for key in ("a", "b"):
            if row[key] not in index:
                index[row[key]] = len(symbols)
                symbols.append(row[f"{key}_symbol"])
        pairs.append((index[row["a"]], index[row["b"]]))
    if not pairs:
        raise AromaError(f"the graph has no {name} edges; build it first (`aroma kg build`)")
    ids = list(index)
    return Network.from_pairs(name, symbols, pairs, ids=ids)


def gene_kg_network(store: GraphStore, min_score: int = DEFAULT_MIN_SCORE, with_sources: bool = True) -> Network:
    """The whole STRING network of Gene-KG (about 17k genes at the default score)."""
    network = _whole(store, "gene-kg", "dismantle/string_network", min_score=min_score)
    if with_sources:
        network.sources, kind = _sources(store, network.ids)
        network.meta["sources"] = kind
    network.meta["min_score"] = min_score
    return network


def _sources_tf(store: GraphStore, ids: list[str]) -> tuple[np.ndarray, str]:
    index = {gene: i for i, gene in enumerate(ids)}
    mask = np.zeros(len(ids), dtype=bool)
    for row in store.read("dismantle/transcription_factors", ids=ids):
        mask[index[row["id"]]] = True
    return mask, "transcription_factors"


def trrust_network(store: GraphStore) -> Network:
    """TRRUST as an undirected network; its sources are the transcription factors."""
    network = _whole(store, "trrust", "dismantle/trrust_network")
    network.sources, kind = _sources_tf(store, network.ids)
    network.meta["sources"] = kind
    return network


def pathway_ids(store: GraphStore, source: str = "reactome", min_size: int = 20, max_size: int = 200) -> list[dict]:
    """Pathways of one source with ``min_size``..``max_size`` member genes."""
    return store.read("dismantle/pathways", source=source, min_size=min_size, max_size=max_size)


def attach_embeddings(network: Network, path: Path) -> Network:
    """Add learned Gene-KG embeddings (``aroma train gnn`` output) as node inputs; missing genes get zeros."""
    if not Path(path).is_file():
        raise AromaError(f"no embeddings file at {path}")
    record = torch.load(path, weights_only=False)
    if network.ids is None:
        raise AromaError(f"network {network.name} has no gene ids to match embeddings to")
    index = {gene: i for i, gene in enumerate(record["ids"])}
    table = record["embeddings"].numpy()
    out = np.zeros((network.n, table.shape[1]), dtype=np.float32)
    for i, gene in enumerate(network.ids):
        if gene in index:
            out[i] = table[index[gene]]
    network.embeddings = out
    return network


def pathway_split(pathway: str) -> str:
    """``test`` (the held-out half: benchmarks only), ``validation`` (a quarter: model selection, never
    trained on) or ``train``, fixed by a hash of the id."""
    import hashlib

    bucket = int(hashlib.sha256(pathway.encode()).hexdigest(), 16) % 4
    return "test" if bucket % 2 == 0 else "validation" if bucket == 1 else "train"


def split_pathways(store: GraphStore, count: int, seed: int, min_score: int = DEFAULT_MIN_SCORE,
                   min_size: int = 20, max_size: int = 200, split: str = "train", min_lcc: int = 0) -> list[Network]:
    """Up to ``count`` Reactome pathway subgraphs of one split (``train``, ``validation`` or ``test``, see
    ``pathway_split``), in a seeded random order, with edges, receptors and a component of at least
    ``min_lcc`` genes."""
    from scipy.sparse.csgraph import connected_components

    candidates = [p["id"] for p in pathway_ids(store, "reactome", min_size, max_size)
                  if pathway_split(p["id"]) == split]
    rng = np.random.default_rng(seed)
    networks = []
    for pathway in rng.permutation(candidates).tolist():
        if len(networks) >= count:
            break
        network = pathway_network(store, pathway, min_score)
        if not len(network.edges) or network.sources is None or not network.sources.any():
            continue
        if min_lcc and np.bincount(connected_components(network.adjacency(), directed=False)[1]).max() < min_lcc:
            continue
        networks.append(network)
    return networks


@dataclass
class NetworkChoice:
    """Which network ``aroma dismantle run`` attacks: exactly one of a pathway, a hallmark, genes or a graph."""

    pathway: str | None = None
    hallmark: str | None = None
    genes: str | None = None  # comma-separated official symbols
    graph: str | None = None  # gene-kg or trrust
    min_score: int = DEFAULT_MIN_SCORE

    def check(self) -> None:
        named = [value for value in (self.pathway, self.hallmark, self.genes, self.graph) if value]
        if len(named) != 1:
            raise AromaError("name exactly one network: --pathway, --hallmark, --genes or --graph")


def chosen_network(store: GraphStore, choice: NetworkChoice, objective: str) -> Network:
    choice.check()
    if choice.pathway:
        return pathway_network(store, choice.pathway, choice.min_score)
    if choice.hallmark:
        return hallmark_network(store, choice.hallmark, choice.min_score)
    if choice.genes:
        return gene_list_network(store, choice.genes.split(","), choice.min_score)
    if choice.graph == "gene-kg":
        return gene_kg_network(store, choice.min_score, with_sources=objective == "reach")
    if choice.graph == "trrust":
        return trrust_network(store)
    raise AromaError(f"--graph must be gene-kg or trrust, not {choice.graph!r}")
