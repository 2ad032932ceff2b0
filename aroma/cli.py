"""The ``aroma`` command line: parses arguments and calls the API, nothing more."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from aroma import config
from aroma.console import output_width
from aroma.dismantle.cli import dismantle_app
from aroma.errors import AromaError

app = typer.Typer(help="AROMA toolkit: knowledge graphs and perturbation reasoning.", no_args_is_help=True)
kg_app = typer.Typer(help="Build and inspect Gene-KG and Path-KG.", no_args_is_help=True)
app.add_typer(kg_app, name="kg")
dataset_app = typer.Typer(help="Build the PerturbReason dataset.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
train_app = typer.Typer(help="Train graph encoders, the classifier, and the language model.", no_args_is_help=True)
app.add_typer(train_app, name="train")
model_app = typer.Typer(help="Model inputs: protein embeddings.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(dismantle_app, name="dismantle")
out = Console(width=output_width(sys.stdout))
err = Console(stderr=True, width=output_width(sys.stderr))

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Neo4j URI (bolt://, neo4j://, neo4j+s://) or local database directory",
                 show_default="$AROMA_DB or ~/.aroma/db"),
]
UserOption = Annotated[Optional[str], typer.Option("--user", envvar="AROMA_NEO4J_USER", help="Neo4j user")]
PasswordOption = Annotated[
    Optional[str], typer.Option("--password", envvar="AROMA_NEO4J_PASSWORD", help="Neo4j password", show_default=False)
]
DatabaseOption = Annotated[Optional[str], typer.Option("--database", help="Neo4j database name", show_default="neo4j")]


@app.callback()
def _main(
    threads: Annotated[Optional[int], typer.Option(
        "--threads", min=1, help="CPU threads for torch (training, embedding, evaluation)",
        show_default="$AROMA_THREADS, else $OMP_NUM_THREADS, else the cores not already busy")] = None,
) -> None:
    """AROMA toolkit: knowledge graphs and perturbation reasoning."""
    from aroma.console import configure_global_console
    from aroma.threads import configure_threads

    configure_global_console()
    try:
        configure_threads(threads)
    except AromaError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 1) -> None:
    from rich.markup import escape

    from aroma.errors import redact

    err.print(f"[bold red]error:[/] {escape(redact(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that clean-up (rollback, staging drop) runs."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _guard(func):
    """Turn toolkit errors, Ctrl-C and SIGTERM into one clear line and a non-zero exit code."""
    import functools
    import signal

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signal.signal(signal.SIGTERM, _terminated)
        try:
            return func(*args, **kwargs)
        except AromaError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; unfinished work was rolled back (a build leaves the previous graph in place)", 130)
        except Terminated:
            _fail("terminated (SIGTERM); unfinished work was rolled back (a build leaves the previous graph in place)",
                  143)

    return wrapper


def _sources(option: Path | None) -> Path:
    directory = config.sources_dir(option)
    if directory is None:
        _fail("no sources directory: pass --sources DIR or set AROMA_SOURCES / AROMA_DATA")
    return directory


def _perturbqa(option: Path | None) -> Path:
    directory = config.perturbqa_dir(option)
    if directory is None:
        _fail("no PerturbQA directory: pass --perturbqa DIR or set AROMA_DATA")
    return directory


def _store(db: str | None, user: str | None = None, password: str | None = None, database: str | None = None,
           create: bool = False):
    """Open the target; only a build (``create``) may create a local directory, credentials and a server."""
    from aroma.kg.store import open_store

    return open_store(db, user=user, password=password, database=database, create=create)


@kg_app.command("fetch")
@_guard
def kg_fetch(
    dest: Annotated[Path, typer.Option("--dest", help="directory to fill with the source files")],
    mirror: Annotated[Optional[Path], typer.Option("--mirror", help="copy from this local directory instead")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
) -> None:
    """Download every source file from its publisher (resumable, sha256 recorded), or copy it from a mirror."""
    from aroma.kg.fetch import fetch

    manifest = fetch(dest.expanduser(), mirror.expanduser() if mirror else None, show_progress=not quiet)
    out.print(f"{len(manifest)} source files in {dest} (checksums in {dest / 'MANIFEST.json'})")


@kg_app.command("build")
@_guard
def kg_build(
    sources: Annotated[
        Optional[Path], typer.Option("--sources", help="sources directory",
                                   show_default="$AROMA_SOURCES or $AROMA_DATA/sources")
    ] = None,
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="rows per transaction")] = 20_000,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
    allow_shrink: Annotated[bool, typer.Option("--allow-shrink", help="replace the graph even if a label or edge "
                                               "type vanishes or shrinks by more than half")] = False,
    perturbqa: Annotated[Optional[Path], typer.Option(
        "--perturbqa", help="PerturbQA directory whose training-split outcomes become KNOCKDOWN_EFFECT edges "
        "(test labels are never loaded)", show_default="$AROMA_DATA/perturbqa if it exists")] = None,
    no_outcomes: Annotated[bool, typer.Option("--no-outcomes", help="load no PerturbQA outcomes")] = False,
    string_min_score: Annotated[int, typer.Option(
        "--string-min-score", min=0, max=1000, help="load only STRING links with at least this combined score "
        "(400: STRING's medium confidence, 700: high; 0 keeps every link)")] = 400,
) -> None:
    """Parse every source and load Gene-KG and Path-KG; the previous graph stays intact until the build succeeds."""
    from aroma.kg.build import build

    directory = _sources(sources)
    outcomes = None if no_outcomes else config.perturbqa_dir(perturbqa)
    if perturbqa is None and outcomes is not None and not outcomes.is_dir():
        outcomes = None  # the default is used only where it exists
    with _store(db, user, password, database, create=True) as store:
        report = build(directory, store=store, batch_size=batch_size, show_progress=not quiet, allow_shrink=allow_shrink,
                       perturbqa=outcomes, string_min_score=string_min_score,
                       log=(lambda m: None) if quiet else (lambda m: err.print(f"[dim]{m}[/]")))
    seconds = report.stage_seconds
    out.print(
        f"built {report.nodes:,} nodes and {report.edges:,} edges into {report.target} "
        f"(database {report.database}, checksum {report.checksum}): parse+map {seconds['parse_and_map']:.1f} s, "
        f"load {seconds['load']:.1f} s ({report.load_rows_per_second:,.0f} rows/s); STRING links scoring below "
        f"{report.string_min_score} not loaded: {report.string_below_min_score:,}"
    )


@kg_app.command("stats")
@_guard
def kg_stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Node and edge counts per label and type, sources with versions and checksums, unmapped records, build time."""
    from aroma.kg.stats import graph_stats

    with _store(db, user, password, database) as store:
        stats = graph_stats(store)
    if as_json:
        out.print_json(json.dumps(stats.as_dict()))
        return
    nodes = Table(title=f"Nodes ({stats.node_total:,})")
    nodes.add_column("label")
    nodes.add_column("count", justify="right")
    for label, count in stats.nodes.items():
        nodes.add_row(label, f"{count:,}")
    edges = Table(title=f"Edges ({stats.edge_total:,})")
    for column in ("source", "type", "target"):
        edges.add_column(column)
    edges.add_column("count", justify="right")
    for row in stats.edges:
        edges.add_row(row["source"], row["type"], row["target"], f"{row['count']:,}")
    out.print(nodes, edges)
    build = stats.build
    if not build:
        return
    sources = Table(title="Sources")
    for column in ("source", "version", "bytes", "sha256", "records", "unmapped"):
        sources.add_column(column, justify="right" if column in ("bytes", "records", "unmapped") else "left")
    mappings = build.get("mappings", {})
    for key, info in build.get("sources", {}).items():
        mapping = mappings.get(key, {})
        sources.add_row(key, str(info.get("version") or "-"), f"{info['bytes']:,}",
                        info["sha256"][:12], f"{mapping.get('records', 0):,}" if mapping else "-",
                        f"{mapping.get('unmapped', 0):,}" if mapping else "-")
    out.print(sources)
    for key, mapping in mappings.items():
        for reason, count in mapping.get("reasons", {}).items():
            out.print(f"  unmapped {key}: {count:,} × {reason} (e.g. {'; '.join(mapping['examples'][reason][:3])})",
                      highlight=False)
    threshold = build.get("string_min_score")
    out.print("STRING minimum combined score: " + ("not recorded (graph built before thresholds)" if threshold is None
              else f"{threshold} ({build.get('string_below_min_score') or 0:,} links below it not loaded)"),
              highlight=False)
    out.print(f"built {build['finished_at']} in {build['seconds']} s (stages: {build.get('stage_seconds')}), "
              f"database {stats.database}, checksum {build['checksum']}", highlight=False)


