"""The local ArcadeDB server: started on a free loopback port, reused per directory, stopped by its starter."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aroma.cli import app
from aroma.cli.common import server_starting
from aroma.errors import StoreError
from aroma.kg.arcadedb import LocalArcadeDB, _alive, aot_cache, free_port
from aroma.kg.store import open_store
from tests.processes import aroma

runner = CliRunner()


def test_start_reuse_stop(tmp_path: Path) -> None:
    first = LocalArcadeDB(tmp_path).start()
    try:
        assert first.owned
        assert stat.S_IMODE((tmp_path / "credentials.json").stat().st_mode) == 0o600
        lock = json.loads((tmp_path / "server.json").read_text())
        assert lock["pid"] == first.info.pid
        second = LocalArcadeDB(tmp_path).start()
        assert not second.owned and second.info.bolt_port == first.info.bolt_port
        second.stop()  # not its server: keeps running
        assert _alive(first.info.pid)
    finally:
        first.stop()
    assert not _alive(first.info.pid)
    assert not (tmp_path / "server.json").exists()


def test_stale_lock_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "server.json").write_text(json.dumps({"pid": 999_999_999, "bolt_port": 1, "http_port": 2,
                                                        "root": str(tmp_path)}))
    with LocalArcadeDB(tmp_path) as server:
        assert server.owned and server.info.pid != 999_999_999


def test_loopback_only_and_generated_credentials(tmp_path: Path) -> None:
    with LocalArcadeDB(tmp_path) as server:
        cmdline = Path(f"/proc/{server.info.pid}/cmdline").read_bytes().split(b"\0")
        assert b"-Darcadedb.bolt.host=127.0.0.1" in cmdline
        assert b"-Darcadedb.server.httpIncomingHost=127.0.0.1" in cmdline
        assert len(server.password) >= 24


def test_empty_directory_has_no_graph(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(StoreError, match="no graph has been built"):
            store.run("MATCH (n) RETURN count(n)")


def test_unreachable_uri_is_named() -> None:
    with pytest.raises(StoreError, match=r"bolt://127\.0\.0\.1:9"):
        open_store("bolt://127.0.0.1:9", user="neo4j", password="x")


def test_server_dies_with_its_python_process(tmp_path: Path) -> None:
    """A Python process killed with SIGKILL leaves no JVM behind (parent-death signal)."""
    import subprocess
    import sys
    import time

    code = (
        "import sys, time; from pathlib import Path; from aroma.kg.arcadedb import LocalArcadeDB;"
        "s = LocalArcadeDB(Path(sys.argv[1])).start(); print(s.info.pid, flush=True); time.sleep(600)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    jvm = int(child.stdout.readline())
    assert _alive(jvm)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 30
    while _alive(jvm) and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            os.waitpid(jvm, os.WNOHANG)
        except ChildProcessError:
            pass
    assert not _alive(jvm)


@contextmanager
def _served(db: Path, port: int) -> Iterator[tuple[subprocess.Popen, int]]:
    """`aroma kg serve --db DB --port PORT` once its server is up, with the server's pid; stopped after the block."""
    with aroma("kg", "serve", "--db", str(db), "--port", str(port), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
               text=True) as serve:
        deadline = time.monotonic() + 90
        while not (db / "server.json").exists() and serve.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        yield serve, json.loads((db / "server.json").read_text())["pid"]


