"""Gene-KG and Path-KG: source adapters, identifier mapping, the graph store and the build."""

from aroma.kg.build import BuildReport, build
from aroma.kg.stats import GraphStats, graph_stats
from aroma.kg.store import GraphStore, QueryResult, open_store

__all__ = ["BuildReport", "GraphStats", "GraphStore", "QueryResult", "build", "graph_stats", "open_store"]