class ExportFormat(str, Enum):
    neo4j_admin = "neo4j-admin"
    turtle = "turtle"
    nt = "nt"


@kg_app.command("export")
@_guard
def kg_export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="neo4j-admin CSVs, or RDF (turtle, nt)")],
    out: Annotated[Path, typer.Option("--out", help="directory (neo4j-admin) or file (RDF)")],
    sources: Annotated[
        Optional[Path], typer.Option("--sources", help="neo4j-admin: sources directory",
                                   show_default="$AROMA_SOURCES or $AROMA_DATA/sources")
    ] = None,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Export for `neo4j-admin database import full` (from the sources) or as RDF (from the built graph)."""
    if fmt is ExportFormat.neo4j_admin:
        from aroma.kg.assemble import assemble
        from aroma.kg.export_admin import export_neo4j_admin
        from aroma.kg.sources import SourceDir

        directory = _sources(sources)
        source_dir = SourceDir(directory)
        source_dir.check_layout()
        command = export_neo4j_admin(assemble(source_dir), out.expanduser(), database or "neo4j")
        err.print(f"wrote CSVs to {out}; with the Neo4j server stopped, run (also in {out / 'import.sh'}):",
                  highlight=False)
        sys.stdout.write(command + "\n")
        return
    from aroma.kg.export_rdf import export_rdf

    with _store(db, user, password, database) as store:
        count = export_rdf(store, out.expanduser(), fmt.value)
    err.print(f"wrote {count:,} triples to {out}", highlight=False)


@kg_app.command("serve")
@_guard
def kg_serve(
    db: Annotated[Optional[Path], typer.Option("--db", help="local database directory",
                                                 show_default="$AROMA_DB or ~/.aroma/db")] = None,
    port: Annotated[int, typer.Option("--port", help="Bolt port on 127.0.0.1")] = 7687,
    engine: Annotated[str, typer.Option("--engine", help="arcadedb (the local default) or neo4j (Neo4j 5.26 "
                                        "Community from Maven; needs Java 17+ and mvn; --db is its home, "
                                        "default ~/.aroma/neo4j)")] = "arcadedb",
) -> None:
    """Keep the local ArcadeDB server running on loopback for cypher-shell or any Bolt client; Ctrl-C stops it."""
    import time

    from aroma.kg.arcadedb import LocalArcadeDB
    from aroma.kg.store import default_target

    if engine == "neo4j":
        from aroma.kg.neo4j_local import serve_neo4j

        serve_neo4j(db or Path("~/.aroma/neo4j"), port, say=lambda m: out.print(m, highlight=False, soft_wrap=True),
                    log=lambda m: err.print(f"[dim]{m}[/]"))
        return
    if engine != "arcadedb":
        _fail(f"unknown engine {engine!r}: arcadedb or neo4j")
    server = LocalArcadeDB(db or Path(default_target())).start(bolt_port=port)
    try:
        if not server.owned:
            _fail(f"a server already runs on {server.directory} at {server.bolt_uri}; connect there")
        out.print(f"serving {server.directory} at {server.bolt_uri} (database {server.current or 'none built yet'})",
                  highlight=False)
        out.print(f"user {server.auth[0]}, password in {server.directory / 'credentials.json'}; Ctrl-C stops",
                  highlight=False)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        out.print("stopping; the data stays in " + str(server.directory), highlight=False)
    finally:
        server.stop()


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"{text!r} is not name=value")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


@app.command("cypher")
@_guard
def cypher_command(
    query: Annotated[Optional[str], typer.Argument(help="Cypher query (Neo4j 5 syntax); without one, an "
                                                  "interactive shell (statements end with ';', :help)")] = None,
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-p", help="name=value (value parsed as JSON when it can be)")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    write: Annotated[bool, typer.Option("--write", help="allow the query to change the graph")] = False,
    allow_file_urls: Annotated[bool, typer.Option("--allow-file-urls", help="let LOAD CSV read local files")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Run an ad hoc Cypher query, or open a shell; read-only (decided before running) unless --write is given."""
    from aroma.cypher_shell import CypherShell, print_result

    params = dict(_parse_param(p) for p in param or [])
    with _store(db, user, password, database) as store:
        if query is None:
            shell = CypherShell(store, params, write, allow_file_urls, fmt.value)
            code = shell.run(sys.stdin, sys.stdout, sys.stderr)
            if code:
                raise typer.Exit(code)
            return
        result = store.run(query, params, write=write, allow_file_urls=allow_file_urls)
    print_result(result, fmt.value, sys.stdout, sys.stderr)


