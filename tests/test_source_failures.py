"""Broken sources fail with the file and the right line, and never replace a good graph (issue 10)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from aroma.errors import SourceFormatError
from aroma.kg.adapters import gmt, go, ncbi, reactome, trrust
from aroma.kg.build import GraphCollapse, build, check_collapse
from aroma.kg.readers import whole_line_blocks
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


def test_a_line_of_200_mb_is_refused_while_parsing(full_sources: Path, tmp_path: Path) -> None:
    """A 200 MB line in TRRUST is refused where it starts, naming file and line, after reading a few MB of it (it
    once passed the parser and failed 45 s later inside the importer; issue 31)."""
    import time

    lines = _lines(full_sources / TRRUST)
    path = tmp_path / "trrust.tsv"
    with open(path, "wb") as handle:
        handle.write(b"\n".join(lines[:6]) + b"\nTP53\tMDM2\tActivation\t")
        handle.write(b"1;" * 100_000_000)  # a 200 MB PubMed field on line 7
        handle.write(b"\n" + b"\n".join(lines[6:]))
    started = time.monotonic()
    with pytest.raises(SourceFormatError, match=r"trrust\.tsv, line 7: line longer than 1,048,576 bytes"):
        list(trrust.read_trrust(path))
    assert time.monotonic() - started < 5
    within = tmp_path / "within.tsv"  # a long line inside one block of a large-block reader is found too
    within.write_bytes(b"\n".join(lines[:3]) + b"\nTP53\tMDM2\tActivation\t" + b"1;" * 600_000 + b"\n")
    with pytest.raises(SourceFormatError, match=r"within\.tsv, line 4: line longer than 1,048,576 bytes \(1,2"):
        list(whole_line_blocks(within, 32 << 20))


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_damaged_gzip_in_a_build_is_named_as_damaged(full_sources: Path, subset_sources: Path, tmp_path: Path,
                                                     damage: str) -> None:
    """Flipped bytes inside a gzip source decompress to garbage lines long before the CRC check at its end: the
    build reports a corrupt file, not a column count of some line; a truncated one is reported as truncated."""
    sources = tmp_path / "sources"
    shutil.copytree(subset_sources, sources)
    lines = b"\n".join(_lines(full_sources / GENE_INFO))  # the real file: megabytes, many blocks
    level = 0 if damage == "flipped" else 6  # stored blocks: flipped bytes decompress, only the CRC catches them
    data = bytearray(gzip.compress(lines, compresslevel=level, mtime=0))
    if damage == "flipped":
        at = len(data) // 10
        data[at : at + 64] = bytes(b ^ 0x5A for b in data[at : at + 64])
    else:
        del data[len(data) // 2 :]
    (sources / GENE_INFO).write_bytes(bytes(data))
    with open_store(tmp_path / "db") as store:
        with pytest.raises(SourceFormatError) as info:
            build(sources, store=store, show_progress=False)
    assert info.value.line is None and "Homo_sapiens.gene_info.gz" in str(info.value)
    assert ("corrupt gzip file (CRC check failed" if damage == "flipped" else "truncated gzip file") in str(info.value)
    if damage == "flipped":  # a garbage line failed first; the build looked at the file and said what is wrong
        assert isinstance(info.value.__cause__, SourceFormatError) and info.value.__cause__.line
