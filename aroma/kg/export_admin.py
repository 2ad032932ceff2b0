"""``aroma kg export --format neo4j-admin``: CSVs that ``neo4j-admin database import full`` loads, plus the command.

For builds too large for transactional loading: the records go straight from the sources to files,
one node file per label and one relationship file per (label, type, label), headers typed per Neo4j's
import format (``id:ID``, ``:START_ID``, ``:END_ID``, ``name:long``, ``name:string[]`` …) as the schema
(``aroma.kg.schema``) declares each property.
"""

from __future__ import annotations

import csv
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aroma.kg.assemble import KnowledgeGraph
from aroma.kg.schema import SCHEMA, Property

ARRAY_DELIMITER = ";"


def _columns(properties: Sequence[Property]) -> list[tuple[str, str]]:
    """Each declared property with its declared type (aroma/kg/schema.py), in declaration order."""
    return [(p.name, p.type) for p in properties]


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
        columns = _columns(SCHEMA.node(label).properties)
        path = out / f"nodes_{label}.csv"
        _write(path, ["id:ID"] + [f"{k}:{t}" for k, t in columns],
               ([n.id] + [_cell(n.properties.get(k)) for k, _ in columns] for n in nodes))
        arguments.append(f"--nodes={label}={path}")
    for (source, rel_type, target), edges in graph.edges.items():
        columns = _columns(SCHEMA.edge((source, rel_type, target)).properties)
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
