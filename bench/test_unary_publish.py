"""Unary publish (durable, matched, alerts emitted) against the bare grpcio unary echo of
a broadcast-sized message: CPU per call, saturated calls/s and latency at equal load.

Three sides: the project's Publish, the bare echo (the targets' baseline) and the bare
durable echo (a SQLite commit on a thread of its own, then the reply: the floor of any
acknowledge-after-fsync server, reported beside the targets). Two phases, each in
alternating rounds (project, bare, durable, project, ...), so that a change of load on
the shared machine falls on every side:

1. **Saturated, closed loop**: one asyncio client process with CONCURRENCY tasks, each
   sending its next call when the previous one returns. Reported: calls/s and latency,
   and each server process's CPU time (user + system, all threads, from /proc) per call
   over the measured rounds, the project's also by thread (the profile of where it goes:
   the event loop, the engine thread, its helper, grpc's threads); the target bounds the
   CPU per call.
2. **Equal load, open loop**: calls sent at a fixed rate, half the bare echo's saturated
   calls/s of phase 1, whether or not earlier ones have returned, to every side; the
   target bounds the p99. A call's latency counts from its send; the client's lag behind
   the schedule is reported beside it, so a client that could not keep the rate shows.

Each publish is an ADD whose vehicle needs a part inside its supplier's lead time with
nothing built, so each one raises a MISSING break (matched and alerted, as the target
says). The server is its own process, as in production.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report, cpu_seconds, thread_cpu_seconds
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


async def open_loop(
    call: Callable[[int], Awaitable[object]], rate: float, seconds: float
) -> tuple[list[float], list[float], dict[str, int]]:
    """``rate * seconds`` calls, each sent at its time on a fixed schedule whether or not
    earlier ones have returned; (latency of each call answered OK, from its send; the
    client's lag behind the schedule at each send, in seconds; the failed calls by code)."""
    loop = asyncio.get_running_loop()
    n = max(1, round(rate * seconds))
    lat: list[float] = []
    lag: list[float] = []
    failed: collections.Counter[str] = collections.Counter()
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int) -> None:
        t = time.perf_counter()
        try:
            await call(i)
        except grpc.aio.AioRpcError as exc:
            failed[exc.code().name] += 1
            return
        lat.append(time.perf_counter() - t)

    start = loop.time() + 0.01
    for i in range(n):
        due = start + i / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        lag.append(max(0.0, loop.time() - due))
        task = loop.create_task(one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return lat, lag, dict(failed)


def figures(lat: list[float], seconds: float) -> dict[str, float]:
    a = np.array(lat) * 1e3
    return {
        "calls": len(lat),
        "calls_per_s": round(len(lat) / seconds),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
    }


class Sides:
    """The project's publish and the bare echo, each with its server's pid."""

    def __init__(self, ch: grpc.aio.Channel, pid: int, bch: grpc.aio.Channel, bare_pid: int) -> None:
        self.pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        self.pids = {"publish": pid, "bare_echo": bare_pid}
        # the bare side echoes a request as large as the project's (six-digit call numbers)
        m = bc("U", 100_000, ADD, "U-100000", 100_000, [part("SEAT", "P", "S")])
        self.payload = broadcast_pb2.PublishRequest(broadcast=m).SerializeToString()
        self.echo = bch.unary_unary("/bare.Echo/Echo")
        self.durable_echo = bch.unary_unary("/bare.Echo/DurableEcho")
        self.pids["bare_durable_echo"] = bare_pid
        self.calls = itertools.count(1)
        self.lat: dict[str, list[float]] = {name: [] for name in self.pids}
        self.cpu = {name: 0.0 for name in self.pids}
        self.threads: dict[str, float] = {}
        """The project server's CPU by thread over the measured rounds."""

    async def publish(self, _: int) -> object:
        n = next(self.calls)
        m = bc("U", n, ADD, f"U-{n}", n, [part("SEAT", "P", "S")])
        return await self.pub.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=30)

    async def bare(self, _: int) -> object:
        return await self.echo(self.payload, timeout=30)

    async def durable(self, _: int) -> object:
        return await self.durable_echo(self.payload, timeout=30)

    def side(self, name: str) -> Callable[[int], Awaitable[object]]:
        return {"publish": self.publish, "bare_echo": self.bare, "bare_durable_echo": self.durable}[name]


async def configure(ch: grpc.aio.Channel) -> None:
    line = lines_pb2.ConfigureLineRequest(
        line_id="U", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
    )
    line.epoch.GetCurrentTime()
    await lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(line, timeout=10)
    await supply_pb2_grpc.SupplyServiceStub(ch).ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="S", lead_time=Duration(seconds=4 * 3600)),
        timeout=10,
    )


