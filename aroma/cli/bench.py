"""``aroma bench``: every prediction method on every PerturbQA cell line, beside the published numbers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, PerturbqaOption, QuietOption, UserOption,
                              fail, guard, out, perturbqa_dir, store)

if TYPE_CHECKING:
    from aroma.retrieval.knowledge import GraphContext


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
    phase: Annotated[Optional[list[str]], typer.Option(
        "--phase", help="validation (for choices) and/or test (for the report; repeat the option)",
        show_default="both")] = None,
    zero_shot: Annotated[bool, typer.Option("--zero-shot", help="also predict each dataset with none of its own "
                                            "labels, from the other cell lines' outcomes (rows named zero-shot)")
                         ] = False,
    fractions: Annotated[Optional[str], typer.Option(
        "--fractions", help="a learning curve: the test phase with these shares of the training knockdowns screened "
        "(seeded, nested), e.g. 0.1,0.25,0.5,1; plotted in learning_curves.png")] = None,
    method: Annotated[Optional[list[str]], typer.Option(
        "--method", help="only these methods (repeat the option; names as in the table)",
        show_default="every one that applies")] = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", min=1, help="score the datasets' phases in this many worker processes",
        show_default="as many as there are phases, free cores and 6 GB of free memory each")] = None,
    quiet: QuietOption = False,
) -> None:
    """Every method on every PerturbQA dataset: PerturbQA's per-gene AUROC, macro-F1, time and memory,
    with the published numbers beside (validation for choices, test for the report)."""
    from dataclasses import replace
    from functools import partial

    from aroma.data.perturbqa import PerturbQA
    from aroma.evaluate.bench import BenchSettings, run_bench
    from aroma.evaluate.parallel import default_jobs
    from aroma.predict.base import MethodOptions
    from aroma.predict.registry import method as known_method
    from aroma.retrieval.phases import PHASES

    for name in method or ():
        known_method(name)
    for name in phase or ():
        if name not in PHASES:
            fail(f"--phase must be one of {', '.join(PHASES)}, not {name!r}", 2)
    shares = _shares(fractions) if fractions else ()
    data = PerturbQA(perturbqa_dir(perturbqa), seed=seed, only=cell_line)
    options = MethodOptions(cross_cell_line=cross, embeddings=embeddings, model=model_dir, lm_pairs=lm_pairs,
                            seed=seed)
    options = replace(options, neighbours=replace(options.neighbours, k=k))
    settings = BenchSettings(options, tuple(method) if method else None, tuple(phase or PHASES), zero_shot, shares)
    open_graph = partial(bench_graph, db, user, password, database)
    with open_graph() as graph:  # workers find a local server already up
        report = run_bench(graph, data, out_dir, settings, show_progress=not quiet,
                           jobs=jobs or default_jobs(len(data.cell_lines) * len(settings.phases)),
                           open_graph=open_graph)
    out.print(report.table(), highlight=False, markup=False, soft_wrap=True)
    out.print(f"report: {out_dir / 'bench.md'}, {out_dir / 'bench.json'}, {out_dir / 'bench.png'}", highlight=False)


@contextmanager
def bench_graph(db: str | None, user: str | None, password: str | None, database: str | None
                ) -> Iterator[GraphContext]:
    """The graph a bench reads (also how its worker processes open it)."""
    from aroma.retrieval.knowledge import GraphContext

    with store(db, user, password, database) as kg:
        yield GraphContext(kg, whole_network=True)


def _shares(text: str) -> tuple[float, ...]:
    """``0.1,0.25,0.5,1`` → shares in (0, 1], or a one-line error naming the value."""
    shares = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            fail(f"--fractions: {part.strip()!r} is not a number (give shares such as 0.1,0.25,0.5,1)", 2)
        if not 0 < value <= 1:
            fail(f"--fractions: {value} is not a share in (0, 1]", 2)
        shares.append(value)
    return tuple(sorted(set(shares)))
