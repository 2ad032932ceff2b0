"""The answer labels and the placeholder tokens of the multimodal prompt — defined here and nowhere else."""

from __future__ import annotations

# AROMA's three classes, in label-id order.
LABELS: tuple[str, ...] = ("not changed", "downregulated", "upregulated")
NOT_CHANGED, DOWN, UP = range(3)

# One placeholder per modality; the model replaces each with fused (perturbed ⟶ target) embeddings.
MODALITIES: tuple[str, ...] = ("gene_kg", "path_kg", "protein")
PLACEHOLDERS: dict[str, str] = {m: f"<|aroma_{m}|>" for m in MODALITIES}

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"

# Typed prompts (``aroma dataset generate --prompt typed``, after MAMMAL's entity and scalar tokens): each gene of
# the evidence is one ENTITY token whose input embedding comes from the graph, each number one NUMBER token whose
# input embedding is a learned projection of its value, and each evidence kind or relation one of KINDS, whose
# input embedding is learned (initialised from the LM's embedding of its description).
ENTITY = "<|aroma_gene|>"
NUMBER = "<|aroma_number|>"
KINDS: dict[str, str] = {name: f"<|aroma_{name}|>" for name in (
    "vote",              # the neighbour vote: share changed, share up among those that changed, how many voted
    "knockdown",         # a similar training knockdown: gene, similarity, strength, effect on T
    "elsewhere",         # P knocked down in another cell line: effect on T, strength, share up
    "not_changed", "down", "up", "not_measured",  # effects
    "tf",                # the gene is a transcription factor
    "partner",           # one of a gene's strongest STRING partners: gene, score
    "string",            # a direct STRING interaction of P and T: combined score
    "activates", "represses", "regulates",  # TRRUST P → T (or T → P) by sign
    "path",              # a STRING path between P and T: its inner genes, weakest edge
    "pathway", "hallmark", "go_term", "complex",  # shared with T: size (genes)
    "none",              # no direct relation, path or shared pathway
)}
KIND_DESCRIPTIONS: dict[str, str] = {  # the words whose LM embeddings start each kind token's embedding
    "vote": "vote", "knockdown": "knockdown", "elsewhere": "other cell line", "not_changed": "unchanged",
    "down": "down", "up": "up", "not_measured": "unmeasured", "tf": "transcription factor", "partner": "partner",
    "string": "interaction", "activates": "activates", "represses": "represses", "regulates": "regulates",
    "path": "path", "pathway": "pathway", "hallmark": "hallmark", "go_term": "GO term", "complex": "complex",
    "none": "none",
}
TYPED_TOKENS: tuple[str, ...] = (ENTITY, NUMBER, *KINDS.values())
PROMPT_STYLES: tuple[str, ...] = ("text", "typed")
