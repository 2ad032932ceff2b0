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

import torch

from aroma.dismantle.agent import Agent, AttackResult
from aroma.dismantle.beam_search import Partial, beam_search
from aroma.dismantle.environment import DismantleEnv, finish_order
from aroma.dismantle.network import Network
from aroma.dismantle.objectives import curve, robustness

PLAN_LIMIT = 2000  # a beam of width W observes W states per knockdown: O(W N) feature passes
PLANNED = "+plan"  # suffix of the agent's method when it plans


def plan(agent: Agent, network: Network, width: int = 8, expand: int = 4,
         greedy: list[int] | None = None) -> AttackResult:
    """The best finished attack of a Q-guided beam of ``width`` partial attacks, each proposing its
    ``expand`` top-Q knockdowns, or the greedy attack of the agent or of one of its members where that is
    better. ``greedy``: the agent's one-knockdown-per-step attack (``agent.attack(network, 0.0).order``) where
    the caller has it already, so that it is not made twice (its time is then not counted here)."""
    start, cpu = time.perf_counter(), time.process_time()
    candidates = [agent.attack(network, 0.0).order if greedy is None else greedy]
    if len(agent.members) > 1:
        candidates += [Agent(member).attack(network, 0.0).order for member in agent.members]

    def propose(partial: Partial) -> list[tuple[int, float]]:
        q = agent.q_values(partial.state)
        return [(a, partial.collected + float(q[a])) for a in torch.topk(q, min(expand, len(q))).indices.tolist()]

    env = DismantleEnv(network, agent.objective, feature_set=agent.model.config.features)
    with torch.inference_mode():
        finished = beam_search(env, propose, width, agent.reward_scale)  # empty: the greedy order stands
    if finished:
        best = max(finished, key=lambda p: p.collected)
        candidates.append(finish_order(network, best.env.removed, agent.objective))
    order = min(candidates, key=lambda o: robustness(curve(network, o, agent.objective)))  # first among equals
    steps = max((len(p.env.removed) for p in finished), default=0)  # one knockdown per beam step
    return AttackResult(order, steps, time.perf_counter() - start, time.process_time() - cpu)
