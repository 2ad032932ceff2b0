"""The Predictor interface and `aroma predict`: a method from outside the package, saved predictors that score as
the bench does, and every question form (pair, file, knockdown, target) on a real graph with training outcomes."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.data.perturbqa import LabelledPair, PerturbQA
from aroma.evaluate.metrics import evaluate
from aroma.kg.store import GraphStore
from aroma.predict import registry
from aroma.predict.base import Predictor
from aroma.predict.base_rate import base_rates
from aroma.retrieval.phases import phase

runner = CliRunner()


@dataclass
class HalfwayToTheVote(Predictor):
    """A method written outside the package: the mean of the neighbour vote and the target base rate."""

    name = "halfway to the vote (test)"
    weight: float = 0.5

    def predict_proba(self, pairs: Sequence[LabelledPair]) -> np.ndarray:
        vote = registry.method("neighbour vote")().fit(self.knowledge, []).predict_proba(pairs)
        return self.weight * vote + (1 - self.weight) * base_rates(self.knowledge, pairs)


@pytest.fixture
def outside_method():
    registry.register(HalfwayToTheVote)
    yield HalfwayToTheVote
    registry.unregister(HalfwayToTheVote.name)


def _db(store: GraphStore) -> str:
    return str(store.backend.server.directory)


def test_a_method_from_outside_the_package_is_a_row_of_the_bench(outcome_store: GraphStore, sample: tuple[Path, Path],
                                                                 outside_method, tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--cell-line", "k562", "--out", str(tmp_path),
                                 "--db", _db(outcome_store), "--quiet", "--method", "neighbour vote",
                                 "--method", outside_method.name, "--jobs", "2"])  # workers register it too
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert {(r["method"], r["split"]) for r in rows} == {(m, s) for m in ("neighbour vote", outside_method.name)
                                                         for s in ("validation", "test")}
    assert f"| K562 | {outside_method.name} |" in (tmp_path / "bench.md").read_text()
    unknown = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--out", str(tmp_path), "--db",
                                  _db(outcome_store), "--method", "no such method"])
    assert unknown.exit_code == 1 and "unknown method 'no such method'" in unknown.output


def _write_pairs(path: Path, pairs: Sequence[LabelledPair]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["pert", "gene"])
        writer.writerows([p.perturbed, p.target] for p in pairs)
    return path


def test_a_saved_predictor_scores_as_the_bench(outcome_store: GraphStore, sample: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    """`aroma train predictor` then `aroma predict --pairs` on a label-free file of the test pairs: PerturbQA's
    per-gene AUROC of the answers equals the bench's row for the same method."""
    db, perturbqa = _db(outcome_store), str(sample[1])
    method = "neighbour model + other cell lines"
    trained = runner.invoke(app, ["train", "predictor", "--cell-line", "k562", "--perturbqa", perturbqa, "--method",
                                  method, "--out", str(tmp_path / "predictor"), "--db", db])
    assert trained.exit_code == 0, trained.output
    saved = json.loads((tmp_path / "predictor" / "predictor.json").read_text())
    assert saved["method"] == method and saved["cell_line"] == "K562" and saved["checksum"]
    assert set(saved["labels"]["files"]) == {"k562-de.csv", "k562-dir.csv"}

    test = phase("test", PerturbQA(sample[1]).pairs("k562")).score
    asked = _write_pairs(tmp_path / "test_pairs.csv", test)
    answered = runner.invoke(app, ["predict", "--pairs", str(asked), "--cell-line", "k562", "--predictor",
                                   str(tmp_path / "predictor"), "--out", str(tmp_path / "answers.csv"), "--db", db])
    assert answered.exit_code == 0, answered.output
    rows = list(csv.DictReader((tmp_path / "answers.csv").open()))
    assert [(r["pert"], r["gene"]) for r in rows] == [(p.perturbed, p.target) for p in test]
    probabilities = np.array([[float(r["p_not_changed"]), float(r["p_down"]), float(r["p_up"])] for r in rows])
    ours = evaluate([p.target for p in test], [p.label for p in test], probabilities)

    bench = runner.invoke(app, ["bench", "--perturbqa", perturbqa, "--cell-line", "k562", "--out",
                                str(tmp_path / "bench"), "--db", db, "--quiet", "--method", method])
    assert bench.exit_code == 0, bench.output
    row = next(r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["results"]
               if r["split"] == "test")
    assert ours["de_auroc"] == pytest.approx(row["de_auroc"], abs=1e-12)
    assert ours["direction_auroc"] == pytest.approx(row["direction_auroc"], abs=1e-12)

    record = tmp_path / "predictor" / "predictor.json"  # a predictor fit on another build is used with a warning
    record.write_text(json.dumps({**saved, "checksum": "0123456789abcdef"}))
    again = runner.invoke(app, ["predict", test[0].perturbed, test[0].target, "--cell-line", "k562", "--predictor",
                                str(tmp_path / "predictor"), "--db", db])
    assert again.exit_code == 0 and "was fit on graph build 0123456789abcdef" in again.output


