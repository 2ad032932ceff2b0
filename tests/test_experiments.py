"""Experimental evidence (what similar training knockdowns did), split safety, the neighbour methods and
`aroma bench`, on a real subset of the sources and a real sample of PerturbQA's labels."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from aroma.cli import app
from aroma.data.perturbqa import LabelledPair, PerturbQA, read_cell_line
from aroma.dataset.generate import GenerateConfig, generate
from aroma.evaluate.bench import BenchSettings, run_bench, scored_pairs
from aroma.kg.store import GraphStore
from aroma.predict import registry
from aroma.predict.base import MethodOptions
from aroma.retrieval.evidence import PairEvidence
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.knowledge import GraphContext
from aroma.retrieval.neighbours import KnockdownNeighbours, NeighbourSettings
from aroma.retrieval.outcomes import OutcomeTable
from aroma.retrieval.phases import phase
from aroma.retrieval.similarity import GeneSimilarity, SimilarityConfig
from aroma.tokens import DOWN, LABELS, NOT_CHANGED, UP
from aroma.train.rewards import make_grounding_reward
from tests.conftest import built_store

runner = CliRunner()


# -- the neighbour arithmetic, by hand --------------------------------------------------------------

def _similarity(genes: list[str], vectors: list[list[float]]) -> GeneSimilarity:
    rows = np.array(vectors, dtype=float)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return GeneSimilarity(genes, {"go": sp.csr_matrix(rows)}, SimilarityConfig({"go": 1.0}))


def test_neighbours_leave_the_knockdown_out_and_vote_over_the_first_k_that_measured_the_target() -> None:
    genes = ["P", "A", "B", "C", "T", "U"]
    similarity = _similarity(genes, [[1, 0], [1, 0.1], [1, 0.5], [0, 1], [0.5, 0.5], [0.3, 1]])
    table = OutcomeTable.from_rows("K562", [
        ("P", "T", UP),  # P's own outcome: must never be its own evidence
        ("A", "T", DOWN), ("A", "U", NOT_CHANGED),
        ("B", "T", NOT_CHANGED),  # B measured T, C did not measure U
        ("C", "T", UP), ("C", "U", UP),
    ], symbols={g: g for g in genes})
    neighbours = KnockdownNeighbours(table, similarity, NeighbourSettings(k=2, k_direction=2, power=1.0, prior=0.0))
    evidence_t, evidence_u = neighbours.evidence("P", ["T", "U"])
    assert [n.symbol for n in evidence_t.neighbours] == ["A", "B"]  # most similar first, P left out, k = 2
    assert [n.effect for n in evidence_t.neighbours] == [LABELS[DOWN], LABELS[NOT_CHANGED]]
    assert evidence_t.target_measured_by == 3 and evidence_u.target_measured_by == 2
    assert [n.symbol for n in evidence_u.neighbours] == ["A", "C"]
    assert evidence_t.summary("P", "T") == ("Of the 2 training knockdowns in K562 most like P that measured T, "
                                            "1 changed it (1 down, 0 up).")
    s = similarity.matrix(["P"], ["A", "B", "C"])[0]
    vote = neighbours.vote("P", ["T"])[0]
    changed = s[0] / (s[0] + s[1])  # A changed T, B did not
    up = s[2] / (s[0] + s[2])  # the first two that changed T: A down, C up
    assert vote == pytest.approx([1 - changed, changed * (1 - up), changed * up])
    assert neighbours.strength.tolist() == [0.5, 0.0, 1.0, 1.0]  # A, B, C, P: share of measured targets changed


def test_similarity_in_numpy_equals_scipy_products_and_genes_outside_the_graph_score_zero() -> None:
    rng = np.random.default_rng(5)
    genes = [f"g{i}" for i in range(40)]
    profiles = {}
    for modality, columns in (("go", 30), ("string", 55)):
        matrix = sp.random(40, columns, density=0.15, random_state=rng, format="csr")
        matrix.data[matrix.indptr[3]:matrix.indptr[4]] = 0  # an empty profile
        matrix.eliminate_zeros()
        profiles[modality] = matrix
    config = SimilarityConfig({"go": 1.0, "string": 0.5})
    similarity = GeneSimilarity(genes, profiles, config)
    queries, candidates = ["g1", "g3", "absent", None, "g7"], ["g2", "g3", "g9", "absent", "g1"]
    q = [genes.index(g) if g in genes else None for g in queries]
    c = [genes.index(g) if g in genes else None for g in candidates]
    expected = np.zeros((len(q), len(c)))
    for modality, weight in config.weights.items():
        dense = profiles[modality].toarray()
        for i, qi in enumerate(q):
            for j, cj in enumerate(c):
                if qi is not None and cj is not None:
                    expected[i, j] += weight * dense[qi] @ dense[cj]
    assert similarity.matrix(queries, candidates) == pytest.approx(expected / 1.5, abs=1e-12)
    pairs = similarity.pairwise(["g1", "g1", "g5", "absent"], ["g2", "g3", "g1", "g1"])
    go = profiles["go"].toarray()
    assert pairs["go"] == pytest.approx([go[1] @ go[2], 0.0, go[5] @ go[1], 0.0], abs=1e-12)


# -- a real graph with training outcomes ------------------------------------------------------------

def _flip_test_labels(source: Path, out: Path) -> None:
    """The same files with every test label reversed: not changed ↔ changed, and up ↔ down."""
    out.mkdir()
    for de_path in source.glob("*-de.csv"):
        name = de_path.name[: -len("-de.csv")]
        de = list(csv.DictReader(de_path.open()))
        direction = {(r["pert"], r["gene"]): r for r in csv.DictReader((source / f"{name}-dir.csv").open())}
        de_rows, dir_rows = [], []
        for row in de:
            key = (row["pert"], row["gene"])
            if row["split"] == "test":
                changed = row["label"] == "0"
                de_rows.append({**row, "label": "1" if changed else "0"})
                if changed:
                    dir_rows.append({**row, "label": "1"})
            else:
                de_rows.append(row)
                if key in direction:
                    dir_rows.append(direction[key])
        for kind, rows in (("de", de_rows), ("dir", dir_rows)):
            with (out / f"{name}-{kind}.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, ["pert", "gene", "label", "split"], lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)


def test_graph_holds_training_outcomes_only(outcome_store: GraphStore, sample: tuple[Path, Path]) -> None:
    _, perturbqa = sample
    for name in ("k562", "rpe1"):
        pairs = read_cell_line(perturbqa, name)
        ids = EvidenceIndex(outcome_store).resolve({p.perturbed for p in pairs} | {p.target for p in pairs}, strict=False)
        table = OutcomeTable.from_store(outcome_store, name)
        loaded = {(table.perts[i], table.targets[j]) for i, j in zip(*np.nonzero(table.measured))}
        train = {(ids[p.perturbed], ids[p.target]) for p in pairs if p.split == "train" and p.perturbed in ids and p.target in ids}
        test = {(ids[p.perturbed], ids[p.target]) for p in pairs if p.split == "test" and p.perturbed in ids and p.target in ids}
        assert loaded == train and test and not loaded & test
        down = {(ids[p.perturbed], ids[p.target]) for p in pairs if p.split == "train" and p.label == DOWN and p.perturbed in ids
                and p.target in ids}
        assert {(table.perts[i], table.targets[j]) for i, j in zip(*np.nonzero(table.effects == -1))} == down


def test_cypher_answers_what_a_knockdown_changed(outcome_store: GraphStore, sample: tuple[Path, Path]) -> None:
    _, perturbqa = sample
    pairs = [p for p in read_cell_line(perturbqa, "k562") if p.split == "train" and p.label != NOT_CHANGED]
    pert = pairs[0].perturbed
    rows = outcome_store.read("queries/knockdown_changes", symbol=pert, cell_line="K562")
    expected = {(p.target, LABELS[p.label]) for p in pairs if p.perturbed == pert}
    assert {(r["target"], r["effect"]) for r in rows} <= expected and len(rows) >= len(expected) - 2  # unmapped


def test_retrieve_shows_similar_knockdowns(outcome_store: GraphStore, sample: tuple[Path, Path]) -> None:
    _, perturbqa = sample
    pair = next(p for p in read_cell_line(perturbqa, "k562") if p.split == "test")
    db = str(outcome_store.backend.server.directory)
    shown = runner.invoke(app, ["retrieve", pair.perturbed, pair.target, "--cell-line", "K562", "--db", db, "--json"])
    assert shown.exit_code == 0, shown.output
    evidence = json.loads(shown.output)
    experiments = evidence["experiments"]
    assert experiments["cell_line"] == "K562" and experiments["neighbours"]
    typed = PairEvidence.from_dict(evidence)  # the experiments read back as typed records too
    assert typed.experiments is not None and typed.to_dict() == evidence
    similarities = [n["similarity"] for n in experiments["neighbours"]]
    assert similarities == sorted(similarities, reverse=True) and pair.perturbed not in {
        n["symbol"] for n in experiments["neighbours"]}
    text = runner.invoke(app, ["retrieve", pair.perturbed, pair.target, "--cell-line", "K562", "--db", db])
    assert "training knockdowns in K562 most like" in text.output
    assert "Experiments" not in runner.invoke(app, ["retrieve", pair.perturbed, pair.target, "--db", db,
                                                    "--no-experiments"]).output


@pytest.fixture(scope="module")
def generated(outcome_store: GraphStore, sample: tuple[Path, Path],
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset-with-experiments")
    generate(outcome_store, GenerateConfig(PerturbQA(sample[1]), ["k562", "rpe1"], out, limit=600), show_progress=False)
    return out


def _examples(directory: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (directory / f"{split}.jsonl").open()]


def test_reasoning_targets_rest_on_their_evidence(generated: Path) -> None:
    examples = [e for split in ("train", "validation", "test") for e in _examples(generated, split)]
    with_experiments = [e for e in examples if e["has_experiments"]]
    assert len(with_experiments) > len(examples) / 2
    reward = make_grounding_reward({e["pert"] for e in examples} | {e["gene"] for e in examples}
                                   | {n["symbol"] for e in with_experiments
                                      for n in json.loads(e["evidence"])["experiments"]["neighbours"]})
    assert reward([e["completion"] for e in examples], evidence=[e["evidence"] for e in examples]) == \
        [0.0] * len(examples)
    for example in with_experiments:
        evidence = json.loads(example["evidence"])["experiments"]
        nearest = evidence["neighbours"][0]
        think = example["completion"]
        assert f"{nearest['symbol']} (similarity {nearest['similarity']:.2f}), left" in think
        assert f"{len(evidence['neighbours'])} training knockdowns in {example['cell_line']}" in think
        assert "training knockdowns" in example["prompt"][1]["content"]
        assert not re.search(r"compensatory|stress response|removes support", think)


def test_examples_equal_a_pair_by_pair_reference(generated: Path, outcome_store: GraphStore) -> None:
    """`dataset generate` finds the similar knockdowns of all targets of a perturbation at once and encodes
    the evidence JSON from shared parts; each example must equal the one-pair-at-a-time path (bounded STRING
    reads, uncached tables, one target per call, ``dataclasses.asdict`` + ``json.dumps``)."""
    from dataclasses import asdict

    from aroma.dataset.prompts import chat_prompt, completion
    from aroma.retrieval.cache import DerivedCache
    from aroma.retrieval.evidence import GeneFacts, PairEvidence

    index = EvidenceIndex(outcome_store, cache=DerivedCache(None))
    examples = [e for split in ("train", "validation", "test") for e in _examples(generated, split)]
    checked = 0
    for cell in ("K562", "RPE1"):
        names = [LabelledPair(cell, e["pert"], e["gene"], None, "") for e in examples if e["cell_line"] == cell]
        ids = GraphContext(outcome_store).knowledge(cell).ids(names)  # the build's mapping (tested on its own)
        index.prefetch(ids.values())
        full = GraphContext(outcome_store, cache=DerivedCache(None)).knowledge(cell)
        held_out = [ids[e["pert"]] for e in examples if e["cell_line"] == cell and e["split"] == "validation"
                    and e["pert"] in ids]
        development = full.without(held_out).neighbours()
        by_split = {"test": full.neighbours(), "train": development, "validation": development}
        for example in (e for e in examples if e["cell_line"] == cell):
            p, t = ids.get(example["pert"]), ids.get(example["gene"])
            evidence = index.pair(p, t, cell) if p and t else PairEvidence(
                cell, index.facts(p) if p else GeneFacts.placeholder(example["pert"]),
                index.facts(t) if t else GeneFacts.placeholder(example["gene"]))
            evidence.experiments = by_split[example["split"]].evidence(p, [t])[0]
            reference = asdict(evidence)
            for path, raw in zip(evidence.paths, reference["paths"]):
                raw["strength"] = path.strength
            assert example["evidence"] == json.dumps(reference, sort_keys=True, ensure_ascii=False), example["id"]
            assert example["prompt"] == chat_prompt(evidence, (example["pert"], example["gene"]))
            assert example["completion"] == completion(evidence, example["label"])
            checked += 1
    assert checked == len(examples) > 1000


def test_flipping_test_labels_changes_nothing_generated_for_test_pairs(
        sample: tuple[Path, Path], outcome_store: GraphStore, generated: Path, tiny_models: tuple[Path, Path],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Split safety: test labels reach nothing but the answers of test examples — not the graph, the evidence, the
    prompts, the features, nor any registered method's predictions."""
    sources, perturbqa = sample
    flipped = tmp_path_factory.mktemp("flipped") / "perturbqa"
    _flip_test_labels(perturbqa, flipped)
    assert read_cell_line(flipped, "k562") != read_cell_line(perturbqa, "k562")
    for flipped_store in built_store(sources, tmp_path_factory.mktemp("flipped-db"), perturbqa=flipped):
        out = tmp_path_factory.mktemp("flipped-dataset")
        generate(flipped_store, GenerateConfig(PerturbQA(flipped), ["k562", "rpe1"], out, limit=600), show_progress=False)
        for split in ("train", "validation", "test"):
            original, again = _examples(generated, split), _examples(out, split)
            assert [e["id"] for e in original] == [e["id"] for e in again]
            for a, b in zip(original, again):
                assert (a["prompt"], a["evidence"]) == (b["prompt"], b["evidence"])
                if split != "test":
                    assert a["completion"] == b["completion"]
        changed = [a for a, b in zip(_examples(generated, "test"), _examples(out, "test")) if a["label"] != b["label"]]
        assert changed  # the flip did reach the test answers
        flipped_models = _tiny_models(flipped_store, tmp_path_factory.mktemp("flipped-models"), lm=tiny_models[1])
        for name in ("k562", "rpe1"):
            (features_a, predictions_a), (features_b, predictions_b) = (
                _test_predictions(store, directory, name, models) for store, directory, models in
                ((outcome_store, perturbqa, tiny_models), (flipped_store, flipped, flipped_models)))
            np.testing.assert_array_equal(features_a, features_b)
            assert predictions_a.keys() == predictions_b.keys() == set(registry.names())  # every method
            for method in predictions_a:
                np.testing.assert_array_equal(predictions_a[method], predictions_b[method], err_msg=method)


