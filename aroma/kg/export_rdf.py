"""``aroma kg export --format turtle|nt``: the graph as RDF (rdflib), with standard identifier namespaces.

Node IRIs follow the id forms declared in ``aroma.kg.schema``: GO terms as OBO PURLs (``http://purl.obolibrary.org/obo/GO_0006915``), genes and Reactome
pathways as identifiers.org IRIs (``https://identifiers.org/ncbigene:7157``,
``https://identifiers.org/reactome:R-HSA-109581``), MSigDB sets by their MSigDB card URL. Each node
gets ``rdf:type`` and one triple per property value. Each edge is one triple whose predicate is its
type in the aroma vocabulary (TRRUST regulation split by sign); an edge with properties is also
described by an ``rdf:Statement`` carrying them (rdf:subject/predicate/object plus one triple per value).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef

from aroma.kg.schema import SCHEMA
from aroma.kg.store import GraphStore

AROMA = Namespace("https://w3id.org/aroma/vocab#")
OBO = Namespace("http://purl.obolibrary.org/obo/")
FORMATS = {"turtle": "turtle", "nt": "nt"}


def node_iri(node_id: str) -> URIRef:
    """The IRI of a node id, by the id forms the schema declares (``aroma.kg.schema.IdPrefix``)."""
    for form in SCHEMA.id_prefixes():
        if node_id.startswith(form.prefix):
            return URIRef(form.iri(node_id))
    return AROMA["node/" + node_id]


def predicate(rel_type: str, properties: dict[str, Any]) -> URIRef:
    """An edge type's predicate; one per value of the property a schema entry splits it by (TRRUST's sign)."""
    for edge in SCHEMA.edges.values():
        if edge.type == rel_type and edge.predicate_by and edge.predicate_by in properties:
            return AROMA[f"{rel_type}_{str(properties[edge.predicate_by]).upper()}"]
    return AROMA[rel_type]


def _values(value: Any) -> Iterator[Literal]:
    for item in value if isinstance(value, list) else [value]:
        if item is not None and item != "":
            yield Literal(item)


def triples(store: GraphStore) -> Iterator[tuple]:
    """Every triple of the graph, streamed from the store."""
    for row in store.stream("export/nodes"):
        subject = node_iri(row["id"])
        yield subject, RDF.type, AROMA[row["label"]]
        for key, value in sorted(row["properties"].items()):
            if key != "id":
                for literal in _values(value):
                    yield subject, AROMA[key], literal
    for row in store.stream("export/edges"):
        subject, obj = node_iri(row["source"]), node_iri(row["target"])
        properties = row["properties"] or {}
        verb = predicate(row["type"], properties)
        yield subject, verb, obj
        if properties:
            statement = BNode()
            yield statement, RDF.type, RDF.Statement
            yield statement, RDF.subject, subject
            yield statement, RDF.predicate, verb
            yield statement, RDF.object, obj
            for key, value in sorted(properties.items()):
                for literal in _values(value):
                    yield statement, AROMA[key], literal


def export_rdf(store: GraphStore, out: Path, fmt: str = "turtle") -> int:
    """Write the graph to ``out``; return the number of triples. N-Triples stream; Turtle is built in memory."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown RDF format {fmt!r}; expected one of {sorted(FORMATS)}")
    count = 0
    if fmt == "nt":
        with out.open("w", encoding="utf-8") as handle:
            for s, p, o in triples(store):
                handle.write(f"{s.n3()} {p.n3()} {o.n3()} .\n")
                count += 1
        return count
    graph = Graph()
    graph.bind("aroma", AROMA)
    graph.bind("obo", OBO)
    for triple in triples(store):
        graph.add(triple)
    graph.serialize(out, format="turtle")
    return len(graph)
