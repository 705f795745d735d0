"""SPEC.md 4, KPIs over a time window, on a small day whose numbers are worked out by
hand below (each from the definitions, not from the server's output)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import breaks_pb2, broadcast_pb2, dock_pb2, lines_pb2, reports_pb2, supply_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, bc, part
from tests.serverproc import ServerProcess

S = supply_pb2
MIN = 60 * 10**9
T0 = 1_800_000_000 * 10**9  # 2027-01-15T08:00:00Z


def ts(minutes: float) -> Timestamp:
    ns = T0 + int(minutes * MIN)
    return Timestamp(seconds=ns // 10**9, nanos=ns % 10**9)


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    proc = ServerProcess(tmp_path_factory.mktemp("kpi") / "data", "--test-clock").start()
    c = connect(proc.address)
    yield c
    c.channel.close()
    proc.stop()


def clock(c: Client, minutes: float) -> None:
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(minutes)), timeout=10)


def dispatch(c: Client, rack: str, slots: list[tuple[str, str]], eta_min: float) -> None:
    c.supply.DispatchRack(
        S.DispatchRackRequest(
            rack_id=rack,
            supplier_id="KS",
            group="SEAT",
            line_id="KL",
            capacity=4,
            slots=[S.RackSlot(vehicle_id=v, part_number=p) for v, p in slots],
            eta=ts(eta_min),
        ),
        timeout=10,
    )


def test_kpis_of_a_small_day(kc: Client) -> None:
    c = kc
    clock(c, 0)
    configure_line(c, "KL", heartbeat_s=86400)
    configure_line(c, "KQ", heartbeat_s=86400)
    c.supply.ConfigureSupplier(
        S.ConfigureSupplierRequest(
            supplier_id="KS", lead_time=Duration(seconds=4 * 3600), unload_to_line=Duration(seconds=600)
        ),
        timeout=10,
    )
    # 08:00: V1..V6 broadcast (event time 07:58), needed at 11:01 .. 11:06. All six are
    # within the 4 h lead time with no slot: six MISSING, detected 2 min after their cause.
    batch = []
    for i in range(1, 7):
        m = bc("KL", i, ADD, f"KV{i}", i, [part("SEAT", "P", "KS")])
        m.need_time.CopyFrom(ts(180 + i))
        m.event_time.CopyFrom(ts(-2))
        batch.append(m)
    c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=10)
    # 08:30: three racks leave, which resolves the six MISSING 30 min after detection.
    # R1 [V1 V2 V3] fine; R2 [V5 V4] swapped (one OUT_OF_SEQUENCE); R3 [V6, wrong variant]
    # (WRONG_VARIANT) with ETA 11:00 + 10 min unload > 11:06 (LATE).
    clock(c, 30)
    dispatch(c, "KR1", [("KV1", "P"), ("KV2", "P"), ("KV3", "P")], 120)
    dispatch(c, "KR2", [("KV5", "P"), ("KV4", "P")], 170)
    dispatch(c, "KR3", [("KV6", "X")], 180)
    c.dock.BookAppointment(
        dock_pb2.AppointmentSpec(
            appointment_id="KA1",
            door="K1",
            window_start=ts(160),
            window_end=ts(180),
            supplier_id="KS",
            rack_ids=["KR2"],
        ),
        timeout=10,
    )
    # 10:00 R1 at the dock: 10:10 <= 11:01, on time, in full, right variants and order.
    clock(c, 120)
    c.supply.MoveRack(S.MoveRackRequest(rack_id="KR1", stage=S.RACK_STAGE_AT_DOCK), timeout=10)
    # R2's trailer: gate 10:45, door 10:50 (wait 5 min; its racks arrive: 11:00 <= 11:04,
    # on time, in full, right variants, wrong order), unloaded 11:05 (dwell 15 min).
    for kind, minute in ((1, 165), (2, 170), (3, 185)):
        clock(c, minute)
        c.dock.RecordYardEvent(dock_pb2.YardEventRequest(appointment_id="KA1", kind=kind), timeout=10)  # type: ignore[arg-type]
    # 11:00 R3 at the dock (reported at 11:10): 11:10 > 11:06, late; wrong variant; in
    # full, and in order (one slot).
    clock(c, 190)
    c.supply.MoveRack(S.MoveRackRequest(rack_id="KR3", stage=S.RACK_STAGE_AT_DOCK, at=ts(180)), timeout=10)

    k = c.reports.GetKpis(reports_pb2.GetKpisRequest(line_id="KL", supplier_id="KS"), timeout=10)
    assert (k.racks_delivered, k.racks_on_time, k.racks_in_full) == (3, 2, 3)
    assert (k.racks_right_variants, k.racks_right_order, k.racks_otif) == (2, 2, 1)
    assert k.otif == pytest.approx(1 / 3)
    # Slots in sequence: R1 3, R2 1 (one of the swapped pair moves), R3 0.
    assert (k.slots_delivered, k.slots_in_sequence) == (6, 4)
    assert k.sequence_accuracy == pytest.approx(4 / 6)
    # Lead time: broadcast 07:58 to arrival 10:00 (x3), 10:50 (x2), 11:00.
    leads_s = [122 * 60] * 3 + [172 * 60] * 2 + [182 * 60]
    assert k.lead_time_samples == 6
    assert k.lead_time_mean.ToNanoseconds() == pytest.approx(statistics.mean(leads_s) * 1e9, abs=1)
    assert k.lead_time_stddev.ToNanoseconds() == pytest.approx(statistics.pstdev(leads_s) * 1e9, abs=1)
    by_type = {b.type: (b.raised, b.resolved) for b in k.breaks}
    assert by_type[breaks_pb2.BREAK_TYPE_MISSING] == (6, 6)
    assert by_type[breaks_pb2.BREAK_TYPE_OUT_OF_SEQUENCE] == (1, 0)
    assert by_type[breaks_pb2.BREAK_TYPE_WRONG_VARIANT] == (1, 0)
    assert by_type[breaks_pb2.BREAK_TYPE_LATE] == (1, 0)
    assert sum(r for r, _ in by_type.values()) == 9
    # Detect: six MISSING 2 min after their cause, three breaks at once -> 12 min / 9.
    assert k.mean_time_to_detect.ToSeconds() == 12 * 60 // 9
    assert k.mean_time_to_resolve.ToSeconds() == 30 * 60
    assert (k.appointments, k.gate_wait_mean.ToSeconds(), k.door_dwell_mean.ToSeconds()) == (
        1,
        5 * 60,
        15 * 60,
    )

    # A window from 10:30 holds only R2 and R3: no OTIF rack.
    late = c.reports.GetKpis(reports_pb2.GetKpisRequest(line_id="KL", **{"from": ts(150)}), timeout=10)
    assert (late.racks_delivered, late.racks_otif, late.otif) == (2, 0, 0.0)
    assert late.HasField("otif") and sum(b.raised for b in late.breaks) == 0
    # Another line, or a supplier never seen: nothing, and no ratio.
    other = c.reports.GetKpis(reports_pb2.GetKpisRequest(line_id="KQ"), timeout=10)
    assert (
        other.racks_delivered == 0 and not other.HasField("otif") and not other.HasField("sequence_accuracy")
    )
    nobody = c.reports.GetKpis(reports_pb2.GetKpisRequest(supplier_id="NOBODY"), timeout=10)
    assert nobody.racks_delivered == 0 and nobody.appointments == 0


@pytest.mark.parametrize("size", [3, 40], ids=["one by one", "as columns"])
def test_time_to_detect_of_a_batch_survives_kill_9(tmp_path: Path, size: int) -> None:
    """A batch's breaks are detected from its earliest message's event time, also when that
    message is refused; a restart from the log must reach the same figure. Three messages
    take the per-message path, forty the packed one (a batch of at least bulk.MIN_RUN)."""
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        c = connect(proc.address)
        clock(c, 0)
        configure_line(c, "DL", heartbeat_s=86400)
        c.supply.ConfigureSupplier(
            S.ConfigureSupplierRequest(supplier_id="DS", lead_time=Duration(seconds=4 * 3600)), timeout=10
        )
        refused = bc("DL", 1, ADD, "", 1, [part("SEAT", "P", "DS")])  # no vehicle_id: refused by the engine
        refused.event_time.CopyFrom(ts(-50))
        batch = [refused]
        for i in range(2, size + 1):  # needed within the lead time, nothing built: MISSING
            m = bc("DL", i, ADD, f"DV{i}", i, [part("SEAT", "P", "DS")])
            m.need_time.CopyFrom(ts(60 + i))
            m.event_time.CopyFrom(ts(-2))
            batch.append(m)
        r = c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=30)
        assert (r.applied, r.rejected, r.results[0].field) == (size - 1, 1, "vehicle_id")
        query = reports_pb2.GetKpisRequest(line_id="DL", supplier_id="DS")
        before = c.reports.GetKpis(query, timeout=10)
        assert {b.type: b.raised for b in before.breaks}[breaks_pb2.BREAK_TYPE_MISSING] == size - 1
        assert before.mean_time_to_detect.ToSeconds() == 50 * 60  # from the refused message's 07:10
        c.channel.close()
        proc.kill9()
        proc.restart()
        c = connect(proc.address)
        assert c.reports.GetKpis(query, timeout=10) == before
        c.channel.close()
    finally:
        proc.stop()
