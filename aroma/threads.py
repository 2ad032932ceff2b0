"""CPU thread counts for torch: one busy core must not make every op wait on an oversubscribed thread pool.

Torch defaults to one thread per core. Two such processes on a 2-core machine spin against each other
(OpenMP threads busy-wait at every parallel region): an epoch measured 20× slower. By default the toolkit
uses the cores that are free now: cores minus those busy over a quarter of a second (sampled when the load average
says any are), at least 1. The 1-minute load average alone still counts a command that has just ended: after
``aroma kg build`` it left ``aroma bench`` one thread of two. ``--threads`` or ``AROMA_THREADS`` set the count,
and an explicit ``OMP_NUM_THREADS`` is respected.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

THREADS_ENV = "AROMA_THREADS"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all cores since boot, from ``/proc/stat`` (None where there is none)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and waiting on I/O
    return sum(ticks[:8]) - idle, sum(ticks[:8])  # guest time is already counted in user time


def busy_cores(interval: float = 0.25) -> float:
    """How many cores other work keeps busy now, sampled over ``interval`` seconds (the 1-minute load average where
    ``/proc/stat`` is missing)."""
    first = _cpu_times()
    if first is None:
        return _load_average()
    time.sleep(interval)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return 0.0
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def default_threads() -> int:
    """Cores not already busy: the cores this process may use less those busy now, at least one."""
    cores = available_cores()
    busy = round(_load_average()) and round(busy_cores())  # a quiet machine answers at once
    return max(1, min(cores, cores - busy))


def choose_threads(requested: int | None = None) -> int:
    """``requested``, else ``$AROMA_THREADS``, else ``$OMP_NUM_THREADS``, else the free cores."""
    for value, name in ((requested, "--threads"), (os.environ.get(THREADS_ENV), THREADS_ENV),
                        (os.environ.get("OMP_NUM_THREADS"), "OMP_NUM_THREADS")):
        if value in (None, ""):
            continue
        try:
            count = int(value)
        except ValueError:
            from aroma.errors import AromaError

            raise AromaError(f"{name}={value!r} is not a number of threads") from None
        if count < 1:
            from aroma.errors import AromaError

            raise AromaError(f"{name}={value!r}: need at least 1 thread")
        return count
    return default_threads()


def configure_threads(requested: int | None = None) -> int:
    """Set the thread count for torch (and OpenMP/BLAS libraries loaded later); returns it.

    Call before torch is imported when possible: the environment variables then also bound the
    thread pools of the BLAS and OpenMP runtimes torch loads."""
    import sys

    count = choose_threads(requested)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(count)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep instead of spinning
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(count)
    return count
