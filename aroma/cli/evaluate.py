"""``aroma eval``: a trained language model on a split of its dataset, beside every other method."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, PerturbqaOption, UserOption, err, guard, out,
                              perturbqa_dir, store)


@guard
def eval_command(
    model_dir: Annotated[Path, typer.Option("--model", help="model directory (SFT or GRPO output)")],
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset: the pairs of --split")],
    out_dir: Annotated[Path, typer.Option("--out", help="where the report and plots go")],
    split: Annotated[str, typer.Option("--split", help="validation or test")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1,
                                                 help="about N pairs: all pairs of seeded random target genes")] = None,
    perturbqa: PerturbqaOption = None,
    classifier: Annotated[Optional[Path], typer.Option("--classifier", help="`aroma train classifier` output")] = None,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="GNN embeddings: fit the classifier "
                                                       "too")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 4,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """PerturbQA's protocol: per-gene AUROC for DE and direction, macro-F1, accuracy; every method side by side."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.eval import evaluate_model
    from aroma.predict.base import GraphContext, MethodOptions

    labels = PerturbQA(perturbqa_dir(perturbqa))
    with store(db, user, password, database) as kg:
        report = evaluate_model(GraphContext(kg, whole_network=True), labels, model_dir, data, split, out_dir, limit,
                                MethodOptions(embeddings=embeddings), classifier, batch_size)
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