def _embeddings(store: GraphStore, directory: Path) -> Path:
    """Small Gene-KG embeddings of ``store``'s graph (seeded: the same Gene-KG gives the same vectors)."""
    from aroma.model.gnn import EncoderConfig
    from aroma.model.graph_data import load_graph
    from aroma.train.gnn import GnnTrainConfig, save_embeddings, train_gnn

    bundle = load_graph(store, "gene")
    config = GnnTrainConfig(EncoderConfig(hidden=16, out_dim=16, layers=2, conv="sage"), epochs=2)
    _, result, z = train_gnn(bundle, "gene", config, show_progress=False)
    save_embeddings(directory / "gene_embeddings.pt", bundle, "gene", z, result, config)
    return directory


def _tiny_models(store: GraphStore, directory: Path, lm: Path | None = None) -> tuple[Path, Path]:
    """Embeddings of ``store``'s graph and a tiny, untrained multimodal LM over them reading typed prompts (``lm``:
    reuse one)."""
    from aroma.model.assets import load_gene_space
    from aroma.model.classifier import build_fusion
    from aroma.model.fusion import FusionConfig
    from aroma.model.lm import AromaLM
    from tests import tiny

    embeddings = _embeddings(store, directory / "embeddings")
    if lm is None:
        space = load_gene_space(embeddings, store)
        tokenizer = tiny.tokenizer()
        model = AromaLM(tiny.causal_lm("llama", len(tokenizer)), tokenizer,
                        build_fusion(space, FusionConfig(out_dim=32, model_dim=16, tokens=1, typed=True)))
        model.gene_ids = list(space.ids)
        lm = directory / "lm"
        model.save_pretrained(lm)
    return embeddings, lm


