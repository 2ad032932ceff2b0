"""The graph's shape, declared once (in the spirit of BioCypher's ``schema_config.yaml``).

Every node label and every edge kind (source label, relationship type, target label) is one entry here,
with its typed properties and the graph it belongs to. Everything that restates the shape is derived
from these entries: the constraints and load statements under ``aroma/cypher`` (``aroma.kg.schema_files``
renders them; ``aroma kg schema --write`` writes them), the build's loaders, the model's node and edge
types and feature vocabularies, the neo4j-admin CSV header types, the RDF IRIs, the order of
``aroma kg stats`` and the README's graph tables.

Adding a relation is one adapter (``aroma.kg.assemble.Adapter``) plus one ``EdgeKind``: add it to
``EDGES`` below and run ``aroma kg schema --write``, or, from outside the package, ``SCHEMA.extended(kind)``.
"""

from __future__ import annotations

import re
from urllib.parse import quote
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Neo4j's property types as neo4j-admin import headers name them.
PROPERTY_TYPES = ("string", "long", "double", "boolean", "string[]", "long[]")


@dataclass(frozen=True)
class Property:
    """A typed property; ``values`` is its closed vocabulary where the model one-hot encodes it."""

    name: str
    type: str = "string"
    values: tuple[str, ...] = ()
    indexed: bool = False  # a range index (named ``{label}_{name}``) is created before loading

    def __post_init__(self) -> None:
        if self.type not in PROPERTY_TYPES:
            raise ValueError(f"property {self.name!r}: type {self.type!r} is not one of {PROPERTY_TYPES}")

    def accepts(self, value: object) -> bool:
        """Whether ``value`` (a Python value of a record, None for absent) is of this property's type."""
        if value is None:
            return True
        scalar = self.type.removesuffix("[]")
        if self.type.endswith("[]"):
            return isinstance(value, (list, tuple)) and all(_scalar_ok(scalar, v) for v in value)
        return _scalar_ok(scalar, value)


def _scalar_ok(kind: str, value: object) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, float)
    return isinstance(value, str)


@dataclass(frozen=True)
class IdPrefix:
    """One form of node id and its IRI: ``iri_base`` followed by the id without ``prefix``."""

    prefix: str
    iri_base: str
    example: str

    def iri(self, node_id: str) -> str:
        """The IRI; characters an IRI cannot hold (a gene set's name has spaces) are percent-encoded."""
        return self.iri_base + quote(node_id[len(self.prefix):], safe=":/_-.~")


@dataclass(frozen=True)
class NodeLabel:
    """A node label: its id forms, typed properties (``id`` aside) and the model's node type."""

    label: str
    description: str  # the loader's comment
    ids: tuple[IdPrefix, ...]
    properties: tuple[Property, ...]
    model_type: str | None = None  # PyG node type; None: not a model node (build metadata)
    readme_ids: str = ""  # README: the id column (default: the id examples)
    readme_properties: str = ""  # README: the properties column (default: the property names)

    @property
    def metadata(self) -> bool:
        """A node without an id form records the build (one per graph), not biology."""
        return not self.ids

    @property
    def loader(self) -> str:
        """The named Cypher file that loads these nodes (``load/build_info`` for the metadata node)."""
        if self.metadata:
            return "load/" + re.sub(r"(?<!^)(?=[A-Z])", "_", self.label).lower()
        return f"load/node_{self.label.lower()}"

    @property
    def updater(self) -> str:
        """The named Cypher file that sets properties of these nodes after a bulk import."""
        return f"load/update_{self.label.lower()}"

    def property(self, name: str) -> Property:
        return next(p for p in self.properties if p.name == name)


