"""Child processes that tests signal: Ctrl-C reaches them however pytest was started, and none outlives its test.

A shell that ignores SIGINT (``nohup``, a background job, some CI runners) passes that on to every child, and
Python then never raises KeyboardInterrupt; so the children here get SIGINT's default disposition back before
they start. A test that fails half-way still stops its child (SIGINT, then SIGKILL), and with it the servers
the child holds (the local server's keeper stops its JVM once no process uses it; Neo4j's JVM dies with its
parent).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_TIMEOUT_S = 60


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def aroma(*args: str, **popen: Any) -> Iterator[subprocess.Popen]:
    """``python -m aroma.cli ARGS`` with SIGINT at its default, stopped at the end of the block if still running."""
    child = subprocess.Popen([sys.executable, "-m", "aroma.cli", *args], preexec_fn=_default_sigint, **popen)
    try:
        yield child
    finally:
        stop(child)


def stop(child: subprocess.Popen) -> None:
    """SIGINT, then SIGKILL after STOP_TIMEOUT_S; returns once the child has exited."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
