"""Evidence for pairs, checked by hand against the source files of the real subset graph."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.kg.store import GraphStore
from tests.engines import EngineStore
from aroma.retrieval import EvidenceIndex, UnknownGene, render_evidence
from aroma.retrieval.evidence import PairEvidence
from aroma.retrieval.index import EXPERIMENTAL_CODES, HIGH_THROUGHPUT_CODES, RetrievalLimits
from aroma.retrieval.string_source import BoundedNetwork

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
                                "RETURN count(g) AS n", {"id": item.id}).rows
        assert rows[0]["n"] == 2, item
    assert evidence.shared_pathways and evidence.shared_go_terms
    counts = [t.gene_count for t in evidence.shared_go_terms]
    assert counts == sorted(counts) and all(c <= index.limits.max_term_genes for c in counts)
    assert "GO:0008150" not in {t.id for t in evidence.shared_go_terms}  # never the root


def test_aliases_and_unknown_genes(index: EvidenceIndex, engine_store: EngineStore) -> None:
    assert index.evidence("LFS1", "MDM2", "K562").perturbed.symbol == "TP53"
    assert index.evidence("tp53", "MDM2", "K562").perturbed.symbol == "TP53"
    with pytest.raises(UnknownGene, match="NOT_A_GENE"):
        index.evidence("TP53", "NOT_A_GENE", "K562")
    result = engine_store.invoke("retrieve", "TP53", "NOT_A_GENE")
    assert result.exit_code == 1 and "not in the knowledge graph: NOT_A_GENE" in result.output
    assert "Traceback" not in result.output


def test_ambiguous_alias_lists_its_genes(index: EvidenceIndex, subset_store: GraphStore) -> None:
    with pytest.raises(UnknownGene, match="ambiguous") as caught:  # NCBI: AP-1 is an alias of both FOS and JUN
        index.evidence("AP-1", "NOT_A_GENE", "K562")
    assert caught.value.ambiguous == {"AP-1": ["FOS", "JUN"]} and caught.value.symbols == ["AP-1", "NOT_A_GENE"]
    assert "not in the knowledge graph: NOT_A_GENE" in str(caught.value)
    db = str(subset_store.backend.server.directory)
    result = runner.invoke(app, ["retrieve", "AP-1", "TP53", "--db", db])
    assert result.exit_code == 1 and "AP-1 names FOS, JUN" in result.output
    assert "not in the knowledge graph" not in result.output


def test_a_cell_line_without_outcomes_in_the_graph_is_noted(outcome_store: GraphStore) -> None:
    db = str(outcome_store.backend.server.directory)
    hela = runner.invoke(app, ["retrieve", "TP53", "MDM2", "--cell-line", "HeLa", "--db", db, "--json"])
    assert hela.exit_code == 0 and "holds no training outcomes of HELA (it has: K562, K562_SET, RPE1)" in hela.stderr
    assert json.loads(hela.stdout)["cell_line"] == "HELA"
    k562 = runner.invoke(app, ["retrieve", "TP53", "MDM2", "--cell-line", "k562", "--db", db, "--json"])
    assert k562.exit_code == 0 and k562.stderr == ""


def test_main_processes_put_experimental_evidence_first(index: EvidenceIndex, subset_sources: Path) -> None:
    codes: dict[tuple[str, str], set[str]] = {}
    with gzip.open(subset_sources / "ncbi/gene2go.gz", "rt") as handle:
        for line in handle:
            f = line.split("\t")
            if f[0] == "9606" and f[7].startswith("Process"):
                codes.setdefault((f[1], f[2]), set()).add(f[3])
    for symbol in ("TP53", "MDM2"):
        facts = index.evidence(symbol, "BAX", "K562").perturbed
        gene = facts.id.removeprefix("ncbigene:")
        experimental = {t for (g, t), c in codes.items() if g == gene and c & EXPERIMENTAL_CODES}
        assert len(facts.processes) == index.limits.processes and len(experimental) >= index.limits.processes
        for process in facts.processes:  # enough experimental terms: every main process is one of them
            assert process.id in experimental, (symbol, process)
            assert set(process.evidence) == codes[(gene, process.id)]
        experiments = EXPERIMENTAL_CODES | HIGH_THROUGHPUT_CODES
        ranks = [(-len(set(p.evidence) & experiments), p.gene_count) for p in facts.processes]
        assert ranks == sorted(ranks)
    mdm2 = index.evidence("MDM2", "BAX", "K562").perturbed.processes
    assert "GO:0003181" not in {p.id for p in mdm2}  # atrioventricular valve morphogenesis: IEA only


def test_evidence_dict_is_asdict_plus_path_strength(index: EvidenceIndex) -> None:
    import dataclasses

    evidence = index.evidence("TP53", "BAX", "K562")
    expected = dataclasses.asdict(evidence)
    for path, raw in zip(evidence.paths, expected["paths"]):
        raw["strength"] = path.strength
    assert evidence.paths and evidence.to_dict() == expected
    evidence.to_dict()["perturbed"]["processes"].clear()  # new containers: the cached facts are untouched
    assert evidence.perturbed.processes
    # the dataset's JSON reads back into the same typed records
    assert PairEvidence.from_dict(json.loads(json.dumps(evidence.to_dict()))) == evidence


def test_rendered_text_names_sources(index: EvidenceIndex) -> None:
    text = render_evidence(index.evidence("TP53", "MDM2", "K562"))
    assert "STRING v12: TP53–MDM2" in text and "TRRUST v2: TP53 → MDM2, activation (PMID" in text
    assert "ncbigene:7157" in text


def test_bounded_paths_equal_whole_network_paths(engine_store: EngineStore) -> None:
    """One pair's neighbourhood read by named queries gives exactly the evidence of the whole network in memory:
    hubs, direct partners, genes two hops apart and seeded random pairs."""
    import random

    whole = EvidenceIndex(engine_store.store, whole_network=True)
    genes = sorted(whole.network._network)  # every gene with a STRING link  # noqa: SLF001
    rng = random.Random(13)
    pairs = [tuple(rng.sample(genes, 2)) for _ in range(25)]
    tp53 = whole.resolve(["TP53"])["TP53"]
    hub_partners = whole._ranked_partners(tp53)  # noqa: SLF001
    pairs += [(tp53, p) for p in hub_partners[:5]] + [(p, tp53) for p in hub_partners[-3:]]
    pairs += [(hub_partners[0], hub_partners[1]), (tp53, tp53)]
    bounded = EvidenceIndex(engine_store.store)
    assert isinstance(bounded.network, BoundedNetwork)
    compared = 0
    for a, b in pairs:
        expected = whole.paths(a, b)
        assert bounded.paths(a, b) == expected, (a, b)
        compared += bool(expected)
    assert compared >= 10  # most sampled pairs have paths
    for a, b in pairs[-8:]:
        whole.prefetch([a, b])
        bounded.prefetch([a, b])
        assert bounded.pair(a, b, "K562").to_dict() == whole.pair(a, b, "K562").to_dict()


def test_links_below_the_path_score_are_cited_directly_but_in_no_path_or_partner_list(
        engine_store: EngineStore, string_scores: dict) -> None:
    """With ``min_path_score`` 700 on a graph holding links from 400: a TP53 link of 400–699 is still the pair's
    interaction (with its channels), TP53's degree still counts it, and no path or strongest-partner list
    holds a link below 700; the bounded queries and the whole network agree."""
    weak = sorted(next(iter(pair - {"TP53"})) for pair, score in string_scores.items()
                  if "TP53" in pair and len(pair) == 2 and 400 <= score["combined"] < 700)
    assert weak
    limits = RetrievalLimits(min_path_score=700)
    bounded = EvidenceIndex(engine_store.store, limits)
    whole = EvidenceIndex(engine_store.store, limits, whole_network=True)
    default = EvidenceIndex(engine_store.store)
    for partner in weak[:3]:
        evidence = bounded.evidence("TP53", partner, "K562")
        expected = string_scores[frozenset(("TP53", partner))]
        assert evidence.interaction.combined_score == expected["combined"]
        assert evidence.interaction.channels.get("experimental", 0) == expected["experimental"]
        assert all(score >= 700 for path in evidence.paths for score in path.scores)
        assert evidence.to_dict() == whole.evidence("TP53", partner, "K562").to_dict()
    facts = bounded.evidence("TP53", weak[0], "K562").perturbed
    assert facts.top_interactors and all(i.combined_score >= 700 for i in facts.top_interactors)
    assert facts.degree == default.evidence("TP53", weak[0], "K562").perturbed.degree > len(
        bounded.network.partners(facts.id))
