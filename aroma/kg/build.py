"""``aroma kg build``: parse and map the sources, load them into a staging database, then swap it in."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aroma import __version__
from aroma.errors import AromaError, StoreError
from aroma.kg import schema_files
from aroma.kg.assemble import DEFAULT_STRING_MIN_SCORE, Adapter, KnowledgeGraph, assemble
from aroma.kg.schema import BUILD_INFO, SCHEMA
from aroma.data.perturbqa import cell_lines
from aroma.kg.sources import SourceDir, sha256_of
from aroma.kg.stats import graph_stats
from aroma.kg.graph_import import write_import_files
from aroma.kg.edge_table import EdgeTable
from aroma.kg.store import GraphStore, batched, open_store

DEFAULT_BATCH_SIZE = 20_000
# auto: bulk where the backend has it, else bolt; bolt: UNWIND batches over Bolt (every backend);
# bulk: the database's own importer into the fresh staging database (the local ArcadeDB)
LOADERS = ("auto", "bolt", "bulk")
MAX_SHRINK = 0.5  # a label or edge type losing more than this share of the graph it replaces stops the build


class GraphCollapse(AromaError):
    """The new graph is much smaller than the one it would replace (a sign of broken sources)."""


@dataclass
class BuildReport:
    """What a build did and how long each stage took."""

    target: str
    database: str
    nodes: int
    edges: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    checksum: str = ""
    string_min_score: int = DEFAULT_STRING_MIN_SCORE
    string_below_min_score: int = 0  # STRING links (file lines) not loaded for scoring below the threshold
    loader: str = "bolt"  # how the rows went in: "bulk" (the database's importer) or "bolt" (UNWIND batches)

    @property
    def load_rows_per_second(self) -> float:
        return (self.nodes + self.edges) / max(self.stage_seconds.get("load", 0.0), 1e-9)


def perturbqa_fingerprint(directories: Sequence[Path]) -> dict[str, dict[str, object]]:
    """Path, size and sha256 of every PerturbQA label file whose training outcomes go into the graph."""
    found = {}
    for directory in directories:
        for name in cell_lines(directory):
            for kind in ("de", "dir"):
                path = directory / f"{name}-{kind}.csv"
                found[f"perturbqa_{name}_{kind}"] = {"path": str(path), "bytes": path.stat().st_size,
                                                     "sha256": sha256_of(path), "publisher": "PerturbQA (CC BY 4.0)"}
    return found


def build_checksum(fingerprint: dict[str, dict[str, object]], graph: KnowledgeGraph) -> str:
    """Identifies the graph content: toolkit version, every source's sha256, the build's settings (STRING
    threshold) and the counts per label and edge kind (so a code change that alters the graph changes it too)."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(f"string_min_score={graph.string_min_score}".encode())
    for key in sorted(fingerprint):
        digest.update(f"{key}={fingerprint[key]['sha256']}".encode())
    for label in sorted(graph.nodes):
        digest.update(f"{label}={len(graph.nodes[label])}".encode())
    for kind in sorted(graph.edges):
        digest.update(f"{kind}={len(graph.edges[kind])}".encode())
    return digest.hexdigest()[:16]


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not enabled, transient=False,
    )


