"""A bounded load test: many concurrent clients, an overloaded engine queue, a watcher that
never reads, a fixed duration; counts replies by status and samples the server's memory.

The server runs with a small queue (--max-pending 64) so that overload is reached on 2
cores: beyond it the documented answer is RESOURCE_EXHAUSTED, at once. Calls with a
deadline too short to be served are DEADLINE_EXCEEDED. Anything else is a failure. The
mix: new ADDs (the state grows with them), re-sent duplicates, invalid messages (refused,
no trace), reads (ListBreaks, GetInventory). Reported: requests, replies by status, the
server's resident memory at start, at the end and at its peak, and the watcher's fate.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import random
import time
from pathlib import Path

import grpc
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    broadcast_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
)
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

DOCUMENTED = {"OK", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "INVALID_ARGUMENT"}


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, KiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def load(address: str, pid: int, seconds: float, concurrency: int) -> dict[str, object]:
    codes: collections.Counter[str] = collections.Counter()
    calls = itertools.count(1)
    added: list[broadcast_pb2.Broadcast] = []
    rss = [rss_kib(pid)[0]]
    async with grpc.aio.insecure_channel(address) as ch:
        pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        brk = breaks_pb2_grpc.BreakServiceStub(ch)
        rep = reports_pb2_grpc.ReportServiceStub(ch)
        req = lines_pb2.ConfigureLineRequest(
            line_id="LD", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
        )
        req.epoch.FromJsonString("2030-01-01T00:00:00Z")
        await lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(req, timeout=10)
        # A watcher that never reads: its server-side queue is bounded, then it is cut off.
        stalled = brk.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="LD"))
        stop_at = time.monotonic() + seconds

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop_at:
                roll = rng.random()
                timeout = 0.0005 if roll < 0.02 else 10
                try:
                    if roll < 0.35 or not added:
                        n = next(calls)
                        m = bc("LD", n, ADD, f"LD-{n}", n, [part("SEAT", "P", "SL")])
                        await pub.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=timeout)
                        added.append(m)
                    elif roll < 0.6:
                        again = rng.choice(added)
                        await pub.Publish(broadcast_pb2.PublishRequest(broadcast=again), timeout=timeout)
                    elif roll < 0.7:
                        bad = bc("LD", next(calls), ADD, "", 1, [])
                        await pub.Publish(broadcast_pb2.PublishRequest(broadcast=bad), timeout=timeout)
                    elif roll < 0.9:
                        await brk.ListBreaks(breaks_pb2.ListBreaksRequest(line_id="LD"), timeout=timeout)
                    else:
                        await rep.GetInventory(reports_pb2.GetInventoryRequest(line_id="LD"), timeout=timeout)
                    codes["OK"] += 1
                except grpc.aio.AioRpcError as exc:
                    codes[exc.code().name] += 1

        async def sample() -> None:
            while time.monotonic() < stop_at:
                rss.append(rss_kib(pid)[0])
                await asyncio.sleep(0.25)

        await asyncio.gather(sample(), *(client(i) for i in range(concurrency)))
        rss.append(rss_kib(pid)[0])
        # Now read what the stalled watcher was sent: events up to its bound, then its end.
        received, watcher = 0, "open"
        try:
            while True:
                item = await asyncio.wait_for(stalled.read(), timeout=3)
                if item is grpc.aio.EOF:
                    break
                received += 1
        except grpc.aio.AioRpcError as exc:
            watcher = f"cut off with {exc.code().name}"
        except TimeoutError:
            pass
        stalled.cancel()
    q = max(1, len(rss) // 4)
    return {
        "seconds": seconds,
        "concurrency": concurrency,
        "requests": sum(codes.values()),
        "by_status": dict(codes),
        "vehicles_added": len(added),
        "rss_start_mib": round(rss[0] / 1024, 1),
        "rss_first_quarter_max_mib": round(max(rss[:q]) / 1024, 1),
        "rss_last_quarter_max_mib": round(max(rss[-q:]) / 1024, 1),
        "rss_peak_mib": round(rss_kib(pid)[1] / 1024, 1),
        "stalled_watcher": f"{watcher} after {received} events",
    }


def test_bounded_load(tmp_path: Path, smoke: bool, report: Report) -> None:
    seconds = float(os.environ.get("JIS_LOAD_SECONDS", "2" if smoke else "30"))
    proc = ServerProcess(tmp_path / "data", "--max-pending", "64").start()
    try:
        assert proc.proc is not None
        result = asyncio.run(load(proc.address, proc.proc.pid, seconds, 8 if smoke else 128))
        assert proc.proc.poll() is None, "the server died under load"
    finally:
        proc.stop()
    report("bounded load (statuses and memory; no target number)", result, [])
    by_status = result["by_status"]
    assert isinstance(by_status, dict) and set(by_status) <= DOCUMENTED, by_status
