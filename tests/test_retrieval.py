"""Evidence for pairs, checked by hand against the source files of the real subset graph."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from tests.engines import EngineStore
from aroma.retrieval import EvidenceIndex, UnknownGene, render_evidence

runner = CliRunner()


@pytest.fixture
def index(engine_store: EngineStore) -> EvidenceIndex:
    return EvidenceIndex(engine_store.store)


@pytest.fixture(scope="module")
def string_scores(subset_sources: Path) -> dict[frozenset, dict[str, int]]:
    """STRING scores straight from the subset's files: {symbol pair: {combined, experimental}}."""
    with gzip.open(subset_sources / "string/9606.protein.info.v12.0.txt.gz", "rt") as handle:
        names = {line.split("\t")[0]: line.split("\t")[1] for line in handle if not line.startswith("#")}
    scores = {}
    with gzip.open(subset_sources / "string/9606.protein.links.detailed.v12.0.txt.gz", "rt") as handle:
        next(handle)
        for line in handle:
            f = line.split()
            scores[frozenset((names[f[0]], names[f[1]]))] = {"combined": int(f[9]), "experimental": int(f[6])}
    return scores


def test_string_edge_matches_the_file(index: EvidenceIndex, string_scores: dict) -> None:
    evidence = index.evidence("TP53", "MDM2", "K562")
    expected = string_scores[frozenset(("TP53", "MDM2"))]
    assert evidence.interaction is not None and evidence.interaction.source == "STRING v12"
    assert evidence.interaction.combined_score == expected["combined"]
    assert evidence.interaction.channels["experimental"] == expected["experimental"]


def test_trrust_sign_and_pmids_match_the_file(index: EvidenceIndex, subset_sources: Path) -> None:
    rows = [line.rstrip("\n").split("\t") for line in (subset_sources / "trrust/trrust_rawdata.human.tsv").open()]
    expected = {(r[2].lower(), tuple(sorted(r[3].split(";")))) for r in rows if r[0] == "TP53" and r[1] == "MDM2"}
    evidence = index.evidence("TP53", "MDM2", "K562")
    found = {(r.sign, tuple(r.pmids)) for r in evidence.regulations if r.tf == "TP53" and r.target == "MDM2"}
    assert found == expected and ("activation", ) == tuple({s for s, _ in found} & {"activation"})
    assert evidence.perturbed.is_tf and not evidence.target.is_tf


def test_paths_are_real_edges_with_their_scores(index: EvidenceIndex, string_scores: dict) -> None:
    evidence = index.evidence("TP53", "BAX", "K562")
    assert evidence.paths, "TP53 and BAX are linked through STRING"
    for path in evidence.paths:
        assert 2 <= path.hops <= 3 and path.symbols[0] == "TP53" and path.symbols[-1] == "BAX"
        for (a, b), score in zip(zip(path.symbols, path.symbols[1:]), path.scores):
            assert string_scores[frozenset((a, b))]["combined"] == score
        assert path.strength == min(path.scores)
    strengths = [p.strength for p in evidence.paths]
    assert strengths == sorted(strengths, reverse=True)


def test_shared_items_are_shared_and_specific_first(index: EvidenceIndex, engine_store: EngineStore) -> None:
    evidence = index.evidence("CASP3", "CASP9", "K562")
    for item in evidence.shared_pathways + evidence.shared_hallmarks:
        rows = engine_store.store.run("MATCH (g:Gene)-[:MEMBER_OF]->(p:Pathway {id: $id}) WHERE g.symbol IN ['CASP3', 'CASP9'] "
                                "RETURN count(g) AS n", {"id": item["id"]}).rows
        assert rows[0]["n"] == 2, item
    assert evidence.shared_pathways and evidence.shared_go_terms
    counts = [t["gene_count"] for t in evidence.shared_go_terms]
    assert counts == sorted(counts) and all(c <= index.limits.max_term_genes for c in counts)
    assert "GO:0008150" not in {t["id"] for t in evidence.shared_go_terms}  # never the root


def test_aliases_and_unknown_genes(index: EvidenceIndex, engine_store: EngineStore) -> None:
    assert index.evidence("LFS1", "MDM2", "K562").perturbed.symbol == "TP53"
    assert index.evidence("tp53", "MDM2", "K562").perturbed.symbol == "TP53"
    with pytest.raises(UnknownGene, match="NOT_A_GENE"):
        index.evidence("TP53", "NOT_A_GENE", "K562")
    result = engine_store.invoke("retrieve", "TP53", "NOT_A_GENE")
    assert result.exit_code == 1 and "not in the knowledge graph: NOT_A_GENE" in result.output
    assert "Traceback" not in result.output


def test_rendered_text_names_sources(index: EvidenceIndex) -> None:
    text = render_evidence(index.evidence("TP53", "MDM2", "K562"))
    assert "STRING v12: TP53–MDM2" in text and "TRRUST v2: TP53 → MDM2, activation (PMID" in text
    assert "ncbigene:7157" in text
