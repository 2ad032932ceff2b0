"""Shared fixtures: the real shared data (via $AROMA_DATA), real subsets of it, real ArcadeDB servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aroma.kg.build import build
from aroma.kg.store import GraphStore, open_store
from tests.subset import make_gene_set_sample, make_perturbqa_sample, make_subset

REQUIRE_ENV = "AROMA_REQUIRE_DATA"  # set in CI: missing data fails the run instead of skipping


def _data_root() -> Path:
    value = os.environ.get("AROMA_DATA")
    root = Path(value) if value else None
    if root is None or not (root / "sources").is_dir():
        message = f"shared data not found (AROMA_DATA={value!r}); set AROMA_DATA to the shared data directory"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def data_root() -> Path:
    return _data_root()


@pytest.fixture(scope="session")
def full_sources(data_root: Path) -> Path:
    return data_root / "sources"


@pytest.fixture(scope="session")
def subset_sources(full_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("subset-sources")
    make_subset(full_sources, out)
    return out


def built_store(sources: Path, directory: Path, perturbqa: Path | list[Path] | None = None) -> Iterator[GraphStore]:
    """Start a real ArcadeDB server on ``directory``, build ``sources`` (and ``perturbqa``'s training outcomes)
    into it, yield it, stop it."""
    store = open_store(directory)
    try:
        build(sources, store=store, show_progress=False, perturbqa=perturbqa)
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def subset_store(subset_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """A real ArcadeDB server with the subset graph built once for the session."""
    yield from built_store(subset_sources, tmp_path_factory.mktemp("subset-db"))


@pytest.fixture(scope="session")
def subset_embeddings(subset_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gene-KG (GAT) and Path-KG (SAGE) embeddings of the subset graph, 16-d, a few epochs."""
    from aroma.model.gnn import EncoderConfig
    from aroma.model.graph_data import load_graph
    from aroma.train.gnn import GnnTrainConfig, save_embeddings, train_gnn

    out = tmp_path_factory.mktemp("embeddings")
    for graph, conv in (("gene", "gat"), ("path", "sage")):
        bundle = load_graph(subset_store, graph)
        config = GnnTrainConfig(EncoderConfig(hidden=16, out_dim=16, layers=2, conv=conv), epochs=3)
        _, result, z = train_gnn(bundle, graph, config, show_progress=False)
        save_embeddings(out / f"{graph}_embeddings.pt", bundle, graph, z, result, config)
    return out


@pytest.fixture(scope="session")
def subset_dataset(subset_store: GraphStore, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small PerturbReason dataset from real K562 labels over the subset graph."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.dataset.generate import GenerateConfig, generate

    out = tmp_path_factory.mktemp("perturbreason")
    generate(subset_store, GenerateConfig(PerturbQA(data_root / "perturbqa"), ["k562"], out, limit=120), show_progress=False)
    return out


# -- both engines: the local ArcadeDB default and a real Neo4j 5 (tests/engines.py) ------------------------
from tests.engines import (  # noqa: E402  (fixtures registered here for every test module)
    engine,
    engine_store,
    fresh_engine_store,
    neo4j_server,
    neo4j_subset_store,
)

JVM_MAIN_CLASSES = (b"com.arcadedb.server.ArcadeDBServer", b"aroma.neo4j.Launcher")


def _java_servers_under(base: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if any(name in cmdline for name in JVM_MAIN_CLASSES) and str(base).encode() in cmdline:
                pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="session", autouse=True)
def no_orphaned_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole session no ArcadeDB or Neo4j JVM started by a test may still run."""
    base = tmp_path_factory.getbasetemp()
    yield
    import time

    deadline = time.monotonic() + 15
    while _java_servers_under(base) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _java_servers_under(base) == [], "tests left ArcadeDB or Neo4j servers running"


@pytest.fixture(scope="session")
def sample(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sources, perturbqa): a real PerturbQA sample and the real sources cut to its genes."""
    root = tmp_path_factory.mktemp("experiments")
    symbols = make_perturbqa_sample(data_root / "perturbqa", root / "perturbqa")
    make_subset(data_root / "sources", root / "sources", extra_symbols=symbols)
    return root / "sources", root / "perturbqa"


@pytest.fixture(scope="session")
def sample_gene_sets(data_root: Path, sample: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PerturbQA's K562 gene-set task (targets are gene clusters): the real rows of the sample's knockdowns."""
    return make_gene_set_sample(data_root / "perturbqa-sets", sample[1], tmp_path_factory.mktemp("perturbqa-sets"))


@pytest.fixture(scope="session")
def outcome_store(sample: tuple[Path, Path], sample_gene_sets: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[GraphStore]:
    """The sample's graph with the training outcomes of K562, RPE1 and the K562 gene-set task."""
    yield from built_store(sample[0], tmp_path_factory.mktemp("outcome-db"), perturbqa=[sample[1], sample_gene_sets])
