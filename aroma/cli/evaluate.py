"""``aroma eval`` and ``aroma predict``: score a trained model on a split, or answer one pair."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, UserOption, err, guard, note_cell_line, out,
                              store)


@guard
def eval_command(
    model_dir: Annotated[Path, typer.Option("--model", help="model directory (SFT or GRPO output)")],
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset")],
    out_dir: Annotated[Path, typer.Option("--out", help="where the report and plots go")],
    split: Annotated[str, typer.Option("--split")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1,
                                                 help="about N pairs: all pairs of seeded random target genes")] = None,
    classifier: Annotated[Optional[Path], typer.Option("--classifier", help="`aroma train classifier` output")] = None,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="embeddings of the classifier")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 4,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """PerturbQA's protocol: per-gene AUROC for DE and direction, macro-F1, accuracy; baselines side by side."""
    from contextlib import nullcontext

    from aroma.train.evaluate import evaluate_model

    with (store(db, user, password, database) if classifier is not None else nullcontext()) as kg:
        report = evaluate_model(model_dir, data, split, out_dir, limit, classifier, embeddings, batch_size, store=kg)
    table = Table("method", "DE AUROC", "direction AUROC", "macro-F1", "accuracy",
                  caption=f"{report.split}: {report.pairs} pairs; per-gene AUROC averaged over genes")
    for name, m in report.metrics.items():
        table.add_row(name, *(f"{m[k]:.3f}" if m[k] is not None else "n/a"
                              for k in ("de_auroc", "direction_auroc", "macro_f1", "accuracy")))
    out.print(table)
    for name, m in report.metrics.items():
        for key, why in m.get("notes", {}).items():
            err.print(f"{name} {key}: n/a, {why}", highlight=False, markup=False)
    out.print(f"report: {out_dir / 'eval_report.json'}, plots: {out_dir / 'roc_pr.png'}", highlight=False)


@guard
def predict_command(
    perturbed: Annotated[str, typer.Argument(help="perturbed gene")],
    target: Annotated[str, typer.Argument(help="target gene")],
    model_dir: Annotated[Path, typer.Option("--model", help="model directory")],
    cell_line: Annotated[str, typer.Option("--cell-line")] = "K562",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 256,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress on stderr")] = False,
) -> None:
    """The answer for one pair, with its probabilities, the reasoning and the evidence it used."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from aroma.model.lm import AromaLM
    from aroma.retrieval import EvidenceIndex, render_evidence
    from aroma.train.evaluate import predict_pair
    from aroma.train.lm_setup import quiet_libraries

    note_cell_line(cell_line)
    with store(db, user, password, database) as kg:
        evidence = EvidenceIndex(kg).evidence(perturbed, target, cell_line.upper())
    quiet_libraries()
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as progress:
        loading = progress.add_task("loading the model", total=None)
        model = AromaLM.from_pretrained(model_dir)
        progress.update(loading, total=1, completed=1)
        result = predict_pair(model, evidence, (perturbed, target), max_new_tokens, progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
        return
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    out.print(f"{perturbed} knockdown → {target} in {cell_line.upper()}: {result['answer']} ({probabilities})",
              highlight=False, markup=False)
    out.print(f"reasoning: {result['reasoning']}", highlight=False, markup=False, soft_wrap=True)
    out.print("evidence:\n" + render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)
