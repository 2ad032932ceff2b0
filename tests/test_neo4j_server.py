"""Against a real Neo4j 5 server: run only when AROMA_NEO4J_URI is set (see the README)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aroma.errors import ReadOnlyViolation
from aroma.kg.assemble import assemble
from aroma.kg.build import build
from aroma.kg.sources import SourceDir
from aroma.kg.stats import graph_stats
from aroma.kg.store import open_store

URI = os.environ.get("AROMA_NEO4J_URI")
pytestmark = [pytest.mark.neo4j, pytest.mark.skipif(not URI, reason="AROMA_NEO4J_URI not set")]


def test_build_stats_and_read_only_on_neo4j(subset_sources: Path) -> None:
    with open_store(URI, database=os.environ.get("AROMA_NEO4J_DATABASE")) as store:
        build(subset_sources, store=store, show_progress=False)
        stats = graph_stats(store)
        graph = assemble(SourceDir(subset_sources))
        assert stats.nodes["Gene"] == len(graph.nodes["Gene"])
        assert stats.edge_total == graph.edge_count
        constraints = {r["name"] for r in store.run("SHOW CONSTRAINTS YIELD name RETURN name").rows}
        assert {"gene_id", "goterm_id", "pathway_id"} <= constraints
        with pytest.raises(ReadOnlyViolation):
            store.run("CREATE (x:Scratch)")
        build(subset_sources, store=store, show_progress=False)  # rerun: idempotent
        assert graph_stats(store).edge_total == graph.edge_count
