"""1,000 open build-sequence streams while broadcast batches are ingested.

Scopes: one line, 100 suppliers x 10 groups = 1,000 (supplier, group) build sequences,
one WatchBuildSequence stream each (one asyncio client, its own process apart from the
server). Each round publishes one PublishBatch of 1,000 ADDs; vehicle i needs all 10
groups from supplier i % 100, so every stream gets 10 changes per round. Measured per
round: for each stream, the time from sending the batch until it holds the round's last
change (p50/p99 over streams, worst round reported), and the batch call's own latency
with the streams open against the same batch with none open (must not slow ingest).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import (
    broadcast_pb2,
    broadcast_pb2_grpc,
    build_sequence_pb2,
    build_sequence_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
)
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

GROUPS = 10


def batch(
    line: str, first_call: int, first_vehicle: int, n: int, suppliers: int
) -> broadcast_pb2.PublishBatchRequest:
    out = []
    for k in range(n):
        i = first_vehicle + k
        parts = [part(f"G{g}", f"P{i % 3}", f"S{i % suppliers}") for g in range(GROUPS)]
        out.append(bc(line, first_call + k, ADD, f"BV{i}", i, parts))
    return broadcast_pb2.PublishBatchRequest(broadcasts=out)


async def run(address: str, suppliers: int, rounds: int, per_round: int) -> dict[str, object]:
    async with grpc.aio.insecure_channel(address) as ch:
        lines = lines_pb2_grpc.LineServiceStub(ch)
        pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        watch = build_sequence_pb2_grpc.BuildSequenceServiceStub(ch)
        req = lines_pb2.ConfigureLineRequest(
            line_id="BS", takt=Duration(seconds=60), heartbeat=Duration(seconds=86400)
        )
        req.epoch.FromJsonString("2030-01-01T00:00:00Z")
        await lines.ConfigureLine(req, timeout=10)
        # Ingest alone first: the batch latency without any stream open.
        alone = []
        call_no, vehicle = 1, 0
        for _ in range(rounds):
            t = time.perf_counter()
            await pub.PublishBatch(batch("BS", call_no, vehicle, per_round, suppliers), timeout=60)
            alone.append(time.perf_counter() - t)
            call_no, vehicle = call_no + per_round, vehicle + per_round

        keys = [(f"S{s}", f"G{g}") for s in range(suppliers) for g in range(GROUPS)]
        per_stream = per_round // suppliers  # vehicles per supplier per round, each one change
        got = {k: 0 for k in keys}
        done_at: dict[tuple[str, str], float] = {}
        round_target = [0]
        snapshots = asyncio.Semaphore(0)

        async def reader(key: tuple[str, str]) -> None:
            stream = watch.WatchBuildSequence(
                build_sequence_pb2.WatchBuildSequenceRequest(line_id="BS", supplier_id=key[0], group=key[1])
            )
            async for update in stream:
                if update.WhichOneof("update") == "snapshot":
                    snapshots.release()
                    continue
                got[key] += len(update.changes.changes)
                if got[key] >= round_target[0] and key not in done_at:
                    done_at[key] = time.perf_counter()

        tasks = [asyncio.create_task(reader(k)) for k in keys]
        for _ in keys:
            await asyncio.wait_for(snapshots.acquire(), timeout=120)
        with_streams, p50s, p99s, lasts = [], [], [], []
        for r in range(rounds):
            round_target[0] = (r + 1) * per_stream
            done_at.clear()
            t = time.perf_counter()
            await pub.PublishBatch(batch("BS", call_no, vehicle, per_round, suppliers), timeout=60)
            with_streams.append(time.perf_counter() - t)
            call_no, vehicle = call_no + per_round, vehicle + per_round
            deadline = time.perf_counter() + 60
            while len(done_at) < len(keys) and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            assert len(done_at) == len(keys), f"only {len(done_at)} of {len(keys)} streams got the change"
            lat = np.array([done_at[k] - t for k in keys]) * 1e3
            p50s.append(float(np.percentile(lat, 50)))
            p99s.append(float(np.percentile(lat, 99)))
            lasts.append(float(lat.max()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams": len(keys),
        "broadcasts_per_batch": per_round,
        "changes_per_stream_per_batch": per_stream,
        "rounds": rounds,
        "last_change_p50_ms": round(max(p50s), 1),
        "last_change_p99_ms": round(max(p99s), 1),
        "last_stream_ms": round(max(lasts), 1),
        "batch_call_ms_alone": round(1e3 * float(np.median(alone)), 1),
        "batch_call_ms_with_streams": round(1e3 * float(np.median(with_streams)), 1),
        "ingest_with_over_without_streams": round(float(np.median(with_streams) / np.median(alone)), 2),
    }


def test_build_sequence_streams_under_batch_ingest(tmp_path: Path, smoke: bool, report: Report) -> None:
    suppliers, rounds, per_round = (2, 2, 20) if smoke else (100, 5, 1000)
    proc = ServerProcess(tmp_path / "data").start()
    try:
        result = asyncio.run(run(proc.address, suppliers, rounds, per_round))
    finally:
        proc.stop()
    report("WatchBuildSequence streams while PublishBatch ingests (no target number)", result, [])
    assert result["streams"] == suppliers * GROUPS
