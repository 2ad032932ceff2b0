"""The bulk loader's files: what goes to ArcadeDB's GraphImporter, and what it would get wrong goes over Bolt.

(That a bulk build and a Bolt build give the same graph, every node and edge, is tested on the real subset in
``test_build_paths``; these are the cases the real sources do not all contain.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aroma.kg.assemble import KnowledgeGraph
from aroma.kg.edge_table import EdgeTable
from aroma.kg.graph_import import write_import_files
from aroma.kg.records import Edge, Node
from aroma.kg.schema import STRING_CHANNELS

STRING = ("Gene", "INTERACTS_WITH", "Gene")
REGULATES = ("Gene", "REGULATES", "Gene")


def _graph(string: list[Edge] | EdgeTable) -> KnowledgeGraph:
    graph = KnowledgeGraph()
    graph.add_node(Node("ncbigene:1", "Gene", {"gene_id": 1, "symbol": "A1, B", "sequence_length": 393}))
    graph.add_node(Node("ncbigene:2", "Gene", {"gene_id": 2, "symbol": "B", "sequence_length": None}))
    graph.add_node(Node("GO:1", "GOTerm", {"name": "x", "definition": "", "gene_count": 0}))
    graph.add_node(Node("GO:2", "GOTerm", {"name": "y", "definition": "said \"so\"", "gene_count": 3}))
    graph.edges[STRING] = string
    graph.add_edge(Edge.of(REGULATES, "ncbigene:1", "ncbigene:2", {"sign": "activation", "pmids": ["1", "2"]}))
    return graph


def test_what_the_importer_would_get_wrong_goes_over_bolt(tmp_path: Path) -> None:
    channels = dict.fromkeys(STRING_CHANNELS, 0)
    links = [Edge.of(STRING, "ncbigene:1", "ncbigene:2", {"combined_score": 900, "score": 0.9, **channels}),
             Edge.of(STRING, "ncbigene:2", "ncbigene:1", {"combined_score": None, "score": None, **channels})]
    files = write_import_files(_graph(links), tmp_path)
    config = json.loads(files.config.read_text())
    genes, terms = config["vertices"]
    # a number some nodes lack and a string some have empty are set afterwards, only where they have a value
    assert "sequence_length" not in genes["properties"] and genes["properties"]["gene_id"] == "long:gene_id"
    assert files.node_updates["Gene"] == [{"id": "ncbigene:1", "properties": {"sequence_length": 393}}]
    assert "definition" not in terms["properties"] and terms["properties"]["gene_count"] == "long:gene_count"
    assert [row["properties"] for row in files.node_updates["GOTerm"]] == [{"definition": ""}, {"definition": 'said "so"'}]
    # an edge kind with an absent number is loaded over Bolt whole; the others by the importer
    assert files.bolt_edges == [STRING]
    assert [source["edge"] for source in config["edgeSources"]] == ["REGULATES"]
    assert (files.vertices, files.edges) == (4, 1)
    lines = (tmp_path / "nodes_Gene.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"id": "ncbigene:1", "gene_id": 1, "symbol": "A1, B"}  # free text as JSON
    regulates = json.loads((tmp_path / "edges_Gene_REGULATES_Gene.jsonl").read_text())
    assert regulates == {"_from": "ncbigene:1", "_to": "ncbigene:2", "sign": "activation", "pmids": ["1", "2"]}
    assert config["edgeSources"][0]["properties"] == {"sign": "sign", "pmids": "list:pmids"}


def test_columnar_edges_are_written_as_csv(tmp_path: Path) -> None:
    columns = {"combined_score": np.array([900, 401]), **{c: np.array([0, 7]) for c in STRING_CHANNELS}}
    table = EdgeTable(STRING, "ncbigene:", np.array([1, 2]), np.array([2, 1]), columns,
                      {"score": ("combined_score", 1000.0)})
    files = write_import_files(_graph(table), tmp_path)
    rows = (tmp_path / "edges_Gene_INTERACTS_WITH_Gene.csv").read_text().splitlines()
    assert rows[0] == ",".join(["_from", "_to", "combined_score", *STRING_CHANNELS, "score"])
    assert rows[1:] == ["ncbigene:1,ncbigene:2,900,0,0,0,0,0,0,0,0.9", "ncbigene:2,ncbigene:1,401,7,7,7,7,7,7,7,0.401"]
    source = next(s for s in json.loads(files.config.read_text())["edgeSources"] if s["edge"] == "INTERACTS_WITH")
    assert source["from"] == "_from:Gene" and source["properties"]["score"] == "double:score"
    assert files.bolt_edges == [] and files.edges == 3
