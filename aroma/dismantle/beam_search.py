"""Beam search over single knockdowns, the mechanism shared by the beam teacher (``demonstrations.beam``) and
the planning agent (``planning.plan``): they differ only in which knockdowns a partial attack proposes and how
a child is ranked."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aroma.dismantle.environment import DismantleEnv, State


@dataclass
class Partial:
    """A partial attack: its environment, the state it faces and the (scaled) return collected so far."""

    env: DismantleEnv
    state: State | None
    collected: float


# a partial attack's proposals: (index into its state's nodes, rank of the child; higher is better)
Proposer = Callable[[Partial], Iterable[tuple[int, Any]]]


def beam_search(env: DismantleEnv, propose: Proposer, width: int, reward_scale: float) -> list[Partial]:
    """Every attack the beam finishes, starting from ``env``: at each step every partial attack proposes ranked
    knockdowns, a removal set reached twice keeps its higher rank (the first among equals) and the ``width``
    best-ranked distinct sets (the first proposed among equals) are taken one knockdown further. Empty when
    ``env`` has nothing to attack."""
    root = Partial(env, env.observe(), 0.0)
    frontier = [] if root.state is None else [root]
    finished: list[Partial] = []
    while frontier:
        children: dict[tuple[int, ...], tuple[Any, Partial, int]] = {}
        for partial in frontier:
            for action, rank in propose(partial):
                key = tuple(sorted([*partial.env.removed, int(partial.state.nodes[action])]))
                if key not in children or rank > children[key][0]:
                    children[key] = (rank, partial, action)
        frontier = []
        for _, partial, action in sorted(children.values(), key=lambda c: c[0], reverse=True)[:width]:
            child_env = partial.env.clone()
            reward = child_env.remove(partial.state.nodes[action]) * reward_scale
            child = Partial(child_env, child_env.observe(), partial.collected + reward)
            (finished if child.state is None else frontier).append(child)
    return finished
