"""Building the graph from a real subset: counts, idempotency, and a failed build leaves the old graph intact."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aroma.errors import SourceFormatError
from aroma.kg.adapters import gmt, trrust
from aroma.kg.assemble import assemble
from aroma.kg.build import build
from aroma.kg.sources import SourceDir
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store


def _counts(store: GraphStore) -> tuple[dict, list]:
    stats = graph_stats(store)
    return stats.nodes, stats.edges


def test_subset_counts_match_records(subset_store: GraphStore, subset_sources: Path) -> None:
    graph = assemble(SourceDir(subset_sources))
    nodes, edges = _counts(subset_store)
    for label, records in graph.nodes.items():
        assert nodes[label] == len(records)
    loaded = {(e["source"], e["type"], e["target"]): e["count"] for e in edges}
    assert loaded == {kind: len(records) for kind, records in graph.edges.items()}
    assert nodes["BuildInfo"] == 1


def test_trrust_edges_with_sign_and_pmids(subset_store: GraphStore, subset_sources: Path) -> None:
    rows = list(trrust.read_trrust(subset_sources / "trrust/trrust_rawdata.human.tsv"))
    row = next(r for r in rows if r.sign != "unknown")
    found = subset_store.run(
        "MATCH (tf:Gene {symbol: $tf})-[r:REGULATES]->(t:Gene {symbol: $target}) "
        "WHERE r.sign = $sign RETURN r.pmids AS pmids",
        {"tf": row.tf, "target": row.target, "sign": row.sign},
    ).rows
    assert len(found) == 1 and set(row.pmids) <= set(found[0]["pmids"])


def test_hallmark_members(subset_store: GraphStore, subset_sources: Path) -> None:
    for gene_set in gmt.read_gmt(subset_sources / "msigdb/h.all.v7.0.symbols.gmt"):
        rows = subset_store.run(
            "MATCH (g:Gene)-[:MEMBER_OF]->(p:Pathway {id: $id}) RETURN collect(g.symbol) AS symbols",
            {"id": f"msigdb:{gene_set.name}"},
        ).rows
        assert set(rows[0]["symbols"]) <= set(gene_set.genes) | {"placeholder"}
        assert len(rows[0]["symbols"]) >= len(gene_set.genes) - 5


def test_rebuild_is_idempotent_and_swaps(subset_sources: Path, tmp_path: Path) -> None:
    with open_store(tmp_path / "db") as store:
        first = build(subset_sources, store=store, show_progress=False)
        counts = _counts(store)
        second = build(subset_sources, store=store, show_progress=False)
        assert _counts(store) == counts
        assert first.checksum == second.checksum and first.database != second.database
        assert store.backend.server.databases() == [second.database]  # the old one was dropped


def test_failed_build_keeps_previous_graph(subset_sources: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(subset_sources, sources)
    with open_store(tmp_path / "db") as store:
        build(sources, store=store, show_progress=False)
        before, database = _counts(store), store.database
        path = sources / "trrust/trrust_rawdata.human.tsv"
        path.write_text(path.read_text() + "TP53\tMDM2\tSometimes\t123\n")
        with pytest.raises(SourceFormatError, match=r"trrust_rawdata\.human\.tsv, line \d+: regulation 'Sometimes'"):
            build(sources, store=store, show_progress=False)
        assert store.database == database and _counts(store) == before
        assert store.backend.server.databases() == [database]


def test_interrupted_build_keeps_previous_graph(subset_sources: Path, full_sources: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) in the middle of loading the full graph: the earlier subset graph survives."""
    db = tmp_path / "db"
    with open_store(db) as store:  # this process owns the server; the CLI below reuses it
        build(subset_sources, store=store, show_progress=False)
        before, database = _counts(store), store.database
        process = subprocess.Popen(
            [sys.executable, "-m", "aroma.cli", "kg", "build", "--sources", str(full_sources), "--db", str(db),
             "--quiet", "--batch-size", "2000"],
            stderr=subprocess.PIPE, text=True,
        )
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