def build(
    sources: Path | str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    show_progress: bool = True,
    store: GraphStore | None = None,
    log: Callable[[str], None] = lambda message: None,
    allow_shrink: bool = False,
    perturbqa: Path | str | Sequence[Path | str] | None = None,
    string_min_score: int = DEFAULT_STRING_MIN_SCORE,
    loader: str = "auto",
    adapters: Sequence[Adapter] = (),
) -> BuildReport:
    """Build Gene-KG and Path-KG from a sources directory into ``store`` (default: the local database).

    ``perturbqa``: PerturbQA directories (one or several) whose training-split outcomes are loaded as
    ``KNOCKDOWN_EFFECT`` edges (test-split labels are never read into the graph). ``string_min_score``: STRING links scoring
    below it (0-1000; 400 is STRING's "medium confidence", 0 keeps every link) are not loaded; the
    threshold is recorded in the build's metadata and checksum. ``loader``: ``bulk`` writes the graph to files
    that the database's own importer loads into the fresh staging database (where
    ``backend.capabilities.bulk_import``: ArcadeDB's GraphImporter for the local default), ``bolt`` sends
    ``UNWIND`` batches over Bolt (every backend), ``auto`` (the default) takes bulk where there is one. Both
    give the same graph (a test compares every node and edge). ``adapters``: an extension's sources
    (``aroma.kg.assemble.Adapter``), whose records' labels and edge kinds are declared in the schema.

    One build runs per directory at a time. A node label or edge type that would vanish, or shrink by
    more than ``MAX_SHRINK`` of the graph being replaced, stops the build before anything is changed
    unless ``allow_shrink``.
    """
    if loader not in LOADERS:
        raise ValueError(f"loader {loader!r} is not one of {', '.join(LOADERS)}")
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    source_dir = SourceDir(Path(sources).expanduser())
    source_dir.check_layout()
    own_store = store is None
    store = store or open_store()
    if loader == "bulk" and not store.backend.capabilities.bulk_import:
        if own_store:
            store.close()
        raise AromaError(f"{store.target} has no bulk import (neo4j-admin needs the server's own disk and a stopped "
                         "database: see `aroma kg export --format neo4j-admin`); use the Bolt loader")
    bulk = loader == "bulk" or (loader == "auto" and store.backend.capabilities.bulk_import)
    try:
        with store.backend.exclusive():
            return _build(source_dir, store, started, started_at, batch_size, show_progress, log, allow_shrink,
                          _directories(perturbqa), string_min_score, bulk, adapters)
    finally:
        if own_store:
            store.close()


