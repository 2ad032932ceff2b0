"""Dataset generation benchmark: end-to-end pairs/s for a whole cell line, with time per stage and peak memory.

    python benchmarks/dataset_generate.py --db ~/.aroma/db [--cell-line k562] [--workers 1 2] [--no-cache]

Without --db the full graph is built first from --sources into a temporary directory (not timed). The tables
derived from the build (similarity profiles, outcome tables, the STRING network) are read from the build's
cache when a previous run left them there (``aroma.retrieval.cache``); ``--no-cache`` reads them from the
graph, as a first run does.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from aroma.data.perturbqa import PerturbQA
from aroma.dataset.generate import GenerateConfig, generate
from aroma.kg.build import build
from aroma.kg.store import open_store
from measure import disk_bytes, peak_rss_mb  # benchmarks/measure.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="a built graph (local directory or URI)")
    parser.add_argument("--sources", type=Path, default=Path("../shared/data/sources"))
    parser.add_argument("--perturbqa", type=Path, default=Path("../shared/data/perturbqa"))
    parser.add_argument("--cell-line", default="k562")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-cache", action="store_true", help="read everything from the graph (AROMA_CACHE=off)")
    args = parser.parse_args()
    if args.no_cache:
        os.environ["AROMA_CACHE"] = "off"
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.db or Path(tmp) / "db")
        try:
            if not args.db:
                build(args.sources, store=store, show_progress=False)
            for workers in args.workers:
                out = Path(tmp) / f"out{workers}"
                start, cpu = time.monotonic(), time.process_time()
                card = generate(store, GenerateConfig(PerturbQA(args.perturbqa), [args.cell_line], out, workers=workers),
                                show_progress=False)
                seconds, cpu = time.monotonic() - start, time.process_time() - cpu
                print(json.dumps({
                    "cell_line": args.cell_line, "workers": workers, "cache": not args.no_cache, "pairs": card.pairs,
                    "seconds": round(seconds, 1), "pairs_per_s": round(card.pairs / seconds),
                    # on a shared machine wall time includes waiting for a core: this process's CPU time too
                    "cpu_s": round(cpu, 1), "pairs_per_cpu_s": round(card.pairs / cpu),
                    "stages_s": card.seconds,
                    # peaks over the process so far (children: workers, or a server it started): run one --workers value
                    "python_peak_rss_mb": peak_rss_mb(),
                    "children_peak_rss_mb": peak_rss_mb(children=True),
                    "output_mb": round(disk_bytes(out) / 2**20, 1),
                }, indent=1), flush=True)
        finally:
            store.close()


if __name__ == "__main__":
    main()
