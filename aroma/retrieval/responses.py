"""What knockdowns did, seen through genes that respond together.

Each knockdown measured only ~2 % of the genes, so two knockdowns' outcomes barely overlap and "the knockdowns like
P that measured T" are few. Genes that change together across the training knockdowns (their co-response, a
cosine over the knockdown × gene table) let every outcome speak for the genes that move with it:

* **target-smoothed votes (G)**: for P's most similar knockdowns (graph similarity), the share of T's co-responding
  genes that each changed (``S``), their signed direction (``Sd``) and the raw count (``Snum``), averaged;
* **P elsewhere (O)**: what P did in the other cell lines, smoothed onto T through this cell line's co-response;
* **knockdowns alike by their responses (R)**: P's responses elsewhere against the training knockdowns' responses
  elsewhere, and what the most alike did here (smoothed and exactly on T);
* **a joint low-rank factorisation (MF)**: knockdown factors shared by every cell line, gene factors per cell line,
  fit by ridge alternating least squares on changed-or-not and on up-or-down.

Everything here is computed from the outcome tables a ``Knowledge`` lets a method see; fitting cross-fits it
(``aroma.predict.crossfit``), so no training pair's own outcome reaches its features.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from aroma.retrieval.cache import DerivedCache
from aroma.retrieval.neighbours import KnockdownNeighbours
from aroma.retrieval.outcomes import OutcomeTable

if TYPE_CHECKING:
    import scipy.sparse as sp

FEATURES = ("sv_g20", "sv_g100", "svd_g20", "svd_g100", "svnum_g20", "svnum_g100", "svrel_g20", "svrel_g100",
            "o_s", "o_sd", "o_num", "r_sim1", "r_sv20", "r_svd20", "r_ex_de", "r_ex_up", "r_ex_w", "mf_de", "mf_sign")


@dataclass(frozen=True)
class ResponseSettings:
    """Chosen on the validation split of K562 and RPE1 (three carves)."""

    graph_ks: tuple[int, ...] = (20, 100)  # graph neighbours averaged for the target-smoothed votes
    response_k: int = 20  # response-alike neighbours averaged
    response_pool: int = 400  # the most alike searched for the exact vote
    exact_k: int = 20  # ... of which the first that measured T vote on "changed"
    exact_k_direction: int = 50  # ... and the first that changed T on the direction
    power: float = 2.0
    rank: int = 16  # the factorisation
    ridge: float = 5.0
    sweeps: int = 8
    seed: int = 0


class GeneUniverse:
    """Every target of the tables on one column index, and the tables as sparse changed / signed / measured
    matrices over it."""

    def __init__(self, tables: Sequence[OutcomeTable]) -> None:
        self.genes = sorted({gene for table in tables for gene in table.targets})
        self.column = {gene: j for j, gene in enumerate(self.genes)}

    def matrices(self, table: OutcomeTable) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """(changed 0/1, signed -1/0/+1, measured 0/1), knockdowns × universe genes."""
        import scipy.sparse as sp

        shape = (len(table.perts), len(self.genes))
        columns = np.array([self.column[g] for g in table.targets], dtype=np.int64)
        rows, cols = np.nonzero(table.measured)
        measured = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns[cols])), shape=shape)
        values = np.asarray(table.effects[rows, cols], dtype=np.float32)
        changed = values != 0
        signed = sp.csr_matrix((values[changed], (rows[changed], columns[cols[changed]])), shape=shape)
        return abs(signed).tocsr(), signed, measured


def coresponse(changed: sp.csr_matrix, signed: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Gene × gene cosine of co-change (``C``) and signed co-direction (``Cs``) across knockdowns, diagonal zero."""
    import scipy.sparse as sp

    together = (changed.T @ changed).tocsr().astype(np.float32)
    scale = sp.diags(1 / np.sqrt(np.maximum(together.diagonal(), 1)).astype(np.float32))
    result = []
    for matrix in (together, (signed.T @ signed).tocsr().astype(np.float32)):
        matrix = (scale @ matrix @ scale).tocsr()
        matrix.setdiag(0)
        matrix.eliminate_zeros()
        result.append(matrix)
    return result[0], result[1]


