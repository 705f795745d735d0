"""The server process: health, reflection, clock modes, durability across kill -9."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families

from jis.v1 import breaks_pb2, broadcast_pb2, lines_pb2, sequence_pb2, supply_pb2
from tests.conftest import Client, all_breaks, configure_line, connect
from tests.factories import ADD, CHANGE, PULL, REINSERT, bc, part, pub
from tests.serverproc import ServerProcess


def test_reflection_lists_the_services_and_describes_them(server: ServerProcess) -> None:
    with grpc.insecure_channel(server.address) as ch:
        db = ProtoReflectionDescriptorDatabase(ch)
        services = set(db.get_services())
        assert {
            "jis.v1.BroadcastService",
            "jis.v1.SequenceService",
            "jis.v1.LineService",
            "jis.v1.ClockService",
            "jis.v1.BreakService",
            "grpc.health.v1.Health",
        } <= services
        pool = descriptor_pool.DescriptorPool(db)
        publish = pool.FindServiceByName("jis.v1.BroadcastService").FindMethodByName("PublishBatch")
        assert publish.input_type.full_name == "jis.v1.PublishBatchRequest"


def test_reflection_answers_on_v1_as_well_as_v1alpha(server: ServerProcess) -> None:
    """Clients that speak reflection v1 only (grpc-js in v1 mode) got UNIMPLEMENTED."""
    from grpc_reflection.v1alpha import reflection_pb2 as r  # v1 is the same messages on the wire

    with grpc.insecure_channel(server.address) as ch:
        for package in ("grpc.reflection.v1", "grpc.reflection.v1alpha"):
            info = ch.stream_stream(
                f"/{package}.ServerReflection/ServerReflectionInfo",
                request_serializer=r.ServerReflectionRequest.SerializeToString,
                response_deserializer=r.ServerReflectionResponse.FromString,
            )
            asks = [
                r.ServerReflectionRequest(list_services=""),
                r.ServerReflectionRequest(file_containing_symbol="jis.v1.BroadcastService"),
            ]
            listed, described = list(info(iter(asks), timeout=10))
            names = {s.name for s in listed.list_services_response.service}
            assert {"jis.v1.BroadcastService", "grpc.reflection.v1.ServerReflection"} <= names, package
            assert described.file_descriptor_response.file_descriptor_proto, package


def state_of(client: Client, line_id: str, vehicles: list[str]) -> tuple[object, ...]:
    """Everything a client can see of a line, as comparable bytes."""
    seq = client.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id=line_id, page_size=10_000))
    line = client.lines.GetLine(lines_pb2.GetLineRequest(line_id=line_id))
    brk = all_breaks(client, breaks_pb2.ListBreaksRequest(line_id=line_id))
    for b in brk.breaks:  # an open break's slack is as of the read (the wall clock moves on)
        b.ClearField("slack")
    resolved = all_breaks(
        client, breaks_pb2.ListBreaksRequest(line_id=line_id, resolved_from=Timestamp(seconds=0))
    )
    vs = [client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=v)) for v in vehicles]
    return (
        seq.SerializeToString(deterministic=True),
        line.SerializeToString(deterministic=True),
        brk.SerializeToString(deterministic=True),
        resolved.SerializeToString(deterministic=True),
        [v.SerializeToString(deterministic=True) for v in vs],
    )


def test_state_after_kill_9_and_restart_is_identical_and_nothing_acknowledged_is_lost(
    fresh_server: ServerProcess,
) -> None:
    client = connect(fresh_server.address)
    configure_line(client, "K1")
    vehicles = [f"K1-V{i:03d}" for i in range(120)]
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[
            bc("K1", i + 1, ADD, v, 1000 + i, [part(part_number=f"S{i % 4}")])
            for i, v in enumerate(vehicles[:100])
        ]
    )
    assert client.broadcast.PublishBatch(batch, timeout=30).applied == 100
    call = 101
    for i, v in enumerate(vehicles[100:]):  # unary publishes, with a gap left open at 104
        if call == 104:
            call += 1
        client.broadcast.Publish(pub(bc("K1", call, ADD, v, 2000 + i, [part()])), timeout=10)
        call += 1
    client.broadcast.Publish(pub(bc("K1", call, PULL, vehicles[3])), timeout=10)
    client.broadcast.Publish(
        pub(bc("K1", call + 1, CHANGE, vehicles[5], 999, [part(part_number="NEW")])), timeout=10
    )
    client.broadcast.Publish(pub(bc("K1", call + 2, REINSERT, vehicles[3], 5000)), timeout=10)
    client.broadcast.Publish(
        pub(bc("K1", call + 1, CHANGE, vehicles[5], 999, [part(part_number="NEW")])), timeout=10
    )
    before = state_of(client, "K1", vehicles)
    client.channel.close()

    fresh_server.kill9()
    fresh_server.restart()
    client = connect(fresh_server.address)
    after = state_of(client, "K1", vehicles)
    assert after == before
    line = client.lines.GetLine(lines_pb2.GetLineRequest(line_id="K1"))
    assert (line.highest_call_no, line.missing_calls, line.duplicates, line.active_vehicles) == (
        call + 2,
        1,
        1,
        120,
    )
    # The recovered ledger still tells duplicates from conflicts.
    assert client.broadcast.Publish(
        pub(bc("K1", 1, ADD, vehicles[0], 1000, [part(part_number="S0")]))
    ).disposition == (broadcast_pb2.DISPOSITION_DUPLICATE)
    with pytest.raises(grpc.RpcError) as info:
        client.broadcast.Publish(pub(bc("K1", 1, ADD, vehicles[0], 1001, [part()])))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    client.channel.close()


def test_sigterm_stops_cleanly_and_restart_recovers(fresh_server: ServerProcess) -> None:
    client = connect(fresh_server.address)
    configure_line(client, "T1")
    client.broadcast.Publish(pub(bc("T1", 1, ADD, "T1-V", 10, [part()])), timeout=10)
    client.channel.close()
    assert fresh_server.stop() == 0
    assert "jis stopped" in fresh_server.log_text()
    fresh_server.restart()
    client = connect(fresh_server.address)
    assert client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="T1-V")).seq_no == 10
    # A clean stop leaves a snapshot: the restart restores it and replays nothing. The log
    # holds the line, then the publish inside its commit group's marks (group, broadcast, eval).
    assert "restored the snapshot taken at log position 4" in fresh_server.log_text()
    assert "recovered 0 log records" in fresh_server.log_text()
    client.channel.close()


def test_set_clock_outside_test_mode_is_failed_precondition(client: Client) -> None:
    reading = client.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10)
    assert not reading.test_mode
    with pytest.raises(grpc.RpcError) as info:
        client.clock.SetClock(lines_pb2.SetClockRequest(now=reading.now), timeout=10)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION and info.value.details().startswith(
        "now:"
    )


def test_test_clock_moves_forward_only_and_survives_restart(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        client = connect(proc.address)
        t = Timestamp()
        t.FromJsonString("2026-01-01T06:00:00Z")
        assert client.clock.SetClock(lines_pb2.SetClockRequest(now=t)).now == t
        assert client.clock.GetClock(lines_pb2.GetClockRequest()).now == t  # stands still
        configure_line(client, "C1")
        line = client.lines.GetLine(lines_pb2.GetLineRequest(line_id="C1"))
        assert line.configured_at == t
        earlier = Timestamp()
        earlier.FromJsonString("2026-01-01T05:59:59Z")
        with pytest.raises(grpc.RpcError) as info:
            client.clock.SetClock(lines_pb2.SetClockRequest(now=earlier))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        client.channel.close()
        proc.kill9()
        proc.restart()
        client = connect(proc.address)
        assert client.clock.GetClock(lines_pb2.GetClockRequest()).now == t
        client.channel.close()
    finally:
        proc.stop()


def test_corrupt_store_is_a_clear_error_and_exit_code_not_an_empty_state(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "jis.sqlite3").write_bytes(b"this is not a database, it was overwritten" * 100)
    r = subprocess.run(
        [sys.executable, "-m", "jis", "serve", "--port", "0", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "store is unreadable" in r.stderr and "jis.sqlite3" in r.stderr


def test_truncated_store_is_a_clear_error(tmp_path: Path, fresh_server: ServerProcess) -> None:
    client = connect(fresh_server.address)
    configure_line(client, "TR")
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[bc("TR", i + 1, ADD, f"TR-V{i}", i, [part()]) for i in range(300)]
    )
    client.broadcast.PublishBatch(batch, timeout=30)
    client.channel.close()
    fresh_server.stop()
    db = fresh_server.data_dir / "jis.sqlite3"
    assert not Path(f"{db}-wal").exists()  # a clean stop checkpoints the WAL into the file
    raw = db.read_bytes()
    db.write_bytes(raw[: len(raw) // 2])
    r = subprocess.run(
        [sys.executable, "-m", "jis", "serve", "--port", "0", "--data-dir", str(fresh_server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "store is unreadable" in r.stderr


def test_a_request_whose_deadline_passed_while_queued_is_not_done(fresh_server: ServerProcess) -> None:
    client = connect(fresh_server.address)
    configure_line(client, "DL")
    # Keep the engine thread busy with a large batch, then queue a write with a short deadline.
    big = broadcast_pb2.PublishBatchRequest(
        broadcasts=[
            bc("DL", i + 1, ADD, f"DL-V{i}", i, [part(group=f"G{g}") for g in range(8)]) for i in range(8000)
        ]
    )
    busy = client.broadcast.PublishBatch.future(big, timeout=120)
    import time

    time.sleep(0.05)
    with pytest.raises(grpc.RpcError) as info:
        configure_line_req = lines_pb2.ConfigureLineRequest(line_id="DL-LATE")
        configure_line_req.takt.FromSeconds(60)
        configure_line_req.heartbeat.FromSeconds(60)
        client.lines.ConfigureLine(configure_line_req, timeout=0.05)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert busy.result().applied == 8000
    with pytest.raises(grpc.RpcError) as info:
        client.lines.GetLine(lines_pb2.GetLineRequest(line_id="DL-LATE"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND  # the late write was not done
    client.channel.close()


def test_concurrent_inputs_evaluated_per_commit_group_replay_to_the_same_breaks(tmp_path: Path) -> None:
    """Many clients at once, so requests share commit groups (evaluated once per group, with a
    clock moving in between); after kill -9 the replay reaches the same breaks, ids and
    detection times included."""
    proc = ServerProcess(tmp_path / "data", "--test-clock", "--metrics-port", "0").start()
    t0 = 1_800_000_000
    try:
        c = connect(proc.address)
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=t0)), timeout=10)
        req = lines_pb2.ConfigureLineRequest(
            line_id="G1", takt=Duration(seconds=60), heartbeat=Duration(seconds=600)
        )
        req.epoch.FromSeconds(t0)
        c.lines.ConfigureLine(req, timeout=10)
        c.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id="SUP1", lead_time=Duration(seconds=1800)),
            timeout=10,
        )
        calls = iter(range(1, 10_000))
        lock = threading.Lock()

        def publisher(k: int) -> None:
            cc = connect(proc.address)
            for i in range(40):
                with lock:
                    n = next(calls)
                cc.broadcast.Publish(pub(bc("G1", n, ADD, f"G1-{k}-{i}", n, [part()])), timeout=30)
                if i % 3 == 0:
                    cc.supply.ReportBuild(
                        supply_pb2.ReportBuildRequest(
                            supplier_id="SUP1",
                            group="SEAT",
                            line_id="G1",
                            vehicle_id=f"G1-{k}-{i}",
                            part_number="S-RED",
                        ),
                        timeout=30,
                    )
            cc.channel.close()

        def clock() -> None:
            cc = connect(proc.address)
            for m in range(1, 30):
                cc.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=t0 + 60 * m)), timeout=30)
            cc.channel.close()

        threads = [threading.Thread(target=publisher, args=(k,)) for k in range(6)]
        threads.append(threading.Thread(target=clock))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

        def state() -> list[bytes]:
            open_ = all_breaks(c, breaks_pb2.ListBreaksRequest())
            resolved = all_breaks(c, breaks_pb2.ListBreaksRequest(resolved_from=Timestamp()))
            seq = c.sequence.ListSequence(
                sequence_pb2.ListSequenceRequest(line_id="G1", page_size=1000), timeout=30
            )
            return [m.SerializeToString(deterministic=True) for m in (open_, resolved, seq)]

        with urllib.request.urlopen(proc.metrics_url(), timeout=10) as r:
            groups = {
                s.labels.get("le"): s.value
                for fam in text_string_to_metric_families(r.read().decode())
                for s in fam.samples
                if s.name == "jis_engine_group_requests_bucket"
            }
        assert groups["1.0"] < groups["+Inf"], "some commit groups held more than one request"
        before = state()
        kinds = {b.type for b in breaks_pb2.ListBreaksResponse.FromString(before[0]).breaks}
        assert breaks_pb2.BREAK_TYPE_MISSING in kinds and breaks_pb2.BREAK_TYPE_WRONG_VARIANT in kinds
        proc.kill9()
        proc.restart()
        assert state() == before
        c.channel.close()
    finally:
        proc.stop_if_running()