def test_predict_answers_a_pair_a_knockdown_and_a_target(outcome_store: GraphStore, sample: tuple[Path, Path],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default outputs go to runs/predict/ under the working directory
    db = _db(outcome_store)
    test = phase("test", PerturbQA(sample[1]).pairs("k562")).score
    pert, target = test[0].perturbed, test[0].target
    pair = runner.invoke(app, ["predict", pert, target, "--cell-line", "k562", "--db", db, "--json"])
    assert pair.exit_code == 0, pair.output
    answer = json.loads(pair.output)
    assert answer["method"] == "response model" and answer["answer"] in (
        "not changed", "downregulated", "upregulated")
    assert answer["p_not_changed"] + answer["p_down"] + answer["p_up"] == pytest.approx(1)
    assert answer["evidence"]["neighbours"] and answer["measured"] == ""  # a test knockdown: never measured here
    cached = list((outcome_store.backend.server.directory / "cache").glob("*/predictor-K562/predictor.json"))
    assert len(cached) == 1  # fit once per build, then read
    text = runner.invoke(app, ["predict", pert, target, "--cell-line", "k562", "--db", db])
    assert text.exit_code == 0 and f"{pert} knockdown → {target} in K562:" in text.output
    assert "training knockdowns in K562 most like" in text.output

    knockdown = runner.invoke(app, ["predict", "--knockdown", pert, "--cell-line", "k562", "--db", db, "--top", "5"])
    assert knockdown.exit_code == 0, knockdown.output
    table = tmp_path / "runs" / "predict" / f"K562_{pert}_knockdown.csv"
    rows = list(csv.DictReader(table.open()))
    changes = [float(r["p_change"]) for r in rows]
    assert len(rows) > 100 and changes == sorted(changes, reverse=True) and {r["pert"] for r in rows} == {pert}
    assert table.with_suffix(".png").stat().st_size > 5_000

    moved = runner.invoke(app, ["predict", "--target", target, "--cell-line", "k562", "--db", db, "--out",
                                str(tmp_path / "target.parquet")])
    assert moved.exit_code == 0, moved.output
    import pyarrow.parquet as pq

    frame = pq.read_table(tmp_path / "target.parquet").to_pylist()
    assert {r["gene"] for r in frame} == {target} and len(frame) > 20
    assert any(r["measured"] for r in frame)  # training knockdowns that measured the target say what they did

    genes = tmp_path / "genes.txt"
    genes.write_text(f"gene\n{target}\nNOTAGENE1\n")
    matrix = runner.invoke(app, ["predict", "--knockdown", pert, "--genes", str(genes), "--cell-line", "k562",
                                 "--db", db, "--out", str(tmp_path / "one.h5ad")])
    assert matrix.exit_code == 0, matrix.output
    assert "NOTAGENE1 not in the graph" in matrix.output
    import anndata

    adata = anndata.read_h5ad(tmp_path / "one.h5ad")
    assert adata.shape == (1, 2) and list(adata.obs_names) == [pert] and set(adata.var_names) == {target, "NOTAGENE1"}
    assert set(adata.layers) >= {"p_change", "p_up", "p_down"} and adata.uns["cell_line"] == "K562"


def test_predict_for_a_cell_line_without_labels_uses_the_zero_shot_vote(outcome_store: GraphStore,
                                                                        sample: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    """A cell line the graph holds no outcomes of is answered from the other cell lines', and the note says so;
    a whole knockdown is ranked over the genes the other cell lines measured."""
    db = _db(outcome_store)
    test = phase("test", PerturbQA(sample[1]).pairs("k562")).score
    result = runner.invoke(app, ["predict", test[0].perturbed, test[0].target, "--cell-line", "hepg2", "--db", db])
    assert result.exit_code == 0, result.output
    assert "holds no training outcomes of HEPG2" in result.output
    assert "'neighbour vote (zero-shot)' method" in result.output
    assert f"{test[0].perturbed} knockdown → {test[0].target} in HEPG2:" in result.output
    assert "Experiments (PerturbQA training split, K562)" in result.output  # the evidence comes from elsewhere
    ranked = runner.invoke(app, ["predict", "--knockdown", test[0].perturbed, "--cell-line", "hepg2", "--db", db,
                                 "--out", str(tmp_path / "hepg2.csv")])
    assert ranked.exit_code == 0, ranked.output
    rows = list(csv.DictReader((tmp_path / "hepg2.csv").open()))
    assert len(rows) > 100 and {r["cell_line"] for r in rows} == {"HEPG2"}


def test_predict_refuses_unclear_questions_with_one_line(outcome_store: GraphStore, tmp_path: Path) -> None:
    db = _db(outcome_store)
    for args, message in ((["predict", "--db", db], "ask one question"),
                          (["predict", "TP53", "--db", db], "a pair needs two genes"),
                          (["predict", "--pairs", str(tmp_path / "x.csv"), "--db", db], "--pairs needs --out"),
                          (["predict", "--knockdown", "TP53", "--target", "MDM2", "--db", db], "ask one question"),
                          (["predict", "TP53", "MDM2", "--db", db], "which cell line?")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("pert,gene\nTP53,MDM2\nTP53\n")
    result = runner.invoke(app, ["predict", "--pairs", str(bad), "--out", str(tmp_path / "o.csv"), "--cell-line",
                                 "k562", "--db", db])
    assert result.exit_code == 1 and "bad.csv, line 3: expected 2 columns, found 1" in result.output
    missing = runner.invoke(app, ["predict", "TP53", "MDM2", "--predictor", str(tmp_path), "--db", db])
    assert missing.exit_code == 1 and "holds no saved predictor" in missing.output


def test_forest_predicts_exactly_as_scikit_learn(tmp_path: Path) -> None:
    """The neighbour model's trees are fit by scikit-learn and predicted from arrays: the same probabilities, to
    the last bit, with missing values, after a save and a load."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from aroma.predict.neighbour_model import ChangeAndDirection, TreeSettings
    from aroma.predict.trees import Forest

    rng = np.random.default_rng(7)
    features = rng.normal(size=(4000, 6))
    features[rng.random(features.shape) < 0.15] = np.nan
    signal = np.nan_to_num(features[:, 0]) - np.nan_to_num(features[:, 3]) + rng.normal(size=4000)
    target = signal > 0.5
    model = HistGradientBoostingClassifier(max_iter=60, max_depth=4, random_state=0).fit(features, target)
    unseen = rng.normal(size=(1500, 6))
    unseen[rng.random(unseen.shape) < 0.15] = np.nan
    np.testing.assert_array_equal(Forest.from_sklearn(model).probability(unseen), model.predict_proba(unseen)[:, 1])

    labels = np.where(signal > 1.5, 2, np.where(signal > 0.5, 1, 0))
    fitted = ChangeAndDirection.fit(TreeSettings(max_iter=40, min_samples_leaf=20), features, labels)
    fitted.save(tmp_path / "trees.npz")
    np.testing.assert_array_equal(ChangeAndDirection.load(tmp_path / "trees.npz").predict_proba(unseen),
                                  fitted.predict_proba(unseen))
