"""The local ArcadeDB server behind the default database directory.

Everything ArcadeDB-specific lives here: starting the bundled JRE with the Bolt plugin on a
free loopback port, reusing a server already running on the same directory, generated
credentials, and the server-administration calls (create/drop database) that Bolt lacks.
Queries themselves are Neo4j 5 Cypher, sent through the official driver like for Neo4j.

The server lives as long as any process uses it: each process registers in ``DIR/clients/``
(a file it holds an exclusive ``flock`` on, released by the kernel even on ``kill -9``), and a
small keeper process, detached from the starter, runs the JVM and stops it once no registered
process is left. The last process to leave stops it at once. The root password reaches the JVM
through a file only the user can read (``arcadedb.server.rootPasswordPath``), never its command line.

Beside root the server has a read-only account, ``reader``: its server group (``READER_GROUP``, written into
``server/config/server-groups.json`` before the JVM starts) has no update, schema or security rights and may
only read records, so the server itself refuses any change that account's queries attempt. ``aroma cypher``
without ``--write`` logs in as it.

Directory layout::

    DIR/credentials.json   generated root password (mode 0600)
    DIR/reader-credentials.json  generated password of the read-only account (mode 0600)
    DIR/server.json        pids and ports of the running server (the lock file)
    DIR/clients/           one locked file per process using the server
    DIR/build.lock         held by the one build running on this directory
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
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from aroma.errors import StoreError
from aroma.kg.credentials import stored_password
from aroma.kg.heap import server_heap

USER = "root"
READER = "reader"  # the read-only account (READER_GROUP)
# ArcadeDB's rights of the read-only account, on every database: read records, nothing else (no updateSecurity,
# updateSchema or updateDatabaseSettings; no createRecord, updateRecord or deleteRecord).
READER_GROUP = {"resultSetLimit": -1, "readTimeout": -1, "access": [], "types": {"*": {"access": ["readRecord"]}}}
# ArcadeDB's own default groups (SecurityGroupFileRepository.createDefault), written with READER_GROUP on a first start.
_DEFAULT_GROUPS = {
    "admin": {"resultSetLimit": -1, "readTimeout": -1, "access": ["updateSecurity", "updateSchema", "updateDatabaseSettings"],
              "types": {"*": {"access": ["createRecord", "readRecord", "updateRecord", "deleteRecord"]}}},
    "*": {"resultSetLimit": -1, "readTimeout": -1, "access": [], "types": {"*": {"access": []}}},
}
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
IMPORT_TIMEOUT_S = 3600.0
HEAP_ENV = "AROMA_ARCADEDB_HEAP"  # the server's -Xmx; default from aroma.kg.heap
AOT_ENV = "AROMA_JVM_CACHE"  # folder of the server's ahead-of-time class cache (default ~/.aroma/jvm); "off": none
BOLT_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
GRAPH_IMPORTER = "com.arcadedb.integration.importer.graph.GraphImporter"  # the bulk loader (its main class)
_PR_SET_PDEATHSIG = 1
KEEPER_POLL_S = 0.1
KEEPER_IDLE_S = 1.0  # a server nobody uses is stopped after this long
LOCKOUT_S = 30  # ArcadeDB locks an account for about this long after repeated failed logins
# ArcadeDB sends no notifications (unknown label, type, property) and no column names for empty results.
NOTIFICATIONS_REPORTED = False

# Measured differences between ArcadeDB's Cypher and Neo4j 5's. Queries in aroma/cypher/ keep
# Neo4j's form and avoid these; any workaround belongs in this module.
CYPHER_GAPS = {
    "unnamed CREATE INDEX FOR ... ON": "always name indexes and constraints",
    "SHORTEST k": "bound variable-length patterns instead",
    "parameter map as MATCH predicate": "use WHERE n.key = $value",
    "USE <database>": "the session selects the database",
    "CALL db.indexes()": "use SHOW INDEXES",
    "CALL db.propertyKeys() answers nothing": "stats/property_keys.cypher collects keys()",
    "READ access mode does not refuse writes": "read-only queries log in as READER, whose group may only read",
    "EXPLAIN runs the statement it explains": "never sent: read-only is the server's refusal, not a plan",
    "EXPLAIN reports query_type 'w'": "not used",
    "schema, user and database commands are not rolled back": "READER lacks updateSchema and updateSecurity",
    "a CREATE refused for its data leaves its label in the schema": "READER lacks updateSchema: no type is made",
    "SHOW USERS needs updateSecurity": "refused to READER; over bolt:// it tells an account that administers",
    "LOAD CSV from a file needs updateSecurity": "refused to READER",
    "SHOW CURRENT USER reports roles ['admin'] for any account": "not used: READER_GROUP decides its rights",
    "Bolt reports a locked account as a failed login": "LocalArcadeDB.account_locked asks over HTTP",
    "no notifications for unknown labels, types, properties": "GraphStore checks names (NOTIFICATIONS_REPORTED)",
    "no column names for an empty result": "GraphStore names them from the RETURN clause",
    "plans from the first node of a pattern": "start patterns at the indexed node (30x faster)",
    "an OR over two indexed properties scans": "split into a UNION of anchored patterns",
}


def is_arcadedb(agent: str) -> bool:
    """Whether a Bolt server's agent string (``Neo4j/5.26.0 compatible (ArcadeDB …)``) names ArcadeDB."""
    return "ArcadeDB" in (agent or "")