@pytest.fixture(scope="module")
def tiny_models(outcome_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _tiny_models(outcome_store, tmp_path_factory.mktemp("tiny-models"))


def _test_predictions(store: GraphStore, perturbqa: Path, name: str, models: tuple[Path, Path]
                      ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every registered method's predictions for the test pairs (the language model's for a few of them)."""
    graph = GraphContext(store)
    current = phase("test", PerturbQA(perturbqa).pairs(name))
    knowledge = graph.knowledge(name, current.hidden)
    options = MethodOptions(embeddings=models[0], model=models[1], classifier_epochs=1, lm_pairs=12)
    predictions = {}
    for method in registry.names():
        predictor = registry.method(method).create(options, knowledge)
        assert predictor is not None, f"{method} does not run in the label-flip test"
        pairs = scored_pairs(predictor, current.score, seed=0)
        predictions[method] = predictor.fit(knowledge, current.fit).predict_proba(pairs)
    return knowledge.features(current.score), predictions


def test_bench_reports_every_method_beside_the_published_numbers(
        outcome_store: GraphStore, sample: tuple[Path, Path], tmp_path: Path) -> None:
    db = str(outcome_store.backend.server.directory)
    result = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--out", str(tmp_path), "--db", db,
                                 "--quiet", "--jobs", "2"])  # the four parts in two worker processes
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bench.json").read_text())  # strict JSON: no NaN
    alone = runner.invoke(app, ["bench", "--perturbqa", str(sample[1]), "--out", str(tmp_path / "one"), "--db", db,
                                "--quiet", "--jobs", "1"])
    assert alone.exit_code == 0, alone.output
    figures = ("cell_line", "split", "method", "de_auroc", "direction_auroc", "macro_f1", "pairs")
    in_one = [{k: r[k] for k in figures} for r in json.loads((tmp_path / "one" / "bench.json").read_text())["results"]]
    assert [{k: r[k] for k in figures} for r in report["results"]] == in_one  # same rows, same order
    methods = {"target base rate", "evidence heuristic", "neighbour vote", "neighbour model",
               "neighbour model + other cell lines", "response model"}  # no zero-shot rows without --zero-shot
    for cell in ("K562", "RPE1"):
        for split in ("validation", "test"):
            rows = [r for r in report["results"] if r["cell_line"] == cell and r["split"] == split]
            assert {r["method"] for r in rows} == methods
            for row in rows:
                assert row["pairs"] > 0 and row["seconds"] >= 0 and row["peak_rss_mb"] > 0
                assert row["de_auroc"] is None or 0 <= row["de_auroc"] <= 1
    base = [r for r in report["results"] if r["method"] == "target base rate" and r["de_genes"]]
    assert base and all(r["de_auroc"] == pytest.approx(0.5) for r in base)  # constant per target gene
    table = (tmp_path / "bench.md").read_text()
    assert "*published:* SUMMER (LLM) | 0.62 | 0.64" in table and "neighbour vote" in table
    assert (tmp_path / "bench.png").stat().st_size > 10_000


def test_a_bad_label_file_read_by_a_bench_worker_is_named_by_file_and_line(
        outcome_store: GraphStore, sample: tuple[Path, Path], tmp_path: Path) -> None:
    """In worker processes the label files are read there; a fault still reaches the user as one line."""
    data = tmp_path / "perturbqa"
    data.mkdir()
    for name in ("k562-de.csv", "k562-dir.csv", "rpe1-dir.csv"):
        shutil.copy(sample[1] / name, data / name)
    lines = (sample[1] / "rpe1-de.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",maybe,train"
    (data / "rpe1-de.csv").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["bench", "--perturbqa", str(data), "--out", str(tmp_path / "bench"), "--db",
                                 str(outcome_store.backend.server.directory), "--quiet", "--jobs", "2",
                                 "--method", "target base rate"])
    assert result.exit_code == 1, result.output
    assert "rpe1-de.csv, line 6: label 'maybe' is not 0 or 1" in result.output and "Traceback" not in result.output


def test_knowledge_hides_what_the_phase_hides(outcome_store: GraphStore) -> None:
    table = OutcomeTable.from_store(outcome_store, "k562")
    held_out = table.perts[:3]
    knowledge = GraphContext(outcome_store).knowledge("K562", hidden=[table.symbols[p] for p in held_out])
    neighbours = knowledge.neighbours()
    assert not set(held_out) & set(neighbours.table.perts) and len(neighbours.table.perts) == len(table.perts) - 3
    assert [o.cell_line for o in neighbours.others] == ["RPE1"]  # the gene-set task's outcomes inform no gene
    assert GraphContext(outcome_store).knowledge("K562", own_outcomes=False).table.perts == []


def test_classifier_takes_what_similar_knockdowns_did(outcome_store: GraphStore, sample: tuple[Path, Path],
                                                      tiny_models: tuple[Path, Path], tmp_path: Path) -> None:
    """The fusion classifier gets the neighbour features beside the genes, in training, as a saved predictor and
    in the bench."""
    from aroma.predict.classifier import FusionClassifier
    from aroma.retrieval.neighbours import feature_names
    from aroma.train.classifier import ClassifierConfig, train_classifier

    graph = GraphContext(outcome_store)
    data = PerturbQA(sample[1])
    report = train_classifier(graph, data, "k562", tiny_models[0], ClassifierConfig(epochs=2, model_dim=16),
                              tmp_path / "classifier", show_progress=False)
    width = len(feature_names(NeighbourSettings(), ["go", "pathway", "string"], cross=True))
    assert report.test["pairs"] > 0 and len(report.history) == 2
    loaded = registry.load_predictor(tmp_path / "classifier", graph.knowledge("k562"))
    assert isinstance(loaded, FusionClassifier) and len(loaded.scale.mean) == width
    pairs = phase("test", data.pairs("k562")).score[:20]
    probabilities = loaded.predict_proba(pairs)
    assert probabilities.shape == (20, 3) and np.allclose(probabilities.sum(axis=1), 1)

    results = run_bench(graph, PerturbQA(sample[1], only=["k562"]), tmp_path / "bench",
                        BenchSettings(MethodOptions(embeddings=tiny_models[0], classifier_epochs=1)),
                        show_progress=False).results
    rows = [r for r in results if r.method == FusionClassifier.name]
    assert {r.split for r in rows} == {"validation", "test"} and all(r.pairs > 0 for r in rows)
