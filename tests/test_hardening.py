"""Hostile input and operating faults: each answered with a specific status or a clear
start failure, never UNKNOWN, a traceback, a crash or a second server on one port or store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jis.server import SERVICES
from jis.v1 import breaks_pb2, broadcast_pb2, dock_pb2, interop_pb2, lines_pb2, reports_pb2, sequence_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, bc, part, pub
from tests.serverproc import ServerProcess
from tests.test_hostile import ALLOWED

SPECIFIC = ALLOWED
METHODS = [
    (f"/{service.full_name}/{m.name}", m.input_type.full_name, m.server_streaming)
    for service in map(descriptor_pool.Default().FindServiceByName, SERVICES)
    for m in service.methods
]
TRUNCATED = b"\x0a\xff\x01"  # field 1, length 255, then one byte: no message of any type
BAD_VARINT = b"\x08" + b"\xff" * 11  # field 1, a varint longer than 10 bytes


def raw_call(channel: grpc.Channel, path: str, streaming: bool, data: bytes) -> tuple[grpc.StatusCode, str]:
    """Send ``data`` as the request bytes of the RPC at ``path``; the status and details."""
    try:
        if streaming:
            stream = channel.unary_stream(path)(data, timeout=1.5)
            try:
                next(stream)
            except StopIteration:
                pass
            finally:
                stream.cancel()
        else:
            channel.unary_unary(path)(data, timeout=10)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""


@pytest.mark.parametrize(("path", "type_name", "streaming"), METHODS, ids=[p for p, _, _ in METHODS])
def test_undecodable_request_bytes_are_invalid_argument_naming_the_type(
    hostile: tuple[ServerProcess, Client], path: str, type_name: str, streaming: bool
) -> None:
    proc, c = hostile
    for data in (TRUNCATED, BAD_VARINT):
        code, details = raw_call(c.channel, path, streaming, data)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{path}: {code} {details}"
        assert details == f"request: cannot be decoded as {type_name}"
    assert proc.proc is not None and proc.proc.poll() is None


@pytest.mark.parametrize(("path", "type_name", "streaming"), METHODS, ids=[p for p, _, _ in METHODS])
def test_random_request_bytes_get_a_specific_status(
    hostile: tuple[ServerProcess, Client], path: str, type_name: str, streaming: bool
) -> None:
    proc, c = hostile

    @settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=200))
    def one(data: bytes) -> None:
        code, details = raw_call(c.channel, path, streaming, data)
        allowed = SPECIFIC | ({grpc.StatusCode.DEADLINE_EXCEEDED} if streaming else set())
        assert code in allowed, f"{path} <- {data!r}: {code} {details}"
        assert proc.proc is not None and proc.proc.poll() is None, "the server died"

    one()


def test_undecodable_requests_log_one_warning_and_no_traceback(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        with grpc.insecure_channel(proc.address) as ch:
            for path, _, streaming in METHODS:
                raw_call(ch, path, streaming, TRUNCATED)
    finally:
        proc.stop()
    log = proc.log_text()
    warnings = [line for line in log.splitlines() if "cannot be decoded" in line]
    assert len(warnings) == len(METHODS) and all(" WARNING " in line for line in warnings)
    assert "Traceback" not in log and " ERROR " not in log


# -- one server per port and per data dir ------------------------------------------------


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jis", "serve", "--host", "127.0.0.1", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_server_on_a_busy_port_fails_to_start_with_exit_2(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    done = _serve("--port", str(fresh_server.port), "--data-dir", str(tmp_path / "other"))
    assert done.returncode == 2, done.stderr
    assert f"cannot start: cannot listen on 127.0.0.1:{fresh_server.port}" in done.stderr
    assert fresh_server.proc is not None and fresh_server.proc.poll() is None


def test_a_second_server_on_a_busy_data_dir_fails_to_start_naming_the_holder(
    fresh_server: ServerProcess,
) -> None:
    assert fresh_server.proc is not None
    done = _serve("--port", "0", "--data-dir", str(fresh_server.data_dir))
    assert done.returncode == 2, done.stderr
    assert f"is in use by another jis server (pid {fresh_server.proc.pid})" in done.stderr
    assert fresh_server.proc.poll() is None
    # The first one still commits (its log was not touched by the second).
    c = connect(fresh_server.address)
    configure_line(c, "LOCKED")
    c.channel.close()


def test_the_data_dir_is_free_again_after_a_kill_9(fresh_server: ServerProcess) -> None:
    fresh_server.kill9()
    fresh_server.restart()
    c = connect(fresh_server.address)
    configure_line(c, "AGAIN")
    c.channel.close()


# -- reads bounded like writes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("GetVehicle", sequence_pb2.GetVehicleRequest(vehicle_id="V" * 20_000), "vehicle_id"),
        ("ListSequence", sequence_pb2.ListSequenceRequest(line_id="L" * 20_000), "line_id"),
        ("GetLine", lines_pb2.GetLineRequest(line_id="L" * 20_000), "line_id"),
        ("GetInventory", reports_pb2.GetInventoryRequest(line_id="L" * 20_000), "line_id"),
        ("GetInventory", reports_pb2.GetInventoryRequest(line_id="L1", supplier_id="S" * 200), "supplier_id"),
        ("GetVehicle", sequence_pb2.GetVehicleRequest(vehicle_id="V\x001"), "vehicle_id"),
        ("GetLine", lines_pb2.GetLineRequest(line_id="L\n1"), "line_id"),
    ],
)
def test_read_ids_are_bounded_and_never_echoed_unbounded(
    client: Client, method: str, request_: object, field: str
) -> None:
    stub = {"GetVehicle": client.sequence, "ListSequence": client.sequence, "GetLine": client.lines}.get(
        method, client.reports
    )
    with pytest.raises(grpc.RpcError) as refused:
        getattr(stub, method)(request_, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith(f"{field}:")
    assert len(refused.value.details()) < 200


def test_ids_with_control_characters_are_refused_on_writes(client: Client, line_id: str) -> None:
    for vehicle in ("V\n1", "V\x001", "V\x7f"):
        with pytest.raises(grpc.RpcError) as refused:
            client.broadcast.Publish(pub(bc(line_id, 1, ADD, vehicle, 1, [part()])), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == "vehicle_id: contains a control character"
    with pytest.raises(grpc.RpcError) as refused:
        client.broadcast.Publish(pub(bc(line_id, 1, ADD, "V1", 1, [part(group="SE\tAT")])), timeout=10)
    assert refused.value.details() == "parts[0].group: contains a control character"
    # the packed columns refuse the same message (on the per-message path, at its index)
    reply = client.broadcast.PublishColumns(
        broadcast_pb2.BroadcastColumns(
            line_ids=[line_id], call_no=[1], action=[ADD], vehicle_id=["V\r1"], seq_no=[1]
        ),
        timeout=10,
    )
    assert reply.rejected == 1 and reply.rejections[0].field == "vehicle_id"


def test_desadv_sender_is_bounded_by_its_edifact_field(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        client.interop.ExportDesadv(
            interop_pb2.ExportDesadvRequest(rack_ids=["R1"], sender="S" * 36), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("sender: longer than 35")


def test_page_tokens_are_opaque_and_validated(client: Client, line_id: str) -> None:
    for n in range(1, 8):
        client.broadcast.Publish(pub(bc(line_id, n, ADD, f"{line_id}-PT{n}", n * 10, [part()])), timeout=10)
    seen, token = [], ""
    while True:
        page = client.sequence.ListSequence(
            sequence_pb2.ListSequenceRequest(line_id=line_id, page_size=3, page_token=token), timeout=10
        )
        seen += [v.seq_no for v in page.vehicles]
        token = page.next_page_token
        if not token:
            break
        assert not token.isdigit()
        forged = [
            "1" * 30,
            "-5",
            token[:-2],
            token + "A",
            "x" * 5000,
        ]
        for bad in forged:
            with pytest.raises(grpc.RpcError) as refused:
                client.sequence.ListSequence(
                    sequence_pb2.ListSequenceRequest(line_id=line_id, page_size=3, page_token=bad), timeout=10
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert refused.value.details().startswith("page_token:")
            assert len(refused.value.details()) < 200
        # a token is bound to its query: another line, or other bounds, refuse it
        other = configure_line(client, f"{line_id}X").line_id
        for query in (
            sequence_pb2.ListSequenceRequest(line_id=other, page_token=token),
            sequence_pb2.ListSequenceRequest(line_id=line_id, page_token=token, from_seq_no=20),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                client.sequence.ListSequence(query, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert seen == [n * 10 for n in range(1, 8)]


@pytest.mark.parametrize("short", ["call_no", "action", "vehicle_id"])
def test_packed_columns_name_the_column_that_is_short(client: Client, line_id: str, short: str) -> None:
    cols = {"call_no": [1, 2, 3], "action": [ADD] * 3, "vehicle_id": ["A", "B", "C"]}
    cols[short] = cols[short][:2]
    with pytest.raises(grpc.RpcError) as refused:
        client.broadcast.PublishColumns(
            broadcast_pb2.BroadcastColumns(line_ids=[line_id], seq_no=[1, 2, 3], **cols), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith(f"{short}: has 2 elements; expected 3")


# -- a moment between apply and commit -----------------------------------------------------


class Gate:
    """Holds every commit of a tests.gated_server process while open."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> Gate:
        self.path.touch()
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def gated(tmp_path: Path, *args: str) -> tuple[ServerProcess, Gate]:
    gate = Gate(tmp_path / "gate")
    proc = ServerProcess(tmp_path / "data", *args, entry=("-m", "tests.gated_server", str(gate.path)))
    return proc.start(), gate


