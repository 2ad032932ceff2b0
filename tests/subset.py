"""Cut a small, real subset of the shared source files at test time (same formats, same publishers)."""

from __future__ import annotations

import gzip
import csv
import re
from pathlib import Path

from aroma.kg.sources import SOURCES_BY_KEY

# A few hundred genes around p53 signalling and apoptosis: enough structure, seconds to build.
HALLMARKS = ("HALLMARK_P53_PATHWAY", "HALLMARK_APOPTOSIS")


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return handle.readlines()


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)


def make_subset(full: Path, out: Path, extra_symbols: set[str] = frozenset()) -> set[str]:
    """Write a sources directory for the genes of HALLMARKS (and ``extra_symbols``); return their symbols."""
    src = {key: full / source.path for key, source in SOURCES_BY_KEY.items()}
    dst = {key: out / source.path for key, source in SOURCES_BY_KEY.items()}
    hallmark = [l for l in _lines(src["msigdb_hallmark"]) if l.split("\t", 1)[0] in HALLMARKS]
    symbols = {g for line in hallmark for g in line.rstrip("\n").split("\t")[2:]} | set(extra_symbols)
    _write(dst["msigdb_hallmark"], hallmark)

    gene_info = _lines(src["gene_info"])
    kept_genes = [l for l in gene_info[1:] if l.split("\t")[2] in symbols]
    gene_ids = {l.split("\t")[1] for l in kept_genes}
    _write(dst["gene_info"], gene_info[:1] + kept_genes)

    gene2go = _lines(src["gene2go"])
    annotations = [l for l in gene2go[1:] if l.split("\t")[1] in gene_ids]
    _write(dst["gene2go"], gene2go[:1] + annotations)
    _write_go_closure(src["go"], dst["go"], {l.split("\t")[2] for l in annotations})

    fasta = _lines(src["uniprot"])
    kept_fasta, keep, accessions = [], False, set()
    for line in fasta:
        if line.startswith(">"):
            match = re.search(r"GN=(\S+)", line)
            keep = bool(match and match.group(1) in symbols)
            if keep:
                accessions.add(line.split("|")[1])
        if keep:
            kept_fasta.append(line)
    _write(dst["uniprot"], kept_fasta)

    memberships = [l for l in _lines(src["reactome_uniprot"]) if l.split("\t")[0].split("-")[0] in accessions]
    pathways = {l.split("\t")[1] for l in memberships}
    _write(dst["reactome_uniprot"], memberships)
    _write(dst["reactome_pathways"], [l for l in _lines(src["reactome_pathways"]) if l.split("\t")[0] in pathways])
    _write(dst["reactome_relations"], [
        l for l in _lines(src["reactome_relations"]) if set(l.rstrip("\n").split("\t")) <= pathways
    ])

    info = _lines(src["string_info"])
    kept_info = [l for l in info[1:] if l.split("\t")[1] in symbols]
    proteins = {l.split("\t")[0] for l in kept_info}
    _write(dst["string_info"], info[:1] + kept_info)
    links = _lines(src["string_links"])
    _write(dst["string_links"], links[:1] + [l for l in links[1:] if set(l.split(" ")[:2]) <= proteins])

    _write(dst["trrust"], [l for l in _lines(src["trrust"]) if set(l.split("\t")[:2]) <= symbols])
    _write(dst["msigdb_kegg"], [
        l for l in _lines(src["msigdb_kegg"]) if "KEGG_P53_SIGNALING_PATHWAY" in l or "KEGG_APOPTOSIS\t" in l
    ])
    return symbols


def _write_go_closure(src: Path, dst: Path, seeds: set[str]) -> None:
    """Keep the [Term] stanzas of ``seeds`` and all their ancestors (plus header and typedefs)."""
    text = src.read_text(encoding="utf-8")
    header, *stanzas = re.split(r"\n(?=\[)", text)
    terms = {}
    others = []
    for stanza in stanzas:
        match = re.match(r"\[Term\]\nid: (\S+)", stanza)
        if match:
            terms[match.group(1)] = stanza
        else:
            others.append(stanza)
    parents = {
        term: re.findall(r"^(?:is_a: |relationship: \w+ )(GO:\d+)", stanza, re.MULTILINE)
        for term, stanza in terms.items()
    }
    keep, todo = set(), [t for t in seeds if t in terms]
    while todo:
        term = todo.pop()
        if term not in keep:
            keep.add(term)
            todo.extend(p for p in parents[term] if p in terms)
    dst.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join([header] + [terms[t] for t in terms if t in keep] + others)
    dst.write_text(body if body.endswith("\n") else body + "\n", encoding="utf-8")


def make_perturbqa_sample(full: Path, out: Path, train: int = 60, test: int = 15) -> set[str]:
    """Every row of a spread of perturbations measured in every cell line of ``full`` (``train`` from the
    training split, ``test`` from the test split), written in PerturbQA's form; returns the genes named."""
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name[: -len("-de.csv")] for p in full.glob("*-de.csv"))
    rows = {name: list(csv.DictReader((full / f"{name}-de.csv").open())) for name in names}
    chosen: set[str] = set()
    for split, count in (("train", train), ("test", test)):
        common = set.intersection(*({r["pert"] for r in rows[n] if r["split"] == split} for n in names))
        ordered = sorted(common)
        chosen |= set(ordered[:: max(len(ordered) // count, 1)][:count])
    symbols: set[str] = set()
    for name in names:
        for kind in ("de", "dir"):
            lines = _lines(full / f"{name}-{kind}.csv")
            kept = [l for l in lines[1:] if l.split(",", 1)[0] in chosen]
            symbols |= {part for l in kept for part in l.split(",")[:2]}
            _write(out / f"{name}-{kind}.csv", lines[:1] + kept)
    return symbols


def make_gene_set_sample(full: Path, perturbqa: Path, out: Path) -> Path:
    """The rows of ``full``'s datasets (PerturbQA's gene-set task) whose knockdown ``perturbqa``'s K562 file has."""
    perts = {line.split(",", 1)[0] for line in _lines(perturbqa / "k562-de.csv")[1:]}
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(full.glob("*.csv")):
        lines = _lines(path)
        _write(out / path.name, lines[:1] + [line for line in lines[1:] if line.split(",", 1)[0] in perts])
    return out
