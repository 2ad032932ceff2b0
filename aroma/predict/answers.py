"""Answers to a biologist's questions from a fitted predictor: a pair, a file of pairs, a whole knockdown ("what
does knocking down P change?") or a target ("which knockdown would move T?"), as a table, a file (CSV, Parquet,
or an AnnData ``.h5ad`` that scanpy and pertpy open) and a plot."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aroma.data.perturbqa import LabelledPair
from aroma.errors import AromaError, SourceFormatError
from aroma.kg.readers import numbered_lines
from aroma.predict.base import Knowledge, Predictor
from aroma.retrieval.outcomes import LABEL_OF_SIGN
from aroma.tokens import DOWN, LABELS, NOT_CHANGED, UP

COLUMNS = ("pert", "gene", "cell_line", "p_not_changed", "p_down", "p_up", "p_change", "answer", "measured", "note")
FORMATS = ("csv", "parquet", "h5ad")
NOT_IN_GRAPH = "not in the graph: no similar knockdowns or graph evidence for it"


@dataclass
class Answers:
    """Pairs with their probabilities (LABELS order), the training outcome where the graph holds one, and a note
    where a gene is unknown to the graph."""

    pairs: list[LabelledPair]
    probabilities: np.ndarray
    measured: list[str]
    notes: list[str]
    method: str

    def rows(self) -> list[dict[str, object]]:
        return [{"pert": p.perturbed, "gene": p.target, "cell_line": p.cell_line,
                 "p_not_changed": float(row[NOT_CHANGED]), "p_down": float(row[DOWN]), "p_up": float(row[UP]),
                 "p_change": float(row[DOWN] + row[UP]), "answer": LABELS[int(row.argmax())], "measured": measured,
                 "note": note} for p, row, measured, note in zip(self.pairs, self.probabilities, self.measured,
                                                                  self.notes)]

    def ranked(self) -> Answers:
        """By decreasing probability of change (ties in input order)."""
        order = np.argsort(-(self.probabilities[:, DOWN] + self.probabilities[:, UP]), kind="stable")
        return Answers([self.pairs[i] for i in order], self.probabilities[order], [self.measured[i] for i in order],
                       [self.notes[i] for i in order], self.method)


def answer(predictor: Predictor, pairs: Sequence[LabelledPair]) -> Answers:
    """``predictor``'s probabilities for ``pairs`` of its cell line, with measured outcomes and notes."""
    knowledge = predictor.knowledge
    ids = knowledge.ids(pairs)
    probabilities = predictor.predict_proba(pairs)
    table = knowledge.table
    rows = {p: i for i, p in enumerate(table.perts)}
    columns = {t: j for j, t in enumerate(table.targets)}
    measured, notes = [], []
    for pair in pairs:
        i, j = rows.get(ids.get(pair.perturbed)), columns.get(ids.get(pair.target))
        value = table.effects[i, j] if i is not None and j is not None else np.nan
        measured.append("" if np.isnan(value) else LABELS[LABEL_OF_SIGN[float(value)]])
        unknown = [name for name in (pair.perturbed, pair.target) if name not in ids]
        notes.append("; ".join(f"{name} {NOT_IN_GRAPH}" for name in dict.fromkeys(unknown)))
    return Answers(list(pairs), probabilities, measured, notes, predictor.name)


def answer_by_cell_line(predictor_for: Callable[[str], Predictor], pairs: Sequence[LabelledPair]) -> Answers:
    """Answers for pairs of several cell lines, each from ``predictor_for(cell line)``, in ``pairs`` order."""
    probabilities = np.zeros((len(pairs), len(LABELS)))
    measured, notes = [""] * len(pairs), [""] * len(pairs)
    methods = []
    for cell in dict.fromkeys(p.cell_line for p in pairs):
        rows = [i for i, p in enumerate(pairs) if p.cell_line == cell]
        part = answer(predictor_for(cell), [pairs[i] for i in rows])
        probabilities[rows] = part.probabilities
        for k, i in enumerate(rows):
            measured[i], notes[i] = part.measured[k], part.notes[k]
        methods.append(part.method)
    return Answers(list(pairs), probabilities, measured, notes, ", ".join(dict.fromkeys(methods)))


def knockdown_pairs(knowledge: Knowledge, perturbed: str, genes: Sequence[str] | None = None) -> list[LabelledPair]:
    """``perturbed`` against ``genes``, or every gene the cell line's training knockdowns measured (for a cell line
    without outcomes: those the other cell lines' measured)."""
    targets = list(genes) if genes is not None else knowledge.symbols(_measured(knowledge, "targets"))
    if not targets:
        raise AromaError(f"the graph holds no measured genes for {knowledge.cell_line}: pass --genes FILE")
    return [LabelledPair(knowledge.cell_line, perturbed, target, None, "asked") for target in targets]


def target_pairs(knowledge: Knowledge, target: str, knockdowns: Sequence[str] | None = None) -> list[LabelledPair]:
    """Every training knockdown of the cell line (or ``knockdowns``) against ``target``."""
    perts = list(knockdowns) if knockdowns is not None else knowledge.symbols(_measured(knowledge, "perts"))
    if not perts:
        raise AromaError(f"the graph holds no knockdowns of {knowledge.cell_line}: pass --knockdowns FILE")
    return [LabelledPair(knowledge.cell_line, pert, target, None, "asked") for pert in perts]


