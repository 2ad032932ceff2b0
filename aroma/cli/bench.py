"""``aroma bench``: every prediction method on every PerturbQA cell line, beside the published numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, PerturbqaOption, QuietOption, UserOption,
                              guard, out, perturbqa_dir, store)


@guard
def bench_command(
    out_dir: Annotated[Path, typer.Option("--out", help="where bench.json, bench.md and bench.png go")],
    perturbqa: PerturbqaOption = None,
    cell_line: Annotated[Optional[list[str]], typer.Option(
        "--cell-line", help="only these datasets of the PerturbQA directory (repeat the option)", show_default="every one found")] = None,
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
    lm_pairs: Annotated[int, typer.Option("--lm-pairs", min=1, help="about this many test pairs per dataset "
                                          "for the language model (whole target genes, seeded)")] = 200,
    method: Annotated[Optional[list[str]], typer.Option(
        "--method", help="only these methods (repeat the option; names as in the table)",
        show_default="every one that applies")] = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Every method on every PerturbQA dataset: PerturbQA's per-gene AUROC, macro-F1, time and memory,
    with the published numbers beside (validation for choices, test for the report)."""
    from dataclasses import replace

    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, run_bench
    from aroma.evaluate.report import markdown_table
    from aroma.predict.base import GraphContext, MethodOptions
    from aroma.predict.registry import method as known_method

    for name in method or ():
        known_method(name)
    data = PerturbQA(perturbqa_dir(perturbqa), seed=seed, only=cell_line)
    options = MethodOptions(cross_cell_line=cross, embeddings=embeddings, model=model_dir, lm_pairs=lm_pairs,
                            seed=seed)
    options = replace(options, neighbours=replace(options.neighbours, k=k))
    with store(db, user, password, database) as kg:
        results = run_bench(GraphContext(kg, whole_network=True), data, out_dir,
                            BenchSettings(options, tuple(method) if method else None), show_progress=not quiet)
    split = "test" if any(r.split == "test" for r in results) else "validation"
    out.print(markdown_table(results, split), highlight=False, markup=False, soft_wrap=True)
    out.print(f"report: {out_dir / 'bench.md'}, {out_dir / 'bench.json'}, {out_dir / 'bench.png'}", highlight=False)
