"""The graph store: one code path, the official ``neo4j`` driver speaking Neo4j 5 Cypher over Bolt.

``open_store(target)`` accepts a Neo4j URI (``bolt://``, ``neo4j://``, ``neo4j+s://`` …) or a
local directory, for which the toolkit starts (or reuses) an ArcadeDB server itself.
"""

from __future__ import annotations

import shutil

import os
import re
import warnings
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, contextmanager, nullcontext
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, DriverError, Neo4jError, ServiceUnavailable

from aroma import cypher
from aroma.errors import ReadOnlyViolation, StoreError
from aroma.errors import redact as redact_uris
from aroma.kg.arcadedb import LOCKOUT_S, NOTIFICATIONS_REPORTED, LocalArcadeDB, administers, has_graph, is_arcadedb
from aroma.kg.cypher_text import return_columns, schema_names
from aroma.kg.readonly import local_file_load, require_read_only
from aroma.kg.targets import default_target, is_uri, split_credentials

MIN_SERVER_VERSION = (5,)
# The server refusing a change in a read-only session: Neo4j in a read transaction ("Writing in read access mode
# not allowed"), ArcadeDB for an account without the right (Neo.ClientError.Security.Forbidden).
READ_ONLY_REFUSALS = ("Neo.ClientError.Statement.AccessMode", "Neo.ClientError.Security.Forbidden")
READ_ONLY_MESSAGE = "refused by the server: read-only queries may not change the graph, its schema or its users"
# `CALL { … } IN TRANSACTIONS` commits its own batches: Neo4j runs it only in an auto-commit transaction.
_IN_TRANSACTIONS = re.compile(r"\bIN\s+(?:\d+\s+CONCURRENT\s+)?TRANSACTIONS\b", re.IGNORECASE)


@dataclass
class QueryResult:
    """Rows of a query with their column order and what the query changed."""

    columns: list[str]
    rows: list[dict[str, Any]]
    counters: dict[str, int] = field(default_factory=dict)
    notifications: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, asked by the build and the query path instead of checking its class."""

    staging_databases: bool  # a build loads a new database and swaps it in; else it clears one in place
    bulk_import: bool  # a fresh staging database can be loaded by the database's importer (``Backend.bulk_import``)
    reports_notifications: bool = True  # warnings for unknown labels, types and properties


class Backend(ABC):
    """Where a build writes and how it becomes the active graph (the build-then-swap protocol)."""

    capabilities: Capabilities

    @property
    @abstractmethod
    def database(self) -> str | None:
        """The active database (None: nothing built yet)."""

    @property
    def reports_notifications(self) -> bool:
        return self.capabilities.reports_notifications

    @abstractmethod
    def staging(self) -> str:
        """The database a build loads into."""

    @abstractmethod
    def promote(self, staging: str) -> None:
        """Make a loaded staging database the active graph."""

    @abstractmethod
    def discard(self, staging: str) -> None:
        """Drop what a failed build loaded, where that is possible."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Held from staging to swap: one build at a time."""
        return nullcontext()

    def import_directory(self) -> Path:
        """Where bulk-import files are written (``capabilities.bulk_import`` only)."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk import")

    def bulk_import(self, database: str, config: Path) -> dict[str, int]:
        """Load the files that ``config`` names (``aroma.kg.graph_import``) into the fresh ``database``; return
        what was created (``vertices``, ``edges``). Only where ``capabilities.bulk_import``."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk import")

    def clean_leftovers(self) -> None:
        """At the start of any command: remove what a killed build left behind."""

    def close(self) -> None:
        pass


