"""Turn the parsed sources into Gene-KG and Path-KG records, mapping every identifier through ``idmap``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aroma.data import perturbqa
from aroma.kg.adapters import gmt, go, ncbi, reactome, string_db, trrust, uniprot
from aroma.kg.edge_table import EdgeTable
from aroma.kg.idmap import AMBIGUOUS, NOT_IN_NCBI, GeneIndex, SourceMapping, gene_node_id
from aroma.kg.readers import gzip_damage
from aroma.kg.records import Edge, Node
from aroma.errors import SourceFormatError
from aroma.kg.schema import GENE, GENE_SET, GENE_SET_PREFIX, GO_TERM, PATHWAY, SCHEMA, SchemaError
from aroma.kg.sources import SourceDir
from aroma.tokens import LABELS

# The edge kinds this module makes (each declared in aroma/kg/schema.py; assemble checks every record's kind)
INTERACTS_WITH, REGULATES = (GENE, "INTERACTS_WITH", GENE), (GENE, "REGULATES", GENE)
ANNOTATED_WITH, MEMBER_OF = (GENE, "ANNOTATED_WITH", GO_TERM), (GENE, "MEMBER_OF", PATHWAY)
PARENT_OF = (PATHWAY, "PARENT_OF", PATHWAY)
GO_ASPECTS = {"Function": "molecular_function", "Process": "biological_process", "Component": "cellular_component"}
# MSigDB collections loaded as Pathway nodes: source key → (Pathway.source, id prefix)
DEFAULT_STRING_MIN_SCORE = 400  # STRING's own "medium confidence"
GENE_SET_COLLECTIONS = {"msigdb_hallmark": "msigdb_hallmark", "msigdb_kegg": "kegg"}


@dataclass
class KnowledgeGraph:
    """Every node and edge of one build, grouped for loading, with the mapping report."""

    nodes: dict[str, list[Node]] = field(default_factory=lambda: defaultdict(list))
    edges: dict[tuple[str, str, str], list[Edge] | EdgeTable] = field(default_factory=lambda: defaultdict(list))
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
Adapter = Callable[[SourceDir, GeneIndex], Iterable[Node | Edge]]
"""An extension's source: reads the sources directory, maps genes through the index, yields records whose
label or kind is declared in the schema (``aroma.kg.schema``); its name is shown as a build stage."""


def assemble(sources: SourceDir, step: Step = lambda name: None, perturbqa_dirs: Sequence[Path] = (),
             string_min_score: int = DEFAULT_STRING_MIN_SCORE, adapters: Sequence[Adapter] = ()) -> KnowledgeGraph:
    """Parse every source of ``sources`` and map it onto one graph; ``step`` is told each stage.

    STRING links whose combined score is below ``string_min_score`` (0-1000) are not loaded.

    With ``perturbqa_dirs``, the training-split outcomes of every dataset there become ``KNOCKDOWN_EFFECT`` edges
    (test-split labels are never read into the graph).
    """
    if not 0 <= string_min_score <= 1000:
        raise ValueError(f"STRING minimum score {string_min_score} is outside 0-1000")
    try:
        return _assemble(sources, step, perturbqa_dirs, string_min_score, adapters)
    except SourceFormatError as exc:  # garbage from a damaged gzip file: say the file is damaged, not the line
        damage = gzip_damage(exc.path) if exc.line is not None and exc.path.is_file() else None
        if damage:
            raise SourceFormatError(exc.path, None, f"{damage}; fetch it again") from exc
        raise


def _assemble(sources: SourceDir, step: Step, perturbqa_dirs: Sequence[Path], string_min_score: int,
              adapters: Sequence[Adapter]) -> KnowledgeGraph:
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
    if perturbqa_dirs:
        step("PerturbQA training outcomes")
        _add_knockdown_effects(kg, genes, perturbqa_dirs)
    for adapter in adapters:
        step(getattr(adapter, "__name__", "adapter"))
        for record in adapter(sources, genes):
            if isinstance(record, Edge):
                kg.add_edge(record)
            else:
                kg.add_node(record)
    _add_sizes(kg)
    check_declared(kg)
    return kg


def check_declared(kg: KnowledgeGraph) -> None:
    """Raise ``SchemaError`` for a label, edge kind or property key that ``aroma/kg/schema.py`` does not declare."""
    for label, nodes in kg.nodes.items():
        _check_keys(SCHEMA.node(label).properties, nodes, f":{label}")
    for kind, edges in kg.edges.items():
        edge = SCHEMA.edge(kind)
        if isinstance(edges, EdgeTable):  # columns: check their names, not millions of rows
            _check_names(edge.properties, set(edges.order), edge.pattern)
        else:
            _check_keys(edge.properties, edges, edge.pattern)


def _check_keys(declared, records: list, where: str) -> None:
    _check_names(declared, set().union(*(r.properties.keys() for r in records)), where)


def _check_names(declared, names: set[str], where: str) -> None:
    extra = names - {p.name for p in declared}
    if extra:
        raise SchemaError(f"{where}: properties {sorted(extra)} are not declared in aroma/kg/schema.py")


def _add_sizes(kg: KnowledgeGraph) -> None:
    """How specific each term and pathway is: directly annotated genes, members, and Reactome leaves."""
    annotated = Counter(e.target for e in kg.edges[ANNOTATED_WITH])
    for node in kg.nodes[GO_TERM]:
        node.properties["gene_count"] = annotated.get(node.id, 0)
    members = Counter(e.target for e in kg.edges[MEMBER_OF])
    parents = {e.source for e in kg.edges[PARENT_OF]}
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
        kg.add_edge(Edge.of((GO_TERM, rel_type, GO_TERM), child, parent))
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
            Edge.of(
                ANNOTATED_WITH,
                gene_node_id(gene_id),
                term,
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
            kg.add_edge(Edge.of(PARENT_OF, parent, child))
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
        kg.add_edge(Edge.of(MEMBER_OF, gene_node_id(gene_id), pathway_id, {"evidence": evidence}))


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
                mapping.miss(NOT_IN_NCBI, f"line {gene_set.line}: {symbol}")
            else:
                mapping.ok()
                members.add(gene_id)
        for gene_id in sorted(members):
            kg.add_edge(Edge.of(MEMBER_OF, gene_node_id(gene_id), pathway_id, {"evidence": "MSigDB"}))


def _add_string(kg: KnowledgeGraph, genes: GeneIndex, sources: SourceDir) -> None:
    """STRING links above the threshold, mapped to genes and kept once per gene pair (the strongest line,
    the first of equals), as columns: the publisher's 13.7M lines never exist as Python objects."""
    names = string_db.read_protein_info(sources.path("string_info"))
    mapping = kg.mapping("string_links")
    gene_of: dict[str, int] = {}  # protein id → NCBI GeneID, -1 when it does not map
    keys, scores, channels = [], [], []
    for block in string_db.read_link_blocks(sources.path("string_links")):
        keep = block.combined_score >= kg.string_min_score
        kg.string_below_min_score += int(len(block) - keep.sum())
        ends = []
        for codes, proteins in ((block.codes_a, block.names_a), (block.codes_b, block.names_b)):
            lookup = np.fromiter((_string_gene(p, names, genes, gene_of) for p in proteins), np.int64, len(proteins))
            ends.append(lookup[codes] if len(codes) else np.zeros(0, np.int64))
        a, b = ends
        good = keep & (a >= 0) & (b >= 0) & (a != b)
        for row in np.flatnonzero(keep & ~good):
            _string_miss(mapping, names, block, int(row), int(a[row]), int(b[row]))
        mapping.ok(int(good.sum()))
        a, b = a[good], b[good]
        keys.append(np.minimum(a, b) << 32 | np.maximum(a, b))
        scores.append(block.combined_score[good].astype(np.int16))
        channels.append(block.channels[good].astype(np.int16))
    key, score, channel = np.concatenate(keys), np.concatenate(scores), np.concatenate(channels)
    del keys, scores, channels
    order = np.lexsort((-score, key))  # stable: per pair, the strongest line, the first of equals
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order[1:]] != key[order[:-1]]
    best = order[first]
    columns = {"combined_score": score[best]}
    columns.update({name: channel[best, i] for i, name in enumerate(string_db.CHANNELS)})
    kg.edges[INTERACTS_WITH] = EdgeTable(INTERACTS_WITH, "ncbigene:", key[best] >> 32, key[best] & 0xFFFFFFFF, columns,
                                      {"score": ("combined_score", 1000.0)},
                                      ("combined_score", "score", *string_db.CHANNELS))


