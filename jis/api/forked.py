"""Run a function in a forked copy of this process, within CPU, memory and time limits.

What a what-if needs: a copy of the engine's state as it is, taken in milliseconds on the
engine thread (``fork``: the pages are shared copy-on-write, whatever the state's size),
worked on by a process of its own (no GIL shared with live ingest; real limits, enforced
by the kernel), whose only way out is the bytes it returns through a pipe.

The child runs nothing but the function: it closes every inherited file descriptor but
the pipe (the gRPC port, the store, the data dir's lock stay the parent's alone), resets
the signal handlers, turns the cyclic garbage collector off (it could finalize objects of
the parent's other threads), dies with its parent, and leaves with ``os._exit`` (no
atexit, no buffers flushed twice). It never touches gRPC, the store or the event loop,
which it inherited in whatever state other threads left them; gRPC's own fork handlers are
off (``GRPC_ENABLE_FORK_SUPPORT=0``, set in jis/__init__.py). If the child still hangs, the
parent's wall-clock deadline kills it.

Limits, in the child: ``RLIMIT_CPU`` (SIGXCPU past the budget, SIGKILL a second later) and
``RLIMIT_AS`` (the address space it has at the fork, plus the memory budget: an allocation
beyond fails with MemoryError). Pages of the shared state the child writes to are copied
without counting against ``RLIMIT_AS``; its ``oom_score_adj`` of 1000 makes it, not the
server, what the kernel kills if the machine runs out of memory. Linux is where the server
runs; ``prctl``, ``/proc/self/statm`` and ``/proc/self/oom_score_adj`` are used when present.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import math
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from jis.errors import DomainError, ResourceExhausted

PR_SET_PDEATHSIG = 1
_ERROR_CLASSES = {cls.code_name: cls for cls in DomainError.__subclasses__()}


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_s: float
    memory_bytes: int
    wall_s: float
    """The parent kills the child after this long, whatever it is doing."""
    max_bytes: int = 1 << 62
    """The most the child may answer: a larger answer is refused in the child (the parent
    never holds it) with ResourceExhausted naming ``horizon``."""


class Child:
    """A forked child: its pid, the read end of its pipe, and whether it has been reaped
    (after which its pid is no longer ours to signal)."""

    __slots__ = ("fd", "limits", "pid", "reaped")

    def __init__(self, pid: int, fd: int, limits: Limits) -> None:
        self.pid = pid
        self.fd = fd
        self.limits = limits
        self.reaped = False


def spawn(fn: Callable[[], bytes], limits: Limits) -> Child:
    """Fork; the child returns ``fn()``'s bytes (or the DomainError it raised) and exits.
    Call on the thread whose view of the state the child should have. When no process can
    be made (out of file descriptors, processes or memory), ResourceExhausted."""
    parent = os.getpid()
    try:
        r, w = os.pipe()
    except OSError as exc:
        raise ResourceExhausted("", f"cannot start a what-if: {exc.strerror}; retry later") from None
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(r)
        os.close(w)
        raise ResourceExhausted("", f"cannot start a what-if: {exc.strerror}; retry later") from None
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.close(r)
            _become_child(w, limits, parent)
            out = _run(fn, limits)
            _write_all(w, out)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return Child(pid, r, limits)


def collect(child: Child) -> bytes:
    """Blocking: the child's bytes, once it has exited. The DomainError it raised is raised
    here; past its CPU budget or wall-clock deadline, ResourceExhausted; RuntimeError if it
    died otherwise. The child is reaped whatever happens."""
    deadline = time.monotonic() + child.limits.wall_s
    chunks: list[bytes] = []
    size = 0
    stopped = ""
    poller = select.poll()  # any fd number (select() stops at 1023)
    poller.register(child.fd, select.POLLIN | select.POLLHUP)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = f"the what-if took longer than {child.limits.wall_s:g} s and was stopped"
                break
            if not poller.poll(min(left, 1.0) * 1000):
                continue
            chunk = os.read(child.fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > child.limits.max_bytes + 4096:  # the child checks; this is a backstop
                stopped = "the what-if's answer is larger than a message may be"
                break
            chunks.append(chunk)
    finally:
        if stopped or sys.exc_info()[0] is not None:
            kill(child)
        os.close(child.fd)
        _, status = os.waitpid(child.pid, 0)
        child.reaped = True
    if stopped:
        raise ResourceExhausted("", stopped)
    data = b"".join(chunks)
    chunks.clear()
    exited = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if exited and data[:1] == b"\x00":
        return data[1:]
    if exited and data[:1] == b"\x01":
        code, field, message = json.loads(data[1:])
        cls = _ERROR_CLASSES.get(code)
        if cls is None:
            raise RuntimeError(f"the what-if process failed: {message}")
        raise cls(field, message)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        raise ResourceExhausted("", f"the what-if took more than its CPU budget of {child.limits.cpu_s:g} s")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        raise ResourceExhausted(
            "", "the what-if process was killed (its CPU budget, or the machine out of memory)"
        )
    raise RuntimeError(f"the what-if process ended without an answer (wait status {status})")


def kill(child: Child) -> None:
    if child.reaped:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGKILL)


def discard(child: Child) -> None:
    """Kill a child nobody will read, and reap it (blocking, briefly)."""
    kill(child)
    with contextlib.suppress(Exception):
        collect(child)


def _become_child(w: int, limits: Limits, parent: int) -> None:
    gc.disable()  # a collection could finalize objects of the parent's threads (gRPC's)
    with contextlib.suppress(Exception):  # Linux: die with the parent
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before that took effect
        os._exit(70)
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")  # out of memory, the kernel takes a what-if before the server
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    os.closerange(3, w)
    os.closerange(w + 1, 1 << 20)
    cpu = math.ceil(limits.cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size = _address_space()
    if size is not None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = size + limits.memory_bytes
        resource.setrlimit(
            resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)
        )


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _run(fn: Callable[[], bytes], limits: Limits) -> bytes:
    try:
        out = fn()
        if len(out) > limits.max_bytes:
            raise ResourceExhausted(
                "horizon",
                f"the answer takes {len(out):,} bytes, more than a message may ({limits.max_bytes:,}, "
                "--max-message-bytes); shorten the horizon or the scenario",
            )
        return b"\x00" + out
    except DomainError as exc:
        return b"\x01" + json.dumps([exc.code_name, exc.field, exc.message]).encode()
    except MemoryError:
        budget = limits.memory_bytes >> 20
        message = f"the what-if needed more than its memory budget of {budget:,} MB"
        return b"\x01" + json.dumps(["RESOURCE_EXHAUSTED", "", message]).encode()
    except Exception as exc:  # a bug: the parent answers INTERNAL with this
        return b"\x01" + json.dumps(["INTERNAL", "", f"{type(exc).__name__}: {exc}"]).encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
