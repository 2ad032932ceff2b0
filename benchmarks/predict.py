"""How fast a biologist gets answers: `aroma train predictor`, one unseen knockdown over every measured gene (cold
from the command line, warm against `aroma kg serve`, and in-process warm), and all test pairs of a cell line from
a label-free file, whose per-gene AUROC is printed beside the bench's figure for the same method.

    python benchmarks/predict.py --db ~/.aroma/db --perturbqa ../shared/data/perturbqa --cell-line k562 \
        --knockdown AARS2 [--out runs/bench_predict] [--repeats 3]

Run it alone on the machine: every figure is wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from aroma.data.perturbqa import PerturbQA
from aroma.evaluate.metrics import evaluate
from aroma.kg.store import open_store
from aroma.predict.answers import answer, knockdown_pairs
from aroma.predict.saved import open_predictor
from aroma.retrieval.knowledge import GraphContext
from aroma.retrieval.phases import phase


def _cli(*args: str, env: dict[str, str] | None = None) -> float:
    """Seconds one `aroma` command takes, from a fresh Python (the command must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aroma.cli", *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=str(Path("~/.aroma/db").expanduser()))
    parser.add_argument("--perturbqa", type=Path, required=True)
    parser.add_argument("--cell-line", default="k562")
    parser.add_argument("--knockdown", default="AARS2", help="a knockdown never measured in the cell line's training")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_predict"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    predictor, db = args.out / "predictor", args.db
    figures: dict[str, object] = {}

    figures["train_predictor_s"] = round(_cli("train", "predictor", "--cell-line", args.cell_line, "--perturbqa",
                                              str(args.perturbqa), "--out", str(predictor), "--db", db), 2)
    knockdown = ["predict", "--knockdown", args.knockdown, "--predictor", str(predictor), "--out",
                 str(args.out / "knockdown.csv")]
    figures["knockdown_cold_cli_s"] = [round(_cli(*knockdown, "--db", db), 2) for _ in range(args.repeats)]

    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "aroma.cli", "kg", "serve", "--db", db, "--port", str(port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        serve.stdout.readline()  # "serving … at bolt://…" once the server is up
        password = json.loads((Path(db) / "credentials.json").read_text())["password"]
        env = {**os.environ, "AROMA_NEO4J_USER": "root", "AROMA_NEO4J_PASSWORD": password}
        bolt = ["--db", f"bolt://127.0.0.1:{port}", "--database", (Path(db) / "current").read_text().strip()]
        _cli(*knockdown, *bolt, env=env)  # derives the tables a URI caches in ~/.aroma/cache, once
        figures["knockdown_warm_cli_s"] = [round(_cli(*knockdown, *bolt, env=env), 2) for _ in range(args.repeats)]
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=60)

    with open_store(db) as store:
        graph = GraphContext(store)
        fitted = open_predictor(predictor, graph)
        pairs = knockdown_pairs(fitted.predictor.knowledge, args.knockdown)
        seconds = []
        for _ in range(args.repeats + 1):
            fitted.predictor.knowledge._features.clear()  # noqa: SLF001 (time the features, not the memo)
            start = time.perf_counter()
            answer(fitted.predictor, pairs)
            seconds.append(time.perf_counter() - start)
        figures["knockdown_warm_in_process_s"] = round(statistics.median(seconds[1:]), 3)
        figures["knockdown_genes"] = len(pairs)

    test = phase("test", PerturbQA(args.perturbqa).pairs(args.cell_line)).score
    asked = args.out / "test_pairs.csv"
    with asked.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["pert", "gene"])
        writer.writerows([p.perturbed, p.target] for p in test)
    figures["test_pairs"] = len(test)
    figures["test_pairs_cli_s"] = round(_cli("predict", "--pairs", str(asked), "--predictor", str(predictor), "--out",
                                             str(args.out / "answers.csv"), "--db", db), 2)
    rows = list(csv.DictReader((args.out / "answers.csv").open()))
    probabilities = np.array([[float(r["p_not_changed"]), float(r["p_down"]), float(r["p_up"])] for r in rows])
    metrics = evaluate([p.target for p in test], [p.label for p in test], probabilities)
    figures["test_pairs_metrics"] = {k: metrics[k] for k in ("de_auroc", "direction_auroc", "macro_f1")}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
