"""Every .cypher file: accepted by Neo4j's official linter (zero errors, zero warnings) and by the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aroma import cypher
from aroma.kg.store import GraphStore
from tests.engines import EngineStore

ROOT = Path(__file__).resolve().parents[1]
LINTER = ROOT / "tools" / "lint_cypher.mjs"
CYPHER_DIR = ROOT / "aroma" / "cypher"


def _linter_available() -> None:
    module = ROOT / "tools" / "node_modules" / "@neo4j-cypher" / "language-support"
    if shutil.which("node") and module.is_dir():
        return
    message = "Cypher linter missing: run `npm install --prefix tools`"
    if os.environ.get("AROMA_REQUIRE_DATA"):
        pytest.fail(message)
    pytest.skip(message)


def _schema(store: GraphStore) -> dict:
    return {
        "labels": [r["label"] for r in store.run("CALL db.labels()").rows],
        "relationshipTypes": [r["relationshipType"] for r in store.run("CALL db.relationshipTypes()").rows],
        "propertyKeys": [r["key"] for r in store.read("stats/property_keys")],
    }


def _lint(schema: dict, files: list[Path], tmp_path: Path) -> tuple[int, dict]:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    done = subprocess.run(["node", str(LINTER), str(schema_file), *map(str, files)], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_all_cypher_files_lint_clean(outcome_store: GraphStore, tmp_path: Path) -> None:
    """Against a graph with every label, type and key: the subset with PerturbQA training outcomes."""
    _linter_available()
    files = sorted(CYPHER_DIR.rglob("*.cypher"))
    assert len(files) >= 20
    code, report = _lint(_schema(outcome_store), files, tmp_path)
    # The linter reads map keys of an UNWIND row (row.source, row.target) as property keys; those two
    # edge-row keys are the only warnings allowed.
    row_keys = {f"{key} is not present in the database" for key in ("source", "target")}
    problems = {f: [d for d in ds if not any(d["message"].startswith(k) for k in row_keys)] for f, ds in report.items()}
    problems = {f: ds for f, ds in problems.items() if ds}
    assert code == 0 and problems == {}, json.dumps(problems, indent=1)


def test_linter_catches_errors_and_misspellings(subset_store: GraphStore, tmp_path: Path) -> None:
    _linter_available()
    bad = tmp_path / "bad.cypher"
    bad.write_text("MATC (g:Gene) RETURN g")
    typo = tmp_path / "typo.cypher"
    typo.write_text("MATCH (g:Gene)-[:INTERACTS]-(n) RETURN n.symbl")
    code, report = _lint(_schema(subset_store), [bad, typo], tmp_path)
    assert code == 1 and report[str(bad)][0]["severity"] == "error"
    assert {d["severity"] for d in report[str(typo)]} == {"warning"} and len(report[str(typo)]) == 2


def test_server_accepts_every_read_query(engine_store: EngineStore) -> None:
    """EXPLAIN each read query on the real server: the dialect gap list keeps them portable."""
    for name in cypher.names("queries") + cypher.names("stats"):
        # ArcadeDB reports query_type "w" for any EXPLAIN, so write=True; EXPLAIN changes nothing.
        result = engine_store.store.run("EXPLAIN " + cypher.query(name),
                                        {"symbol": "TP53", "a": "TP53", "b": "MDM2", "limit": 5}, write=True)
        assert result.counters == {}, name


@pytest.mark.neo4j
def test_neo4j_plans_every_cypher_file(neo4j_subset_store: EngineStore) -> None:
    """Neo4j 5 itself compiles every file (EXPLAIN plans without running): the syntax is Neo4j's, not a dialect."""
    store = neo4j_subset_store.store
    for name in cypher.names():
        for statement in cypher.statements(name):
            if "IN TRANSACTIONS" in statement:
                continue  # EXPLAIN of CALL … IN TRANSACTIONS needs an auto-commit transaction; run by every build
            with store.driver.session(database="neo4j") as session:
                summary = session.run("EXPLAIN " + statement).consume()
            assert summary.plan is not None, name
