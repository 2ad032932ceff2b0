"""Where retrieval's STRING partners come from: the whole network read once (many pairs), or only the
genes asked about, read by named queries and cached (one pair).

Both answer the same three questions, so path finding and gene facts run one code path over either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from aroma.kg.store import GraphStore, batched
from aroma.retrieval.cache import DerivedCache

NETWORK_CHANNELS = ("experimental", "database", "coexpression", "neighborhood", "fusion", "cooccurence")

Link = tuple[int, dict[str, int]]  # combined score, non-zero channel scores


def _link(row: dict[str, Any]) -> Link:
    return row["combined_score"], {c: row[c] for c in NETWORK_CHANNELS if row[c]}


class StringSource(Protocol):
    def partners(self, gene_id: str) -> dict[str, Link]:
        """Every STRING partner of a gene (after ``load``), with the link's scores."""

    def symbol(self, gene_id: str) -> str:
        """Symbol of a gene met as a partner (or loaded)."""

    def load(self, gene_ids: Iterable[str]) -> None:
        """Make ``partners`` complete for these genes."""

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        """x → {y: combined score} for every STRING link between a gene of ``xs`` and one of ``ys``."""


class WholeNetwork:
    """The whole STRING network in memory (``retrieval/string_network``): fastest for many pairs. With a
    ``cache`` the rows are kept on disk beside the build (``aroma.retrieval.cache``) and read from there."""

    def __init__(self, store: GraphStore, cache: DerivedCache | None = None) -> None:
        network: dict[str, dict[str, Link]] = defaultdict(dict)
        self._symbols: dict[str, str] = {}
        rows = cache.arrays("string-network", lambda: _network_arrays(store)) if cache is not None else \
            _network_arrays(store)
        genes, symbols = rows["genes"].tolist(), rows["symbols"].tolist()
        for a, b, scores in zip(rows["a"].tolist(), rows["b"].tolist(), rows["scores"].tolist()):
            link = scores[0], {c: v for c, v in zip(NETWORK_CHANNELS, scores[1:]) if v}
            network[genes[a]][genes[b]] = link
            network[genes[b]][genes[a]] = link
        self._symbols = dict(zip(genes, symbols))
        self._network = dict(network)

    def partners(self, gene_id: str) -> dict[str, Link]:
        return self._network.get(gene_id, {})

    def symbol(self, gene_id: str) -> str:
        return self._symbols[gene_id]

    def load(self, gene_ids: Iterable[str]) -> None:
        pass

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        ends = set(ys)
        return {x: {y: partners[y][0] for y in ends & partners.keys()}
                for x in xs for partners in [self.partners(x)]}


def _network_arrays(store: GraphStore) -> dict[str, Any]:
    """The STRING rows as arrays: gene ids and symbols, each row's two genes, combined then channel scores
    (0 where a channel is missing, as ``_link`` drops both)."""
    import numpy as np

    position: dict[str, int] = {}
    symbols: list[str] = []
    ends, scores = [], []
    for row in store.read("retrieval/string_network"):
        for gene, symbol in ((row["a"], row["a_symbol"]), (row["b"], row["b_symbol"])):
            if gene not in position:
                position[gene] = len(symbols)
                symbols.append(symbol)
        ends.append((position[row["a"]], position[row["b"]]))
        scores.append([row["combined_score"]] + [row[c] or 0 for c in NETWORK_CHANNELS])
    ends_array = np.array(ends, dtype=np.int32).reshape(-1, 2)
    return {"genes": np.array(list(position), dtype=str), "symbols": np.array(symbols, dtype=str),
            "a": ends_array[:, 0], "b": ends_array[:, 1],
            "scores": np.array(scores, dtype=np.int32).reshape(-1, 1 + len(NETWORK_CHANNELS))}


class BoundedNetwork:
    """Only the STRING neighbourhoods asked for (``retrieval/string_partners``, ``retrieval/string_links_between``),
    cached per gene: one pair reads a few thousand links instead of the whole network."""

    def __init__(self, store: GraphStore, batch_size: int = 1000) -> None:
        self.store = store
        self.batch_size = batch_size
        self._partners: dict[str, dict[str, Link]] = {}
        self._symbols: dict[str, str] = {}

    def partners(self, gene_id: str) -> dict[str, Link]:
        if gene_id not in self._partners:
            self.load([gene_id])
        return self._partners[gene_id]

    def symbol(self, gene_id: str) -> str:
        return self._symbols[gene_id]

    def load(self, gene_ids: Iterable[str]) -> None:
        missing = sorted({g for g in gene_ids if g not in self._partners})
        for batch in batched(missing, self.batch_size):
            found: dict[str, dict[str, Link]] = {g: {} for g in batch}
            for row in self.store.read("retrieval/string_partners", ids=list(batch)):
                found[row["id"]][row["partner"]] = _link(row)
                self._symbols[row["id"]], self._symbols[row["partner"]] = row["symbol"], row["partner_symbol"]
            self._partners.update(found)

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        xs, ys = sorted(set(xs)), sorted(set(ys))
        links: dict[str, dict[str, int]] = {x: {} for x in xs}
        if xs and ys:
            for row in self.store.read("retrieval/string_links_between", xs=xs, ys=ys):
                links[row["x"]][row["y"]] = row["combined_score"]
        return links