def read_pairs(path: Path, cell_line: str) -> list[LabelledPair]:
    """A CSV with columns ``pert,gene`` and optionally ``cell_line`` (else ``cell_line``); extra columns (such as
    PerturbQA's ``label`` and ``split``) are ignored, never read."""
    rows = list(_csv_rows(path))
    if not rows:
        raise SourceFormatError(path, 1, "no header: expected pert,gene[,cell_line]")
    header = [name.strip() for name in rows[0]]
    if "pert" not in header or "gene" not in header:
        raise SourceFormatError(path, 1, f"header {header} lacks pert and gene columns")
    at = {name: header.index(name) for name in ("pert", "gene", "cell_line") if name in header}
    pairs = []
    for line, fields in enumerate(rows[1:], 2):
        if not any(fields):
            continue
        if len(fields) != len(header):
            raise SourceFormatError(path, line, f"expected {len(header)} columns, found {len(fields)}")
        pert, gene = fields[at["pert"]].strip(), fields[at["gene"]].strip()
        if not pert or not gene:
            raise SourceFormatError(path, line, "empty gene symbol")
        cell = fields[at["cell_line"]].strip() if "cell_line" in at and fields[at["cell_line"]].strip() else cell_line
        pairs.append(LabelledPair(cell.upper(), pert, gene, None, "asked"))
    if not pairs:
        raise SourceFormatError(path, None, "no pairs")
    return pairs


def read_names(path: Path) -> list[str]:
    """Gene symbols, one per line (or the first column of a CSV; a header named gene, pert or symbol is skipped)."""
    names = [fields[0].strip() for fields in _csv_rows(path) if fields and fields[0].strip()]
    if names and names[0].lower() in ("gene", "pert", "symbol", "knockdown"):
        names = names[1:]
    if not names:
        raise SourceFormatError(path, None, "no gene symbols")
    return list(dict.fromkeys(names))


def _csv_rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise SourceFormatError(path, None, "file not found" if not path.exists() else "not a file")
    reader = csv.reader(text.lstrip("\ufeff") if number == 1 else text for number, text in numbered_lines(path))
    try:
        return list(reader)
    except csv.Error as exc:
        raise SourceFormatError(path, reader.line_num, str(exc)) from None


def write(answers: Answers, path: Path, form: str | None = None) -> Path:
    """``answers`` as CSV, Parquet or AnnData ``.h5ad`` (``form``, else from the suffix, else CSV)."""
    form = form or {".parquet": "parquet", ".h5ad": "h5ad"}.get(path.suffix, "csv")
    if form not in FORMATS:
        raise AromaError(f"--format must be one of {', '.join(FORMATS)}, not {form!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = answers.rows()
    if form == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif form == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        to_anndata(answers).write_h5ad(path)
    return path


def to_anndata(answers: Answers):
    """Knockdowns × genes: ``X`` and layer ``p_change`` the probability of change, layers ``p_up`` and ``p_down``
    and ``p_up_given_change``; NaN where a pair was not asked; ``uns`` says which method and cell line."""
    import anndata
    import pandas as pd

    perts = list(dict.fromkeys(p.perturbed for p in answers.pairs))
    genes = list(dict.fromkeys(p.target for p in answers.pairs))
    row, column = {p: i for i, p in enumerate(perts)}, {g: j for j, g in enumerate(genes)}
    layers = {name: np.full((len(perts), len(genes)), np.nan, dtype=np.float32)
              for name in ("p_change", "p_up", "p_down", "p_up_given_change")}
    for pair, p in zip(answers.pairs, answers.probabilities):
        i, j = row[pair.perturbed], column[pair.target]
        layers["p_change"][i, j] = p[DOWN] + p[UP]
        layers["p_up"][i, j], layers["p_down"][i, j] = p[UP], p[DOWN]
        layers["p_up_given_change"][i, j] = p[UP] / max(p[DOWN] + p[UP], 1e-12)
    cells = sorted({p.cell_line for p in answers.pairs})
    return anndata.AnnData(X=layers["p_change"].copy(), obs=pd.DataFrame(index=pd.Index(perts, name="knockdown")),
                           var=pd.DataFrame(index=pd.Index(genes, name="gene")), layers=layers,
                           uns={"method": answers.method, "cell_line": ",".join(cells),
                                "source": "aroma predict"})


def plot_ranked(answers: Answers, path: Path, title: str, label_by: str, top: int = 40) -> Path:
    """The ``top`` pairs by probability of change as bars split into down (blue) and up (red), the training
    outcome marked where the graph holds one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown_answers = answers.ranked()
    count = min(top, len(shown_answers.pairs))
    names = [(p.target if label_by == "gene" else p.perturbed) for p in shown_answers.pairs[:count]]
    probabilities = shown_answers.probabilities[:count]
    fig, axis = plt.subplots(figsize=(7.5, 1.2 + 0.22 * count), dpi=110)
    positions = np.arange(count)[::-1]
    axis.barh(positions, probabilities[:, DOWN], color="#3b6fb6", label="P(down)")
    axis.barh(positions, probabilities[:, UP], left=probabilities[:, DOWN], color="#c8443a", label="P(up)")
    for position, measured in zip(positions, shown_answers.measured[:count]):
        if measured:
            axis.text(1.01, position, f"measured: {measured}", va="center", fontsize=7, transform=axis.get_yaxis_transform())
    axis.set_yticks(positions, names, fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_xlabel("probability of change (down + up)")
    axis.set_title(title, fontsize=9)
    axis.legend(loc="lower right", fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _measured(knowledge: Knowledge, side: str) -> list[str]:
    """The cell line's training knockdowns or measured genes (``side``: ``perts`` or ``targets``); where it has
    none, the other cell lines' (in their order, each once)."""
    tables = [knowledge.table] if knowledge.has_outcomes else knowledge.others
    return list(dict.fromkeys(gene for table in tables for gene in getattr(table, side)))
