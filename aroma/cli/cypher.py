"""``aroma cypher``: an ad hoc query, or an interactive shell."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from aroma.cli.common import DatabaseOption, DbOption, PasswordOption, UserOption, guard, store
from aroma.errors import AromaError


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"{text!r} is not name=value")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value
    except RecursionError:
        raise AromaError(f"-p {name}: the value is nested too deeply to read as JSON") from None


@guard
def cypher_command(
    query: Annotated[Optional[str], typer.Argument(help="Cypher query (Neo4j 5 syntax); without one, an "
                                                  "interactive shell (statements end with ';', :help)")] = None,
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-p", help="name=value (value parsed as JSON when it can be)")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    write: Annotated[bool, typer.Option("--write", help="allow the query to change the graph")] = False,
    allow_file_urls: Annotated[bool, typer.Option("--allow-file-urls", help="let LOAD CSV read local files")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Run an ad hoc Cypher query, or open a shell; read-only unless --write is given (the server refuses any change:
    the local server's read-only account, Neo4j's read transactions)."""
    from aroma.cypher_shell import CypherShell, print_result

    params = dict(_parse_param(p) for p in param or [])
    with store(db, user, password, database, read_only=not write) as graph:
        if query is None:
            shell = CypherShell(graph, params, write, allow_file_urls, fmt.value)
            code = shell.run(sys.stdin, sys.stdout, sys.stderr)
            if code:
                raise typer.Exit(code)
            return
        result = graph.run(query, params, write=write, allow_file_urls=allow_file_urls)
    print_result(result, fmt.value, sys.stdout, sys.stderr)