@dataclass(frozen=True)
class EdgeKind:
    """One kind of edge: ``(source)-[:type]->(target)`` with typed properties, in one graph."""

    source: str
    type: str
    target: str
    graph: str  # a key of GRAPH_NAMES
    description: str  # the loader's comment
    provenance: str  # README: where the edges come from
    properties: tuple[Property, ...] = ()
    predicate_by: str | None = None  # RDF: one predicate per value of this property (TRRUST's sign)
    readme_properties: str = ""  # README: the properties column (default: the property names)

    @property
    def kind(self) -> tuple[str, str, str]:
        return (self.source, self.type, self.target)

    @property
    def loader(self) -> str:
        """The named Cypher file that loads these edges."""
        return "load/edge_" + "_".join(part.lower() for part in self.kind)

    @property
    def pattern(self) -> str:
        return f"({self.source})-[:{self.type}]->({self.target})"


# graph key → the name the README and papers use; the first two are encoded by the graph models
GRAPH_NAMES = {"gene": "Gene-KG", "path": "Path-KG", "outcomes": "outcomes"}
MODEL_GRAPHS = ("gene", "path")

GENE, GO_TERM, PATHWAY, GENE_SET, BUILD_INFO = "Gene", "GOTerm", "Pathway", "GeneSet", "BuildInfo"
GENE_SET_PREFIX = "geneset:"  # a gene-set task's target: geneset:DATASET/NAME
GO_NAMESPACES = ("biological_process", "molecular_function", "cellular_component")
GENE_TYPES = ("protein-coding", "ncRNA", "pseudo", "biological-region", "snoRNA", "rRNA", "tRNA", "snRNA",
              "scRNA", "other", "unknown")
PATHWAY_SOURCES = ("reactome", "msigdb_hallmark", "kegg")
STRING_CHANNELS = ("neighborhood", "fusion", "cooccurence", "coexpression", "experimental", "database",
                   "textmining")
IDENTIFIERS = "https://identifiers.org/"

NODES: tuple[NodeLabel, ...] = (
    NodeLabel(
        GENE, "Gene nodes from NCBI gene_info; uniprot and sequence_length only where a protein maps.",
        (IdPrefix("ncbigene:", IDENTIFIERS + "ncbigene:", "ncbigene:7157"),),
        (Property("gene_id", "long", indexed=True), Property("symbol", indexed=True), Property("aliases", "string[]"),
         Property("description"), Property("type", values=GENE_TYPES), Property("chromosome"),
         Property("uniprot"), Property("sequence_length", "long")),
        model_type="gene"),
    NodeLabel(
        GO_TERM, "GO terms (obsolete terms are not loaded); gene_count = genes annotated directly (specificity).",
        (IdPrefix("GO:", "http://purl.obolibrary.org/obo/GO_", "GO:0006915"),),
        (Property("name"), Property("namespace", values=GO_NAMESPACES), Property("definition"),
         Property("gene_count", "long")),
        model_type="go_term",
        readme_properties="`name`, `namespace`, `definition`, `gene_count` (genes annotated directly); "
                          "obsolete terms are not loaded"),
    NodeLabel(
        PATHWAY, "Reactome pathways, MSigDB hallmark and KEGG sets; `source` tells them apart, `size` counts members,\n"
                 "// `is_leaf` marks pathways with no sub-pathway (every MSigDB set).",
        (IdPrefix("R-", IDENTIFIERS + "reactome:R-", "R-HSA-109581"),
         IdPrefix("msigdb:", "https://www.gsea-msigdb.org/gsea/msigdb/cards/", "msigdb:HALLMARK_APOPTOSIS")),
        (Property("name"), Property("source", values=PATHWAY_SOURCES, indexed=True), Property("url"),
         Property("size", "long"), Property("is_leaf", "boolean")),
        model_type="pathway",
        readme_ids="`R-HSA-109581`, `msigdb:HALLMARK_APOPTOSIS`, `msigdb:KEGG_APOPTOSIS`",
        readme_properties="`name`, `source` (`reactome`, `msigdb_hallmark`, `kegg`), `url`, `size` (members), "
                          "`is_leaf`"),
    NodeLabel(
        GENE_SET, "Named gene sets measured as targets by a PerturbQA gene-set task (e.g. its K562 gene clusters);\n"
                  "// the id is geneset:DATASET/NAME.",
        (IdPrefix(GENE_SET_PREFIX, "urn:aroma:geneset:", "geneset:k562_set/12-oxidative phosphorylation"),),
        (Property("name", indexed=True), Property("dataset")),
        readme_ids="`geneset:k562_set/12-oxidative phosphorylation`",
        readme_properties="`name` (as the label file gives it), `dataset`; the targets of a gene-set task"),
    NodeLabel(
        BUILD_INFO, "One BuildInfo node records how the graph was built (sources, checksums, timings, unmapped "
                    "records).",
        (),
        (Property("started_at"), Property("finished_at"), Property("seconds", "double"),
         Property("toolkit_version"), Property("sources"), Property("mappings"), Property("stage_seconds"),
         Property("checksum"), Property("string_min_score", "long"), Property("string_below_min_score", "long")),
        readme_ids="build checksum",
        readme_properties="sources (path, bytes, sha256, version), unmapped records, stage timings"),
)