def _in_thread(fn: object) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)  # type: ignore[arg-type]
    t.start()
    return t


def _unanswered(rpc: object, request: object) -> None:
    with pytest.raises(grpc.RpcError):
        rpc(request, timeout=30)  # type: ignore[operator]


def test_get_clock_shows_only_committed_time(tmp_path: Path) -> None:
    """The fault: GetClock read the clock before the SetClock that moved it was committed;
    after a kill -9 the time a reader had seen went back."""
    proc, gate = gated(tmp_path, "--test-clock")
    try:
        c = connect(proc.address)
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=1_000)), timeout=10)
        with gate:
            # applied, then held at its commit; the kill below cuts it off unanswered
            setter = _in_thread(
                lambda: _unanswered(c.clock.SetClock, lines_pb2.SetClockRequest(now=Timestamp(seconds=9_000)))
            )
            time.sleep(0.3)  # the SetClock is applied and waits for its commit
            try:
                seen = c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=0.5).now.seconds
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                seen = None
            assert seen in (None, 1_000), "GetClock showed a time not yet committed"
            proc.kill9()  # before the commit: the SetClock was never acknowledged
        setter.join(timeout=10)
        proc.restart()
        c.channel.close()
        c = connect(proc.address)
        assert c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10).now.seconds == 1_000
        c.channel.close()
    finally:
        proc.stop_if_running()


