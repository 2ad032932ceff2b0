"""The ``aroma`` command line, one module per stage; each parses arguments and calls the API, nothing more.

``common`` holds what they share (consoles, the error guard, ``--db/--user/--password/--database``).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from aroma.cli.bench import bench_command
from aroma.cli.common import fail
from aroma.cli.cypher import cypher_command
from aroma.cli.dataset import dataset_app
from aroma.cli.dismantle import dismantle_app
from aroma.cli.evaluate import eval_command
from aroma.cli.kg import kg_app
from aroma.cli.model import model_app
from aroma.cli.predict import predict_command
from aroma.cli.retrieve import retrieve_command
from aroma.cli.train import train_app
from aroma.errors import AromaError

app = typer.Typer(help="AROMA toolkit: knowledge graphs and perturbation reasoning.", no_args_is_help=True)
app.add_typer(kg_app, name="kg")
app.add_typer(dataset_app, name="dataset")
app.add_typer(train_app, name="train")
app.add_typer(model_app, name="model")
app.add_typer(dismantle_app, name="dismantle")
app.command("cypher")(cypher_command)
app.command("retrieve")(retrieve_command)
app.command("eval")(eval_command)
app.command("predict")(predict_command)
app.command("bench")(bench_command)


@app.callback()
def _main(
    threads: Annotated[Optional[int], typer.Option(
        "--threads", min=1, help="CPU threads for torch (training, embedding, evaluation)",
        show_default="$AROMA_THREADS, else $OMP_NUM_THREADS, else the cores not already busy")] = None,
) -> None:
    """AROMA toolkit: knowledge graphs and perturbation reasoning."""
    from aroma.console import configure_global_console, no_library_bars_off_terminal
    from aroma.threads import configure_threads

    configure_global_console()
    no_library_bars_off_terminal()
    try:
        configure_threads(threads)
    except AromaError as exc:
        fail(str(exc))


__all__ = ["app"]
