"""A whole graph as one file in Neo4j's APOC JSONL export format, for a database's own bulk importer.

One JSON object per line: every node (``{"type":"node","id":…,"labels":[…],"properties":{…}}``) before
every relationship (``{"type":"relationship","id":…,"label":…,"start":{"id":…},"end":{"id":…},
"properties":{…}}``). Node ids are the graph's own ids (``ncbigene:7157``), which the importer keeps as the
``id`` property; null properties are left out, as the transactional load leaves them out. Columnar edges
(``EdgeTable``: STRING) are formatted by pyarrow a million at a time, not one Python object per edge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aroma.kg.assemble import KnowledgeGraph
from aroma.kg.edge_table import EdgeTable
from aroma.kg.records import Edge, Node, present

CHUNK_ROWS = 250_000
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def write_neo4j_jsonl(graph: KnowledgeGraph, path: Path, advance: Callable[[int], None] = lambda n: None) -> int:
    """Write ``graph`` to ``path``; return the number of lines (nodes + edges)."""
    lines = 0
    with path.open("wb") as out:
        for label, nodes in graph.nodes.items():
            out.write("".join(_node_line(node) for node in nodes).encode())
            lines += len(nodes)
            advance(len(nodes))
        for edges in graph.edges.values():
            if isinstance(edges, EdgeTable):
                for start in range(0, len(edges), CHUNK_ROWS):
                    chunk = _table_lines(edges, start, min(start + CHUNK_ROWS, len(edges)), lines)
                    out.write(chunk)
                    count = min(CHUNK_ROWS, len(edges) - start)
                    lines += count
                    advance(count)
            else:
                out.write("".join(_edge_line(edge, lines + i) for i, edge in enumerate(edges)).encode())
                lines += len(edges)
                advance(len(edges))
    return lines


def _node_line(node: Node) -> str:
    # the importer recognises the format by this exact beginning: {"type":"node","id":"
    return _dumps({"type": "node", "id": node.id, "labels": [node.label],
                   "properties": node.row()}) + "\n"


def _edge_line(edge: Edge, number: int) -> str:
    return _dumps({"type": "relationship", "id": f"e{number}", "label": edge.type,
                   "start": {"id": edge.source}, "end": {"id": edge.target},
                   "properties": present(edge.properties)}) + "\n"


def _decimal(column: np.ndarray, divisor: float) -> pa.Array:
    """``column / divisor`` as JSON numbers that always parse as doubles (``0.9`` → "0.900", 1 → "1.000")."""
    if divisor != 1000.0:
        return pc.cast(pa.array(column / divisor, pa.float64()), pa.string())
    whole, fraction = np.divmod(column.astype(np.int64), 1000)
    digits = pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), 3, "0")
    return pc.binary_join_element_wise(pc.cast(pa.array(whole), pa.string()), digits, ".")


def _table_lines(table: EdgeTable, start: int, stop: int, first_id: int) -> pa.Buffer:
    """Lines for edges ``start:stop`` of ``table`` (ids from ``first_id``), as one buffer."""
    def text(values: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(values), pa.string())

    parts: list[pa.Array | str] = [
        '{"type":"relationship","id":"e', text(np.arange(first_id, first_id + stop - start)),
        f'","label":{json.dumps(table.kind[1])},"start":{{"id":"{table.prefix}', text(table.source[start:stop]),
        f'"}},"end":{{"id":"{table.prefix}', text(table.target[start:stop]), '"},"properties":{']
    for i, name in enumerate(table.order):
        parts.append(("," if i else "") + json.dumps(name) + ":")
        if name in table.derived:
            column, divisor = table.derived[name]
            parts.append(_decimal(table.columns[column][start:stop], divisor))
        else:
            parts.append(text(table.columns[name][start:stop]))
    parts.append("}}\n")
    joined = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)[joined.offset:joined.offset + len(joined) + 1]
    begin, end = int(offsets[0]), int(offsets[-1])
    return joined.buffers()[2].slice(begin, end - begin)
