"""Publisher-scale benchmark: a synthetic full-size STRING file, builds at several thresholds, one pair's latency.

    python benchmarks/scale.py --sources ../shared/data/sources [--lines 13700000] [--thresholds 0,400,700]
                               [--work runs/scale] [--pair TP53,CDKN1A] [--seed 0] [--loader auto|bulk|bolt]
                               [--perturbqa ../shared/data/perturbqa]

The synthetic sources are the shared ones (linked, not copied) with a STRING links file made of the shared
lines plus seeded random pairs over the real protein ids, scored 150-399 and written in both directions,
until the file has ``--lines`` lines (13.7M: the size of the publisher's human file). Each threshold is
built into its own fresh local database in a separate process; printed per build: stage times, rows/s,
peak memory of Python and of the server, database size on disk, and ``aroma retrieve P T`` latency (with
and without ``--no-experiments``): in-process, through the CLI the first time after the build (deriving
the build's cached tables), including a server start (cold) and against a running server (warm).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from measure import disk_bytes, peak_rss_mb, process_peak_rss_mb  # benchmarks/measure.py

STRING_DIR = "string"
LINKS = "9606.protein.links.detailed.v12.0.txt.gz"
INFO = "9606.protein.info.v12.0.txt.gz"


def make_synthetic(sources: Path, out: Path, lines: int, seed: int) -> dict:
    """Write ``out``: ``sources`` linked in, except a STRING links file padded to ``lines`` lines."""
    start = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for entry in sources.iterdir():
        if entry.name not in (STRING_DIR, "MANIFEST.json") and not (out / entry.name).exists():
            (out / entry.name).symlink_to(entry.resolve())
    string_out = out / STRING_DIR
    string_out.mkdir(exist_ok=True)
    if not (string_out / INFO).exists():
        (string_out / INFO).symlink_to((sources / STRING_DIR / INFO).resolve())
    with gzip.open(sources / STRING_DIR / INFO, "rt") as handle:
        proteins = [line.split("\t", 1)[0] for line in handle if not line.startswith("#")]
    rng = random.Random(seed)
    written = 0
    with gzip.open(sources / STRING_DIR / LINKS, "rt") as shared, \
            gzip.open(string_out / LINKS, "wt", compresslevel=1) as target:
        for line in shared:
            target.write(line)
            written += 1
        chunk = []
        while written < lines:
            a, b = rng.sample(proteins, 2)
            score = rng.randint(150, 399)
            coexpression = rng.randint(0, score)
            for x, y in ((a, b), (b, a)):
                chunk.append(f"{x} {y} 0 0 0 {coexpression} 0 0 {score} {score}\n")
            written += 2
            if len(chunk) >= 100_000:
                target.write("".join(chunk))
                chunk.clear()
        target.write("".join(chunk))
    return {"lines": written - 1, "seconds": round(time.monotonic() - start, 1),
            "mb": round((string_out / LINKS).stat().st_size / 2**20, 1)}


def build_worker(sources: Path, db: Path, threshold: int, pair: list[str], loader: str = "auto",
                 perturbqa: Path | None = None) -> dict:
    """One build in this process (so its peak memory is this build's), then one pair's evidence, timed."""
    from aroma.kg.build import build
    from aroma.kg.store import open_store
    from aroma.retrieval import EvidenceIndex

    with open_store(db) as store:
        start = time.monotonic()
        report = build(sources, store=store, show_progress=False, string_min_score=threshold, loader=loader,
                       perturbqa=perturbqa)
        wall = time.monotonic() - start
        server = store.backend.server.info
        figures = {
            "string_min_score": threshold,
            "loader": report.loader,
            "wall_s": round(wall, 1),
            "stages_s": {k: round(v, 1) for k, v in report.stage_seconds.items()},
            "nodes": report.nodes,
            "edges": report.edges,
            "string_links_below_threshold": report.string_below_min_score,
            "load_rows_per_s": round(report.load_rows_per_second),
            "python_peak_rss_mb": peak_rss_mb(),
            "server_peak_rss_mb": process_peak_rss_mb(server.pid),
            "database_mb": round(disk_bytes(Path(server.root) / "databases" / report.database) / 2**20, 1),
        }
        seconds = []
        for _ in range(3):  # a fresh index each time: nothing cached in Python, the server is up
            start = time.perf_counter()
            EvidenceIndex(store).evidence(pair[0], pair[1], "K562")
            seconds.append(round(time.perf_counter() - start, 3))
        figures["pair_evidence_in_process_s"] = seconds
    return figures


def _cli_retrieve(db: Path, pair: list[str], *options: str) -> float:
    """``aroma retrieve`` on the directory: starts the local server, answers, stops it."""
    command = [sys.executable, "-m", "aroma.cli", "retrieve", *pair, *options, "--db", str(db)]
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return round(time.monotonic() - start, 2)


def _warm_cli(db: Path, pair: list[str]) -> dict[str, float]:
    """``aroma retrieve`` (with and without experiments) against ``aroma kg serve`` on the database (the server
    already up, the build's derived tables cached)."""
    import os

    from aroma.kg.arcadedb import free_port

    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "aroma.cli", "kg", "serve", "--db", str(db), "--port", str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()  # "serving DIR at bolt://… (database NAME)"
        database = first.rsplit("(database ", 1)[1].rstrip(")\n")
        credentials = json.loads((db / "credentials.json").read_text())
        env = {**os.environ, "AROMA_NEO4J_USER": credentials["user"], "AROMA_NEO4J_PASSWORD": credentials["password"]}
        env["AROMA_CACHE"] = str(db / "cache")  # the tables the directory's first retrieve derived
        command = [sys.executable, "-m", "aroma.cli", "retrieve", *pair, "--db", f"bolt://127.0.0.1:{port}",
                   "--database", database]
        figures = {}
        for name, options in (("retrieve_cli_warm_s", []), ("retrieve_cli_warm_no_experiments_s", ["--no-experiments"])):
            subprocess.run(command + options, check=True, capture_output=True, env=env)  # first query after the start
            start = time.monotonic()
            subprocess.run(command + options, check=True, capture_output=True, env=env)
            figures[name] = round(time.monotonic() - start, 2)
        return figures
    finally:
        serve.terminate()
        serve.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, default=Path("../shared/data/sources"))
    parser.add_argument("--lines", type=int, default=13_700_000, help="lines of the synthetic STRING links file")
    parser.add_argument("--thresholds", default="0,400,700")
    parser.add_argument("--work", type=Path, default=Path("runs/scale"))
    parser.add_argument("--pair", default="TP53,CDKN1A")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loader", default="auto", help="auto, bulk (the local database's importer) or bolt")
    parser.add_argument("--perturbqa", type=Path, help="also load this PerturbQA directory's training outcomes")
    parser.add_argument("--build-worker", nargs=3, metavar=("SOURCES", "DB", "THRESHOLD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    pair = args.pair.split(",")
    if args.build_worker:
        sources, db, threshold = args.build_worker
        print(json.dumps(build_worker(Path(sources), Path(db), int(threshold), pair, args.loader, args.perturbqa)))
        return
    synthetic = args.work / f"sources-{args.lines}-seed{args.seed}"
    if not (synthetic / STRING_DIR / LINKS).exists():
        print(json.dumps({"synthetic_string_file": make_synthetic(args.sources, synthetic, args.lines, args.seed)}),
              flush=True)
    for threshold in (int(t) for t in args.thresholds.split(",")):
        db = args.work / f"db-{threshold}"
        shutil.rmtree(db, ignore_errors=True)
        outcomes = ["--perturbqa", str(args.perturbqa)] if args.perturbqa else []
        out = subprocess.run([sys.executable, __file__, "--pair", args.pair, "--loader", args.loader, *outcomes,
                              "--build-worker", str(synthetic), str(db), str(threshold)],
                             capture_output=True, text=True, check=True).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        # each call starts the local server and stops it; the first derives the build's tables (cached after)
        figures["retrieve_cli_first_after_build_s"] = _cli_retrieve(db, pair)
        figures["retrieve_cli_cold_s"] = _cli_retrieve(db, pair)
        figures["retrieve_cli_cold_no_experiments_s"] = _cli_retrieve(db, pair, "--no-experiments")
        figures.update(_warm_cli(db, pair))
        print(json.dumps(figures), flush=True)
        shutil.rmtree(db, ignore_errors=True)


if __name__ == "__main__":
    main()