def _string_gene(protein: str, names: dict[str, str], genes: GeneIndex, gene_of: dict[str, int]) -> int:
    if protein not in gene_of:
        found = genes.resolve_symbol(names[protein]) if protein in names else None
        gene_of[protein] = -1 if found is None else found
    return gene_of[protein]


def _string_miss(mapping: SourceMapping, names: dict[str, str], block: string_db.LinkBlock, row: int,
                 a: int, b: int) -> None:
    protein_a, protein_b = block.names_a[block.codes_a[row]], block.names_b[block.codes_b[row]]
    line = int(block.lines[row])
    if a < 0 or b < 0:
        missing = protein_a if a < 0 else protein_b
        reason = "protein not in protein.info" if missing not in names else "preferred name not in NCBI"
        mapping.miss(reason, f"line {line}: {missing} ({names.get(missing, '?')})")
    else:
        mapping.miss("both proteins map to one gene", f"line {line}: {protein_a} {protein_b}")


def _add_trrust(kg: KnowledgeGraph, genes: GeneIndex, sources: SourceDir) -> None:
    mapping = kg.mapping("trrust")
    edges: dict[tuple[int, int, str], set[str]] = {}
    for row in trrust.read_trrust(sources.path("trrust")):
        tf, target = genes.resolve_symbol(row.tf), genes.resolve_symbol(row.target)
        if tf is None or target is None:
            mapping.miss(NOT_IN_NCBI, f"line {row.line}: {row.tf if tf is None else row.target}")
        else:
            mapping.ok()
            edges.setdefault((tf, target, row.sign), set()).update(row.pmids)
    for (tf, target, sign), pmids in edges.items():
        kg.add_edge(
            Edge.of(REGULATES, gene_node_id(tf), gene_node_id(target), {"sign": sign, "pmids": sorted(pmids)})
        )


