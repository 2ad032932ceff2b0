"""Demonstrations for deep Q-learning from demonstrations (DQfD, Hester et al. 2018): episodes played by
classic policies on training graphs, whose (state, action) pairs pre-train the Q-network and keep
teaching it, beside its own experience, through a large-margin loss.

A demonstrator scores the candidates of a state from the state's own node features, so it sees exactly
what the agent sees: ``betweenness`` is adaptive betweenness (exact Brandes on pathway-sized graphs with
the ``v2`` features; ties to the higher degree) and ``greedy`` removes the node whose removal alone lowers
the objective most (the ``drop`` feature; ties to the higher betweenness); ``degree`` and ``influence`` are
adaptive highest degree and collective influence, the other baselines. On each graph every named
demonstrator plays one episode and only the best one (the lowest R) is kept, so the demonstrations show
the per-graph best of them. With ``polish``, each episode is first improved by local search over its order
(moving one knockdown earlier while R falls), a teacher that no single policy or beam reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from aroma.dismantle.beam_search import Partial, beam_search
from aroma.dismantle.environment import DismantleEnv, State, finish_order
from aroma.dismantle.features import SEARCH, SEARCH_COLUMNS, check_feature_set
from aroma.dismantle.local_search import reorder
from aroma.dismantle.network import Network
from aroma.errors import AromaError

TIE = 1e-3  # weight of a tie-breaking feature (features are scaled to 0..1)
DEMONSTRATORS: dict[str, dict[str, float]] = {  # name: weights of the node features whose sum it maximises
    "betweenness": {"betweenness": 1.0, "degree": TIE},
    "greedy": {"drop": 1.0, "betweenness": TIE},
    "degree": {"degree": 1.0, "betweenness": TIE},  # adaptive highest degree
    "influence": {"collective_influence": 1.0, "betweenness": TIE},  # adaptive collective influence
}
# demonstrators that search instead of following one policy: the policies whose choices they expand
SEARCHES: dict[str, tuple[str, ...]] = {"beam": ("betweenness", "greedy")}


def check_demonstrators(names: tuple[str, ...], feature_set: str) -> tuple[str, ...]:
    """The names, after checking each is a known demonstrator whose features the feature set has."""
    columns = check_feature_set(feature_set)
    for name in names:
        if name not in DEMONSTRATORS and name not in SEARCHES:
            raise AromaError(f"unknown demonstrator {name!r}: choose from {', '.join((*DEMONSTRATORS, *SEARCHES))}")
        needed = dict.fromkeys(f for policy in SEARCHES.get(name, (name,)) for f in DEMONSTRATORS[policy])
        missing = [f for f in needed if f not in columns]
        if missing:
            raise AromaError(f"demonstrator {name!r} needs the {', '.join(missing)} feature, which feature set "
                             f"{feature_set!r} lacks (use --features v2)")
    return names


def _scores(name: str, x: Tensor, columns: tuple[str, ...]) -> Tensor:
    """The policy ``name``'s score of every candidate: its weighted sum of their node features."""
    return sum(w * x[:, columns.index(f)] for f, w in DEMONSTRATORS[name].items())


def demonstrator_action(name: str, state: State, feature_set: str) -> int:
    """The demonstrator's choice among the state's candidates (an index into ``state.nodes``)."""
    return int(torch.argmax(_scores(name, state.x, check_feature_set(feature_set))))


@dataclass
class Demonstration:
    """One demonstrator's episode: each step's state, the action taken and its reward."""

    demonstrator: str
    states: list[State]
    actions: list[int]
    rewards: list[float]

    @property
    def total(self) -> float:
        return sum(self.rewards)


def play(network: Network, objective: str, name: str, feature_set: str, reward_scale: float = 1.0) -> Demonstration:
    """One episode of single removals chosen by the demonstrator ``name``."""
    env = DismantleEnv(network, objective, feature_set=feature_set)
    episode = Demonstration(name, [], [], [])
    state = env.observe()
    while state is not None:
        action = demonstrator_action(name, state, feature_set)
        episode.states.append(state)
        episode.actions.append(action)
        episode.rewards.append(env.remove(state.nodes[action]) * reward_scale)
        state = env.observe()
    return episode


