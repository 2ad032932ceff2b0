"""Production paths over the real driver: batch rollback, read-only refusal, error mapping, secrets, exports."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph
from typer.testing import CliRunner

from aroma.cli import app
from aroma.errors import ReadOnlyViolation, StoreError
from aroma.kg.assemble import assemble
from aroma.kg.export_rdf import AROMA, export_rdf
from aroma.kg.sources import SourceDir
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store, redact, server_version
from tests.engines import EngineStore

runner = CliRunner()


def _gene_count(store: GraphStore) -> int:
    return store.run("MATCH (g:Gene) RETURN count(g) AS n").rows[0]["n"]


def test_failed_batch_is_rolled_back_whole(engine_store: EngineStore) -> None:
    store = engine_store.store
    before = _gene_count(store)
    existing = store.run("MATCH (g:Gene) RETURN g.id AS id LIMIT 1").rows[0]["id"]
    rows = [{"id": "ncbigene:999999901", "gene_id": 999999901, "symbol": "NEWGENE1"},
            {"id": existing, "gene_id": 1, "symbol": "DUPLICATE"}]  # violates the uniqueness constraint
    with pytest.raises(StoreError, match=r"load/node_gene: batch failed after 0 of 2 rows.*rolled back"):
        store.load("load/node_gene", rows, batch_size=10, database=store.database)
    assert _gene_count(store) == before
    assert store.run("MATCH (g:Gene {symbol: 'NEWGENE1'}) RETURN g").rows == []


def test_read_only_refusal_changes_nothing(engine_store: EngineStore) -> None:
    store = engine_store.store
    before = _gene_count(store)
    with pytest.raises(ReadOnlyViolation):
        store.run("MATCH (g:Gene {symbol: 'TP53'}) DETACH DELETE g")
    assert _gene_count(store) == before


def test_unknown_database_is_named(engine_store: EngineStore) -> None:
    with pytest.raises(StoreError, match="database 'nosuchdb' does not exist"):
        engine_store.store.run("RETURN 1", database="nosuchdb")


def _bolt(target: EngineStore) -> tuple[str, str, str, str]:
    """URI, user, password and database name of the engine's Bolt server."""
    if target.engine == "arcadedb":
        server = target.store.backend.server
        return server.bolt_uri, *server.auth, server.current
    return target.args[1], target.env["AROMA_NEO4J_USER"], target.env["AROMA_NEO4J_PASSWORD"], "neo4j"


def test_wrong_password_never_echoed(engine_store: EngineStore) -> None:
    uri, user, _, _ = _bolt(engine_store)
    with pytest.raises(StoreError, match="authentication to bolt://127.0.0.1:\\d+ failed") as info:
        open_store(uri, user=user, password="S3cret-Wr0ng-Pa55")
    assert "S3cret-Wr0ng-Pa55" not in str(info.value)
    result = runner.invoke(app, ["kg", "stats", "--db", uri, "--user", user, "--password", "S3cret-Wr0ng-Pa55"])
    assert result.exit_code == 1 and "S3cret-Wr0ng-Pa55" not in result.output
    assert "authentication to" in result.output


def test_right_password_works_and_stays_private(engine_store: EngineStore) -> None:
    uri, user, password, database = _bolt(engine_store)
    result = runner.invoke(app, ["kg", "stats", "--db", uri, "--database", database, "--json"],
                           env={"AROMA_NEO4J_USER": user, "AROMA_NEO4J_PASSWORD": password})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["nodes"]["Gene"] == _gene_count(engine_store.store)
    assert password not in result.output
    assert password not in json.dumps(graph_stats(engine_store.store).build)
    assert redact(f"bolt://{user}:{password}@host:7687") == "bolt://host:7687"


def test_server_version_check(engine_store: EngineStore) -> None:
    assert server_version("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)") == (5, 26, 0)
    assert server_version("Neo4j/4.4.12") < (5,)
    agent = engine_store.store.driver.get_server_info().agent  # what the real server announces
    assert (5,) <= server_version(agent) < (6,), agent


def test_neo4j_admin_export(subset_sources: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["kg", "export", "--format", "neo4j-admin", "--out", str(tmp_path),
                                 "--sources", str(subset_sources)])
    assert result.exit_code == 0, result.output
    assert "neo4j-admin database import full neo4j" in result.output
    graph = assemble(SourceDir(subset_sources))
    header_field = re.compile(r"^(?:[a-z_]+(?::(?:ID|long|double|boolean|string)(?:\[\])?)?|:START_ID|:END_ID)$")
    for label, nodes in graph.nodes.items():
        with (tmp_path / f"nodes_{label}.csv").open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0][0] == "id:ID" and all(header_field.match(h) for h in rows[0])
        assert len(rows) - 1 == len(nodes) and f"--nodes={label}=" in result.output
    for (source, rel_type, target), edges in graph.edges.items():
        with (tmp_path / f"relationships_{source}_{rel_type}_{target}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(edges)
    genes = {r["id:ID"]: r for r in csv.DictReader((tmp_path / "nodes_Gene.csv").open())}
    tp53 = genes["ncbigene:7157"]
    assert tp53["symbol:string"] == "TP53" and "LFS1" in tp53["aliases:string[]"].split(";")


@pytest.mark.parametrize("engine, fmt", [("arcadedb", "nt"), ("arcadedb", "turtle"),
                                         pytest.param("neo4j", "nt", marks=pytest.mark.neo4j)], indirect=["engine"])
def test_rdf_export_round_trip(engine_store: EngineStore, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"graph.{fmt}"
    count = export_rdf(engine_store.store, out, fmt)
    graph = Graph().parse(out, format=fmt)
    assert len(graph) == count
    stats = graph_stats(engine_store.store)
    types = Counter(str(o).split("#")[1] for o in graph.objects(None, RDF.type) if str(o).startswith(str(AROMA)))
    for label, n in stats.nodes.items():
        assert types.get(label, 0) == (0 if label == "BuildInfo" else n), label
    predicates = Counter(str(p).split("#")[1] for s, p, o in graph
                         if str(p).startswith(str(AROMA)) and not isinstance(s, BNode))
    per_type = Counter()
    for edge in stats.edges:
        per_type[edge["type"]] += edge["count"]
    trrust = sum(v for k, v in predicates.items() if k.startswith("REGULATES_"))
    assert predicates["REGULATES"] + trrust == per_type["REGULATES"]
    for rel_type in ("INTERACTS_WITH", "ANNOTATED_WITH", "MEMBER_OF", "IS_A", "PART_OF", "PARENT_OF"):
        assert predicates[rel_type] == per_type[rel_type], rel_type
    with_properties = per_type["INTERACTS_WITH"] + per_type["ANNOTATED_WITH"] + per_type["MEMBER_OF"] + trrust
    assert len(set(graph.subjects(RDF.type, RDF.Statement))) == with_properties
    assert (None, None, None) in graph and any("purl.obolibrary.org/obo/GO_" in str(s) for s in graph.subjects())
