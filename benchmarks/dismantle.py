"""Benchmark `aroma dismantle`: agents against the baselines on held-out Reactome pathway networks,
inference time on the whole STRING network, and the PerturbQA check (K562, RPE1; training split).

    python benchmarks/dismantle.py --db /tmp/db --agent lcc=runs/lcc --agent pairwise=runs/pw \
        --agent reach=runs/reach [--pathways 60] [--out runs/bench]

Prints, per objective and method, the mean R over the held-out networks, and the agent's wins, ties and
losses against the per-network best baseline (the lowest R of all baselines on each network), against
the baseline with the best mean R and against each baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aroma import config  # noqa: E402
from aroma.dismantle import readers  # noqa: E402
from aroma.dismantle.agent import Agent  # noqa: E402
from aroma.dismantle.baselines import BASELINES  # noqa: E402
from aroma.dismantle.runner import (AGENT, DismantleReport, find_order, knockdown_effects,  # noqa: E402
                                    removal_correlation, score)
from aroma.kg.store import open_store  # noqa: E402


def heldout_networks(store, count: int, seed: int, min_score: int, min_lcc: int) -> list:
    """Held-out Reactome pathways (never trained on) whose STRING subgraph has receptors and a component
    of at least ``min_lcc`` genes."""
    from scipy.sparse.csgraph import connected_components

    chosen = []
    pathways = [p["id"] for p in readers.pathway_ids(store, "reactome", 20, 200) if readers.is_heldout(p["id"])]
    for pathway in np.random.default_rng(seed).permutation(pathways).tolist():
        network = readers.pathway_network(store, pathway, min_score)
        if not len(network.edges) or network.sources is None or not network.sources.any():
            continue
        _, labels = connected_components(network.adjacency(), directed=False)
        if np.bincount(labels).max() < min_lcc:
            continue
        chosen.append(network)
        if len(chosen) == count:
            break
    return chosen


TIE = 1e-9  # R values closer than this are a tie (a tie is not a win)


def win_share(agent_r: np.ndarray, other_r: np.ndarray) -> dict:
    """Share of networks where the agent's R is below (win), equal to (tie) or above (loss) the other's."""
    return {"win": float((agent_r < other_r - TIE).mean()), "tie": float((np.abs(agent_r - other_r) <= TIE).mean()),
            "loss": float((agent_r > other_r + TIE).mean())}


def objective_rows(r: dict[str, np.ndarray]) -> dict:
    """Per method the mean R; the agent's wins, ties and losses against each baseline, against the
    per-network best baseline (the minimum R over all baselines on each network: the strict reading) and
    against the baseline with the best mean R."""
    per_network_best = np.min([r[m] for m in BASELINES], axis=0)
    best_mean = min(BASELINES, key=lambda m: r[m].mean())
    return {
        "networks": len(per_network_best),
        "mean_r": {m: float(v.mean()) for m, v in r.items()},
        "best_mean_baseline": best_mean,
        "per_network_best_mean_r": float(per_network_best.mean()),
        "baseline_is_per_network_best_share": {m: float((np.abs(r[m] - per_network_best) <= TIE).mean())
                                               for m in BASELINES},
        "agent_vs_per_network_best": win_share(r[AGENT], per_network_best),
        "agent_vs_best_mean_baseline": win_share(r[AGENT], r[best_mean]),
        "agent_vs_each": {m: win_share(r[AGENT], r[m]) for m in BASELINES},
    }


def pathway_benchmark(networks, agents: dict[str, Agent], seed: int) -> dict:
    """Every agent and every baseline on every network."""
    per_objective: dict[str, dict] = {}
    baseline_orders = []
    for network in networks:  # classic orders do not depend on the objective: compute them once
        baseline_orders.append({m: find_order(m, network, "reach", seed=seed)[:2] for m in BASELINES})
    for objective, agent in agents.items():
        scores = {m: [] for m in (AGENT, *BASELINES)}
        agent_cpu = []
        for network, orders in zip(networks, baseline_orders):
            result = agent.attack(network, 0.0)
            agent_cpu.append(result.cpu_seconds)
            scores[AGENT].append(score(AGENT, network, result.order, objective).r)
            for method, (base_order, _) in orders.items():
                scores[method].append(score(method, network, base_order, objective).r)
        per_objective[objective] = objective_rows({m: np.array(v) for m, v in scores.items()})
        per_objective[objective]["agent_cpu_seconds_mean"] = float(np.mean(agent_cpu))
    baseline_seconds = {m: float(np.mean([o[m][1] for o in baseline_orders])) for m in BASELINES}
    return {"per_objective": per_objective, "baseline_seconds_mean": baseline_seconds,
            "pathways": [n.name for n in networks]}


def _shares(wins: dict) -> str:
    return "/".join(f"{v:.0%}" for v in wins.values())


def print_objective(objective: str, row: dict) -> None:
    print(f"\n[{objective}] {row['networks']} held-out pathways; best-mean baseline {row['best_mean_baseline']}; "
          f"per-network best baseline mean R {row['per_network_best_mean_r']:.4f}")
    print(f"  {'method':22s} {'mean R':>8s} {'is per-network best':>20s}")
    for method, mean in sorted(row["mean_r"].items(), key=lambda kv: kv[1]):
        best = row["baseline_is_per_network_best_share"].get(method)
        print(f"  {method:22s} {mean:8.4f} {'' if best is None else f'{best:.0%}':>20s}")
    print(f"  agent win/tie/loss: vs per-network best baseline {_shares(row['agent_vs_per_network_best'])}; vs "
          f"best-mean baseline {_shares(row['agent_vs_best_mean_baseline'])}; wins vs each: " + ", ".join(
              f"{m} {w['win']:.0%}" for m, w in row["agent_vs_each"].items()))


def gene_kg_benchmark(store, agent: Agent, objective: str, perturbqa: Path | None, seed: int,
                      step_fraction: float = 0.01) -> dict:
    start = time.perf_counter()
    network = readers.gene_kg_network(store, with_sources=objective == "reach")
    read_seconds = time.perf_counter() - start
    methods = [AGENT, "degree", "adaptive_degree", "collective_influence", "random"]
    results = []
    for method in methods:
        order, seconds, note = find_order(method, network, objective, agent, seed, step_fraction)
        results.append(score(method, network, order, objective, seconds, note))
    report = DismantleReport(network.name, network.n, len(network.edges), objective, results)
    out = {"nodes": network.n, "edges": len(network.edges), "read_seconds": round(read_seconds, 1),
           "methods": {m.method: {"r": m.r, "seconds": m.seconds, "note": m.note} for m in results}}
    if perturbqa:
        out["perturbqa"] = {cell.upper(): removal_correlation(report, knockdown_effects(perturbqa, cell))
                            for cell in ("k562", "rpe1")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--agent", action="append", required=True, help="OBJECTIVE=DIR, repeatable")
    parser.add_argument("--pathways", type=int, default=60)
    parser.add_argument("--min-score", type=int, default=readers.DEFAULT_MIN_SCORE)
    parser.add_argument("--min-lcc", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gene-kg-objective", default="lcc")
    parser.add_argument("--gene-kg-step-fraction", type=float, default=0.01,
                        help="share of the genes the agent removes per step on the whole STRING network")
    parser.add_argument("--skip-gene-kg", action="store_true")
    parser.add_argument("--perturbqa", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_dismantle"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    agents = {}
    for item in args.agent:
        objective, _, directory = item.partition("=")
        agents[objective] = Agent.load(Path(directory))
        assert agents[objective].objective == objective, f"{directory} holds a {agents[objective].objective} agent"
    perturbqa = config.perturbqa_dir(args.perturbqa)
    result: dict = {"trained": {}}
    for objective, item in zip(agents, args.agent):
        log = Path(item.partition("=")[2]) / "train_log.json"
        if log.is_file():
            result["trained"][objective] = json.loads(log.read_text())["summary"]
    with open_store(args.db) as store:
        start = time.perf_counter()
        networks = heldout_networks(store, args.pathways, args.seed, args.min_score, args.min_lcc)
        print(f"{len(networks)} held-out Reactome pathway networks read in {time.perf_counter() - start:.1f} s "
              f"(sizes {min(n.n for n in networks)}-{max(n.n for n in networks)} genes)", flush=True)
        result["pathways"] = pathway_benchmark(networks, agents, args.seed)
        for objective, row in result["pathways"]["per_objective"].items():
            print_objective(objective, row)
        print("mean seconds per pathway:", json.dumps(result["pathways"]["baseline_seconds_mean"]), flush=True)
        if not args.skip_gene_kg and args.gene_kg_objective in agents:
            kg = gene_kg_benchmark(store, agents[args.gene_kg_objective], args.gene_kg_objective, perturbqa, args.seed,
                                   args.gene_kg_step_fraction)
            result["gene_kg"] = kg
            print(f"\nwhole STRING network: {kg['nodes']:,} genes, {kg['edges']:,} edges (read in "
                  f"{kg['read_seconds']} s); objective {args.gene_kg_objective}")
            for method, row in kg["methods"].items():
                print(f"  {method:22s} R {row['r']:.4f}  {row['seconds']:7.1f} s  {row['note']}")
            for cell, rows in kg.get("perturbqa", {}).items():
                print(f"  {cell}: Spearman rho (removal step vs share of targets changed, train split): " + ", ".join(
                    f"{m} {r['rho']:+.3f} (n={r['genes']})" for m, r in rows.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dismantle_benchmark.json").write_text(json.dumps(result, indent=1))
    print(f"\nwritten {args.out / 'dismantle_benchmark.json'}")


if __name__ == "__main__":
    main()
