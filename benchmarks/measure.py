"""Figures the benchmark scripts share: bytes on disk and peak resident memory (Linux)."""

from __future__ import annotations

import resource
from pathlib import Path


def disk_bytes(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb(children: bool = False) -> int:
    """Peak resident memory in MB of this process, or of its largest finished or waited-for child."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024)  # Linux reports kilobytes


def process_peak_rss_mb(pid: int) -> int | None:
    """Peak resident memory in MB of a running process (``VmHWM``), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None
