"""Resident memory of long CPU jobs: freed blocks handed back to the system at once (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
RETURNED_ABOVE = 128 * 1024  # bytes: larger blocks are mapped on their own and unmapped when freed


def return_freed_memory() -> bool:
    """Training frees and reallocates activations of changing sizes every step; glibc keeps such blocks by default
    and a process's resident memory climbs to about twice what is live (SmolLM2 at batch 8: 4.4 GB instead of
    2.5 GB). Large blocks are then mapped on their own and returned when freed. False where glibc is not found."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, RETURNED_ABOVE)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                           RETURNED_ABOVE))
    except (OSError, AttributeError):
        return False
