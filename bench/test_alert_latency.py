"""Publish-to-alert latency on a WatchBreaks stream, against a bare grpcio unary echo.

Each round publishes one ADD whose vehicle is inside its supplier's lead time with no
slot, so a MISSING break is raised at once, and timestamps the alert's arrival on the
stream. Reported: p50/p99 of send->alert and return->alert (negative when the alert beats
the reply, which it may: alerts leave right after the commit), and the bare echo's and the
bare durable echo's p50/p99 (one fsynced commit, then the reply: the floor of "durable,
then tell") of the same request's bytes, one of each after each round (interleaved, so
that a change of load on the shared machine falls on both).

Two clients, both reported. The target is read on the asyncio client, where the stream's
messages and the unary replies come in the same way (grpc's poller, then the event
loop), so the comparison is of the servers. With the blocking client, the stream is read
by a thread of its own, woken by grpc's channel thread, while a unary call is completed
on the calling thread: the alert pays a client-side thread hand-off the echo does not.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report, stage_means_us, stage_totals
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
from tests.conftest import connect
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

ROUNDS = 400


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1e6
    return {"p50_us": round(float(np.percentile(a, 50)), 1), "p99_us": round(float(np.percentile(a, 99)), 1)}


WARM_UP = 20


def request(line_id: str, i: int, epoch: int) -> broadcast_pb2.PublishRequest:
    m = bc(line_id, i + 1, ADD, f"{line_id}-{i}", i, [part("SEAT", "P", "S")])
    m.need_time.FromNanoseconds(epoch + 60 * 10**9)
    return broadcast_pb2.PublishRequest(broadcast=m)


async def with_asyncio_client(address: str, bare_address: str, rounds: int) -> dict[str, list[float]]:
    """The rounds with a grpc.aio client: one event loop reads the stream and makes the calls."""
    out: dict[str, list[float]] = {"send_to_alert": [], "return_to_alert": [], "echo": [], "durable": []}
    async with grpc.aio.insecure_channel(address) as ch, grpc.aio.insecure_channel(bare_address) as bch:
        epoch = time.time_ns()
        await lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(
            lines_pb2.ConfigureLineRequest(
                line_id="AIO", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
            ),
            timeout=10,
        )
        pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        echo = bch.unary_unary("/bare.Echo/Echo")
        durable = bch.unary_unary("/bare.Echo/DurableEcho")
        arrivals: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        watch: Any = breaks_pb2_grpc.BreakServiceStub(ch).WatchBreaks(
            breaks_pb2.WatchBreaksRequest(line_id="AIO")
        )

        async def read() -> None:
            async for ev in watch:
                arrivals.put_nowait((ev.sequence_break.vehicle_id, time.perf_counter()))

        reader = asyncio.ensure_future(read())
        for i in range(rounds + WARM_UP):
            req = request("AIO", i, epoch)
            t0 = time.perf_counter()
            await pub.Publish(req, timeout=10)
            t1 = time.perf_counter()
            vehicle, t2 = await asyncio.wait_for(arrivals.get(), 10)
            assert vehicle == f"AIO-{i}"
            payload = req.SerializeToString()
            t3 = time.perf_counter()
            await echo(payload, timeout=10)
            t4 = time.perf_counter()
            await durable(payload, timeout=10)
            t5 = time.perf_counter()
            if i >= WARM_UP:
                out["send_to_alert"].append(t2 - t0)
                out["return_to_alert"].append(t2 - t1)
                out["echo"].append(t4 - t3)
                out["durable"].append(t5 - t4)
        watch.cancel()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return out


def test_publish_to_alert_latency(tmp_path: Path, bare_address: str, smoke: bool, report: Report) -> None:
    rounds = 20 if smoke else ROUNDS
    proc = ServerProcess(tmp_path / "data", "--metrics-port", "0").start()
    try:
        c = connect(proc.address)
        supply = supply_pb2_grpc.SupplyServiceStub(c.channel)
        epoch = time.time_ns()
        c.lines.ConfigureLine(
            lines_pb2.ConfigureLineRequest(
                line_id="LAT", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
            ),
            timeout=10,
        )
        supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id="S", lead_time=Duration(seconds=3600)), timeout=10
        )
        arrivals: queue.Queue[tuple[str, float]] = queue.Queue()
        watch = c.breaks.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="LAT"))

        def read() -> None:
            try:
                for ev in watch:
                    arrivals.put((ev.sequence_break.vehicle_id, time.perf_counter()))
            except grpc.RpcError:
                pass

        threading.Thread(target=read, daemon=True).start()
        send_to_alert, return_to_alert, echoes, durables = [], [], [], []
        with grpc.insecure_channel(bare_address) as bare_channel:
            echo = bare_channel.unary_unary("/bare.Echo/Echo")
            durable = bare_channel.unary_unary("/bare.Echo/DurableEcho")
            for i in range(rounds + WARM_UP):
                req = request("LAT", i, epoch)
                t0 = time.perf_counter()
                c.broadcast.Publish(req, timeout=10)
                t1 = time.perf_counter()
                vehicle, t2 = arrivals.get(timeout=10)
                assert vehicle == f"LAT-{i}"
                # the baseline round right after, with the same bytes: a change of load on the
                # shared machine falls on both sides alike
                payload = req.SerializeToString()
                t3 = time.perf_counter()
                echo(payload, timeout=10)
                t4 = time.perf_counter()
                durable(payload, timeout=10)
                t5 = time.perf_counter()
                if i >= WARM_UP:  # warm-up rounds are not counted
                    send_to_alert.append(t2 - t0)
                    return_to_alert.append(t2 - t1)
                    echoes.append(t4 - t3)
                    durables.append(t5 - t4)
        watch.cancel()
        c.channel.close()
        before = stage_totals(proc.metrics_url())
        aio = asyncio.run(with_asyncio_client(proc.address, bare_address, rounds))
        stages = stage_means_us(before, stage_totals(proc.metrics_url()))
    finally:
        proc.stop()
    bare, floor = percentiles(echoes), percentiles(durables)
    sa, ra = percentiles(send_to_alert), percentiles(return_to_alert)
    a_sa, a_bare, a_floor = (percentiles(aio[k]) for k in ("send_to_alert", "echo", "durable"))
    result = {
        "rounds": rounds,
        "asyncio_client": {
            "send_to_alert": a_sa,
            "return_to_alert": percentiles(aio["return_to_alert"]),
            "bare_unary_echo": a_bare,
            "bare_durable_echo": a_floor,
            "alert_p99_over_bare_p99": round(a_sa["p99_us"] / a_bare["p99_us"], 2),
            "alert_p99_over_durable_p99": round(a_sa["p99_us"] / a_floor["p99_us"], 2),
            # the profile: mean us per engine group of each stage, from the server's metrics
            "server_stage_mean_us": stages,
        },
        "blocking_client": {
            "send_to_alert": sa,
            "return_to_alert": ra,
            "bare_unary_echo": bare,
            "bare_durable_echo": floor,
            "alert_p99_over_bare_p99": round(sa["p99_us"] / bare["p99_us"], 2),
            "alert_p99_over_durable_p99": round(sa["p99_us"] / floor["p99_us"], 2),
        },
    }
    report(
        "publish to alert on WatchBreaks (unary publish, durable)",
        result,
        # a durable write, then a reply, is the floor of "durable, then tell"
        [
            (
                "alert p99 / bare durable echo p99 (asyncio client)",
                result["asyncio_client"]["alert_p99_over_durable_p99"],
                "<=",
                1.5,
            )
        ],
    )
    assert len(send_to_alert) == rounds == len(aio["send_to_alert"])
