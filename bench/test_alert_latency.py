"""Publish-to-alert latency on a WatchBreaks stream, against a bare grpcio unary echo.

Each round publishes one ADD whose vehicle is inside its supplier's lead time with no
slot, so a MISSING break is raised at once; a watcher thread timestamps its arrival.
Reported: p50/p99 of send->alert and return->alert (negative when the alert beats the
reply, which it may: alerts leave right after the commit), and the bare echo's and the
bare durable echo's p50/p99 (one fsynced commit, then the reply: the floor of "durable,
then tell") of the same request's bytes, one of each after each round (interleaved, so
that a change of load on the shared machine falls on both).
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import breaks_pb2, broadcast_pb2, lines_pb2, supply_pb2, supply_pb2_grpc
from tests.conftest import connect
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

ROUNDS = 400


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1e6
    return {"p50_us": round(float(np.percentile(a, 50)), 1), "p99_us": round(float(np.percentile(a, 99)), 1)}


def test_publish_to_alert_latency(tmp_path: Path, bare_address: str, smoke: bool, report: Report) -> None:
    rounds = 20 if smoke else ROUNDS
    proc = ServerProcess(tmp_path / "data").start()
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
            for i in range(rounds + 20):
                m = bc("LAT", i + 1, ADD, f"LAT-{i}", i, [part("SEAT", "P", "S")])
                m.need_time.FromNanoseconds(epoch + 60 * 10**9)
                request = broadcast_pb2.PublishRequest(broadcast=m)
                t0 = time.perf_counter()
                c.broadcast.Publish(request, timeout=10)
                t1 = time.perf_counter()
                vehicle, t2 = arrivals.get(timeout=10)
                assert vehicle == f"LAT-{i}"
                # the baseline round right after, with the same bytes: a change of load on the
                # shared machine falls on both sides alike
                payload = request.SerializeToString()
                t3 = time.perf_counter()
                echo(payload, timeout=10)
                t4 = time.perf_counter()
                durable(payload, timeout=10)
                t5 = time.perf_counter()
                if i >= 20:  # warm-up rounds are not counted
                    send_to_alert.append(t2 - t0)
                    return_to_alert.append(t2 - t1)
                    echoes.append(t4 - t3)
                    durables.append(t5 - t4)
        watch.cancel()
        c.channel.close()
    finally:
        proc.stop()
    bare, floor = percentiles(echoes), percentiles(durables)
    sa, ra = percentiles(send_to_alert), percentiles(return_to_alert)
    result = {
        "rounds": rounds,
        "send_to_alert": sa,
        "return_to_alert": ra,
        "bare_unary_echo": bare,
        "bare_durable_echo": floor,
        "alert_p99_over_bare_p99": round(sa["p99_us"] / bare["p99_us"], 2),
        "alert_p99_over_durable_p99": round(sa["p99_us"] / floor["p99_us"], 2),
    }
    report(
        "publish to alert on WatchBreaks (unary publish, durable)",
        result,
        # a durable write, then a reply, is the floor of "durable, then tell"
        [("alert p99 / bare durable echo p99", result["alert_p99_over_durable_p99"], "<=", 1.5)],
    )
    assert len(send_to_alert) == rounds
