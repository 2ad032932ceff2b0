"""PerturbQA label merge, splits, examples, determinism and clear errors, on the real labels."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.dataset.generate import GenerateConfig, generate
from aroma.data.perturbqa import PerturbQA, carve_validation, read_cell_line
from aroma.errors import SourceFormatError
from aroma.kg.store import GraphStore
from aroma.tokens import LABELS, PLACEHOLDERS

runner = CliRunner()


@pytest.fixture(scope="module")
def perturbqa(data_root: Path) -> Path:
    return data_root / "perturbqa"


@pytest.mark.parametrize("cell", ["k562", "rpe1"])
def test_label_merge_against_raw_files(perturbqa: Path, cell: str) -> None:
    de = {(r["pert"], r["gene"]): r for r in csv.DictReader((perturbqa / f"{cell}-de.csv").open())}
    direction = {(r["pert"], r["gene"]): r["label"] for r in csv.DictReader((perturbqa / f"{cell}-dir.csv").open())}
    pairs = read_cell_line(perturbqa, cell)
    assert len(pairs) == len(de)
    for pair in pairs:
        raw = de[(pair.perturbed, pair.target)]
        expected = 0 if raw["label"] == "0" else (2 if direction[(pair.perturbed, pair.target)] == "1" else 1)
        assert pair.label == expected and pair.split == raw["split"] and pair.cell_line == cell.upper()


def test_validation_split_never_mixes_perturbations(perturbqa: Path) -> None:
    pairs = carve_validation(read_cell_line(perturbqa, "k562"), 0.1, seed=0)
    perts = {split: {p.perturbed for p in pairs if p.split == split} for split in ("train", "validation", "test")}
    assert perts["validation"] and not perts["test"] & (perts["train"] | perts["validation"])
    assert not perts["train"] & perts["validation"]
    assert abs(len(perts["validation"]) / (len(perts["train"]) + len(perts["validation"])) - 0.1) < 0.01


def _write(path: Path, text: str | bytes) -> None:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


@pytest.mark.parametrize("de,direction,message", [
    ("pert,gene,label\nA,B,0\n", "pert,gene,label,split\n", r"k562-de\.csv, line 1: header"),
    ("pert,gene,label,split\nA,B,0,train\nA,C,2,train\n", "pert,gene,label,split\n", r"k562-de\.csv, line 3: label '2'"),
    ("pert,gene,label,split\nA,B,1,train\n", "pert,gene,label,split\n", r"k562-de\.csv, line 2: A→B is DE but has no row"),
    ("pert,gene,label,split\nA,B,0,train\n", "pert,gene,label,split\nA,B,1,train\n",
     r"k562-dir\.csv, line 2: A→B has a direction but is not DE"),
    ("pert,gene,label,split\nA,B,0,train,extra\n", "pert,gene,label,split\n", r"line 2: expected 4 columns, found 5"),
    ("pert,gene,label,split\nA,B,0,dev\n", "pert,gene,label,split\n", r"line 2: split 'dev'"),
    ("pert,gene,label,split\nA,B,0,test\nC,B,0,train\nA,D,0,train\n", "pert,gene,label,split\n",
     r"k562-de\.csv, line 4: perturbation A is in the train split here but in the test split on line 2"),
    (b"pert,gene,label,split\nA,B\xff,0,train\n", "pert,gene,label,split\n", r"line 2: not UTF-8 text"),
    ("pert,gene,label,split\nA,B,0,train\nA," + "C" * 200_000 + ",0,train\n", "pert,gene,label,split\n",
     r"line 3: field larger than field limit"),
    ("pert,gene,label,split\nA,B,0,train\nA," + "C" * 2_000_000 + ",0,train\n", "pert,gene,label,split\n",
     r"line 3: line longer than 1,048,576 bytes"),
])
def test_malformed_csv_names_file_and_line(tmp_path: Path, de: str | bytes, direction: str, message: str) -> None:
    _write(tmp_path / "k562-de.csv", de)
    _write(tmp_path / "k562-dir.csv", direction)
    with pytest.raises(SourceFormatError, match=message):
        read_cell_line(tmp_path, "k562")


def test_malformed_csv_via_cli(tmp_path: Path, subset_store: GraphStore) -> None:
    _write(tmp_path / "k562-de.csv", "pert,gene,label,split\nA,B,x,train\n")
    _write(tmp_path / "k562-dir.csv", "pert,gene,label,split\n")
    result = runner.invoke(app, ["dataset", "generate", "--perturbqa", str(tmp_path), "--cell-line", "k562",
                                 "--out", str(tmp_path / "out"), "--db", str(subset_store.backend.server.directory)])
    assert result.exit_code == 1 and "k562-de.csv, line 2: label 'x'" in result.output


def test_a_training_row_for_a_test_perturbation_stops_the_build(subset_sources: Path, perturbqa: Path,
                                                                tmp_path: Path) -> None:
    """PerturbQA splits by perturbation: a train row for a test knockdown would put a test outcome in the graph."""
    labels = tmp_path / "perturbqa"
    labels.mkdir()
    de = (perturbqa / "k562-de.csv").read_text()
    test_pert = next(line.split(",")[0] for line in de.splitlines() if line.endswith(",test"))
    (labels / "k562-de.csv").write_text(de + f"{test_pert},ADGRE5,0,train\n")
    (labels / "k562-dir.csv").write_text((perturbqa / "k562-dir.csv").read_text())
    lines = de.count("\n") + 1
    result = runner.invoke(app, ["kg", "build", "--sources", str(subset_sources), "--perturbqa", str(labels), "--db",
                                 str(tmp_path / "db")])
    assert result.exit_code == 1, result.output
    assert f"k562-de.csv, line {lines}: perturbation {test_pert} is in the train split here but in the test split" \
        in result.output and "Traceback" not in result.output


def test_dataset_out_must_be_a_directory(subset_store: GraphStore, perturbqa: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a user's file")
    result = runner.invoke(app, ["dataset", "generate", "--perturbqa", str(perturbqa), "--cell-line", "k562", "--out",
                                 str(tmp_path / "taken"), "--db", str(subset_store.backend.server.directory)])
    assert result.exit_code == 1 and "is a file, not a directory" in result.output
    assert (tmp_path / "taken").read_text() == "a user's file"


def test_interrupted_generate_leaves_no_partial_file(subset_store: GraphStore, perturbqa: Path, tmp_path: Path) -> None:
    """Ctrl-C while examples are written: no file under a final name, no partial file, the earlier dataset intact."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    out.mkdir()
    (out / "train.jsonl").write_text("an earlier dataset\n")
    db = str(subset_store.backend.server.directory)
    child = subprocess.Popen(
        [sys.executable, "-m", "aroma.cli", "dataset", "generate", "--perturbqa", str(perturbqa), "--cell-line",
         "k562", "--cell-line", "rpe1", "--out", str(out), "--db", db, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # whatever the caller ignores
    try:
        deadline = time.monotonic() + 120
        partial = out / ".train.jsonl.partial"
        while not (partial.is_file() and partial.stat().st_size > 0) and child.poll() is None:
            assert time.monotonic() < deadline, "no example was written in 120 s"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, output
    assert "interrupted; nothing was written" in output and "Traceback" not in output
    assert sorted(p.name for p in out.iterdir()) == ["train.jsonl"]
    assert (out / "train.jsonl").read_text() == "an earlier dataset\n"


@pytest.fixture(scope="module")
def generated(subset_store: GraphStore, perturbqa: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    generate(subset_store, GenerateConfig(PerturbQA(perturbqa), ["k562", "rpe1"], out, limit=400), show_progress=False)
    return out


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for split in ("train", "validation", "test") for line in (out / f"{split}.jsonl").open()]


def test_examples_are_well_formed(generated: Path) -> None:
    records = _records(generated)
    assert len(records) == 800
    for record in records:
        user = record["prompt"][1]["content"]
        assert record["prompt"][0]["role"] == "system" and record["prompt"][1]["role"] == "user"
        assert all(user.count(token) == 1 for token in PLACEHOLDERS.values())
        assert record["cell_line"] in user and record["pert"] in user and record["gene"] in user
        match = re.fullmatch(r"<think>(.+)</think><answer>(.+)</answer>", record["completion"], re.S)
        assert match and match.group(2) == LABELS[record["label"]] == record["label_text"]


def test_reasoning_cites_only_retrieved_evidence(generated: Path, subset_store: GraphStore) -> None:
    symbols = {r["symbol"] for r in subset_store.run("MATCH (g:Gene) RETURN g.symbol AS symbol").rows}
    for record in _records(generated):
        evidence = json.loads(record["evidence"])
        text = json.dumps(evidence)
        thought = record["completion"].split("</think>")[0]
        cited = {w for w in re.findall(r"[A-Za-z0-9-]+", thought) if w in symbols}
        assert all(symbol in text for symbol in cited), (record["id"], cited)
        for term in re.findall(r"GO:\d{7}|R-HSA-\d+", thought):
            assert term in text, (record["id"], term)


def test_card_and_hf_dataset(generated: Path) -> None:
    from datasets import load_from_disk

    card = json.loads((generated / "card.json").read_text())
    assert card["pairs"] == 800 and set(card["coverage"]) == {"K562", "RPE1"}
    hf = load_from_disk(str(generated / "hf"))
    jsonl = {s: sum(1 for _ in (generated / f"{s}.jsonl").open()) for s in ("train", "validation", "test")}
    assert {s: len(hf[s]) for s in hf} == jsonl
    for split in hf:  # streamed from the JSONL: the same records, in the same order
        assert hf[split].to_list() == [json.loads(line) for line in (generated / f"{split}.jsonl").open()]
    assert sum(sum(v.values()) for splits in card["counts"].values() for v in splits.values()) == 800
    assert (generated / "card.png").read_bytes()[:4] == b"\x89PNG"


def test_deterministic_output(generated: Path, subset_store: GraphStore, perturbqa: Path, tmp_path: Path) -> None:
    generate(subset_store, GenerateConfig(PerturbQA(perturbqa), ["k562", "rpe1"], tmp_path, limit=400, workers=2),
             show_progress=False)

    def digest(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(tmp_path) == digest(generated)


def test_retrieval_progress_counts_genes_batch_by_batch(subset_store: GraphStore) -> None:
    from rich.progress import Progress

    from aroma.data.perturbqa import LabelledPair
    from aroma.dataset.generate import _retrieve_genes
    from aroma.retrieval.knowledge import GraphContext

    graph = GraphContext(subset_store)
    graph.index.batch_size = 50  # several batches on the subset
    symbols = sorted(r["symbol"] for r in subset_store.run("MATCH (g:Gene) RETURN g.symbol AS symbol").rows)
    pairs = [LabelledPair("K562", symbol, "NOT_A_GENE", None, "train") for symbol in symbols]
    updates: list[float] = []
    with Progress(disable=True) as progress:
        real_advance = progress.advance
        progress.advance = lambda task, n=1: (updates.append(n), real_advance(task, n))[1]  # type: ignore
        ids = _retrieve_genes(graph, pairs, progress)["K562"]
        tasks = {t.description: t for t in progress.tasks}
    fetching = tasks["fetching gene evidence"]
    assert fetching.total == fetching.completed == len(set(ids.values())) == len(symbols)
    assert len(updates) == -(-len(symbols) // 50) and max(updates) == 50  # one step per batch, not one at the end
    assert all(t.finished for t in tasks.values())


def test_forked_workers_die_on_sigterm_whatever_handler_the_parent_installed() -> None:
    """The CLI's SIGTERM handler raises; inherited by a pool worker, it could leave the queue lock held and hang
    ``terminate``. Workers reset SIGTERM to the default and leave Ctrl-C to the parent."""
    import functools
    import signal

    from aroma.cli.common import _terminated
    from aroma.dataset.generate import worker_pool

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with worker_pool(2) as pool:
            handlers = pool.map(signal.getsignal, [signal.SIGTERM, signal.SIGINT])
            masks = pool.map(functools.partial(signal.pthread_sigmask, signal.SIG_BLOCK), [set(), set()])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert handlers == [signal.SIG_DFL, signal.SIG_IGN]
    assert all(signal.SIGTERM not in mask for mask in masks)  # blocked only while forking
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