def test_kg_serve_until_ctrl_c_keeps_data(subset_sources: Path, tmp_path: Path) -> None:
    """`aroma kg serve` on a chosen port: any Bolt client connects, `aroma cypher` reads over bolt:// as the
    read-only account (root is refused without --write: ArcadeDB does not refuse writes in read transactions);
    SIGINT stops it and the data stays."""
    import signal

    from neo4j import GraphDatabase

    from aroma.kg.build import build

    db = tmp_path / "db"
    with open_store(db) as store:
        build(subset_sources, store=store, show_progress=False)
        genes = store.run("MATCH (g:Gene) RETURN count(g) AS n").rows[0]["n"]
    port = free_port()
    with _served(db, port) as (serve, pid):
        password = json.loads((db / "credentials.json").read_text())["password"]
        reader = json.loads((db / "reader-credentials.json").read_text())["password"]
        database = (db / "current").read_text().strip()
        with GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=("root", password)) as driver:
            records, _, _ = driver.execute_query("MATCH (g:Gene) RETURN count(g) AS n", database_=database)
        assert records[0]["n"] == genes
        uri = ["--db", f"bolt://127.0.0.1:{port}", "--database", database]
        read = runner.invoke(app, ["cypher", "-f", "json", *uri, "--user", "reader", "--password", reader,
                                   "MATCH (g:Gene) RETURN count(g) AS n"])
        assert read.exit_code == 0 and json.loads(read.stdout) == [{"n": genes}], read.output
        hidden = runner.invoke(app, ["cypher", *uri, "--user", "reader", "--password", reader,
                                     "// a\rCREATE USER evil SET PASSWORD 'evilpass1' /* \n RETURN 1 // */"])
        assert hidden.exit_code == 1 and "refused" in hidden.output
        as_root = runner.invoke(app, ["cypher", *uri, "--user", "root", "--password", password, "RETURN 1 AS n"])
        assert as_root.exit_code == 1 and "reader" in as_root.output and "--write" in as_root.output
        written = runner.invoke(app, ["cypher", *uri, "--user", "root", "--password", password, "--write",
                                      "RETURN 1 AS n"])
        assert written.exit_code == 0, written.output
        serve.send_signal(signal.SIGINT)
        out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err
    assert f"bolt://127.0.0.1:{port}" in out and "stopping" in out and "reader-credentials.json" in out
    assert not _alive(pid)
    assert "evil" not in (db / "server" / "config" / "server-users.jsonl").read_text()
    with open_store(db) as store:
        assert store.run("MATCH (g:Gene) RETURN count(g) AS n").rows[0]["n"] == genes


def test_later_starts_use_the_class_cache_the_first_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first start records the JVM's ahead-of-time class cache when it stops; the next one runs with it."""
    monkeypatch.setenv("AROMA_JVM_CACHE", str(tmp_path / "jvm"))
    cache = aot_cache()
    assert cache is not None and cache.parent == tmp_path / "jvm"
    with LocalArcadeDB(tmp_path / "db") as server:
        assert f"-XX:AOTCacheOutput={cache}." in Path(f"/proc/{server.info.pid}/cmdline").read_text()
    deadline = time.monotonic() + 30
    while not cache.is_file() and time.monotonic() < deadline:  # the keeper renames it once the JVM is gone
        time.sleep(0.2)
    assert cache.stat().st_size > 1_000_000 and not list(cache.parent.glob("*.tmp*"))
    with LocalArcadeDB(tmp_path / "db") as server:
        command = Path(f"/proc/{server.info.pid}/cmdline").read_text().split("\0")
        assert f"-XX:AOTCache={cache}" in command
        server.create_database("probe")  # it answers
        assert "probe" in server.databases()
    second_start = (tmp_path / "db" / "server.log").read_text().split("AOTCache creation is complete")[-1]
    assert "AOT" not in second_start or "error" not in second_start.lower()  # the JVM took the cache without a word


def test_class_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AROMA_JVM_CACHE", "off")
    assert aot_cache() is None
    with LocalArcadeDB(tmp_path) as server:
        assert "AOT" not in Path(f"/proc/{server.info.pid}/cmdline").read_text()


def test_a_server_started_in_the_background_serves_the_command_then_stops(tmp_path: Path) -> None:
    """``server_starting`` (cold commands) and the command's own start share one server, stopped at the end."""
    with LocalArcadeDB(tmp_path) as server:  # a directory with a graph: a database named as current
        server.create_database("graph")
        server.set_current("graph")
    assert not (tmp_path / "server.json").exists()
    with server_starting(str(tmp_path)):
        with LocalArcadeDB(tmp_path) as command:  # what `store` does meanwhile
            pid = command.info.pid
            assert "graph" in command.databases() and _alive(pid)
        assert len(list((tmp_path / "clients").glob("*"))) <= 1
    assert not _alive(pid) and not (tmp_path / "server.json").exists()
    with server_starting(str(tmp_path / "nothing built")):  # left to `store`, which says what is missing
        assert not (tmp_path / "nothing built").exists()


def test_kg_serve_exits_when_its_server_is_killed(tmp_path: Path) -> None:
    """kill -9 of the JVM under `aroma kg serve`: serve says so and exits non-zero (it once announced the dead port
    and kept a later command's server alive); the next command starts a fresh server that stops when it is done."""
    import signal

    db = tmp_path / "db"
    with _served(db, free_port()) as (serve, pid):
        os.kill(pid, signal.SIGKILL)
        _, err = serve.communicate(timeout=60)
    assert serve.returncode == 1 and f"(pid {pid}) stopped unexpectedly" in err, err
    with LocalArcadeDB(db) as server:
        assert server.owned and server.info.pid != pid
        fresh = server.info.pid
    assert not _alive(fresh) and not (db / "server.json").exists()
