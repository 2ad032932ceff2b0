"""Identifier mapping: symbols, aliases, UniProt accessions and STRING ids to NCBI GeneIDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aroma.kg.adapters import ncbi, string_db, uniprot
from aroma.kg.idmap import GeneIndex, canonical_accession


@pytest.fixture(scope="module")
def index(full_sources: Path) -> GeneIndex:
    genes = GeneIndex(ncbi.read_gene_info(full_sources / "ncbi/Homo_sapiens.gene_info.gz"))
    genes.add_proteins(uniprot.read_fasta(full_sources / "uniprot/uniprot_sprot_human.fasta.gz"))
    return genes


def test_symbols_and_aliases(index: GeneIndex) -> None:
    assert index.resolve_symbol("TP53") == 7157
    assert index.resolve_symbol("LFS1") == 7157  # an alias naming one gene only
    assert index.resolve_symbol("tp53") == 7157  # case-insensitive fallback
    assert index.resolve_symbol("NOT_A_GENE_SYMBOL") is None
    assert index.resolve_symbol("MT-CO1") == 4512  # HGNC's mitochondrial name; NCBI 2022 lists COX1 / MTCO1
    assert index.resolve_symbol("GARS") is None  # an alias of both GARS1 and GART: ambiguous, not guessed


def test_ambiguous_alias_is_not_resolved(index: GeneIndex) -> None:
    shared = {}
    for gene in index.genes.values():
        for alias in gene.synonyms:
            shared.setdefault(alias, set()).add(gene.gene_id)
    ambiguous = next(a for a, ids in sorted(shared.items()) if len(ids) > 1 and index._symbol.get(a) is None
                     and a.upper() not in {g.symbol.upper() for g in index.genes.values()})
    assert index.resolve_symbol(ambiguous) is None


def test_uniprot_accessions_and_isoforms(index: GeneIndex) -> None:
    assert canonical_accession("P04637-2") == "P04637"
    assert index.resolve_uniprot("P04637") == 7157  # TP53
    assert index.resolve_uniprot("P04637-2") == 7157
    assert index.resolve_uniprot("Q00000") is None


def test_string_ids_map_through_protein_info(index: GeneIndex, full_sources: Path) -> None:
    names = string_db.read_protein_info(full_sources / "string/9606.protein.info.v12.0.txt.gz")
    placeholder = next(p for p in names if p.startswith("9606.ENSP9"))  # Entrez-derived ids: never parsed
    assert index.resolve_symbol(names[placeholder]) is not None
    assert index.resolve_symbol(names["9606.ENSP00000000412"]) == index.resolve_symbol("M6PR")


def test_a_file_settles_an_alias_of_two_genes_when_it_names_the_other(index: GeneIndex) -> None:
    """QARS names QARS1 and EPRS1; a file that also lists EPRS1 means QARS1 by QARS (one gene has one name in a
    file). GARS (GARS1, GART) is settled by GART; TAZ (TAFAZZIN, WWTR1) stays ambiguous without either."""
    qars1, eprs1 = index.resolve_symbol("QARS1"), index.resolve_symbol("EPRS1")
    resolved, ambiguous = index.resolve_names(["QARS", "EPRS1", "GARS", "GART", "TAZ", "TP53", "NOT_A_GENE"])
    assert resolved["QARS"] == qars1 and resolved["EPRS1"] == eprs1
    assert resolved["GARS"] == index.resolve_symbol("GARS1") and resolved["TP53"] == 7157
    assert set(ambiguous) == {"TAZ"} and ambiguous["TAZ"] == {index.resolve_symbol("TAFAZZIN"),
                                                              index.resolve_symbol("WWTR1")}
    assert "NOT_A_GENE" not in resolved and "QARS" not in index.resolve_names(["QARS"])[0]


def test_settled_aliases_chain() -> None:
    """A settled alias takes its gene, which may settle another (and order does not matter)."""
    from aroma.kg.idmap import settle_aliases

    assert settle_aliases({"B": {2, 3}, "A": {1, 2}}, taken={1}) == {"A": 2, "B": 3}
    assert settle_aliases({"A": {1, 2}, "B": {1, 2}}, taken=set()) == {}
