"""Broken sources fail with the file and the right line, and never replace a good graph (issue 10)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from aroma.errors import SourceFormatError
from aroma.kg.adapters import gmt, go, ncbi, reactome, trrust
from aroma.kg.build import GraphCollapse, build, check_collapse
from aroma.kg.stats import graph_stats
from aroma.kg.store import open_store

GENE_INFO = "ncbi/Homo_sapiens.gene_info.gz"
TRRUST = "trrust/trrust_rawdata.human.tsv"
HALLMARK = "msigdb/h.all.v7.0.symbols.gmt"


def _lines(path: Path) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return handle.read().split(b"\n")


def _write(path: Path, lines: list[bytes]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(b"\n".join(lines))
    return path


def _with_byte(full: Path, relative: str, out: Path, line: int, byte: bytes) -> Path:
    lines = _lines(full / relative)
    lines[line - 1] = lines[line - 1][:5] + byte + lines[line - 1][5:]
    return _write(out / Path(relative).name, lines)


@pytest.mark.parametrize(("relative", "line", "reader"), [
    (GENE_INFO, 5736, lambda p: list(ncbi.read_gene_info(p))),
    (TRRUST, 50, lambda p: list(trrust.read_trrust(p))),
    ("go/go-basic.obo", 9990, go.read_go),
])
def test_decode_error_names_the_line_of_the_byte(full_sources: Path, tmp_path: Path, relative: str, line: int,
                                                 reader) -> None:
    path = _with_byte(full_sources, relative, tmp_path, line, b"\xe9")  # latin-1 e-acute
    with pytest.raises(SourceFormatError, match=rf", line {line}: not UTF-8 text \(byte 0xe9 at column 6"):
        reader(path)


def test_random_bytes_in_reactome_name_their_line(full_sources: Path, tmp_path: Path) -> None:
    lines = _lines(full_sources / "reactome/UniProt2Reactome_All_Levels.txt")
    lines[499] = bytes(range(128, 256)) + bytes(range(128, 200))  # 200 bytes that are not UTF-8
    path = _write(tmp_path / "UniProt2Reactome_All_Levels.txt", lines)
    with pytest.raises(SourceFormatError, match=r"line 500: not UTF-8"):
        list(reactome.read_uniprot_memberships(path))


def test_obo_line_without_tag_names_its_own_line(full_sources: Path, tmp_path: Path) -> None:
    lines = _lines(full_sources / "go/go-basic.obo")
    lines[9990] = b"garbage line without a tag"
    path = _write(tmp_path / "go-basic.obo", lines)
    with pytest.raises(SourceFormatError, match=r"go-basic\.obo, line 9991: malformed OBO: 'garbage line"):
        go.read_go(path)


def test_lone_carriage_return_is_not_a_line_break(full_sources: Path, tmp_path: Path) -> None:
    lines = _lines(full_sources / TRRUST)
    lines[9] = lines[9].replace(b"\t", b"\r", 1)  # TF\rtarget: one field, not two lines
    path = _write(tmp_path / "trrust.tsv", lines)
    with pytest.raises(SourceFormatError, match=r"trrust\.tsv, line 10: expected 4 columns, found 3"):
        list(trrust.read_trrust(path))
    crlf = _write(tmp_path / "crlf.tsv", [line + b"\r" for line in _lines(full_sources / TRRUST)])
    assert len(list(trrust.read_trrust(crlf))) == 9396  # CRLF line ends still read


@pytest.mark.parametrize("byte", [b"\x00", b"\x07", b"\x1b"])
def test_control_characters_in_a_symbol_are_rejected(full_sources: Path, tmp_path: Path, byte: bytes) -> None:
    path = _with_byte(full_sources, HALLMARK, tmp_path, 3, byte)
    with pytest.raises(SourceFormatError, match=rf"line 3: control character U\+00{byte[0]:02X} at column 6"):
        list(gmt.read_gmt(path))


def test_huge_value_is_not_echoed_whole(full_sources: Path, tmp_path: Path) -> None:
    lines = _lines(full_sources / TRRUST)
    fields = lines[4].split(b"\t")
    fields[2] = b"X" * 100_000
    lines[4] = b"\t".join(fields)
    path = _write(tmp_path / "trrust.tsv", lines)
    with pytest.raises(SourceFormatError, match=r"line 5: regulation") as info:
        list(trrust.read_trrust(path))
    assert len(str(info.value)) < 600


@pytest.mark.parametrize(("relative", "reader"), [
    (GENE_INFO, lambda p: list(ncbi.read_gene_info(p))),
    (TRRUST, lambda p: list(trrust.read_trrust(p))),
    (HALLMARK, lambda p: list(gmt.read_gmt(p))),
    ("go/go-basic.obo", go.read_go),
])
def test_empty_source_is_an_error(tmp_path: Path, relative: str, reader) -> None:
    path = tmp_path / Path(relative).name
    path.write_bytes(b"")  # 0 bytes, also for the .gz name
    with pytest.raises(SourceFormatError, match=rf"{path.name}"):
        reader(path)


def test_empty_source_never_replaces_a_good_graph(subset_sources: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(subset_sources, sources)
    with open_store(tmp_path / "db") as store:
        build(sources, store=store, show_progress=False)
        before, database = graph_stats(store).nodes, store.database
        for relative in (TRRUST, GENE_INFO, HALLMARK):
            original = (sources / relative).read_bytes()
            (sources / relative).write_bytes(b"")
            with pytest.raises(SourceFormatError, match=rf"{Path(relative).name}: no .* found \(0 bytes\)"):
                build(sources, store=store, show_progress=False)
            (sources / relative).write_bytes(original)
        assert store.database == database and graph_stats(store).nodes == before
        assert store.backend.server.databases() == [database]


def test_collapsing_counts_stop_the_build_unless_allowed(subset_sources: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(subset_sources, sources)
    with open_store(tmp_path / "db") as store:
        build(sources, store=store, show_progress=False)
        regulations = store.run("MATCH ()-[r:REGULATES]->(:Gene) RETURN count(r) AS n").rows[0]["n"]
        database = store.database
        path = sources / TRRUST
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[: max(1, len(lines) // 10)]))  # keeps 10% of TRRUST
        with pytest.raises(GraphCollapse, match=r"\(Gene\)-\[:REGULATES\]->\(Gene\) .*--allow-shrink"):
            build(sources, store=store, show_progress=False)
        assert store.database == database
        build(sources, store=store, show_progress=False, allow_shrink=True)
        after = store.run("MATCH ()-[r:REGULATES]->(:Gene) RETURN count(r) AS n").rows[0]["n"]
        assert 0 < after < regulations / 2


def test_check_collapse_rules() -> None:
    check_collapse({":Gene": 60}, {":Gene": 100}, "db")  # -40%: within the allowed share
    check_collapse({":Gene": 10, ":New": 5}, {}, "db")  # nothing to replace
    with pytest.raises(GraphCollapse, match=":Gene 100 → 0"):
        check_collapse({}, {":Gene": 100}, "db")
    with pytest.raises(GraphCollapse, match=":Gene 100 → 49"):
        check_collapse({":Gene": 49}, {":Gene": 100}, "db")
