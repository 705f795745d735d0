"""Unary publish calls/s and latency (durable, matched, alerts emitted) against the bare
grpcio unary echo of a broadcast-sized message, with the same client concurrency.

The client is one asyncio process with CONCURRENCY tasks, each sending its next call when
the previous one returns, for a fixed duration; the server is its own process. Each
publish is an ADD whose vehicle needs a part inside its supplier's lead time with nothing
built, so each one raises a MISSING break (matched and alerted, as the target says).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import broadcast_pb2, broadcast_pb2_grpc, lines_pb2, lines_pb2_grpc, supply_pb2, supply_pb2_grpc
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

CONCURRENCY = 32


async def drive(call: Callable[[int], Awaitable[object]], seconds: float) -> dict[str, float]:
    numbers = itertools.count(1)
    lat: list[float] = []
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            await call(next(numbers))
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall = time.perf_counter() - t0
    a = np.array(lat) * 1e3
    return {
        "calls": len(lat),
        "calls_per_s": round(len(lat) / wall),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
    }


async def project(address: str, seconds: float) -> tuple[dict[str, float], bytes]:
    async with grpc.aio.insecure_channel(address) as ch:
        line = lines_pb2.ConfigureLineRequest(
            line_id="U", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
        )
        line.epoch.GetCurrentTime()
        await lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(line, timeout=10)
        await supply_pb2_grpc.SupplyServiceStub(ch).ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id="S", lead_time=Duration(seconds=4 * 3600)),
            timeout=10,
        )
        pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        msg = broadcast_pb2.Broadcast()

        async def publish(n: int) -> object:
            m = bc("U", n, ADD, f"U-{n}", n, [part("SEAT", "P", "S")])
            msg.CopyFrom(m)
            return await pub.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=30)

        await drive(publish, 1.0)  # warm-up (call numbers go on from there: a GAP, harmless)
        return await drive(lambda n: publish(100_000 + n), seconds), msg.SerializeToString()


async def bare(address: str, payload: bytes, seconds: float) -> dict[str, float]:
    async with grpc.aio.insecure_channel(address) as ch:
        echo = ch.unary_unary("/bare.Echo/Echo")
        await drive(lambda n: echo(payload, timeout=30), 1.0)
        return await drive(lambda n: echo(payload, timeout=30), seconds)


def test_unary_publish_against_bare_echo(
    tmp_path: Path, bare_address: str, smoke: bool, report: Report
) -> None:
    seconds = 1.0 if smoke else 10.0
    proc = ServerProcess(tmp_path / "data").start()
    try:
        ours, payload = asyncio.run(project(proc.address, seconds))
    finally:
        proc.stop()
    base = asyncio.run(bare(bare_address, payload, seconds))
    result = {
        "concurrency": CONCURRENCY,
        "publish": ours,
        "bare_echo": base,
        "calls_ratio": round(ours["calls_per_s"] / base["calls_per_s"], 2),
        "p99_ratio": round(ours["p99_ms"] / base["p99_ms"], 2),
    }
    report(
        f"unary Publish, {CONCURRENCY} concurrent callers (durable, matched, alert emitted)",
        result,
        [
            ("calls/s / bare unary echo calls/s", result["calls_ratio"], ">=", 0.7),
            ("p99 / bare unary echo p99", result["p99_ratio"], "<=", 2.0),
        ],
    )
    assert ours["calls"] > 0 and base["calls"] > 0