def administers(driver: Any, database: str | None) -> bool:
    """Whether the driver's ArcadeDB login may administer the server: ArcadeDB answers ``SHOW USERS`` only to
    an account with the updateSecurity right (READER is refused; see CYPHER_GAPS)."""
    from neo4j.exceptions import DriverError, Neo4jError

    try:
        driver.execute_query("SHOW USERS", database_=database, routing_="r")
    except Neo4jError as exc:
        if exc.code == "Neo.ClientError.Security.Forbidden":
            return False
        raise StoreError(f"{exc.code}: {exc.message}") from exc
    except DriverError as exc:
        raise StoreError(f"lost the connection to the server: {exc}") from exc
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
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


def _die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Runs in the child before exec: the JVM gets ``signum`` if the Python process (its thread) dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signum)


def _killed_with_parent() -> None:
    """``_die_with_parent`` with SIGKILL: for the importer, whose unfinished database is thrown away anyway."""
    _die_with_parent(signal.SIGKILL)


def _stop_importers(database: Path) -> None:
    """Kill any importer JVM still writing ``database`` (one a killed build left behind) and wait until it is gone."""
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0") if proc.name.isdigit() else []
        except OSError:
            continue
        if GRAPH_IMPORTER.encode() in command and str(database).encode() in command:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(int(proc.name)) and not _zombie(int(proc.name)) and time.monotonic() < deadline:
                time.sleep(0.05)


