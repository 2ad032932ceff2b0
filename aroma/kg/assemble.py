"""Turn the parsed sources into Gene-KG and Path-KG records, mapping every identifier through ``idmap``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aroma.kg.adapters import gmt, go, ncbi, perturbqa, reactome, string_db, trrust, uniprot
from aroma.kg.idmap import GeneIndex, SourceMapping, gene_node_id
from aroma.kg.records import Edge, Node
from aroma.errors import SourceFormatError
from aroma.kg.sources import SourceDir
from aroma.tokens import LABELS

GENE, GO_TERM, PATHWAY = "Gene", "GOTerm", "Pathway"
GO_ASPECTS = {"Function": "molecular_function", "Process": "biological_process", "Component": "cellular_component"}
# MSigDB collections loaded as Pathway nodes: source key → (Pathway.source, id prefix)
DEFAULT_STRING_MIN_SCORE = 400  # STRING's own "medium confidence"
GENE_SET_COLLECTIONS = {"msigdb_hallmark": "msigdb_hallmark", "msigdb_kegg": "kegg"}


@dataclass
class KnowledgeGraph:
    """Every node and edge of one build, grouped for loading, with the mapping report."""

    nodes: dict[str, list[Node]] = field(default_factory=lambda: defaultdict(list))
    edges: dict[tuple[str, str, str], list[Edge]] = field(default_factory=lambda: defaultdict(list))
    mappings: dict[str, SourceMapping] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    string_min_score: int = 0  # STRING links scoring below this were not loaded
    string_below_min_score: int = 0  # how many links (lines of the file) that dropped

    def add_node(self, node: Node) -> None:
        self.nodes[node.label].append(node)

    def add_edge(self, edge: Edge) -> None:
        self.edges[edge.kind].append(edge)

    def mapping(self, source: str) -> SourceMapping:
        return self.mappings.setdefault(source, SourceMapping(source))

    @property
    def node_count(self) -> int:
        return sum(len(v) for v in self.nodes.values())

    @property
    def edge_count(self) -> int:
        return sum(len(v) for v in self.edges.values())


Step = Callable[[str], None]


def assemble(sources: SourceDir, step: Step = lambda name: None, perturbqa_dir: Path | None = None,
             string_min_score: int = DEFAULT_STRING_MIN_SCORE) -> KnowledgeGraph:
    """Parse every source of ``sources`` and map it onto one graph; ``step`` is told each stage.

    STRING links whose combined score is below ``string_min_score`` (0-1000) are not loaded.

    With ``perturbqa_dir``, the training-split outcomes of every cell line there become
    ``KNOCKDOWN_EFFECT`` edges (test-split labels are never read into the graph).
    """
    if not 0 <= string_min_score <= 1000:
        raise ValueError(f"STRING minimum score {string_min_score} is outside 0-1000")
    kg = KnowledgeGraph(string_min_score=string_min_score)
    step("NCBI genes")
    genes = GeneIndex(ncbi.read_gene_info(sources.path("gene_info")))
    step("UniProt proteins")
    proteins = list(uniprot.read_fasta(sources.path("uniprot")))
    genes.add_proteins(proteins)
    _add_genes(kg, genes, proteins)
    step("GO ontology")
    go_alt = _add_go(kg, go.read_go(sources.path("go")))
    step("GO annotations")
    _add_go_annotations(kg, genes, go_alt, sources)
    step("Reactome")
    _add_reactome(kg, genes, sources)
    step("MSigDB")
    for key, collection in GENE_SET_COLLECTIONS.items():
        _add_gene_sets(kg, genes, key, collection, sources)
    step("STRING")
    _add_string(kg, genes, sources)
    step("TRRUST")
    _add_trrust(kg, genes, sources)
    if perturbqa_dir is not None:
        step("PerturbQA training outcomes")
        _add_knockdown_effects(kg, genes, perturbqa_dir)
    _add_sizes(kg)
    return kg


def _add_sizes(kg: KnowledgeGraph) -> None:
    """How specific each term and pathway is: directly annotated genes, members, and Reactome leaves."""
    annotated = Counter(e.target for e in kg.edges[(GENE, "ANNOTATED_WITH", GO_TERM)])
    for node in kg.nodes[GO_TERM]:
        node.properties["gene_count"] = annotated.get(node.id, 0)
    members = Counter(e.target for e in kg.edges[(GENE, "MEMBER_OF", PATHWAY)])
    parents = {e.source for e in kg.edges[(PATHWAY, "PARENT_OF", PATHWAY)]}
    for node in kg.nodes[PATHWAY]:
        node.properties["size"] = members.get(node.id, 0)
        node.properties["is_leaf"] = node.id not in parents


def _add_genes(kg: KnowledgeGraph, genes: GeneIndex, proteins: list[uniprot.ProteinEntry]) -> None:
    protein_of: dict[int, uniprot.ProteinEntry] = {}
    mapping = kg.mapping("uniprot")
    for protein in proteins:
        gene_id = genes.resolve_symbol(protein.gene_symbol) if protein.gene_symbol else None
        if gene_id is None:
            mapping.miss("gene name not in NCBI", f"{protein.accession} GN={protein.gene_symbol}")
        elif gene_id in protein_of:
            mapping.miss("second protein of one gene", f"{protein.accession} GN={protein.gene_symbol}")
        else:
            protein_of[gene_id] = protein
            mapping.ok()
    for gene in genes.genes.values():
        protein = protein_of.get(gene.gene_id)
        kg.add_node(
            Node(
                gene_node_id(gene.gene_id),
                GENE,
                {
                    "gene_id": gene.gene_id,
                    "symbol": gene.symbol,
                    "aliases": list(dict.fromkeys(  # NCBI synonyms, plus the HGNC symbol where NCBI's differs
                        [*gene.synonyms, *([gene.authority_symbol] if gene.authority_symbol not in ("", gene.symbol)
                                           else [])])),
                    "description": gene.description,
                    "type": gene.type_of_gene,
                    "chromosome": gene.chromosome,
                    "uniprot": protein.accession if protein else None,
                    "sequence_length": len(protein.sequence) if protein else None,
                },
            )
        )
    kg.mapping("gene_info").records = kg.mapping("gene_info").mapped = len(genes.genes)


def _add_go(kg: KnowledgeGraph, ontology: go.GoOntology) -> dict[str, str]:
    """Add terms and term–term relations; return alt_id → primary id for annotation mapping."""
    kg.versions["go"] = ontology.version
    live = {term.id for term in ontology.terms}
    alt: dict[str, str] = {}
    for term in ontology.terms:
        kg.add_node(
            Node(term.id, GO_TERM, {"name": term.name, "namespace": term.namespace, "definition": term.definition})
        )
        alt.update({a: term.id for a in term.alt_ids})
    mapping = kg.mapping("go")
    for child, rel_type, parent, line in ontology.relations:
        if parent not in live:
            mapping.miss("parent term missing or obsolete", f"line {line}: {child} {rel_type} {parent}")
            continue
        mapping.ok()
        kg.add_edge(Edge(child, parent, rel_type, GO_TERM, GO_TERM))
    return alt


def _add_go_annotations(kg: KnowledgeGraph, genes: GeneIndex, alt: dict[str, str], sources: SourceDir) -> None:
    live = {node.id for node in kg.nodes[GO_TERM]}
    mapping = kg.mapping("gene2go")
    pairs: dict[tuple[int, str], dict[str, set[str]]] = {}
    for row in ncbi.read_gene2go(sources.path("gene2go")):
        term = row.go_id if row.go_id in live else alt.get(row.go_id)
        if row.gene_id not in genes.genes:
            mapping.miss("GeneID not in gene_info", f"line {row.line}: {row.gene_id}")
        elif term is None:
            mapping.miss("GO term obsolete or unknown", f"line {row.line}: {row.go_id}")
        else:
            mapping.ok()
            found = pairs.setdefault((row.gene_id, term), {"evidence": set(), "qualifier": set(), "aspect": set()})
            found["evidence"].add(row.evidence)
            found["qualifier"].add(row.qualifier)
            found["aspect"].add(GO_ASPECTS.get(row.category, row.category))
    for (gene_id, term), found in pairs.items():
        kg.add_edge(
            Edge(
                gene_node_id(gene_id),
                term,
                "ANNOTATED_WITH",
                GENE,
                GO_TERM,
                {
                    "evidence": sorted(found["evidence"]),
                    "qualifier": sorted(found["qualifier"]),
                    "aspect": sorted(found["aspect"])[0],
                },
            )
        )


def _add_reactome(kg: KnowledgeGraph, genes: GeneIndex, sources: SourceDir) -> None:
    pathways = {p.id: p for p in reactome.read_pathways(sources.path("reactome_pathways"))}
    for pathway in pathways.values():
        kg.add_node(Node(pathway.id, PATHWAY, {"name": pathway.name, "source": "reactome"}))
    mapping = kg.mapping("reactome_relations")
    for parent, child in reactome.read_relations(sources.path("reactome_relations")):
        if parent in pathways and child in pathways:
            mapping.ok()
            kg.add_edge(Edge(parent, child, "PARENT_OF", PATHWAY, PATHWAY))
        else:
            mapping.miss("pathway not in ReactomePathways.txt", f"{parent} -> {child}")
    mapping = kg.mapping("reactome_uniprot")
    members: dict[tuple[int, str], str] = {}
    for row in reactome.read_uniprot_memberships(sources.path("reactome_uniprot")):
        gene_id = genes.resolve_uniprot(row.accession)
        if row.pathway_id not in pathways:
            mapping.miss("pathway not in ReactomePathways.txt", f"line {row.line}: {row.pathway_id}")
        elif gene_id is None:
            mapping.miss("UniProt accession not mapped to a gene", f"line {row.line}: {row.accession}")
        else:
            mapping.ok()
            members.setdefault((gene_id, row.pathway_id), row.evidence)
    for (gene_id, pathway_id), evidence in members.items():
        kg.add_edge(Edge(gene_node_id(gene_id), pathway_id, "MEMBER_OF", GENE, PATHWAY, {"evidence": evidence}))


def _add_gene_sets(kg: KnowledgeGraph, genes: GeneIndex, key: str, collection: str, sources: SourceDir) -> None:
    mapping = kg.mapping(key)
    for gene_set in gmt.read_gmt(sources.path(key)):
        pathway_id = f"msigdb:{gene_set.name}"
        kg.add_node(
            Node(pathway_id, PATHWAY, {"name": gene_set.name, "source": collection, "url": gene_set.description})
        )
        members: set[int] = set()
        for symbol in gene_set.genes:
            gene_id = genes.resolve_symbol(symbol)
            if gene_id is None:
                mapping.miss("symbol not in NCBI", f"line {gene_set.line}: {symbol}")
            else:
                mapping.ok()
                members.add(gene_id)
        for gene_id in sorted(members):
            kg.add_edge(Edge(gene_node_id(gene_id), pathway_id, "MEMBER_OF", GENE, PATHWAY, {"evidence": "MSigDB"}))


def _add_string(kg: KnowledgeGraph, genes: GeneIndex, sources: SourceDir) -> None:
    names = string_db.read_protein_info(sources.path("string_info"))
    mapping = kg.mapping("string_links")
    best: dict[tuple[int, int], string_db.StringLink] = {}
    gene_of: dict[str, int | None] = {}
    for link in string_db.read_links(sources.path("string_links")):
        if link.combined_score < kg.string_min_score:
            kg.string_below_min_score += 1
            continue
        ids = []
        for protein in (link.protein_a, link.protein_b):
            if protein not in gene_of:
                gene_of[protein] = genes.resolve_symbol(names[protein]) if protein in names else None
            ids.append(gene_of[protein])
        a, b = ids
        if a is None or b is None:
            missing = link.protein_a if a is None else link.protein_b
            reason = "protein not in protein.info" if missing not in names else "preferred name not in NCBI"
            mapping.miss(reason, f"line {link.line}: {missing} ({names.get(missing, '?')})")
        elif a == b:
            mapping.miss("both proteins map to one gene", f"line {link.line}: {link.protein_a} {link.protein_b}")
        else:
            mapping.ok()
            pair = (min(a, b), max(a, b))
            if pair not in best or link.combined_score > best[pair].combined_score:
                best[pair] = link
    for (a, b), link in best.items():
        properties = {"combined_score": link.combined_score, "score": link.combined_score / 1000}
        properties.update(zip(string_db.CHANNELS, link.channels))
        kg.add_edge(Edge(gene_node_id(a), gene_node_id(b), "INTERACTS_WITH", GENE, GENE, properties))


def _add_trrust(kg: KnowledgeGraph, genes: GeneIndex, sources: SourceDir) -> None:
    mapping = kg.mapping("trrust")
    edges: dict[tuple[int, int, str], set[str]] = {}
    for row in trrust.read_trrust(sources.path("trrust")):
        tf, target = genes.resolve_symbol(row.tf), genes.resolve_symbol(row.target)
        if tf is None or target is None:
            mapping.miss("symbol not in NCBI", f"line {row.line}: {row.tf if tf is None else row.target}")
        else:
            mapping.ok()
            edges.setdefault((tf, target, row.sign), set()).update(row.pmids)
    for (tf, target, sign), pmids in edges.items():
        kg.add_edge(
            Edge(gene_node_id(tf), gene_node_id(target), "REGULATES", GENE, GENE, {"sign": sign, "pmids": sorted(pmids)})
        )


def _add_knockdown_effects(kg: KnowledgeGraph, genes: GeneIndex, directory: Path) -> None:
    """What each training-split knockdown measurably did to each target gene, per cell line (observations)."""
    names = perturbqa.cell_lines(directory)
    if not names:
        raise SourceFormatError(directory, None, "no cell line: expected NAME-de.csv and NAME-dir.csv files")
    for name in names:
        mapping = kg.mapping(f"perturbqa_{name}")
        for pair in perturbqa.read_cell_line(directory, name):
            if pair.split != "train":
                continue  # test labels never enter the graph
            pert, target = genes.resolve_symbol(pair.perturbed), genes.resolve_symbol(pair.target)
            if pert is None or target is None:
                mapping.miss("symbol not in NCBI", pair.perturbed if pert is None else pair.target)
                continue
            mapping.ok()
            kg.add_edge(Edge(gene_node_id(pert), gene_node_id(target), "KNOCKDOWN_EFFECT", GENE, GENE, {
                "cell_line": pair.cell_line, "effect": LABELS[pair.label], "dataset": "PerturbQA",
                "file": f"{name}-de.csv", "pert_symbol": pair.perturbed, "target_symbol": pair.target}))
