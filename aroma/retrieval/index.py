"""Per-gene evidence fetched from the graph in batches (named queries only) and cached; pairs are combined here.

Path finding runs in memory over STRING partners (``aroma.retrieval.string_source``): for one pair, the two
genes' partners and the links among their strongest partners, read by named queries; for many pairs
(``whole_network``), the whole network read once. Enumerating variable-length paths between well-connected
genes in Cypher takes seconds per pair on every engine, while bounded set intersections take microseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aroma.errors import AromaError, shown
from aroma.kg.adapters.string_db import CHANNELS
from aroma.kg.idmap import settle_aliases, symbol_variants
from aroma.kg.sources import STRING_NAME
from aroma.kg.store import GraphStore, batched
from aroma.retrieval.cache import DerivedCache
from aroma.retrieval.evidence import (ExperimentalEvidence, GeneFacts, GenePath, Interaction, Interactor,
                                      PairEvidence, Process, Regulation, SharedPathway, SharedTerm)
from aroma.retrieval.string_source import NETWORK_CHANNELS, BoundedNetwork, StringSource, WholeNetwork

if TYPE_CHECKING:  # numpy and scipy are imported only where similar knockdowns are used
    from aroma.retrieval.neighbours import KnockdownNeighbours

# GO molecular-function terms that make a gene a transcription factor.
TF_TERMS = {
    "GO:0003700": "DNA-binding transcription factor activity",
    "GO:0000981": "DNA-binding transcription factor activity, RNA polymerase II-specific",
    "GO:0001228": "DNA-binding transcription activator activity, RNA polymerase II-specific",
    "GO:0001227": "DNA-binding transcription repressor activity, RNA polymerase II-specific",
}
COMPLEX_ROOT = "GO:0032991"  # protein-containing complex: every complex term is under it
assert set(NETWORK_CHANNELS) <= set(CHANNELS)


# GO evidence codes (geneontology.org/docs/guide-go-evidence-codes): experiments on the gene itself, then
# high-throughput experiments; everything else (phylogenetic, sequence similarity, author or curator
# statements, electronic) comes after.
EXPERIMENTAL_CODES = frozenset({"EXP", "IDA", "IPI", "IMP", "IGI", "IEP"})
HIGH_THROUGHPUT_CODES = frozenset({"HTP", "HDA", "HMP", "HGI", "HEP"})


def process_rank(term: dict[str, Any]) -> tuple:
    """Sort key of a gene's GO process: experimental evidence first, then high-throughput, then the rest;
    within a tier, more distinct experimental codes (independent kinds of experiment) first, then the
    more specific term (fewer genes annotated directly), then the GO id."""
    codes = set(term["evidence"] or [])
    tier = 0 if codes & EXPERIMENTAL_CODES else 1 if codes & HIGH_THROUGHPUT_CODES else 2
    experiments = len(codes & (EXPERIMENTAL_CODES | HIGH_THROUGHPUT_CODES))
    return tier, -experiments, term["gene_count"], term["term"]


def _gene_number(gene_id: str) -> int:
    return int(gene_id.rsplit(":", 1)[1])


class UnknownGene(AromaError):
    """Gene symbols that are neither an official symbol nor an unambiguous alias in the graph.

    ``symbols`` names none; ``ambiguous`` maps each alias naming several genes to their official symbols."""

    def __init__(self, symbols: Sequence[str], ambiguous: dict[str, list[str]] | None = None) -> None:
        self.symbols = list(symbols)
        self.ambiguous = dict(ambiguous or {})
        parts = []
        if self.ambiguous:
            parts.append("ambiguous alias(es), give one of the official symbols: " + "; ".join(
                f"{shown(alias)} names {', '.join(candidates)}" for alias, candidates in self.ambiguous.items()))
        unknown = [s for s in self.symbols if s not in self.ambiguous]
        if unknown:
            parts.append(f"gene(s) not in the knowledge graph: {', '.join(shown(s) for s in unknown)}")
        super().__init__("; ".join(parts))


@dataclass(frozen=True)
class RetrievalLimits:
    """How much evidence to keep per pair, and what counts as too broad to be informative."""

    max_term_genes: int = 1000  # GO terms annotated to more genes are too broad to cite
    max_pathway_size: int = 500  # likewise for pathways
    shared_items: int = 5
    processes: int = 5
    min_process_genes: int = 10  # "main" processes: within this band of term sizes, ranked by process_rank
    top_interactors: int = 5
    paths: int = 3
    path_fanout: int = 25  # strongest neighbours explored per end for 3-hop paths
    min_path_score: int = 400  # STRING medium confidence: no weaker link is in a path or a strongest-partner list


@dataclass
class _Gene:
    facts: dict[str, Any]
    go_terms: list[dict[str, Any]]
    pathways: list[dict[str, Any]]
    regulates: dict[str, list[Regulation]]  # target id → TRRUST rows
    regulated_by: dict[str, list[Regulation]]


class EvidenceIndex:
    """Answers evidence for pairs from per-gene evidence fetched in batches and kept in memory."""

    def __init__(self, store: GraphStore, limits: RetrievalLimits | None = None, batch_size: int = 1000,
                 *, whole_network: bool = False, cache: DerivedCache | None = None) -> None:
        """``whole_network``: read the whole STRING network once (for many pairs) instead of each pair's
        neighbourhood; the evidence is the same either way. ``cache``: where tables derived from the
        whole graph are kept (default: ``DerivedCache.of(store)``, on disk beside the build)."""
        self.store = store
        self.whole_network = whole_network
        self.limits = limits or RetrievalLimits()
        self.batch_size = batch_size
        self._ids: dict[str, str] = {}  # symbol or alias → gene id
        self._ambiguous: dict[str, dict[str, str]] = {}  # alias of several genes → their ids and official symbols
        self._genes: dict[str, _Gene] = {}
        self._network: StringSource | None = None
        self._complexes: set[str] | None = None
        self._ranked: dict[str, list[str]] = {}
        self._facts: dict[str, GeneFacts] = {}
        self.outcomes: dict[str, KnockdownNeighbours] = {}  # cell line → what similar knockdowns did there
        self._cache = cache

    @property
    def cache(self) -> DerivedCache:
        """Tables derived from this build of the graph, kept on disk (``aroma.retrieval.cache``)."""
        if self._cache is None:
            self._cache = DerivedCache.of(self.store)
        return self._cache

    def outcome_cell_lines(self) -> list[str]:
        """The cell lines whose training outcomes the graph holds."""
        from aroma.retrieval.outcomes import outcome_cell_lines

        return outcome_cell_lines(self.store, self.cache)

    def use_outcomes(self, neighbours: KnockdownNeighbours) -> None:
        """Add experimental evidence (similar training knockdowns) to pairs of ``neighbours``' cell line."""
        self.outcomes[neighbours.table.cell_line] = neighbours

    # -- identifiers --------------------------------------------------------------------------
    def resolve(self, symbols: Iterable[str], *, strict: bool = True) -> dict[str, str]:
        """Map symbols (official or alias) to gene ids; unknown ones raise ``UnknownGene`` unless not strict."""
        symbols = list(symbols)
        wanted = sorted({s for s in symbols if s not in self._ids and s not in self._ambiguous})
        for batch in batched(wanted, self.batch_size):
            for row in self.store.read("retrieval/genes_by_symbol", symbols=list(batch)):
                known = self._ids.get(row["symbol"])  # NCBI gives a few symbols to two genes: the lower
                if known is None or _gene_number(row["id"]) < _gene_number(known):  # GeneID, as the build does
                    self._ids[row["symbol"]] = row["id"]
        leftover = {v.upper(): s for s in wanted if s not in self._ids for v in reversed(symbol_variants(s))}
        if leftover:  # aliases, and symbols in another case, naming exactly one gene
            by_name: dict[str, dict[str, str]] = defaultdict(dict)  # name → gene id → official symbol
            for row in self.store.read("retrieval/genes_by_alias", symbols=sorted(leftover)):
                for name in row["matched"]:
                    by_name[name][row["id"]] = row["symbol"]
            for name, genes in sorted(by_name.items()):
                if len(genes) == 1:
                    self._ids[leftover[name]] = next(iter(genes))
                elif leftover[name] not in self._ids:
                    self._ambiguous.setdefault(leftover[name], genes)
        unknown = [s for s in dict.fromkeys(symbols) if s not in self._ids]
        if unknown and strict:
            raise UnknownGene(unknown, {s: sorted(self._ambiguous[s].values())
                                        for s in unknown if s in self._ambiguous})
        return {s: self._ids[s] for s in symbols if s in self._ids}

    def resolve_names(self, names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
        """Names of one file (a PerturbQA dataset) resolved as ``aroma kg build`` maps them: as ``resolve``, plus
        the aliases the file settles (``kg.idmap.settle_aliases``) given the genes its other names already name
        (those resolved here and ``taken``)."""
        names = set(names)
        resolved = self.resolve(names, strict=False)
        ambiguous = {name: set(self._ambiguous[name]) for name in names - resolved.keys() if name in self._ambiguous}
        return {**resolved, **settle_aliases(ambiguous, {*resolved.values(), *taken})}

    # -- per-gene evidence ----------------------------------------------------------------------
    def prefetch(self, gene_ids: Iterable[str]) -> None:
        """Fetch facts, GO terms, pathways and regulation for every gene not cached yet, in batches."""
        missing = sorted({g for g in gene_ids if g not in self._genes})
        for batch in batched(missing, self.batch_size):
            ids = list(batch)
            genes = {row["id"]: _Gene(row, [], [], {}, {}) for row in self.store.read("retrieval/gene_facts", ids=ids)}
            for row in self.store.read("retrieval/gene_go_terms", ids=ids):
                genes[row["id"]].go_terms.append(row)
            for row in self.store.read("retrieval/gene_pathways", ids=ids):
                genes[row["id"]].pathways.append(row)
            for row in self.store.read("retrieval/gene_regulations", ids=ids):
                regulation = Regulation("TRRUST v2", row["tf_symbol"], row["target_symbol"], row["sign"],
                                        sorted(row["pmids"] or []))
                if row["tf"] in genes:
                    genes[row["tf"]].regulates.setdefault(row["target"], [])
                    genes[row["tf"]].regulates[row["target"]].append(regulation)
                if row["target"] in genes:
                    genes[row["target"]].regulated_by.setdefault(row["tf"], [])
                    genes[row["target"]].regulated_by[row["tf"]].append(regulation)
            self._genes.update(genes)

    @property
    def network(self) -> StringSource:
        """STRING partners: the whole network (read on first use) or the neighbourhoods asked for."""
        if self._network is None:
            min_score = self.limits.min_path_score
            self._network = (WholeNetwork(self.store, min_score, self.cache) if self.whole_network
                             else BoundedNetwork(self.store, min_score, self.batch_size))
        return self._network

    @property
    def complex_terms(self) -> set[str]:
        if self._complexes is None:
            self._complexes = set(self.cache.json(
                "complex-terms", lambda: [row["id"] for row in self.store.read("retrieval/complex_terms")]))
        return self._complexes

    def _ranked_partners(self, gene_id: str) -> list[str]:
        """STRING partners of a gene (links of at least ``min_path_score``), strongest first (ties by symbol);
        computed once per gene."""
        if gene_id not in self._ranked:
            partners, symbol = self.network.partners(gene_id), self.network.symbol
            self._ranked[gene_id] = sorted(partners, key=lambda p: (-partners[p], symbol(p)))
        return self._ranked[gene_id]

    def _strongest_partners(self, gene_id: str) -> list[str]:
        """The ``path_fanout`` strongest partners (a prefix of the ranking)."""
        return self._ranked_partners(gene_id)[: self.limits.path_fanout]

    def facts(self, gene_id: str) -> GeneFacts:
        """What a gene is; computed once per gene (a perturbation appears in many pairs)."""
        if gene_id not in self._facts:
            self._facts[gene_id] = self._gene_facts(gene_id)
        return self._facts[gene_id]

    def _gene_facts(self, gene_id: str) -> GeneFacts:
        gene = self._genes[gene_id]
        row, limits = gene.facts, self.limits
        tf_evidence = [f"{term} {name}" for term, name in TF_TERMS.items()
                       if any(t["term"] == term for t in gene.go_terms)]
        if row["regulated_targets"]:
            tf_evidence.insert(0, f"TRRUST v2: regulates {row['regulated_targets']} target gene(s)")
        processes = sorted(
            (t for t in gene.go_terms if t["namespace"] == "biological_process" and
             limits.min_process_genes <= (t["gene_count"] or 0) <= limits.max_term_genes),
            key=process_rank,
        )[: limits.processes]
        partners = self.network.partners(gene_id)
        top = self._ranked_partners(gene_id)[: limits.top_interactors]
        return GeneFacts(
            id=gene_id, symbol=row["symbol"], description=row["description"] or "", type=row["type"] or "",
            uniprot=row["uniprot"], is_tf=bool(tf_evidence), tf_evidence=tf_evidence[:2],
            processes=[Process(t["term"], t["name"], t["gene_count"], sorted(t["evidence"] or [])) for t in processes],
            degree=self.network.degree(gene_id),
            top_interactors=[Interactor(self.network.symbol(p), p, partners[p]) for p in top],
        )

    # -- pairs ----------------------------------------------------------------------------------
    def paths(self, a: str, b: str) -> list[GenePath]:
        """The strongest 2- and 3-hop STRING paths from ``a`` to ``b`` (bounded fan-out, deterministic)."""
        network, limits = self.network, self.limits
        network.load([a, b])
        na, nb, symbol = network.partners(a), network.partners(b), network.symbol
        found: list[GenePath] = []
        for x in sorted(na.keys() & nb.keys()):
            if x not in (a, b):
                found.append(GenePath([symbol(i) for i in (a, x, b)], [a, x, b], [na[x], nb[x]]))
        starts = [x for x in self._strongest_partners(a) if x != b]
        middle = network.links_between(starts, self._strongest_partners(b))  # x → {y: score}
        for x in starts:
            for y in sorted(middle[x]):
                if y not in (a, x):
                    found.append(GenePath([symbol(i) for i in (a, x, y, b)], [a, x, y, b],
                                          [na[x], middle[x][y], nb[y]]))
        found.sort(key=lambda p: (-p.strength, p.hops, -sum(p.scores), p.symbols))
        return found[: limits.paths]

    def _shared(self, items_a: list[dict], items_b: list[dict], key: str, size: str, limit: int) -> list[dict]:
        in_b = {item[key] for item in items_b}
        shared = [item for item in items_a if item[key] in in_b and (item[size] or 0) <= limit]
        return sorted(shared, key=lambda i: (i[size], i[key]))

    def pair(self, perturbed: str, target: str, cell_line: str) -> PairEvidence:
        """Evidence for one pair of gene ids (both prefetched)."""
        p, t = self._genes[perturbed], self._genes[target]
        limits = self.limits
        self.network.load([perturbed, target])
        edge = self.network.link(perturbed, target)
        interaction = None
        if edge:
            interaction = Interaction(STRING_NAME, p.facts["symbol"], t.facts["symbol"], edge[0], edge[1])
        regulations = p.regulates.get(target, []) + t.regulates.get(perturbed, [])
        pathways = self._shared(p.pathways, t.pathways, "pathway", "size", limits.max_pathway_size)
        go_terms = self._shared(p.go_terms, t.go_terms, "term", "gene_count", limits.max_term_genes)
        shared_go = [SharedTerm(g["term"], g["name"], g["namespace"], g["gene_count"]) for g in go_terms]
        complexes = [g for g in shared_go if g.id in self.complex_terms and g.id != COMPLEX_ROOT]
        pathway_items = [SharedPathway(x["pathway"], x["name"], x["source"], x["size"]) for x in pathways]
        return PairEvidence(
            cell_line=cell_line,
            perturbed=self.facts(perturbed),
            target=self.facts(target),
            interaction=interaction,
            regulations=sorted(regulations, key=lambda r: (r.tf, r.target, r.sign)),
            paths=self.paths(perturbed, target),
            shared_pathways=[x for x in pathway_items if x.source != "msigdb_hallmark"][: limits.shared_items],
            shared_go_terms=[g for g in shared_go if g.id not in self.complex_terms][: limits.shared_items],
            shared_complexes=complexes[: limits.shared_items],
            shared_hallmarks=[x for x in pathway_items if x.source == "msigdb_hallmark"][: limits.shared_items],
            experiments=self.experiments(perturbed, target, cell_line),
        )

    def experiments(self, perturbed: str | None, target: str | None, cell_line: str) -> ExperimentalEvidence | None:
        """What the training knockdowns most like ``perturbed`` did to ``target`` (None without outcomes)."""
        neighbours = self.outcomes.get(cell_line.upper())
        return neighbours.evidence(perturbed, [target])[0] if neighbours else None

    def labelled_pair(self, perturbed: str, target: str, ids: dict[str, str], cell_line: str,
                      experiments: ExperimentalEvidence | None = None) -> PairEvidence:
        """Evidence for a pair named by symbols already resolved in ``ids`` (and prefetched); a gene the graph
        lacks gets a placeholder and the pair only what is known of the other gene. ``experiments`` replaces
        the index's own experimental evidence (the caller applies the split rule)."""
        p, t = ids.get(perturbed), ids.get(target)
        if p and t:
            evidence = self.pair(p, t, cell_line)
        else:
            evidence = PairEvidence(cell_line, self.facts(p) if p else GeneFacts.placeholder(perturbed),
                                    self.facts(t) if t else GeneFacts.placeholder(target))
        if experiments is not None:
            evidence.experiments = experiments
        return evidence

    def evidence(self, perturbed: str, target: str, cell_line: str) -> PairEvidence:
        """Evidence for one pair given by symbols or aliases; unknown genes raise ``UnknownGene``."""
        ids = self.resolve([perturbed, target])
        self.prefetch(ids.values())
        return self.pair(ids[perturbed], ids[target], cell_line)
