"""Concurrent commands share one local server safely; secrets stay secret (issue 10)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from typer.testing import CliRunner

from aroma.cli import app
from aroma.errors import StoreError
from aroma.kg.arcadedb import LocalArcadeDB, _alive
from aroma.kg.store import GraphStore, open_store
from tests.processes import aroma

runner = CliRunner()

HOLD = ("import sys; from aroma.kg.store import open_store; s = open_store(sys.argv[1], create=False); "
        "print(s.backend.server.info.pid, s.backend.server.owned, flush=True); sys.stdin.readline(); "
        "s.run('MATCH (g) RETURN count(g) AS n'); s.close()")


def _holder(db: Path) -> tuple[subprocess.Popen, int, bool]:
    """A second process using the server on ``db`` until told (a line on stdin) to finish."""
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    pid, owned = child.stdout.readline().split()
    return child, int(pid), owned == "True"


def _genes(store: GraphStore) -> int:
    return store.run("MATCH (g) RETURN count(g) AS n").rows[0]["n"]


def test_server_outlives_its_starter_while_others_use_it(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with LocalArcadeDB(db) as server:  # an empty graph is enough here
        server.create_database("aroma_empty")
        server.set_current("aroma_empty")
    starter, jvm, owned = _holder(db)  # this process starts the server
    assert owned
    with open_store(db, create=False) as store:  # reuses it
        assert store.backend.server.info.pid == jvm and not store.backend.server.owned
        expected = _genes(store)
        starter.communicate("go\n", timeout=60)  # the starter finishes and exits
        assert starter.returncode == 0
        for _ in range(5):  # (a) the reader keeps working after the starter is gone
            assert _genes(store) == expected
            time.sleep(0.3)
        assert _alive(jvm)
        reader, pid, owned = _holder(db)  # (b) a third process joins and leaves: the server stays
        assert pid == jvm and not owned
        reader.communicate("go\n", timeout=60)
        assert _genes(store) == expected
    deadline = time.monotonic() + 30  # the last one out stops it
    while _alive(jvm) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(jvm) and not (db / "server.json").exists()


def test_second_build_is_refused_while_one_runs(subset_sources: Path, subset_store: GraphStore) -> None:
    db = str(subset_store.backend.server.directory)
    database = subset_store.database
    with subset_store.backend.exclusive():  # a build holds the directory
        result = runner.invoke(app, ["kg", "build", "--sources", str(subset_sources), "--db", db, "--quiet"])
    assert result.exit_code == 1 and "another build is running on" in result.output, result.output
    assert "pid " in result.output and "Traceback" not in result.output
    assert subset_store.database == database
    assert subset_store.backend.server.databases() == [database]  # nobody dropped anything


def test_leftover_staging_database_is_dropped_by_the_next_command(subset_store: GraphStore) -> None:
    server = subset_store.backend.server
    server.create_database("aroma_19990101000000000000")  # what a killed build leaves
    assert "aroma_19990101000000000000" in server.databases()
    result = runner.invoke(app, ["kg", "stats", "--db", str(server.directory), "--json"])
    assert result.exit_code == 0, result.output
    assert server.databases() == [subset_store.database]


def test_root_password_is_not_on_any_command_line(tmp_path: Path) -> None:
    with LocalArcadeDB(tmp_path) as server:
        password = server.password.encode()
        for pid in (server.info.pid, server.info.keeper):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            assert cmdline and password not in cmdline
            assert password not in Path(f"/proc/{pid}/environ").read_bytes()
        assert b"rootPasswordPath" in Path(f"/proc/{server.info.pid}/cmdline").read_bytes()
        assert not (tmp_path / ".root-password").exists()  # read at first start, then removed
        with GraphDatabase.driver(server.bolt_uri, auth=server.auth) as driver:
            driver.verify_connectivity()


def test_read_only_account_is_private_and_survives_restarts(tmp_path: Path) -> None:
    """The read-only account's password, like root's, lives only in a 0600 file: never on a command line, in an
    environment or in the server's log; its group (read records only) is in the server's 0600 group file."""
    import stat

    from aroma.kg.arcadedb import READER_GROUP

    for _ in range(2):  # the first start creates the account, a later one re-creates it with the same password
        with LocalArcadeDB(tmp_path) as server:
            user, password = server.reader_auth
            for pid in (server.info.pid, server.info.keeper):
                assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
                assert password.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
            with GraphDatabase.driver(server.bolt_uri, auth=(user, password)) as driver:
                driver.verify_connectivity()
            groups = Path(server.info.root) / "config" / "server-groups.json"
            assert json.loads(groups.read_text())["databases"]["*"]["groups"][user] == READER_GROUP
            assert stat.S_IMODE(groups.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "reader-credentials.json").stat().st_mode) == 0o600
    assert password.encode() not in (tmp_path / "server.log").read_bytes()


def test_credentials_in_a_uri_never_printed(subset_store: GraphStore) -> None:
    port = subset_store.backend.server.info.bolt_port
    for uri in ("bolt://root:S3CRET-in-uri@127.0.0.1:9", "bolt://root:S3CRET-in-uri@127.0.0.1:notaport",
                f"bolt://root:S3CRET-in-uri@127.0.0.1:{port}"):
        result = runner.invoke(app, ["kg", "stats", "--db", uri])
        assert result.exit_code == 1, result.output
        assert "S3CRET-in-uri" not in result.output and "Traceback" not in result.output
        assert result.output.count("\n") <= 3


def test_locked_account_is_named(tmp_path: Path) -> None:
    with LocalArcadeDB(tmp_path) as server:
        for _ in range(6):
            with GraphDatabase.driver(server.bolt_uri, auth=("root", "wrong-password")) as driver:
                with pytest.raises(Exception):
                    driver.verify_connectivity()
        with pytest.raises(StoreError, match=r"locked after too many failed logins; try again in about \d+ s"):
            open_store(tmp_path)


def test_sigterm_gives_a_message(subset_store: GraphStore) -> None:
    db = str(subset_store.backend.server.directory)
    with aroma("cypher", "--db", db, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
               text=True) as shell:
        deadline = time.monotonic() + 60
        line = ""
        while "connected to" not in line and time.monotonic() < deadline:
            line = shell.stderr.readline()
        shell.send_signal(signal.SIGTERM)
        _, stderr = shell.communicate(timeout=60)
    assert shell.returncode == 143 and "terminated (SIGTERM)" in stderr
    assert json.loads(Path(db, "server.json").read_text())["pid"] == subset_store.backend.server.info.pid
