"""PerturbQA's gene-set task: targets that are named gene clusters, as data — GeneSet nodes with the outcome edges to
them, the methods that need only the target's identity, and no mixing with the gene-level datasets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.kg.store import GraphStore
from aroma.retrieval.knowledge import GraphContext

runner = CliRunner()


@pytest.fixture(scope="module")
def gene_sets(sample_gene_sets: Path) -> Path:
    return sample_gene_sets


@pytest.fixture(scope="module")
def set_store(outcome_store: GraphStore) -> GraphStore:
    return outcome_store  # built with the sample's gene-set rows beside its K562 and RPE1 outcomes


def test_gene_set_targets_are_nodes_with_outcome_edges(set_store: GraphStore, gene_sets: Path) -> None:
    names = {row["gene"] for row in csv.DictReader((gene_sets / "k562_set-de.csv").open())}
    rows = set_store.run("MATCH (s:GeneSet) RETURN s.id AS id, s.name AS name, s.dataset AS dataset").rows
    assert {r["name"] for r in rows} == names and {r["dataset"] for r in rows} == {"K562_SET"}
    assert all(r["id"] == f"geneset:k562_set/{r['name']}" for r in rows)
    edges = set_store.run("MATCH (:Gene)-[e:KNOCKDOWN_EFFECT]->(:GeneSet) RETURN count(e) AS n").rows[0]["n"]
    assert edges > 0
    stats = json.loads(runner.invoke(app, ["kg", "stats", "--db", str(set_store.backend.server.directory),
                                           "--json"]).output)
    assert "symbol not in NCBI" not in json.dumps(stats["build"]["mappings"]["perturbqa_k562_set"])


def test_gene_sets_and_genes_inform_neither_other(set_store: GraphStore) -> None:
    graph = GraphContext(set_store)
    assert graph.measures_gene_sets("K562_SET") and not graph.measures_gene_sets("K562")
    assert graph.other_cell_lines("K562_SET") == []
    assert [t.cell_line for t in graph.other_cell_lines("K562")] == ["RPE1"]
    assert not graph.knowledge("K562_SET").targets_are_genes


def test_bench_scores_a_gene_set_task_on_validation(set_store: GraphStore, gene_sets: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--perturbqa", str(gene_sets), "--out", str(tmp_path), "--db",
                                 str(set_store.backend.server.directory), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = {r["method"]: r for r in report["results"]}
    assert {r["split"] for r in report["results"]} == {"validation"}  # its test rows are withheld
    assert set(rows) == {"target base rate", "neighbour vote", "neighbour model"}  # no gene evidence for a set
    assert rows["neighbour vote"]["pairs"] > 0 and rows["neighbour vote"]["de_genes"] > 0
    assert any("no test pairs" in note for note in report["notes"])
    assert "*published, their test split:* retrieval without LLM | 0.66 | 0.66" in (tmp_path / "bench.md").read_text()