async def alternate(
    address: str, pid: int, bare: tuple[str, int], rounds: int, seconds: float
) -> dict[str, Any]:
    """Phase 1 (saturated, closed loop, CPU per call) then phase 2 (open loop at half the
    bare echo's saturated rate), each in alternating rounds of ``seconds``."""
    async with grpc.aio.insecure_channel(address) as ch, grpc.aio.insecure_channel(bare[0]) as bch:
        await configure(ch)
        s = Sides(ch, pid, bch, bare[1])
        for name in s.pids:  # warm-up, both sides
            await drive(s.side(name), 1.0)
        for _ in range(rounds):
            for name, pid_ in s.pids.items():
                cpu, threads = cpu_seconds(pid_), thread_cpu_seconds(pid_)
                s.lat[name] += await drive(s.side(name), seconds)
                s.cpu[name] += cpu_seconds(pid_) - cpu
                if name == "publish":
                    for thread, t in thread_cpu_seconds(pid_).items():
                        s.threads[thread] = s.threads.get(thread, 0.0) + t - threads.get(thread, 0.0)
        saturated: dict[str, Any] = {}
        for name in s.pids:
            saturated[name] = figures(s.lat[name], rounds * seconds)
            saturated[name]["server_cpu_us_per_call"] = round(s.cpu[name] / len(s.lat[name]) * 1e6, 1)
        calls = len(s.lat["publish"])
        saturated["publish"]["server_cpu_us_per_call_by_thread"] = {
            thread: round(t / calls * 1e6, 1) for thread, t in sorted(s.threads.items(), key=lambda x: -x[1])
        }

        rate = saturated["bare_echo"]["calls_per_s"] / 2
        lat: dict[str, list[float]] = {name: [] for name in s.pids}
        lag: dict[str, list[float]] = {name: [] for name in s.pids}
        failed: dict[str, collections.Counter[str]] = {name: collections.Counter() for name in s.pids}
        for _ in range(rounds):
            for name in s.pids:
                la, lg, fl = await open_loop(s.side(name), rate, seconds)
                lat[name] += la
                lag[name] += lg
                failed[name].update(fl)
        equal: dict[str, Any] = {"rate_per_s": round(rate)}
        for name in s.pids:
            equal[name] = figures(lat[name], rounds * seconds)
            equal[name]["client_lag_p99_ms"] = round(float(np.percentile(np.array(lag[name]) * 1e3, 99)), 2)
            equal[name]["failed_by_code"] = dict(failed[name])
        return {"saturated": saturated, "equal_load": equal}


def test_unary_publish_against_bare_echo(
    tmp_path: Path, bare_server: tuple[str, int], smoke: bool, report: Report
) -> None:
    rounds, seconds = (1, 1.0) if smoke else (10, 1.0)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        assert proc.proc is not None
        measured = asyncio.run(alternate(proc.address, proc.proc.pid, bare_server, rounds, seconds))
    finally:
        proc.stop()
    sat, equal = measured["saturated"], measured["equal_load"]
    ours, base = sat["publish"], sat["bare_echo"]
    cpu_ratio = round(ours["server_cpu_us_per_call"] / base["server_cpu_us_per_call"], 2)
    durable = sat["bare_durable_echo"]
    report(
        f"unary Publish, {CONCURRENCY} concurrent callers, saturated (durable, matched, alert emitted)",
        {
            "rounds": f"{rounds} x {seconds:g} s each, alternating",
            **sat,
            "calls_ratio": round(ours["calls_per_s"] / base["calls_per_s"], 2),
            "server_cpu_ratio": cpu_ratio,
            "server_cpu_ratio_to_durable_echo": round(
                ours["server_cpu_us_per_call"] / durable["server_cpu_us_per_call"], 2
            ),
        },
        [("server CPU per call / bare unary echo's", cpu_ratio, "<=", 1.25)],
    )
    p99_ratio = round(equal["publish"]["p99_ms"] / equal["bare_echo"]["p99_ms"], 2)
    report(
        "unary Publish, open loop at half the bare echo's saturated rate",
        {
            **equal,
            "p99_ratio": p99_ratio,
            "p99_ratio_to_durable_echo": round(
                equal["publish"]["p99_ms"] / equal["bare_durable_echo"]["p99_ms"], 2
            ),
        },
        [("p99 / bare unary echo p99 at that rate", p99_ratio, "<=", 2.0)],
    )
    assert ours["calls"] > 0 and base["calls"] > 0
    assert {"main", "jis-engine"} <= set(ours["server_cpu_us_per_call_by_thread"])
    assert not equal["publish"]["failed_by_code"] and not equal["bare_echo"]["failed_by_code"], equal
    assert equal["publish"]["calls"] == equal["bare_echo"]["calls"] > 0