def test_overload_refuses_writes_at_once_before_decoding_and_still_admits_reads(tmp_path: Path) -> None:
    proc, gate = gated(tmp_path, "--max-pending", "3", "--max-pending-reads", "2")
    try:
        c = connect(proc.address)
        configure_line(c, "OV")
        results: list[grpc.StatusCode] = []

        def publish(n: int) -> None:
            try:
                c.broadcast.Publish(pub(bc("OV", n, ADD, f"OV{n}", n, [part()])), timeout=30)
                results.append(grpc.StatusCode.OK)
            except grpc.RpcError as exc:
                results.append(exc.code())

        with gate:
            writers = [_in_thread(lambda n=n: publish(n)) for n in (1, 2, 3)]
            time.sleep(0.5)  # three writes admitted, held at their commit
            # a fourth is refused before its bytes are decoded: undecodable bytes say so
            code, details = raw_call(c.channel, "/jis.v1.BroadcastService/Publish", False, TRUNCATED)
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
            assert details == "server busy: 3 write calls in flight; retry later"
            with pytest.raises(grpc.RpcError) as refused:
                c.broadcast.Publish(pub(bc("OV", 4, ADD, "OV4", 4, [part()])), timeout=10)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            # reads have their own admission: admitted (they wait for the engine), not refused
            with pytest.raises(grpc.RpcError) as waited:
                c.lines.GetLine(lines_pb2.GetLineRequest(line_id="OV"), timeout=0.3)
            assert waited.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            readers = [
                _in_thread(lambda: c.lines.GetLine(lines_pb2.GetLineRequest(line_id="OV"), timeout=30))
                for _ in range(2)
            ]
            time.sleep(0.3)
            with pytest.raises(grpc.RpcError) as refused:
                c.lines.GetLine(lines_pb2.GetLineRequest(line_id="OV"), timeout=10)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert refused.value.details() == "server busy: 2 read calls in flight; retry later"
        for t in writers + readers:
            t.join(timeout=30)
        assert results == [grpc.StatusCode.OK] * 3
        line = c.lines.GetLine(lines_pb2.GetLineRequest(line_id="OV"), timeout=10)
        assert line.highest_call_no == 3 and line.active_vehicles == 3  # the refused one left no trace
        c.channel.close()
    finally:
        proc.stop()


def test_an_unknown_line_or_door_filter_is_not_found_on_every_read(client: Client) -> None:
    """Some reads answered an unknown line with an empty list, others with NOT_FOUND, and
    WatchBreaks on an unknown line waited forever. Now each is NOT_FOUND naming the field."""
    reads = [
        (client.breaks.ListBreaks, breaks_pb2.ListBreaksRequest(line_id="NO-SUCH-LINE"), "line_id"),
        (
            client.breaks.ListBreaks,
            breaks_pb2.ListBreaksRequest(line_id="NO-SUCH-LINE", resolved_from=Timestamp(seconds=0)),
            "line_id",
        ),
        (client.reports.GetKpis, reports_pb2.GetKpisRequest(line_id="NO-SUCH-LINE"), "line_id"),
        (client.reports.GetInventory, reports_pb2.GetInventoryRequest(line_id="NO-SUCH-LINE"), "line_id"),
        (client.lines.GetLine, lines_pb2.GetLineRequest(line_id="NO-SUCH-LINE"), "line_id"),
        (client.sequence.ListSequence, sequence_pb2.ListSequenceRequest(line_id="NO-SUCH-LINE"), "line_id"),
        (client.dock.GetYard, dock_pb2.GetYardRequest(door="NO-SUCH-DOOR"), "door"),
    ]
    for rpc, request, field in reads:
        with pytest.raises(grpc.RpcError) as missing:
            rpc(request, timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND, (request, missing.value.details())
        assert missing.value.details().startswith(f"{field}:")
    stream = client.breaks.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="NO-SUCH-LINE"), timeout=10)
    with pytest.raises(grpc.RpcError) as missing:
        next(stream)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and missing.value.details().startswith(
        "line_id:"
    )
