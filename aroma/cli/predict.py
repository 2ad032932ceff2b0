"""``aroma predict``: a biologist's question about a pair, a file of pairs, a whole knockdown or a target."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, UserOption, err, fail, guard, out,
                              server_starting, store)

FormatOption = Annotated[Optional[str], typer.Option("--format", help="csv, parquet or h5ad (AnnData: knockdowns × "
                                                     "genes)", show_default="from --out's suffix, else csv")]


@guard
def predict_command(
    perturbed: Annotated[Optional[str], typer.Argument(help="perturbed (knocked-down) gene")] = None,
    target: Annotated[Optional[str], typer.Argument(help="target gene (or gene set)")] = None,
    cell_line: Annotated[Optional[str], typer.Option(
        "--cell-line", help="the cell line to answer for (a saved predictor knows its own)")] = None,
    predictor_dir: Annotated[Optional[Path], typer.Option(
        "--predictor", help="a predictor from `aroma train predictor`",
        show_default="the default method, fit on the graph's training outcomes once per build")] = None,
    model_dir: Annotated[Optional[Path], typer.Option(
        "--model", help="a language model (`aroma train sft|grpo`): it generates its reasoning for one pair")] = None,
    pairs_file: Annotated[Optional[Path], typer.Option("--pairs", help="CSV with columns pert, gene (and optionally cell_line): one answer "
                                                       "per row into --out")] = None,
    knockdown: Annotated[Optional[str], typer.Option("--knockdown", help="what does knocking down this gene change? "
                                                     "Every measured gene ranked")] = None,
    target_gene: Annotated[Optional[str], typer.Option("--target", help="which knockdown would move this gene? "
                                                       "Every knockdown of the screen ranked")] = None,
    genes: Annotated[Optional[Path], typer.Option("--genes", help="with --knockdown: only these genes (one per line)",
                                                  show_default="every gene the cell line's knockdowns measured")] = None,
    knockdowns: Annotated[Optional[Path], typer.Option(
        "--knockdowns", help="with --target: only these knockdowns (one per line)",
        show_default="every knockdown of the cell line's training split")] = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", help="the answers as a file",
                                                     show_default="runs/predict/… for --knockdown/--target")] = None,
    form: FormatOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="rows shown (and bars plotted)")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="one pair: print JSON")] = False,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1, help="--model: reasoning length")] = 256,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress on stderr")] = False,
) -> None:
    """Answer with probabilities and the evidence that carried them: P T (one pair), --pairs FILE, --knockdown P
    (what it changes) or --target T (which knockdowns move it)."""
    modes = [name for name, given in (("P T", perturbed is not None), ("--pairs", pairs_file is not None),
                                      ("--knockdown", knockdown is not None), ("--target", target_gene is not None))
             if given]
    if len(modes) != 1:
        fail("ask one question: P T (a pair), --pairs FILE, --knockdown P or --target T", 2)
    if perturbed is not None and target is None:
        fail("a pair needs two genes: aroma predict P T --cell-line CELL", 2)
    if predictor_dir is not None and model_dir is not None:
        fail("--predictor and --model are two answers: give one", 2)
    if model_dir is not None and perturbed is None:
        fail("--model answers one pair at a time (P T); for many pairs use a predictor", 2)
    if pairs_file is not None and out_path is None:
        fail("--pairs needs --out FILE for the answers", 2)
    if cell_line is None and predictor_dir is None:
        fail("which cell line? pass --cell-line NAME (or --predictor DIR, which knows its own)", 2)
    with server_starting(db):  # a cold local server starts while the toolkit imports what it needs
        from aroma.lean_import import import_driver_without_dataframes

        import_driver_without_dataframes()
        from aroma.predict import saved  # noqa: F401 (imported while the server starts)
        from aroma.retrieval.knowledge import GraphContext

        with store(db, user, password, database) as kg:
            _answer(GraphContext(kg), perturbed, target, cell_line, predictor_dir, model_dir, pairs_file, knockdown,
                    target_gene, genes, knockdowns, out_path, form, top, as_json, max_new_tokens, quiet)


def _answer(graph, perturbed, target, cell_line, predictor_dir, model_dir, pairs_file, knockdown, target_gene, genes,
            knockdowns, out_path, form, top, as_json, max_new_tokens, quiet) -> None:
    """The question asked, answered against ``graph``."""
    if model_dir is not None:
        _language_model(graph, perturbed, target, cell_line, model_dir, max_new_tokens, as_json, quiet)
        return
    fitted = _predictor(graph, predictor_dir, cell_line)
    if perturbed is not None:
        _pair(fitted, perturbed, target, as_json)
    elif pairs_file is not None:
        _pairs(graph, fitted, predictor_dir, pairs_file, cell_line, out_path, form, top)
    else:
        _ranking(fitted, knockdown, target_gene, genes, knockdowns, out_path, form, top)


def _predictor(graph, predictor_dir: Path | None, cell_line: str | None):
    """The saved predictor, or the default one (fit on first use per build); notes go to stderr."""
    from aroma.predict.saved import default_predictor, open_predictor

    if predictor_dir is not None:
        fitted = open_predictor(predictor_dir, graph)
        if cell_line is not None and fitted.about["cell_line"] != cell_line.upper():
            err.print(f"note: the predictor in {predictor_dir} answers for {fitted.about['cell_line']}; "
                      f"--cell-line {cell_line} is ignored", highlight=False, markup=False)
    else:
        fitted = default_predictor(graph, cell_line)
        if cell_line.upper() not in graph.outcome_cell_lines:
            err.print(f"note: the graph holds no training outcomes of {cell_line.upper()} (it has: "
                      f"{', '.join(graph.outcome_cell_lines) or 'none'}); answering with the "
                      f"'{fitted.predictor.name}' method, from the graph and the other cell lines' outcomes",
                      highlight=False, markup=False)
    for note in fitted.notes:
        err.print(note, highlight=False, markup=False)
    return fitted


def _pair(fitted, perturbed: str, target: str, as_json: bool) -> None:
    from dataclasses import asdict

    from aroma.data.perturbqa import LabelledPair
    from aroma.predict.answers import answer
    from aroma.retrieval.render import experiments_lines

    predictor = fitted.predictor
    knowledge = predictor.knowledge
    pair = LabelledPair(knowledge.cell_line, perturbed, target, None, "asked")
    row = answer(predictor, [pair]).rows()[0]
    ids = knowledge.ids([pair])
    finders = [knowledge.neighbours()] if knowledge.has_outcomes else knowledge.neighbours_elsewhere()
    found = [finder.evidence(ids.get(perturbed), [ids.get(target)])[0] for finder in finders]
    if as_json:
        sys.stdout.write(json.dumps({**row, "method": predictor.name, "predictor": fitted.about,
                                     "evidence": asdict(found[0]) if knowledge.has_outcomes else None,
                                     "evidence_elsewhere": [] if knowledge.has_outcomes else
                                     [asdict(e) for e in found]}, indent=1) + "\n")
        return
    out.print(f"{perturbed} knockdown → {target} in {knowledge.cell_line}: {row['answer']} (not changed "
              f"{row['p_not_changed']:.3f}, downregulated {row['p_down']:.3f}, upregulated {row['p_up']:.3f}; "
              f"{predictor.name})", highlight=False, markup=False, soft_wrap=True)
    if row["measured"]:
        out.print(f"measured in {knowledge.cell_line}'s training split: {row['measured']} (the predictor leaves "
                  f"{perturbed}'s own outcomes out)", highlight=False, markup=False)
    if row["note"]:
        out.print(f"note: {row['note']}", highlight=False, markup=False)
    for experiments in found:
        out.print("\n".join(experiments_lines(experiments, perturbed, target)), highlight=False, markup=False, soft_wrap=True)


def _pairs(graph, fitted, predictor_dir, pairs_file: Path, cell_line: str | None, out_path: Path, form, top: int) -> None:
    from aroma.errors import AromaError
    from aroma.predict.answers import answer_by_cell_line, read_pairs, write
    from aroma.predict.saved import default_predictor

    def predictor_for(cell: str):
        if cell == fitted.predictor.knowledge.cell_line:
            return fitted.predictor
        if predictor_dir is not None:
            raise AromaError(f"the predictor in {predictor_dir} answers for {fitted.predictor.knowledge.cell_line}, "
                             f"but {pairs_file} asks about {cell}: give one predictor per cell line")
        return default_predictor(graph, cell).predictor

    pairs = read_pairs(pairs_file, cell_line or fitted.predictor.knowledge.cell_line)
    answers = answer_by_cell_line(predictor_for, pairs)
    path = write(answers, out_path, form)
    _print_table(answers.ranked(), top, f"{len(pairs)} pairs; the {min(top, len(pairs))} most likely to change")
    out.print(f"answers: {path}", highlight=False)


def _ranking(fitted, knockdown, target_gene, genes, knockdowns, out_path, form, top: int) -> None:
    from aroma.predict.answers import answer, knockdown_pairs, plot_ranked, read_names, target_pairs, write

    knowledge = fitted.predictor.knowledge
    cell = knowledge.cell_line
    if knockdown is not None:
        pairs = knockdown_pairs(knowledge, knockdown, read_names(genes) if genes else None)
        stem, title = f"{cell}_{knockdown}_knockdown", f"What knocking down {knockdown} changes in {cell}"
        label_by = "gene"
    else:
        pairs = target_pairs(knowledge, target_gene, read_names(knockdowns) if knockdowns else None)
        stem, title = f"{cell}_{target_gene}_target", f"Knockdowns that would move {target_gene} in {cell}"
        label_by = "pert"
    answers = answer(fitted.predictor, pairs).ranked()
    path = write(answers, out_path or Path("runs") / "predict" / f"{_safe(stem)}.csv", form)
    picture = plot_ranked(answers, path.with_suffix(".png"), f"{title} ({fitted.predictor.name})", label_by, top)
    unknown = {note for note in answers.notes if note}
    _print_table(answers, top, f"{title}: {len(pairs)} {'genes' if knockdown else 'knockdowns'} ranked by the "
                 f"probability of change ({fitted.predictor.name})")
    for note in sorted(unknown):
        err.print(f"note: {note}", highlight=False, markup=False)
    out.print(f"table: {path}, plot: {picture}", highlight=False)


def _print_table(answers, top: int, caption: str) -> None:
    table = Table("knockdown", "gene", "P(change)", "P(down)", "P(up)", "answer", "measured", caption=caption)
    for row in answers.rows()[:top]:
        table.add_row(str(row["pert"]), str(row["gene"]), f"{row['p_change']:.3f}", f"{row['p_down']:.3f}",
                      f"{row['p_up']:.3f}", str(row["answer"]), str(row["measured"]) or "–")
    out.print(table, highlight=False)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _language_model(graph, perturbed: str, target: str, cell_line: str, model_dir: Path, max_new_tokens: int,
                    as_json: bool, quiet: bool) -> None:
    """The language model's reasoning for one pair, then its answer (progress per generated token)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from aroma.data.perturbqa import LabelledPair
    from aroma.predict.lm import LanguageModel, explain
    from aroma.retrieval.render import render_evidence

    knowledge = graph.knowledge(cell_line)
    language = LanguageModel(model_dir).fit(knowledge, [])
    evidence = language.evidence([LabelledPair(cell_line.upper(), perturbed, target, None, "asked")])[0]
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as progress:
        loading = progress.add_task("loading the model", total=None)
        model = language.model
        progress.update(loading, total=1, completed=1)
        result = explain(model, evidence, (perturbed, target), max_new_tokens, progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
        return
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    out.print(f"{perturbed} knockdown → {target} in {cell_line.upper()}: {result['answer']} ({probabilities})",
              highlight=False, markup=False)
    out.print(f"reasoning: {result['reasoning']}", highlight=False, markup=False, soft_wrap=True)
    out.print("evidence:\n" + render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)
