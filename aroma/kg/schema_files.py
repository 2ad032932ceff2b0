"""What the schema (``aroma.kg.schema``) renders: constraints, load statements and the README's graph tables.

The statements are committed as ``.cypher`` files (Neo4j 5 Cypher, checked by the linter and planned by
Neo4j in the tests); ``aroma kg schema --write`` rewrites them after a schema change, and a test fails
while a committed file differs from its rendering. An edge kind an extension declares at run time
(``SCHEMA.extended``) has no file: its loader is rendered here on demand (``aroma.cypher.query``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from aroma import cypher
from aroma.kg.schema import GRAPH_NAMES, SCHEMA, EdgeKind, NodeLabel, Property, Schema

WIDTH = 110  # wrap long property maps at this column
CONSTRAINTS = "schema/constraints"


def _property_map(pairs: list[str], opening: str, indent: int) -> str:
    """``{a: x, b: y}`` wrapped so that no line passes WIDTH (continuations indented by ``indent``)."""
    lines, line = [], opening + "{"
    for i, pair in enumerate(pairs):
        piece = pair + ("," if i < len(pairs) - 1 else "}")
        if len(line) + 1 + len(piece) > WIDTH and not line.endswith("{"):
            lines.append(line)
            line = " " * indent + piece
        else:
            line += ("" if line.endswith("{") else " ") + piece
    lines.append(line)
    return "\n".join(lines)


def _comment(text: str) -> str:
    return "// " + text


def node_loader(node: NodeLabel) -> str:
    """The ``UNWIND $rows`` statement that creates one label's nodes (``CREATE`` with parameters for metadata)."""
    names = ["id", *(p.name for p in node.properties)]
    if node.metadata:
        body = _property_map([f"{n}: ${n}" for n in names], f"CREATE (b:{node.label} ", 4)
        return f"{_comment(node.description)}\n{body})\n"
    body = _property_map([f"{n}: row.{n}" for n in names], f"CREATE (n:{node.label} ", 4)
    return f"{_comment(node.description)}\nUNWIND $rows AS row\n{body})\n"


def node_updater(node: NodeLabel) -> str:
    """The ``UNWIND $rows`` statement that sets properties of loaded nodes (what a bulk importer left out)."""
    return (f"// Properties of loaded :{node.label} nodes that the bulk importer cannot leave absent (numbers, "
            f"booleans).\nUNWIND $rows AS row\nMATCH (n:{node.label} {{id: row.id}})\nSET n += row.properties\n")


def edge_loader(edge: EdgeKind) -> str:
    """The ``UNWIND $rows`` statement that creates one edge kind's relationships between loaded nodes."""
    head = (f"{_comment(edge.description)}\nUNWIND $rows AS row\n"
            f"MATCH (a:{edge.source} {{id: row.source}})\nMATCH (b:{edge.target} {{id: row.target}})\n")
    if not edge.properties:
        return head + f"CREATE (a)-[:{edge.type}]->(b)\n"
    body = _property_map([f"{p.name}: row.{p.name}" for p in edge.properties], f"CREATE (a)-[:{edge.type} ", 4)
    return head + body + "]->(b)\n"


def constraints(schema: Schema = SCHEMA) -> str:
    """Uniqueness of every id and the declared indexes, named ``{label}_id`` and ``{label}_{property}``."""
    lines = ["// Uniqueness constraints and indexes, created before loading (Neo4j 5 syntax, always named)."]
    labels = [n for n in schema.nodes.values() if not n.metadata]
    lines += [f"CREATE CONSTRAINT {n.label.lower()}_id IF NOT EXISTS FOR (n:{n.label}) REQUIRE n.id IS UNIQUE;"
              for n in labels]
    lines += [f"CREATE INDEX {n.label.lower()}_{p.name} IF NOT EXISTS FOR (n:{n.label}) ON (n.{p.name});"
              for n in labels for p in n.properties if p.indexed]
    return "\n".join(lines) + "\n"


