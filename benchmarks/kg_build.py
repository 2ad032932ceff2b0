"""Full knowledge-graph build benchmark: stage times, rows/s, peak memory, disk size, query latency.

    python benchmarks/kg_build.py --sources ../shared/data/sources [--loader auto|bulk|bolt] [--engine neo4j] [--sweep]
                                  [--embedded] [--admin-import]

--engine     arcadedb (the local default, in a temporary directory) or neo4j (a real Neo4j 5.26 Community
             started from Maven artifacts, see aroma/kg/neo4j_local.py); --db URI builds on a server of yours
             (AROMA_NEO4J_USER / AROMA_NEO4J_PASSWORD; its database is cleared)
--loader     how rows reach the database (auto: ArcadeDB's GraphImporter on the local default, Bolt on Neo4j)
--sweep      rebuild over Bolt with several batch sizes and compare load throughput
--embedded   load the same records with ArcadeDB's embedded GraphBatch importer (no Bolt) for comparison
--admin-import  time `aroma kg export --format neo4j-admin` and `neo4j-admin database import full` of it
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aroma.kg.build import build
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store
from measure import disk_bytes, peak_rss_mb, process_peak_rss_mb  # benchmarks/measure.py

GENES = ["TP53", "MYC", "GAPDH", "BRCA1", "EGFR", "STAT3", "CDK1", "RPL3", "AKT1", "MDM2"]
QUERIES = {
    "1-hop neighbours with properties": ("queries/gene_neighbours", lambda a, b: {"symbol": a, "limit": 25}),
    "genes sharing a pathway": ("queries/genes_sharing_pathway", lambda a, b: {"symbol": a, "limit": 25}),
    "GO terms shared by two genes": ("queries/shared_go_terms", lambda a, b: {"a": a, "b": b}),
}




def query_latency(store: GraphStore, runs: int = 5) -> dict[str, float]:
    """Median milliseconds per query over GENES, after one discarded pass (the server's JIT warms up)."""
    for name, params in QUERIES.values():
        for a, b in zip(GENES, GENES[1:] + GENES[:1]):
            store.read(name, **params(a, b))
    result = {}
    for title, (name, params) in QUERIES.items():
        times = []
        for _ in range(runs):
            for a, b in zip(GENES, GENES[1:] + GENES[:1]):
                start = time.perf_counter()
                store.read(name, **params(a, b))
                times.append((time.perf_counter() - start) * 1000)
        result[title] = statistics.median(times)
    return result


@contextmanager
def _target(engine: str, db: str | None, tmp: Path) -> Iterator[tuple[GraphStore, int | None, Path | None]]:
    """An open store, the server's pid (for its memory) and its data directory (for the size on disk)."""
    if db:
        with open_store(db) as store:
            yield store, None, None
    elif engine == "neo4j":
        from aroma.kg.neo4j_local import LocalNeo4j

        with LocalNeo4j(tmp / "neo4j", heap="4g") as server:
            with open_store(server.uri, user=server.auth[0], password=server.auth[1], database="neo4j") as store:
                yield store, server.pid, tmp / "neo4j" / "data"
    else:
        with open_store(tmp / "db") as store:
            yield store, None, None


def timed_build(sources: Path, batch_size: int, latency: bool, engine: str = "arcadedb", db: str | None = None,
                loader: str = "auto") -> dict:
    with tempfile.TemporaryDirectory() as tmp, _target(engine, db, Path(tmp)) as (store, pid, data):
        start = time.monotonic()
        report = build(sources, store=store, batch_size=batch_size, show_progress=False, loader=loader)
        wall = time.monotonic() - start
        if hasattr(store.backend, "server"):
            pid, data = store.backend.server.info.pid, Path(store.backend.server.info.root) / "databases" / report.database
        figures = {
            "engine": "bolt server" if db else engine,
            "loader": report.loader,
            "batch_size": batch_size,
            "wall_s": round(wall, 1),
            "stages_s": {k: round(v, 1) for k, v in report.stage_seconds.items()},
            "nodes": report.nodes,
            "edges": report.edges,
            "load_rows_per_s": round(report.load_rows_per_second),
            "python_peak_rss_mb": peak_rss_mb(),
            "server_peak_rss_mb": process_peak_rss_mb(pid) if pid else None,
            "database_mb": round(disk_bytes(data) / 2**20, 1) if data else None,
        }
        if latency:
            figures["median_query_ms"] = {k: round(v, 2) for k, v in query_latency(store).items()}
            figures["stats_s"] = round(_timed(lambda: graph_stats(store)), 2)
        return figures


def admin_import(sources: Path) -> dict:
    """Export the neo4j-admin CSVs from the sources, then time Neo4j's own importer on them."""
    import shlex

    from aroma.kg.assemble import assemble
    from aroma.kg.export_admin import export_neo4j_admin
    from aroma.kg.neo4j_local import launcher_argfile, neo4j_admin
    from aroma.kg.sources import SourceDir

    launcher_argfile()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        command = export_neo4j_admin(assemble(SourceDir(sources)), Path(tmp) / "csv")
        export_s = time.monotonic() - start
        start = time.monotonic()
        neo4j_admin(Path(tmp) / "home", *shlex.split(command)[1:], heap="4g")
        import_s = time.monotonic() - start
        csv_mb = disk_bytes(Path(tmp) / "csv") / 2**20
    return {"export_s": round(export_s, 1), "import_s": round(import_s, 1), "csv_mb": round(csv_mb, 1)}


def _timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def embedded_load(sources: Path) -> dict:
    """The same records through arcadedb_embedded's GraphBatch (in-process JVM, no Bolt, no Cypher)."""
    import arcadedb_embedded as arcadedb

    from aroma.kg.assemble import assemble
    from aroma.kg.sources import SourceDir

    graph = assemble(SourceDir(sources))
    with tempfile.TemporaryDirectory() as tmp:
        db = arcadedb.create_database(str(Path(tmp) / "bulk"))
        start = time.monotonic()
        for label in graph.nodes:
            db.schema.create_vertex_type(label)
        for kind in graph.edges:
            db.schema.get_or_create_edge_type(kind[1])
        rid: dict[str, str] = {}
        with db.graph_batch(expected_edge_count=graph.edge_count, bidirectional=True) as batch:
            for label, nodes in graph.nodes.items():
                rows = [{k: v for k, v in n.row().items() if v is not None} for n in nodes]
                rid.update(zip((n.id for n in nodes), batch.create_vertices(label, rows)))
            for kind, edges in graph.edges.items():
                batch.new_edges([rid[e.source] for e in edges], kind[1], [rid[e.target] for e in edges],
                                [e.properties for e in edges] if edges[0].properties else None)
        seconds = time.monotonic() - start
        size = disk_bytes(Path(tmp) / "bulk")
        db.close()
    rows = graph.node_count + graph.edge_count
    return {"load_s": round(seconds, 1), "rows_per_s": round(rows / seconds), "database_mb": round(size / 2**20, 1),
            "note": "no indexes or constraints; ids resolved in Python"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, default=Path("../shared/data/sources"))
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--sweep", action="store_true", help="Bolt builds at several batch sizes")
    parser.add_argument("--loader", default="auto", help="auto (bulk on the local database), bulk or bolt")
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--engine", choices=["arcadedb", "neo4j"], default="arcadedb")
    parser.add_argument("--db", help="a Neo4j URI to build on instead (its database is cleared)")
    parser.add_argument("--admin-import", action="store_true")
    parser.add_argument("--embedded-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embedded_worker:  # own process: the embedded JVM lives inside Python
        print(json.dumps(embedded_load(args.sources)))
        return
    results = {"build": timed_build(args.sources, args.batch_size, latency=True, engine=args.engine, db=args.db,
                                    loader=args.loader)}
    print(json.dumps(results, indent=1), flush=True)
    if args.sweep:
        results["sweep"] = [
            {k: v for k, v in timed_build(args.sources, size, latency=False, engine=args.engine, db=args.db,
                                          loader="bolt").items() if k in
             ("batch_size", "stages_s", "load_rows_per_s")}
            for size in (2_000, 5_000, 10_000, 20_000, 50_000)
        ]
        print(json.dumps(results["sweep"], indent=1), flush=True)
    if args.embedded:
        out = subprocess.run([sys.executable, __file__, "--sources", str(args.sources), "--embedded-worker"],
                             capture_output=True, text=True, check=True).stdout
        results["embedded_graph_batch"] = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(results["embedded_graph_batch"], indent=1), flush=True)
    if args.admin_import:
        results["neo4j_admin_import"] = admin_import(args.sources)
        print(json.dumps(results["neo4j_admin_import"], indent=1), flush=True)


if __name__ == "__main__":
    main()