def best_demonstration(network: Network, objective: str, names: tuple[str, ...], feature_set: str,
                       reward_scale: float = 1.0, beam_width: int = 24, beam_expand: int = 6,
                       polish_passes: int = 0) -> Demonstration:
    """Every demonstrator's episode on the network, each polished (``polish``) with ``polish_passes`` > 0;
    the one with the highest return (lowest R)."""
    episodes = [beam(network, objective, feature_set, reward_scale, beam_width, beam_expand) if name == "beam" else
                play(network, objective, name, feature_set, reward_scale) for name in names]
    if polish_passes:
        episodes = [polish(network, objective, e, feature_set, reward_scale, polish_passes) for e in episodes]
    return max(episodes, key=lambda e: e.total)  # first among equals: the order of ``names`` breaks ties


def beam(network: Network, objective: str, feature_set: str, reward_scale: float = 1.0, width: int = 24,
         expand: int = 6) -> Demonstration:
    """Beam search over single-removal attacks, a teacher stronger than any one classic policy.

    Every partial attack in the beam proposes its ``expand`` highest-betweenness candidates and its
    ``expand`` best one-step-greedy ones; the children are ranked by the objective summed so far (the
    area under the curve up to that step, exactly the negative return), ties to the higher betweenness,
    and the ``width`` best distinct removal sets are kept. The finished attack with the lowest R wins. The beam's
    partial attacks see only the columns it ranks by (``features.SEARCH``, cheaper to observe; the same
    values); the winner is replayed to give its states the full ``feature_set``."""
    check_demonstrators(("beam",), feature_set)
    columns = SEARCH_COLUMNS  # the beam's states carry only what it ranks by; the winner is replayed in full
    between, drop = columns.index("betweenness"), columns.index("drop")
    env = DismantleEnv(network, objective, feature_set=SEARCH)
    scale = reward_scale / network.n / env.initial

    def propose(node: Partial) -> list[tuple[int, tuple[float, float]]]:
        x = node.state.x
        count = min(expand, len(x))
        first, *others = (torch.topk(_scores(policy, x, columns), count).indices.tolist()
                          for policy in SEARCHES["beam"])
        picks = set(first)
        for ranking in others:  # set by set, as the trained agents' demonstrations were made (tie order)
            picks |= set(ranking)
        ranked = []
        for a in picks:
            after = node.env.current * (1.0 - float(x[a, drop]))  # the objective once a alone is removed
            ranked.append((a, (node.collected - after * scale, float(x[a, between]))))
        return ranked

    finished = beam_search(env, propose, width, reward_scale)
    if not finished:  # nothing to attack
        return Demonstration("beam", [], [], [])
    winner = max(finished, key=lambda n: n.collected)
    return replay(network, objective, winner.env.removed, feature_set, reward_scale, "beam")


def replay(network: Network, objective: str, nodes: list[int], feature_set: str, reward_scale: float = 1.0,
           name: str = "replay") -> Demonstration:
    """The episode that knocks ``nodes`` down in this order until the objective bottoms out, skipping any
    that can no longer lower it (an isolated gene stays isolated, so skipping one never costs)."""
    env = DismantleEnv(network, objective, feature_set=feature_set)
    episode = Demonstration(name, [], [], [])
    state = env.observe()
    for node in nodes:
        if state is None:
            break
        where = np.flatnonzero(state.nodes == node)
        if len(where):
            episode.states.append(state)
            episode.actions.append(int(where[0]))
            episode.rewards.append(env.remove(node) * reward_scale)
            state = env.observe()
    if state is not None:
        raise AromaError(f"network {network.name}: the replayed knockdowns leave the {objective} objective above "
                         "its floor")
    return episode


def polish(network: Network, objective: str, episode: Demonstration, feature_set: str, reward_scale: float = 1.0,
           passes: int = 3) -> Demonstration:
    """The episode with its knockdowns reordered by local search (``local_search.reorder``) and replayed
    (its states observed as the agent would see them), when that is better; else the episode itself."""
    removed = [int(state.nodes[action]) for state, action in zip(episode.states, episode.actions)]
    order = finish_order(network, removed, objective)
    better = reorder(network, objective, order, passes, len(removed))
    if better == order:
        return episode
    replayed = replay(network, objective, better[:len(removed)], feature_set, reward_scale,
                      f"{episode.demonstrator}+polish")
    return replayed if replayed.total > episode.total else episode