PERTURBQA_CELL_LINES = ("K562", "RPE1", "HEPG2", "JURKAT")


def _note_cell_line(cell_line: str) -> None:
    """The evidence does not depend on the cell line: say so when the name is not one PerturbQA measured."""
    if cell_line.upper() not in PERTURBQA_CELL_LINES:
        err.print(f"note: {cell_line} is not a PerturbQA cell line ({', '.join(PERTURBQA_CELL_LINES)}); the "
                  "knowledge-graph evidence is the same for every cell line, the name only labels the output",
                  highlight=False, markup=False)


@app.command("retrieve")
@_guard
def retrieve_command(
    perturbed: Annotated[str, typer.Argument(help="perturbed (knocked-down) gene: symbol or alias")],
    target: Annotated[str, typer.Argument(help="target gene: symbol or alias")],
    cell_line: Annotated[str, typer.Option("--cell-line", help="cell line that labels the output; the graphs' "
                                           "evidence is the same for every cell line")] = "K562",
    as_json: Annotated[bool, typer.Option("--json", help="print the evidence as JSON")] = False,
    experiments: Annotated[bool, typer.Option(
        "--experiments/--no-experiments", help="add what the most similar training knockdowns did to the target "
        "(when the graph holds PerturbQA outcomes for the cell line)")] = True,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Evidence from the knowledge graphs for one (perturbed gene, target gene) pair."""
    from aroma.lean_import import import_driver_without_dataframes

    import_driver_without_dataframes()  # one pair: start-up time matters
    from aroma.retrieval import EvidenceIndex, render_evidence
    _note_cell_line(cell_line)
    with _store(db, user, password, database) as store:
        index = EvidenceIndex(store)
        if experiments and cell_line.upper() in index.outcome_cell_lines():
            from aroma.retrieval.neighbours import neighbours_from_store

            index.use_outcomes(neighbours_from_store(store, cell_line, cache=index.cache))
        evidence = index.evidence(perturbed, target, cell_line.upper())
    if as_json:
        sys.stdout.write(json.dumps(evidence.to_dict(), indent=1, sort_keys=True) + "\n")
    else:
        out.print(render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)


@dataset_app.command("generate")
@_guard
def dataset_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="output directory")],
    cell_line: Annotated[list[str], typer.Option("--cell-line", help="k562 and/or rpe1 (repeat the option)")],
    perturbqa: Annotated[
        Optional[Path], typer.Option("--perturbqa", help="directory of {cell}-de.csv / {cell}-dir.csv",
                                     show_default="$AROMA_DATA/perturbqa")
    ] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="seeded sample of N pairs per cell line")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="processes building examples")] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    validation: Annotated[float, typer.Option("--validation", min=0.0, max=0.9,
                                              help="share of training perturbations held out")] = 0.1,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
) -> None:
    """PerturbQA labels + knowledge-graph evidence → JSONL, a Hugging Face dataset, a card and a plot."""
    import time

    from aroma.dataset.generate import GenerateConfig, generate

    directory = _perturbqa(perturbqa)
    config = GenerateConfig(directory, cell_line, out_dir, limit, workers, seed, validation)
    start = time.monotonic()
    with _store(db, user, password, database) as store:
        card = generate(store, config, show_progress=not quiet)
    seconds = time.monotonic() - start
    out.print(f"{card.pairs:,} examples in {out_dir} ({seconds:.0f} s, {card.pairs / seconds:,.0f} pairs/s, peak "
              f"memory {card.peak_rss_mb:,.0f} MB); card: {out_dir / 'README.md'}", highlight=False)


@train_app.command("gnn")
@_guard
def train_gnn_command(
    graph: Annotated[str, typer.Option("--graph", help="gene (Gene-KG) or path (Path-KG)")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the encoder and gene embeddings")],
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 50,
    dim: Annotated[int, typer.Option("--dim", help="embedding size (AROMA: 1024)")] = 128,
    layers: Annotated[int, typer.Option("--layers", min=1)] = 2,
    conv: Annotated[str, typer.Option("--conv", help="sage or gat (AROMA: gat)")] = "sage",
    lr: Annotated[float, typer.Option("--lr")] = 0.01,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet")] = False,
) -> None:
    """Pretrain a heterogeneous GNN on Gene-KG or Path-KG by link prediction; save per-gene embeddings."""
    import torch

    from aroma.model.gnn import EncoderConfig
    from aroma.model.graph_data import GRAPHS, load_graph
    from aroma.train.gnn import GnnTrainConfig, save_embeddings, train_gnn

    if graph not in GRAPHS:
        _fail(f"--graph must be one of {sorted(GRAPHS)}, not {graph!r}")
    config = GnnTrainConfig(EncoderConfig(hidden=dim, out_dim=dim, layers=layers, conv=conv), epochs, lr, seed=seed)
    with _store(db, user, password, database) as store:
        bundle = load_graph(store, graph)
    model, result, embeddings = train_gnn(bundle, graph, config, show_progress=not quiet)
    save_embeddings(out_dir / f"{graph}_embeddings.pt", bundle, graph, embeddings, result, config)
    torch.save(model.state_dict(), out_dir / f"{graph}_encoder.pt")
    out.print(f"{graph}-KG link prediction: held-out AUROC {result.test_auroc:.3f} (validation {result.val_auroc:.3f}), "
              f"{result.epoch_seconds:.2f} s/epoch; embeddings in {out_dir / f'{graph}_embeddings.pt'}", highlight=False)


@model_app.command("embed-proteins")
@_guard
def embed_proteins_command(
    esm_weights: Annotated[Path, typer.Option("--esm-weights", help="local ESM-2 checkpoint, e.g. esm2_t33_650M_UR50D.pt")],
    out_dir: Annotated[Path, typer.Option("--out", help="embeddings directory (beside gene_embeddings.pt)")],
    sources: Annotated[Optional[Path], typer.Option("--sources", help="sources directory (for the UniProt FASTA)",
                                                           show_default="$AROMA_SOURCES or $AROMA_DATA/sources")] = None,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="cache directory", show_default="OUT/esm_cache")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu or cuda")] = "cpu",
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Mean-pooled ESM-2 embedding of every gene's protein (genes without a sequence are flagged, not zero-filled)."""
    import torch

    from aroma.kg.sources import SourceDir
    from aroma.model.protein import ProteinEmbedder, gene_protein_embeddings

    directory = _sources(sources)
    with _store(db, user, password, database) as store:
        genes = store.read("model/gene_nodes")
        checksum = store.read("model/build_checksum")[0]["checksum"]
    embedder = ProteinEmbedder(esm_weights, cache or out_dir / "esm_cache", device=device)
    ids = [g["id"] for g in genes]
    uniprot = {g["id"]: g["uniprot"] for g in genes if g["uniprot"]}
    table, present = gene_protein_embeddings(embedder, SourceDir(directory).path("uniprot"), ids, uniprot)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"graph": "protein", "checksum": checksum, "ids": ids, "symbols": [g["symbol"] for g in genes],
                "embeddings": table, "present": present, "model": esm_weights.name}, out_dir / "protein_embeddings.pt")
    out.print(f"{int(present.sum()):,} of {len(ids):,} genes embedded with {esm_weights.name} "
              f"({embedder.dim}-d); the rest use the model's learned missing vector", highlight=False)


