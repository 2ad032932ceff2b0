"""The graph schema (aroma/kg/schema.py) against everything that states the shape: the committed Cypher, the
README, a built graph, the model's types, the exports; and a test-only relation added as one adapter plus
one schema entry, which gets its loader, model edge type, export header, RDF predicate and stats row."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from aroma import cypher
from aroma.kg import schema_files
from aroma.kg.assemble import KnowledgeGraph, assemble, check_declared
from aroma.kg.build import build
from aroma.kg.export_admin import export_neo4j_admin
from aroma.kg.export_rdf import AROMA, predicate, triples
from aroma.kg.idmap import GeneIndex, gene_node_id
from aroma.kg.records import Edge, Node
from aroma.kg.schema import GENE, SCHEMA, EdgeKind, Property, SchemaError
from aroma.kg.sources import SourceDir
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore, open_store
from aroma.model.graph_data import GRAPHS, NODE_TYPES, load_graph

ROOT = Path(__file__).resolve().parents[1]
CYPHER_DIR = ROOT / "aroma" / "cypher"


def test_committed_statements_are_the_schemas_rendering() -> None:
    """Every constraint and loader file is what `aroma kg schema --write` renders; no loader lacks an entry."""
    texts = schema_files.rendered()
    for name, text in texts.items():
        path = CYPHER_DIR / f"{name}.cypher"
        assert path.is_file() and path.read_text(encoding="utf-8") == text, \
            f"{path} differs from aroma/kg/schema.py: run `aroma kg schema --write`"
    loaders = {f"load/{p.stem}" for p in (CYPHER_DIR / "load").glob("*.cypher")}
    assert loaders == set(SCHEMA.loaders()) == {n for n in texts if n.startswith("load/")}


def test_write_adds_and_removes_loaders(tmp_path: Path) -> None:
    """`--write` on an up-to-date tree changes nothing; a stale loader goes, a missing one comes back."""
    root = tmp_path / "cypher"
    shutil.copytree(CYPHER_DIR, root)
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    assert schema_files.write(root, readme=readme) == []
    (root / "load" / "edge_gene_interacts_with_gene.cypher").unlink()
    (root / "load" / "edge_gene_likes_gene.cypher").write_text("RETURN 1\n")
    readme.write_text(readme.read_text().replace("| `Gene` | `ncbigene:7157` |", "| `Gene` | `ncbi:1` |"))
    changed = schema_files.write(root, readme=readme)
    assert sorted(p.name for p in changed) == ["README.md", "edge_gene_interacts_with_gene.cypher",
                                               "edge_gene_likes_gene.cypher"]
    assert not (root / "load" / "edge_gene_likes_gene.cypher").exists()
    assert readme.read_text() == (ROOT / "README.md").read_text()


def test_readme_tables_are_the_schemas_rendering() -> None:
    assert schema_files.readme_tables() in (ROOT / "README.md").read_text(encoding="utf-8"), \
        "README's graph tables differ from aroma/kg/schema.py: run `aroma kg schema --write`"


def test_model_types_are_the_schemas() -> None:
    """Every edge kind of a model graph is a model edge type and back; every label a model graph's edges touch is a
    node type, and a biological label that is none only ever ends an outcome edge (a gene-set task's target)."""
    declared = {(e.graph, e.type) for e in SCHEMA.edges.values() if e.graph in GRAPHS}
    assert {(graph, rel_type) for graph, relations in GRAPHS.items() for rel_type in relations} == declared
    in_models = {label for e in SCHEMA.edges.values() if e.graph in GRAPHS for label in (e.source, e.target)}
    assert set(NODE_TYPES) == in_models
    outcome_only = {n.label for n in SCHEMA.nodes.values() if not n.metadata} - in_models
    assert outcome_only == {e.target for e in SCHEMA.edges.values() if e.graph == "outcomes"} - in_models
    assert {e.graph for e in SCHEMA.edges.values()} == set(GRAPHS) | {"outcomes"}


def test_undeclared_records_are_refused() -> None:
    graph = KnowledgeGraph()
    graph.add_node(Node("ncbigene:1", GENE, {"symbol": "A1BG"}))
    check_declared(graph)
    graph.add_edge(Edge.of((GENE, "LIKES", GENE), "ncbigene:1", "ncbigene:1"))
    with pytest.raises(SchemaError, match=r"\(Gene\)-\[:LIKES\]->\(Gene\) has no entry"):
        check_declared(graph)
    graph = KnowledgeGraph()
    graph.add_node(Node("ncbigene:1", GENE, {"symbol": "A1BG", "colour": "red"}))
    with pytest.raises(SchemaError, match=r":Gene: properties \['colour'\] are not declared"):
        check_declared(graph)
    with pytest.raises(SchemaError, match="node label Protein is not declared"):
        SCHEMA.add(EdgeKind(GENE, "ENCODES", "Protein", "gene", "", ""))


def test_built_graph_is_the_schema(outcome_store: GraphStore) -> None:
    """A graph built with outcomes has exactly the declared labels and edge kinds, in the schema's order in
    `kg stats`, and the properties of the first 500 of each are of their declared types (the neo4j-admin
    headers' types)."""
    stats = graph_stats(outcome_store)
    assert list(stats.nodes) == list(SCHEMA.nodes)
    assert [(e["source"], e["type"], e["target"]) for e in stats.edges] == list(SCHEMA.edges)
    wrong: dict[str, set[str]] = defaultdict(set)
    samples = [(node.label, node.properties, f"MATCH (x:{node.label})") for node in SCHEMA.nodes.values()]
    samples += [(edge.pattern, edge.properties, f"MATCH (:{edge.source})-[x:{edge.type}]->(:{edge.target})")
                for edge in SCHEMA.edges.values()]
    for name, properties, match in samples:
        declared = {p.name: p for p in properties}
        rows = outcome_store.run(f"{match} RETURN properties(x) AS p LIMIT 500").rows
        assert rows, name
        for row in rows:
            for key, value in row["p"].items():
                if key != "id" and not (key in declared and declared[key].accepts(value)):
                    wrong[name].add(f"{key}={value!r}")
    assert not wrong, dict(wrong)


# -- a test-only relation: one adapter plus one schema entry ---------------------------------------------
CHROMOSOME_NEXT = EdgeKind(
    GENE, "CHROMOSOME_NEXT", GENE, "gene", "Test only: genes next to each other in NCBI's order on one chromosome.",
    "NCBI gene_info, test only", (Property("chromosome"), Property("rank", "long")))


def chromosome_next(sources: SourceDir, genes: GeneIndex) -> Iterator[Edge]:
    """The adapter: each gene → the next gene (by GeneID) on its chromosome, for the first ten chromosomes."""
    by_chromosome: dict[str, list[int]] = defaultdict(list)
    for gene in genes.genes.values():
        if gene.chromosome and "|" not in gene.chromosome:
            by_chromosome[gene.chromosome].append(gene.gene_id)
    for chromosome in sorted(by_chromosome)[:10]:
        ids = sorted(by_chromosome[chromosome])
        for rank, (a, b) in enumerate(zip(ids, ids[1:])):
            yield Edge.of(CHROMOSOME_NEXT.kind, gene_node_id(a), gene_node_id(b), {"chromosome": chromosome,
                                                                                 "rank": rank})


def test_a_new_relation_is_one_adapter_and_one_schema_entry(subset_sources: Path, tmp_path: Path) -> None:
    """No file but this test changes: the build loads the relation through its rendered loader; stats, the model,
    the neo4j-admin export, RDF and the README table include it; the schema is unchanged afterwards."""
    before = schema_files.rendered()
    with SCHEMA.extended(CHROMOSOME_NEXT):
        assert not (CYPHER_DIR / f"{CHROMOSOME_NEXT.loader}.cypher").exists()
        assert "MATCH (a:Gene {id: row.source})" in cypher.query(CHROMOSOME_NEXT.loader)
        graph = assemble(SourceDir(subset_sources), adapters=[chromosome_next])
        expected = len(graph.edges[CHROMOSOME_NEXT.kind])
        assert expected > 0
        export_neo4j_admin(graph, tmp_path / "admin")
        with (tmp_path / "admin" / "relationships_Gene_CHROMOSOME_NEXT_Gene.csv").open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [":START_ID", ":END_ID", "chromosome:string", "rank:long"] and len(rows) == expected + 1
        assert "| Gene-KG | `(Gene)-[:CHROMOSOME_NEXT]->(Gene)` | NCBI gene_info, test only | `chromosome`, `rank` |" \
            in schema_files.readme_tables()
        with open_store(tmp_path / "db") as store:
            build(subset_sources, store=store, show_progress=False, adapters=[chromosome_next])
            stats = graph_stats(store)
            assert stats.edges[-1] == {"source": GENE, "type": "CHROMOSOME_NEXT", "target": GENE, "count": expected}
            gene_kg = load_graph(store, "gene").data
            assert gene_kg["gene", "chromosome_next", "gene"].edge_index.shape == (2, expected)
            verb = predicate("CHROMOSOME_NEXT", {"chromosome": "1", "rank": 0})
            assert verb == AROMA["CHROMOSOME_NEXT"]
            assert sum(1 for _, p, _ in triples(store) if p == verb) == expected  # (its rdf:Statement names it as an object)
    assert schema_files.rendered() == before and CHROMOSOME_NEXT.kind not in SCHEMA.edges
    with pytest.raises(KeyError):
        cypher.query(CHROMOSOME_NEXT.loader)
