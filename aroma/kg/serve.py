"""``aroma kg serve``: keep a local graph server running on loopback until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from aroma.errors import AromaError, StoreError
from aroma.kg.store import open_store

ENGINES = ("arcadedb", "neo4j")
NEO4J_HOME = Path("~/.aroma/neo4j")
WATCH_S = 0.5  # how often `kg serve` checks that its server still runs


def serve(directory: Path | None, port: int, engine: str = "arcadedb", say: Callable[[str], None] = print,
          log: Callable[[str], None] = lambda message: None) -> None:
    """Serve ``directory`` (default: the local database, or ``~/.aroma/neo4j`` for Neo4j) on ``port``; the data stays."""
    if engine == "neo4j":
        from aroma.kg.neo4j_local import serve_neo4j

        serve_neo4j(directory or NEO4J_HOME, port, say=say, log=log)
        return
    if engine != "arcadedb":
        raise AromaError(f"unknown engine {engine!r}: arcadedb or neo4j")
    with open_store(directory, bolt_port=port) as store:  # the directory's own server, started for serving
        server = store.local_server
        assert server is not None  # a directory, never a URI
        if not server.owned:
            raise StoreError(f"a server already runs on {server.directory} at {server.bolt_uri}; connect there")
        say(f"serving {server.directory} at {server.bolt_uri} (database {server.current or 'none built yet'})")
        say(f"user {server.auth[0]}, password in {server.directory / 'credentials.json'}; read-only user "
            f"{server.reader_auth[0]} (for `aroma cypher` without --write), password in "
            f"{server.directory / 'reader-credentials.json'}; Ctrl-C stops")
        try:
            while server.running():
                time.sleep(WATCH_S)
        except KeyboardInterrupt:
            say("stopping; the data stays in " + str(server.directory))
            return
        pid = server.info.pid if server.info else "?"
        raise StoreError(f"the ArcadeDB server of {server.directory} (pid {pid}) stopped unexpectedly, so `kg serve` "
                         f"stops too; its log: {server.directory / 'server.log'}")
