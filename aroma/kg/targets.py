"""Where a graph lives, told without the driver: a Neo4j URI, or a local directory (default ``~/.aroma/db``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

DB_ENV = "AROMA_DB"
DEFAULT_DB = Path("~/.aroma/db")
URI_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def default_target() -> str:
    return os.environ.get(DB_ENV) or str(DEFAULT_DB.expanduser())


def is_uri(target: str) -> bool:
    return target.startswith(URI_SCHEMES)


def split_credentials(target: str) -> tuple[str, str | None, str | None]:
    """``bolt://user:secret@host`` → (``bolt://host``, user, secret); other targets unchanged."""
    match = re.match(r"^([a-z0-9+]+://)([^@/]*)@(.*)$", target, flags=re.I)
    if not match:
        return target, None, None
    user, _, password = match.group(2).partition(":")
    return match.group(1) + match.group(3), unquote(user) or None, unquote(password) or None


def local_directory(target: str | Path | None) -> Path | None:
    """The local database directory ``target`` names (the default when None); None for a URI."""
    target = str(target) if target is not None else default_target()
    return None if is_uri(split_credentials(target)[0]) else Path(target).expanduser()
