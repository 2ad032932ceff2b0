"""Building the graph from a real subset: counts, idempotency, and a failed build leaves the old graph intact."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aroma.errors import SourceFormatError
from aroma.kg.adapters import gmt, ncbi, trrust
from aroma.kg.assemble import assemble
from aroma.kg.build import build
from aroma.kg.idmap import GeneIndex
from aroma.kg.sources import SourceDir
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store
from tests.engines import EngineStore
from tests.processes import aroma


def _counts(store: GraphStore) -> tuple[dict, list]:
    stats = graph_stats(store)
    return stats.nodes, stats.edges


def test_subset_counts_match_records(engine_store: EngineStore, subset_sources: Path) -> None:
    graph = assemble(SourceDir(subset_sources))
    nodes, edges = _counts(engine_store.store)
    for label, records in graph.nodes.items():
        assert nodes[label] == len(records)
    loaded = {(e["source"], e["type"], e["target"]): e["count"] for e in edges}
    assert loaded == {kind: len(records) for kind, records in graph.edges.items()}
    assert nodes["BuildInfo"] == 1


def test_trrust_edges_with_sign_and_pmids(engine_store: EngineStore, subset_sources: Path) -> None:
    rows = list(trrust.read_trrust(subset_sources / "trrust/trrust_rawdata.human.tsv"))
    row = next(r for r in rows if r.sign != "unknown")
    found = engine_store.store.run(
        "MATCH (tf:Gene {symbol: $tf})-[r:REGULATES]->(t:Gene {symbol: $target}) "
        "WHERE r.sign = $sign RETURN r.pmids AS pmids",
        {"tf": row.tf, "target": row.target, "sign": row.sign},
    ).rows
    assert len(found) == 1 and set(row.pmids) <= set(found[0]["pmids"])


def test_hallmark_members(engine_store: EngineStore, subset_sources: Path) -> None:
    """Each set's members are exactly its symbols that NCBI resolves (official symbol, else an alias naming one
    gene), under their official symbols; the rest are counted as unmapped. The subset keeps only genes whose
    official symbol is in a set, so a set's outdated names (H1F0, now H1-0) stay unmapped there: 5 of 361."""
    genes = GeneIndex(ncbi.read_gene_info(SourceDir(subset_sources).path("gene_info")))
    unmapped = 0
    for gene_set in gmt.read_gmt(subset_sources / "msigdb/h.all.v7.0.symbols.gmt"):
        rows = engine_store.store.run(
            "MATCH (g:Gene)-[:MEMBER_OF]->(p:Pathway {id: $id}) RETURN collect(g.symbol) AS symbols",
            {"id": f"msigdb:{gene_set.name}"},
        ).rows
        resolved = {symbol: genes.resolve_symbol(symbol) for symbol in gene_set.genes}
        assert sorted(rows[0]["symbols"]) == sorted({genes.genes[i].symbol for i in resolved.values() if i})
        unmapped += sum(1 for i in resolved.values() if i is None)
    mapping = graph_stats(engine_store.store).build["mappings"]["msigdb_hallmark"]
    assert mapping["unmapped"] == unmapped == 5 and mapping["records"] == 361


def _databases(store: GraphStore) -> list[str]:
    """The databases a build may leave behind: ArcadeDB's directory listing, or Neo4j's user databases."""
    if hasattr(store.backend, "server"):
        return store.backend.server.databases()
    # Through the driver: Neo4j reports administration commands, SHOW included, as query type "s".
    records, _, _ = store.driver.execute_query("SHOW DATABASES YIELD name, type WHERE type = 'standard' RETURN name",
                                               database_="system")
    return sorted(r["name"] for r in records)


def test_rebuild_is_idempotent(fresh_engine_store: EngineStore, subset_sources: Path) -> None:
    """Local: builds into a new database and swaps; Neo4j: clears the named database and rebuilds in place."""
    store = fresh_engine_store.store
    first = build(subset_sources, store=store, show_progress=False)
    counts = _counts(store)
    store.run("CREATE (:Scratch {n: 1})", write=True)  # anything else in the database goes too
    second = build(subset_sources, store=store, show_progress=False)
    assert _counts(store) == counts and first.checksum == second.checksum
    assert store.run("MATCH (x:Scratch) RETURN count(x) AS n").rows == [{"n": 0}]
    if fresh_engine_store.engine == "arcadedb":
        assert first.database != second.database
    else:
        assert first.database == second.database == "neo4j"
    assert _databases(store) == [second.database]  # the old one was dropped
    constraints = {r["name"] for r in store.run("SHOW CONSTRAINTS YIELD name RETURN name").rows}
    assert {"gene_id", "goterm_id", "pathway_id"} <= constraints


