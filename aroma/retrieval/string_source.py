"""Where retrieval's STRING partners come from: the whole network read once (many pairs), or only the
genes asked about, read by named queries and cached (one pair).

Both answer the same questions, so path finding and gene facts run one code path over either. Partners
are those of at least ``min_score`` (paths and strongest partners cite no weaker link); a gene's degree
counts every partner, and the link between two genes is answered whatever its score.
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
    min_score: int

    def partners(self, gene_id: str) -> dict[str, int]:
        """STRING partners of a gene (after ``load``) whose link scores at least ``min_score``: combined scores."""

    def degree(self, gene_id: str) -> int:
        """How many STRING partners a gene has, of any score."""

    def link(self, a: str, b: str) -> Link | None:
        """The STRING link between two genes with its channel scores, of any score (None: no link)."""

    def symbol(self, gene_id: str) -> str:
        """Symbol of a gene met as a partner (or loaded)."""

    def load(self, gene_ids: Iterable[str]) -> None:
        """Make ``partners`` and ``degree`` complete for these genes."""

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        """x → {y: combined score} for every link of at least ``min_score`` between a gene of ``xs`` and one of
        ``ys``."""


class WholeNetwork:
    """The whole STRING network in memory (``retrieval/string_network``): fastest for many pairs. With a
    ``cache`` the rows are kept on disk beside the build (``aroma.retrieval.cache``) and read from there.
    Links below ``min_score`` are kept only as arrays, for ``link`` and ``degree``."""

    def __init__(self, store: GraphStore, min_score: int, cache: DerivedCache | None = None) -> None:
        import numpy as np

        self.min_score = min_score
        rows = cache.arrays("string-network", lambda: _network_arrays(store)) if cache is not None else \
            _network_arrays(store)
        genes, scores = rows["genes"].tolist(), rows["scores"]
        a, b = rows["a"].astype(np.int64), rows["b"].astype(np.int64)
        network: dict[str, dict[str, int]] = defaultdict(dict)
        strong = np.flatnonzero(scores[:, 0] >= min_score)
        for x, y, score in zip(a[strong].tolist(), b[strong].tolist(), scores[strong, 0].tolist()):
            network[genes[x]][genes[y]] = score
            network[genes[y]][genes[x]] = score
        self._network = dict(network)
        self._genes, self._scores = genes, scores
        self._position = {gene: i for i, gene in enumerate(genes)}
        self._symbols = dict(zip(genes, rows["symbols"].tolist()))
        self._degrees = np.bincount(np.concatenate([a, b]), minlength=len(genes)).tolist()
        keys = np.minimum(a, b) * len(genes) + np.maximum(a, b)  # one key per unordered pair
        self._by_key = np.argsort(keys, kind="stable")
        self._keys = keys[self._by_key]

    def partners(self, gene_id: str) -> dict[str, int]:
        return self._network.get(gene_id, {})

    def degree(self, gene_id: str) -> int:
        position = self._position.get(gene_id)
        return 0 if position is None else self._degrees[position]

    def link(self, a: str, b: str) -> Link | None:
        if a not in self._position or b not in self._position:
            return None
        x, y = sorted((self._position[a], self._position[b]))
        key = x * len(self._genes) + y
        at = int(self._keys.searchsorted(key))
        if at == len(self._keys) or self._keys[at] != key:
            return None
        scores = self._scores[self._by_key[at]].tolist()
        return scores[0], {c: v for c, v in zip(NETWORK_CHANNELS, scores[1:]) if v}

    def symbol(self, gene_id: str) -> str:
        return self._symbols[gene_id]

    def load(self, gene_ids: Iterable[str]) -> None:
        pass

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        ends = set(ys)
        return {x: {y: partners[y] for y in ends & partners.keys()} for x in xs for partners in [self.partners(x)]}


def _network_arrays(store: GraphStore) -> dict[str, Any]:
    """The STRING rows as arrays: gene ids and symbols, each row's two genes, combined then channel scores
    (0 where a channel is missing, as ``_link`` drops both). Rows are streamed into typed arrays (4 bytes a
    value), so that a network of millions of links is never held as Python rows."""
    from array import array

    import numpy as np

    position: dict[str, int] = {}
    symbols: list[str] = []
    ends, scores = array("i"), array("i")
    for row in store.stream("retrieval/string_network"):
        for gene, symbol in ((row["a"], row["a_symbol"]), (row["b"], row["b_symbol"])):
            if gene not in position:
                position[gene] = len(symbols)
                symbols.append(symbol)
        ends.extend((position[row["a"]], position[row["b"]]))
        scores.append(row["combined_score"])
        scores.extend(row[c] or 0 for c in NETWORK_CHANNELS)
    ends_array = np.frombuffer(ends, dtype=np.int32).reshape(-1, 2)
    return {"genes": np.array(list(position), dtype=str), "symbols": np.array(symbols, dtype=str),
            "a": ends_array[:, 0].copy(), "b": ends_array[:, 1].copy(),
            "scores": np.frombuffer(scores, dtype=np.int32).reshape(-1, 1 + len(NETWORK_CHANNELS)).copy()}


class BoundedNetwork:
    """Only the STRING neighbourhoods asked for (``retrieval/string_partners``, ``string_degrees``,
    ``string_link``, ``string_links_between``), cached per gene: one pair reads a few hundred links instead
    of the whole network."""

    def __init__(self, store: GraphStore, min_score: int, batch_size: int = 1000) -> None:
        self.store = store
        self.min_score = min_score
        self.batch_size = batch_size
        self._partners: dict[str, dict[str, int]] = {}
        self._degrees: dict[str, int] = {}
        self._symbols: dict[str, str] = {}

    def partners(self, gene_id: str) -> dict[str, int]:
        if gene_id not in self._partners:
            self.load([gene_id])
        return self._partners[gene_id]

    def degree(self, gene_id: str) -> int:
        if gene_id not in self._degrees:
            self.load([gene_id])
        return self._degrees[gene_id]

    def link(self, a: str, b: str) -> Link | None:
        rows = self.store.read("retrieval/string_link", a=a, b=b)
        return _link(rows[0]) if rows else None

    def symbol(self, gene_id: str) -> str:
        return self._symbols[gene_id]

    def load(self, gene_ids: Iterable[str]) -> None:
        missing = sorted({g for g in gene_ids if g not in self._partners})
        for batch in batched(missing, self.batch_size):
            found: dict[str, dict[str, int]] = {g: {} for g in batch}
            for row in self.store.read("retrieval/string_partners", ids=list(batch), min_score=self.min_score):
                found[row["id"]][row["partner"]] = row["combined_score"]
                self._symbols[row["id"]], self._symbols[row["partner"]] = row["symbol"], row["partner_symbol"]
            self._degrees.update({g: 0 for g in batch})
            self._degrees.update({row["id"]: row["degree"] for row in self.store.read("retrieval/string_degrees",
                                                                                        ids=list(batch))})
            self._partners.update(found)

    def links_between(self, xs: Iterable[str], ys: Iterable[str]) -> dict[str, dict[str, int]]:
        xs, ys = sorted(set(xs)), sorted(set(ys))
        links: dict[str, dict[str, int]] = {x: {} for x in xs}
        if xs and ys:
            for row in self.store.read("retrieval/string_links_between", xs=xs, ys=ys, min_score=self.min_score):
                links[row["x"]][row["y"]] = row["combined_score"]
        return links
