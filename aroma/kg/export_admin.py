"""``aroma kg export --format neo4j-admin``: CSVs that ``neo4j-admin database import full`` loads, plus the command.

For builds too large for transactional loading: the records go straight from the sources to files,
one node file per label and one relationship file per (label, type, label), headers typed per Neo4j's
import format (``id:ID``, ``:START_ID``, ``:END_ID``, ``name:long``, ``name:string[]`` …).
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aroma.kg.assemble import KnowledgeGraph
from aroma.kg.records import Edge, Node

ARRAY_DELIMITER = ";"


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        inner = {_type_of(v) for v in value} or {"string"}
        return (inner.pop() if len(inner) == 1 else "string") + "[]"
    return "string"


def _columns(records: Sequence[Node | Edge]) -> list[tuple[str, str]]:
    """Property names in first-seen order, each with the type of its first non-null value."""
    types: dict[str, str] = {}
    for record in records:
        for key, value in record.properties.items():
            if key not in types and value is not None and value != []:
                types[key] = _type_of(value)
    return list(types.items())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(str(v).replace(ARRAY_DELIMITER, ",") for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write(path: Path, header: list[str], rows) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def export_neo4j_admin(graph: KnowledgeGraph, out: Path, database: str = "neo4j") -> str:
    """Write node and relationship CSVs into ``out``; return the import command to run."""
    out.mkdir(parents=True, exist_ok=True)
    arguments = []
    for label, nodes in graph.nodes.items():
        columns = _columns(nodes)
        path = out / f"nodes_{label}.csv"
        _write(path, ["id:ID"] + [f"{k}:{t}" for k, t in columns],
               ([n.id] + [_cell(n.properties.get(k)) for k, _ in columns] for n in nodes))
        arguments.append(f"--nodes={label}={path}")
    for (source, rel_type, target), edges in graph.edges.items():
        columns = _columns(edges)
        path = out / f"relationships_{source}_{rel_type}_{target}.csv"
        _write(path, [":START_ID", ":END_ID"] + [f"{k}:{t}" for k, t in columns],
               ([e.source, e.target] + [_cell(e.properties.get(k)) for k, _ in columns] for e in edges))
        arguments.append(f"--relationships={rel_type}={path}")
    command = ["neo4j-admin", "database", "import", "full", database, "--overwrite-destination",
               f"--array-delimiter={ARRAY_DELIMITER}", "--multiline-fields=true", *arguments]
    text = " ".join(shlex.quote(part) for part in command)
    (out / "import.sh").write_text("#!/bin/sh\n# Run with the Neo4j server stopped; then CREATE the constraints in "
                                   "aroma/cypher/schema/constraints.cypher.\n" + text + "\n")
    return text
