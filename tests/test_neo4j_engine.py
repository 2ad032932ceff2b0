"""The same sources on both engines give the same graph, evidence and dataset; neo4j-admin imports the export."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path

import pytest

from aroma.data.perturbqa import PerturbQA
from aroma.dataset.generate import GenerateConfig, generate
from aroma.kg.neo4j_local import LocalNeo4j, neo4j_admin
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store
from tests.engines import EngineStore
from tests.processes import aroma

pytestmark = pytest.mark.neo4j
PAIRS = [("TP53", "MDM2"), ("TP53", "BAX"), ("CASP3", "CASP9"), ("MDM2", "CDKN1A"), ("CDKN1A", "CASP3")]


def _local(store: GraphStore) -> EngineStore:
    return EngineStore("arcadedb", store, ["--db", str(store.backend.server.directory)])


def test_same_stats_and_evidence_on_both_engines(subset_store: GraphStore, neo4j_subset_store: EngineStore) -> None:
    local = _local(subset_store)
    stats = {}
    for target in (local, neo4j_subset_store):
        result = target.invoke("kg", "stats", "--json")
        assert result.exit_code == 0, result.output
        stats[target.engine] = json.loads(result.output)
    assert stats["neo4j"]["nodes"] == stats["arcadedb"]["nodes"]
    assert stats["neo4j"]["edges"] == stats["arcadedb"]["edges"]
    assert stats["neo4j"]["build"]["checksum"] == stats["arcadedb"]["build"]["checksum"]
    for perturbed, target_gene in PAIRS:
        outputs = [t.invoke("retrieve", perturbed, target_gene, "--json") for t in (local, neo4j_subset_store)]
        assert all(o.exit_code == 0 for o in outputs), [o.output for o in outputs]
        assert outputs[0].output == outputs[1].output, (perturbed, target_gene)
        assert json.loads(outputs[0].output)["perturbed"]["symbol"] == perturbed


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_dataset_bytes_identical_on_neo4j(subset_dataset: Path, neo4j_subset_store: EngineStore, data_root: Path,
                                          tmp_path: Path) -> None:
    generate(neo4j_subset_store.store, GenerateConfig(PerturbQA(data_root / "perturbqa"), ["k562"], tmp_path, limit=120),
             show_progress=False)
    assert _digest(tmp_path) == _digest(subset_dataset)


def test_neo4j_admin_import_of_the_export(subset_sources: Path, subset_store: GraphStore, tmp_path: Path) -> None:
    """`aroma kg export --format neo4j-admin`, imported by Neo4j's own `neo4j-admin database import full`."""
    from typer.testing import CliRunner

    from aroma.cli import app

    out = tmp_path / "import"
    exported = CliRunner().invoke(app, ["kg", "export", "--format", "neo4j-admin", "--out", str(out),
                                        "--sources", str(subset_sources)])
    assert exported.exit_code == 0, exported.output
    command = shlex.split(exported.stdout.strip().splitlines()[-1])
    assert command[:5] == ["neo4j-admin", "database", "import", "full", "neo4j"]
    home = tmp_path / "neo4j"
    report = neo4j_admin(home, *command[1:])
    assert "IMPORT DONE" in report.stdout + report.stderr

    expected = graph_stats(subset_store)
    with LocalNeo4j(home) as server:
        with open_store(server.uri, user=server.auth[0], password=server.auth[1], database="neo4j") as store:
            nodes = {r["label"]: r["count"] for r in store.read("stats/node_counts")}
            edges = graph_stats(store).edges  # in the schema's order, as expected.edges
            tp53 = store.run("MATCH (g:Gene {id: 'ncbigene:7157'}) RETURN g.aliases AS aliases, "
                             "g.gene_id AS gene_id").rows[0]
            score = store.run("MATCH (:Gene)-[r:INTERACTS_WITH]->(:Gene) RETURN r.combined_score AS s LIMIT 1").rows
    assert nodes == {k: v for k, v in expected.nodes.items() if k != "BuildInfo"}
    assert edges == expected.edges
    assert "LFS1" in tp53["aliases"] and tp53["gene_id"] == 7157  # typed columns: string[] and long
    assert isinstance(score[0]["s"], int)


@pytest.mark.parametrize("engine", ["arcadedb", "neo4j"], indirect=True)
def test_cypher_refuses_schema_and_user_commands_before_they_run(fresh_engine_store: EngineStore,
                                                                  subset_sources: Path) -> None:
    """`aroma cypher` without --write: index, constraint and user commands are refused and change nothing."""
    from aroma.kg.build import build

    target = fresh_engine_store
    build(subset_sources, store=target.store, show_progress=False)
    for query in ("CREATE INDEX probe_index IF NOT EXISTS FOR (n:Gene) ON (n.type)",
                  "DROP CONSTRAINT gene_id",
                  "CREATE USER probe_user SET PASSWORD 'probe-password-1'"):
        result = target.invoke("cypher", query)
        assert result.exit_code == 1 and "--write" in result.output, (query, result.output)
    constraints = {r["name"] for r in target.store.run("SHOW CONSTRAINTS YIELD name RETURN name").rows}
    indexes = {r["name"] for r in target.store.run("SHOW INDEXES YIELD name RETURN name").rows}
    assert "gene_id" in constraints and "probe_index" not in indexes


@pytest.mark.parametrize("ending", ["ctrl-c", "server killed"])
def test_kg_serve_neo4j_until_ctrl_c(tmp_path: Path, ending: str) -> None:
    """`aroma kg serve --engine neo4j`: a Bolt client logs in with the stored password; SIGINT stops the JVM; a JVM
    killed with -9 under it makes it say so and exit non-zero (issue 31)."""
    import signal
    import subprocess
    import time

    from neo4j import GraphDatabase

    from aroma.kg.arcadedb import _alive, free_port

    port = free_port()
    home = tmp_path / "neo4j"
    with aroma("kg", "serve", "--engine", "neo4j", "--db", str(home), "--port", str(port), stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True) as serve:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        assert f"bolt://127.0.0.1:{port}" in first, first + serve.stderr.read() if serve.poll() is not None else first
        password = json.loads((home / "credentials.json").read_text())["password"]
        with GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=("neo4j", password)) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS n", database_="neo4j")
        assert records[0]["n"] == 1
        jvms = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, str(home))]
        assert jvms
        time.sleep(0.5)
        if ending == "ctrl-c":
            serve.send_signal(signal.SIGINT)
        else:
            for pid in jvms:
                os.kill(pid, signal.SIGKILL)
        out, err = serve.communicate(timeout=120)
    if ending == "ctrl-c":
        assert serve.returncode == 0, err
        assert "stopping" in out
    else:
        assert serve.returncode == 1 and "stopped unexpectedly" in err, err
    assert not any(_alive(pid) for pid in jvms)


def _cmdline_has(proc: Path, text: str) -> bool:
    try:
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    return b"aroma.neo4j.Launcher" in cmdline and text.encode() in cmdline
