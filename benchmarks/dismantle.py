"""Benchmark `aroma dismantle`: agents against the baselines on held-out (test-split) Reactome pathway networks,
inference time on the whole STRING network, and the PerturbQA check (K562, RPE1; training split).

    python benchmarks/dismantle.py --db /tmp/db --agent lcc=runs/lcc --agent pairwise=runs/pw \
        --agent reach=runs/reach [--pathways 60] [--split test|validation] [--skip-gene-kg] [--out runs/bench]

Prints, per objective and method, the mean R over the networks, and the agent's wins, ties and
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
from aroma.dismantle.local_search import reorder  # noqa: E402
from aroma.dismantle.planning import PLANNED, plan  # noqa: E402
from aroma.dismantle.runner import (AGENT, POLISHED, DismantleReport, find_order, knockdown_effects,  # noqa: E402
                                    removal_correlation, score)
from aroma.kg.store import open_store  # noqa: E402


TIE = 1e-9  # R values closer than this are a tie (a tie is not a win)


def win_share(agent_r: np.ndarray, other_r: np.ndarray) -> dict:
    """Share of networks where the agent's R is below (win), equal to (tie) or above (loss) the other's."""
    return {"win": float((agent_r < other_r - TIE).mean()), "tie": float((np.abs(agent_r - other_r) <= TIE).mean()),
            "loss": float((agent_r > other_r + TIE).mean())}


def objective_rows(r: dict[str, np.ndarray], agent: str = AGENT, baselines: tuple[str, ...] = BASELINES) -> dict:
    """Per method the mean R; the agent's wins, ties and losses against each baseline, against the
    per-network best baseline (the minimum R over all baselines on each network: the strict reading) and
    against the baseline with the best mean R."""
    per_network_best = np.min([r[m] for m in baselines], axis=0)
    best_mean = min(baselines, key=lambda m: r[m].mean())
    return {
        "networks": len(per_network_best),
        "agent": agent,
        "mean_r": {m: float(r[m].mean()) for m in (agent, *baselines)},
        "best_mean_baseline": best_mean,
        "per_network_best_mean_r": float(per_network_best.mean()),
        "baseline_is_per_network_best_share": {m: float((np.abs(r[m] - per_network_best) <= TIE).mean())
                                               for m in baselines},
        "agent_vs_per_network_best": win_share(r[agent], per_network_best),
        "agent_vs_best_mean_baseline": win_share(r[agent], r[best_mean]),
        "agent_vs_each": {m: win_share(r[agent], r[m]) for m in baselines},
    }


def pathway_benchmark(networks, agents: dict[str, Agent], seed: int, polish: int = 0, plan_width: int = 0,
                      plan_expand: int = 4) -> dict:
    """Every agent and every baseline on every network; with ``plan_width`` > 0 also each agent planning with a
    Q-guided beam (``agent+plan``, compared with the same baselines: ``per_objective_planned``); with ``polish``
    > 0 also every order after that many sweeps of local search, compared among themselves
    (``per_objective_polished``)."""
    per_objective: dict[str, dict] = {}
    polished_rows: dict[str, dict] = {}
    planned_rows: dict[str, dict] = {}
    baseline_orders = []
    for network in networks:  # classic orders do not depend on the objective: compute them once
        baseline_orders.append({m: find_order(m, network, "reach", seed=seed)[:2] for m in BASELINES})
    for objective, agent in agents.items():
        scores: dict[str, list[float]] = {}
        agent_cpu, plan_cpu = [], []
        for network, orders in zip(networks, baseline_orders):
            result = agent.attack(network, 0.0)
            agent_cpu.append(result.cpu_seconds)
            attacks = [(AGENT, result.order), *((m, o) for m, (o, _) in orders.items())]
            if plan_width:
                planned = plan(agent, network, plan_width, plan_expand, result.order)
                plan_cpu.append(result.cpu_seconds + planned.cpu_seconds)  # the whole cost of planning
                attacks.append((AGENT + PLANNED, planned.order))
            for method, order in attacks:
                scores.setdefault(method, []).append(score(method, network, order, objective).r)
                if polish:
                    better = reorder(network, objective, order, polish)
                    scores.setdefault(method + POLISHED, []).append(score(method, network, better, objective).r)
        r = {m: np.array(v) for m, v in scores.items()}
        per_objective[objective] = objective_rows(r)
        per_objective[objective]["r_per_network"] = {m: v.round(6).tolist() for m, v in r.items()}
        per_objective[objective]["agent_cpu_seconds_mean"] = float(np.mean(agent_cpu))
        if plan_width:
            per_objective[objective]["mean_r"][AGENT + PLANNED] = float(r[AGENT + PLANNED].mean())
            planned_rows[objective] = objective_rows(r, AGENT + PLANNED)
            planned_rows[objective]["agent_cpu_seconds_mean"] = float(np.mean(plan_cpu))
            if polish:  # the planning agent against baselines that searched too
                planned_rows[objective]["agent_vs_per_network_best_polished"] = win_share(
                    r[AGENT + PLANNED], np.min([r[m + POLISHED] for m in BASELINES], axis=0))
        if polish:
            per_objective[objective]["agent+polish_vs_per_network_best"] = win_share(
                r[AGENT + POLISHED], np.min([r[m] for m in BASELINES], axis=0))
            per_objective[objective]["mean_r"][AGENT + POLISHED] = float(r[AGENT + POLISHED].mean())
            polished_rows[objective] = objective_rows(r, AGENT + POLISHED, tuple(m + POLISHED for m in BASELINES))
    baseline_seconds = {m: float(np.mean([o[m][1] for o in baseline_orders])) for m in BASELINES}
    out = {"per_objective": per_objective, "baseline_seconds_mean": baseline_seconds,
           "pathways": [n.name for n in networks]}
    if polish:
        out["per_objective_polished"] = polished_rows
        out["polish_sweeps"] = polish
    if plan_width:
        out["per_objective_planned"] = planned_rows
        out["plan"] = {"width": plan_width, "expand": plan_expand}
    return out


def _shares(wins: dict) -> str:
    return "/".join(f"{v:.0%}" for v in wins.values())


def print_objective(objective: str, row: dict) -> None:
    print(f"\n[{objective}] {row['networks']} pathways; best-mean baseline {row['best_mean_baseline']}; "
          f"per-network best baseline mean R {row['per_network_best_mean_r']:.4f}")
    print(f"  {'method':34s} {'mean R':>8s} {'is per-network best':>20s}")
    for method, mean in sorted(row["mean_r"].items(), key=lambda kv: kv[1]):
        best = row["baseline_is_per_network_best_share"].get(method)
        print(f"  {method:34s} {mean:8.4f} {'' if best is None else f'{best:.0%}':>20s}")
    print(f"  {row['agent']} win/tie/loss: vs per-network best baseline {_shares(row['agent_vs_per_network_best'])}; "
          f"vs best-mean baseline {_shares(row['agent_vs_best_mean_baseline'])}; wins vs each: " + ", ".join(
              f"{m} {w['win']:.0%}" for m, w in row["agent_vs_each"].items()))
    if "agent+polish_vs_per_network_best" in row:
        print(f"  agent+polish win/tie/loss vs per-network best (unpolished) baseline "
              f"{_shares(row['agent+polish_vs_per_network_best'])}")
    if "agent_vs_per_network_best_polished" in row:
        print(f"  {row['agent']} win/tie/loss vs per-network best polished baseline "
              f"{_shares(row['agent_vs_per_network_best_polished'])}")


def plot_wins(per_objective: dict, path: Path, methods: tuple[str, ...] = (AGENT,)) -> Path:
    """Per objective (columns) and method (rows: the greedy agent, and the planning agent when measured), each
    network's R against the per-network best baseline R (below the diagonal: the method wins)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(methods), len(per_objective), figsize=(4.2 * len(per_objective), 4.2 * len(methods)),
                             squeeze=False)
    for row_axes, method in zip(axes, methods):
        for ax, (objective, row) in zip(row_axes, per_objective.items()):
            r = {m: np.array(v) for m, v in row["r_per_network"].items()}
            best = np.min([r[m] for m in BASELINES], axis=0)
            wins = win_share(r[method], best)
            ax.scatter(best, r[method], s=12, alpha=0.7)
            low, high = min(best.min(), r[method].min()), max(best.max(), r[method].max())
            ax.plot([low, high], [low, high], color="grey", lw=1)
            ax.set_title(f"{objective}, {method}: wins {wins['win']:.0%}, ties {wins['tie']:.0%}, "
                         f"loses {wins['loss']:.0%}", fontsize=9)
            ax.set_xlabel("best baseline R on the network")
            ax.set_ylabel(f"{method} R")
            ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


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
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="validation: choose settings on the validation pathways (read test once, for the report)")
    parser.add_argument("--min-score", type=int, default=readers.DEFAULT_MIN_SCORE)
    parser.add_argument("--min-lcc", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--polish", type=int, default=0,
                        help="also compare every order after this many sweeps of local search")
    parser.add_argument("--plan", type=int, default=0,
                        help="also each agent planning with a Q-guided beam of this width (agent+plan)")
    parser.add_argument("--plan-expand", type=int, default=4, help="top-Q knockdowns each partial attack proposes")
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
        networks = readers.split_pathways(store, args.pathways, args.seed, args.min_score, split=args.split,
                                          min_lcc=args.min_lcc)
        print(f"{len(networks)} {args.split}-split Reactome pathway networks read in {time.perf_counter() - start:.1f} s "
              f"(sizes {min(n.n for n in networks)}-{max(n.n for n in networks)} genes)", flush=True)
        result["pathways"] = pathway_benchmark(networks, agents, args.seed, args.polish, args.plan, args.plan_expand)
        for objective, row in result["pathways"]["per_objective"].items():
            print_objective(objective, row)
        for objective, row in result["pathways"].get("per_objective_planned", {}).items():
            print(f"\nthe agent planning (Q-guided beam {args.plan} x {args.plan_expand}):", end="")
            print_objective(objective, row)
        for objective, row in result["pathways"].get("per_objective_polished", {}).items():
            print(f"\nevery order after {args.polish} sweeps of local search:", end="")
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
    png = plot_wins(result["pathways"]["per_objective"], args.out / "dismantle_benchmark.png",
                    (AGENT, AGENT + PLANNED) if args.plan else (AGENT,))
    print(f"\nwritten {args.out / 'dismantle_benchmark.json'} and {png}")


if __name__ == "__main__":
    main()
