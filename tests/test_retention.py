"""Retention: vehicles, racks, appointments and KPI facts that are history leave memory
for the store's archive and still answer, the same, also after kill -9 and a restart."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client.parser import text_string_to_metric_families

from jis.v1 import breaks_pb2, broadcast_pb2, dock_pb2, lines_pb2, reports_pb2, sequence_pb2, supply_pb2
from tests.conftest import Client, all_breaks, configure_line, connect
from tests.factories import ADD, CANCEL, INSTALLED, PULL, bc, part, pub
from tests.serverproc import ServerProcess

MIN = 60
T0 = 1_767_225_600 - 10 * 3600  # ten hours before the line's epoch (2026-01-01)


def at(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def set_clock(c: Client, seconds: int) -> None:
    c.clock.SetClock(lines_pb2.SetClockRequest(now=at(seconds)), timeout=10)


def rows(proc: ServerProcess) -> dict[str, float]:
    """jis_state_rows by table, and the retention cutoff as "retained_to"."""
    with urllib.request.urlopen(proc.metrics_url(), timeout=10) as r:
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "jis_state_rows":
                out[s.labels["table"]] = s.value
            elif s.name == "jis_retained_to_timestamp_seconds":
                out["retained_to"] = s.value
    return out


def plant_history(c: Client) -> None:
    """Vehicles RT-1..RT-3 built, racked on R-1, trucked on A-1 (gate-in, door, unloaded),
    at line side and INSTALLED: history, once the retention has passed. RT-4 is CANCELLED
    with its slot still in S (an orphan: it stays), RT-5 is PULLED (it may come back: it
    stays), RT-6 is in the sequence with its slot on R-2, in transit (both stay)."""
    set_clock(c, T0)
    configure_line(c, "RT", heartbeat_s=86_400)  # no silence break within the test
    c.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="PG", lead_time=Duration(seconds=30 * 86_400)),
        timeout=10,
    )
    batch = [bc("RT", k, ADD, f"RT-{k}", k, [part("SEAT", "P-1", "PG")]) for k in range(1, 7)]
    assert (
        c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=30).applied == 6
    )
    for k in (1, 2, 3, 4, 6):
        c.supply.ReportBuild(
            supply_pb2.ReportBuildRequest(
                supplier_id="PG", group="SEAT", line_id="RT", vehicle_id=f"RT-{k}", part_number="P-1"
            ),
            timeout=10,
        )

    def dispatch(rack_id: str, vehicles: list[int]) -> None:
        c.supply.DispatchRack(
            supply_pb2.DispatchRackRequest(
                rack_id=rack_id,
                supplier_id="PG",
                group="SEAT",
                line_id="RT",
                capacity=3,
                slots=[supply_pb2.RackSlot(vehicle_id=f"RT-{k}", part_number="P-1") for k in vehicles],
                eta=at(T0 + 60 * MIN),
            ),
            timeout=10,
        )

    dispatch("R-1", [1, 2, 3])
    dispatch("R-2", [6])
    spec = dock_pb2.AppointmentSpec(
        appointment_id="A-1",
        door="D1",
        window_start=at(T0),
        window_end=at(T0 + 120 * MIN),
        carrier="C",
        trailer="T",
        supplier_id="PG",
        rack_ids=["R-1"],
    )
    c.dock.BookAppointment(spec, timeout=10)
    for minute, kind in (
        (5, dock_pb2.YARD_EVENT_KIND_GATE_IN),
        (10, dock_pb2.YARD_EVENT_KIND_AT_DOOR),
        (20, dock_pb2.YARD_EVENT_KIND_UNLOADED),
    ):
        set_clock(c, T0 + minute * MIN)
        c.dock.RecordYardEvent(dock_pb2.YardEventRequest(appointment_id="A-1", kind=kind), timeout=10)
    set_clock(c, T0 + 25 * MIN)
    c.supply.MoveRack(
        supply_pb2.MoveRackRequest(rack_id="R-1", stage=supply_pb2.RACK_STAGE_LINE_SIDE), timeout=10
    )
    set_clock(c, T0 + 30 * MIN)
    leave = [bc("RT", 6 + k, INSTALLED, f"RT-{k}") for k in (1, 2, 3)]
    leave += [bc("RT", 10, CANCEL, "RT-4"), bc("RT", 11, PULL, "RT-5")]
    assert (
        c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=leave), timeout=30).applied == 5
    )


def answers(c: Client) -> dict[str, bytes]:
    """Every read that retention must keep answering the same, serialized."""
    out: dict[str, Message] = {}
    for k in range(1, 7):
        out[f"vehicle RT-{k}"] = c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=f"RT-{k}"))
    for rack in ("R-1", "R-2"):
        out[f"rack {rack}"] = c.supply.GetRack(supply_pb2.GetRackRequest(rack_id=rack))
    out["appointment"] = c.dock.GetAppointment(dock_pb2.GetAppointmentRequest(appointment_id="A-1"))
    for who in ({}, {"line_id": "RT"}, {"supplier_id": "PG"}, {"line_id": "RT", "supplier_id": "PG"}):
        for lo, hi in ((None, 120), (0, 60), (15, 120)):  # what happened before the retention's cutoff
            request = reports_pb2.GetKpisRequest(**who, to=at(T0 + hi * MIN))  # type: ignore[arg-type]
            if lo is not None:
                getattr(request, "from").CopyFrom(at(T0 + lo * MIN))
            out[f"kpis {who} {lo} {hi}"] = c.reports.GetKpis(request, timeout=10)
    resolved = breaks_pb2.ListBreaksRequest(line_id="RT", resolved_from=at(0), resolved_to=at(T0 + 120 * MIN))
    out["resolved breaks"] = all_breaks(c, resolved)
    return {k: v.SerializeToString(deterministic=True) for k, v in out.items()}


def test_history_leaves_memory_and_answers_the_same_from_the_archive(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", "--test-clock", "--retain", "1h", "--metrics-port", "0").start()
    try:
        c = connect(proc.address)
        plant_history(c)
        before = answers(c)
        held = rows(proc)
        assert (held["vehicles"], held["racks"], held["appointments"]) == (6, 2, 1)
        assert held["retained_to"] == 0
        before_rows = held
        kpis = reports_pb2.Kpis.FromString(before["kpis {} None 120"])
        assert kpis.racks_delivered == 1 and kpis.appointments == 1 and kpis.lead_time_samples == 3

        # The first group after the clock passed the retention archives what is history.
        set_clock(c, T0 + 180 * MIN)
        c.broadcast.Publish(pub(bc("RT", 12, ADD, "RT-7", 7, [part("SEAT", "P-1", "PG")])), timeout=10)
        held = rows(proc)
        assert held["retained_to"] == T0 + 120 * MIN
        assert (held["vehicles"], held["racks"], held["appointments"]) == (4, 1, 0)  # RT-4..RT-7, R-2
        assert (held["slots"], held["deliveries"], held["lead_times"]) == (2, 0, 0)  # RT-4's and RT-6's
        # resolved breaks and build-sequence changes went too: what answers now comes from the archive
        assert before_rows["resolved_breaks"] > 0 and held["resolved_breaks"] == 0
        assert held["feed_events"] < before_rows["feed_events"]
        assert answers(c) == before

        proc.kill9()
        proc.restart()
        c = connect(proc.address)
        assert answers(c) == before
        assert rows(proc) == held

        # An archived id may be used again; the one in memory answers.
        c.broadcast.Publish(pub(bc("RT", 13, ADD, "RT-1", 8, [part("SEAT", "P-2", "PG")])), timeout=10)
        again = c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="RT-1"), timeout=10)
        assert (again.seq_no, again.parts[0].part_number) == (8, "P-2")
        with pytest.raises(grpc.RpcError) as err:
            c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="RT-99"), timeout=10)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        proc.stop()
