"""Keeping a long-running process's resident memory to what it holds (glibc malloc).

Snapshots and retention's compactions allocate and free tens of megabytes at a time.
glibc serves allocations above its mmap threshold with mmap and returns them on free, but
it raises that threshold to the size of each such block freed (up to 32 MiB): from then on
blocks that large come from the heap, and a fragmented heap keeps the freed memory
resident. A server that runs for months would keep its largest transient peaks. Fixing the
threshold keeps large blocks mmap'd; ``trim`` hands freed heap memory back after a peak.
Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
"""mallopt parameter (malloc.h)."""


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 - glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def fix_mmap_threshold(size: int = 1 << 20) -> bool:
    """Serve blocks of ``size`` bytes and more with mmap, always (no dynamic threshold)."""
    return _LIBC is not None and bool(_LIBC.mallopt(M_MMAP_THRESHOLD, size))


def trim() -> None:
    """Return freed heap memory to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
