"""Gene-KG and Path-KG: source adapters, identifier mapping, the graph store and the build.

The names below are imported on first use, so that reading the graph (``aroma.kg.store``) does not import
the build's parsers (networkx, obonet) as well."""

from importlib import import_module
from typing import Any

_WHERE = {"BuildReport": "aroma.kg.build", "build": "aroma.kg.build", "GraphStats": "aroma.kg.stats",
          "graph_stats": "aroma.kg.stats", "GraphStore": "aroma.kg.store", "QueryResult": "aroma.kg.store",
          "open_store": "aroma.kg.store"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'aroma.kg' has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(_WHERE[name]), name)
    return value
