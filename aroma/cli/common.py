"""What every stage's commands share: the consoles, the error guard, the database options and defaults."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from aroma import config
from aroma.console import output_width
from aroma.errors import AromaError, not_utf8, shown

out = Console(width=output_width(sys.stdout))
err = Console(stderr=True, width=output_width(sys.stderr))

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Neo4j URI (bolt://, neo4j://, neo4j+s://) or local database directory",
                 show_default="$AROMA_DB or ~/.aroma/db"),
]
UserOption = Annotated[Optional[str], typer.Option("--user", envvar="AROMA_NEO4J_USER", help="Neo4j user")]
PasswordOption = Annotated[
    Optional[str], typer.Option("--password", envvar="AROMA_NEO4J_PASSWORD", help="Neo4j password", show_default=False)
]
DatabaseOption = Annotated[Optional[str], typer.Option("--database", help="Neo4j database name", show_default="neo4j")]
QuietOption = Annotated[bool, typer.Option("--quiet", help="no progress bars")]
PerturbqaOption = Annotated[Optional[Path], typer.Option(
    "--perturbqa", help="directory of NAME-de.csv / NAME-dir.csv label files in PerturbQA's form, each NAME a dataset "
    "(a cell line, or a task such as a gene-set one)", show_default="$AROMA_DATA/perturbqa")]

ROLLED_BACK = "unfinished work was rolled back (a build leaves the previous graph in place)"


def fail(message: str, code: int = 1) -> None:
    """One red line on stderr (secrets redacted), then exit with ``code``."""
    from rich.markup import escape

    from aroma.errors import redact

    err.print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that clean-up (rollback, staging drop) runs."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def guard(func=None, *, stopped: str = ROLLED_BACK):
    """Turn toolkit errors, Ctrl-C and SIGTERM into one clear line and a non-zero exit code.

    ``stopped`` says what an interruption left behind (rolled back work, or a kept checkpoint).
    """
    if func is None:
        return functools.partial(guard, stopped=stopped)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signal.signal(signal.SIGTERM, _terminated)
        _require_utf8(kwargs)
        try:
            return func(*args, **kwargs)
        except AromaError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail(f"interrupted; {stopped}", 130)
        except Terminated:
            fail(f"terminated (SIGTERM); {stopped}", 143)

    return wrapper


def _require_utf8(arguments: dict[str, Any]) -> None:
    """Refuse an argument that is not valid UTF-8 (Python hands such bytes on as lone surrogates), naming it."""
    for name, value in arguments.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, (str, Path)) and not_utf8(str(item)):
                fail(f"{name.replace('_', '-')} {shown(str(item))!r} is not valid UTF-8 text")


def sources_dir(option: Path | None) -> Path:
    directory = config.sources_dir(option)
    if directory is None:
        fail("no sources directory: pass --sources DIR or set AROMA_SOURCES / AROMA_DATA")
    return directory


def perturbqa_dir(option: Path | None) -> Path:
    directory = config.perturbqa_dir(option)
    if directory is None:
        fail("no PerturbQA directory: pass --perturbqa DIR or set AROMA_DATA")
    return directory


def store(db: str | None, user: str | None = None, password: str | None = None, database: str | None = None,
          create: bool = False, read_only: bool = False):
    """Open the target; only a build (``create``) may create a local directory, credentials and a server.
    ``read_only``: log in to a local server as its read-only account (``open_store``)."""
    from aroma.kg.store import open_store

    return open_store(db, user=user, password=password, database=database, create=create, read_only=read_only)


@contextmanager
def server_starting(db: str | None) -> Iterator[None]:
    """Start the local server of ``db`` (a directory with a built graph) in the background while the caller
    imports the driver and its own modules, so that a cold command waits for the JVM and for its imports at
    once; ``store`` then finds the server up. A URI, or a directory without a graph, is left to ``store``."""
    from aroma.kg.arcadedb import LocalArcadeDB, has_graph
    from aroma.kg.targets import local_directory

    directory = local_directory(db)
    if directory is None or not has_graph(directory):
        yield
        return
    server = LocalArcadeDB(directory)
    starting = threading.Thread(target=_start_quietly, args=(server,), daemon=True)
    starting.start()
    try:
        yield
    finally:
        starting.join()
        server.stop()


def _start_quietly(server: Any) -> None:
    try:
        server.start()
    except (AromaError, OSError):
        pass  # ``store`` starts it again and reports what is wrong (a read-only directory, a full disk …)


def note_cell_line(cell_line: str, measured: Sequence[str]) -> None:
    """Say so when the graph holds no outcomes of ``cell_line`` (``measured``: the cell lines it holds)."""
    if cell_line.upper() not in measured:
        err.print(f"note: the graph holds no training outcomes of {cell_line.upper()} (it has: "
                  f"{', '.join(measured) or 'none'}); the knowledge-graph evidence is the same for every cell line",
                  highlight=False, markup=False)
