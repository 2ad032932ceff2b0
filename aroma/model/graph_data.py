"""Gene-KG and Path-KG loaded straight from the graph store into PyG ``HeteroData``.

Node and edge lists come over Bolt in one query per node label plus one for the edges (the driver
offers no Arrow transport for ArcadeDB; Neo4j's Arrow path belongs to GDS, which is not assumed).
Features are real where the graph has them (gene type, sequence length, degree, GO namespace and
size, pathway source, size and leaf flag); models add learned embeddings on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch_geometric.data import HeteroData

from aroma.kg.schema import GENE, GO_TERM, MODEL_GRAPHS, PATHWAY, SCHEMA
from aroma.kg.store import GraphStore

# Feature vocabularies (one-hot order), declared on the schema's properties
GENE_TYPES = SCHEMA.node(GENE).property("type").values
NAMESPACES = SCHEMA.node(GO_TERM).property("namespace").values
PATHWAY_SOURCES = SCHEMA.node(PATHWAY).property("source").values

# graph name → {relationship type: (source node type, relation, target node type)}, from the schema as
# declared in aroma/kg/schema.py (``load_graph`` asks the schema at call time, extensions included)
GRAPHS: dict[str, dict[str, tuple[str, str, str]]] = {graph: SCHEMA.model_relations(graph) for graph in MODEL_GRAPHS}
NODE_TYPES = SCHEMA.model_node_types()
# The edge type each graph's encoder is pretrained to predict.
LINK_TARGETS = {"gene": GRAPHS["gene"]["INTERACTS_WITH"], "path": GRAPHS["path"]["ANNOTATED_WITH"]}


def _one_hot(value: str | None, vocabulary: tuple[str, ...]) -> list[float]:
    return [1.0 if value == v else 0.0 for v in vocabulary]


@dataclass
class GraphBundle:
    """A graph as PyG data plus the ids of its nodes (index i of node type t ↔ ``ids[t][i]``)."""

    data: HeteroData
    ids: dict[str, list[str]]
    symbols: list[str]  # gene symbols in gene index order
    checksum: str


def load_graph(store: GraphStore, graph: str) -> GraphBundle:
    """Read one knowledge graph (``gene`` or ``path``) from the store into ``HeteroData``."""
    if graph not in GRAPHS:
        raise ValueError(f"unknown graph {graph!r}; expected one of {sorted(GRAPHS)}")
    relations = SCHEMA.model_relations(graph)
    node_types_of = SCHEMA.model_node_types()
    data = HeteroData()
    ids: dict[str, list[str]] = {}
    genes = store.read("model/gene_nodes")
    ids["gene"] = [g["id"] for g in genes]
    node_types = {"gene"} | {t for rel in relations.values() for t in (rel[0], rel[2])}
    if "go_term" in node_types:
        terms = store.read("model/goterm_nodes")
        ids["go_term"] = [t["id"] for t in terms]
        data["go_term"].x = torch.tensor(
            [_one_hot(t["namespace"], NAMESPACES) + [math.log1p(t["gene_count"] or 0) / 10] for t in terms])
    if "pathway" in node_types:
        pathways = store.read("model/pathway_nodes")
        ids["pathway"] = [p["id"] for p in pathways]
        data["pathway"].x = torch.tensor(
            [_one_hot(p["source"], PATHWAY_SOURCES) + [math.log1p(p["size"] or 0) / 10, float(bool(p["is_leaf"]))]
             for p in pathways])
    index = {t: {node: i for i, node in enumerate(nodes)} for t, nodes in ids.items()}
    edges: dict[tuple[str, str, str], list[tuple[int, int]]] = {rel: [] for rel in relations.values()}
    weights: dict[tuple[str, str, str], list[float]] = {rel: [] for rel in relations.values()}
    for row in store.read("model/edges", types=sorted(relations)):
        rel = relations[row["type"]]
        if node_types_of.get(row["source_label"]) != rel[0] or node_types_of.get(row["target_label"]) != rel[2]:
            continue  # e.g. TRRUST REGULATES when loading GO's REGULATES
        edges[rel].append((index[rel[0]][row["source"]], index[rel[2]][row["target"]]))
        weights[rel].append((row["score"] or 1000) / 1000)
    degree = torch.zeros(len(genes))
    for rel, pairs in edges.items():
        tensor = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
        data[rel].edge_index = tensor
        data[rel].edge_weight = torch.tensor(weights[rel])
        for side, node_type in ((0, rel[0]), (1, rel[2])):
            if node_type == "gene":
                degree.index_add_(0, tensor[side], torch.ones(tensor.shape[1]))
    data["gene"].x = torch.tensor([
        _one_hot(g["type"], GENE_TYPES) + [math.log1p(g["sequence_length"] or 0) / 10,
                                           float(g["sequence_length"] is not None)]
        for g in genes
    ])
    data["gene"].x = torch.cat([data["gene"].x, (degree.log1p() / 10).unsqueeze(1)], dim=1)
    for node_type, nodes in ids.items():
        data[node_type].num_nodes = len(nodes)
    checksum = store.read("model/build_checksum")
    return GraphBundle(data, ids, [g["symbol"] for g in genes], checksum[0]["checksum"] if checksum else "")