def _digest(settings: ResponseSettings) -> str:
    return hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()[:12]


def _dense(product) -> np.ndarray:
    return np.asarray(product.toarray() if hasattr(product, "toarray") else product, dtype=np.float32)


def _row_normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.sqrt((rows * rows).sum(1, keepdims=True))
    return rows / np.where(norms == 0, 1, norms)


def factorise(rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int],
              settings: ResponseSettings) -> tuple[np.ndarray, np.ndarray]:
    """Ridge alternating least squares on the observed entries, each column centred on its mean: row factors
    ``U`` and column factors ``V`` with ``U[i] · V[j]`` ≈ value - column mean."""
    import scipy.sparse as sp

    counts = np.bincount(columns, minlength=shape[1])
    centred = values - (np.bincount(columns, values, shape[1]) / np.maximum(counts, 1))[columns]
    target = sp.csr_matrix((centred.astype(np.float32), (rows, columns)), shape=shape)
    mask = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=shape)
    rng = np.random.RandomState(settings.seed)
    rank = settings.rank
    u = rng.normal(0, 0.1, (shape[0], rank)).astype(np.float32)
    v = rng.normal(0, 0.1, (shape[1], rank)).astype(np.float32)
    ridge = settings.ridge * np.eye(rank, dtype=np.float32)

    def solve(observed: sp.csr_matrix, y: sp.csr_matrix, other: np.ndarray) -> np.ndarray:
        outer = (other[:, :, None] * other[:, None, :]).reshape(len(other), -1)
        gram = np.asarray(observed @ outer).reshape(-1, rank, rank) + ridge
        return np.linalg.solve(gram, np.asarray(y @ other)[..., None])[..., 0].astype(np.float32)

    target_t, mask_t = target.T.tocsr(), mask.T.tocsr()
    for _ in range(settings.sweeps):
        u = solve(mask, target, v)
        v = solve(mask_t, target_t, u)
    return u, v


