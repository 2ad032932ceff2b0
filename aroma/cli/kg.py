"""``aroma kg``: fetch the sources, build the graphs, and inspect, export or serve them."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma import config
from aroma.cli.common import (DatabaseOption, DbOption, PasswordOption, QuietOption, UserOption, err, guard,
                              out, sources_dir, store)

kg_app = typer.Typer(help="Build and inspect Gene-KG and Path-KG.", no_args_is_help=True)

SourcesOption = Annotated[Optional[Path], typer.Option("--sources", help="sources directory",
                                                       show_default="$AROMA_SOURCES or $AROMA_DATA/sources")]


@kg_app.command("fetch")
@guard
def kg_fetch(
    dest: Annotated[Path, typer.Option("--dest", help="directory to fill with the source files")],
    mirror: Annotated[Optional[Path], typer.Option("--mirror", help="copy from this local directory instead")] = None,
    quiet: QuietOption = False,
) -> None:
    """Download every source file from its publisher (resumable, sha256 recorded), or copy it from a mirror."""
    from aroma.kg.fetch import fetch

    manifest = fetch(dest.expanduser(), mirror.expanduser() if mirror else None, show_progress=not quiet)
    out.print(f"{len(manifest)} source files in {dest} (checksums in {dest / 'MANIFEST.json'})")


@kg_app.command("build")
@guard
def kg_build(
    sources: SourcesOption = None,
    db: DbOption = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="rows per transaction")] = 20_000,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
    quiet: QuietOption = False,
    allow_shrink: Annotated[bool, typer.Option("--allow-shrink", help="replace the graph even if a label or edge "
                                               "type vanishes or shrinks by more than half")] = False,
    perturbqa: Annotated[Optional[list[Path]], typer.Option(
        "--perturbqa", help="PerturbQA directory whose training-split outcomes become KNOCKDOWN_EFFECT edges "
        "(test labels are never loaded; repeat the option for several directories)",
        show_default="$AROMA_DATA/perturbqa if it exists")] = None,
    no_outcomes: Annotated[bool, typer.Option("--no-outcomes", help="load no PerturbQA outcomes")] = False,
    string_min_score: Annotated[int, typer.Option(
        "--string-min-score", min=0, max=1000, help="load only STRING links with at least this combined score "
        "(400: STRING's medium confidence, 700: high; 0 keeps every link)")] = 400,
    loader: Annotated[str, typer.Option(
        "--loader", help="auto: bulk where the database has it (the local default), else bolt; bulk: the "
        "database's own importer (ArcadeDB's GraphImporter) from files; bolt: UNWIND batches over Bolt (same graph)")] = "auto",
) -> None:
    """Parse every source and load Gene-KG and Path-KG; the previous graph stays intact until the build succeeds."""
    from aroma.kg.build import build
    from aroma.kg.sources import SourceDir

    directory = sources_dir(sources)
    SourceDir(directory).check_layout()  # before a database directory or server is made for nothing
    default = config.perturbqa_dir(None)
    outcomes = [] if no_outcomes else perturbqa or ([default] if default is not None and default.is_dir() else [])
    with store(db, user, password, database, create=True) as graph:
        report = build(directory, store=graph, batch_size=batch_size, show_progress=not quiet, allow_shrink=allow_shrink,
                       perturbqa=outcomes, string_min_score=string_min_score, loader=loader,
                       log=(lambda m: None) if quiet else (lambda m: err.print(f"[dim]{m}[/]")))
    seconds = report.stage_seconds
    out.print(
        f"built {report.nodes:,} nodes and {report.edges:,} edges into {report.target} "
        f"(database {report.database}, checksum {report.checksum}): parse+map {seconds['parse_and_map']:.1f} s, "
        f"load {seconds['load']:.1f} s ({report.loader}, {report.load_rows_per_second:,.0f} rows/s); STRING links scoring below "
        f"{report.string_min_score} not loaded: {report.string_below_min_score:,}"
    )


@kg_app.command("stats")
@guard
def kg_stats(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    user: UserOption = None,
    password: PasswordOption = None,
    database: DatabaseOption = None,
) -> None:
    """Node and edge counts per label and type, sources with versions and checksums, unmapped records, build time."""
    from aroma.kg.stats import graph_stats
    from aroma.kg.stats_tables import stats_tables

    with store(db, user, password, database) as graph:
        stats = graph_stats(graph)
    if as_json:
        out.print_json(json.dumps(stats.as_dict()))
        return
    for shown in stats_tables(stats):
        out.print(shown)


@kg_app.command("schema")
def kg_schema(
    write: Annotated[bool, typer.Option(
        "--write", help="rewrite aroma/cypher/schema/constraints.cypher, aroma/cypher/load/*.cypher and the "
                        "README's graph tables from aroma/kg/schema.py (after adding or changing an entry)")] = False,
) -> None:
    """The graph's node labels and edge kinds as declared once in aroma/kg/schema.py (the README's tables)."""
    from aroma.kg import schema_files

    if write:
        for path in schema_files.write():
            typer.echo(f"{'wrote' if path.exists() else 'removed'} {path}")
        return
    typer.echo(schema_files.readme_tables(), nl=False)


class ExportFormat(str, Enum):
    neo4j_admin = "neo4j-admin"
    turtle = "turtle"
    nt = "nt"


@kg_app.command("export")
@guard
def kg_export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="neo4j-admin CSVs, or RDF (turtle, nt)")],
    out_path: Annotated[Path, typer.Option("--out", help="directory (neo4j-admin) or file (RDF)")],
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

        source_dir = SourceDir(sources_dir(sources))
        source_dir.check_layout()
        command = export_neo4j_admin(assemble(source_dir), out_path.expanduser(), database or "neo4j")
        err.print(f"wrote CSVs to {out_path}; with the Neo4j server stopped, run (also in {out_path / 'import.sh'}):",
                  highlight=False)
        sys.stdout.write(command + "\n")
        return
    from aroma.kg.export_rdf import export_rdf

    with store(db, user, password, database) as graph:
        count = export_rdf(graph, out_path.expanduser(), fmt.value)
    err.print(f"wrote {count:,} triples to {out_path}", highlight=False)


@kg_app.command("serve")
@guard
def kg_serve(
    db: Annotated[Optional[Path], typer.Option("--db", help="local database directory",
                                               show_default="$AROMA_DB or ~/.aroma/db")] = None,
    port: Annotated[int, typer.Option("--port", help="Bolt port on 127.0.0.1")] = 7687,
    engine: Annotated[str, typer.Option("--engine", help="arcadedb (the local default) or neo4j (Neo4j 5.26 "
                                        "Community from Maven; needs Java 17+ and mvn; --db is its home, "
                                        "default ~/.aroma/neo4j)")] = "arcadedb",
) -> None:
    """Keep the local ArcadeDB server running on loopback for cypher-shell or any Bolt client; Ctrl-C stops it."""
    from aroma.kg.serve import serve

    serve(db, port, engine, say=lambda m: out.print(m, highlight=False, soft_wrap=True),
          log=lambda m: err.print(f"[dim]{m}[/]"))
