"""The graph store: one code path, the official ``neo4j`` driver speaking Neo4j 5 Cypher over Bolt.

``open_store(target)`` accepts a Neo4j URI (``bolt://``, ``neo4j://``, ``neo4j+s://`` …) or a
local directory, for which the toolkit starts (or reuses) an ArcadeDB server itself.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, Neo4jError, ServiceUnavailable

from aroma import cypher
from aroma.errors import ReadOnlyViolation, StoreError
from aroma.kg.arcadedb import LocalArcadeDB

DB_ENV = "AROMA_DB"
DEFAULT_DB = Path("~/.aroma/db")
URI_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
MIN_SERVER_VERSION = (5,)
# Neo4j refusing a write in a read transaction ("Writing in read access mode not allowed").
READ_ONLY_REFUSALS = ("Neo.ClientError.Statement.AccessMode",)
READ_ONLY_MESSAGE = "refused: this query writes to the graph (nothing was changed); pass --write to allow it"
# `CALL { … } IN TRANSACTIONS` commits its own batches: Neo4j runs it only in an auto-commit transaction.
_IN_TRANSACTIONS = re.compile(r"\bIN\s+(?:\d+\s+CONCURRENT\s+)?TRANSACTIONS\b", re.IGNORECASE)


def default_target() -> str:
    return os.environ.get(DB_ENV) or str(DEFAULT_DB.expanduser())


def is_uri(target: str) -> bool:
    return target.startswith(URI_SCHEMES)


@dataclass
class QueryResult:
    """Rows of a query with their column order and what the query changed."""

    columns: list[str]
    rows: list[dict[str, Any]]
    counters: dict[str, int] = field(default_factory=dict)


class Backend:
    """Where a build writes and how it becomes the active graph (the build-then-swap protocol)."""

    database: str | None

    def staging(self) -> str:
        raise NotImplementedError

    def promote(self, staging: str) -> None:
        raise NotImplementedError

    def discard(self, staging: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class LocalArcadeBackend(Backend):
    """Builds go into a fresh ArcadeDB database; the ``current`` pointer swaps only on success."""

    def __init__(self, server: LocalArcadeDB) -> None:
        self.server = server

    @property
    def database(self) -> str | None:  # type: ignore[override]
        return self.server.current

    def staging(self) -> str:
        self._drop_leftovers()
        name = "aroma_" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
        self.server.create_database(name)
        return name

    def promote(self, staging: str) -> None:
        previous = self.server.current
        self.server.set_current(staging)
        if previous and previous != staging:
            self.server.drop_database(previous)

    def discard(self, staging: str) -> None:
        if staging in self.server.databases():
            self.server.drop_database(staging)

    def _drop_leftovers(self) -> None:
        """Drop staging databases of builds that were killed before they could clean up."""
        for name in self.server.databases():
            if name.startswith("aroma_") and name != self.server.current:
                self.server.drop_database(name)

    def close(self) -> None:
        self.server.stop()


class Neo4jBackend(Backend):
    """A Neo4j server: builds write into the named database in place (cleared first)."""

    def __init__(self, database: str) -> None:
        self.database = database

    def staging(self) -> str:
        assert self.database is not None
        return self.database

    def promote(self, staging: str) -> None:
        pass

    def discard(self, staging: str) -> None:
        pass


def _plain(value: Any) -> Any:
    """Driver values → JSON-friendly Python (nodes and relationships become dicts)."""
    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return [_plain(n) for n in value.nodes]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


def _counters(summary: neo4j.ResultSummary) -> dict[str, int]:
    return {k: v for k, v in vars(summary.counters).items() if isinstance(v, int) and not k.startswith("_") and v}


def redact(target: str) -> str:
    """A URI without any ``user:password@`` part, for messages."""
    return re.sub(r"://[^@/]*@", "://", target)


def server_version(agent: str) -> tuple[int, ...]:
    """``Neo4j/5.26.0 compatible (ArcadeDB …)`` → (5, 26, 0)."""
    match = re.search(r"Neo4j/(\d+)\.(\d+)(?:\.(\d+))?", agent or "")
    return tuple(int(g) for g in match.groups() if g is not None) if match else ()


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GraphStore:
    """A connection to one graph database; all Cypher goes through here."""

    def __init__(self, driver: neo4j.Driver, backend: Backend, target: str) -> None:
        self.driver = driver
        self.backend = backend
        self.target = target

    @property
    def database(self) -> str | None:
        """The active database (for a local directory: the last successful build)."""
        return self.backend.database

    # -- sessions ---------------------------------------------------------------------------
    @contextmanager
    def _session(self, database: str | None = None, *, write: bool) -> Iterator[neo4j.Session]:
        name = database or self.database
        if name is None:
            raise StoreError(f"no graph has been built in {self.target} yet: run `aroma kg build` first")
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        try:
            with self.driver.session(database=name, default_access_mode=mode) as session:
                yield session
        except Neo4jError as exc:
            if exc.code == "Neo.ClientError.Database.DatabaseNotFound":
                raise StoreError(f"database {name!r} does not exist on {self.target}") from exc
            if not write and (exc.code in READ_ONLY_REFUSALS or "Forbidden" in (exc.code or "")):
                raise ReadOnlyViolation(f"{READ_ONLY_MESSAGE} (the server: {exc.message})") from exc
            raise StoreError(f"{exc.code}: {exc.message}") from exc
        except ServiceUnavailable as exc:
            raise StoreError(f"lost the connection to {self.target}: {exc}") from exc

    def run(self, text: str, params: dict[str, Any] | None = None, *, write: bool = False,
            database: str | None = None) -> QueryResult:
        """Run Cypher text. Without ``write`` a query that changes anything is rolled back and refused."""
        with self._session(database, write=write) as session:
            with session.begin_transaction() as tx:
                result = tx.run(text, params or {})
                columns = list(result.keys())
                rows = [{k: _plain(v) for k, v in record.items()} for record in result]
                summary = result.consume()
                changes = summary.counters.contains_updates or summary.counters.contains_system_updates
                if not write and (changes or summary.query_type in ("w", "rw", "s")):
                    tx.rollback()
                    raise ReadOnlyViolation(READ_ONLY_MESSAGE)
                tx.commit()
        return QueryResult(columns, rows, _counters(summary))

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named read query from ``aroma/cypher`` and return its rows."""
        with self._session(write=False) as session:
            return session.execute_read(lambda tx: [r.data() for r in tx.run(cypher.query(name), params)])

    def stream(self, name: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Rows of a named read query one at a time (for exports larger than memory)."""
        with self._session(write=False) as session:
            with session.begin_transaction() as tx:
                for record in tx.run(cypher.query(name), params):
                    yield {k: _plain(v) for k, v in record.items()}

    def write(self, name: str, database: str | None = None, **params: Any) -> dict[str, int]:
        """Run a named write query (or each statement of a multi-statement file) in its own transaction."""
        counters: dict[str, int] = {}
        with self._session(database, write=True) as session:
            for statement in cypher.statements(name):
                if _IN_TRANSACTIONS.search(statement):
                    summary = session.run(statement, params).consume()
                else:
                    summary = session.execute_write(lambda tx, s=statement: tx.run(s, params).consume())
                for key, value in _counters(summary).items():
                    counters[key] = counters.get(key, 0) + value
        return counters

    def load(self, name: str, rows: Sequence[dict[str, Any]], *, batch_size: int, database: str,
             advance: Callable[[int], None] = lambda n: None) -> None:
        """Load rows through a named ``UNWIND $rows`` query, one transaction per batch (retried when transient).

        A batch that fails is rolled back whole; the error says how many rows had been committed.
        """
        statement = cypher.query(name)
        done = 0
        try:
            with self._session(database, write=True) as session:
                for batch in batched(rows, batch_size):
                    session.execute_write(lambda tx, b=batch: tx.run(statement, rows=list(b)).consume())
                    done += len(batch)
                    advance(len(batch))
        except StoreError as exc:
            raise StoreError(f"{name}: batch failed after {done:,} of {len(rows):,} rows were committed "
                             f"(the failed batch was rolled back): {exc}") from exc

    def close(self) -> None:
        self.driver.close()
        self.backend.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(target: str | Path | None = None, *, user: str | None = None, password: str | None = None,
               database: str | None = None) -> GraphStore:
    """Open a Neo4j URI or a local ArcadeDB directory (started or reused here) as a ``GraphStore``."""
    target = str(target) if target is not None else default_target()
    if is_uri(target):
        auth = (user or os.environ.get("AROMA_NEO4J_USER", "neo4j"),
                password or os.environ.get("AROMA_NEO4J_PASSWORD", ""))
        driver = GraphDatabase.driver(target, auth=auth)
        backend: Backend = Neo4jBackend(database or "neo4j")
    else:
        server = LocalArcadeDB(Path(target)).start()
        try:
            driver = GraphDatabase.driver(server.bolt_uri, auth=server.auth)
        except Exception:
            server.stop()
            raise
        backend = LocalArcadeBackend(server)
    shown = redact(target)
    try:
        driver.verify_connectivity()
        version = server_version(driver.get_server_info().agent)
    except ServiceUnavailable as exc:
        backend.close()
        raise StoreError(f"cannot reach the graph database at {shown}: {exc}") from exc
    except AuthError as exc:
        backend.close()
        raise StoreError(f"authentication to {shown} failed: check --user/--password "
                         f"(or AROMA_NEO4J_USER/AROMA_NEO4J_PASSWORD)") from exc
    except ClientError as exc:
        backend.close()
        raise StoreError(f"{shown}: {exc.message}") from exc
    if version and version < MIN_SERVER_VERSION:
        backend.close()
        raise StoreError(f"{shown} runs Neo4j {'.'.join(map(str, version))}; aroma needs Neo4j 5 or newer")
    return GraphStore(driver, backend, shown)
