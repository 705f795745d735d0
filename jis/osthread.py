"""The calling thread's name as the kernel shows it (``top -H``, ``ps -L``, /proc/PID/task/TID/comm).

Python's thread names stay inside the interpreter; an operator looking at which thread of
the server burns CPU sees the process name on every thread unless the thread names itself.
Linux only (``prctl(PR_SET_NAME)``, 15 bytes); elsewhere, and on any failure, nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

PR_SET_NAME = 15

_libc: ctypes.CDLL | None = None
if sys.platform == "linux":
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        _libc = None


def name_this_thread(name: str) -> None:
    """Give the calling OS thread ``name`` (truncated to the kernel's 15 bytes)."""
    if _libc is not None:
        _libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
