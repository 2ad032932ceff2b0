"""The registry of source files: where each lives in a sources directory and where its publisher serves it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from aroma.errors import AromaError, SourceFormatError

MANIFEST = "MANIFEST.json"
# Files a sources directory may hold besides the sources themselves.
IGNORED_NAMES = {MANIFEST, "README.md", "README", "LICENSE"}
# Files that earlier releases fetched and nothing reads any more: tolerated in a sources directory, never required.
RETIRED_PATHS = {"reactome/ReactomePathways.gmt"}  # Reactome memberships come from UniProt2Reactome_All_Levels


@dataclass(frozen=True)
class SourceFile:
    """One published file: its key, its path inside a sources directory, its official URL."""

    key: str
    path: str
    url: str
    publisher: str

    @property
    def version(self) -> str | None:
        """The release named in the file name (STRING v12.0, MSigDB v7.0), if any."""
        match = re.search(r"v(\d+(?:\.\d+)+)", Path(self.path).name)
        return match.group(1) if match else None


REACTOME = "https://reactome.org/download/current"
STRING = "https://stringdb-downloads.org/download"
MSIGDB = "https://data.broadinstitute.org/gsea-msigdb/msigdb/release"

SOURCES: tuple[SourceFile, ...] = (
    SourceFile("go", "go/go-basic.obo", "https://purl.obolibrary.org/obo/go/go-basic.obo", "Gene Ontology"),
    SourceFile(
        "gene_info",
        "ncbi/Homo_sapiens.gene_info.gz",
        "https://ftp.ncbi.nlm.nih.gov/gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz",
        "NCBI Gene",
    ),
    SourceFile("gene2go", "ncbi/gene2go.gz", "https://ftp.ncbi.nlm.nih.gov/gene/DATA/gene2go.gz", "NCBI Gene"),
    SourceFile("reactome_pathways", "reactome/ReactomePathways.txt", f"{REACTOME}/ReactomePathways.txt", "Reactome"),
    SourceFile(
        "reactome_relations",
        "reactome/ReactomePathwaysRelation.txt",
        f"{REACTOME}/ReactomePathwaysRelation.txt",
        "Reactome",
    ),
    SourceFile(
        "reactome_uniprot",
        "reactome/UniProt2Reactome_All_Levels.txt",
        f"{REACTOME}/UniProt2Reactome_All_Levels.txt",
        "Reactome",
    ),
    SourceFile(
        "string_links",
        "string/9606.protein.links.detailed.v12.0.txt.gz",
        f"{STRING}/protein.links.detailed.v12.0/9606.protein.links.detailed.v12.0.txt.gz",
        "STRING",
    ),
    SourceFile(
        "string_info",
        "string/9606.protein.info.v12.0.txt.gz",
        f"{STRING}/protein.info.v12.0/9606.protein.info.v12.0.txt.gz",
        "STRING",
    ),
    SourceFile(
        "trrust",
        "trrust/trrust_rawdata.human.tsv",
        "https://www.grnpedia.org/trrust/data/trrust_rawdata.human.tsv",
        "TRRUST",
    ),
    SourceFile(
        "msigdb_hallmark",
        "msigdb/h.all.v7.0.symbols.gmt",
        f"{MSIGDB}/7.0/h.all.v7.0.symbols.gmt",
        "MSigDB",
    ),
    SourceFile(
        "msigdb_kegg",
        "msigdb/c2.cp.kegg.v7.5.1.symbols.gmt",
        f"{MSIGDB}/7.5.1/c2.cp.kegg.v7.5.1.symbols.gmt",
        "MSigDB",
    ),
    SourceFile(
        "uniprot",
        "uniprot/uniprot_sprot_human.fasta.gz",
        "https://rest.uniprot.org/uniprotkb/stream?compressed=true&format=fasta"
        "&query=%28organism_id%3A9606%29+AND+%28reviewed%3Atrue%29",
        "UniProt",
    ),
)

SOURCES_BY_KEY = {source.key: source for source in SOURCES}
# STRING's release, parsed once from the file name ("12.0"), and how evidence names it ("STRING v12").
STRING_VERSION: str = SOURCES_BY_KEY["string_links"].version or ""
STRING_NAME = f"STRING v{STRING_VERSION.split('.')[0]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceDir:
    """A directory laid out like ``SOURCES``: resolves, checks and fingerprints its files."""

    root: Path

    def path(self, key: str) -> Path:
        return self.root / SOURCES_BY_KEY[key].path

    def check_layout(self) -> None:
        """Fail on a missing source or a file the registry does not know, naming both."""
        if self.root.exists() and not self.root.is_dir():
            raise AromaError(f"sources directory {self.root} is a file, not a directory")
        if not self.root.is_dir():
            raise AromaError(f"sources directory {self.root} does not exist")
        missing = [s for s in SOURCES if not (self.root / s.path).is_file()]
        if missing:
            lines = "\n".join(f"  {s.path}  (from {s.url})" for s in missing)
            raise AromaError(
                f"{self.root} lacks {len(missing)} source file(s):\n{lines}\n"
                "Run `aroma kg fetch --dest DIR` (or with --mirror DIR) first."
            )
        known = {s.path for s in SOURCES}
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and relative not in known | RETIRED_PATHS and path.name not in IGNORED_NAMES \
                    and not path.name.startswith("."):
                raise SourceFormatError(
                    path, None, "unknown source file; expected one of: " + ", ".join(sorted(known))
                )

    def manifest(self) -> dict[str, dict[str, object]]:
        """The recorded ``{path: {bytes, sha256}}`` of MANIFEST.json, or {} when there is none."""
        manifest_path = self.root / MANIFEST
        if not manifest_path.is_file():
            return {}
        try:
            return json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise SourceFormatError(manifest_path, exc.lineno, f"invalid JSON: {exc.msg}") from exc

    def fingerprint(self) -> dict[str, dict[str, object]]:
        """Size, sha256 and version of every source; a mismatch with MANIFEST.json is an error."""
        recorded = self.manifest()
        result: dict[str, dict[str, object]] = {}
        for source in SOURCES:
            path = self.root / source.path
            digest = sha256_of(path)
            expected = recorded.get(source.path, {}).get("sha256")
            if expected and expected != digest:
                raise SourceFormatError(
                    path, None, f"sha256 {digest} differs from {expected} recorded in {MANIFEST}"
                )
            result[source.key] = {
                "path": source.path,
                "bytes": path.stat().st_size,
                "sha256": digest,
                "version": source.version,
                "publisher": source.publisher,
            }
        return result
