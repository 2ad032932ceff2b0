"""The whole real graph, built once from the shared sources, checked against the source files themselves."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aroma.kg.stats import GraphStats, graph_stats
from aroma.kg.store import GraphStore
from tests.conftest import built_store

pytestmark = pytest.mark.full


@pytest.fixture(scope="module")
def full_store(full_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    yield from built_store(full_sources, tmp_path_factory.mktemp("full-db"))


@pytest.fixture(scope="module")
def stats(full_store: GraphStore) -> GraphStats:
    return graph_stats(full_store)


def _edges(stats: GraphStats, kind: tuple[str, str, str]) -> int:
    return next(e["count"] for e in stats.edges if (e["source"], e["type"], e["target"]) == kind)


def test_go_terms_equal_live_term_stanzas(stats: GraphStats, full_sources: Path) -> None:
    stanzas = (full_sources / "go/go-basic.obo").read_text().split("\n\n")
    live = [s for s in stanzas if s.startswith("[Term]") and "\nis_obsolete: true" not in s]
    assert stats.nodes["GOTerm"] == len(live) == 43_558
    is_a = sum(len(re.findall(r"^is_a: ", s, re.MULTILINE)) for s in live)
    assert _edges(stats, ("GOTerm", "IS_A", "GOTerm")) == is_a


def test_every_gene_of_gene_info(stats: GraphStats, full_sources: Path) -> None:
    with gzip.open(full_sources / "ncbi/Homo_sapiens.gene_info.gz", "rt") as handle:
        rows = sum(1 for line in handle if not line.startswith("#"))
    assert stats.nodes["Gene"] == rows


def _symbol_table(full_sources: Path) -> dict[str, int]:
    """Official symbols, then aliases naming exactly one gene, read straight from gene_info."""
    symbols: dict[str, int] = {}
    aliases: dict[str, set[int]] = {}
    with gzip.open(full_sources / "ncbi/Homo_sapiens.gene_info.gz", "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            symbols.setdefault(fields[2], int(fields[1]))
            for alias in fields[4].split("|") + [fields[10]]:
                if alias != "-":
                    aliases.setdefault(alias, set()).add(int(fields[1]))
    unique = {a: next(iter(ids)) for a, ids in aliases.items() if len(ids) == 1 and a not in symbols}
    return {**unique, **symbols}


def test_every_hallmark_set_with_its_real_member_count(full_store: GraphStore, full_sources: Path) -> None:
    table = _symbol_table(full_sources)
    rows = full_store.run(
        "MATCH (p:Pathway {source: 'msigdb_hallmark'}) OPTIONAL MATCH (g:Gene)-[:MEMBER_OF]->(p) "
        "RETURN p.name AS name, count(g) AS members"
    ).rows
    in_graph = {r["name"]: r["members"] for r in rows}
    lines = (full_sources / "msigdb/h.all.v7.0.symbols.gmt").read_text().splitlines()
    assert len(in_graph) == len(lines) == 50
    for line in lines:
        name, _url, *genes = line.split("\t")
        expected = {table[g] for g in genes if g in table}
        assert in_graph[name] == len(expected), name
        assert len(expected) >= 0.95 * len(set(genes))


def test_reactome_pathways_and_hierarchy(stats: GraphStats, full_store: GraphStore, full_sources: Path) -> None:
    human = [l for l in (full_sources / "reactome/ReactomePathways.txt").read_text().splitlines() if "\tHomo sapiens" in l]
    reactome = full_store.run("MATCH (p:Pathway {source: 'reactome'}) RETURN count(p) AS n").rows[0]["n"]
    assert reactome == len(human)
    relations = [l for l in (full_sources / "reactome/ReactomePathwaysRelation.txt").read_text().splitlines()
                 if l.startswith("R-HSA") and "\tR-HSA" in l]
    unmapped = stats.build["mappings"]["reactome_relations"]["unmapped"]
    assert _edges(stats, ("Pathway", "PARENT_OF", "Pathway")) == len(relations) - unmapped


def test_string_pairs_and_a_real_score(full_store: GraphStore, stats: GraphStats, full_sources: Path) -> None:
    with gzip.open(full_sources / "string/9606.protein.links.detailed.v12.0.txt.gz", "rt") as handle:
        next(handle)
        pairs = {tuple(sorted(line.split(" ", 2)[:2])) for line in handle}
    mapping = stats.build["mappings"]["string_links"]
    # each pair appears twice in the file (both directions); unmapped records are counted per line
    assert _edges(stats, ("Gene", "INTERACTS_WITH", "Gene")) <= len(pairs)
    assert _edges(stats, ("Gene", "INTERACTS_WITH", "Gene")) >= len(pairs) - mapping["unmapped"]
    # 9606.ENSP00000000412 (M6PR) 9606.ENSP00000221957 (KHK? via protein.info): experimental 510, combined 764
    info = {}
    with gzip.open(full_sources / "string/9606.protein.info.v12.0.txt.gz", "rt") as handle:
        for line in handle:
            fields = line.split("\t")
            info[fields[0]] = fields[1]
    a, b = info["9606.ENSP00000000412"], info["9606.ENSP00000221957"]
    row = full_store.run(
        "MATCH (x:Gene {symbol: $a})-[r:INTERACTS_WITH]-(y:Gene {symbol: $b}) "
        "RETURN r.combined_score AS combined, r.experimental AS experimental, r.database AS database",
        {"a": a, "b": b},
    ).rows
    assert row == [{"combined": 764, "experimental": 510, "database": 500}]


def test_stats_report_unmapped_per_source(stats: GraphStats) -> None:
    mappings = stats.build["mappings"]
    for key in ("string_links", "trrust", "reactome_uniprot", "msigdb_hallmark", "msigdb_kegg", "gene2go", "uniprot"):
        assert mappings[key]["records"] == mappings[key]["mapped"] + mappings[key]["unmapped"]
    assert mappings["string_links"]["unmapped"] > 0 and mappings["trrust"]["unmapped"] > 0
