"""Planning with the learnt Q-function: a beam search over single knockdowns that the agent's Q guides.

The greedy agent takes the top-Q knockdown and never looks back. ``plan`` keeps the ``width`` most
promising partial attacks instead: each proposes its ``expand`` top-Q knockdowns, and a child is ranked by
the return its parent collected plus the Q of the knockdown that made it, the agent's own estimate of that
knockdown's reward and all that follows (so the rank estimates the attack's whole −R, in the units the agent
was trained in). The finished attack with the lowest R wins; the greedy agent's own attack, and of an ensemble each
member's, are candidates too, so planning never does worse than the agent alone (tested).
Like AlphaZero's search it uses the environment's exact rewards (the objective after each knockdown) beside
the network's Q; unlike the baselines it searches, so it is reported as its own method, ``agent+plan``,
beside the greedy ``agent``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from aroma.dismantle.agent import Agent, AttackResult
from aroma.dismantle.environment import DismantleEnv, State, finish_order
from aroma.dismantle.network import Network
from aroma.dismantle.objectives import curve, robustness

PLAN_LIMIT = 2000  # a beam of width W observes W states per knockdown: O(W N) feature passes
PLANNED = "+plan"  # suffix of the agent's method when it plans


@dataclass
class _Partial:
    """A partial attack: its environment, the state it faces and the (scaled) return collected so far."""

    env: DismantleEnv
    state: State | None
    collected: float


def plan(agent: Agent, network: Network, width: int = 8, expand: int = 4) -> AttackResult:
    """The best finished attack of a Q-guided beam of ``width`` partial attacks, each proposing its
    ``expand`` top-Q knockdowns, or the greedy attack of the agent or of one of its members where that is
    better."""
    start, cpu = time.perf_counter(), time.process_time()
    candidates = [agent.attack(network, 0.0).order]
    if len(agent.members) > 1:
        candidates += [Agent(member).attack(network, 0.0).order for member in agent.members]
    env = DismantleEnv(network, agent.objective, feature_set=agent.model.config.features)
    root = _Partial(env, env.observe(), 0.0)
    frontier = [] if root.state is None else [root]  # nothing to attack: the greedy order stands
    finished: list[_Partial] = []
    steps = 0
    with torch.inference_mode():
        while frontier:
            children: dict[tuple[int, ...], tuple[float, _Partial, int]] = {}
            for partial in frontier:
                q = agent.q_values(partial.state)
                for action in torch.topk(q, min(expand, len(q))).indices.tolist():
                    key = tuple(sorted([*partial.env.removed, int(partial.state.nodes[action])]))
                    rank = partial.collected + float(q[action])
                    if key not in children or rank > children[key][0]:
                        children[key] = (rank, partial, action)
            frontier = []
            for _, partial, action in sorted(children.values(), key=lambda c: c[0], reverse=True)[:width]:
                env = partial.env.clone()
                reward = env.remove(partial.state.nodes[action]) * agent.reward_scale
                child = _Partial(env, env.observe(), partial.collected + reward)
                (finished if child.state is None else frontier).append(child)
            steps += 1
    if finished:
        candidates.append(finish_order(network, max(finished, key=lambda p: p.collected).env.removed, agent.objective))
    order = min(candidates, key=lambda o: robustness(curve(network, o, agent.objective)))  # first among equals
    return AttackResult(order, steps, time.perf_counter() - start, time.process_time() - cpu)
