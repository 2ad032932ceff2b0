"""Downloads: resumable (HTTP Range), checksummed, from a server on loopback only (no test leaves the machine)."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aroma.errors import AromaError
from aroma.kg import fetch as fetch_module
from aroma.kg.sources import SOURCES, SourceFile, sha256_of


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support and records the Range headers it was sent."""

    ranges: list[str | None] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        wanted = self.headers.get("Range")
        RangeHandler.ranges.append(wanted)
        start = int(wanted.split("=")[1].rstrip("-")) if wanted else 0
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture()
def server(subset_sources: Path):
    handler = functools.partial(RangeHandler, directory=str(subset_sources))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.ranges = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_resumes_and_records_checksums(server: str, subset_sources: Path, tmp_path: Path,
                                                monkeypatch) -> None:
    local = tuple(SourceFile(s.key, s.path, f"{server}/{s.path}", s.publisher) for s in SOURCES)
    monkeypatch.setattr(fetch_module, "SOURCES", local)
    dest = tmp_path / "sources"
    partial = dest / "trrust" / "trrust_rawdata.human.tsv.part"
    partial.parent.mkdir(parents=True)
    original = (subset_sources / "trrust/trrust_rawdata.human.tsv").read_bytes()
    partial.write_bytes(original[:1000])  # an interrupted earlier download
    manifest = fetch_module.fetch(dest, keys=["trrust", "go"], show_progress=False)
    assert (dest / "trrust/trrust_rawdata.human.tsv").read_bytes() == original
    assert "bytes=1000-" in RangeHandler.ranges and not partial.exists()
    recorded = json.loads((dest / "MANIFEST.json").read_text())
    assert recorded == manifest and recorded["go/go-basic.obo"]["sha256"] == sha256_of(subset_sources / "go/go-basic.obo")
    RangeHandler.ranges = []
    fetch_module.fetch(dest, keys=["trrust", "go"], show_progress=False)  # intact files are not fetched again
    assert RangeHandler.ranges == []


def test_download_error_names_the_url(server: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fetch_module, "SOURCES", (SourceFile("go", "go/go-basic.obo", f"{server}/missing.obo", "GO"),))
    with pytest.raises(AromaError, match=r"missing\.obo failed: HTTP 404"):
        fetch_module.fetch(tmp_path, show_progress=False)
