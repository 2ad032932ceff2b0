"""Read-only means read-only: without --write the server itself refuses every change (issues 10 and 31).

The barrier is the server: ``aroma cypher`` without --write logs in to the local ArcadeDB as its read-only account
(whose group may only read records) and runs in Neo4j's read transactions. ``aroma.kg.readonly`` refuses obvious
writes earlier, with a friendlier message, but is not the barrier: every probe below runs through the CLI on both
engines, and again straight to the server with that early check turned off, and the server's users, schema and data
are compared before and after. The probe lists are also the figures of the issues' closing notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aroma.cli import app
from aroma.errors import ReadOnlyViolation, StoreError
from aroma.kg.readonly import classify
from aroma.kg.store import GraphStore, open_store
from tests.engines import EngineStore

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
    # issue 31: a // comment ended by CR or a Unicode line end, which the early check once read on to the next \n
    "line ends": [
        "// a\rCREATE USER evil SET PASSWORD 'evilpass1' /* \n RETURN 1 // */",
        "// a\rALTER USER root SET PASSWORD 'evil-pass-2' /* \n RETURN 1 // */",
        "// a\rALTER USER neo4j SET PASSWORD 'evil-pass-2' /* \n RETURN 1 // */",
        "// a\rDROP USER root /* \n RETURN 1 // */",
        "// a\rCREATE INDEX evil_idx FOR (n:Gene) ON (n.evil) /* \n RETURN 1 // */",
        "// a\rDROP INDEX gene_symbol /* \n RETURN 1 // */",
        "// a\rCREATE CONSTRAINT evil_c FOR (n:Evil) REQUIRE n.id IS UNIQUE /* \n RETURN 1 // */",
        "// a\rCREATE (:Evil)-[:OTHER]->(:Other) /* \n RETURN 1 // */",
        "// a\rMATCH (g:Gene) SET g.evil = 1 /* \n RETURN 1 // */",
        "// a\u2028CREATE USER evil SET PASSWORD 'evilpass1'",
        "// a\u2029CREATE INDEX evil_idx FOR (n:Gene) ON (n.evil)",
        "// a\u0085MATCH (g:Gene) SET g.evil = 1",
    ],
    # issue 31: Unicode spaces, which the early check once read as letters of a word
    "unicode spaces": [
        "CREATE\u2003USER evil SET PASSWORD 'evilpass1'",
        "ALTER\u3000USER root SET PASSWORD 'evil-pass-2'",
        "DROP\u1680USER root",
        "CREATE\u3000INDEX evil_idx FOR (n:Gene) ON (n.evil)",
        "CREATE\u1680CONSTRAINT evil_c FOR (n:Evil) REQUIRE n.id IS UNIQUE",
        "DROP\u2003INDEX gene_symbol",
        "MATCH (g:Gene) WITH g\u3000SET g.evil = 1",
        "MATCH (g:Gene) WITH g\u1680DETACH DELETE g",
        "RETURN 1 AS x\u2028CREATE (:Evil)",
        "MATCH (g:Gene) WITH g\u00a0SET g.evil = 1",
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
    "SHOW CURRENT USER",
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
    # the early check reads line ends and spaces as the servers do (it is not the barrier, but should not mislead)


@pytest.mark.parametrize("probe", ALLOWED)
def test_classifier_allows(probe: str) -> None:
    assert classify(probe).is_read, classify(probe)


def server_state(target: EngineStore) -> dict:
    """What a change would show: users (ArcadeDB: its user file, password hashes included), indexes, constraints,
    labels and relationship types (ArcadeDB: its types), and counts; read as the administrator."""
    store = target.store
    rows = lambda text: store.run(text, write=True).rows  # noqa: E731  (SHOW USERS needs the administrator)
    state = {
        "users": sorted(json.dumps(r, sort_keys=True, default=str) for r in rows("SHOW USERS")),
        "indexes": sorted(str(r["name"]) for r in rows("SHOW INDEXES YIELD name RETURN name")),
        "constraints": sorted(str(r["name"]) for r in rows("SHOW CONSTRAINTS YIELD name RETURN name")),
        "labels": sorted(r["label"] for r in rows("CALL db.labels() YIELD label RETURN label")),
        "types": sorted(r["t"] for r in rows("CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t")),
        "counts": rows("MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS nodes, count(r) AS edges, "
                       "sum(coalesce(n.probe, 0) + coalesce(n.evil, 0) + coalesce(n.hyp, 0)) AS marks"),
    }
    if target.engine == "arcadedb":
        state["user_file"] = (Path(store.backend.server.info.root) / "config" / "server-users.jsonl").read_text()
    return state


def _admin_still_logs_in(target: EngineStore) -> None:
    with target.reopen() as again:
        assert again.run("RETURN 1 AS one").rows == [{"one": 1}]


def test_cli_refuses_every_probe_and_changes_nothing(engine_store: EngineStore) -> None:
    """Every probe through `aroma cypher` on each engine: exit 1 with a refusal, and users, schema and data unchanged."""
    before = server_state(engine_store)
    held = {category: 0 for category in REFUSED}
    for category, probe in _probes():
        result = engine_store.invoke("cypher", probe, "-p", "url=file:///etc/passwd")
        if result.exit_code == 1 and "refused" in result.output and "Traceback" not in result.output:
            held[category] += 1
    assert held == {category: len(probes) for category, probes in REFUSED.items()}
    assert server_state(engine_store) == before
    assert "Probe" not in before["labels"] and "Evil" not in before["labels"]
    _admin_still_logs_in(engine_store)


# Ran on the server with the early check off, yet harmless (the state check below holds them too): either server
# lets an account end its own transactions (ArcadeDB shows and ends only the reader's own; none is named 'x');
# EXPLAIN returns a plan (ArcadeDB's is empty and, for the reader, creates nothing); and one evasion is, read by
# the servers, a single string.
SERVER_RUNS_HARMLESSLY = {"TERMINATE TRANSACTIONS 'x'", "EXPLAIN CREATE (:Probe)", "RETURN 'x\\' CREATE (:Probe) //'"}


def test_the_server_alone_refuses_every_probe(engine_store: EngineStore) -> None:
    """With the early check off, each probe reaches the server over a read-only login: the server refuses every
    change (local files are refused by the toolkit's own flag), and nothing changes."""
    before = server_state(engine_store)
    ran = []
    with engine_store.reopen(read_only=True) as reader:
        for category, probe in _probes():
            try:
                reader.run(probe, PARAMS, early_check=False)
            except StoreError as exc:
                if category == "files":
                    assert "--allow-file-urls" in str(exc), (probe, exc)
                continue
            ran.append(probe)
    assert set(ran) <= SERVER_RUNS_HARMLESSLY, ran
    assert server_state(engine_store) == before
    _admin_still_logs_in(engine_store)


def test_allowed_probes_run(engine_store: EngineStore) -> None:
    with engine_store.reopen(read_only=True) as reader:
        for probe in ALLOWED:
            reader.run(probe)  # raises on a refusal
        assert reader.run("SHOW CURRENT USER").rows[0]["user"] == ("reader" if engine_store.engine == "arcadedb"
                                                                   else "neo4j")


def test_read_only_store_refuses_writes_even_when_asked(engine_store: EngineStore) -> None:
    with engine_store.reopen(read_only=True) as reader:
        with pytest.raises(ReadOnlyViolation, match="opened read-only"):
            reader.run("CREATE (:Probe)", write=True)


# Generated probes: a change hidden among comments, line ends, quotes, backticks and Unicode spaces.
SPACES = [" ", "\t", "\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\u00a0", "\u1680", "\u2003", "\u3000",
          "\u200b", "\f", "\v"]
CHANGES = [
    "CREATE USER hyp_user SET PASSWORD 'hyp-pass-1234'",
    "ALTER USER root SET PASSWORD 'hyp-pass-1234'",
    "ALTER USER neo4j SET PASSWORD 'hyp-pass-1234'",
    "CREATE INDEX hyp_idx FOR (n:Gene) ON (n.hyp)",
    "CREATE CONSTRAINT hyp_c FOR (n:Hyp) REQUIRE n.id IS UNIQUE",
    "DROP INDEX gene_symbol",
    "MATCH (g:Gene) SET g.hyp = 1",
    "MATCH (g:Gene) WITH g LIMIT 1 SET g.hyp = 1 RETURN g.symbol",
    "CREATE (:Hyp)",
    "MERGE (h:Hyp {id: 1}) SET h.hyp = 2",
]
_space = st.sampled_from(SPACES)
_noise = st.text(st.sampled_from(list("ab1 '\"`*/\\;")), max_size=6)
_wrapper = st.sampled_from([
    "{}", "// {n}{sep}{}", "/* {n} */{sep}{}", "RETURN 1 AS one{sep}{}", "{}{sep}// {n}", "{}{sep}RETURN 1",
    "'{n}'{sep}{}", "\"{n}\"{sep}{}", "`{n}`{sep}{}", "RETURN '{n}' AS s{sep}{}", "// {n}\r{}", "RETURN 1;{sep}{}",
    "CALL {{{sep}{}{sep}}}", "/* {n}{sep}*/ {}", "{} /* {n}",
])


@st.composite
def hidden_changes(draw: st.DrawFn) -> str:
    """A change statement with random separators between its words, wrapped in comments, quotes or reads."""
    words = draw(st.sampled_from(CHANGES)).split(" ")
    change = words[0] + "".join(draw(_space) + word for word in words[1:])
    text = draw(_wrapper).replace("{n}", draw(_noise)).replace("{sep}", draw(_space))
    return text.replace("{}", change, 1)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=hidden_changes())
def test_generated_hidden_changes_never_change_the_server(engine_store: EngineStore, text: str) -> None:
    """Through the CLI and straight to the server (early check off): users, indexes, constraints, types and
    counts stay as they were, whatever the query's text."""
    before = server_state(engine_store)
    result = engine_store.invoke("cypher", text)
    assert "Traceback" not in result.output
    with engine_store.reopen(read_only=True) as reader:
        try:
            reader.run(text, early_check=False)
        except StoreError:
            pass
    assert server_state(engine_store) == before, repr(text)


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


def test_shell_refuses_hidden_changes(engine_store: EngineStore) -> None:
    """The interactive shell (statements on stdin) keeps the same barrier on both engines."""
    before = server_state(engine_store)
    probes = REFUSED["line ends"] + REFUSED["unicode spaces"] + REFUSED["admin"][:4] + REFUSED["schema"][:3]
    result = engine_store.invoke("cypher", input="".join(f"{probe};\n" for probe in probes) + "RETURN 7 AS seven;\n")
    assert "Traceback" not in result.output and "seven" in result.stdout
    assert result.stderr.count("error: refused") >= len(probes) and result.exit_code == 1
    assert server_state(engine_store) == before


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