def test_failed_build_keeps_previous_graph(fresh_engine_store: EngineStore, subset_sources: Path,
                                           tmp_path: Path) -> None:
    store = fresh_engine_store.store
    sources = tmp_path / "sources"
    shutil.copytree(subset_sources, sources)
    build(sources, store=store, show_progress=False)
    before, database = _counts(store), store.database
    path = sources / "trrust/trrust_rawdata.human.tsv"
    path.write_text(path.read_text() + "TP53\tMDM2\tSometimes\t123\n")
    with pytest.raises(SourceFormatError, match=r"trrust_rawdata\.human\.tsv, line \d+: regulation 'Sometimes'"):
        build(sources, store=store, show_progress=False)
    assert store.database == database and _counts(store) == before
    assert _databases(store) == [database]


def test_interrupted_build_keeps_previous_graph(subset_sources: Path, full_sources: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) in the middle of loading the full graph: the earlier subset graph survives."""
    db = tmp_path / "db"
    with open_store(db) as store:  # this process owns the server; the CLI below reuses it
        build(subset_sources, store=store, show_progress=False)
        before, database = _counts(store), store.database
        with aroma("kg", "build", "--sources", str(full_sources), "--db", str(db), "--quiet", "--batch-size", "2000",
                   stderr=subprocess.PIPE, text=True) as process:
            databases = Path(store.backend.server.info.root) / "databases"
            deadline = time.monotonic() + 120
            while len(list(databases.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(3)  # well into loading
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=120)
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr
        assert store.database == database and _counts(store) == before
        assert store.backend.server.databases() == [database]


def _string_scores(store: GraphStore) -> dict[str, int]:
    return store.run("MATCH (:Gene)-[r:INTERACTS_WITH]->(:Gene) "
                     "RETURN count(r) AS edges, min(r.combined_score) AS lowest").rows[0]


def test_string_min_score(engine_store: EngineStore, fresh_engine_store: EngineStore, subset_sources: Path) -> None:
    """``--string-min-score 700`` loads fewer STRING links than the default 400, none below 700, and says so."""
    default, default_build = _string_scores(engine_store.store), graph_stats(engine_store.store).build
    assert default["lowest"] >= 400 and default_build["string_min_score"] == 400
    result = fresh_engine_store.invoke("kg", "build", "--sources", str(subset_sources), "--no-outcomes", "--quiet",
                                       "--string-min-score", "700")
    assert result.exit_code == 0, result.output
    high = _string_scores(fresh_engine_store.store)
    assert high["lowest"] >= 700 and 0 < high["edges"] < default["edges"]
    stats = json.loads(fresh_engine_store.invoke("kg", "stats", "--json").output)
    assert stats["build"]["string_min_score"] == 700 and stats["build"]["string_below_min_score"] > 0
    assert stats["build"]["checksum"] != default_build["checksum"]  # on Neo4j both are the same database
    table = fresh_engine_store.invoke("kg", "stats").output
    assert "STRING minimum combined score: 700 (" in table
    refused = fresh_engine_store.invoke("kg", "build", "--sources", str(subset_sources), "--string-min-score", "1001")
    assert refused.exit_code == 2  # a usage error: the threshold is outside 0-1000


def _importers(db: Path) -> list[int]:
    """Pids of ArcadeDB importer JVMs writing under ``db``."""
    from aroma.kg.arcadedb import GRAPH_IMPORTER

    pids = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if GRAPH_IMPORTER.encode() in command and str(db).encode() in command:
            pids.append(int(proc.name))
    return pids


def test_build_killed_during_import_leaves_nothing_behind(subset_sources: Path, tmp_path: Path) -> None:
    """kill -9 of a build while the importer runs, with another process holding the server (as `kg serve` does):
    the importer dies with the build, the old graph stays, and the next build drops the stray staging database
    and import files (once refused with "does not exist") and succeeds (issue 31)."""
    from aroma.kg.arcadedb import _alive, _zombie

    db = tmp_path / "db"
    with open_store(db) as store:  # holds the server, like `kg serve`
        build(subset_sources, store=store, show_progress=False)
        before, database = _counts(store), store.database
        server = store.backend.server
        with aroma("kg", "build", "--sources", str(subset_sources), "--db", str(db), "--quiet", "--no-outcomes",
                   stderr=subprocess.DEVNULL) as process:
            deadline = time.monotonic() + 120
            while not (importers := _importers(db)) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert importers, "the importer never ran"
            process.kill()
            process.wait()
        deadline = time.monotonic() + 3  # at once: left alone it would run on for seconds (or, on a large graph, minutes)
        while any(_alive(p) and not _zombie(p) for p in importers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) and not _zombie(p) for p in importers), "the importer outlived its build"
        assert store.database == database and _counts(store) == before
        assert len(server.databases()) == 2 and list(server.import_directory.iterdir())  # what the build left
        result = subprocess.run([sys.executable, "-m", "aroma.cli", "kg", "build", "--sources", str(subset_sources),
                                 "--db", str(db), "--quiet", "--no-outcomes"], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        assert server.databases() == [store.database] != [database]
        assert list(server.import_directory.iterdir()) == []
        nodes, edges = _counts(store)
        assert nodes == before[0] and sorted(map(str, edges)) == sorted(map(str, before[1]))  # the same graph again
