"""Attack one network with an agent and the baselines; robustness curves, R, and the PerturbQA check."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from aroma.dismantle.agent import Agent
from aroma.dismantle.baselines import ATTACKS, BASELINES
from aroma.dismantle.local_search import reorder
from aroma.dismantle.network import Network
from aroma.dismantle.objectives import check_objective, curve, robustness
from aroma.dismantle.planning import PLAN_LIMIT, PLANNED, plan
from aroma.errors import AromaError

AGENT = "agent"
BETWEENNESS_LIMIT = 5000  # adaptive betweenness above this many nodes would take hours
POLISH_LIMIT = 2000  # local search prices every move with a curve: O(N^2) per sweep
POLISHED = "+polish"  # suffix of a method whose order local search improved


@dataclass
class MethodResult:
    """One attack on one network: its order (gene symbols), curve, R and time."""

    method: str
    r: float
    order: list[str]
    curve: list[float]
    seconds: float
    note: str = ""


@dataclass
class DismantleReport:
    network: str
    nodes: int
    edges: int
    objective: str
    methods: list[MethodResult]
    meta: dict = field(default_factory=dict)
    perturbqa: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def find_order(method: str, network: Network, objective: str, agent: Agent | None = None, seed: int = 0,
               step_fraction: float = 0.01) -> tuple[list[int], float, str]:
    """One method's full removal order, the seconds it took, and a note."""
    start = time.perf_counter()
    note = ""
    if method == AGENT:
        if agent is None:
            raise AromaError("the agent method needs a trained agent (--agent DIR)")
        result = agent.attack(network, step_fraction)
        order, note = result.order, f"{result.steps} steps, {result.cpu_seconds:.1f} s CPU"
    elif method in ATTACKS:
        order = ATTACKS[method](network, objective, seed=seed)
    else:
        raise AromaError(f"unknown method {method!r}: choose from {AGENT}, {', '.join(BASELINES)}")
    return order, time.perf_counter() - start, note


def score(method: str, network: Network, order: list[int], objective: str, seconds: float = 0.0,
          note: str = "") -> MethodResult:
    """The robustness curve and R of a full removal order."""
    values = curve(network, order, objective)
    return MethodResult(method, robustness(values), [network.names[v] for v in order], values.round(6).tolist(),
                        round(seconds, 4), note)


def polished(network: Network, objective: str, result: MethodResult, passes: int) -> MethodResult:
    """``result``'s order after local search (``local_search.reorder``), as the method ``NAME+polish``; its
    seconds include the method's own."""
    start = time.perf_counter()
    index = {name: i for i, name in enumerate(network.names)}
    order = reorder(network, objective, [index[name] for name in result.order], passes)
    return score(result.method + POLISHED, network, order, objective, result.seconds + time.perf_counter() - start,
                 f"{passes} sweeps of local search")


def compare(network: Network, objective: str, agent: Agent | None = None, baselines: tuple[str, ...] = BASELINES,
            seed: int = 0, step_fraction: float = 0.01, polish: int = 0, plan_width: int = 0,
            plan_expand: int = 4) -> DismantleReport:
    """The agent (when given) beside each baseline, all scored on ``objective``; with ``plan_width`` > 0 also
    the agent planning with a Q-guided beam of that width (``planning.plan``, as ``agent+plan``; up to
    ``PLAN_LIMIT`` genes); with ``polish`` > 0 also each method's order improved by that many sweeps of local
    search (up to ``POLISH_LIMIT`` genes)."""
    check_objective(objective)
    if network.edges.size == 0:
        raise AromaError(f"network {network.name} has no edges: nothing to dismantle")
    methods = ([AGENT] if agent is not None else []) + list(baselines)
    meta = dict(network.meta)
    if "adaptive_betweenness" in methods and network.n > BETWEENNESS_LIMIT:
        methods.remove("adaptive_betweenness")
        meta.setdefault("skipped", {})["adaptive_betweenness"] = (
            f"{network.n:,} nodes > {BETWEENNESS_LIMIT:,}: adaptive betweenness is O(N^2 M)")
    if polish and network.n > POLISH_LIMIT:
        meta.setdefault("skipped", {})["polish"] = f"{network.n:,} nodes > {POLISH_LIMIT:,}: a sweep is O(N^2)"
        polish = 0
    if plan_width and network.n > PLAN_LIMIT:
        meta.setdefault("skipped", {})["plan"] = (
            f"{network.n:,} nodes > {PLAN_LIMIT:,}: a beam observes W states per knockdown")
        plan_width = 0
    results = []
    for method in methods:
        order, seconds, note = find_order(method, network, objective, agent, seed, step_fraction)
        results.append(score(method, network, order, objective, seconds, note))
        if method == AGENT and plan_width:
            planned = plan(agent, network, plan_width, plan_expand)
            results.append(score(AGENT + PLANNED, network, planned.order, objective, planned.seconds,
                                 f"beam {plan_width} x {plan_expand}, {planned.cpu_seconds:.1f} s CPU"))
    results += [polished(network, objective, result, polish) for result in results] if polish else []
    return DismantleReport(network.name, network.n, len(network.edges), objective, results, meta)


def knockdown_effects(perturbqa: Path, cell_line: str) -> dict[str, float]:
    """Per perturbed gene: the share of its measured targets that change, TRAINING split only."""
    from aroma.data.perturbqa import read_cell_line
    from aroma.tokens import NOT_CHANGED

    changed: dict[str, list[int]] = defaultdict(list)
    for pair in read_cell_line(perturbqa, cell_line):
        if pair.split == "train":
            changed[pair.perturbed].append(int(pair.label != NOT_CHANGED))
    return {gene: float(np.mean(flags)) for gene, flags in changed.items()}


def removal_correlation(report: DismantleReport, effects: dict[str, float]) -> dict[str, dict]:
    """Spearman correlation between each gene's removal step and the share of targets its knockdown
    changes, over the network's genes that PerturbQA perturbed. Negative: early knockdowns change more."""
    out = {}
    for method in report.methods:
        position = {gene: i for i, gene in enumerate(method.order)}
        genes = sorted(g for g in effects if g in position)
        if len(genes) < 3:
            out[method.method] = {"genes": len(genes), "rho": None, "p": None}
            continue
        rho, p = spearmanr([position[g] for g in genes], [effects[g] for g in genes])
        out[method.method] = {"genes": len(genes), "rho": float(rho), "p": float(p)}
    return out


def save_report(report: DismantleReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dismantle.json"
    path.write_text(json.dumps(report.to_dict(), indent=1))
    return path


def default_out_dir(network: Network) -> Path:
    """``runs/dismantle/NAME``, the network's name made safe for a directory."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", network.name).strip("_")[:80] or "network"
    return Path("runs") / "dismantle" / slug
