"""A real Neo4j 5 Community server on loopback, without an install: Maven artifacts plus a small launcher.

``aroma/kg/neo4j_launcher/`` holds a ``pom.xml`` (``org.neo4j:neo4j``, ``neo4j-bolt``, ``neo4j-import-tool``)
and ``Launcher.java``. On first use Maven resolves the dependencies (cached in ``~/.m2``) and the
launcher is compiled into a cache folder (``$AROMA_NEO4J_CACHE``, else ``~/.cache/aroma/neo4j``) keyed by
the hash of those two files; later starts take seconds. Needs Java 17+ (``java``, ``javac``) and ``mvn``.

Used by the tests (a real Neo4j beside the local ArcadeDB), by ``aroma kg serve --engine neo4j``, and to
run ``neo4j-admin`` (``database import full``) from the same artifacts.

Home layout::

    HOME/credentials.json  generated password of user neo4j (mode 0600)
    HOME/data/             Neo4j's databases and transaction logs
    HOME/logs/             debug.log, query.log, security.log
    HOME/server.log        the launcher's stderr
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from aroma.errors import StoreError
from aroma.kg.arcadedb import _alive, _die_with_parent
from aroma.kg.credentials import stored_password
from aroma.kg.heap import server_heap

NEO4J_VERSION = "5.26.30"  # keep in step with neo4j_launcher/pom.xml
USER = "neo4j"
CACHE_ENV = "AROMA_NEO4J_CACHE"
HEAP_ENV = "AROMA_NEO4J_HEAP"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
BUILD_TIMEOUT_S = 1800.0
MAIN_CLASS = "aroma.neo4j.Launcher"
_READY = re.compile(r"^aroma-neo4j ready (bolt://\S+) version (\S+)")


def _launcher_files() -> dict[str, bytes]:
    folder = files("aroma.kg").joinpath("neo4j_launcher")
    return {name: folder.joinpath(name).read_bytes() for name in ("pom.xml", "Launcher.java")}


def _tool(name: str) -> str:
    home = os.environ.get("JAVA_HOME")
    if name in ("java", "javac") and home and (Path(home) / "bin" / name).exists():
        return str(Path(home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise StoreError(f"`{name}` not found on PATH: the local Neo4j needs Java 17+ (java, javac) and Maven (mvn)")
    return found


def cache_dir() -> Path:
    """Where the compiled launcher and its classpath live for this pom and source."""
    digest = hashlib.sha256()
    for name, content in sorted(_launcher_files().items()):
        digest.update(name.encode() + b"\0" + content)
    base = Path(os.environ.get(CACHE_ENV) or "~/.cache/aroma/neo4j").expanduser()
    return base / f"{NEO4J_VERSION}-{digest.hexdigest()[:12]}"


def launcher_argfile(log=lambda message: None) -> Path:
    """A ``java @argfile`` with the launcher's classpath, building it with Maven and javac on first use."""
    target = cache_dir()
    argfile = target / "java.args"
    if argfile.exists():
        return argfile
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, across processes
        if argfile.exists():
            return argfile
        log(f"resolving Neo4j {NEO4J_VERSION} with Maven and compiling the launcher into {target} (once)")
        work = Path(str(target) + f".tmp{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        (work / "src").mkdir(parents=True)
        for name, content in _launcher_files().items():
            (work / "src" / name).write_bytes(content)
        _checked([_tool("mvn"), "-B", "-q", "-f", str(work / "src" / "pom.xml"), "dependency:build-classpath",
                  f"-Dmdep.outputFile={work / 'classpath.txt'}"], "Maven could not resolve Neo4j")
        classpath = (work / "classpath.txt").read_text().strip()
        _checked([_tool("javac"), "--release", "17", "-d", str(work / "classes"), "-cp", classpath,
                  str(work / "src" / "Launcher.java")], "javac could not compile the Neo4j launcher")
        final_classpath = f"{target / 'classes'}{os.pathsep}{classpath}"
        (work / "java.args").write_text(f"-cp\n{json.dumps(final_classpath)}\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    return argfile


def _checked(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if result.returncode != 0:
        raise StoreError(f"{what} (exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")


def _java_command(*args: str, heap: str | None = None) -> list[str]:
    return [_tool("java"), f"-Xmx{heap or server_heap(HEAP_ENV)}", f"@{launcher_argfile()}",
            MAIN_CLASS, *args]


def neo4j_admin(home: Path, *args: str, heap: str | None = None) -> subprocess.CompletedProcess:
    """Run ``neo4j-admin ARGS`` with ``home`` as NEO4J_HOME (e.g. ``database import full neo4j …``).

    It runs in ``home``, so files it writes to its working directory (``import.report``) stay there;
    give paths in ARGS absolute."""
    home = Path(home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(_java_command("admin", str(home), *args, heap=heap), capture_output=True, text=True,
                            cwd=home)
    if result.returncode != 0:
        raise StoreError(f"neo4j-admin {' '.join(args[:3])} failed (exit {result.returncode}):\n"
                         f"{(result.stdout + result.stderr)[-3000:]}")
    return result


@dataclass
class LocalNeo4j:
    """Neo4j 5 Community in one JVM on 127.0.0.1, authentication on, tied to this Python process."""

    home: Path
    port: int = 0  # 0: any free port
    heap: str | None = None

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser().resolve()
        self.uri: str | None = None
        self.version: str | None = None
        self._process: subprocess.Popen | None = None

    @property
    def password(self) -> str:
        return stored_password(self.home / "credentials.json", USER)

    @property
    def auth(self) -> tuple[str, str]:
        return (USER, self.password)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, log=lambda message: None) -> LocalNeo4j:
        """Start the server and wait until Bolt accepts connections."""
        launcher_argfile(log)
        command = _java_command("serve", str(self.home), str(self.port), heap=self.heap)
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "server.log", "ab") as stderr:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, cwd=self.home,
                start_new_session=True,  # Ctrl-C reaches Python, which stops the server cleanly
                preexec_fn=_die_with_parent,  # and the JVM gets SIGTERM if Python dies
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write((self.password + "\n").encode())
        self._process.stdin.flush()
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self._process.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self._process.stdout.fileno(), 4096)
                line += chunk
                if not chunk:
                    break
            if self._process.poll() is not None or time.monotonic() > deadline:
                break
        match = _READY.match(line.decode(errors="replace"))
        if match is None:
            self.stop()
            tail = (self.home / "server.log").read_text(errors="replace")[-3000:]
            raise StoreError(f"Neo4j in {self.home} did not start:\n{line.decode(errors='replace')}{tail}")
        self.uri, self.version = match.group(1), match.group(2)
        return self

    def stop(self) -> None:
        """Close the launcher's stdin (clean shutdown), then SIGTERM, then SIGKILL; wait for the JVM to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        for step in ("close", "term", "kill"):
            if process.poll() is not None:
                break
            if step == "close":
                try:
                    process.stdin.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            elif step == "term":
                process.send_signal(signal.SIGTERM)
            else:
                process.kill()
            try:
                process.wait(timeout=STOP_TIMEOUT_S if step != "kill" else None)
            except subprocess.TimeoutExpired:
                continue
        if process.stdout is not None:
            process.stdout.close()
        assert not _alive(process.pid) or process.poll() is not None

    def __enter__(self) -> LocalNeo4j:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_neo4j(home: Path, port: int, say=print, log=lambda message: None) -> None:
    """``aroma kg serve --engine neo4j``: run until Ctrl-C, then stop cleanly; the data stays in ``home``."""
    server = LocalNeo4j(Path(home), port=port)
    try:
        server.start(log)
        say(f"serving Neo4j {server.version} in {server.home} at {server.uri} (database neo4j)")
        say(f"user {USER}, password in {server.home / 'credentials.json'}; Ctrl-C stops")
        while server._process is not None and server._process.poll() is None:
            time.sleep(1)
        status = server._process.returncode if server._process is not None else None
        raise StoreError(f"Neo4j in {server.home} stopped unexpectedly (exit status {status}), so `kg serve` stops "
                         f"too; its logs: {server.home / 'server.log'}, {server.home / 'logs'}")
    except KeyboardInterrupt:
        say(f"stopping; the data stays in {server.home}")
    finally:
        server.stop()
