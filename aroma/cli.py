"""The ``aroma`` command line: parses arguments and calls the API, nothing more."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from aroma import config
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
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Neo4j URI (bolt://, neo4j://, neo4j+s://) or local database directory "
                 "[default: $AROMA_DB or ~/.aroma/db]"),
]
UserOption = Annotated[Optional[str], typer.Option("--user", envvar="AROMA_NEO4J_USER", help="Neo4j user")]
PasswordOption = Annotated[
    Optional[str], typer.Option("--password", envvar="AROMA_NEO4J_PASSWORD", help="Neo4j password", show_default=False)
]
DatabaseOption = Annotated[Optional[str], typer.Option("--database", help="Neo4j database name [default: neo4j]")]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guard(func):
    """Turn toolkit errors and Ctrl-C into one clear line and a non-zero exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AromaError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; unfinished work was rolled back (a build leaves the previous graph in place)", 130)

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


def _store(db: str | None, user: str | None = None, password: str | None = None, database: str | None = None):
    from aroma.kg.store import open_store

    return open_store(db, user=user, password=password, database=database)


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
        Optional[Path], typer.Option("--sources", help="sources directory [default: $AROMA_SOURCES or $AROMA_DATA/sources]")
    ] = None,
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="rows per transaction")] = 20_000,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bars")] = False,
) -> None:
    """Parse every source and load Gene-KG and Path-KG; the previous graph stays intact until the build succeeds."""
    from aroma.kg.build import build

    directory = _sources(sources)
    with _store(db, user, password, database) as store:
        report = build(directory, store=store, batch_size=batch_size, show_progress=not quiet,
                       log=(lambda m: None) if quiet else (lambda m: err.print(f"[dim]{m}[/]")))
    seconds = report.stage_seconds
    out.print(
        f"built {report.nodes:,} nodes and {report.edges:,} edges into {report.target} "
        f"(database {report.database}, checksum {report.checksum}): parse+map {seconds['parse_and_map']:.1f} s, "
        f"load {seconds['load']:.1f} s ({report.load_rows_per_second:,.0f} rows/s)"
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
        Optional[Path], typer.Option("--sources", help="neo4j-admin: sources directory [default: $AROMA_SOURCES]")
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
    db: Annotated[Optional[Path], typer.Option("--db", help="local database directory [default: $AROMA_DB or ~/.aroma/db]")] = None,
    port: Annotated[int, typer.Option("--port", help="Bolt port on 127.0.0.1")] = 7687,
) -> None:
    """Keep the local ArcadeDB server running on loopback for cypher-shell or any Bolt client; Ctrl-C stops it."""
    import time

    from aroma.kg.arcadedb import LocalArcadeDB
    from aroma.kg.store import default_target

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


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@app.command("cypher")
@_guard
def cypher_command(
    query: Annotated[str, typer.Argument(help="Cypher query (Neo4j 5 syntax)")],
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-p", help="name=value (value parsed as JSON when it can be)")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    write: Annotated[bool, typer.Option("--write", help="allow the query to change the graph")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Run an ad hoc Cypher query; read-only unless --write is given."""
    params = dict(_parse_param(p) for p in param or [])
    with _store(db, user, password, database) as store:
        result = store.run(query, params, write=write)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(result.rows, indent=1) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows([_cell(row[c]) for c in result.columns] for row in result.rows)
    else:
        table = Table(*result.columns, caption=f"{len(result.rows)} row(s)")
        for row in result.rows:
            table.add_row(*(_cell(row[c]) for c in result.columns))
        out.print(table)
    if result.counters:
        err.print("changes: " + ", ".join(f"{k}={v}" for k, v in result.counters.items()))


@app.command("retrieve")
@_guard
def retrieve_command(
    perturbed: Annotated[str, typer.Argument(help="perturbed (knocked-down) gene: symbol or alias")],
    target: Annotated[str, typer.Argument(help="target gene: symbol or alias")],
    cell_line: Annotated[str, typer.Option("--cell-line", help="cell line named in the evidence")] = "K562",
    as_json: Annotated[bool, typer.Option("--json", help="print the evidence as JSON")] = False,
    db: DbOption = None,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Evidence from the knowledge graphs for one (perturbed gene, target gene) pair."""
    from aroma.retrieval import EvidenceIndex, render_evidence

    with _store(db, user, password, database) as store:
        evidence = EvidenceIndex(store).evidence(perturbed, target, cell_line.upper())
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
        Optional[Path], typer.Option("--perturbqa", help="directory of {cell}-de.csv / {cell}-dir.csv "
                                     "[default: $AROMA_DATA/perturbqa]")
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
    out.print(f"{card.pairs:,} examples in {out_dir} ({seconds:.0f} s, {card.pairs / seconds:,.0f} pairs/s); "
              f"card: {out_dir / 'README.md'}", highlight=False)


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
    sources: Annotated[Optional[Path], typer.Option("--sources", help="sources directory (for the UniProt FASTA)")] = None,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="cache directory [default: OUT/esm_cache]")] = None,
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
    perturbqa: Annotated[Optional[Path], typer.Option("--perturbqa", help="[default: $AROMA_DATA/perturbqa]")] = None,
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
SetOption = Annotated[Optional[list[str]], typer.Option("--set", help="override a setting: key=value (lora.rank=8)")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="continue from the last checkpoint in OUT/checkpoints")]


def _log_summary(name: str, result: dict, out_dir: Path) -> None:
    out.print(f"{name}: {result['steps']} steps, mean loss {result['train_loss']:.4f}; model in {out_dir}",
              highlight=False)
    (out_dir / f"{name.lower()}_log.json").write_text(json.dumps(result["log"], indent=1))


@train_app.command("sft")
@_guard
def train_sft_command(
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

    result = run_sft(data, base_model, embeddings, out_dir, load_settings(config, override or []), resume)
    _log_summary("SFT", result, out_dir)


@train_app.command("grpo")
@_guard
def train_grpo_command(
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

    result = run_grpo(data, init, out_dir, load_settings(config, override or []), resume)
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
) -> None:
    """PerturbQA's protocol: per-gene AUROC for DE and direction, macro-F1, accuracy; baselines side by side."""
    from aroma.train.evaluate import evaluate_model

    report = evaluate_model(model_dir, data, split, out_dir, limit, classifier, embeddings, batch_size)
    table = Table("method", "DE AUROC", "direction AUROC", "macro-F1", "accuracy",
                  caption=f"{report['split']}: {report['pairs']} pairs; per-gene AUROC averaged over genes")
    for name, m in report["metrics"].items():
        table.add_row(name, f"{m['de_auroc']:.3f}", f"{m['direction_auroc']:.3f}", f"{m['macro_f1']:.3f}",
                      f"{m['accuracy']:.3f}")
    out.print(table)
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
) -> None:
    """The answer for one pair, with its probabilities, the reasoning and the evidence it used."""
    from aroma.model.lm import AromaLM
    from aroma.retrieval import EvidenceIndex, render_evidence
    from aroma.train.evaluate import predict_pair

    with _store(db, user, password, database) as store:
        evidence = EvidenceIndex(store).evidence(perturbed, target, cell_line.upper())
    result = predict_pair(AromaLM.from_pretrained(model_dir), evidence, (perturbed, target), max_new_tokens)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=1) + "\n")
        return
    probabilities = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    out.print(f"{perturbed} knockdown → {target} in {cell_line.upper()}: {result['answer']} ({probabilities})",
              highlight=False, markup=False)
    out.print(f"reasoning: {result['reasoning']}", highlight=False, markup=False, soft_wrap=True)
    out.print("evidence:\n" + render_evidence(evidence), highlight=False, markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
