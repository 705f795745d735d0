"""Benchmark fixtures. Sizes shrink to a smoke run with JIS_BENCH_SMOKE=1 (what CI runs)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SMOKE = os.environ.get("JIS_BENCH_SMOKE") == "1"


def pytest_report_header() -> list[str]:
    return [
        f"machine: {platform.machine()} {platform.processor()} cpus={os.cpu_count()} "
        f"python={platform.python_version()} smoke={SMOKE}"
    ]


@pytest.fixture(scope="session")
def smoke() -> bool:
    return SMOKE


@pytest.fixture(scope="session")
def bare_address() -> Iterator[str]:
    """A bare grpcio echo server (bench/bare_server.py) in its own process: the baseline."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("bare_server.py"))], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    assert m, line
    yield f"127.0.0.1:{m.group(1)}"
    proc.terminate()
    proc.wait(timeout=10)
