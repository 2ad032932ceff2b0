"""Demonstrations for deep Q-learning from demonstrations (DQfD, Hester et al. 2018): episodes played by
classic policies on training graphs, whose (state, action) pairs pre-train the Q-network and keep
teaching it, beside its own experience, through a large-margin loss.

A demonstrator scores the candidates of a state from the state's own node features, so it sees exactly
what the agent sees: ``betweenness`` is adaptive betweenness (exact Brandes on pathway-sized graphs with
the ``v2`` features; ties to the higher degree) and ``greedy`` removes the node whose removal alone lowers
the objective most (the ``drop`` feature; ties to the higher betweenness). On each graph every named
demonstrator plays one episode and only the best one (the lowest R) is kept, so the demonstrations show
the per-graph best of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from aroma.dismantle.environment import DismantleEnv, State
from aroma.dismantle.features import check_feature_set
from aroma.dismantle.network import Network
from aroma.errors import AromaError

TIE = 1e-3  # weight of a tie-breaking feature (features are scaled to 0..1)
DEMONSTRATORS: dict[str, dict[str, float]] = {  # name: weights of the node features whose sum it maximises
    "betweenness": {"betweenness": 1.0, "degree": TIE},
    "greedy": {"drop": 1.0, "betweenness": TIE},
}


def check_demonstrators(names: tuple[str, ...], feature_set: str) -> tuple[str, ...]:
    """The names, after checking each is a known demonstrator whose features the feature set has."""
    columns = check_feature_set(feature_set)
    for name in names:
        if name not in DEMONSTRATORS:
            raise AromaError(f"unknown demonstrator {name!r}: choose from {', '.join(DEMONSTRATORS)}")
        missing = [f for f in DEMONSTRATORS[name] if f not in columns]
        if missing:
            raise AromaError(f"demonstrator {name!r} needs the {', '.join(missing)} feature, which feature set "
                             f"{feature_set!r} lacks (use --features v2)")
    return names


def demonstrator_action(name: str, state: State, feature_set: str) -> int:
    """The demonstrator's choice among the state's candidates (an index into ``state.nodes``)."""
    columns = check_feature_set(feature_set)
    score: Tensor = sum(w * state.x[:, columns.index(f)] for f, w in DEMONSTRATORS[name].items())
    return int(torch.argmax(score))


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
                       reward_scale: float = 1.0) -> Demonstration:
    """Every demonstrator's episode on the network; the one with the highest return (lowest R)."""
    episodes = [play(network, objective, name, feature_set, reward_scale) for name in names]
    return max(episodes, key=lambda e: e.total)  # first among equals: the order of ``names`` breaks ties