def rendered(schema: Schema = SCHEMA) -> dict[str, str]:
    """Query name → text of every statement the schema determines."""
    texts = {CONSTRAINTS: constraints(schema)}
    texts.update({n.loader: node_loader(n) for n in schema.nodes.values()})
    texts.update({n.updater: node_updater(n) for n in schema.nodes.values() if not n.metadata})
    texts.update({e.loader: edge_loader(e) for e in schema.edges.values()})
    return texts


def write(root: Path | None = None, schema: Schema = SCHEMA, readme: Path | None = None) -> list[Path]:
    """Write every rendered statement under ``root`` (default: the package's ``aroma/cypher``) and the graph
    tables into ``readme`` (default: the README.md beside the package, in a source checkout); return the files
    that changed. A loader file with no schema entry is removed."""
    root = root or Path(str(files("aroma.cypher")))
    readme = readme or Path(str(files("aroma"))).parent / "README.md"
    texts = rendered(schema)
    changed = []
    if readme.is_file():
        old = readme.read_text(encoding="utf-8")
        if (new := with_readme_tables(old, schema)) != old:
            readme.write_text(new, encoding="utf-8")
            changed.append(readme)
    for name, text in texts.items():
        path = root / f"{name}.cypher"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted((root / "load").glob("*.cypher")):
        if f"load/{path.stem}" not in texts:
            path.unlink()
            changed.append(path)
    cypher.clear_cache()
    return changed


def _names(properties: tuple[Property, ...]) -> str:
    return ", ".join(f"`{p.name}`" for p in properties)


def readme_tables(schema: Schema = SCHEMA) -> str:
    """The README's node table and edge table (edge kinds alike but for their type share one row)."""
    rows = ["| node | id | properties |", "|---|---|---|"]
    for node in schema.nodes.values():
        ids = node.readme_ids or ", ".join(f"`{p.example}`" for p in node.ids)
        rows.append(f"| `{node.label}` | {ids} | {node.readme_properties or _names(node.properties)} |")
    rows += ["", "| graph | edge | from | properties |", "|---|---|---|---|"]
    groups: list[list[EdgeKind]] = []
    for edge in schema.edges.values():
        last = groups[-1][0] if groups else None
        if last and (last.graph, last.source, last.target, last.provenance, last.properties) == (
                edge.graph, edge.source, edge.target, edge.provenance, edge.properties):
            groups[-1].append(edge)
        else:
            groups.append([edge])
    for group in groups:
        first = group[0]
        types = "\\|".join(e.type for e in group)
        properties = first.readme_properties or _names(first.properties)
        rows.append(f"| {GRAPH_NAMES[first.graph]} | `({first.source})-[:{types}]->({first.target})` | "
                    f"{first.provenance} | {properties} |".replace("|  |", "| |"))
    return "\n".join(rows) + "\n"


def with_readme_tables(readme: str, schema: Schema = SCHEMA) -> str:
    """``readme`` with its node and edge tables (from the node table's header to the edge table's last row)
    replaced by the schema's rendering."""
    start = readme.find("| node | id | properties |")
    edges = readme.find("| graph | edge | from | properties |", max(start, 0))
    if start < 0 or edges < 0:
        raise ValueError("the README has no graph tables (a line starting '| node | id | properties |')")
    end = readme.find("\n\n", edges)
    return readme[:start] + readme_tables(schema) + readme[end + 1 if end >= 0 else len(readme):]


def _runtime_loader(name: str) -> str | None:
    """An extension's loader (a schema entry added at run time, with no committed file)."""
    for entry in (*SCHEMA.nodes.values(), *SCHEMA.edges.values()):
        if entry.loader == name:
            return node_loader(entry) if isinstance(entry, NodeLabel) else edge_loader(entry)
        if isinstance(entry, NodeLabel) and entry.updater == name:
            return node_updater(entry)
    return None


cypher.add_source(_runtime_loader)
