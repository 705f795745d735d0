"""Overload: 1,000 unary calls in flight against a server whose write admission is 64.

Four client processes keep 250 `Publish` calls each in flight (new ADDs, each call sent as
soon as the previous one returned), while a fifth reads (`GetLine`, 8 in flight), for a
fixed duration. Most writes are then refused: the figure that matters is how fast a refusal
comes back (the documented answer is RESOURCE_EXHAUSTED at once, before the request is
decoded) and that reads, admitted apart from writes, are not refused. Latency is measured
per call in the client processes, so the client's own event loop lag is in the figures;
with four processes it stays small next to the server's.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import itertools
import json
import multiprocessing
import os
import time
from pathlib import Path

import grpc
import numpy as np
from google.protobuf.duration_pb2 import Duration

from bench.conftest import Report
from jis.v1 import broadcast_pb2, broadcast_pb2_grpc, lines_pb2, lines_pb2_grpc
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

WRITERS = 4
"""Client processes that publish."""
MAX_PENDING = 64


async def _drive(
    address: str, seconds: float, in_flight: int, role: str, writer: int
) -> dict[str, list[float]]:
    """``in_flight`` callers for ``seconds``: ``write`` publishes new ADDs, ``echo`` sends the
    same bytes to the bare echo, ``read`` reads the line. Latencies by status."""
    lat: dict[str, list[float]] = collections.defaultdict(list)
    numbers = (n * WRITERS + writer + 1 for n in itertools.count())  # the writers' call_no interleave
    stop_at = time.monotonic() + seconds
    async with grpc.aio.insecure_channel(address) as ch:
        pub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
        lines = lines_pb2_grpc.LineServiceStub(ch)
        echo = ch.unary_unary("/bare.Echo/Echo")

        async def worker() -> None:
            while time.monotonic() < stop_at:
                n = next(numbers)
                request = broadcast_pb2.PublishRequest(
                    broadcast=bc("OV", n, ADD, f"OV-{n}", n, [part("SEAT", "P", "SUP")])
                )
                t = time.perf_counter()
                try:
                    if role == "read":
                        await lines.GetLine(lines_pb2.GetLineRequest(line_id="OV"), timeout=30)
                    elif role == "echo":
                        await echo(request.SerializeToString(), timeout=30)
                    else:
                        await pub.Publish(request, timeout=30)
                    code = "OK"
                except grpc.aio.AioRpcError as exc:
                    code = exc.code().name
                lat[code].append(time.perf_counter() - t)
                if role == "read":
                    await asyncio.sleep(0.01)

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return dict(lat)


def client(address: str, seconds: float, in_flight: int, role: str, writer: int = 0) -> str:
    """One client process: latencies by status, as JSON."""
    return json.dumps(asyncio.run(_drive(address, seconds, in_flight, role, writer)))


def load(
    address: str, seconds: float, per_writer: int, reader: bool, role: str = "write"
) -> list[dict[str, list[float]]]:
    """WRITERS client processes (and a reader) at once; their latencies by status."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(WRITERS + 1, mp_context=ctx) as pool:
        jobs = [pool.submit(client, address, seconds, per_writer, role, w) for w in range(WRITERS)]
        if reader:
            jobs.append(pool.submit(client, address, seconds, 8, "read"))
        return [json.loads(j.result(timeout=seconds + 120)) for j in jobs]


def merged(results: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = collections.defaultdict(list)
    for r in results:
        for code, values in r.items():
            out[code] += values
    return out


def _ms(values: list[float], q: float) -> float:
    return round(float(np.quantile(values, q)) * 1000, 2) if values else float("nan")


def test_overload_refusal_latency(tmp_path: Path, smoke: bool, bare_address: str, report: Report) -> None:
    seconds = float(os.environ.get("JIS_OVERLOAD_SECONDS", "2" if smoke else "15"))
    per_writer = 20 if smoke else 250
    # The baseline first: the bare echo under the same 1,000 callers. By Little's law a
    # closed loop of N callers waits N / (calls answered per second) per call: that is the
    # least any Python grpc server can answer in, a refusal included.
    echo = merged(load(bare_address, seconds, per_writer, reader=False, role="echo"))
    proc = ServerProcess(tmp_path / "data", "--max-pending", str(MAX_PENDING)).start()
    try:
        with grpc.insecure_channel(proc.address) as ch:
            req = lines_pb2.ConfigureLineRequest(
                line_id="OV", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
            )
            req.epoch.FromJsonString("2030-01-01T00:00:00Z")
            lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(req, timeout=10)
        results = load(proc.address, seconds, per_writer, reader=True)
        assert proc.proc is not None and proc.proc.poll() is None, "the server died under load"
    finally:
        proc.stop()
    writes, reads = merged(results[:-1]), results[-1]
    refused, echoed = writes.get("RESOURCE_EXHAUSTED", []), echo.get("OK", [])
    figures = {
        "seconds": seconds,
        "writes_in_flight": WRITERS * per_writer,
        "max_pending": MAX_PENDING,
        "writes_by_status": {code: len(v) for code, v in writes.items()},
        "refusal_p50_ms": _ms(refused, 0.5),
        "refusal_p99_ms": _ms(refused, 0.99),
        "write_ok_p50_ms": _ms(writes.get("OK", []), 0.5),
        "write_ok_p99_ms": _ms(writes.get("OK", []), 0.99),
        "reads_by_status": {code: len(v) for code, v in reads.items()},
        "read_ok_p50_ms": _ms(reads.get("OK", []), 0.5),
        "read_ok_p99_ms": _ms(reads.get("OK", []), 0.99),
        "bare_echo_calls": len(echoed),
        "bare_echo_p50_ms": _ms(echoed, 0.5),
        "bare_echo_p99_ms": _ms(echoed, 0.99),
    }
    targets = []
    if refused and echoed and not smoke:
        ratio = round(figures["refusal_p99_ms"] / figures["bare_echo_p99_ms"], 2)
        figures["refusal_p99_over_bare_echo_p99"] = ratio
        targets.append(("overload refusal p99 / bare echo p99, 1,000 in flight", ratio, "<=", 2.0))
    report("overload: refusal latency with 1,000 writes in flight", figures, targets)
    assert set(writes) <= {"OK", "RESOURCE_EXHAUSTED"}, figures
    assert set(reads) <= {"OK"}, f"reads must not be refused while writes are: {figures}"
