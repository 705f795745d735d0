"""Restart time with many logged broadcasts, and resident memory per active vehicle.

The stores are written in-process through the engine exactly as the server writes them
(commit groups, a snapshot every 100,000 inputs), then a real server process starts
on them: the time to SERVING is the restart time (recovery + kernel load), and its
resident memory minus that of a server on an empty store, per active vehicle (10 parts
each), is the memory figure. Need times lie far ahead, so no vehicle is MISSING: breaks are
the exception and are not what this measures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.conftest import Report
from jis.engine.engine import Engine
from jis.engine.model import Action, Broadcast, LineConfig, PartDemand
from jis.store import SqliteStore
from tests.serverproc import ServerProcess

EPOCH_2100 = 4_102_444_800 * 10**9
BATCH = 1000


def parts(v: int) -> tuple[PartDemand, ...]:
    return tuple(PartDemand(f"G{g}", f"P{(v + g) % 7}", f"S{g % 3}", 1) for g in range(10))


def write_store(data_dir: Path, broadcasts: int, rolling: bool) -> None:
    """``broadcasts`` messages on one line; ``rolling``: every other message after the first
    batch installs an earlier vehicle (a day's flow), else all are ADDs (all stay active)."""
    store = SqliteStore(data_dir, synchronous="NORMAL")
    e = Engine(store)
    e.configure_line(LineConfig("L", 60 * 10**9, 10**15, EPOCH_2100), 0)
    store.commit()
    call, snapshot_inputs = 0, 0
    for k in range(broadcasts // BATCH):
        batch = []
        for i in range(BATCH):
            call += 1
            v = k * BATCH + i
            if rolling and k and i % 2:
                batch.append(Broadcast("L", call, Action.INSTALLED, f"V{v - BATCH - 1}", None))
            else:
                batch.append(Broadcast("L", call, Action.ADD, f"V{v}", v, parts=parts(v)))
        e.begin_group()
        e.publish_batch(batch, 0)
        e.end_group()
        store.commit()
        if e.inputs - snapshot_inputs >= 100_000:  # the server's default --snapshot-every
            e.save_snapshot()
            snapshot_inputs = e.inputs
    store.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start(data_dir: Path) -> tuple[float, int, ServerProcess]:
    t = time.perf_counter()
    proc = ServerProcess(data_dir).start(timeout=600)
    elapsed = time.perf_counter() - t
    assert proc.proc is not None
    return elapsed, rss_kib(proc.proc.pid), proc


def test_restart_time_and_memory_per_vehicle(tmp_path: Path, smoke: bool, report: Report) -> None:
    logged = int(os.environ.get("JIS_BENCH_RESTART_N", "2000" if smoke else "1000000"))
    active = 2000 if smoke else 100_000
    t = time.perf_counter()
    write_store(tmp_path / "rolling", logged, rolling=True)
    write_store(tmp_path / "active", active, rolling=False)
    written = time.perf_counter() - t
    empty_s, empty_rss, proc = start(tmp_path / "empty")
    proc.stop()
    restart_s, _, proc = start(tmp_path / "rolling")
    proc.stop()
    _, active_rss, proc = start(tmp_path / "active")
    proc.stop()
    result = {
        "logged_broadcasts": logged,
        "stores_written_s": round(written, 1),
        "restart_to_serving_s": round(restart_s, 2),
        "empty_store_to_serving_s": round(empty_s, 2),
        "restart_over_empty": round(restart_s / empty_s, 2),
        "active_vehicles": active,
        "rss_empty_mib": round(empty_rss / 1024, 1),
        "rss_active_mib": round(active_rss / 1024, 1),
        "bytes_per_active_vehicle": round((active_rss - empty_rss) * 1024 / active),
    }
    report(
        f"restart with {logged:,} logged broadcasts; memory with {active:,} active vehicles",
        result,
        [
            ("restart to SERVING, s", result["restart_to_serving_s"], "<=", 10.0),
            ("resident bytes per active vehicle (10 parts)", result["bytes_per_active_vehicle"], "<=", 2048),
        ],
    )
    assert restart_s > 0
