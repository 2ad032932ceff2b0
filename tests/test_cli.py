"""The command line over a real built subset graph: stats, ad hoc Cypher, read-only refusal, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.kg.sources import SOURCES
from aroma.kg.store import GraphStore
from tests.engines import EngineStore

runner = CliRunner()


def test_stats_json(engine_store: EngineStore) -> None:
    result = engine_store.invoke("kg", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["nodes"]["Gene"] > 300
    assert {e["type"] for e in stats["edges"]} >= {"INTERACTS_WITH", "REGULATES", "ANNOTATED_WITH", "MEMBER_OF",
                                                   "IS_A", "PARENT_OF"}
    assert stats["build"]["sources"]["string_links"]["version"] == "12.0"
    assert len(stats["build"]["sources"]["go"]["sha256"]) == 64
    assert "unmapped" in stats["build"]["mappings"]["string_links"]


def test_stats_table_is_not_cut_when_piped(engine_store: EngineStore, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = engine_store.invoke("kg", "stats")  # output is not a terminal here
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "│" in line]
    assert any("│ reactome_relations " in row for row in rows)  # not `reactome_re…`
    assert "…" not in result.output
    notes = [line for line in result.output.splitlines() if line.startswith("  unmapped ")]
    assert notes and all("(e.g." in line and line.endswith(")") for line in notes)  # one line each
    assert max(len(line) for line in result.output.splitlines()) > 80


def test_cypher_params_and_formats(engine_store: EngineStore) -> None:
    query = "MATCH (g:Gene {symbol: $s})-[r:INTERACTS_WITH]-(n) RETURN n.symbol AS partner ORDER BY partner"
    as_json = engine_store.invoke("cypher", query, "--param", "s=TP53", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    partners = [row["partner"] for row in json.loads(as_json.output)]
    assert "MDM2" in partners
    as_csv = engine_store.invoke("cypher", query, "-p", "s=TP53", "-f", "csv")
    assert as_csv.output.splitlines() == ["partner", *partners]


def test_write_refused_without_flag(engine_store: EngineStore) -> None:
    refused = engine_store.invoke("cypher", "CREATE (x:Scratch {n: 1}) RETURN x")
    assert refused.exit_code == 1 and "--write" in refused.output
    count = engine_store.invoke("cypher", "MATCH (x:Scratch) RETURN count(x) AS n", "-f", "json")
    assert json.loads(count.stdout) == [{"n": 0}]  # a warning for the unknown label goes to stderr
    allowed = engine_store.invoke("cypher", "--write", "CREATE (x:Scratch {n: 1})")
    assert allowed.exit_code == 0, allowed.output
    removed = engine_store.invoke("cypher", "--write", "MATCH (x:Scratch) DELETE x")
    assert removed.exit_code == 0


def test_syntax_error_is_one_line(engine_store: EngineStore) -> None:
    result = engine_store.invoke("cypher", "MATC (n) RETURN n")
    assert result.exit_code == 1 and "Traceback" not in result.output and "error" in result.output


def test_build_with_bad_sources_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kg", "build", "--sources", str(tmp_path / "nope"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1 and "does not exist" in result.output
    (tmp_path / "file").write_text("not a directory\n")
    result = runner.invoke(app, ["kg", "build", "--sources", str(tmp_path / "file"), "--db", str(tmp_path / "db")])
    assert result.exit_code == 1 and f"sources directory {tmp_path / 'file'} is a file, not a directory" in result.output
    assert not (tmp_path / "db").exists()  # nothing made for a typo


def test_a_file_as_database_is_named_as_a_file(subset_sources: Path, tmp_path: Path) -> None:
    """`--db FILE`: said to be a file, by every command, and `kg build` does not suggest itself or fail on EEXIST."""
    path = tmp_path / "graph.db"
    path.write_text("kept\n")
    for argv in (["kg", "stats"], ["cypher", "RETURN 1"], ["retrieve", "TP53", "MDM2"],
                 ["kg", "build", "--sources", str(subset_sources)]):
        result = runner.invoke(app, [*argv, "--db", str(path)])
        assert result.exit_code == 1 and f"{path} is a file, not a database directory" in result.output, result.output
        assert "kg build --db" not in result.output and "Errno" not in result.output
    assert path.read_text() == "kept\n"


def test_fetch_from_mirror(subset_sources: Path, tmp_path: Path) -> None:
    dest = tmp_path / "fetched"
    result = runner.invoke(app, ["kg", "fetch", "--dest", str(dest), "--mirror", str(subset_sources), "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    assert (dest / "go/go-basic.obo").read_bytes() == (subset_sources / "go/go-basic.obo").read_bytes()
    assert len(manifest) == len(SOURCES) and all(len(v["sha256"]) == 64 for v in manifest.values())


def test_text_that_is_not_utf8_is_named(subset_store: GraphStore) -> None:
    """Bytes that are not UTF-8 (Python passes them on as lone surrogates): one line naming the argument or the
    statement, no traceback, and the shell's other statements still run."""
    import subprocess
    import sys

    db = str(subset_store.backend.server.directory)
    for argv, name in (([b"retrieve", b"TP53\xff", b"MDM2"], "perturbed"), ([b"cypher", b"RETURN 'x\xff' AS s"], "query"),
                       ([b"cypher", b"RETURN $x AS x", b"-p", b"x=\xfe"], "param")):
        result = subprocess.run([sys.executable, "-m", "aroma.cli", *argv, "--db", db], capture_output=True, timeout=120)
        stderr = result.stderr.decode(errors="replace")
        assert result.returncode == 1 and "Traceback" not in stderr, stderr
        assert stderr.startswith(f"error: {name} ") and "not valid UTF-8" in stderr and stderr.count("\n") <= 2
    shell = runner.invoke(app, ["cypher", "-f", "csv", "--db", db], input=b"RETURN 'x\xff' AS s;\nRETURN 2 AS two;\n")
    assert "Traceback" not in shell.output and "two\n2\n" in shell.stdout and shell.exit_code == 1
    assert "statement is not valid UTF-8" in shell.stderr


def test_deeply_nested_parameter_is_one_line(engine_store: EngineStore) -> None:
    result = engine_store.invoke("cypher", "RETURN $x AS x", "-p", "x=" + "[" * 5000 + "]" * 5000)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "-p x: the value is nested too deeply" in result.output


def test_immutable_database_directory_is_one_line(tmp_path: Path) -> None:
    """`retrieve` on a directory nothing may be written to: one clean error, no thread traceback before it."""
    import os
    import subprocess
    import sys

    db = tmp_path / "db"
    db.mkdir()
    (db / "current").write_text("aroma_1\n")  # looks built: the server is started in the background at once
    if os.geteuid() == 0:  # root writes through permissions: make it immutable
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not supported here")
    else:
        db.chmod(0o555)
    try:
        result = subprocess.run([sys.executable, "-m", "aroma.cli", "retrieve", "TP53", "MDM2", "--db", str(db)],
                                capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)
        db.chmod(0o755)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "Exception" not in result.stderr
    assert result.stderr.startswith("error:") and str(db) in result.stderr and result.stderr.count("\n") <= 2, result.stderr
