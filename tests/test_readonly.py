"""Read-only means read-only: decided before a query runs, on the real local server (issue 10).

The probe lists are also the figures of the issue's closing note: every probe in ``REFUSED`` must be
refused before it reaches the server and leave users, schema and data unchanged; every probe in
``ALLOWED`` must run. ``classify`` is engine-neutral, so the Neo4j suite can run the same lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.errors import ReadOnlyViolation
from aroma.kg.readonly import classify
from aroma.kg.store import GraphStore, open_store

runner = CliRunner()

# category -> probes that must be refused without --write
REFUSED = {
    "schema": [
        "CREATE INDEX probe_idx FOR (n:Gene) ON (n.probe)",
        "CREATE CONSTRAINT probe_c FOR (n:Probe) REQUIRE n.id IS UNIQUE",
        "DROP INDEX gene_symbol",
        "DROP CONSTRAINT gene_id",
        "CREATE FULLTEXT INDEX probe_ft FOR (n:Gene) ON EACH [n.symbol]",
        "DROP INDEX gene_symbol IF EXISTS",
    ],
    "admin": [
        "CREATE USER probe SET PASSWORD 'Pr0be-pa55word'",
        "ALTER USER probe SET PASSWORD 'Pr0be-pa55word2'",
        "DROP USER probe",
        "ALTER USER root SET PASSWORD 'locked-out-now'",
        "ALTER CURRENT USER SET PASSWORD FROM 'a' TO 'b'",
        "CREATE ROLE probe_role",
        "GRANT ROLE admin TO probe",
        "CREATE DATABASE probe_db",
        "DROP DATABASE probe_db",
        "START DATABASE probe_db",
        "TERMINATE TRANSACTIONS 'x'",
        "USE system CREATE USER probe2 SET PASSWORD 'x'",
    ],
    "data": [
        "CREATE (n:Probe) RETURN n",
        "MERGE (n:Probe {id: 1})",
        "MATCH (g:Gene {symbol: 'TP53'}) SET g.probe = 1",
        "MATCH (g:Gene {symbol: 'TP53'}) DETACH DELETE g",
        "MATCH (g:Gene {symbol: 'TP53'}) REMOVE g:Gene",
        "MATCH (g:Gene) WITH g LIMIT 1 CALL { WITH g SET g.probe = 1 } RETURN 1",
        "FOREACH (x IN [1] | CREATE (:Probe))",
        "MATCH (g:Gene) RETURN g.id AS id UNION MATCH (h:Gene) SET h.probe = 1 RETURN h.id AS id",
        "RETURN 1; CREATE (:Probe)",
        "match (n) with n limit 1 create (m:Probe)",
        "INSERT (:Probe)",
        "EXPLAIN CREATE (:Probe)",
    ],
    "evasion": [
        "RETURN 'x\\' CREATE (:Probe) //'",  # a backslash read literally would end the string
        "RETURN 1 /* CREATE (:Probe)",  # unterminated comment
        "CALL db.createLabel('Probe')",
        "CALL apoc.create.node(['Probe'], {})",
        "SELECT * FROM Gene",
        "UPDATE Gene SET probe = 1",
    ],
    "files": [
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
        "LOAD CSV WITH HEADERS FROM 'FILE:///etc/hostname' AS row RETURN row",
        "LOAD CSV FROM $url AS row RETURN row",
        "LOAD CSV FROM 'fi' + 'le:///etc/passwd' AS row RETURN row",
        "LOAD CSV FROM '/etc/passwd' AS row RETURN row",
    ],
}
ALLOWED = [
    "SHOW USERS",
    "SHOW INDEXES",
    "SHOW CONSTRAINTS YIELD name RETURN name",
    "MATCH (g:Gene {symbol: 'CREATE'}) RETURN g.set AS s, g {.symbol, delete: 1} AS m",
    "RETURN 'DROP INDEX x; CREATE (:Probe)' AS text // SET",
    "MATCH (n:`CREATE`)-[:SET|MERGE]->(m) RETURN count(m) AS n",
    "CALL db.labels() YIELD label RETURN label",
    "MATCH (g:Gene {symbol: 'TP53'}) CALL { WITH g RETURN g.id AS id } RETURN id",
    "RETURN 'it\\'s' AS s",
]
PARAMS = {"url": "file:///etc/passwd"}


def _probes() -> list[tuple[str, str]]:
    return [(category, probe) for category, probes in REFUSED.items() for probe in probes]


@pytest.mark.parametrize(("category", "probe"), _probes())
def test_classifier_refuses(category: str, probe: str) -> None:
    verdict = classify(probe, PARAMS)
    assert not verdict.is_read, probe
    if category in ("schema", "admin", "files"):
        assert verdict.mode == {"schema": "schema", "admin": "admin", "files": "file"}[category], verdict


@pytest.mark.parametrize("probe", ALLOWED)
def test_classifier_allows(probe: str) -> None:
    assert classify(probe).is_read, classify(probe)


def _server_state(store: GraphStore) -> dict:
    return {
        "users": sorted(json.dumps(r, sort_keys=True) for r in store.run("SHOW USERS").rows),
        "indexes": sorted(str(r.get("name")) for r in store.run("SHOW INDEXES").rows),
        "labels": sorted(r["label"] for r in store.run("CALL db.labels() YIELD label RETURN label").rows),
        "genes": store.run("MATCH (g:Gene) RETURN count(g) AS n, sum(coalesce(g.probe, 0)) AS p").rows,
    }


def test_refused_probes_change_nothing_on_the_server(subset_store: GraphStore) -> None:
    """Every probe through `aroma cypher`: exit 1, "refused before running", and users, indexes, labels,
    data and the root password all unchanged afterwards."""
    db = str(subset_store.backend.server.directory)
    before = _server_state(subset_store)
    held = {category: 0 for category in REFUSED}
    for category, probe in _probes():
        result = runner.invoke(app, ["cypher", "--db", db, probe, "-p", "url=file:///etc/passwd"])
        if result.exit_code == 1 and "refused before running" in result.output:
            held[category] += 1
    assert held == {category: len(probes) for category, probes in REFUSED.items()}
    assert _server_state(subset_store) == before
    assert "Probe" not in before["labels"]
    with open_store(db, create=False) as again:  # the root password still works
        assert again.run("RETURN 1 AS one").rows == [{"one": 1}]


def test_allowed_probes_run(subset_store: GraphStore) -> None:
    for probe in ALLOWED:
        subset_store.run(probe)  # raises on a refusal
    rows = subset_store.run("SHOW USERS").rows
    assert any(row.get("user") == "root" for row in rows)


def test_file_urls_need_their_own_flag_even_with_write(subset_store: GraphStore) -> None:
    with pytest.raises(ReadOnlyViolation, match="--allow-file-urls"):
        subset_store.run("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row", write=True)


def test_json_empty_results_and_warnings(subset_store: GraphStore) -> None:
    db = str(subset_store.backend.server.directory)
    as_json = runner.invoke(app, ["cypher", "--db", db, "-f", "json", "RETURN 1.0/0 AS inf, 0.0/0 AS nan, [-1.0/0] AS l"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == [{"inf": None, "nan": None, "l": [None]}]
    query = "MATCH (g:Gene {symbol: 'NO-SUCH'})-[:NO_SUCH_TYPE]->(h:NoSuchLabel) WHERE g.no_such_key = 1 RETURN g.symbol AS s, h.id"
    table = runner.invoke(app, ["cypher", "--db", db, query])
    assert table.exit_code == 0, table.output
    assert "s" in table.stdout and "h.id" in table.stdout and "0 rows" in table.stdout
    for name in ("NoSuchLabel", "NO_SUCH_TYPE", "no_such_key"):
        assert f"`{name}` is not in the database" in table.stderr
    as_csv = runner.invoke(app, ["cypher", "--db", db, "-f", "csv", query])
    assert as_csv.stdout == "s,h.id\n" and "0 rows" in as_csv.stderr


def test_shell_reads_statements_from_stdin(subset_store: GraphStore) -> None:
    db = str(subset_store.backend.server.directory)
    script = ("MATCH (g:Gene)\nWHERE g.symbol = $gene\nRETURN g.id AS id;\n"
              ":param gene => 'MD' + 'M2'\n:params\n:format csv\nMATCH (g:Gene {symbol: $gene}) RETURN g.id AS id;\n"
              "CREATE (n:Probe);\nRETURN 'a;b' AS semi;\n:history\n:help\n:exit\nRETURN 'after exit' AS never;\n")
    result = runner.invoke(app, ["cypher", "--db", db, "-p", "gene=TP53"], input=script)
    assert "ncbigene:7157" in result.stdout  # TP53 from -p, over three lines
    assert "id\nncbigene:4193\n" in result.stdout  # MDM2 from :param, as CSV
    assert '"gene": "MDM2"' in result.stdout
    assert "semi\na;b\n" in result.stdout and ":param name => expression" in result.stdout
    assert "  1  MATCH (g:Gene)\nWHERE g.symbol = $gene" in result.stdout  # :history
    assert "refused before running" in result.stderr and "never" not in result.stdout
    assert result.stderr.count(" ms\n") == 3  # each statement is timed
    assert result.exit_code == 1  # one statement was refused
    assert "Probe" not in [r["label"] for r in subset_store.run("CALL db.labels() YIELD label RETURN label").rows]


def test_read_command_on_missing_graph_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "typo"
    for args in (["kg", "stats"], ["cypher", "RETURN 1"], ["retrieve", "TP53", "MDM2"]):
        result = runner.invoke(app, [*args, "--db", str(target)])
        assert result.exit_code == 1 and "no graph has been built in" in result.output, result.output
    assert not target.exists()


def test_huge_symbol_is_shortened_in_the_error(subset_store: GraphStore) -> None:
    db = str(subset_store.backend.server.directory)
    result = runner.invoke(app, ["retrieve", "X" * 100_000, "TP53", "--db", db])
    assert result.exit_code == 1 and "not in the knowledge graph" in result.output
    assert len(result.output) < 500 and "100,000 characters" in result.output