@train_app.command("classifier")
@_guard
def train_classifier_command(
    embeddings: Annotated[Path, typer.Option("--embeddings", help="directory with gene/path(/protein)_embeddings.pt")],
    out_dir: Annotated[Path, typer.Option("--out")],
    cell_line: Annotated[str, typer.Option("--cell-line")] = "k562",
    perturbqa: Annotated[Optional[Path], typer.Option("--perturbqa", help="directory of {cell}-de.csv / {cell}-dir.csv",
                                                 show_default="$AROMA_DATA/perturbqa")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet")] = False,
) -> None:
    """Train the fusion + 3-class head (no LLM) and report PerturbQA's per-gene AUROC on the test split."""
    from aroma.model.assets import load_gene_space
    from aroma.train.classifier import ClassifierConfig, train_classifier

    directory = _perturbqa(perturbqa)
    with _store(db, user, password, database) as store:
        space = load_gene_space(embeddings, store)
        report = train_classifier(space, store, directory, ClassifierConfig(cell_line, epochs, seed=seed), out_dir,
                                  show_progress=not quiet)
    test = report["test"]
    out.print(f"{cell_line.upper()} test: DE AUROC {test['de_auroc']:.3f} ({test['de_genes']} genes), direction AUROC "
              f"{test['direction_auroc']:.3f} ({test['direction_genes']} genes), macro-F1 {test['macro_f1']:.3f}, "
              f"{report['epoch_seconds']:.1f} s/epoch; report in {out_dir / 'classifier_report.json'}", highlight=False)


ConfigOption = Annotated[Optional[Path], typer.Option("--config", help="YAML or TOML training settings")]
SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", help="override settings: key=value, several after one --set (--set max_steps=2 batch_size=2 "
    "lora.rank=8); `aroma train settings` lists them with their defaults")]