class Responses:
    """The response features of pairs of one cell line, from the outcome tables its knowledge may see."""

    def __init__(self, neighbours: KnockdownNeighbours, settings: ResponseSettings | None = None,
                 cache: DerivedCache | None = None) -> None:
        """``cache``: where the derived matrices are kept on disk (only for outcomes a build fixes: every training
        outcome of the cell line, not a fold of them)."""
        self.neighbours = neighbours  # this cell line's table (T), the graph similarity, the other cell lines
        self.settings = settings or ResponseSettings()
        self.cache = cache if cache is not None else DerivedCache(None)
        self._name = f"responses-{self.table_name(neighbours.table)}-{_digest(self.settings)}"
        self.table = neighbours.table
        self.universe = GeneUniverse([self.table, *neighbours.others])
        self.changed, self.signed, self.measured = self.universe.matrices(self.table)
        self.co, self.co_signed = coresponse(self.changed, self.signed)
        self.row = {p: i for i, p in enumerate(self.table.perts)}

    @staticmethod
    def table_name(table: OutcomeTable) -> str:
        return "".join(c if c.isalnum() else "_" for c in table.cell_line)

    @cached_property
    def smoothed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``S``, ``Sd``, ``Snum`` [T's knockdowns, universe genes]: per knockdown and gene, the share of the gene's
        co-responding genes it changed (shrunk by one measurement towards the gene's rate), their signed
        direction, and the raw co-change (kept on disk, memory-mapped, where there is a cache)."""
        def compute() -> dict[str, np.ndarray]:
            co_change = _dense(self.changed @ self.co)
            share = (co_change + self.rate) / (_dense(self.measured @ self.co) + 1.0)
            direction = _dense(self.signed @ self.co_signed) / (_dense(self.changed @ abs(self.co_signed)) + 1e-3)
            return {"share": share.astype(np.float32), "direction": direction.astype(np.float32),
                    "co_change": co_change}

        stored = self.cache.arrays(f"{self._name}-smoothed", compute, memory_map=True)
        return stored["share"], stored["direction"], stored["co_change"]

    @cached_property
    def rate(self) -> np.ndarray:
        return np.asarray(self.changed.sum(0)).ravel() / np.maximum(np.asarray(self.measured.sum(0)).ravel(), 1)

    @cached_property
    def elsewhere(self) -> tuple[dict[str, int], sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """Knockdown → row, and every knockdown's outcomes in the other cell lines summed over them: (changed,
        signed, measured), sparse on the universe."""
        import scipy.sparse as sp

        perts = sorted({p for other in self.neighbours.others for p in other.perts})
        row = {p: i for i, p in enumerate(perts)}
        summed = [sp.csr_matrix((len(perts), len(self.universe.genes)), dtype=np.float32) for _ in range(3)]
        for other in self.neighbours.others:
            gather = sp.csr_matrix((np.ones(len(other.perts), np.float32),
                                    ([row[p] for p in other.perts], np.arange(len(other.perts)))),
                                   shape=(len(perts), len(other.perts)))
            summed = [total + gather @ part for total, part in zip(summed, self.universe.matrices(other))]
        return row, summed[0].tocsr(), summed[1].tocsr(), summed[2].tocsr()

    @cached_property
    def profiles(self) -> np.ndarray:
        """T's knockdowns' responses elsewhere, smoothed through the co-response and unit length (zero without)."""
        row, changed, _, _ = self.elsewhere
        profiles = np.zeros((len(self.table.perts), len(self.universe.genes)), np.float32)
        present = [i for i, pert in enumerate(self.table.perts) if pert in row]
        if present:
            profiles[present] = _dense(changed[[row[self.table.perts[i]] for i in present]] @ self.co)
        return _row_normalised(profiles)

    @cached_property
    def factors(self) -> dict[str, tuple[dict[str, int], np.ndarray, np.ndarray]]:
        """Per mode (``de``: changed or not; ``sign``: up or down), knockdown rows and the factors of T's genes."""
        tables = [self.table, *self.neighbours.others]
        perts = sorted({p for t in tables for p in t.perts})
        row = {p: i for i, p in enumerate(perts)}
        stored = self.cache.arrays(f"{self._name}-factors", lambda: self._factorise(tables, row))
        return {mode: (row, stored[f"{mode}_u"], stored[f"{mode}_v"]) for mode in ("de", "sign")}

    def _factorise(self, tables: list[OutcomeTable], row: dict[str, int]) -> dict[str, np.ndarray]:
        width = len(self.universe.genes)
        found = {}
        for mode in ("de", "sign"):
            parts = []
            for offset, table in enumerate(tables):
                r, c = np.nonzero(table.measured)
                values = np.asarray(table.effects[r, c], dtype=np.float32)
                if mode == "sign":
                    keep = values != 0
                    r, c, values = r[keep], c[keep], values[keep]
                else:
                    values = (values != 0).astype(np.float32)
                columns = np.array([self.universe.column[g] for g in table.targets], dtype=np.int64)
                parts.append((np.array([row[p] for p in table.perts], dtype=np.int64)[r],
                              columns[c] + offset * width, values))
            u, v = factorise(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                             np.concatenate([p[2] for p in parts]), (len(row), width * len(tables)),
                             self.settings)
            found[f"{mode}_u"], found[f"{mode}_v"] = u, v[:width]  # T's gene factors come first
        return found

    def features(self, pert: str | None, targets: Sequence[str | None]) -> np.ndarray:
        """``[len(targets), len(FEATURES)]`` for (pert, t) of every t (NaN where undefined)."""
        settings = self.settings
        out = np.full((len(targets), len(FEATURES)), np.nan, np.float32)
        columns = np.array([self.universe.column.get(t, -1) if t is not None else -1 for t in targets])
        known = columns >= 0
        if not known.any():
            return out
        cols = columns[known]
        share, direction, co_change = self.smoothed
        values: dict[str, np.ndarray] = {}
        order, similarity = self.neighbours.nearest(pert)  # the graph's most similar knockdowns, P left out
        for k in settings.graph_ks:
            top = order[:k]
            weight = np.clip(similarity[:k], 0, None) ** settings.power
            total = weight.sum() + 1e-9
            values[f"sv_g{k}"] = weight @ share[np.ix_(top, cols)] / total
            values[f"svd_g{k}"] = weight @ direction[np.ix_(top, cols)] / total
            values[f"svnum_g{k}"] = weight @ co_change[np.ix_(top, cols)] / total
            values[f"svrel_g{k}"] = values[f"svnum_g{k}"] - co_change[:, cols].mean(0)
        if pert in self.elsewhere[0]:
            values.update(self._elsewhere(pert, cols, share, direction))
        row, u, v = self.factors["de"]
        if pert in row:
            values["mf_de"] = v[cols] @ u[row[pert]]
            sign_row, sign_u, sign_v = self.factors["sign"]
            values["mf_sign"] = sign_v[cols] @ sign_u[sign_row[pert]]
        for j, name in enumerate(FEATURES):
            if name in values:
                out[known, j] = values[name]
        return out

    def _elsewhere(self, pert: str, cols: np.ndarray, share: np.ndarray, direction: np.ndarray
                   ) -> dict[str, np.ndarray]:
        """The O and R features: P's responses in the other cell lines, and the knockdowns alike by them."""
        settings = self.settings
        row, changed_all, signed_all, measured_all = self.elsewhere
        i = row[pert]
        changed, signed, measured = changed_all[i], signed_all[i], measured_all[i]  # [1, genes], sparse
        co, co_signed = self.co[:, cols], self.co_signed[:, cols]
        co_change = _dense(changed @ co).ravel()
        values = {"o_s": (co_change + self.rate[cols]) / (_dense(measured @ co).ravel() + 1.0),
                  "o_sd": _dense(signed @ co_signed).ravel() / (_dense(changed @ abs(co_signed)).ravel() + 1e-3),
                  "o_num": co_change}
        profile = _row_normalised(_dense(changed @ self.co))[0]
        alike = self.profiles @ profile
        if pert in self.row:
            alike[self.row[pert]] = -np.inf  # P is never its own neighbour
        ranked = np.argsort(-alike, kind="stable")
        ranked = ranked[np.isfinite(alike[ranked])]
        values["r_sim1"] = np.full(len(cols), alike[ranked[0]] if len(ranked) else np.nan)
        top = ranked[:settings.response_k]
        weight = np.clip(alike[top], 0, None) ** settings.power
        values["r_sv20"] = weight @ share[np.ix_(top, cols)] / (weight.sum() + 1e-9)
        values["r_svd20"] = weight @ direction[np.ix_(top, cols)] / (weight.sum() + 1e-9)
        values.update(self._exact(ranked[:settings.response_pool], alike, cols))
        return values

    def _exact(self, pool: np.ndarray, alike: np.ndarray, cols: np.ndarray) -> dict[str, np.ndarray]:
        """Among the most response-alike, the weighted share of the first that measured each target that changed
        it, their weight, and the up share of the first that changed it."""
        settings = self.settings
        weight = (np.clip(alike[pool], 0, None) ** settings.power)[:, None]
        measured = self.measured[pool][:, cols].toarray() > 0
        signed = self.signed[pool][:, cols].toarray()
        first = np.where(measured & (np.cumsum(measured, 0) <= settings.exact_k), weight, 0.0)
        changed = signed != 0
        first_changed = np.where(changed & (np.cumsum(changed, 0) <= settings.exact_k_direction), weight, 0.0)
        return {"r_ex_de": (first * changed).sum(0) / (first.sum(0) + 1e-9),
                "r_ex_up": ((first_changed * (signed > 0)).sum(0) + 0.5e-9) / (first_changed.sum(0) + 1e-9),
                "r_ex_w": first.sum(0)}
