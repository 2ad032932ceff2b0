"""The local ArcadeDB server behind the default database directory.

Everything ArcadeDB-specific lives here: starting the bundled JRE with the Bolt plugin on a
free loopback port, reusing a server already running on the same directory, generated
credentials, and the server-administration calls (create/drop database) that Bolt lacks.
Queries themselves are Neo4j 5 Cypher, sent through the official driver like for Neo4j.

Directory layout::

    DIR/credentials.json   generated root password (mode 0600)
    DIR/server.json        pid and ports of the running server (the lock file)
    DIR/current            name of the active database (swapped atomically after a build)
    DIR/server/            ArcadeDB's server root (databases/, config/, log/)
    DIR/server.log         the server's output
"""

from __future__ import annotations

import base64
import ctypes
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from aroma.errors import StoreError

USER = "root"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
HEAP_ENV = "AROMA_ARCADEDB_HEAP"
BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
_PR_SET_PDEATHSIG = 1

# Measured differences between ArcadeDB's Cypher and Neo4j 5's. Queries in aroma/cypher/ keep
# Neo4j's form and avoid these; any workaround belongs in this module.
CYPHER_GAPS = {
    "unnamed CREATE INDEX FOR ... ON": "always name indexes and constraints",
    "SHORTEST k": "bound variable-length patterns instead",
    "parameter map as MATCH predicate": "use WHERE n.key = $value",
    "USE <database>": "the session selects the database",
    "CALL db.indexes()": "use SHOW INDEXES",
    "CALL db.propertyKeys() answers nothing": "stats/property_keys.cypher collects keys()",
    "READ access mode does not refuse writes": "GraphStore enforces read-only itself",
    "EXPLAIN reports query_type 'w'": "run EXPLAIN with write allowed; it changes nothing",
    "plans from the first node of a pattern": "start patterns at the indexed node (30x faster)",
    "an OR over two indexed properties scans": "split into a UNION of anchored patterns",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """Runs in the child before exec: the JVM gets SIGTERM if the Python process dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ServerInfo:
    pid: int
    bolt_port: int
    http_port: int
    root: str


class LocalArcadeDB:
    """One ArcadeDB server per database directory: started on demand, reused, stopped by its starter."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.expanduser().resolve()
        self.info: ServerInfo | None = None
        self.owned = False
        self._process: subprocess.Popen | None = None

    # -- credentials and paths -------------------------------------------------------------
    @property
    def password(self) -> str:
        path = self.directory / "credentials.json"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"user": USER, "password": secrets.token_urlsafe(24)}, handle)
        return json.loads(path.read_text())["password"]

    @property
    def auth(self) -> tuple[str, str]:
        return (USER, self.password)

    @property
    def bolt_uri(self) -> str:
        assert self.info is not None, "server not started"
        return f"bolt://127.0.0.1:{self.info.bolt_port}"

    @contextmanager
    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, bolt_port: int | None = None) -> LocalArcadeDB:
        """Reuse the server running on this directory, or start one (on ``bolt_port`` if given)."""
        with self._locked():
            running = self._running_server()
            if running is not None:
                self.info, self.owned = running, False
                return self
            if bolt_port is not None and _port_open(bolt_port):
                raise StoreError(f"port {bolt_port} on 127.0.0.1 is already in use")
            self.info = self._launch(bolt_port or _free_port())
            self.owned = True
            (self.directory / "server.json").write_text(json.dumps(self.info.__dict__))
        return self

    def stop(self) -> None:
        """Stop the server if this object started it; a reused server keeps running."""
        if not self.owned or self.info is None:
            return
        with self._locked():
            process = self._process
            try:
                os.kill(self.info.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(self.info.pid) and time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    break
                time.sleep(0.1)
            if _alive(self.info.pid) and (process is None or process.poll() is None):
                os.kill(self.info.pid, signal.SIGKILL)
            if process is not None:
                process.wait(timeout=STOP_TIMEOUT_S)
            (self.directory / "server.json").unlink(missing_ok=True)
            self.owned = False

    def __enter__(self) -> LocalArcadeDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _running_server(self) -> ServerInfo | None:
        path = self.directory / "server.json"
        if not path.exists():
            return None
        try:
            info = ServerInfo(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError):
            path.unlink()
            return None
        cmdline = Path(f"/proc/{info.pid}/cmdline")
        ours = cmdline.exists() and info.root.encode() in cmdline.read_bytes()
        if _alive(info.pid) and ours and _port_open(info.bolt_port):
            return info
        path.unlink()  # stale: the server that wrote it is gone
        return None

    def _command(self, root: Path, bolt_port: int, http_port: int) -> list[str]:
        package = files("arcadedb_embedded")
        java = Path(str(package / "jre" / "bin" / "java"))
        jars = Path(str(package / "jars"))
        settings = {
            "arcadedb.server.rootPath": root,
            "arcadedb.server.databaseDirectory": root / "databases",
            "arcadedb.server.rootPassword": self.password,
            "arcadedb.server.plugins": BOLT_PLUGIN,
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": http_port,
            "arcadedb.server.httpsIncomingPort": _free_port(),
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": bolt_port,
            "arcadedb.server.mode": "development",  # detailed Cypher error messages
        }
        heap = os.environ.get(HEAP_ENV, "4g")
        return [
            str(java),
            f"-Xmx{heap}",
            "-cp",
            f"{jars}/*",
            *(f"-D{key}={value}" for key, value in settings.items()),
            "com.arcadedb.server.ArcadeDBServer",
        ]

    def _launch(self, bolt_port: int) -> ServerInfo:
        root = self.directory / "server"
        root.mkdir(parents=True, exist_ok=True)
        http_port = _free_port()
        log = open(self.directory / "server.log", "ab")
        self._process = subprocess.Popen(
            self._command(root, bolt_port, http_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
            start_new_session=True,  # a terminal's Ctrl-C reaches Python, which stops the server cleanly
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (_port_open(bolt_port) and _port_open(http_port)):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._process.kill()
                tail = (self.directory / "server.log").read_text(errors="replace")[-2000:]
                raise StoreError(f"ArcadeDB server for {self.directory} did not start:\n{tail}")
            time.sleep(0.1)
        return ServerInfo(self._process.pid, bolt_port, http_port, str(root))

    # -- administration (HTTP: Bolt has no CREATE DATABASE on ArcadeDB) -------------------
    def _admin(self, command: str) -> object:
        assert self.info is not None
        token = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.info.http_port}/api/v1/server",
            data=json.dumps({"command": command}).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read()).get("result")
        except urllib.error.HTTPError as exc:
            raise StoreError(f"ArcadeDB refused '{command}': {exc.read().decode(errors='replace')[:300]}") from exc

    def create_database(self, name: str) -> None:
        self._admin(f"create database {name}")

    def drop_database(self, name: str) -> None:
        self._admin(f"drop database {name}")

    def databases(self) -> list[str]:
        assert self.info is not None
        return sorted(p.name for p in (Path(self.info.root) / "databases").iterdir() if p.is_dir())

    # -- the active database pointer -------------------------------------------------------
    @property
    def current(self) -> str | None:
        path = self.directory / "current"
        return path.read_text().strip() if path.exists() else None

    def set_current(self, name: str) -> None:
        temporary = self.directory / "current.tmp"
        temporary.write_text(name + "\n")
        os.replace(temporary, self.directory / "current")