_GO_RELATION = "GO term {} relations, child -> parent as in the OBO file."
_OUTCOME_PROPERTIES = (Property("cell_line"), Property("effect", values=("not changed", "downregulated", "upregulated")),
                       Property("dataset"), Property("file"), Property("pert_symbol"), Property("target_symbol"))
_GO_PROVENANCE = "GO, child → parent"

EDGES: tuple[EdgeKind, ...] = (
    EdgeKind(GENE, "INTERACTS_WITH", GENE, "gene",
             "STRING v12 interactions, stored once per gene pair (undirected semantics: match without direction).",
             "STRING v12, once per pair: match it without direction",
             (Property("combined_score", "long"), Property("score", "double"),
              *(Property(channel, "long") for channel in STRING_CHANNELS)),
             readme_properties="`combined_score` (0–1000), `score` (0–1), the seven channel scores"),
    EdgeKind(GENE, "REGULATES", GENE, "gene",
             "TRRUST v2: transcription factor -> target, with sign and PubMed ids.",
             "TRRUST v2, TF → target",
             (Property("sign", values=("activation", "repression", "unknown")), Property("pmids", "string[]")),
             predicate_by="sign", readme_properties="`sign` (`activation`/`repression`/`unknown`), `pmids`"),
    EdgeKind(GENE, "ANNOTATED_WITH", GO_TERM, "path",
             "NCBI gene2go: one edge per gene and term, evidence codes aggregated.", "NCBI gene2go",
             (Property("evidence", "string[]"), Property("qualifier", "string[]"),
              Property("aspect", values=GO_NAMESPACES)),
             readme_properties="`evidence` codes, `qualifier`, `aspect`"),
    EdgeKind(GENE, "MEMBER_OF", PATHWAY, "path",
             "Gene membership in Reactome pathways (all levels) and MSigDB sets.",
             "Reactome (all levels), MSigDB hallmark, KEGG", (Property("evidence"),)),
    *(EdgeKind(GO_TERM, rel_type, GO_TERM, "path", _GO_RELATION.format(rel_type.lower()), _GO_PROVENANCE)
      for rel_type in ("IS_A", "PART_OF", "REGULATES", "POSITIVELY_REGULATES", "NEGATIVELY_REGULATES")),
    EdgeKind(PATHWAY, "PARENT_OF", PATHWAY, "path", "Reactome hierarchy, parent -> child.", "Reactome hierarchy"),
    *(EdgeKind(GENE, "KNOCKDOWN_EFFECT", target, "outcomes",
               f"PerturbQA training split: what knocking down a gene did to a target {what} in one dataset "
               "(observations).",
               f"PerturbQA **training split only**, with `--perturbqa DIR`: knocked-down gene → measured {what}",
               _OUTCOME_PROPERTIES,
               readme_properties="`cell_line` (the dataset: `K562`, `K562_SET`), `effect` (`not changed`/"
                                 "`downregulated`/`upregulated`), `dataset`, `file`, `pert_symbol`, `target_symbol`")
      for target, what in ((GENE, "gene"), (GENE_SET, "gene set"))),
)


