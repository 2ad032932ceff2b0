"""A whole graph as input files for ArcadeDB's ``GraphImporter``, the local default's bulk loader.

One file per node label and per edge kind, and the importer's JSON configuration mapping every declared
property to its type (``long:``, ``double:``, ``bool:``, ``list:``; plain for strings). Columnar edges
(``EdgeTable``: STRING, millions of rows of integers) are written as CSV by pyarrow a million rows at a
time; everything else, which holds free text, as JSON lines. Null properties are left out, as the Bolt
load leaves them out.

The importer reads an absent number or boolean as 0 or false and leaves an empty string out, so such a
property is not given to it: its values are set over Bolt afterwards (``load/update_*``), and an edge kind
with such a property is loaded over Bolt whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aroma.kg.assemble import KnowledgeGraph
from aroma.kg.edge_table import EdgeTable
from aroma.kg.records import Edge, Node, present
from aroma.kg.schema import SCHEMA, Property

CONFIG = "graph_import.json"
CSV_CHUNK_ROWS = 1_000_000
FROM, TO = "_from", "_to"  # endpoint columns of edge files (no declared property starts with "_")
_SPEC_PREFIX = {"string": "", "long": "long:", "double": "double:", "boolean": "bool:", "string[]": "list:",
                "long[]": "list:"}
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


@dataclass
class ImportFiles:
    """What was written for the importer, and what must go over Bolt after it."""

    config: Path
    vertices: int  # nodes the importer must create
    edges: int  # edges the importer must create
    node_updates: dict[str, list[dict]] = field(default_factory=dict)  # label → rows {id, properties}
    bolt_edges: list[tuple[str, str, str]] = field(default_factory=list)  # edge kinds loaded over Bolt


def write_import_files(graph: KnowledgeGraph, folder: Path,
                       advance: Callable[[int], None] = lambda n: None) -> ImportFiles:
    """Write ``graph`` under ``folder`` for the importer; return the configuration's path and the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, list] = {"vertices": [], "edgeSources": []}
    files = ImportFiles(folder / CONFIG, 0, 0)
    for label, nodes in sorted(graph.nodes.items(), key=lambda item: SCHEMA.order_key_node(item[0])):
        if not nodes:
            continue
        declared = SCHEMA.node(label).properties
        later = _not_importable(declared, [n.properties for n in nodes])
        name = f"nodes_{label}.jsonl"
        with (folder / name).open("w", encoding="utf-8") as out:
            out.writelines(_node_line(node, later) for node in nodes)
        if later:
            files.node_updates[label] = [{"id": n.id, "properties": present({k: n.properties.get(k) for k in later})}
                                         for n in nodes if any(n.properties.get(k) is not None for k in later)]
        properties = {"id": "id", **_specs(declared, leave_out=later)}
        config["vertices"].append({"type": label, "file": name, "id": "id", "properties": properties})
        files.vertices += len(nodes)
        advance(len(nodes))
    for kind, edges in sorted(graph.edges.items(), key=lambda item: SCHEMA.order_key_edge(item[0])):
        if not len(edges):
            continue
        declared = SCHEMA.edge(kind).properties
        if not isinstance(edges, EdgeTable) and _not_importable(declared, [e.properties for e in edges]):
            files.bolt_edges.append(kind)
            continue
        name = "edges_{}_{}_{}".format(*kind) + (".csv" if isinstance(edges, EdgeTable) else ".jsonl")
        if isinstance(edges, EdgeTable):
            _write_csv(edges, folder / name, advance)
        else:
            with (folder / name).open("w", encoding="utf-8") as out:
                out.writelines(_edge_line(edge) for edge in edges)
            advance(len(edges))
        config["edgeSources"].append({"edge": kind[1], "file": name, "from": f"{FROM}:{kind[0]}",
                                      "to": f"{TO}:{kind[2]}",
                                      "properties": _specs(declared)})
        files.edges += len(edges)
    files.config.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return files


def _specs(declared: tuple[Property, ...], leave_out: Sequence[str] = ()) -> dict[str, str]:
    """The importer's property mapping: each name to its typed spec (``long:name``; plain for a string)."""
    return {p.name: _SPEC_PREFIX[p.type] + p.name for p in declared if p.name not in leave_out}


def _not_importable(declared: tuple[Property, ...], rows: list[dict]) -> list[str]:
    """Properties the importer would get wrong: a number or boolean that some row lacks (it would write 0 or
    false there) and a string that is empty in some row (it would leave it out)."""
    scalar = [p.name for p in declared if p.type in ("long", "double", "boolean")]
    text = [p.name for p in declared if p.type == "string"]
    return ([name for name in scalar if any(row.get(name) is None for row in rows)]
            + [name for name in text if any(row.get(name) == "" for row in rows)])


def _node_line(node: Node, leave_out: list[str]) -> str:
    row = node.row()
    for name in leave_out:
        row.pop(name, None)
    return _dumps(row) + "\n"


def _edge_line(edge: Edge) -> str:
    return _dumps({FROM: edge.source, TO: edge.target, **present(edge.properties)}) + "\n"


def _write_csv(table: EdgeTable, path: Path, advance: Callable[[int], None]) -> None:
    """``_from,_to,<properties>`` rows, unquoted (ids and integers only: the importer's CSV has no quoting)."""
    with path.open("wb") as out:
        out.write((",".join([FROM, TO, *table.order]) + "\n").encode())
        for start in range(0, len(table), CSV_CHUNK_ROWS):
            stop = min(start + CSV_CHUNK_ROWS, len(table))
            out.write(_csv_rows(table, start, stop))
            advance(stop - start)


def _csv_rows(table: EdgeTable, start: int, stop: int) -> pa.Buffer:
    def text(values: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(values), pa.string())

    parts: list[pa.Array | str] = [table.prefix, text(table.source[start:stop]), "," + table.prefix,
                                   text(table.target[start:stop])]
    for name in table.order:
        parts.append(",")
        if name in table.derived:
            column, divisor = table.derived[name]
            parts.append(text(table.columns[column][start:stop] / divisor))
        else:
            parts.append(text(table.columns[name][start:stop]))
    parts.append("\n")
    joined = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)[joined.offset:joined.offset + len(joined) + 1]
    begin, end = int(offsets[0]), int(offsets[-1])
    return joined.buffers()[2].slice(begin, end - begin)
