"""Benchmark fixtures. Sizes shrink to a smoke run with JIS_BENCH_SMOKE=1 (what CI runs).

Every benchmark hands its figures and its targets to ``report``; at the end of the
session the results table is written as JSON and markdown (with the machine's
description) to ``$JIS_BENCH_OUT`` (default ``bench/results/``): every target with its
measured ratio, its bound and met or missed.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

SMOKE = os.environ.get("JIS_BENCH_SMOKE") == "1"
OUT = Path(os.environ.get("JIS_BENCH_OUT", "bench/results"))

TargetSpec = tuple[str, float, str, float]
"""(what, measured, ">=" or "<=", bound)."""
Report = Callable[[str, dict[str, Any], Sequence[TargetSpec]], None]
_RESULTS: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def report() -> Report:
    """``report(benchmark, figures, targets)``: print the figures and keep them for the table."""

    def add(name: str, figures: dict[str, Any], targets: Sequence[TargetSpec] = ()) -> None:
        checked = [
            {
                "target": what,
                "measured": measured,
                "bound": f"{op} {bound}",
                "met": measured >= bound if op == ">=" else measured <= bound,
            }
            for what, measured, op, bound in targets
        ]
        _RESULTS.append({"benchmark": name, "figures": figures, "targets": checked})
        print(f"\n{name}: {figures}")
        for t in checked:
            print(
                f"  {'met   ' if t['met'] else 'MISSED'} {t['target']}: {t['measured']} (target {t['bound']})"
            )

    return add


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    packages = {p: metadata.version(p) for p in ("numpy", "numba", "grpcio", "protobuf")}
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        **packages,
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _RESULTS:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    run = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "smoke": SMOKE,
        "machine": machine(),
        "results": _RESULTS,
    }
    (OUT / "results.json").write_text(json.dumps(run, indent=2) + "\n")
    m = run["machine"]
    lines = [
        f"# jis benchmarks, {run['when']}{' (smoke sizes)' if SMOKE else ''}",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory']}; {m['os']}; Python {m['python']}, "
        f"numpy {m['numpy']}, numba {m['numba']}, grpcio {m['grpcio']}, protobuf {m['protobuf']}.",
        "",
        "| benchmark | target | measured | bound | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in _RESULTS:
        for t in r["targets"]:
            lines.append(
                f"| {r['benchmark']} | {t['target']} | {t['measured']} | {t['bound']} | "
                f"{'met' if t['met'] else 'missed'} |"
            )
    lines += ["", "## Figures", ""]
    for r in _RESULTS:
        lines.append(f"- **{r['benchmark']}**: " + ", ".join(f"{k} {v}" for k, v in r["figures"].items()))
    (OUT / "results.md").write_text("\n".join(lines) + "\n")
    print(f"\nresults table: {OUT / 'results.md'} and {OUT / 'results.json'}")


def pytest_report_header() -> list[str]:
    return [
        f"machine: {platform.machine()} {platform.processor()} cpus={os.cpu_count()} "
        f"python={platform.python_version()} smoke={SMOKE}"
    ]


@pytest.fixture(scope="session")
def smoke() -> bool:
    return SMOKE


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time so far (user + system, seconds) of process ``pid``'s threads, summed by the
    name each shows the kernel; the main thread (the event loop of a server) as "main"."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = "main" if int(tid) == pid else comm
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def stage_totals(metrics_url: str) -> dict[str, tuple[float, float]]:
    """From a server's /metrics: (sum in seconds, count) of each engine stage
    (``jis_engine_stage_seconds``) and of the commit, keyed by stage name, and (requests,
    groups) under "requests"."""
    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        text = r.read().decode()
    out: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        names = ("jis_engine_stage_seconds", "jis_store_commit_duration_seconds", "jis_engine_group_requests")
        if family.name not in names:
            continue
        for sample in family.samples:
            default = "requests" if family.name == "jis_engine_group_requests" else "commit"
            stage = sample.labels.get("stage", default)
            if sample.name.endswith("_sum"):
                out.setdefault(stage, [0.0, 0.0])[0] = sample.value
            elif sample.name.endswith("_count"):
                out.setdefault(stage, [0.0, 0.0])[1] = sample.value
    return {k: (v[0], v[1]) for k, v in out.items()}


def stage_means_us(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean time per engine group of each stage between two :func:`stage_totals`, in us
    (and "requests": the mean requests per group)."""
    out = {}
    for stage, (total, count) in after.items():
        t0, c0 = before.get(stage, (0.0, 0.0))
        if count > c0:
            scale = 1 if stage == "requests" else 1e6
            out[stage] = round((total - t0) / (count - c0) * scale, 1)
    return out


@pytest.fixture(scope="session")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A bare grpcio echo server (bench/bare_server.py) in its own process, the baseline:
    (address, pid)."""
    data_dir = tmp_path_factory.mktemp("bare")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("bare_server.py")), str(data_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    assert m, line
    yield f"127.0.0.1:{m.group(1)}", proc.pid
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def bare_address(bare_server: tuple[str, int]) -> str:
    return bare_server[0]
