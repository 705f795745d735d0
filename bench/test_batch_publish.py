"""Batch publish throughput: 1,000 broadcasts (10 parts each) per PublishBatch call, durable.

Calls go two at a time on both sides. Baselines in the same run, on the bare grpcio server
with the same serialized batches: its echo (the transport's ceiling) and its durable echo
(one fsynced SQLite commit per call, then the echo: the floor of any server that answers
only what is on disk, and the baseline of the PublishColumns target). Nested batches are
measured against PublishColumns of the same messages: decoded at column speed, they should
reach at least half of it.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.api.pack import pack
from jis.v1 import broadcast_pb2, lines_pb2
from tests.conftest import connect
from tests.factories import ADD, INSTALLED, bc, part
from tests.serverproc import ServerProcess

BATCH = 1000


def batches(n_batches: int) -> list[broadcast_pb2.PublishBatchRequest]:
    """A rolling line: each batch adds 1,000 vehicles and installs the 1,000 before them
    (as a day does), so the active sequence stays at a realistic size."""
    out, call = [], 0
    for k in range(n_batches):
        msgs = []
        for i in range(BATCH):
            call += 1
            v = k * BATCH + i
            if k and i % 2:
                msgs.append(bc("B", call, INSTALLED, f"B-{v - BATCH - 1}"))
            else:
                parts = [part(f"G{g}", f"P{(v + g) % 7}", f"S{g % 3}") for g in range(10)]
                msgs.append(bc("B", call, ADD, f"B-{v}", v, parts))
        out.append(broadcast_pb2.PublishBatchRequest(broadcasts=msgs))
    return out


def in_flight(send: Callable[[Any], Any], reqs: list[Any], calls: int) -> list[Any]:
    """Send ``reqs`` in order from ``calls`` threads at once (each takes the next one when
    its call is answered); the answers."""
    with concurrent.futures.ThreadPoolExecutor(calls) as pool:
        return list(pool.map(send, reqs))


IN_FLIGHT = 2
"""Calls in flight on both sides (the project's server and the bare durable echo)."""


def publish_rate(address: str, reqs: list, packed: bool) -> tuple[float, int]:  # type: ignore[type-arg]
    """Broadcasts/s through PublishBatch (nested messages) or PublishColumns (the same
    messages packed), IN_FLIGHT calls at a time after two warm-up calls; and the count
    applied."""
    c = connect(address)
    line = lines_pb2.ConfigureLineRequest(
        line_id="B", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
    )
    line.epoch.GetCurrentTime()
    c.lines.ConfigureLine(line, timeout=10)
    send = c.broadcast.PublishColumns if packed else c.broadcast.PublishBatch
    for r in reqs[:2]:
        send(r, timeout=120)
    t = time.perf_counter()
    applied = sum(a.applied for a in in_flight(lambda r: send(r, timeout=120), reqs[2:], IN_FLIGHT))
    elapsed = time.perf_counter() - t
    c.channel.close()
    return (len(reqs) - 2) * BATCH / elapsed, applied


def bare_rate(address: str, payloads: list[bytes], method: str = "Echo") -> float:
    """Events/s of the bare (or bare durable) echo of the same serialized requests,
    IN_FLIGHT calls at a time."""
    with grpc.insecure_channel(address) as ch:
        echo = ch.unary_unary(f"/bare.Echo/{method}")
        echo(payloads[0], timeout=30)
        t = time.perf_counter()
        in_flight(lambda p: echo(p, timeout=30), payloads, IN_FLIGHT)
        return len(payloads) * BATCH / (time.perf_counter() - t)


def test_batch_publish_throughput(tmp_path: Path, bare_address: str, smoke: bool, report: Report) -> None:
    n = 3 if smoke else 30
    nested = batches(n + 2)
    packed = [pack(r.broadcasts) for r in nested]
    figures: dict[str, float | int] = {"batches": n, "broadcasts_per_batch": BATCH}
    for name, reqs, is_packed in (("nested", nested, False), ("columns", packed, True)):
        proc = ServerProcess(tmp_path / name).start()
        try:
            rate, applied = publish_rate(proc.address, reqs, is_packed)
        finally:
            proc.stop()
        assert applied == n * BATCH
        payloads = [r.SerializeToString() for r in reqs[2:]]
        bare = bare_rate(bare_address, payloads)
        durable = bare_rate(bare_address, payloads, "DurableEcho")
        figures[f"{name}_broadcasts_per_s"] = round(rate)
        figures[f"{name}_bare_events_per_s"] = round(bare)
        figures[f"{name}_bare_durable_events_per_s"] = round(durable)
        figures[f"{name}_durable_echo_ratio"] = round(durable / bare, 3)
        figures[f"{name}_payload_bytes"] = len(payloads[0])
        figures[f"{name}_ratio"] = round(rate / bare, 3)
        figures[f"{name}_over_durable_echo"] = round(rate / durable, 3)
    figures["nested_over_columns"] = round(
        figures["nested_broadcasts_per_s"] / figures["columns_broadcasts_per_s"], 3
    )
    report(
        "batch publish, 1,000 broadcasts x 10 parts per call (durable)",
        figures,
        [
            # a durable write per call is the floor of a server that acknowledges what is on disk
            (
                "PublishColumns broadcasts/s / bare durable echo events/s (2 calls in flight)",
                figures["columns_over_durable_echo"],
                ">=",
                0.5,
            ),
            # nested batches at column speed (the wire decoder, jis.api.wire)
            (
                "PublishBatch (nested) broadcasts/s / PublishColumns broadcasts/s",
                figures["nested_over_columns"],
                ">=",
                0.5,
            ),
        ],
    )
