"""Benchmark fixtures. Sizes shrink to a smoke run with JIS_BENCH_SMOKE=1 (what CI runs)."""

from __future__ import annotations

import os
import platform

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
