"""Baselines reported beside the model: the evidence-only heuristic (no learning) and the classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from aroma.errors import AromaError
from aroma.kg.store import GraphStore
from aroma.model.assets import load_gene_space
from aroma.model.classifier import PairClassifier, build_fusion
from aroma.model.fusion import FusionConfig
from aroma.retrieval.evidence import PairEvidence


def evidence_heuristic(evidence: PairEvidence) -> list[float]:
    """[not changed, down, up] from the evidence alone: regulation > interaction > path > shared pathway."""
    p, t = evidence.perturbed.symbol, evidence.target.symbol
    regulation = [r for r in evidence.regulations if r.tf == p and r.target == t]
    changed = 0.05
    if regulation:
        changed = 0.6
    elif evidence.interaction:
        changed = 0.1 + 0.4 * evidence.interaction.combined_score / 1000
    elif evidence.paths:
        changed = 0.05 + 0.15 * max(path.strength for path in evidence.paths) / 1000
    if evidence.has_shared_pathway:
        changed = min(changed + 0.05, 0.95)
    signs = {r.sign for r in regulation}
    up_share = 0.2 if signs == {"activation"} else 0.8 if signs == {"repression"} else 0.5  # knockdown of an activator
    return [1 - changed, changed * (1 - up_share), changed * up_share]


def heuristic_probabilities(evidence_json: list[str]) -> np.ndarray:
    return np.array([evidence_heuristic(PairEvidence.from_dict(json.loads(e))) for e in evidence_json])


def classifier_probabilities(classifier_dir: Path, embeddings: Path, evidence_json: list[str],
                             store: GraphStore | None = None) -> np.ndarray:
    """The classifier of ``aroma train classifier`` on the same pairs (genes outside the tables: its prior).

    A classifier trained with neighbour features needs ``store``: they are computed from the training
    outcomes in the graph (each pair's own knockdown left out), standardised as in training."""
    from aroma.retrieval.neighbours import neighbours_from_store
    from aroma.retrieval.similarity import GeneSimilarity
    from aroma.train.classifier import Standardiser

    report = json.loads((Path(classifier_dir) / "classifier_report.json").read_text())
    config = report["config"]
    space = load_gene_space(embeddings)
    pairs = [json.loads(e) for e in evidence_json]
    extra = None
    if report.get("neighbour_features"):
        if store is None:
            raise AromaError(f"the classifier in {classifier_dir} uses what similar knockdowns did: it needs the graph "
                             "(--db) that holds the training outcomes")
        scale = Standardiser(np.array(report["neighbour_features"]["mean"]), np.array(report["neighbour_features"]["std"]))
        rows = np.zeros((len(pairs), len(scale.mean)))
        similarity = GeneSimilarity.from_store(store)  # one for every cell line
        for cell in sorted({e["cell_line"] for e in pairs}):
            neighbours = neighbours_from_store(store, cell, similarity)
            for i, e in enumerate(pairs):
                if e["cell_line"] == cell:
                    rows[i] = neighbours.features(e["perturbed"]["id"] or None, [e["target"]["id"] or None],
                                                  config["cross_cell_line"])[0]
        extra = scale(rows)
    model = PairClassifier(build_fusion(space, FusionConfig(out_dim=config["model_dim"], model_dim=config["model_dim"],
                                                            tokens=config["tokens"])),
                           extra=0 if extra is None else extra.shape[1])
    model.load_state_dict(torch.load(Path(classifier_dir) / "classifier.pt", weights_only=True))
    model.eval()
    perturbed = space.rows.rows(e["perturbed"]["id"] for e in pairs)
    target = space.rows.rows(e["target"]["id"] for e in pairs)
    with torch.no_grad():
        return torch.cat([torch.softmax(model(perturbed[i:i + 2048], target[i:i + 2048],
                                              None if extra is None else extra[i:i + 2048]), dim=1)
                          for i in range(0, len(pairs), 2048)]).numpy()
