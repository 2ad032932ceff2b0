"""``aroma kg schema``: print the graph schema's README tables, or rewrite the statements rendered from it."""

from __future__ import annotations

from typing import Annotated

import typer


def schema_command(
    write: Annotated[bool, typer.Option(
        "--write", help="rewrite aroma/cypher/schema/constraints.cypher and aroma/cypher/load/*.cypher from "
                        "aroma/kg/schema.py (after adding or changing an entry)")] = False,
) -> None:
    """The graph's node labels and edge kinds as declared once in aroma/kg/schema.py (the README's tables)."""
    from aroma.kg import schema_files

    if write:
        for path in schema_files.write():
            typer.echo(f"{'wrote' if path.exists() else 'removed'} {path}")
        return
    typer.echo(schema_files.readme_tables(), nl=False)
