"""The build at publisher scale: bulk and Bolt loads give the same graph, STRING read in blocks, server heap,
and a Neo4j reached through the routing scheme (``neo4j://``) as a cluster or Aura would be."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from aroma.errors import AromaError, SourceFormatError, StoreError
from aroma.kg.adapters import string_db
from aroma.kg.build import build
from aroma.kg.heap import CAP_MB, FLOOR_MB, default_heap, server_heap
from aroma.kg.neo4j_local import LocalNeo4j
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store

def _dump(store: GraphStore) -> dict:
    """Counts per label and type, and every node's and edge's properties (sorted: the order of ties is free)."""
    stats = graph_stats(store)
    found: dict = {"nodes": stats.nodes, "edges": sorted((e["source"], e["type"], e["target"], e["count"])
                                                         for e in stats.edges)}
    for label in stats.nodes:
        if label != "BuildInfo":
            rows = store.run(f"MATCH (n:{label}) RETURN properties(n) AS p").rows
            found[label] = sorted(json.dumps(r["p"], sort_keys=True) for r in rows)
    for edge in stats.edges:
        rows = store.run(f"MATCH (a:{edge['source']})-[r:{edge['type']}]->(b:{edge['target']}) "
                         "RETURN a.id AS a, b.id AS b, properties(r) AS p").rows
        found[edge["type"], edge["source"]] = sorted(json.dumps(r, sort_keys=True) for r in rows)
    return found


def test_bulk_and_bolt_builds_give_the_same_graph(subset_sources: Path, tmp_path: Path) -> None:
    reports, samples = {}, {}
    for loader in ("bolt", "bulk"):
        with open_store(tmp_path / loader) as store:
            reports[loader] = build(subset_sources, store=store, show_progress=False, loader=loader)
            samples[loader] = _dump(store)
            assert not list(store.backend.import_directory().iterdir())  # the importer's files are removed
    assert reports["bulk"].loader == "bulk" and reports["bolt"].loader == "bolt"
    assert reports["bulk"].checksum == reports["bolt"].checksum
    assert samples["bulk"]["edges"] and samples["bulk"] == samples["bolt"]
    for row in samples["bulk"]["INTERACTS_WITH", "Gene"][:100]:
        link = json.loads(row)["p"]
        assert isinstance(link["score"], float) and link["score"] == link["combined_score"] / 1000


def test_bulk_import_that_loses_rows_changes_nothing(subset_sources: Path, tmp_path: Path) -> None:
    """An importer that creates fewer edges than the graph has stops the build; the old graph stays."""
    with open_store(tmp_path / "db") as store:
        first = build(subset_sources, store=store, show_progress=False, loader="bulk")
        server = store.backend.server
        original = server.graph_import

        def truncated(database: str, config: Path) -> dict[str, int]:
            path = next(config.parent.glob("edges_Gene_INTERACTS_WITH_Gene.csv"))
            lines = path.read_bytes().splitlines(keepends=True)
            path.write_bytes(b"".join(lines[:-3]))  # a real file the importer reads, three edges short
            return original(database, config)

        server.graph_import = truncated
        with pytest.raises(AromaError, match="bulk import created"):
            build(subset_sources, store=store, show_progress=False, loader="bulk")
        assert store.database == first.database
        assert server.databases() == [first.database]
        assert graph_stats(store).nodes["BuildInfo"] == 1


def test_string_blocks_match_the_line_reader(subset_sources: Path) -> None:
    path = subset_sources / "string/9606.protein.links.detailed.v12.0.txt.gz"
    lines = list(string_db.read_links(path))
    blocks = list(string_db.read_link_blocks(path, block_bytes=1 << 10))  # many blocks
    rows = [(b.names_a[b.codes_a[i]], b.names_b[b.codes_b[i]], tuple(b.channels[i].tolist()),
             int(b.combined_score[i]), int(b.lines[i])) for b in blocks for i in range(len(b))]
    assert len(blocks) > 1
    assert rows == [(x.protein_a, x.protein_b, x.channels, x.combined_score, x.line) for x in lines]


@pytest.mark.parametrize("bad, message", [
    (b"9606.A 9606.B 0 0 0 0 0 0 0\n", "line 4: expected 10 columns, found 9"),
    (b"9606.A 9606.B 0 0 0 0 0 0 0 x1\n", "line 4: score is not an integer"),
])
def test_string_block_errors_name_the_line(tmp_path: Path, bad: bytes, message: str) -> None:
    good = b"9606.A 9606.B 0 0 0 0 0 0 0 500\n"
    path = tmp_path / "links.txt.gz"
    path.write_bytes(gzip.compress(b"protein1 protein2 neighborhood fusion cooccurence coexpression experimental "
                                   b"database textmining combined_score\n" + good * 2 + bad + good))
    with pytest.raises(SourceFormatError, match=message):
        list(string_db.read_link_blocks(path))


def test_server_heap_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_heap(24 * 2**30) == "6144m"
    assert default_heap(2 * 2**30) == f"{FLOOR_MB}m" and default_heap(512 * 2**30) == f"{CAP_MB}m"
    monkeypatch.setenv("AROMA_ARCADEDB_HEAP", "3g")
    assert server_heap("AROMA_ARCADEDB_HEAP") == "3g"
    monkeypatch.setenv("AROMA_ARCADEDB_HEAP", "lots")
    with pytest.raises(AromaError, match="AROMA_ARCADEDB_HEAP='lots' is not a Java heap size"):
        server_heap("AROMA_ARCADEDB_HEAP")


@pytest.mark.neo4j
def test_neo4j_routing_scheme_reads_and_refuses_bulk(neo4j_server: LocalNeo4j, subset_sources: Path) -> None:
    """``neo4j://`` (the driver routes: reads to secondaries on a cluster or Aura) works on one Neo4j 5 server;
    a Neo4j has no bulk import over the network, so ``--loader bulk`` is refused before anything changes."""
    user, password = neo4j_server.auth
    routed = (neo4j_server.uri or "").replace("bolt://", "neo4j://")
    with open_store(routed, user=user, password=password, database="neo4j") as store:
        assert not store.backend.capabilities.bulk_import
        before = store.run("MATCH (n) RETURN count(n) AS n").rows
        with pytest.raises(AromaError, match="no bulk import"):
            build(subset_sources, store=store, show_progress=False, loader="bulk")
        assert store.run("MATCH (n) RETURN count(n) AS n").rows == before
        build(subset_sources, store=store, show_progress=False)
        assert store.read("stats/build_info")[0]["checksum"]
        assert store.read("queries/gene_neighbours", symbol="TP53", limit=3)
        assert list(store.stream("stats/labels"))
