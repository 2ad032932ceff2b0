"""Edges of one kind held as columns (numpy arrays) instead of one object per edge.

STRING at publisher scale is millions of gene pairs: as ``Edge`` objects with property dicts that is
gigabytes, as columns a few hundred megabytes. An ``EdgeTable`` behaves like the list of ``Edge``
records it stands for (``len``, iteration) and hands out rows batch by batch for loading, so no
more than one batch of row dicts exists at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from aroma.kg.records import Edge


@dataclass
class EdgeTable:
    """Edges ``(source_label)-[:type]->(target_label)`` between nodes ``prefix + number``.

    ``columns`` holds one integer array per property (same length as ``source``); ``derived`` names
    float properties computed as ``columns[name] / divisor`` (e.g. STRING's 0-1 ``score``).
    """

    kind: tuple[str, str, str]
    prefix: str  # node id = prefix + str(number), e.g. "ncbigene:"
    source: np.ndarray
    target: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    derived: dict[str, tuple[str, float]] = field(default_factory=dict)  # name → (column, divisor)
    order: tuple[str, ...] = ()  # property order in rows (default: derived after columns)

    def __post_init__(self) -> None:
        if not self.order:
            self.order = (*self.columns, *self.derived)

    def __len__(self) -> int:
        return len(self.source)

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict]:
        """Row dicts (``source``, ``target``, properties) of edges ``start:stop``, as a build loads them."""
        stop = len(self) if stop is None else min(stop, len(self))
        values = {name: self.columns[name][start:stop].tolist() for name in self.columns}
        for name, (column, divisor) in self.derived.items():
            values[name] = (self.columns[column][start:stop] / divisor).tolist()
        names = self.order
        prefix = self.prefix
        columns = [values[n] for n in names]
        return [{"source": f"{prefix}{a}", "target": f"{prefix}{b}", **dict(zip(names, props))}
                for a, b, *props in zip(self.source[start:stop].tolist(), self.target[start:stop].tolist(), *columns)]

    def batches(self, size: int) -> Iterator[list[dict]]:
        for start in range(0, len(self), size):
            yield self.rows(start, start + size)

    def __iter__(self) -> Iterator[Edge]:
        source_label, rel_type, target_label = self.kind
        for batch in self.batches(50_000):
            for row in batch:
                source, target = row.pop("source"), row.pop("target")
                yield Edge(source, target, rel_type, source_label, target_label, row)
