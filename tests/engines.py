"""Both engines behind one fixture: the local ArcadeDB default and a real Neo4j 5.26 Community server.

The Neo4j server is started once per session from Maven artifacts (``aroma.kg.neo4j_local``: Maven and
javac run on first use, cached in ``~/.cache/aroma/neo4j``), on a free loopback port with a generated
password, and stopped at the end; the JVM also dies with the Python process (parent-death signal).
Neo4j Community has one user database, so the Neo4j subset graph lives in ``neo4j``; a test that
rebuilds it leaves the same graph behind, and ``engine_store`` rebuilds it if a test left anything else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from aroma.errors import StoreError
from aroma.kg.build import build
from aroma.kg.neo4j_local import LocalNeo4j
from aroma.kg.store import GraphStore, open_store

ENGINES = ["arcadedb", pytest.param("neo4j", marks=pytest.mark.neo4j)]
REQUIRE_ENV = "AROMA_REQUIRE_DATA"  # CI: a missing Java or Maven fails instead of skipping
runner = CliRunner()


@dataclass
class EngineStore:
    """A built graph on one engine, with what the CLI needs to reach it."""

    engine: str
    store: GraphStore
    args: list[str]  # --db … (and --database) for the CLI
    env: dict[str, str] = field(default_factory=dict)  # credentials for the CLI, through the environment

    def invoke(self, *argv: str, input: str | None = None) -> Result:
        """Run the CLI against this store (``cypher``, ``kg stats``, ``retrieve`` …), ``input`` on its stdin."""
        from aroma.cli import app

        return runner.invoke(app, [*argv, *self.args], env=self.env, input=input)

    def reopen(self, *, read_only: bool = False) -> GraphStore:
        """Another store on the same graph, opened as the CLI opens it (``read_only``: as ``aroma cypher`` does
        without --write)."""
        if self.engine == "arcadedb":
            return open_store(self.args[1], create=False, read_only=read_only)
        return open_store(self.args[1], user=self.env["AROMA_NEO4J_USER"], password=self.env["AROMA_NEO4J_PASSWORD"],
                          database=self.args[3], read_only=read_only)


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A real Neo4j 5.26 Community server for the session (authentication on, loopback, free port)."""
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j"))
    try:
        server.start()
    except StoreError as exc:
        message = f"Neo4j could not be started (needs Java 17+, javac and Maven): {exc}"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


def neo4j_target(server: LocalNeo4j, store: GraphStore) -> EngineStore:
    user, password = server.auth
    return EngineStore("neo4j", store, ["--db", server.uri or "", "--database", "neo4j"],
                       {"AROMA_NEO4J_USER": user, "AROMA_NEO4J_PASSWORD": password})


def _checksum(store: GraphStore) -> str | None:
    rows = store.read("stats/build_info")
    return rows[0]["checksum"] if rows else None


@pytest.fixture(scope="session")
def neo4j_subset_store(neo4j_server: LocalNeo4j, subset_sources: Path) -> Iterator[EngineStore]:
    """The subset graph built once into the Neo4j server's ``neo4j`` database."""
    user, password = neo4j_server.auth
    store = open_store(neo4j_server.uri, user=user, password=password, database="neo4j")
    try:
        build(subset_sources, store=store, show_progress=False)
        yield neo4j_target(neo4j_server, store)
    finally:
        store.close()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine_store(engine: str, request: pytest.FixtureRequest, subset_sources: Path) -> EngineStore:
    """The subset graph on each engine (built once per session per engine)."""
    if engine == "arcadedb":
        store = request.getfixturevalue("subset_store")
        return EngineStore("arcadedb", store, ["--db", str(store.backend.server.directory)])
    target: EngineStore = request.getfixturevalue("neo4j_subset_store")
    reference = request.getfixturevalue("subset_store")
    if _checksum(target.store) != _checksum(reference) or _node_count(target.store) != _node_count(reference):
        build(subset_sources, store=target.store, show_progress=False)  # an earlier test left another graph
    return target


def _node_count(store: GraphStore) -> int:
    return store.run("MATCH (n) RETURN count(n) AS n").rows[0]["n"]


@pytest.fixture
def fresh_engine_store(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineStore]:
    """A store to build into: a new local directory, or the session's Neo4j database (rebuilt in place)."""
    if engine == "arcadedb":
        store = open_store(tmp_path / "db")
        try:
            yield EngineStore("arcadedb", store, ["--db", str(tmp_path / "db")])
        finally:
            store.close()
        return
    server: LocalNeo4j = request.getfixturevalue("neo4j_server")
    user, password = server.auth
    with open_store(server.uri, user=user, password=password, database="neo4j") as store:
        yield neo4j_target(server, store)
