"""Beyond a cell line's own screen: zero-shot rows (none of its labels) and learning curves (a share of them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from aroma.cli import app
from aroma.data.perturbqa import PerturbQA
from aroma.kg.store import GraphStore
from aroma.predict import registry
from aroma.predict.base import MethodOptions
from aroma.retrieval.knowledge import GraphContext
from aroma.retrieval.phases import phase, screened

runner = CliRunner()


def test_a_screened_share_hides_the_other_knockdowns_and_keeps_the_scored_pairs(sample: tuple[Path, Path]) -> None:
    test = phase("test", PerturbQA(sample[1]).pairs("k562"))
    perts = {p.perturbed for p in test.fit}
    small, large = screened(test, 0.25, seed=3), screened(test, 0.5, seed=3)
    kept_small, kept_large = {p.perturbed for p in small.fit}, {p.perturbed for p in large.fit}
    assert len(kept_small) == round(len(perts) * 0.25) and len(kept_large) == round(len(perts) * 0.5)
    assert kept_small < kept_large  # nested
    assert small.hidden == test.hidden | (perts - kept_small) and small.score == test.score
    assert screened(test, 0.25, seed=4).fit != small.fit  # the seed chooses which


def test_the_zero_shot_vote_reads_none_of_the_cell_lines_own_outcomes(outcome_store: GraphStore,
                                                                       sample: tuple[Path, Path]) -> None:
    graph = GraphContext(outcome_store)
    pairs = phase("test", PerturbQA(sample[1]).pairs("k562")).score
    blind = graph.knowledge("k562", own_outcomes=False)
    seeing = graph.knowledge("k562")
    assert not blind.has_outcomes and seeing.has_outcomes and [t.cell_line for t in blind.others] == ["RPE1"]
    zero_shot = registry.method("neighbour vote (zero-shot)")
    with_own = zero_shot.create(MethodOptions(), seeing).fit(seeing, []).predict_proba(pairs)
    without = zero_shot.create(MethodOptions(), blind).fit(blind, []).predict_proba(pairs)
    assert np.array_equal(with_own, without)
    vote = registry.method("neighbour vote").create(MethodOptions(), seeing).fit(seeing, []).predict_proba(pairs)
    assert not np.allclose(vote, without)  # the usual vote does read them


def test_bench_zero_shot_rows_and_learning_curves(outcome_store: GraphStore, sample: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--cell-line", "k562", "--phase", "test",
                                 "--zero-shot", "--fractions", "0.25,1", "--method", "neighbour vote",
                                 "--method", "neighbour vote (zero-shot)", "--out", str(out), "--quiet",
                                 "--db", str(outcome_store.backend.server.directory)])
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in json.loads((out / "bench.json").read_text())["results"]}
    assert set(rows) == {"neighbour vote", "neighbour vote (25% of knockdowns)", "neighbour vote (zero-shot)"}
    assert {r["split"] for r in rows.values()} == {"test"} and len({r["pairs"] for r in rows.values()}) == 1
    full, part = rows["neighbour vote"], rows["neighbour vote (25% of knockdowns)"]
    assert part["share"] == 0.25 and part["knockdowns"] == round(full["knockdowns"] * 0.25)
    assert rows["neighbour vote (zero-shot)"]["knockdowns"] == 0
    assert part["de_auroc"] != full["de_auroc"]  # fewer knockdowns seen, other answers
    report = (out / "bench.md").read_text()
    assert "## Learning curves (test)" in report and "passed on both by" in report
    assert (out / "learning_curves.png").stat().st_size > 10_000
    bad = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--fractions", "0.5,2", "--out", str(out),
                              "--db", str(outcome_store.backend.server.directory)])
    assert bad.exit_code == 2 and "2.0 is not a share in (0, 1]" in bad.output and "Traceback" not in bad.output
