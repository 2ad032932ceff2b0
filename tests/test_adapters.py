"""Source adapters read the real files and reject malformed ones with the file and line named."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from aroma.errors import AromaError, SourceFormatError
from aroma.kg.adapters import gmt, go, ncbi, string_db, trrust, uniprot
from aroma.kg.sources import SourceDir


def test_gene_info_real_rows(full_sources: Path) -> None:
    genes = {g.symbol: g for g in ncbi.read_gene_info(full_sources / "ncbi/Homo_sapiens.gene_info.gz")}
    assert len(genes) > 60_000
    tp53 = genes["TP53"]
    assert tp53.gene_id == 7157 and tp53.type_of_gene == "protein-coding"
    assert "LFS1" in tp53.synonyms and tp53.chromosome == "17"


def test_truncated_gzip_is_named_as_such(full_sources: Path, tmp_path: Path) -> None:
    """A truncated gzip file is reported as truncated, not as a fault of some line (issue 31)."""
    data = (full_sources / "ncbi/gene2go.gz").read_bytes()
    broken = tmp_path / "gene2go.gz"
    for size, lines in ((len(data) // 3, r"[1-9][\d,]{4,}"), (100, "0")):  # far into the file, and before line 1 ends
        broken.write_bytes(data[:size])
        with pytest.raises(SourceFormatError, match=rf"gene2go\.gz: truncated gzip file \(.+\), found after "
                                                    rf"{lines} whole lines; fetch it again") as info:
            list(ncbi.read_gene2go(broken))
        assert info.value.line is None


def test_wrong_column_count(full_sources: Path, tmp_path: Path) -> None:
    lines = (full_sources / "trrust/trrust_rawdata.human.tsv").read_text().splitlines(keepends=True)
    lines[41] = lines[41].replace("\t", " ", 1)  # line 42 loses a column
    bad = tmp_path / "trrust.tsv"
    bad.write_text("".join(lines))
    with pytest.raises(SourceFormatError, match=r"trrust\.tsv, line 42: expected 4 columns, found 3"):
        list(trrust.read_trrust(bad))


def test_trrust_rows_and_signs(full_sources: Path) -> None:
    rows = list(trrust.read_trrust(full_sources / "trrust/trrust_rawdata.human.tsv"))
    assert len(rows) == 9396
    first = rows[0]
    assert (first.tf, first.target, first.sign, first.pmids) == ("AATF", "BAX", "repression", ("22909821",))


def _obo_with(tmp_path: Path, full_sources: Path, edit) -> Path:
    text = (full_sources / "go/go-basic.obo").read_text()
    head = text[: text.index("[Term]", text.index("id: GO:0000010"))]  # header + a few terms
    path = tmp_path / "go-basic.obo"
    path.write_text(edit(head))
    return path


def test_go_real_file_counts(full_sources: Path) -> None:
    path = full_sources / "go/go-basic.obo"
    text = path.read_text()
    ontology = go.read_go(path)
    assert len(ontology.terms) == text.count("[Term]") - text.count("is_obsolete: true")
    assert len(ontology.obsolete) == text.count("is_obsolete: true")
    assert ontology.version == "releases/2022-07-01"
    assert not set(ontology.obsolete) & {t.id for t in ontology.terms}


def test_malformed_obo_stanza_names_line(full_sources: Path, tmp_path: Path) -> None:
    path = _obo_with(tmp_path, full_sources, lambda t: t.replace("namespace: biological_process\n", "", 1))
    stanza_line = path.read_text().splitlines().index("[Term]") + 1
    with pytest.raises(SourceFormatError, match=rf"go-basic\.obo, line {stanza_line}: \[Term\] stanza has no single 'namespace:'"):
        go.read_go(path)


def test_obo_line_without_tag(full_sources: Path, tmp_path: Path) -> None:
    path = _obo_with(tmp_path, full_sources, lambda t: t.replace("name: mitochondrion inheritance", "garbage line", 1))
    with pytest.raises(SourceFormatError, match=r"go-basic\.obo, line \d+: malformed OBO"):
        go.read_go(path)


def test_string_links_keep_channels(full_sources: Path) -> None:
    links = string_db.read_links(full_sources / "string/9606.protein.links.detailed.v12.0.txt.gz")
    first = next(links)
    # 9606.ENSP00000000412 9606.ENSP00000221957 0 0 0 49 510 500 0 764
    assert first.channels[string_db.CHANNELS.index("experimental")] == 510
    assert first.combined_score == 764 and first.line == 2


def test_gmt_and_fasta(full_sources: Path) -> None:
    sets = {s.name: s for s in gmt.read_gmt(full_sources / "msigdb/h.all.v7.0.symbols.gmt")}
    assert len(sets) == 50 and "TP53" in sets["HALLMARK_P53_PATHWAY"].genes
    proteins = list(uniprot.read_fasta(full_sources / "uniprot/uniprot_sprot_human.fasta.gz"))
    assert len(proteins) == 17_592
    assert proteins[0].accession == "P04217" and proteins[0].gene_symbol == "A1BG"
    assert proteins[0].sequence.startswith("MSMLVVFLLLWGVTWGPVTEAAIFYETQPSLWAESESLLKPLANVTLTCQAHLETPDFQLFKNGV")


def test_unknown_and_missing_files(subset_sources: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "sources"
    shutil.copytree(subset_sources, copy)
    SourceDir(copy).check_layout()
    (copy / "string" / "9606.protein.links.v12.0.txt.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(SourceFormatError, match=r"9606\.protein\.links\.v12\.0\.txt\.gz: unknown source file"):
        SourceDir(copy).check_layout()
    (copy / "string" / "9606.protein.links.v12.0.txt.gz").unlink()
    (copy / "trrust" / "trrust_rawdata.human.tsv").unlink()
    with pytest.raises(AromaError, match=r"(?s)lacks 1 source file.*trrust/trrust_rawdata\.human\.tsv.*grnpedia"):
        SourceDir(copy).check_layout()
