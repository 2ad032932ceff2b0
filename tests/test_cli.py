"""The command line over a real built subset graph: stats, ad hoc Cypher, read-only refusal, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.kg.store import GraphStore

runner = CliRunner()


@pytest.fixture(scope="module")
def db(subset_store: GraphStore) -> str:
    return str(subset_store.backend.server.directory)


def test_stats_json(db: str) -> None:
    result = runner.invoke(app, ["kg", "stats", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["nodes"]["Gene"] > 300
    assert {e["type"] for e in stats["edges"]} >= {"INTERACTS_WITH", "REGULATES", "ANNOTATED_WITH", "MEMBER_OF",
                                                   "IS_A", "PARENT_OF"}
    assert stats["build"]["sources"]["string_links"]["version"] == "12.0"
    assert len(stats["build"]["sources"]["go"]["sha256"]) == 64
    assert "unmapped" in stats["build"]["mappings"]["string_links"]


def test_stats_table_is_not_cut_when_piped(db: str, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(app, ["kg", "stats", "--db", db])  # output is not a terminal here
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert any("│ reactome_relations " in row for row in rows)  # not `reactome_re…`
    assert "…" not in result.output
    notes = [line for line in result.output.splitlines() if line.startswith("  unmapped ")]
    assert notes and all("(e.g." in line and line.endswith(")") for line in notes)  # one line each
    assert max(len(line) for line in result.output.splitlines()) > 80


def test_cypher_params_and_formats(db: str) -> None:
    query = "MATCH (g:Gene {symbol: $s})-[r:INTERACTS_WITH]-(n) RETURN n.symbol AS partner ORDER BY partner"
    as_json = runner.invoke(app, ["cypher", "--db", db, query, "--param", "s=TP53", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    partners = [row["partner"] for row in json.loads(as_json.output)]
    assert "MDM2" in partners
    as_csv = runner.invoke(app, ["cypher", "--db", db, query, "-p", "s=TP53", "-f", "csv"])
    assert as_csv.output.splitlines() == ["partner", *partners]


def test_write_refused_without_flag(db: str) -> None:
    refused = runner.invoke(app, ["cypher", "--db", db, "CREATE (x:Scratch {n: 1}) RETURN x"])
    assert refused.exit_code == 1 and "--write" in refused.output
    count = runner.invoke(app, ["cypher", "--db", db, "MATCH (x:Scratch) RETURN count(x) AS n", "-f", "json"])
    assert json.loads(count.output) == [{"n": 0}]
    allowed = runner.invoke(app, ["cypher", "--db", db, "--write", "CREATE (x:Scratch {n: 1})"])
    assert allowed.exit_code == 0, allowed.output
    removed = runner.invoke(app, ["cypher", "--db", db, "--write", "MATCH (x:Scratch) DELETE x"])
    assert removed.exit_code == 0


def test_syntax_error_is_one_line(db: str) -> None:
    result = runner.invoke(app, ["cypher", "--db", db, "MATC (n) RETURN n"])
    assert result.exit_code == 1 and "Traceback" not in result.output and "error" in result.output


def test_build_with_bad_sources_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kg", "build", "--sources", str(tmp_path / "nope"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_fetch_from_mirror(subset_sources: Path, tmp_path: Path) -> None:
    dest = tmp_path / "fetched"
    result = runner.invoke(app, ["kg", "fetch", "--dest", str(dest), "--mirror", str(subset_sources), "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    assert (dest / "go/go-basic.obo").read_bytes() == (subset_sources / "go/go-basic.obo").read_bytes()
    assert len(manifest) == 13 and all(len(v["sha256"]) == 64 for v in manifest.values())