# Lets `--set a=1 b=2` through: click gives each option one value, the others arrive as extra arguments.
SET_CONTEXT = {"allow_extra_args": True}
ResumeOption = Annotated[bool, typer.Option("--resume", help="continue from the last checkpoint in OUT/checkpoints")]


def _overrides(ctx: typer.Context, override: list[str] | None) -> list[str]:
    """The ``--set`` values plus the key=value words that followed them."""
    extra = list(ctx.args)
    if extra and (not override or any("=" not in word or word.startswith("-") for word in extra)):
        bad = next((w for w in extra if "=" not in w or w.startswith("-")), extra[0])
        _fail(f"unexpected argument {bad!r}: settings are key=value after --set", 2)
    return [*(override or []), *extra]


@train_app.command("settings")
def train_settings_command(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Every SFT/GRPO setting with its default: set them in --config FILE (YAML/TOML) or with --set key=value."""
    from dataclasses import asdict

    from aroma.train.config import describe_settings

    rows = describe_settings()
    if as_json:
        sys.stdout.write(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
        return
    table = Table("setting", "default", "type", "meaning", caption="--set key=value, or a key in --config FILE")
    for row in rows:
        table.add_row(row.key, json.dumps(row.default), row.type, row.help)
    out.print(table, highlight=False)


def _log_summary(name: str, result: dict, out_dir: Path) -> None:
    out.print(f"{name}: {result['steps']} steps, mean loss {result['train_loss']:.4f}; model in {out_dir}",
              highlight=False)
    (out_dir / f"{name.lower()}_log.json").write_text(json.dumps(result["log"], indent=1))


@train_app.command("sft", context_settings=SET_CONTEXT)
@_guard
def train_sft_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset (from `aroma dataset generate`)")],
    base_model: Annotated[str, typer.Option("--base-model", help="local model directory, a .gguf file, or smollm2")],
    embeddings: Annotated[Path, typer.Option("--embeddings", help="directory from `aroma train gnn`")],
    out_dir: Annotated[Path, typer.Option("--out")],
    config: ConfigOption = None,
    override: SetOption = None,
    resume: ResumeOption = False,
) -> None:
    """Multimodal supervised fine-tuning (TRL SFTTrainer, LoRA on the LM, fusion trained, prompts masked)."""
    from aroma.train.config import load_settings
    from aroma.train.sft import run_sft

    result = run_sft(data, base_model, embeddings, out_dir, load_settings(config, _overrides(ctx, override)), resume)
    _log_summary("SFT", result, out_dir)


@train_app.command("grpo", context_settings=SET_CONTEXT)
@_guard
def train_grpo_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset")],
    init: Annotated[Path, typer.Option("--init", help="model directory from `aroma train sft`")],
    out_dir: Annotated[Path, typer.Option("--out")],
    config: ConfigOption = None,
    override: SetOption = None,
    resume: ResumeOption = False,
) -> None:
    """GRPO (TRL GRPOTrainer) with format, label, correctness (+5/−1) and evidence-grounding rewards."""
    from aroma.train.config import load_settings
    from aroma.train.grpo import run_grpo

    result = run_grpo(data, init, out_dir, load_settings(config, _overrides(ctx, override)), resume)
    _log_summary("GRPO", result, out_dir)


@app.command("eval")
@_guard
def eval_command(
    model_dir: Annotated[Path, typer.Option("--model", help="model directory (SFT or GRPO output)")],
    data: Annotated[Path, typer.Option("--data", help="PerturbReason dataset")],
    out_dir: Annotated[Path, typer.Option("--out", help="where the report and plots go")],
    split: Annotated[str, typer.Option("--split")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1,
                                                 help="about N pairs: all pairs of seeded random target genes")] = None,
    classifier: Annotated[Optional[Path], typer.Option("--classifier", help="`aroma train classifier` output")] = None,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="embeddings of the classifier")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 4,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """PerturbQA's protocol: per-gene AUROC for DE and direction, macro-F1, accuracy; baselines side by side."""
    from contextlib import nullcontext

    from aroma.train.evaluate import evaluate_model

    with (_store(db, user, password, database) if classifier is not None else nullcontext()) as store:
        report = evaluate_model(model_dir, data, split, out_dir, limit, classifier, embeddings, batch_size,
                                store=store)
    table = Table("method", "DE AUROC", "direction AUROC", "macro-F1", "accuracy",
                  caption=f"{report['split']}: {report['pairs']} pairs; per-gene AUROC averaged over genes")
    for name, m in report["metrics"].items():
        table.add_row(name, *(f"{m[k]:.3f}" if m[k] is not None else "n/a"
                              for k in ("de_auroc", "direction_auroc", "macro_f1", "accuracy")))
    out.print(table)
    for name, m in report["metrics"].items():
        for key, why in m.get("notes", {}).items():
            err.print(f"{name} {key}: n/a, {why}", highlight=False, markup=False)
    out.print(f"report: {out_dir / 'eval_report.json'}, plots: {out_dir / 'roc_pr.png'}", highlight=False)


@app.command("predict")
@_guard
def predict_command(
    perturbed: Annotated[str, typer.Argument(help="perturbed gene")],
    target: Annotated[str, typer.Argument(help="target gene")],
    model_dir: Annotated[Path, typer.Option("--model", help="model directory")],
    cell_line: Annotated[str, typer.Option("--cell-line")] = "K562",
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 256,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress on stderr")] = False,
) -> None:
    """The answer for one pair, with its probabilities, the reasoning and the evidence it used."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from aroma.model.lm import AromaLM
    from aroma.retrieval import EvidenceIndex, render_evidence
    from aroma.train.evaluate import predict_pair
    from aroma.train.lm_setup import quiet_libraries

    _note_cell_line(cell_line)
    with _store(db, user, password, database) as store:
        evidence = EvidenceIndex(store).evidence(perturbed, target, cell_line.upper())
    quiet_libraries()
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as progress:
        loading = progress.add_task("loading the model", total=None)
        model = AromaLM.from_pretrained(model_dir)
        progress.update(loading, total=1, completed=1)
        result = predict_pair(model, evidence, (perturbed, target), max_new_tokens, progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
        return
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    out.print(f"{perturbed} knockdown → {target} in {cell_line.upper()}: {result['answer']} ({probabilities})",
              highlight=False, markup=False)
    out.print(f"reasoning: {result['reasoning']}", highlight=False, markup=False, soft_wrap=True)
    out.print("evidence:\n" + render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)




@app.command("bench")
@_guard
def bench_command(
    out_dir: Annotated[Path, typer.Option("--out", help="where bench.json, bench.md and bench.png go")],
    perturbqa: Annotated[
        Optional[Path], typer.Option("--perturbqa", help="directory of {cell}-de.csv / {cell}-dir.csv: every such "
                                     "pair is a cell line", show_default="$AROMA_DATA/perturbqa")
    ] = None,
    cell_line: Annotated[Optional[list[str]], typer.Option(
        "--cell-line", help="only these cell lines (repeat the option)", show_default="every one found")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="similar knockdowns that measured T, per pair")] = 20,
    cross: Annotated[bool, typer.Option("--cross/--no-cross", help="also run the neighbour model with what P "
                                        "did in the other cell lines (their training splits)")] = True,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    embeddings: Annotated[Optional[Path], typer.Option(
        "--embeddings", help="GNN embeddings (`aroma train gnn`): adds the classifier, fusion + neighbour features")
    ] = None,
    model_dir: Annotated[Optional[Path], typer.Option(
        "--model", help="a language model (`aroma train sft|grpo` output): scored on a sample of test target genes")
    ] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="the PerturbReason dataset of --model's prompts")
                    ] = None,
    lm_pairs: Annotated[int, typer.Option("--lm-pairs", min=1, help="about this many test pairs per cell line "
                                          "for the language model (whole target genes)")] = 200,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Every method on every PerturbQA cell line: PerturbQA's per-gene AUROC, macro-F1, time and memory,
    with the published numbers beside (validation for choices, test for the report)."""
    from dataclasses import replace

    from aroma.train.bench import BenchSettings, markdown_table, run_bench

    directory = _perturbqa(perturbqa)
    settings = BenchSettings(seed=seed, cross_cell_line=cross, embeddings=embeddings, lm_model=model_dir,
                             lm_data=data, lm_pairs=lm_pairs)
    settings = replace(settings, neighbours=replace(settings.neighbours, k=k))
    with _store(db, user, password, database) as store:
        results = run_bench(store, directory, out_dir, cell_line, settings, show_progress=not quiet)
    out.print(markdown_table(results, "test"), highlight=False, markup=False, soft_wrap=True)
    out.print(f"report: {out_dir / 'bench.md'}, {out_dir / 'bench.json'}, {out_dir / 'bench.png'}", highlight=False)


if __name__ == "__main__":
    app()
