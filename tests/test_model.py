"""The model on the real subset graph with tiny models built here: graphs, encoders, ESM-2, fusion, LM, classifier."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from aroma.errors import AromaError
from aroma.kg.stats import graph_stats
from aroma.kg.store import GraphStore
from aroma.model.assets import StaleEmbeddings, load_gene_space
from aroma.model.classifier import build_fusion
from aroma.model.fusion import FusionConfig
from aroma.model.graph_data import load_graph
from aroma.model.lm import AromaLM, expand_placeholders
from aroma.model.protein import MAX_RESIDUES, ProteinEmbedder, gene_protein_embeddings
from aroma.tokens import PLACEHOLDERS
from tests import tiny



@pytest.fixture(scope="module")
def bundles(subset_store: GraphStore) -> dict:
    return {g: load_graph(subset_store, g) for g in ("gene", "path")}


def test_graphs_load_with_the_database_counts(bundles: dict, subset_store: GraphStore) -> None:
    stats = graph_stats(subset_store)
    edges = {(e["source"], e["type"], e["target"]): e["count"] for e in stats.edges}
    gene = bundles["gene"].data
    assert gene["gene"].num_nodes == stats.nodes["Gene"]
    assert gene["gene", "interacts_with", "gene"].edge_index.shape[1] == edges[("Gene", "INTERACTS_WITH", "Gene")]
    assert gene["gene", "regulates", "gene"].edge_index.shape[1] == edges[("Gene", "REGULATES", "Gene")]
    path = bundles["path"].data
    assert path["go_term"].num_nodes == stats.nodes["GOTerm"] and path["pathway"].num_nodes == stats.nodes["Pathway"]
    assert path["go_term", "regulates", "go_term"].edge_index.shape[1] == edges[("GOTerm", "REGULATES", "GOTerm")]
    assert path["gene", "annotated_with", "go_term"].edge_index.shape[1] == edges[("Gene", "ANNOTATED_WITH", "GOTerm")]
    assert bundles["gene"].ids["gene"] == bundles["path"].ids["gene"]  # one gene order for every table


@pytest.fixture(scope="module")
def embeddings_dir(subset_embeddings: Path) -> Path:
    for graph in ("gene", "path"):
        metrics = (subset_embeddings / f"{graph}_metrics.json").read_text()
        assert '"test_auroc"' in metrics
    return subset_embeddings


@pytest.fixture(scope="module")
def esm_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised ESM-2 with the real alphabet, saved the way fair-esm checkpoints are."""
    import esm

    torch.manual_seed(0)
    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    model = esm.model.esm2.ESM2(num_layers=2, embed_dim=32, attention_heads=4, alphabet=alphabet)
    cfg = argparse.Namespace(encoder_layers=2, encoder_embed_dim=32, encoder_attention_heads=4, token_dropout=True)
    path = tmp_path_factory.mktemp("esm") / "esm2_t2_32_tiny.pt"
    torch.save({"model": {f"encoder.{k}": v for k, v in model.state_dict().items()}, "cfg": {"model": cfg}}, path)
    return path


def test_tiny_esm2_embeddings_cache_and_missing(esm_weights: Path, tmp_path: Path, subset_sources: Path,
                                               bundles: dict, subset_store: GraphStore) -> None:
    embedder = ProteinEmbedder(esm_weights, tmp_path / "cache", max_tokens=2048)
    long = "M" + "ACDEFGHIKLMNPQRSTVWY" * 60  # 1,201 residues: two chunks
    first = embedder.embed(["MKTAYIAKQR", long])
    assert first.shape == (2, 32) and len(long) > MAX_RESIDUES
    again = ProteinEmbedder(esm_weights, tmp_path / "cache").embed(["MKTAYIAKQR", long])  # from the disk cache
    assert torch.equal(first, again) and len(list((tmp_path / "cache").iterdir())) == 1
    uniprot = {r["id"]: r["uniprot"] for r in subset_store.run(
        "MATCH (g:Gene) WHERE g.uniprot IS NOT NULL RETURN g.id AS id, g.uniprot AS uniprot").rows}
    ids = bundles["gene"].ids["gene"]
    table, present = gene_protein_embeddings(embedder, subset_sources / "uniprot/uniprot_sprot_human.fasta.gz", ids, uniprot)
    assert int(present.sum()) == len(uniprot) < len(ids)  # genes without a protein are flagged
    assert torch.all(table[~present] == 0) and torch.all(table[present].abs().sum(dim=1) > 0)


def test_stale_embeddings_are_refused(embeddings_dir: Path, subset_store: GraphStore, tmp_path: Path) -> None:
    assert load_gene_space(embeddings_dir, subset_store).checksum
    record = torch.load(embeddings_dir / "gene_embeddings.pt", weights_only=False)
    record["checksum"] = "0000000000000000"
    torch.save(record, tmp_path / "gene_embeddings.pt")
    with pytest.raises(StaleEmbeddings, match="recompute"):
        load_gene_space(tmp_path, subset_store)


@pytest.fixture(scope="module")
def space(embeddings_dir: Path, subset_store: GraphStore):
    return load_gene_space(embeddings_dir, subset_store)


def test_cross_attention_weights_are_not_constant(space) -> None:
    torch.manual_seed(0)
    fusion = build_fusion(space, FusionConfig(out_dim=24, model_dim=16, heads=2, tokens=2)).eval()
    with_neighbours = torch.nonzero(space.neighbours[:, 2] >= 0).flatten()[:16]
    fusion(torch.arange(16), with_neighbours)
    weights = fusion.last_attention["gene_kg"]  # [B, tokens, 1 + k]
    assert weights.shape[1] == 2 and weights.shape[2] == 1 + fusion.config.neighbours
    assert torch.allclose(weights.sum(dim=-1), torch.ones(weights.shape[:2]))
    assert weights.max() < 0.999 and weights.std() > 1e-3  # a single key would give a constant 1


