"""Start-up time of short commands: the Neo4j driver imported without its optional pandas/pyarrow support.

The driver imports pandas and pyarrow when they are installed (for ``Result.to_df`` and dataframe
parameters, which the toolkit never uses); that is about half a second of a one-pair ``aroma retrieve``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

DATAFRAME_MODULES = ("pandas", "pyarrow")


@contextmanager
def unimportable(*names: str) -> Iterator[None]:
    """Inside the block, importing any of ``names`` (not imported yet) raises ImportError; afterwards they
    import normally again."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not importable" marker
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_driver_without_dataframes() -> None:
    """Import ``neo4j`` (if not imported yet) without pandas and pyarrow: its ``Result.to_df`` and dataframe
    parameters are then unavailable in this process, everything else works as usual."""
    if "neo4j" not in sys.modules:
        with unimportable(*DATAFRAME_MODULES):
            import neo4j  # noqa: F401
