"""``aroma kg stats``: node and edge counts from the live graph, plus how it was built."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aroma.kg.schema import SCHEMA
from aroma.kg.store import GraphStore


@dataclass
class GraphStats:
    database: str
    nodes: dict[str, int]
    edges: list[dict[str, Any]]
    build: dict[str, Any] = field(default_factory=dict)

    @property
    def node_total(self) -> int:
        return sum(v for k, v in self.nodes.items() if k != "BuildInfo")

    @property
    def edge_total(self) -> int:
        return sum(e["count"] for e in self.edges)

    def as_dict(self) -> dict[str, Any]:
        return {"database": self.database, "nodes": self.nodes, "edges": self.edges, "build": self.build}


def graph_stats(store: GraphStore) -> GraphStats:
    """Counts in the schema's declaration order (``aroma.kg.schema``); labels and kinds it does not declare follow,
    by name."""
    rows = sorted(store.read("stats/node_counts"), key=lambda row: SCHEMA.order_key_node(row["label"]))
    nodes = {row["label"]: row["count"] for row in rows}
    edges = sorted(store.read("stats/edge_counts"),
                   key=lambda e: SCHEMA.order_key_edge((e["source"], e["type"], e["target"])))
    rows = store.read("stats/build_info")
    build: dict[str, Any] = {}
    if rows:
        build = dict(rows[0])
        for key in ("sources", "mappings", "stage_seconds"):
            if isinstance(build.get(key), str):
                build[key] = json.loads(build[key])
    return GraphStats(store.database or "", nodes, edges, build)
