"""``aroma model``: model inputs computed outside the graph (protein embeddings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aroma.cli.common import DatabaseOption, DbOption, PasswordOption, UserOption, guard, out, sources_dir, store

model_app = typer.Typer(help="Model inputs: protein embeddings.", no_args_is_help=True)


@model_app.command("embed-proteins")
@guard
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
    from aroma.kg.sources import SourceDir
    from aroma.model.assets import save_protein_embeddings
    from aroma.model.protein import ProteinEmbedder, embed_gene_proteins, read_gene_proteins

    fasta = SourceDir(sources_dir(sources)).path("uniprot")
    with store(db, user, password, database) as kg:
        genes = read_gene_proteins(kg)
    embedder = ProteinEmbedder(esm_weights, cache or out_dir / "esm_cache", device=device)
    table = embed_gene_proteins(genes, embedder, fasta)
    save_protein_embeddings(out_dir, table)
    out.print(f"{int(table.present.sum()):,} of {len(table.ids):,} genes embedded with {table.model} "
              f"({embedder.dim}-d); the rest use the model's learned missing vector", highlight=False)
