"""jis.api.forked, the process a what-if runs in: what happens when no process can be made,
and with file descriptors beyond what select() can watch."""

from __future__ import annotations

import os
import time

import pytest

from jis.api import forked
from jis.errors import NotFound, ResourceExhausted

LIMITS = forked.Limits(cpu_s=10, memory_bytes=256 << 20, wall_s=30)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_no_process_to_be_had_is_resource_exhausted_and_leaks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = open_fds()
    monkeypatch.setattr(os, "fork", no_fork)
    with pytest.raises(ResourceExhausted, match="cannot start a what-if: Resource temporarily unavailable"):
        forked.spawn(lambda: b"", LIMITS)
    assert open_fds() == before


def test_an_answer_an_error_and_a_pipe_above_fd_1023() -> None:
    spare = [os.dup(0) for _ in range(1100)]  # the pipe's fds land above what select() takes
    try:
        child = forked.spawn(lambda: b"answer", LIMITS)
        assert child.fd > 1023
        assert forked.collect(child) == b"answer"

        def refuse() -> bytes:
            raise NotFound("rack_id", "unknown rack 'R'")

        with pytest.raises(NotFound, match="unknown rack"):
            forked.collect(forked.spawn(refuse, LIMITS))
        too_big = forked.Limits(cpu_s=10, memory_bytes=256 << 20, wall_s=30, max_bytes=10)
        with pytest.raises(ResourceExhausted, match="more than a message may"):
            forked.collect(forked.spawn(lambda: b"x" * 11, too_big))
    finally:
        for fd in spare:
            os.close(fd)


def test_a_child_past_its_wall_clock_is_killed_and_reaped() -> None:
    def sleep() -> bytes:
        time.sleep(30)
        return b""

    slow = forked.Limits(cpu_s=10, memory_bytes=256 << 20, wall_s=0.3)
    child = forked.spawn(sleep, slow)
    with pytest.raises(ResourceExhausted, match=r"took longer than 0\.3 s"):
        forked.collect(child)
    assert child.reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
