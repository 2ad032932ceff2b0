"""Named Cypher queries, one per ``.cypher`` file under this folder, in Neo4j 5 syntax.

Code refers to a query by its path without the suffix (``"queries/gene_neighbours"``);
a file may hold several statements separated by ``;`` at the end of a line (schema files).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files

_ROOT = files(__name__)
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)
_SOURCES: list[Callable[[str], str | None]] = []


def add_source(source: Callable[[str], str | None]) -> None:
    """Statements with no file, asked for by name after the files (the schema's loaders for an extension's
    edge kinds, rendered by ``aroma.kg.schema_files``)."""
    _SOURCES.append(source)


def query(name: str) -> str:
    """The text of one named query."""
    text = _file_text(name)
    for source in _SOURCES if text is None else ():
        if (text := source(name)) is not None:
            break
    if text is None:
        raise KeyError(f"no Cypher file aroma/cypher/{name}.cypher")
    return text.strip()


@cache
def _file_text(name: str) -> str | None:
    resource = _ROOT.joinpath(f"{name}.cypher")
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def statements(name: str) -> list[str]:
    """The statements of a multi-statement file, comments left in place."""
    parts = _STATEMENT_END.split(query(name))
    return [p.strip() for p in parts if p.strip() and not all(
        line.strip().startswith("//") or not line.strip() for line in p.splitlines())]


def names(folder: str = "") -> list[str]:
    """Every query name under ``folder`` (recursively), sorted."""
    found: list[str] = []

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir() and not child.name.startswith("__"):
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".cypher"):
                found.append(prefix + child.name[: -len(".cypher")])

    start = _ROOT.joinpath(folder) if folder else _ROOT
    walk(start, f"{folder.rstrip('/')}/" if folder else "")
    return sorted(found)


def clear_cache() -> None:
    """Forget the files read so far (after ``aroma kg schema --write`` rewrote some)."""
    _file_text.cache_clear()
