"""Batch publish throughput: 1,000 broadcasts (10 parts each) per PublishBatch call, durable.

Baseline in the same run: the bare grpcio server echoing the same serialized batch, so
the ratio is project broadcasts/s over bare events/s (the transport's ceiling).
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
from google.protobuf.duration_pb2 import Duration

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


def test_batch_publish_throughput(tmp_path: Path, bare_address: str, smoke: bool) -> None:
    n = 3 if smoke else 30
    reqs = batches(n + 2)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        c = connect(proc.address)
        line = lines_pb2.ConfigureLineRequest(
            line_id="B", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
        )
        line.epoch.GetCurrentTime()
        c.lines.ConfigureLine(line, timeout=10)
        for r in reqs[:2]:  # warm-up
            c.broadcast.PublishBatch(r, timeout=120)
        t = time.perf_counter()
        accepted = sum(c.broadcast.PublishBatch(r, timeout=120).applied for r in reqs[2:])
        project = time.perf_counter() - t
        c.channel.close()
    finally:
        proc.stop()
    assert accepted == n * BATCH
    payloads = [r.SerializeToString() for r in reqs[2:]]
    with grpc.insecure_channel(bare_address) as ch:
        echo = ch.unary_unary("/bare.Echo/Echo")
        echo(payloads[0], timeout=30)
        t = time.perf_counter()
        for p in payloads:
            echo(p, timeout=30)
        bare = time.perf_counter() - t
    result = {
        "batches": n,
        "broadcasts_per_s": round(n * BATCH / project),
        "bare_events_per_s": round(n * BATCH / bare),
        "ratio": round(bare / project, 3),
        "payload_bytes": len(payloads[0]),
    }
    print(f"\nbatch publish {result}")