class LocalArcadeBackend(Backend):
    """Builds go into a fresh ArcadeDB database; the ``current`` pointer swaps only on success."""

    capabilities = Capabilities(staging_databases=True, bulk_import=True, reports_notifications=NOTIFICATIONS_REPORTED)

    def __init__(self, server: LocalArcadeDB) -> None:
        self.server = server

    @property
    def database(self) -> str | None:
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

    def exclusive(self) -> AbstractContextManager[None]:
        return self.server.build_lock()

    def import_directory(self) -> Path:
        return self.server.import_directory

    def bulk_import(self, database: str, config: Path) -> dict[str, int]:
        return self.server.graph_import(database, config)

    def _drop_leftovers(self) -> None:
        """Drop staging databases of builds that were killed before they could clean up (build lock held)."""
        for name in self.server.databases():
            if name.startswith("aroma_") and name != self.server.current:
                self.server.drop_database(name)
        for leftover in self.server.import_directory.glob("*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def clean_leftovers(self) -> None:
        """At the start of any command: drop what a killed build left, unless a build is running."""
        current = self.server.current
        if not any(n.startswith("aroma_") and n != current for n in self.server.databases()):
            return
        try:
            with self.server.build_lock():
                self._drop_leftovers()
        except StoreError:
            pass  # a build is running: its staging database is not a leftover

    def close(self) -> None:
        self.server.stop()


class Neo4jBackend(Backend):
    """A Neo4j server (single instance, cluster or Aura): builds write into the named database in place
    (cleared first); no bulk import over the network (``neo4j-admin`` needs the server's own disk)."""

    capabilities = Capabilities(staging_databases=False, bulk_import=False)

    def __init__(self, database: str) -> None:
        self._database = database

    @property
    def database(self) -> str | None:
        return self._database

    def staging(self) -> str:
        return self._database

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


def _notifications(summary: neo4j.ResultSummary) -> list[str]:
    """The server's warnings about a query (unknown label, type or property …), one line each."""
    lines: list[str] = []
    with warnings.catch_warnings():  # the driver prefers gql_status_objects, which ArcadeDB does not fill
        warnings.simplefilter("ignore", DeprecationWarning)
        notes = summary.notifications or []
    for note in notes:
        title, description = note.get("title", ""), note.get("description", "")
        text = f"{title}: {description}" if title and description else (title or description)
        if text and text not in lines:
            lines.append(text)
    return lines


def redact(target: str) -> str:
    """A URI without any ``user:password@`` part, for messages."""
    return redact_uris(target)


def redact_text(text: str, secrets: Sequence[str] = ()) -> str:
    """A message with credentials in URIs, and each of ``secrets``, removed."""
    text = redact(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def server_version(agent: str) -> tuple[int, ...]:
    """``Neo4j/5.26.0 compatible (ArcadeDB …)`` → (5, 26, 0)."""
    match = re.search(r"Neo4j/(\d+)\.(\d+)(?:\.(\d+))?", agent or "")
    return tuple(int(g) for g in match.groups() if g is not None) if match else ()


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GraphStore:
    """A connection to one graph database; all Cypher goes through here."""

    local_server: LocalArcadeDB | None = None  # the server of a local directory (None for a URI)
    agent: str = ""  # what the server calls itself ("Neo4j/5.26.0", "Neo4j/5.26.0 compatible (ArcadeDB …)")

    def __init__(self, driver: neo4j.Driver, backend: Backend, target: str, *, read_only: bool = False,
                 read_login: Callable[[], neo4j.Driver] | None = None) -> None:
        self.driver = driver
        self.backend = backend
        self.target = target
        self.read_only = read_only  # opened for reading only: ``run(write=True)`` is refused
        self._read_login = read_login  # a login the server forbids to write (the local server's reader account)
        self._reader: neo4j.Driver | None = None

    @property
    def database(self) -> str | None:
        """The active database (for a local directory: the last successful build)."""
        return self.backend.database

    # -- sessions ---------------------------------------------------------------------------
    def _read_only_driver(self) -> neo4j.Driver:
        """Where text without ``write`` runs, so that the server itself refuses any change: the local server's
        read-only account, or this login's read transactions, which Neo4j refuses to write in. ArcadeDB does not
        refuse writes in read transactions, so there the login must not be one that may administer the server."""
        if self._reader is None:
            if self._read_login is not None:
                self._reader = self._read_login()
            elif is_arcadedb(self.agent) and administers(self.driver, self.database):
                raise ReadOnlyViolation(
                    f"{self.target} is ArcadeDB, which does not refuse writes in read transactions, and this account "
                    "administers it: log in as an account that may only read (`aroma kg serve` makes `reader`, its "
                    "password in DIR/reader-credentials.json), or pass --write")
            else:
                self._reader = self.driver
        return self._reader

    @contextmanager
    def _session(self, database: str | None = None, *, write: bool,
                 driver: neo4j.Driver | None = None) -> Iterator[neo4j.Session]:
        name = database or self.database
        if name is None:
            raise StoreError(_no_graph_message(Path(self.target)) if not is_uri(self.target)
                             else f"no database selected on {self.target}")
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        driver = driver or self.driver
        try:
            # One bookmark manager for every session: on a cluster a read routed to a secondary waits for this
            # store's own earlier writes (causal consistency); on a single server it changes nothing.
            with driver.session(database=name, default_access_mode=mode,
                                bookmark_manager=self.driver.execute_query_bookmark_manager) as session:
                yield session
        except Neo4jError as exc:
            if exc.code == "Neo.ClientError.Database.DatabaseNotFound":
                raise StoreError(f"database {name!r} does not exist on {self.target}") from exc
            if not write and exc.code in READ_ONLY_REFUSALS:
                raise ReadOnlyViolation(f"{READ_ONLY_MESSAGE} ({exc.message}); nothing was changed; "
                                        "pass --write to allow it") from exc
            raise StoreError(f"{exc.code}: {exc.message}") from exc
        except ServiceUnavailable as exc:
            raise StoreError(f"lost the connection to {self.target}: {exc}") from exc

    def run(self, text: str, params: dict[str, Any] | None = None, *, write: bool = False,
            database: str | None = None, allow_file_urls: bool = False, early_check: bool = True) -> QueryResult:
        """Run Cypher text. Without ``write`` the server refuses any change (``_read_only_driver``); before that,
        ``early_check`` refuses the obvious writes with a friendlier message (``aroma.kg.readonly``, never the
        barrier). ``LOAD CSV`` from a local file is refused unless ``allow_file_urls``."""
        params = params or {}
        if not allow_file_urls and (reason := local_file_load(text, params)):
            raise ReadOnlyViolation(f"refused before running: this query {reason}; "
                                    "pass --allow-file-urls to let the server read it")
        if write and self.read_only:
            raise ReadOnlyViolation(f"{self.target} was opened read-only; pass --write to change it")
        if not write and early_check:
            require_read_only(text, params, allow_file_urls=True)
        driver = None if write else self._read_only_driver()
        with self._session(database, write=write, driver=driver) as session:
            with session.begin_transaction() as tx:
                result = tx.run(text, params)
                columns = list(result.keys())
                rows = [{k: _plain(v) for k, v in record.items()} for record in result]
                summary = result.consume()
                changes = summary.counters.contains_updates or summary.counters.contains_system_updates
                if not write and changes:
                    tx.rollback()
                    raise ReadOnlyViolation(READ_ONLY_MESSAGE)
                tx.commit()
        notes = _notifications(summary)
        if not rows:
            columns = columns or return_columns(text)  # some engines name no columns for an empty result
            if not notes and not self.backend.reports_notifications:
                notes = self._unknown_names(text, database)
        return QueryResult(columns, rows, _counters(summary), notes)

    def _unknown_names(self, text: str, database: str | None) -> list[str]:
        """Warnings like Neo4j's for labels, relationship types and property keys the graph does not have."""
        mentioned = schema_names(text)
        known = {
            "label": ({r["label"] for r in self._read_in("stats/labels", database)}, mentioned.labels),
            "relationship type": ({r["type"] for r in self._read_in("stats/relationship_types", database)},
                                  mentioned.types),
            "property key": ({r["key"] for r in self._read_in("stats/property_keys", database)} if mentioned.properties
                             else set(), mentioned.properties),
        }
        return [f"warning: the {kind} `{name}` is not in the database" for kind, (have, used) in known.items()
                for name in sorted(used - have)]

    def _read_in(self, name: str, database: str | None) -> list[dict[str, Any]]:
        with self._session(database, write=False) as session:
            return session.execute_read(lambda tx: [r.data() for r in tx.run(cypher.query(name))])

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
        self.load_batches(name, batched(rows, batch_size), total=len(rows), database=database, advance=advance)

    def load_batches(self, name: str, batches: Iterable[Sequence[dict[str, Any]]], *, total: int, database: str,
                     advance: Callable[[int], None] = lambda n: None) -> None:
        """``load`` for rows made batch by batch (only one batch exists at a time)."""
        statement = cypher.query(name)
        done = 0
        try:
            with self._session(database, write=True) as session:
                for batch in batches:
                    session.execute_write(lambda tx, b=batch: tx.run(statement, rows=list(b)).consume())
                    done += len(batch)
                    advance(len(batch))
        except StoreError as exc:
            raise StoreError(f"{name}: batch failed after {done:,} of {total:,} rows were committed "
                             f"(the failed batch was rolled back): {exc}") from exc

    def close(self) -> None:
        if self._reader is not None and self._reader is not self.driver:
            self._reader.close()
        self.driver.close()
        self.backend.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _no_graph_message(directory: Path) -> str:
    return f"no graph has been built in {directory} yet: run `aroma kg build --db {directory}` first"


def open_store(target: str | Path | None = None, *, user: str | None = None, password: str | None = None,
               database: str | None = None, create: bool = True, bolt_port: int | None = None,
               read_only: bool = False) -> GraphStore:
    """Open a Neo4j URI or a local ArcadeDB directory (started or reused here) as a ``GraphStore``.

    ``bolt_port`` chooses the port of a local server this call starts (default: any free one).
    ``read_only`` logs in to a local server as its read-only account (root is not used at all) and refuses writes.

    With ``create=False`` a local directory without a built graph is an error, and nothing (no
    directory, credentials or server) is created: read-only commands open stores this way.
    """
    target = str(target) if target is not None else default_target()
    target, uri_user, uri_password = split_credentials(target)
    user, password = user or uri_user, password or uri_password
    secrets_shown = [p for p in (password,) if p]
    server: LocalArcadeDB | None = None
    read_login: Callable[[], neo4j.Driver] | None = None
    try:
        if is_uri(target):
            auth = (user or os.environ.get("AROMA_NEO4J_USER", "neo4j"),
                    password or os.environ.get("AROMA_NEO4J_PASSWORD", ""))
            secrets_shown.append(auth[1])
            driver = GraphDatabase.driver(target, auth=auth)
            backend: Backend = Neo4jBackend(database or "neo4j")
        else:
            directory = Path(target).expanduser()
            if directory.exists() and not directory.is_dir():
                raise StoreError(f"{directory} is a file, not a database directory: give --db a directory (a new "
                                 "one for a first build) or a bolt:// URI")
            if not create and not has_graph(directory):
                raise StoreError(_no_graph_message(directory))
            server = LocalArcadeDB(directory).start(bolt_port)
            uri, reader = server.bolt_uri, server.reader_auth
            try:
                driver = GraphDatabase.driver(uri, auth=reader if read_only else server.auth)
            except Exception:
                server.stop()
                raise
            backend = LocalArcadeBackend(server)
            read_login = (lambda: driver) if read_only else (lambda: GraphDatabase.driver(uri, auth=reader))
    except StoreError:
        raise
    except Exception as exc:  # the driver rejects a malformed URI or option
        raise StoreError(redact_text(f"cannot open {redact(target)}: {exc}", secrets_shown)) from None
    shown = redact(target)
    try:
        driver.verify_connectivity()
        agent = driver.get_server_info().agent
        version = server_version(agent)
    except ServiceUnavailable as exc:
        backend.close()
        raise StoreError(redact_text(f"cannot reach the graph database at {shown}: {exc}", secrets_shown)) from None
    except AuthError:
        locked = server is not None and server.account_locked()
        backend.close()
        if locked:
            raise StoreError(f"the root account of the local server in {shown} is locked after too many failed "
                             f"logins; try again in about {LOCKOUT_S} s") from None
        if server is not None and read_only:
            raise StoreError(f"the local server in {shown} refused its read-only account: it was started by an "
                             "older aroma, without one; let the commands using it (or `kg serve`) finish, then try "
                             "again") from None
        raise StoreError(f"authentication to {shown} failed: check --user/--password "
                         f"(or AROMA_NEO4J_USER/AROMA_NEO4J_PASSWORD); an account may also be locked for a "
                         f"while after repeated failed logins") from None
    except (ClientError, DriverError, OSError, ValueError) as exc:
        backend.close()
        message = exc.message if isinstance(exc, ClientError) else str(exc)
        raise StoreError(redact_text(f"{shown}: {message}", secrets_shown)) from None
    if version and version < MIN_SERVER_VERSION:
        backend.close()
        raise StoreError(f"{shown} runs Neo4j {'.'.join(map(str, version))}; aroma needs Neo4j 5 or newer")
    backend.clean_leftovers()
    store = GraphStore(driver, backend, shown, read_only=read_only, read_login=read_login)
    store.local_server, store.agent = server, agent
    return store