@pytest.mark.parametrize("kind", ["llama", "qwen3"])
def test_soft_tokens_in_a_causal_lm(kind: str, space, tmp_path: Path) -> None:
    tokenizer = tiny.tokenizer()
    fusion = build_fusion(space, FusionConfig(out_dim=32, model_dim=16, heads=2, tokens=2))
    model = AromaLM(tiny.causal_lm(kind, len(tokenizer)), tokenizer, fusion)
    prompt = expand_placeholders("Is MDM2 changed? " + " ".join(PLACEHOLDERS.values()) + " Answer:", 2)
    ids = tokenizer([prompt, prompt], return_tensors="pt").input_ids
    for modality, token in model.placeholder_ids.items():
        assert torch.all((ids == token).sum(dim=1) == 2), modality
    model.eval()
    pair_a = model(ids, perturbed=torch.tensor([0, 1]), target=torch.tensor([2, 3])).logits
    pair_b = model(ids, perturbed=torch.tensor([5, 1]), target=torch.tensor([7, 3])).logits
    assert not torch.allclose(pair_a[0], pair_b[0]) and torch.allclose(pair_a[1], pair_b[1])
    # a prompt with the wrong number of placeholders is refused
    short = tokenizer([expand_placeholders(" ".join(PLACEHOLDERS.values()), 1)], return_tensors="pt").input_ids
    with pytest.raises(AromaError, match="exactly 2"):
        model(short, perturbed=torch.tensor([0]), target=torch.tensor([1]))
    # gradients reach the fusion modules
    model.train()
    out = model(ids, perturbed=torch.tensor([0, 1]), target=torch.tensor([2, 3]), labels=ids)
    out.loss.backward()
    for modality in fusion.modalities:
        assert fusion.attend[modality].query.weight.grad.abs().sum() > 0, modality
    # generation runs unchanged with the soft tokens
    model.eval()
    generated = model.generate(ids[:1], perturbed=torch.tensor([0]), target=torch.tensor([2]), max_new_tokens=4,
                               do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert generated.shape[1] == ids.shape[1] + 4
    # save and load give identical logits
    model.save_pretrained(tmp_path / "model")
    loaded = AromaLM.from_pretrained(tmp_path / "model").eval()
    again = loaded(ids, perturbed=torch.tensor([0, 1]), target=torch.tensor([2, 3])).logits
    assert torch.allclose(again, model(ids, perturbed=torch.tensor([0, 1]), target=torch.tensor([2, 3])).logits, atol=1e-5)


def test_classifier_trains_and_reports(embeddings_dir: Path, subset_store: GraphStore, data_root: Path,
                                       tmp_path: Path) -> None:
    """On a graph without training outcomes the classifier takes the genes alone; its output is a predictor."""
    from aroma.data.perturbqa import PerturbQA
    from aroma.predict.registry import load_predictor
    from aroma.retrieval.knowledge import GraphContext
    from aroma.train.classifier import ClassifierConfig, train_classifier

    graph = GraphContext(subset_store)
    report = train_classifier(graph, PerturbQA(data_root / "perturbqa"), "k562", embeddings_dir,
                              ClassifierConfig(epochs=2, model_dim=16), tmp_path, show_progress=False)
    assert report.dropped_pairs > 0 and len(report.history) == 2 and report.history[-1]["pairs"] > 0
    assert report.test["pairs"] > 0 and (tmp_path / "classifier.pt").exists()
    assert set(report.modalities) == {"gene_kg", "path_kg"}
    loaded = load_predictor(tmp_path, graph.knowledge("k562"))
    assert loaded.scale is None  # no outcomes in this graph: no neighbour features


@pytest.mark.parametrize("graph", ["gene", "path"])
def test_link_split_negatives_are_never_links(bundles: dict, graph: str) -> None:
    """Held-out and training negatives are no link of the target relation (a symmetric one: in either direction)."""
    from aroma.model.graph_data import LINK_TARGETS
    from aroma.train.gnn import GnnTrainConfig, split_links

    target = LINK_TARGETS[graph]
    symmetric = target[0] == target[2]
    links = split_links(bundles[graph], graph, GnnTrainConfig())

    def pairs(index: torch.Tensor, both_ways: bool = False) -> set[tuple[int, int]]:
        found = set(zip(index[0].tolist(), index[1].tolist()))
        return found | {(b, a) for a, b in found} if both_ways else found

    every = pairs(bundles[graph].data[target].edge_index, symmetric)
    train = pairs(links.train_positives, symmetric)
    held_out = []
    for index, label in ((links.val_index, links.val_label), (links.test_index, links.test_label)):
        positives, negatives = pairs(index[:, label == 1]), pairs(index[:, label == 0])
        assert positives and len(negatives) == len(positives)
        assert positives <= every and not positives & train  # held out: not in the message graph
        assert not negatives & every, sorted(negatives & every)[:3]
        held_out.append(positives)
    assert not held_out[0] & held_out[1]
    assert pairs(links.message[target].edge_index) <= train  # messages never carry a held-out link
    sampled = pairs(links.train_negatives(5 * links.train_positives.shape[1]))
    assert sampled and not sampled & train, sorted(sampled & train)[:3]