class SchemaError(ValueError):
    """A node label or edge kind that the schema does not declare, or a declaration that contradicts another."""


@dataclass
class Schema:
    """Node labels and edge kinds in declaration order (the order of loading, stats and README tables)."""

    nodes: dict[str, NodeLabel] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], EdgeKind] = field(default_factory=dict)

    def add(self, entry: NodeLabel | EdgeKind) -> None:
        """Declare one more node label or edge kind (an extension's: its adapter yields the records)."""
        if isinstance(entry, NodeLabel):
            if entry.label in self.nodes:
                raise SchemaError(f"node label {entry.label} is declared twice")
            self.nodes[entry.label] = entry
            return
        if entry.kind in self.edges:
            raise SchemaError(f"edge kind {entry.pattern} is declared twice")
        for label in (entry.source, entry.target):
            if label not in self.nodes:
                raise SchemaError(f"edge kind {entry.pattern}: node label {label} is not declared")
        if entry.graph not in GRAPH_NAMES:
            raise SchemaError(f"edge kind {entry.pattern}: graph {entry.graph!r} is not one of {sorted(GRAPH_NAMES)}")
        self.edges[entry.kind] = entry

    def remove(self, entry: NodeLabel | EdgeKind) -> None:
        if isinstance(entry, NodeLabel):
            del self.nodes[entry.label]
        else:
            del self.edges[entry.kind]

    @contextmanager
    def extended(self, *entries: NodeLabel | EdgeKind) -> Iterator[Schema]:
        """The schema with ``entries`` added for the duration of a ``with`` block."""
        added: list[NodeLabel | EdgeKind] = []
        try:
            for entry in entries:
                self.add(entry)
                added.append(entry)
            yield self
        finally:
            for entry in reversed(added):
                self.remove(entry)

    # -- lookups ------------------------------------------------------------------------------------
    def node(self, label: str) -> NodeLabel:
        try:
            return self.nodes[label]
        except KeyError:
            raise SchemaError(f"node label {label} has no entry in aroma/kg/schema.py") from None

    def edge(self, kind: tuple[str, str, str]) -> EdgeKind:
        try:
            return self.edges[kind]
        except KeyError:
            raise SchemaError(f"edge kind ({kind[0]})-[:{kind[1]}]->({kind[2]}) has no entry in "
                              "aroma/kg/schema.py") from None

    def loaders(self) -> list[str]:
        """Every loader name (nodes first, then the bulk build's node updaters, then edges)."""
        return ([n.loader for n in self.nodes.values()] + [n.updater for n in self.nodes.values() if not n.metadata]
                + [e.loader for e in self.edges.values()])

    def model_node_types(self) -> dict[str, str]:
        """Node label → PyG node type."""
        return {n.label: n.model_type for n in self.nodes.values() if n.model_type}

    def model_relations(self, graph: str) -> dict[str, tuple[str, str, str]]:
        """One model graph's edges: relationship type → PyG edge type (source type, relation, target type)."""
        types = self.model_node_types()
        return {e.type: (types[e.source], e.type.lower(), types[e.target])
                for e in self.edges.values() if e.graph == graph}

    def id_prefixes(self) -> list[IdPrefix]:
        """Every id form, longest prefix first (so the most specific rule wins)."""
        return sorted((p for n in self.nodes.values() for p in n.ids), key=lambda p: -len(p.prefix))

    def order_key_node(self, label: str) -> tuple[int, str]:
        """Sort key: declaration order, undeclared labels after, by name."""
        order = list(self.nodes)
        return (order.index(label) if label in order else len(order), label)

    def order_key_edge(self, kind: tuple[str, str, str]) -> tuple[int, tuple[str, str, str]]:
        order = list(self.edges)
        return (order.index(kind) if kind in order else len(order), kind)


def _default() -> Schema:
    schema = Schema()
    for entry in (*NODES, *EDGES):
        schema.add(entry)
    return schema


SCHEMA = _default()
