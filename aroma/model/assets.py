"""The per-gene inputs of the model: Gene-KG, Path-KG and protein tables aligned on one gene order.

Files (from ``aroma train gnn`` and ``aroma model embed-proteins``) live in one directory:
``gene_embeddings.pt`` (with the STRING neighbour table), ``path_embeddings.pt`` and optionally
``protein_embeddings.pt``. Each records the build checksum of the graph it came from; loading them
against a rebuilt graph is refused, so stale embeddings are never used silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from torch import Tensor

from aroma.errors import AromaError
from aroma.kg.store import GraphStore
from aroma.model.gene_rows import GeneRows
from aroma.model.protein import ProteinTable

FILES = {"gene_kg": "gene_embeddings.pt", "path_kg": "path_embeddings.pt", "protein": "protein_embeddings.pt"}
REQUIRED = ("gene_kg",)


class StaleEmbeddings(AromaError):
    """Embeddings computed from another build of the graph."""


@dataclass
class GeneSpace:
    ids: list[str]
    symbols: list[str]
    tables: dict[str, tuple[Tensor, Tensor]]  # modality → (vectors [N, d], present [N])
    neighbours: Tensor  # [N, FusionConfig.neighbours]: each gene's strongest STRING partners (−1: fewer)
    checksum: str

    @cached_property
    def rows(self) -> GeneRows:
        """Gene id → row of the tables."""
        return GeneRows(self.ids)


def save_protein_embeddings(directory: Path, table: ProteinTable) -> Path:
    """Write ``protein_embeddings.pt`` beside the graph embeddings (same keys, plus ``present`` and ``model``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILES["protein"]
    torch.save({"graph": "protein", "checksum": table.checksum, "ids": table.ids, "symbols": table.symbols,
                "embeddings": table.embeddings, "present": table.present, "model": table.model}, path)
    return path


def load_gene_space(directory: Path, store: GraphStore | None = None) -> GeneSpace:
    """Read the embedding files of ``directory``; with ``store``, check they match its current build."""
    directory = Path(directory)
    missing = [FILES[m] for m in REQUIRED if not (directory / FILES[m]).is_file()]
    if missing:
        raise AromaError(f"{directory} lacks {', '.join(missing)}: run `aroma train gnn --graph gene --out {directory}`")
    records = {m: torch.load(directory / f, weights_only=False) for m, f in FILES.items() if (directory / f).is_file()}
    base = records["gene_kg"]
    if "neighbours" not in base:
        raise AromaError(f"{directory / FILES['gene_kg']} has no neighbour table (an older format): rerun "
                         f"`aroma train gnn --graph gene --out {directory}`")
    checksum = base["checksum"]
    current = store.read("model/build_checksum")[0]["checksum"] if store is not None else checksum
    tables = {}
    for modality, record in records.items():
        if record["checksum"] != current:
            raise StaleEmbeddings(f"{directory / FILES[modality]} was computed from build {record['checksum']}, "
                                  f"but the graph is now build {current}: recompute it")
        if record["ids"] != base["ids"]:
            raise AromaError(f"{FILES[modality]} and {FILES['gene_kg']} list different genes")
        present = record.get("present", torch.ones(len(record["ids"]), dtype=torch.bool))
        tables[modality] = (record["embeddings"].float(), present)
    return GeneSpace(base["ids"], base["symbols"], tables, base["neighbours"], checksum)