def _directories(perturbqa: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if perturbqa is None:
        return []
    return [Path(d).expanduser() for d in ([perturbqa] if isinstance(perturbqa, (str, Path)) else perturbqa)]


def _build(source_dir: SourceDir, store: GraphStore, started: float, started_at: str, batch_size: int,
           show_progress: bool, log: Callable[[str], None], allow_shrink: bool,
           perturbqa_dirs: Sequence[Path], string_min_score: int, bulk: bool = False,
           adapters: Sequence[Adapter] = ()) -> BuildReport:
    stages: dict[str, float] = {}
    mark = time.monotonic()
    fingerprint = source_dir.fingerprint()
    fingerprint.update(perturbqa_fingerprint(perturbqa_dirs))
    stages["checksums"] = time.monotonic() - mark

    mark = time.monotonic()
    graph = assemble(source_dir, lambda name: log(f"parsing and mapping: {name}"), perturbqa_dirs, string_min_score,
                     adapters)
    stages["parse_and_map"] = time.monotonic() - mark
    for key, version in graph.versions.items():
        if version and key in fingerprint:
            fingerprint[key]["version"] = version
    if not allow_shrink:
        check_collapse(graph_counts(graph), previous_counts(store), store.target)

    staging = store.backend.staging()
    try:
        mark = time.monotonic()
        if bulk:
            stages["load_file"] = _load_bulk(store, staging, graph, batch_size, show_progress)
        else:
            _load(store, staging, graph, batch_size, show_progress)
        stages["load"] = time.monotonic() - mark
        checksum = build_checksum(fingerprint, graph)
        store.write(
            SCHEMA.node(BUILD_INFO).loader,
            database=staging,
            id=checksum,
            checksum=checksum,
            started_at=started_at,
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            seconds=round(time.monotonic() - started, 2),
            toolkit_version=__version__,
            sources=json.dumps(fingerprint, sort_keys=True),
            mappings=json.dumps({k: m.as_dict() for k, m in sorted(graph.mappings.items())}, sort_keys=True),
            stage_seconds=json.dumps({k: round(v, 2) for k, v in stages.items()}),
            string_min_score=graph.string_min_score,
            string_below_min_score=graph.string_below_min_score,
        )
        store.backend.promote(staging)
    except BaseException:
        store.backend.discard(staging)
        raise
    return BuildReport(store.target, staging, graph.node_count, graph.edge_count, stages, checksum,
                       graph.string_min_score, graph.string_below_min_score, "bulk" if bulk else "bolt")


def graph_counts(graph: KnowledgeGraph) -> dict[str, int]:
    counts = {f":{label}": len(nodes) for label, nodes in graph.nodes.items()}
    counts.update({f"({a})-[:{t}]->({b})": len(edges) for (a, t, b), edges in graph.edges.items()})
    return counts


def previous_counts(store: GraphStore) -> dict[str, int]:
    """Counts per node label and edge type of the graph a build would replace ({} when there is none), for
    the labels and types a build loads (a foreign label is cleared by a rebuild, not guarded)."""
    if store.database is None:
        return {}
    try:
        stats = graph_stats(store)
    except StoreError:
        return {}
    # what a build loads is what the schema declares; anything else in the database is not its graph
    counts = {f":{label}": n for label, n in stats.nodes.items()
              if label in SCHEMA.nodes and not SCHEMA.nodes[label].metadata}
    counts.update({f"({e['source']})-[:{e['type']}]->({e['target']})": e["count"] for e in stats.edges
                   if (e["source"], e["type"], e["target"]) in SCHEMA.edges})
    return counts


def check_collapse(new: dict[str, int], previous: dict[str, int], target: str, max_shrink: float = MAX_SHRINK) -> None:
    """Raise ``GraphCollapse`` naming each label or edge type that vanishes or shrinks by more than ``max_shrink``."""
    lost = [f"{key} {before:,} → {new.get(key, 0):,}" for key, before in sorted(previous.items())
            if before > 0 and new.get(key, 0) < before * (1 - max_shrink)]
    if lost:
        raise GraphCollapse(
            f"the new graph would shrink the one in {target} by more than {max_shrink:.0%} ({'; '.join(lost)}); "
            "nothing was changed. Check the sources, or pass --allow-shrink if this is intended")


def _load(store: GraphStore, database: str, graph: KnowledgeGraph, batch_size: int, show_progress: bool) -> None:
    if not store.backend.capabilities.staging_databases:  # rebuilt in place: empty it first
        store.write("schema/clear", database=database)
    store.write(schema_files.CONSTRAINTS, database=database)
    with _progress(show_progress) as progress:
        for label, nodes in sorted(graph.nodes.items(), key=lambda item: SCHEMA.order_key_node(item[0])):
            task = progress.add_task(f"nodes :{label}", total=len(nodes))
            rows = [n.row() for n in nodes]
            store.load(SCHEMA.node(label).loader, rows, batch_size=batch_size, database=database,
                       advance=lambda n, t=task: progress.advance(t, n))
        for kind, edges in sorted(graph.edges.items(), key=lambda item: SCHEMA.order_key_edge(item[0])):
            task = progress.add_task(f"edges ({kind[0]})-[:{kind[1]}]->({kind[2]})", total=len(edges))
            batches = edges.batches(batch_size) if isinstance(edges, EdgeTable) else batched(
                [e.row() for e in edges], batch_size)
            store.load_batches(SCHEMA.edge(kind).loader, batches, total=len(edges), database=database,
                               advance=lambda n, t=task: progress.advance(t, n))


def _load_bulk(store: GraphStore, database: str, graph: KnowledgeGraph, batch_size: int,
               show_progress: bool) -> float:
    """The database's importer loads the fresh staging database from files (removed after) and must create
    exactly the graph's nodes and edges; then the constraints, and over Bolt what the importer cannot
    represent. Returns the seconds spent writing the files."""
    folder = store.backend.import_directory() / database
    try:
        mark = time.monotonic()
        with _progress(show_progress) as progress:
            task = progress.add_task("writing the importer's files", total=graph.node_count + graph.edge_count)
            files = write_import_files(graph, folder, lambda n: progress.advance(task, n))
            written = time.monotonic() - mark
            importing = progress.add_task("the database's importer", total=None)
            created = store.backend.bulk_import(database, files.config)
            progress.update(importing, total=1, completed=1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if (created["vertices"], created["edges"]) != (files.vertices, files.edges):
        raise StoreError(f"the bulk import created {created['vertices']:,} nodes and {created['edges']:,} edges, "
                         f"not {files.vertices:,} and {files.edges:,}; nothing was changed")
    store.write(schema_files.CONSTRAINTS, database=database)
    for label, rows in files.node_updates.items():
        store.load(SCHEMA.node(label).updater, rows, batch_size=batch_size, database=database)
    for kind in files.bolt_edges:
        store.load(SCHEMA.edge(kind).loader, [e.row() for e in graph.edges[kind]], batch_size=batch_size,
                   database=database)
    return written
