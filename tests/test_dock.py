"""SPEC.md 2.2 and 4, dock and yard: appointments, door double-booking, trailer events
and the racks they move, gate wait, door dwell and punctuality, through real gRPC.

The server runs with the test clock so that "now" (booking time, live waits) is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import dock_pb2, lines_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.serverproc import ServerProcess

D = dock_pb2
MIN = 60 * 10**9
DAY = 1_800_000_000 * 10**9  # 2027-01-15T08:00:00Z, the clock's start
_ids = itertools.count(1)


def at(minutes: float) -> Timestamp:
    ns = DAY + int(minutes * MIN)
    return Timestamp(seconds=ns // 10**9, nanos=ns % 10**9)


@pytest.fixture(scope="module")
def dock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("dock") / "data", "--test-clock").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def dc(dock_server: ServerProcess) -> Iterator[Client]:
    c = connect(dock_server.address)
    c.clock.SetClock(lines_pb2.SetClockRequest(now=at(0)), timeout=10)
    for sup in ("DS1", "DS2"):
        c.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(
                supplier_id=sup, lead_time=Duration(seconds=4 * 3600), unload_to_line=Duration(seconds=600)
            ),
            timeout=10,
        )
    c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id="DL", takt=Duration(seconds=60), heartbeat=Duration(seconds=86400)
        ),
        timeout=10,
    )
    yield c
    c.channel.close()


def rack(c: Client, supplier: str = "DS1") -> str:
    rack_id = f"DR{next(_ids)}"
    c.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id=rack_id,
            supplier_id=supplier,
            group="SEAT",
            line_id="DL",
            capacity=4,
            slots=[supply_pb2.RackSlot(vehicle_id=f"{rack_id}-V", part_number="P")],
            eta=at(130),
        ),
        timeout=10,
    )
    return rack_id


def spec(door: str, start: float, end: float, racks: list[str] = (), **kw: str) -> D.AppointmentSpec:  # type: ignore[assignment]
    return D.AppointmentSpec(
        appointment_id=kw.get("appointment_id", f"A{next(_ids)}"),
        door=door,
        window_start=at(start),
        window_end=at(end),
        carrier=kw.get("carrier", "TRUCKCO"),
        trailer=kw.get("trailer", f"TR-{next(_ids)}"),
        supplier_id=kw.get("supplier_id", "DS1"),
        rack_ids=list(racks),
    )


def event(c: Client, appointment_id: str, kind: int, minutes: float) -> D.Appointment:
    return c.dock.RecordYardEvent(
        D.YardEventRequest(appointment_id=appointment_id, kind=kind, at=at(minutes)), timeout=10
    )  # type: ignore[arg-type]


def refused(call, code: grpc.StatusCode, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == code, err.value.details()
    assert field in err.value.details()


def test_a_door_booked_twice_for_overlapping_windows_is_rejected(dc: Client) -> None:
    door = f"DOOR{next(_ids)}"
    a = dc.dock.BookAppointment(spec(door, 120, 150), timeout=10)
    assert a.state == D.APPOINTMENT_STATE_BOOKED and a.booked_at == at(0)
    refused(
        lambda: dc.dock.BookAppointment(spec(door, 135, 165), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "door",
    )
    refused(
        lambda: dc.dock.BookAppointment(spec(door, 100, 121), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "door",
    )
    refused(
        lambda: dc.dock.BookAppointment(spec(door, 110, 160), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "door",
    )
    b = dc.dock.BookAppointment(spec(door, 150, 180), timeout=10)  # back to back is fine
    dc.dock.BookAppointment(spec(f"{door}-OTHER", 120, 150), timeout=10)  # another door is fine
    # A change into A's window is refused and leaves B as it was.
    moved = D.AppointmentSpec()
    moved.CopyFrom(b.spec)
    moved.window_start.CopyFrom(at(140))
    refused(lambda: dc.dock.ChangeAppointment(moved, timeout=10), grpc.StatusCode.FAILED_PRECONDITION, "door")
    assert (
        dc.dock.GetAppointment(D.GetAppointmentRequest(appointment_id=b.spec.appointment_id)).spec == b.spec
    )
    # Cancelled, A no longer holds the door.
    dc.dock.CancelAppointment(D.CancelAppointmentRequest(appointment_id=a.spec.appointment_id), timeout=10)
    dc.dock.BookAppointment(spec(door, 125, 150), timeout=10)
    refused(
        lambda: dc.dock.BookAppointment(spec(door, 10, 20, appointment_id=b.spec.appointment_id), timeout=10),
        grpc.StatusCode.ALREADY_EXISTS,
        "appointment_id",
    )


def test_trailer_events_move_racks_and_give_wait_dwell_and_punctuality(
    dc: Client, dock_server: ServerProcess
) -> None:
    door = f"DOOR{next(_ids)}"
    r1, r2 = rack(dc), rack(dc)
    a = dc.dock.BookAppointment(spec(door, 120, 150, [r1, r2]), timeout=10).spec.appointment_id
    b = dc.dock.BookAppointment(spec(door, 150, 165), timeout=10).spec.appointment_id

    got = event(dc, a, D.YARD_EVENT_KIND_GATE_IN, 125)
    assert got.state == D.APPOINTMENT_STATE_IN_YARD
    assert got.punctuality.ToSeconds() == 5 * 60 and got.on_time  # 5 min into its window
    assert dc.supply.GetRack(supply_pb2.GetRackRequest(rack_id=r1)).stage == supply_pb2.RACK_STAGE_IN_TRANSIT

    got = event(dc, a, D.YARD_EVENT_KIND_AT_DOOR, 145)
    assert got.state == D.APPOINTMENT_STATE_AT_DOOR and got.gate_wait.ToSeconds() == 20 * 60
    for r in (r1, r2):
        view = dc.supply.GetRack(supply_pb2.GetRackRequest(rack_id=r))
        assert view.stage == supply_pb2.RACK_STAGE_AT_DOCK and view.arrived_at == at(145)
        assert not view.HasField("unloaded_at")

    got = event(dc, a, D.YARD_EVENT_KIND_UNLOADED, 160)
    assert got.state == D.APPOINTMENT_STATE_UNLOADED and got.door_dwell.ToSeconds() == 15 * 60
    assert dc.supply.GetRack(supply_pb2.GetRackRequest(rack_id=r2)).unloaded_at == at(160)

    # B gates in 20 min after its window closed: late, and still waiting at 02:58.
    late = event(dc, b, D.YARD_EVENT_KIND_GATE_IN, 185)
    assert late.punctuality.ToSeconds() == 35 * 60 and not late.on_time
    dc.clock.SetClock(lines_pb2.SetClockRequest(now=at(190)), timeout=10)
    yard = dc.dock.GetYard(D.GetYardRequest(door=door), timeout=10)
    assert [x.spec.appointment_id for x in yard.waiting] == [b]
    assert yard.waiting[0].gate_wait.ToSeconds() == 5 * 60  # gate-in to now
    assert list(yard.at_door) == []
    (sched,) = yard.doors
    assert sched.door == door and [x.spec.appointment_id for x in sched.appointments] == [a, b]
    window = dc.dock.GetYard(D.GetYardRequest(door=door, to=at(150)), timeout=10)
    assert [x.spec.appointment_id for x in window.doors[0].appointments] == [a]

    # Everything survives a kill -9.
    before = [dc.dock.GetAppointment(D.GetAppointmentRequest(appointment_id=x), timeout=10) for x in (a, b)]
    dock_server.kill9()
    dock_server.restart()
    after = [dc.dock.GetAppointment(D.GetAppointmentRequest(appointment_id=x), timeout=30) for x in (a, b)]
    assert after == before


def test_yard_events_out_of_order_or_back_in_time_are_refused(dc: Client) -> None:
    a = dc.dock.BookAppointment(spec(f"DOOR{next(_ids)}", 300, 330), timeout=10).spec.appointment_id
    refused(
        lambda: event(dc, a, D.YARD_EVENT_KIND_AT_DOOR, 305),
        grpc.StatusCode.FAILED_PRECONDITION,
        "appointment_id",
    )
    event(dc, a, D.YARD_EVENT_KIND_GATE_IN, 305)
    refused(lambda: event(dc, a, D.YARD_EVENT_KIND_AT_DOOR, 300), grpc.StatusCode.INVALID_ARGUMENT, "at")
    refused(lambda: event(dc, a, 9, 310), grpc.StatusCode.INVALID_ARGUMENT, "kind")
    refused(
        lambda: dc.dock.CancelAppointment(D.CancelAppointmentRequest(appointment_id=a), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "appointment_id",
    )
    refused(
        lambda: event(dc, "NO-SUCH", D.YARD_EVENT_KIND_GATE_IN, 305),
        grpc.StatusCode.NOT_FOUND,
        "appointment_id",
    )


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"door": ""}, grpc.StatusCode.INVALID_ARGUMENT, "door"),
        ({"supplier_id": "NOBODY"}, grpc.StatusCode.FAILED_PRECONDITION, "supplier_id"),
        ({"end": 400}, grpc.StatusCode.INVALID_ARGUMENT, "window_end"),
        ({"racks": ["NO-SUCH-RACK"]}, grpc.StatusCode.NOT_FOUND, "rack_ids[0]"),
        ({"racks": "other"}, grpc.StatusCode.FAILED_PRECONDITION, "rack_ids[0]"),
        ({"racks": "twice"}, grpc.StatusCode.INVALID_ARGUMENT, "rack_ids[1]"),
        ({"racks": "taken"}, grpc.StatusCode.FAILED_PRECONDITION, "rack_ids[0]"),
    ],
)
def test_bad_appointments_name_the_field(
    dc: Client, change: dict[str, object], code: grpc.StatusCode, field: str
) -> None:
    racks = change.get("racks", [])
    if racks == "other":
        racks = [rack(dc, "DS2")]
    elif racks == "twice":
        r = rack(dc)
        racks = [r, r]
    elif racks == "taken":
        r = rack(dc)
        dc.dock.BookAppointment(spec(f"DOOR{next(_ids)}", 500, 510, [r]), timeout=10)
        racks = [r]
    m = spec(
        f"DOOR{next(_ids)}",
        400,
        float(change.get("end", 430)),
        racks,
        supplier_id=str(change.get("supplier_id", "DS1")),
    )  # type: ignore[arg-type]
    if "door" in change:
        m.door = str(change["door"])
    refused(lambda: dc.dock.BookAppointment(m, timeout=10), code, field)
    refused(
        lambda: dc.dock.GetAppointment(D.GetAppointmentRequest(appointment_id=m.appointment_id), timeout=10),
        grpc.StatusCode.NOT_FOUND,
        "appointment_id",
    )
