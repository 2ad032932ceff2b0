"""The Java heap of the graph servers the toolkit starts, sized from the machine unless set.

Default: a quarter of the memory this process may use (the machine's, or a smaller cgroup limit), at
least 1 GiB and at most 8 GiB. ``AROMA_ARCADEDB_HEAP`` / ``AROMA_NEO4J_HEAP`` (e.g. ``6g``, ``512m``)
override it for the local ArcadeDB server and the local Neo4j; a server already running keeps its heap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from aroma.errors import AromaError

SHARE = 0.25
FLOOR_MB = 1024
CAP_MB = 8192
_SIZE = re.compile(r"^\d+[kKmMgG]?$")


def memory_bytes() -> int:
    """Physical memory, or the cgroup's limit when that is smaller."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            value = limit.read_text().strip()
        except OSError:
            continue
        if value.isdigit() and 0 < int(value) < total:
            total = int(value)
    return total


def default_heap(total_bytes: int | None = None) -> str:
    """``-Xmx`` value: SHARE of the memory, clamped to [FLOOR_MB, CAP_MB]."""
    total_mb = (memory_bytes() if total_bytes is None else total_bytes) // 2**20
    return f"{int(min(CAP_MB, max(FLOOR_MB, total_mb * SHARE)))}m"


def server_heap(env: str) -> str:
    """The heap for a server: ``$env`` when set (checked), else ``default_heap()``."""
    value = os.environ.get(env, "").strip()
    if not value:
        return default_heap()
    if not _SIZE.match(value):
        raise AromaError(f"{env}={value!r} is not a Java heap size (e.g. 4g, 512m)")
    return value
