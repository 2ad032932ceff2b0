"""``aroma bench``: every prediction method on every PerturbQA cell line, beside the published numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, QuietOption, UserOption, guard, out,
                              perturbqa_dir, store)


@guard
def bench_command(
    out_dir: Annotated[Path, typer.Option("--out", help="where bench.json, bench.md and bench.png go")],
    perturbqa: Annotated[
        Optional[Path], typer.Option("--perturbqa", help="directory of {cell}-de.csv / {cell}-dir.csv: every such "
                                     "pair is a cell line", show_default="$AROMA_DATA/perturbqa")
    ] = None,
    cell_line: Annotated[Optional[list[str]], typer.Option(
        "--cell-line", help="only these cell lines (repeat the option)", show_default="every one found")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="similar knockdowns that measured T, per pair")] = 20,
    cross: Annotated[bool, typer.Option("--cross/--no-cross", help="also run the neighbour model with what P "
                                        "did in the other cell lines (their training splits)")] = True,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    embeddings: Annotated[Optional[Path], typer.Option(
        "--embeddings", help="GNN embeddings (`aroma train gnn`): adds the classifier, fusion + neighbour features")
    ] = None,
    model_dir: Annotated[Optional[Path], typer.Option(
        "--model", help="a language model (`aroma train sft|grpo` output): scored on a sample of test target genes")
    ] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="the PerturbReason dataset of --model's prompts")
                    ] = None,
    lm_pairs: Annotated[int, typer.Option("--lm-pairs", min=1, help="about this many test pairs per cell line "
                                          "for the language model (whole target genes)")] = 200,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Every method on every PerturbQA cell line: PerturbQA's per-gene AUROC, macro-F1, time and memory,
    with the published numbers beside (validation for choices, test for the report)."""
    from dataclasses import replace

    from aroma.train.bench import BenchSettings, markdown_table, run_bench

    directory = perturbqa_dir(perturbqa)
    settings = BenchSettings(seed=seed, cross_cell_line=cross, embeddings=embeddings, lm_model=model_dir,
                             lm_data=data, lm_pairs=lm_pairs)
    settings = replace(settings, neighbours=replace(settings.neighbours, k=k))
    with store(db, user, password, database) as kg:
        results = run_bench(kg, directory, out_dir, cell_line, settings, show_progress=not quiet)
    out.print(markdown_table(results, "test"), highlight=False, markup=False, soft_wrap=True)
    out.print(f"report: {out_dir / 'bench.md'}, {out_dir / 'bench.json'}, {out_dir / 'bench.png'}", highlight=False)
