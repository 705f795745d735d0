"""Threads that name themselves to the kernel show that name in /proc (what top -H reads)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from jis.osthread import name_this_thread


@pytest.mark.skipif(sys.platform != "linux", reason="prctl(PR_SET_NAME) is Linux's")
def test_thread_name_reaches_the_kernel_truncated_to_15_bytes() -> None:
    seen: list[str] = []

    def run() -> None:
        name_this_thread("jis-engine-helper")
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == ["jis-engine-help"]
    # the caller's own thread keeps its name
    assert Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip() != "jis-engine-help"
