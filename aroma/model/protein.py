"""ESM-2 protein embeddings (fair-esm) per gene: mean-pooled, batched by length, cached by sequence hash.

Weights are read from a local checkpoint (``--esm-weights FILE``, e.g. ``esm2_t33_650M_UR50D.pt``);
nothing is downloaded. Contact-regression weights are not needed and not loaded.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from aroma.errors import AromaError
from aroma.kg.adapters.uniprot import read_fasta

if TYPE_CHECKING:
    from aroma.kg.store import GraphStore

MAX_RESIDUES = 1022  # ESM-2's context without BOS/EOS; longer proteins are embedded in chunks


def load_esm(weights: Path) -> tuple[torch.nn.Module, object]:
    """An ESM-2 model and its alphabet from a local checkpoint file."""
    import esm

    weights = Path(weights).expanduser()
    if not weights.is_file():
        raise AromaError(f"ESM-2 weights {weights} not found (download e.g. esm2_t33_650M_UR50D.pt yourself)")
    if not weights.stem.startswith("esm2"):
        raise AromaError(f"{weights.name}: expected an ESM-2 checkpoint named esm2_*.pt")
    with torch.serialization.safe_globals([argparse.Namespace]):  # fair-esm checkpoints carry a Namespace
        data = torch.load(weights, map_location="cpu", weights_only=True)
    model, alphabet = esm.pretrained.load_model_and_alphabet_core(weights.stem, data, None)
    return model.eval(), alphabet


def sequence_key(sequence: str) -> str:
    return hashlib.sha256(sequence.encode()).hexdigest()[:32]


def _chunks(sequence: str) -> list[str]:
    return [sequence[i:i + MAX_RESIDUES] for i in range(0, len(sequence), MAX_RESIDUES)] or [""]


class ProteinEmbedder:
    """Mean-pooled last-layer ESM-2 embeddings with an on-disk cache keyed by sequence hash."""

    def __init__(self, weights: Path, cache_dir: Path | None = None, max_tokens: int = 8192,
                 device: str = "cpu") -> None:
        self.model, self.alphabet = load_esm(weights)
        self.name = Path(weights).name
        self.model.to(device)
        self.device = device
        self.max_tokens = max_tokens
        self.layer = self.model.num_layers
        model_id = hashlib.sha256(Path(weights).name.encode() + str(self.model.embed_dim).encode()).hexdigest()[:12]
        self.cache_path = (Path(cache_dir) / f"esm_{model_id}.pt") if cache_dir else None
        self.cache: dict[str, Tensor] = {}
        if self.cache_path and self.cache_path.exists():
            self.cache = torch.load(self.cache_path, weights_only=True)

    @property
    def dim(self) -> int:
        return self.model.embed_dim

    def _batches(self, chunks: list[tuple[str, int, str]]) -> Iterator[list[tuple[str, int, str]]]:
        batch: list[tuple[str, int, str]] = []
        for item in sorted(chunks, key=lambda c: len(c[2])):
            if batch and (len(batch) + 1) * (len(item[2]) + 2) > self.max_tokens:
                yield batch
                batch = []
            batch.append(item)
        if batch:
            yield batch

    @torch.no_grad()
    def embed(self, sequences: list[str]) -> Tensor:
        """One vector per sequence (chunks of long sequences averaged, weighted by length)."""
        todo = {sequence_key(s): s for s in sequences if sequence_key(s) not in self.cache}
        chunks = [(key, i, chunk) for key, s in todo.items() for i, chunk in enumerate(_chunks(s))]
        sums: dict[str, Tensor] = {}
        lengths: dict[str, int] = {}
        converter = self.alphabet.get_batch_converter()
        for batch in self._batches(chunks):
            _, _, tokens = converter([(f"{k}:{i}", c) for k, i, c in batch])
            out = self.model(tokens.to(self.device), repr_layers=[self.layer])["representations"][self.layer]
            for row, (key, _, chunk) in enumerate(batch):
                residues = out[row, 1:len(chunk) + 1].float().cpu()
                sums[key] = sums.get(key, 0) + residues.sum(dim=0)
                lengths[key] = lengths.get(key, 0) + len(chunk)
        for key in todo:
            self.cache[key] = sums[key] / max(lengths[key], 1)
        if todo and self.cache_path:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(self.cache, self.cache_path)
        return torch.stack([self.cache[sequence_key(s)] for s in sequences]) if sequences else torch.empty(0, self.dim)


def gene_protein_embeddings(embedder: ProteinEmbedder, fasta: Path, gene_ids: list[str],
                            uniprot_of: dict[str, str]) -> tuple[Tensor, Tensor]:
    """Embeddings in ``gene_ids`` order and a mask of genes that have a sequence (others get zeros here;
    the fusion model replaces them with its learned "missing" vector)."""
    sequences = {p.accession: p.sequence for p in read_fasta(fasta)}
    have = [g for g in gene_ids if uniprot_of.get(g) in sequences]
    vectors = embedder.embed([sequences[uniprot_of[g]] for g in have])
    table = torch.zeros(len(gene_ids), embedder.dim)
    present = torch.zeros(len(gene_ids), dtype=torch.bool)
    position = {g: i for i, g in enumerate(gene_ids)}
    for g, vector in zip(have, vectors):
        table[position[g]] = vector
        present[position[g]] = True
    return table, present


@dataclass
class GeneProteins:
    """The graph's genes in its order, with their UniProt accessions and the build they came from."""

    ids: list[str]
    symbols: list[str]
    uniprot: dict[str, str]  # gene id → accession, for genes that have one
    checksum: str


@dataclass
class ProteinTable:
    """One protein embedding per gene (zeros where ``present`` is false) and the model that made them."""

    ids: list[str]
    symbols: list[str]
    embeddings: Tensor
    present: Tensor
    checksum: str
    model: str


def read_gene_proteins(store: GraphStore) -> GeneProteins:
    genes = store.read("model/gene_nodes")
    checksum = store.read("model/build_checksum")[0]["checksum"]
    return GeneProteins([g["id"] for g in genes], [g["symbol"] for g in genes],
                        {g["id"]: g["uniprot"] for g in genes if g["uniprot"]}, checksum)


def embed_gene_proteins(genes: GeneProteins, embedder: ProteinEmbedder, fasta: Path) -> ProteinTable:
    table, present = gene_protein_embeddings(embedder, fasta, genes.ids, genes.uniprot)
    return ProteinTable(genes.ids, genes.symbols, table, present, genes.checksum, embedder.name)