def _is_server(info: "ServerInfo") -> bool:
    cmdline = Path(f"/proc/{info.pid}/cmdline")
    try:
        return _alive(info.pid) and info.root.encode() in cmdline.read_bytes()
    except OSError:
        return False


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns once the process is gone (or a zombie)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and not _zombie(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT_S
        time.sleep(0.05)
    while _alive(pid) and time.monotonic() < deadline:  # let its parent (the keeper) reap it
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _runtime() -> tuple[Path, Path]:
    """The JRE's ``java`` and the folder of ArcadeDB's jars, both bundled with ``arcadedb-embedded``."""
    package = files("arcadedb_embedded")
    return Path(str(package / "jre" / "bin" / "java")), Path(str(package / "jars"))


def aot_cache() -> Path | None:
    """Where the server's ahead-of-time class cache lives (JDK 25's AOT cache: the classes an earlier start
    loaded and linked, which takes about a third off a start); None where ``AROMA_JVM_CACHE=off``."""
    setting = os.environ.get(AOT_ENV, "")
    if setting == "off":
        return None
    folder = Path(setting or "~/.aroma/jvm").expanduser()
    return folder / f"arcadedb-server-{version('arcadedb-embedded')}.aot"


def _command(directory: Path, root: Path, bolt_port: int, http_port: int, aot: list[str]) -> list[str]:
    java, jars = _runtime()
    settings = {
        "arcadedb.server.rootPath": root,
        "arcadedb.server.databaseDirectory": root / "databases",
        "arcadedb.server.rootPasswordPath": directory / ".root-password",  # a 0600 file, not the password
        "arcadedb.server.plugins": BOLT_PLUGIN,
        "arcadedb.server.httpIncomingHost": "127.0.0.1",
        "arcadedb.server.httpIncomingPort": http_port,
        "arcadedb.server.httpsIncomingPort": free_port(),
        "arcadedb.bolt.host": "127.0.0.1",
        "arcadedb.bolt.port": bolt_port,
        "arcadedb.server.mode": "development",  # detailed Cypher error messages
        "arcadedb.server.security.importAllowedLocalPaths": directory / "import",  # SQL IMPORT reads nothing else
    }
    heap = server_heap(HEAP_ENV)
    return [
        str(java),
        f"-Xmx{heap}",
        *aot,
        "-cp",
        f"{jars}/*",
        *(f"-D{key}={value}" for key, value in settings.items()),
        "com.arcadedb.server.ArcadeDBServer",
    ]


# Runs this file as the keeper without importing the aroma.kg package (and its heavy imports).
_KEEPER_BOOT = (
    "import importlib.util, sys; spec = importlib.util.spec_from_file_location('aroma_arcadedb_keeper', sys.argv[1]); "
    "module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module; spec.loader.exec_module(module); "
    "module.keep(*sys.argv[2:])"
)


def keep(directory: str, bolt_port: str, http_port: str) -> None:
    """The keeper: run the JVM (tied to this process), print its pid, stop it once no process uses it."""
    folder = Path(directory)
    root = folder / "server"
    cache, recording = aot_cache(), None
    if cache is not None and cache.is_file():
        aot = [f"-XX:AOTCache={cache}"]
    elif cache is not None:  # the first start records the cache, written when the JVM exits
        cache.parent.mkdir(parents=True, exist_ok=True)
        recording = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        aot = [f"-XX:AOTCacheOutput={recording}"]
    else:
        aot = []
    with open(folder / "server.log", "ab") as log:
        jvm = subprocess.Popen(_command(folder, root, int(bolt_port), int(http_port), aot), stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root,
                               preexec_fn=_die_with_parent)
    signal.signal(signal.SIGTERM, lambda *_: jvm.terminate())
    print(jvm.pid, flush=True)
    sys.stdout = open(os.devnull, "w")
    idle_since: float | None = None
    while jvm.poll() is None:
        time.sleep(KEEPER_POLL_S)
        with open(folder / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # someone is starting or leaving: look again next time
            if live_clients(folder):
                idle_since = None
                continue
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= KEEPER_IDLE_S:
                jvm.terminate()
                try:
                    jvm.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    jvm.kill()
                    jvm.wait()
                _forget(folder, jvm.pid)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _forget(folder, jvm.pid)
    if recording is not None:  # kept only from a JVM that stopped normally (not killed while writing it)
        if jvm.returncode in (0, 143, -signal.SIGTERM) and recording.is_file():
            os.replace(recording, cache)
        recording.unlink(missing_ok=True)


def _write_groups(config: Path) -> None:
    """Put READER_GROUP into ArcadeDB's ``server-groups.json`` (its defaults where there is none yet), 0600."""
    path = config / "server-groups.json"
    try:
        groups = json.loads(path.read_text())
    except FileNotFoundError:
        groups = {"databases": {"*": {"groups": dict(_DEFAULT_GROUPS)}}, "version": 2}
    except ValueError as exc:
        raise StoreError(f"{path} is not valid JSON ({exc}); remove it to let the server write its defaults") from None
    groups.setdefault("databases", {}).setdefault("*", {}).setdefault("groups", {})[READER] = READER_GROUP
    config.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(groups, handle, indent=2)
    os.replace(temporary, path)


def _forget(folder: Path, pid: int) -> None:
    """Remove server.json if it still describes the server with ``pid``."""
    path = folder / "server.json"
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


@dataclass
class ServerInfo:
    pid: int
    bolt_port: int
    http_port: int
    root: str
    keeper: int = 0


def has_graph(directory: Path | str) -> bool:
    """Whether a build has completed in ``directory`` (checked without creating or starting anything)."""
    return (Path(directory).expanduser() / "current").is_file()


def _exclusive(path: Path) -> int | None:
    """An open descriptor holding an exclusive flock on ``path``, or None when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def live_clients(directory: Path) -> list[Path]:
    """Registrations of processes still using the server; those of dead processes are removed."""
    folder = directory / "clients"
    live = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        fd = _exclusive(path)
        if fd is None:
            live.append(path)
        else:  # its process is gone (the kernel released the lock)
            path.unlink(missing_ok=True)
            os.close(fd)
    return live


class LocalArcadeDB:
    """One ArcadeDB server per database directory: started on demand, shared, stopped when unused."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.expanduser().resolve()
        self.info: ServerInfo | None = None
        self.owned = False  # this object launched the server
        self._client: tuple[Path, int] | None = None

    # -- credentials and paths -------------------------------------------------------------
    @property
    def password(self) -> str:
        return stored_password(self.directory / "credentials.json", USER)

    @property
    def auth(self) -> tuple[str, str]:
        return (USER, self.password)

    @property
    def reader_auth(self) -> tuple[str, str]:
        """The read-only account (READER_GROUP): the server refuses every change its queries attempt."""
        return (READER, stored_password(self.directory / "reader-credentials.json", READER))

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

    # -- users of the server ---------------------------------------------------------------
    def _register(self) -> None:
        folder = self.directory / "clients"
        folder.mkdir(exist_ok=True)
        path = folder / f"{os.getpid()}.{secrets.token_hex(4)}"
        fd = _exclusive(path)
        assert fd is not None
        self._client = (path, fd)

    def _unregister(self) -> None:
        if self._client is not None:
            path, fd = self._client
            path.unlink(missing_ok=True)
            os.close(fd)
            self._client = None

    @contextmanager
    def build_lock(self):
        """Held by the one build on this directory; a second build is refused with the first one named."""
        path = self.directory / "build.lock"
        fd = _exclusive(path)
        if fd is None:
            holder = path.read_text().strip() or "another process"
            raise StoreError(f"another build is running on {self.directory} ({holder}); "
                             "wait for it to finish, then build again")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            yield
        finally:
            os.ftruncate(fd, 0)
            os.close(fd)

    def build_running(self) -> bool:
        fd = _exclusive(self.directory / "build.lock")
        if fd is None:
            return True
        os.close(fd)
        return False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, bolt_port: int | None = None) -> LocalArcadeDB:
        """Use the server running on this directory, or start one (on ``bolt_port`` if given)."""
        with self._locked():
            self._register()
            try:
                running = self._running_server()
                if running is not None:
                    self.info, self.owned = running, False
                    return self
                if bolt_port is not None and _port_open(bolt_port):
                    raise StoreError(f"port {bolt_port} on 127.0.0.1 is already in use")
                self.info = self._launch(bolt_port or free_port())
                self._create_reader()
            except BaseException:
                self._unregister()
                raise
            self.owned = True
            (self.directory / "server.json").write_text(json.dumps(self.info.__dict__))
        return self

    def stop(self) -> None:
        """Leave the server; the last process using it stops it (the data stays)."""
        if self._client is None:
            return
        with self._locked():
            self._unregister()
            self.owned = False
            if live_clients(self.directory):
                return
            info = self._running_server()
            if info is not None:
                _terminate(info.pid)
            (self.directory / "server.json").unlink(missing_ok=True)

    def running(self) -> bool:
        """Whether the server this object uses still runs (it may have been killed under it)."""
        return self.info is not None and _is_server(self.info)

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
        if _is_server(info) and _port_open(info.bolt_port):
            return info
        path.unlink()  # stale: the server that wrote it is gone
        return None

    def _launch(self, bolt_port: int) -> ServerInfo:
        """Start a keeper process (detached from this one) that runs the JVM until nobody uses it."""
        root = self.directory / "server"
        root.mkdir(parents=True, exist_ok=True)
        _write_groups(root / "config")
        http_port = free_port()
        secret = self.directory / ".root-password"
        secret.unlink(missing_ok=True)
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.password)
        log = open(self.directory / "server.log", "ab")
        keeper = subprocess.Popen(
            [sys.executable, "-c", _KEEPER_BOOT, __file__, str(self.directory), str(bolt_port), str(http_port)],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, cwd=root,
            start_new_session=True,  # outlives this process; Ctrl-C in a terminal does not reach it
        )
        log.close()
        try:
            line = keeper.stdout.readline().strip()
            keeper.stdout.close()
            deadline = time.monotonic() + START_TIMEOUT_S
            while not (line and _port_open(bolt_port) and _port_open(http_port)):
                if keeper.poll() is not None or time.monotonic() > deadline:
                    keeper.kill()
                    tail = (self.directory / "server.log").read_text(errors="replace")[-2000:]
                    raise StoreError(f"ArcadeDB server for {self.directory} did not start:\n{tail}")
                time.sleep(0.1)
        finally:
            secret.unlink(missing_ok=True)  # read at first start only; the server keeps a hash
        return ServerInfo(int(line), bolt_port, http_port, str(root), keeper.pid)

    def _create_reader(self) -> None:
        """(Re)create the read-only account with its stored password, before anyone else uses the new server."""
        assert self.info is not None
        users = Path(self.info.root) / "config" / "server-users.jsonl"
        if users.is_file() and any(json.loads(line).get("name") == READER
                                   for line in users.read_text().splitlines() if line.strip()):
            self._admin(f"drop user {READER}")
        user, password = self.reader_auth
        try:
            self._admin("create user " + json.dumps({"name": user, "password": password, "databases": {"*": [READER]}}),
                        shown=f"create user {user}")
        except StoreError as exc:  # whatever the server echoes, the password is not shown
            raise StoreError(str(exc).replace(password, "***")) from None

    def account_locked(self) -> bool:
        """Whether ArcadeDB has locked root after repeated failed logins (Bolt reports only a failed login)."""
        try:
            self._admin_request("GET", None)
        except urllib.error.HTTPError as exc:
            return b"Too many failed authentication attempts" in exc.read()
        except OSError:
            return False
        return False

    # -- administration (HTTP: Bolt has no CREATE DATABASE on ArcadeDB) -------------------
    def _admin_request(self, method: str, body: dict | None, endpoint: str = "server") -> object:
        assert self.info is not None
        token = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.info.http_port}/api/v1/{endpoint}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read()).get("result")

    def _admin(self, command: str, shown: str | None = None) -> object:
        """A server command as root; messages name it as ``shown`` (default: the command itself)."""
        shown = shown or command
        try:
            return self._admin_request("POST", {"command": command})
        except urllib.error.HTTPError as exc:
            raise StoreError(f"ArcadeDB refused '{shown}': {exc.read().decode(errors='replace')[:300]}") from exc
        except urllib.error.URLError as exc:
            raise StoreError(f"the ArcadeDB server of {self.directory} went away during '{shown}': "
                             f"{getattr(exc, 'reason', exc)}") from exc

    def _open_databases(self) -> list[str]:
        """The databases the server has open (not one it closed for the importer)."""
        try:
            return list(self._admin_request("GET", None, "databases") or [])
        except OSError as exc:  # HTTPError, URLError
            raise StoreError(f"the ArcadeDB server of {self.directory} did not list its databases: {exc}") from exc

    @property
    def import_directory(self) -> Path:
        """Where bulk builds write the importer's files."""
        folder = self.directory / "import"
        folder.mkdir(exist_ok=True)
        return folder

    def graph_import(self, database: str, config: Path) -> dict[str, int]:
        """ArcadeDB's ``GraphImporter`` (its bulk loader) in a JVM of its own, from the files that ``config``
        names, into ``database``: the server closes it, the importer recreates it, the server opens it again.
        Returns the vertices and edges created; the importer's output is kept in ``DIR/import.log``."""
        assert self.info is not None
        self._admin(f"close database {database}")
        log = self.directory / "import.log"
        java, jars = _runtime()
        path = Path(self.info.root) / "databases" / database
        command = [str(java), f"-Xmx{server_heap(HEAP_ENV)}", "-cp", f"{jars}/*", GRAPH_IMPORTER, str(config), str(path)]
        try:
            with open(log, "wb") as out:  # the importer dies with this process (a build killed with -9 included)
                done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=config.parent,
                                      timeout=IMPORT_TIMEOUT_S, check=False, preexec_fn=_killed_with_parent)
        except subprocess.TimeoutExpired as exc:
            raise StoreError(f"ArcadeDB's importer did not finish {config} in {IMPORT_TIMEOUT_S:.0f} s "
                             f"(its output: {log})") from exc
        finally:  # the server takes back what the importer made, for the build to keep or drop
            try:
                self._admin(f"open database {database}")
            except StoreError:
                shutil.rmtree(path, ignore_errors=True)
        output = log.read_text(encoding="utf-8", errors="replace")
        counts = re.findall(r"Vertices: ([\d,]+)\nEdges\s*: ([\d,]+)", output)
        if done.returncode != 0 or not counts:
            problems = [line for line in output.splitlines() if "WARNI" in line or "SEVER" in line or "Exception" in line]
            raise StoreError(f"ArcadeDB's importer failed on {config} (exit status {done.returncode}); from its "
                             f"output ({log}):\n" + "\n".join(problems)[-1500:])
        vertices, edges = counts[-1]
        return {"vertices": int(vertices.replace(",", "")), "edges": int(edges.replace(",", ""))}

    def create_database(self, name: str) -> None:
        self._admin(f"create database {name}")

    def drop_database(self, name: str) -> None:
        """Drop ``name``: through the server where it has it open; else (a staging database that a killed build
        left closed for the importer, unknown to the server) its folder, once no importer writes there."""
        assert self.info is not None
        if name in self._open_databases():
            self._admin(f"drop database {name}")
            return
        path = Path(self.info.root) / "databases" / name
        _stop_importers(path)
        shutil.rmtree(path, ignore_errors=True)

    def databases(self) -> list[str]:
        """Every database folder, open on the server or not."""
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