def _add_knockdown_effects(kg: KnowledgeGraph, genes: GeneIndex, directories: Sequence[Path]) -> None:
    """What each training-split knockdown measurably did to each target, per dataset (observations). A dataset
    whose targets are mostly not gene symbols is a gene-set task: its targets become ``GeneSet`` nodes."""
    seen: dict[str, Path] = {}
    for directory in directories:
        names = perturbqa.cell_lines(directory)
        if not names:
            raise SourceFormatError(directory, None, "no dataset: expected NAME-de.csv and NAME-dir.csv files")
        for name in names:
            if name.upper() in seen:
                raise SourceFormatError(directory, None, f"dataset {name} is also in {seen[name.upper()]}: give each "
                                        "PerturbQA dataset once")
            seen[name.upper()] = directory
            _add_dataset_effects(kg, genes, directory, name)


def _add_dataset_effects(kg: KnowledgeGraph, genes: GeneIndex, directory: Path, name: str) -> None:
    mapping = kg.mapping(f"perturbqa_{name}")
    pairs = perturbqa.read_cell_line(directory, name)
    ids, ambiguous = genes.resolve_names({p.perturbed for p in pairs} | {p.target for p in pairs})
    targets = {p.target for p in pairs}
    gene_sets = sum(target in ids for target in targets) < len(targets) / 2
    targets_of: dict[str, str] = {}
    if gene_sets:
        for target in sorted(targets):
            targets_of[target] = f"{GENE_SET_PREFIX}{name}/{target}"
            kg.add_node(Node(targets_of[target], GENE_SET, {"name": target, "dataset": name.upper()}))
    else:
        targets_of = {target: gene_node_id(ids[target]) for target in targets if target in ids}
    kind = (GENE, "KNOCKDOWN_EFFECT", GENE_SET if gene_sets else GENE)
    for pair in pairs:
        if pair.split != "train":
            continue  # test labels never enter the graph
        pert, target = ids.get(pair.perturbed), targets_of.get(pair.target)
        if pert is None or target is None:
            missing = pair.perturbed if pert is None else pair.target
            mapping.miss(AMBIGUOUS if missing in ambiguous else NOT_IN_NCBI, missing)
            continue
        mapping.ok()
        kg.add_edge(Edge.of(kind, gene_node_id(pert), target, {
            "cell_line": pair.cell_line, "effect": LABELS[pair.label], "dataset": "PerturbQA",
            "file": f"{name}-de.csv", "pert_symbol": pair.perturbed, "target_symbol": pair.target}))
