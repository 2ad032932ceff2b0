"""The on-disk cache of tables derived from a build (similarity profiles, outcome tables, complex terms):
evidence read through it equals evidence computed from the graph, and a rebuild with another checksum is
never answered from the old build's tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.data.perturbqa import read_cell_line
from aroma.kg.build import build
from aroma.kg.store import GraphStore
from aroma.retrieval.cache import DerivedCache
from aroma.retrieval.index import EvidenceIndex
from aroma.retrieval.knowledge import GraphContext
from tests.conftest import built_store

runner = CliRunner()


def _evidence(store: GraphStore, pairs: list[tuple[str, str]], cache: DerivedCache | None) -> list[dict]:
    """Evidence with experiments for each pair, read through ``cache`` (None: the store's own cache)."""
    graph = GraphContext(store, cache=cache)
    index = graph.index
    index.use_outcomes(graph.knowledge("K562").neighbours())
    return [index.evidence(p, t, "K562").to_dict() for p, t in pairs]


def _drop_training_knockdown(source: Path, out: Path, pert: str) -> None:
    """The same PerturbQA files less every training row of one knockdown."""
    out.mkdir()
    for path in source.glob("*.csv"):
        with path.open() as handle:
            rows = list(csv.DictReader(handle))
        with (out / path.name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, ["pert", "gene", "label", "split"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in rows if not (r["pert"] == pert and r["split"] == "train"))


def test_cached_evidence_equals_the_graph_and_a_rebuild_is_not_answered_from_the_old_cache(
        sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sources, perturbqa = sample
    labelled = read_cell_line(perturbqa, "k562")
    directory = tmp_path_factory.mktemp("cache-db")
    for store in built_store(sources, directory, perturbqa=perturbqa):
        known = EvidenceIndex(store, cache=DerivedCache(None)).resolve(
            {p.perturbed for p in labelled} | {p.target for p in labelled}, strict=False)
        pairs = [pair for split in ("test", "train") for pair in sorted(
            {(p.perturbed, p.target) for p in labelled if p.split == split and p.perturbed in known and p.target in known})[::97][:3]]
        uncached = _evidence(store, pairs, DerivedCache(None))
        assert not (directory / "cache").exists()
        assert _evidence(store, pairs, None) == uncached  # computed and saved
        [first] = [d for d in (directory / "cache").iterdir()]
        assert {p.name for p in first.iterdir()} >= {"similarity-go.npz", "outcomes-K562", "outcomes-RPE1",
                                                    "complex-terms.json", "genes.json"}
        assert (first / "outcomes-K562" / "effects.npy").is_file()  # mapped, not read whole, by one pair
        assert _evidence(store, pairs, None) == uncached  # read back
        shown = runner.invoke(app, ["retrieve", *pairs[0], "--db", str(directory), "--json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output) == json.loads(json.dumps(uncached[0]))

        # the nearest neighbour of the first pair loses its training outcomes: a new checksum
        gone = uncached[0]["experiments"]["neighbours"][0]["symbol"]
        changed = tmp_path_factory.mktemp("changed") / "perturbqa"
        _drop_training_knockdown(perturbqa, changed, gone)
        build(sources, store=store, show_progress=False, perturbqa=changed)
        rebuilt = _evidence(store, pairs, DerivedCache(None))
        assert gone not in {n["symbol"] for n in rebuilt[0]["experiments"]["neighbours"]}
        assert _evidence(store, pairs, None) == rebuilt
        [second] = [d for d in (directory / "cache").iterdir()]
        assert second.name != first.name  # the old build's tables are gone
        monkeypatch.setenv("AROMA_CACHE", "off")
        assert DerivedCache.of(store).directory is None


def test_memory_mapped_arrays_are_saved_whole_read_only_and_recomputed_when_unreadable(tmp_path: Path) -> None:
    cache = DerivedCache(tmp_path)
    table = {"effects": np.arange(12, dtype=np.float32).reshape(3, 4), "names": np.array(["a", "b", "c"])}
    calls = []

    def compute() -> dict:
        calls.append(1)
        return table

    assert cache.arrays("t", compute, memory_map=True) is table
    read = cache.arrays("t", compute, memory_map=True)
    assert len(calls) == 1 and isinstance(read["effects"], np.memmap) and not read["effects"].flags.writeable
    assert np.array_equal(read["effects"], table["effects"]) and read["names"].tolist() == ["a", "b", "c"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    (tmp_path / "t" / "effects.npy").write_bytes(b"damaged")
    assert np.array_equal(cache.arrays("t", compute, memory_map=True)["effects"], table["effects"])
    assert len(calls) == 2  # recomputed, and saved in the damaged folder's place
    assert np.array_equal(cache.arrays("t", compute, memory_map=True)["effects"], table["effects"])
    assert len(calls) == 2
    blocked = tmp_path / "a-file"  # a cache that cannot be written is skipped
    blocked.write_text("")
    assert DerivedCache(blocked).arrays("u", compute, memory_map=True) is table
