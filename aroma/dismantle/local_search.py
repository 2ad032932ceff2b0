"""Local search over a removal order: move single knockdowns earlier while R falls.

An attack found by any policy (a classic one, a beam, the agent) can often be improved by knocking one of
its genes down sooner: a gene whose removal was needed anyway cuts the network earlier. ``reorder`` sweeps
the order, moving each knockdown to the earlier position that lowers R most, until a sweep changes
nothing. Used to polish demonstrations (``demonstrations.polish``) and, on request, the agent's own attack
(``aroma dismantle run --polish``), a search step like FINDER's reinsertion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aroma.dismantle.network import Network
from aroma.dismantle.objectives import curve

MOVE_GAIN = 1e-9  # a move must lower N·R by more than this


def reorder(network: Network, objective: str, order: Sequence[int], passes: int = 3,
            length: int | None = None) -> list[int]:
    """The full removal ``order`` after up to ``passes`` sweeps of single moves among its first ``length``
    positions (all by default); the same order when no move lowers R.

    One curve per knockdown prices every earlier position: moving knockdown i to position j changes only
    the objective after j+1..i removals, which is then the objective after those of the order with i first."""
    order = [int(v) for v in order]
    length = len(order) if length is None else min(length, len(order))
    base = curve(network, order, objective)
    for _ in range(passes):
        moved = False
        for i in range(1, length):
            first = curve(network, [order[i], *order[:i], *order[i + 1:]], objective)
            gain = np.cumsum((first[1:i + 1] - base[1:i + 1])[::-1])[::-1]  # gain[j]: N·ΔR of moving i to j
            j = int(np.argmin(gain))
            if gain[j] < -MOVE_GAIN:
                order = [*order[:j], order[i], *order[j:i], *order[i + 1:]]
                base, moved = curve(network, order, objective), True
        if not moved:
            break
    return order
