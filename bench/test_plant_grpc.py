"""A 100-line plant on one server process, every input its own unary call (issue 23, target 7).

The plant of the long-run benchmark (bench/plant.py: takt 60 s, 10 JIS groups per vehicle,
builds in sequence, racks dispatched, moved to the dock, line side and back, with its
disruptions: pulls and re-inserts, cancellations, late variant changes and hot-shot racks,
repeated and late messages, duplicate builds, late trucks), here 100 lines, played against
a real ``jis serve --test-clock`` process over gRPC as its MES and suppliers would send it:
every broadcast, build, dispatch, ETA update and rack move is one unary call.

Each simulated takt: ``SetClock`` to its end, then its broadcasts (each line's in call_no
order, the lines side by side), then its builds, dispatches, ETA updates and rack moves
(each phase depends on the one before; inside one, calls go side by side, at most
IN_FLIGHT at once). Beside it, a WatchBreaks subscriber reads every break event, and a
Prometheus scrape of /metrics comes every SCRAPE_S of wall time. The test clock moves as
fast as the server takes the inputs.

Reported: the real-time factor (simulated seconds per wall second) over the whole run and
over its last STEADY_MIN simulated minutes (every kind of input flowing, state at its
steady size); the engine thread's busy share (its CPU time over the wall time); the
server's CPU per input; the scrape's time on the engine thread (from
``jis_scrape_engine_seconds``, the figures of each scrape timed where they are computed).
The baseline in the same run: the same number of calls of the same sizes, sent the same
way to the bare grpcio echo (bench/bare_server.py), gives the real-time factor the
transport alone would allow on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report, cpu_seconds, stage_means_us, stage_totals, thread_cpu_seconds
from bench.plant import Plant, PlantConfig, StepInputs
from jis.api.convert import broadcast_out, build_out, dispatch_out, ns_to_ts
from jis.engine.model import Broadcast
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    broadcast_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    supply_pb2,
    supply_pb2_grpc,
)
from tests.serverproc import ServerProcess

IN_FLIGHT = 256
"""Most calls outstanding at once (the MES and the suppliers' systems together)."""
SCRAPE_S = 5.0
"""A Prometheus scrape every this many seconds of wall time."""
STEADY_MIN = 30


Call = Callable[[], Awaitable[object]]


def client_cpu() -> float:
    """This process's CPU time (the client: the plant, its calls, the subscriber, the scraper)."""
    t = os.times()
    return t.user + t.system


class Sender:
    """Sends one takt's inputs as unary calls: to the project's server (each call its RPC)
    or to the bare echo (each call the same request bytes, echoed)."""

    def __init__(self, channel: grpc.aio.Channel, bare: bool) -> None:
        self.bare = bare
        self.echo = channel.unary_unary("/bare.Echo/Echo")
        self.pub = broadcast_pb2_grpc.BroadcastServiceStub(channel)
        self.supply = supply_pb2_grpc.SupplyServiceStub(channel)
        self.clock = lines_pb2_grpc.ClockServiceStub(channel)
        self.room = asyncio.Semaphore(IN_FLIGHT)
        self.calls = 0
        self.refused: Counter[str] = Counter()
        """Inputs the server answered with an error status, by code (a plant's duplicate
        build is refused, as it should be)."""

    async def one(self, method: Callable[..., Any], request: Any) -> None:
        async with self.room:
            self.calls += 1
            try:
                if self.bare:
                    await self.echo(request.SerializeToString(), timeout=60)
                else:
                    await method(request, timeout=60)
            except grpc.aio.AioRpcError as exc:
                self.refused[exc.code().name] += 1

    async def phase(self, calls: list[tuple[Callable[..., Any], Any]]) -> None:
        await asyncio.gather(*(self.one(m, r) for m, r in calls))

    async def step(self, inputs: StepInputs, until: int) -> None:
        await self.one(self.clock.SetClock, lines_pb2.SetClockRequest(now=ns_to_ts(until)))
        by_line: dict[str, list[Broadcast]] = {}
        for b in inputs.broadcasts:
            by_line.setdefault(b.line_id, []).append(b)

        async def line(messages: list[Broadcast]) -> None:
            for b in sorted(messages, key=lambda b: b.call_no):
                await self.one(self.pub.Publish, broadcast_pb2.PublishRequest(broadcast=broadcast_out(b)))

        await asyncio.gather(*(line(m) for m in by_line.values()))
        await self.phase([(self.supply.ReportBuild, build_out(b)) for b in inputs.builds])
        await self.phase([(self.supply.DispatchRack, dispatch_out(d)) for d in inputs.dispatches])
        await self.phase(
            [
                (self.supply.UpdateRackEta, supply_pb2.UpdateRackEtaRequest(rack_id=r, eta=ns_to_ts(eta)))
                for r, eta in inputs.etas
            ]
        )
        await self.phase(
            [
                (
                    self.supply.MoveRack,
                    supply_pb2.MoveRackRequest(rack_id=r, stage=int(s), at=ns_to_ts(w)),  # type: ignore[arg-type]
                )
                for r, s, w in inputs.moves
            ]
        )


async def configure(channel: grpc.aio.Channel, plant: Plant) -> None:
    lines = lines_pb2_grpc.LineServiceStub(channel)
    await lines_pb2_grpc.ClockServiceStub(channel).SetClock(
        lines_pb2.SetClockRequest(now=ns_to_ts(plant.now)), timeout=10
    )
    for c in plant.line_configs():
        m = lines_pb2.ConfigureLineRequest(
            line_id=c.line_id,
            takt=Duration(seconds=c.takt_ns // 10**9),
            heartbeat=Duration(seconds=c.heartbeat_ns // 10**9),
        )
        if c.epoch_ns is not None:
            m.epoch.CopyFrom(ns_to_ts(c.epoch_ns))
        await lines.ConfigureLine(m, timeout=10)
    supply = supply_pb2_grpc.SupplyServiceStub(channel)
    for s in plant.supplier_configs():
        await supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(
                supplier_id=s.supplier_id,
                lead_time=Duration(seconds=s.lead_time_ns // 10**9),
                unload_to_line=Duration(seconds=s.unload_to_line_ns // 10**9),
            ),
            timeout=10,
        )


async def watch(channel: grpc.aio.Channel, seen: Counter[str]) -> None:
    stream = breaks_pb2_grpc.BreakServiceStub(channel).WatchBreaks(breaks_pb2.WatchBreaksRequest())
    try:
        async for ev in stream:
            seen[breaks_pb2.BreakEvent.Kind.Name(ev.kind)] += 1
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.CANCELLED:
            raise


def scrape_engine_s(url: str) -> tuple[float, float]:
    """One scrape of /metrics; the engine thread's time and CPU time for it."""
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        if line.startswith(("jis_scrape_engine_seconds ", "jis_scrape_engine_cpu_seconds ")):
            name, value = line.split()
            found[name] = float(value)
    return found["jis_scrape_engine_seconds"], found["jis_scrape_engine_cpu_seconds"]


async def scraper(url: str, out: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        out.append(await asyncio.to_thread(scrape_engine_s, url))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SCRAPE_S)


async def play(
    address: str, cfg: PlantConfig, minutes: int, wall_budget_s: float, bare: bool, pid: int, metrics_url: str
) -> dict[str, Any]:
    """Play ``minutes`` simulated takts (or until ``wall_budget_s``); the figures."""
    plant = Plant(cfg)
    async with grpc.aio.insecure_channel(address) as channel:
        if not bare:
            await configure(channel, plant)
        sender = Sender(channel, bare)
        seen: Counter[str] = Counter()
        scrapes: list[tuple[float, float]] = []
        stop = asyncio.Event()
        background = (
            []
            if bare
            else [
                asyncio.ensure_future(watch(channel, seen)),
                asyncio.ensure_future(scraper(metrics_url, scrapes, stop)),
            ]
        )
        stages: list[dict[str, tuple[float, float]]] = []
        marks: list[tuple[int, float, float, dict[str, float], int, float]] = []
        """(simulated minute, wall time, server CPU, its threads' CPU, calls, client CPU) at
        each takt."""
        started = time.monotonic()
        inputs = 0
        for minute in range(1, minutes + 1):
            if not bare and minute == minutes - STEADY_MIN + 1:
                stages.append(await asyncio.to_thread(stage_totals, metrics_url))
            marks.append(
                (
                    minute - 1,
                    time.monotonic(),
                    cpu_seconds(pid),
                    thread_cpu_seconds(pid),
                    sender.calls,
                    client_cpu(),
                )
            )
            until = cfg.start_ns + minute * cfg.takt_s * 10**9
            step = plant.step(until)
            inputs += len(step)
            await sender.step(step, until)
            if time.monotonic() - started > wall_budget_s:
                break
        marks.append(
            (minute, time.monotonic(), cpu_seconds(pid), thread_cpu_seconds(pid), sender.calls, client_cpu())
        )
        if stages:
            stages.append(await asyncio.to_thread(stage_totals, metrics_url))
        stop.set()
        await asyncio.sleep(0.5)  # the last break events reach the subscriber
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)

    def window(a: int, b: int) -> dict[str, Any]:
        m0, w0, c0, t0, n0, k0 = marks[a]
        m1, w1, c1, t1, n1, k1 = marks[b]
        wall = w1 - w0
        busy = sum(t1.get(k, 0.0) - t0.get(k, 0.0) for k in ("jis-engine", "jis-engine-help"))
        by_thread = {k: t1[k] - t0.get(k, 0.0) for k in t1}
        return {
            "simulated_min": m1 - m0,
            "wall_s": round(wall, 1),
            "real_time_factor": round((m1 - m0) * cfg.takt_s / wall, 1),
            "calls": n1 - n0,
            "calls_per_s": round((n1 - n0) / wall),
            "server_cpu_us_per_call": round((c1 - c0) / max(1, n1 - n0) * 1e6, 1),
            "engine_thread_busy_share": round(busy / wall, 2),
            "server_threads_busy_share": {
                k: round(v / wall, 2)
                for k, v in sorted(by_thread.items(), key=lambda x: -x[1])
                if v / wall >= 0.01
            },
            "client_busy_share": round((k1 - k0) / wall, 2),
        }

    steady_from = max(0, len(marks) - 1 - STEADY_MIN)
    out: dict[str, Any] = {
        "whole_run": window(0, len(marks) - 1),
        "steady": window(steady_from, len(marks) - 1),
        "plant_inputs": inputs,
        "refused_by_code": dict(sender.refused),
    }
    if not bare:
        out["break_events_seen"] = dict(seen)
        out["scrapes"] = len(scrapes)
        wall, cpu = [w for w, _ in scrapes], [c for _, c in scrapes]
        out["scrape_engine_ms_median"] = round(statistics.median(wall) * 1e3, 3)
        out["scrape_engine_ms_max"] = round(max(wall) * 1e3, 3)
        out["scrape_engine_cpu_ms_median"] = round(statistics.median(cpu) * 1e3, 3)
        out["scrape_engine_cpu_ms_max"] = round(max(cpu) * 1e3, 3)
        out["disruptions"] = dict(plant.counts)
        if len(stages) == 2:  # the profile of the steady window: mean us per engine group and stage
            out["steady_engine_group_mean_us"] = stage_means_us(*stages)
    return out


def test_a_100_line_plant_over_unary_calls(
    tmp_path: Path, bare_server: tuple[str, int], smoke: bool, report: Report
) -> None:
    lines = 3 if smoke else 100
    # The broadcast comes 2 h ahead, builds 90 min ahead: every kind of input flows from
    # minute 120 on; the run is long enough for STEADY_MIN minutes of that after it.
    cfg = PlantConfig(lines=lines, groups=10, broadcast_lead_min=120, build_ahead_min=90, lead_time_min=60)
    minutes = 150 if smoke else 120 + 45 + STEADY_MIN
    budget = 60.0 if smoke else 900.0
    proc = ServerProcess(tmp_path / "data", "--test-clock", "--metrics-port", "0").start()
    try:
        assert proc.proc is not None
        ours = asyncio.run(play(proc.address, cfg, minutes, budget, False, proc.proc.pid, proc.metrics_url()))
    finally:
        proc.stop()
    base = asyncio.run(
        play(bare_server[0], cfg, ours["whole_run"]["simulated_min"], budget, True, bare_server[1], "")
    )
    steady, bare_steady = ours["steady"], base["steady"]
    rtf_ratio = round(steady["real_time_factor"] / bare_steady["real_time_factor"], 2)
    report(
        f"a {lines}-line plant, every input a unary call, on the test clock "
        f"(WatchBreaks, a scrape every {SCRAPE_S:g} s)",
        {"project": ours, "bare_echo_same_calls": base, "steady_rtf_over_bare_echo": rtf_ratio},
        [
            ("steady real-time factor (simulated s per wall s)", steady["real_time_factor"], ">=", 50),
            ("scrape on the engine thread, ms (median)", ours["scrape_engine_ms_median"], "<=", 1.0),
        ],
    )
    assert ours["whole_run"]["calls"] > 0 and ours["break_events_seen"].get("KIND_RAISED", 0) > 0
    assert not set(ours["refused_by_code"]) - {"ALREADY_EXISTS", "FAILED_PRECONDITION", "NOT_FOUND"}, ours
