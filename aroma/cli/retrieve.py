"""``aroma retrieve``: the knowledge-graph evidence for one gene pair."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, UserOption, guard, note_cell_line, out,
                              server_starting, store)


@guard
def retrieve_command(
    perturbed: Annotated[str, typer.Argument(help="perturbed (knocked-down) gene: symbol or alias")],
    target: Annotated[str, typer.Argument(help="target gene: symbol or alias")],
    cell_line: Annotated[Optional[str], typer.Option(
        "--cell-line", help="cell line whose training outcomes give the experimental evidence; the graphs' evidence is "
        "the same for every cell line", show_default="the first whose outcomes the graph holds")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the evidence as JSON")] = False,
    experiments: Annotated[bool, typer.Option(
        "--experiments/--no-experiments", help="add what the most similar training knockdowns did to the target "
        "(when the graph holds PerturbQA outcomes for the cell line)")] = True,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Evidence from the knowledge graphs for one (perturbed gene, target gene) pair."""
    with server_starting(db):  # one pair: start-up time matters
        from aroma.lean_import import import_driver_without_dataframes

        import_driver_without_dataframes()
        from aroma.retrieval import EvidenceIndex, render_evidence

        if experiments:
            from aroma.retrieval.knowledge import GraphContext
        with store(db, user, password, database) as graph:
            index = EvidenceIndex(graph)
            if cell_line is not None:
                note_cell_line(cell_line, index.outcome_cell_lines())
            if cell_line is None:
                cell_line = next(iter(index.outcome_cell_lines()), "any cell line")
            if experiments and cell_line.upper() in index.outcome_cell_lines():
                context = GraphContext(graph)
                index = context.index
                index.use_outcomes(context.knowledge(cell_line).neighbours())
            evidence = index.evidence(perturbed, target, cell_line.upper())
    if as_json:
        sys.stdout.write(json.dumps(evidence.to_dict(), indent=1, sort_keys=True) + "\n")
    else:
        out.print(render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)
