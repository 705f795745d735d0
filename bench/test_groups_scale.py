"""Scale-out: aggregate throughput with 1, 2 and 4 engine groups, each its own process.

All on this machine with one nats-server (R1): per group one line, and per group two
client threads of unary Publish (closed loop), then one client thread of PublishBatch
(batches of 1,000). Reported per group count: aggregate unary calls/s and batch
broadcasts/s, as ratios of the single-process server on the embedded store measured in the
same run, and each group server's CPU seconds per 1,000 calls (user + system, from
/proc): with the CPU per call known, the scaling on a larger machine can be read off (calls/s
per core ~ 1,000 / CPU s per 1,000 calls). On 2 cores the load clients and the servers
share the same two: the aggregate cannot grow past what two cores give them together.

JIS_BENCH_SMOKE=1: 200 unary calls and 2 batches per group.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bench.conftest import Report
from jis.v1 import broadcast_pb2, directory_pb2
from tests.conftest import configure_line, connect
from tests.factories import ADD, bc, part, pub
from tests.natsproc import NatsServer
from tests.serverproc import ServerProcess

pytest.importorskip("nats")

CALLS = 2000
BATCHES = 10
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(proc: ServerProcess) -> float:
    assert proc.proc is not None
    fields = Path(f"/proc/{proc.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def drive(servers: list[tuple[ServerProcess, str]], calls: int, batches: int) -> dict[str, float]:
    """Unary then batch load on every (server, line) at once; aggregate rates and CPU per call."""

    def unary(proc: ServerProcess, line: str, first: int, n: int) -> None:
        c = connect(proc.address)
        for k in range(first, first + n):
            c.broadcast.Publish(pub(bc(line, k, ADD, f"{line}-{k}", k, [part()])), timeout=30)
        c.channel.close()

    def batch(proc: ServerProcess, line: str, first: int) -> None:
        c = connect(proc.address)
        for b in range(batches):
            lo = first + b * 1000
            req = broadcast_pb2.PublishBatchRequest(
                broadcasts=[bc(line, k, ADD, f"{line}-{k}", k, [part()]) for k in range(lo, lo + 1000)]
            )
            c.broadcast.PublishBatch(req, timeout=60)
        c.channel.close()

    def run(threads: list[threading.Thread]) -> float:
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    half = calls // 2
    cpu0 = [cpu_s(p) for p, _ in servers]
    unary_s = run(
        [
            threading.Thread(target=unary, args=(p, line, 1 + h * half, half))
            for p, line in servers
            for h in range(2)
        ]
    )
    cpu1 = [cpu_s(p) for p, _ in servers]
    batch_s = run([threading.Thread(target=batch, args=(p, line, calls + 1)) for p, line in servers])
    per_group_cpu = [(b - a) / calls * 1000 for a, b in zip(cpu0, cpu1, strict=True)]
    return {
        "unary_calls_per_s": round(len(servers) * calls / unary_s),
        "batch_broadcasts_per_s": round(len(servers) * batches * 1000 / batch_s),
        "server_cpu_s_per_1000_calls": round(sum(per_group_cpu) / len(per_group_cpu), 3),
    }


def test_aggregate_throughput_with_1_2_and_4_groups(tmp_path: Path, smoke: bool, report: Report) -> None:
    calls, batches = (200, 2) if smoke else (CALLS, BATCHES)
    figures: dict[str, dict[str, float]] = {}
    single = ServerProcess(tmp_path / "single").start()
    try:
        configure_line(connect(single.address), "S1", heartbeat_s=86_400)
        figures["single_process_sqlite"] = drive([(single, "S1")], calls, batches)
    finally:
        single.stop()

    node = NatsServer(tmp_path / "nats").start()
    try:
        for n in (1, 2, 4):
            procs = [
                ServerProcess(
                    tmp_path / f"n{n}-g{k}", "--store", node.url, "--stream", f"SC{n}", "--group", f"G{k}"
                )
                for k in range(n)
            ]
            try:
                for p in procs:
                    p.start()
                admin = connect(procs[0].address)
                for k, p in enumerate(procs):
                    req = directory_pb2.AssignLineRequest(line_id=f"N{n}L{k}", group=f"G{k}")
                    admin.directory.AssignLine(req, timeout=10)
                    configure_line(connect(p.address), f"N{n}L{k}", heartbeat_s=86_400)
                figures[f"groups_{n}"] = drive(
                    [(p, f"N{n}L{k}") for k, p in enumerate(procs)], calls, batches
                )
            finally:
                for p in procs:
                    p.stop()
    finally:
        node.stop()
    base = figures["single_process_sqlite"]
    ratios = {
        f"groups_{n}_over_single": {
            "unary": round(figures[f"groups_{n}"]["unary_calls_per_s"] / base["unary_calls_per_s"], 2),
            "batch": round(
                figures[f"groups_{n}"]["batch_broadcasts_per_s"] / base["batch_broadcasts_per_s"], 2
            ),
        }
        for n in (1, 2, 4)
    }
    report(
        f"scale-out: 1, 2 and 4 engine groups on one machine ({os.cpu_count()} cores), one NATS node",
        {**figures, **ratios},
    )
