"""Every .cypher file: accepted by Neo4j's official linter (zero errors, zero warnings) and by the server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aroma import cypher
from aroma.kg.cypher_text import return_columns
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


# A value of the type its callers pass for every parameter any file uses (the subset graph's genes and terms).
PARAMS = {
    "symbol": "TP53", "a": "TP53", "b": "MDM2", "symbols": ["TP53", "MDM2"], "limit": 5, "cell_line": "K562",
    "ids": ["ncbigene:7157", "ncbigene:4193"], "xs": ["ncbigene:7157"], "ys": ["ncbigene:4193"],
    "terms": ["GO:0006915"], "types": ["INTERACTS_WITH"], "min_score": 400, "namespace": "biological_process",
    "pathway": "msigdb:HALLMARK_APOPTOSIS", "source": "reactome", "min_size": 5, "max_size": 500,
    "rows": [{"source": "ncbigene:7157", "target": "ncbigene:4193", "id": "x"}],
    "id": "x", "checksum": "x", "started_at": "x", "finished_at": "x", "seconds": 1.0, "toolkit_version": "x",
    "sources": "{}", "mappings": "{}", "stage_seconds": "{}", "string_min_score": 400, "string_below_min_score": 0,
}


def _schema_command(statement: str) -> bool:
    code = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("//")).strip()
    return code.startswith(("CREATE CONSTRAINT", "CREATE INDEX"))


def _query_type(folder: str, statement: str) -> str:
    """Neo4j's query type for a statement: schema commands "s", load/ and schema/clear write, the rest read."""
    if _schema_command(statement):
        return "s"
    return "w" if folder in ("load", "schema") else "r"


def _explain(store: GraphStore, statement: str) -> tuple[list[str], str, str | None]:
    """EXPLAIN on the server (auto-commit, as `CALL … IN TRANSACTIONS` needs): the result's column names, the
    query type and the plan flattened to text (None when the server gives no plan)."""
    with store.driver.session(database=store.database) as session:
        result = session.run("EXPLAIN " + statement, PARAMS)
        columns = list(result.keys())
        summary = result.consume()
    return columns, summary.query_type, None if summary.plan is None else json.dumps(summary.plan)


def test_every_cypher_file_plans_as_its_callers_expect(engine_store: EngineStore) -> None:
    """Each statement of every file compiles on the real server with parameters of the callers' types (an
    undefined variable or a duplicate column fails here; on ArcadeDB a parameter of the wrong type too), reads
    or writes as its folder says, and, on Neo4j, returns exactly the columns the toolkit reads
    (``return_columns``)."""
    engine, store = engine_store.engine, engine_store.store
    assert set(re.findall(r"\$(\w+)", "".join(cypher.query(n) for n in cypher.names()))) <= set(PARAMS)
    for name in cypher.names():
        folder = name.split("/")[0]
        for statement in cypher.statements(name):
            if engine == "arcadedb" and _schema_command(statement):
                _explain(store, statement)  # ArcadeDB plans no schema command, but must parse it
                continue
            columns, query_type, plan = _explain(store, statement)
            assert plan is not None, name
            if engine == "neo4j":
                assert columns == return_columns(statement), name
                assert query_type == _query_type(folder, statement), (name, query_type)
            else:  # ArcadeDB names no columns and calls every EXPLAIN a write; its plan says what it would do
                assert "plan not available" not in plan, (name, plan)
                writes = re.search(r"\+ (CREATE|SET)\b", plan) is not None  # the plan's operator lines
                assert writes == (folder == "load"), (name, plan)


def test_explain_rejects_a_broken_copy(engine_store: EngineStore) -> None:
    """What the test above relies on: EXPLAIN fails for an undefined variable and for a parameter of the wrong
    type, on both engines."""
    statement = cypher.query("queries/gene_neighbours")
    with pytest.raises(Exception, match="(?i)undefined|not defined"):
        _explain(engine_store.store, statement.replace("RETURN ", "RETURN no_such_variable, ", 1))
    if engine_store.engine == "arcadedb":
        params = dict(PARAMS, limit=None)
        with engine_store.store.driver.session(database=engine_store.store.database) as session:
            plan = json.dumps(session.run("EXPLAIN " + statement, params).consume().plan)
        assert "plan not available" in plan
