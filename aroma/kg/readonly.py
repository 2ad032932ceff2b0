"""A friendly early refusal of Cypher text that obviously writes, before it is sent to a server.

This is not what keeps ``aroma cypher`` read-only: the server is (``GraphStore.run`` runs text without ``--write``
as the local server's read-only account, or in Neo4j's read transactions, and the server refuses any change).
It only names the clause that writes — from Cypher's tokens: string literals, comments and backtick-quoted names
are never read as keywords — without a round trip, and keeps ``LOAD CSV`` from local files behind its own flag.
Where it errs, the server still refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aroma.errors import ReadOnlyViolation
from aroma.kg.cypher_text import Token, UntokenizableQuery, statements as _statements, tokenize

# Reserved words that change data, schema, users, roles or databases wherever they appear as keywords.
WRITE_KEYWORDS = {
    "CREATE": "write", "MERGE": "write", "SET": "write", "DELETE": "write", "DETACH": "write",
    "REMOVE": "write", "FOREACH": "write", "INSERT": "write",
    "DROP": "schema",
    "ALTER": "admin", "GRANT": "admin", "DENY": "admin", "REVOKE": "admin", "RENAME": "admin",
    "TERMINATE": "admin", "DEALLOCATE": "admin", "REALLOCATE": "admin",
}
# Keyword pairs that administer servers or databases ("START DATABASE x").
SCHEMA_OBJECTS = {"INDEX", "CONSTRAINT", "FULLTEXT", "TEXT", "RANGE", "POINT", "VECTOR", "LOOKUP", "BTREE"}
ADMIN_OBJECTS = {"USER", "ROLE", "DATABASE", "ALIAS", "COMPOSITE", "SERVER", "CURRENT", "OR", "PRIVILEGE"}
ADMIN_PAIRS = {("START", "DATABASE"), ("STOP", "DATABASE"), ("ENABLE", "SERVER"), ("DISABLE", "SERVER")}
# What a statement may begin with (after EXPLAIN / PROFILE / CYPHER options).
READ_STARTS = {"MATCH", "OPTIONAL", "UNWIND", "WITH", "RETURN", "CALL", "SHOW", "USE", "LOAD", "FINISH",
               "EXPLAIN", "PROFILE", "CYPHER"}
# Procedures known to only read (compared in lower case).
READ_PROCEDURES = {
    "db.labels", "db.relationshiptypes", "db.propertykeys", "db.indexes", "db.constraints", "db.info", "db.ping",
    "db.schema.visualization", "db.schema.nodetypeproperties", "db.schema.reltypeproperties",
    "dbms.components", "dbms.procedures", "dbms.functions", "dbms.showcurrentuser", "db.awaitindex",
    "db.awaitindexes",
}
SAFE_URL_SCHEMES = ("http://", "https://")
SHOWN_CHARS = 60


@dataclass(frozen=True)
class Classification:
    """``mode`` is read, write, schema, admin or unknown; ``reason`` names what decided it."""

    mode: str
    reason: str = ""

    @property
    def is_read(self) -> bool:
        return self.mode == "read"


def _keyword(tokens: list[Token], index: int) -> str | None:
    """The upper-case keyword at ``index``, or None where the word is a label, type, property or map key."""
    token = tokens[index]
    if token.kind != "word":
        return None
    previous = tokens[index - 1].text if index > 0 and tokens[index - 1].kind == "punct" else ""
    following = tokens[index + 1].text if index + 1 < len(tokens) and tokens[index + 1].kind == "punct" else ""
    if previous in (".", ":", "|", "&", "!") or following == ":":
        return None
    return token.text.upper()


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _procedure(tokens: list[Token], index: int) -> str | None:
    """The dotted procedure name after CALL at ``index``, or None for a ``CALL { … }`` subquery."""
    parts: list[str] = []
    j = index + 1
    while j < len(tokens):
        token = tokens[j]
        if token.kind in ("word", "quoted") and (not parts or tokens[j - 1].text == "."):
            parts.append(token.text)
        elif token.kind == "punct" and token.text == "." and parts:
            pass
        else:
            break
        j += 1
    return ".".join(parts) if parts else None


def _load_csv_url(tokens: list[Token], index: int, params: Mapping[str, Any]) -> str | None:
    """The URL of the LOAD CSV at ``index`` when it is one literal or parameter, else None."""
    j = index
    while j < len(tokens) and _keyword(tokens, j) != "FROM":
        j += 1
    source: list[Token] = []
    j += 1
    while j < len(tokens) and _keyword(tokens, j) != "AS":
        source.append(tokens[j])
        j += 1
    if len(source) != 1:
        return None
    if source[0].kind == "string":
        return source[0].text
    if source[0].kind == "param" and isinstance(params.get(source[0].text), str):
        return params[source[0].text]
    return None


def _classify_tokens(tokens: list[Token]) -> Classification:
    statements = _statements(tokens)
    if not statements:
        return Classification("unknown", "is empty")
    for statement in statements:
        for index in range(len(statement)):
            keyword = _keyword(statement, index)
            if keyword is None:
                continue
            following = _keyword(statement, index + 1) if index + 1 < len(statement) else None
            if keyword in WRITE_KEYWORDS:
                mode = WRITE_KEYWORDS[keyword]
                if following in SCHEMA_OBJECTS:
                    mode = "schema"
                elif following in ADMIN_OBJECTS:
                    mode = "admin"
                shown = f"{keyword} {following}" if keyword in ("CREATE", "DROP", "ALTER") and following else keyword
                return Classification(mode, f"uses {shown}")
            if (keyword, following) in ADMIN_PAIRS:
                return Classification("admin", f"uses {keyword} {following}")
            if keyword == "CALL":
                name = _procedure(statement, index)
                if name is not None and name.lower() not in READ_PROCEDURES:
                    return Classification("unknown", f"calls procedure {_shown(name)!r}, not known to be read-only")
        first = next((t for t in statement if t.kind == "word"), None)
        if first is None or first.text.upper() not in READ_STARTS:
            return Classification("unknown", f"begins with {_shown(first.text if first else statement[0].text)!r}, "
                                             "not a read clause")
    return Classification("read")


def classify(text: str, params: Mapping[str, Any] | None = None, *, allow_file_urls: bool = False) -> Classification:
    """Whether Cypher ``text`` only reads; decided from its tokens, before anything runs.

    Text with backslashes is also read as an engine without string escapes would read it, and
    must be read-only both ways.
    """
    params = params or {}
    try:
        tokens = tokenize(text)
    except UntokenizableQuery as exc:
        return Classification("unknown", f"cannot be checked ({exc})")
    if not allow_file_urls and (reason := local_file_load(text, params)):
        return Classification("file", reason)
    verdict = _classify_tokens(tokens)
    if verdict.is_read and "\\" in text:
        try:
            literal = tokenize(text, escapes=False)
        except UntokenizableQuery:
            return verdict  # read that way the text is not even valid Cypher
        other = _classify_tokens(literal)
        if not other.is_read:
            return Classification(other.mode, other.reason + " (when backslashes in strings are read literally)")
    return verdict


def local_file_load(text: str, params: Mapping[str, Any] | None = None) -> str | None:
    """Why ``text`` would make the server read a local file (``LOAD CSV FROM 'file:///…'``), or None."""
    try:
        tokens = tokenize(text)
    except UntokenizableQuery:
        return None  # classify() refuses such text in read-only mode; the server rejects it otherwise
    for statement in _statements(tokens):
        for index in range(len(statement) - 1):
            if _keyword(statement, index) == "LOAD" and _keyword(statement, index + 1) == "CSV":
                url = _load_csv_url(statement, index, params or {})
                if url is None:
                    return "loads CSV from a computed URL, which may name a local file"
                if not url.lower().startswith(SAFE_URL_SCHEMES):
                    return f"loads CSV from {_shown(url)!r}, a local file"
    return None


def require_read_only(text: str, params: Mapping[str, Any] | None = None, *, allow_file_urls: bool = False) -> None:
    """Raise ``ReadOnlyViolation`` unless ``text`` only reads; nothing is sent to a server either way."""
    verdict = classify(text, params, allow_file_urls=allow_file_urls)
    if verdict.is_read:
        return
    if verdict.mode == "file":
        raise ReadOnlyViolation(f"refused before running: this query {verdict.reason}; "
                                "pass --allow-file-urls to let the server read it")
    kinds = {"write": "changes data", "schema": "changes the schema", "admin": "administers users or databases",
             "unknown": "is not provably read-only"}
    raise ReadOnlyViolation(f"refused before running (nothing was sent to the server): this query "
                            f"{verdict.reason} and {kinds[verdict.mode]}; pass --write to allow it")
