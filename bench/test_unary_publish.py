"""Unary publish calls/s and latency (durable, matched, alerts emitted) against the bare
grpcio unary echo of a broadcast-sized message, with the same client concurrency.

The client is one asyncio process with CONCURRENCY tasks, each sending its next call when
the previous one returns, for a fixed duration; the server is its own process. The
project and the bare server are driven in alternating rounds of one second, so that a
change of load on the shared machine falls on both. Each
publish is an ADD whose vehicle needs a part inside its supplier's lead time with nothing
built, so each one raises a MISSING break (matched and alerted, as the target says).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import broadcast_pb2, broadcast_pb2_grpc, lines_pb2, lines_pb2_grpc, supply_pb2, supply_pb2_grpc
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

CONCURRENCY = 32


async def drive(call: Callable[[int], Awaitable[object]], seconds: float, first: int = 1) -> list[float]:
    """CONCURRENCY callers for ``seconds``; the latency of each call (seconds)."""
    numbers = itertools.count(first)
    lat: list[float] = []
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            await call(next(numbers))
            lat.append(time.perf_counter() - t)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return lat


def figures(lat: list[float], seconds: float) -> dict[str, float]:
    a = np.array(lat) * 1e3
    return {
        "calls": len(lat),
        "calls_per_s": round(len(lat) / seconds),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
    }


async def alternate(address: str, bare_address: str, rounds: int, seconds: float) -> dict[str, Any]:
    """Publish to the project and echo on the bare server in alternating rounds of
    ``seconds`` each: load from other tenants of a shared machine then falls on both
    sides alike, where one long run of each would put a change of load between them."""
    async with grpc.aio.insecure_channel(address) as ch, grpc.aio.insecure_channel(bare_address) as bch:
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
        # the bare side echoes a request as large as the project's (six-digit call numbers)
        m = bc("U", 100_000, ADD, "U-100000", 100_000, [part("SEAT", "P", "S")])
        payload = broadcast_pb2.PublishRequest(broadcast=m).SerializeToString()
        echo = bch.unary_unary("/bare.Echo/Echo")
        calls = itertools.count(1)

        async def publish(n: int) -> object:
            m = bc("U", n, ADD, f"U-{n}", n, [part("SEAT", "P", "S")])
            return await pub.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=30)

        async def publish_next(_: int) -> object:
            return await publish(next(calls))

        await drive(publish_next, 1.0)  # warm-up, both sides
        await drive(lambda n: echo(payload, timeout=30), 1.0)
        ours: list[float] = []
        base: list[float] = []
        for _ in range(rounds):
            ours += await drive(publish_next, seconds)
            base += await drive(lambda n: echo(payload, timeout=30), seconds)
        return {"publish": figures(ours, rounds * seconds), "bare_echo": figures(base, rounds * seconds)}


def test_unary_publish_against_bare_echo(
    tmp_path: Path, bare_address: str, smoke: bool, report: Report
) -> None:
    rounds, seconds = (1, 1.0) if smoke else (10, 1.0)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        measured = asyncio.run(alternate(proc.address, bare_address, rounds, seconds))
    finally:
        proc.stop()
    ours, base = measured["publish"], measured["bare_echo"]
    result = {
        "concurrency": CONCURRENCY,
        "rounds": f"{rounds} x {seconds:g} s each, alternating",
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
