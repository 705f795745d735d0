"""SPEC.md 4, inventory view: slots per stage and coverage, on a worked example, over gRPC."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import reports_pb2, supply_pb2
from tests.conftest import Client
from tests.factories import ADD, INSTALLED, PULL, bc, part, pub

S = supply_pb2


def configure_supplier(client: Client, supplier_id: str) -> None:
    client.supply.ConfigureSupplier(
        S.ConfigureSupplierRequest(
            supplier_id=supplier_id,
            lead_time=Duration(seconds=4 * 3600),
            unload_to_line=Duration(seconds=600),
        ),
        timeout=10,
    )


def dispatch(
    client: Client,
    line_id: str,
    rack: str,
    group: str,
    slots: list[tuple[str, str]],
    supplier_id: str = "INV1",
) -> None:
    client.supply.DispatchRack(
        S.DispatchRackRequest(
            rack_id=rack,
            supplier_id=supplier_id,
            group=group,
            line_id=line_id,
            capacity=4,
            slots=[S.RackSlot(vehicle_id=v, part_number=p) for v, p in slots],
            eta=client_now_plus_hours(2),
        ),
        timeout=10,
    )


def client_now_plus_hours(h: int) -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    ts.seconds += h * 3600
    return ts


def move(client: Client, rack: str, stage: int) -> None:
    client.supply.MoveRack(S.MoveRackRequest(rack_id=rack, stage=stage), timeout=10)  # type: ignore[arg-type]


def test_inventory_counts_slots_per_stage_and_coverage_on_a_worked_example(
    client: Client, line_id: str
) -> None:
    configure_supplier(client, "INV1")
    v = [f"{line_id}-V{i}" for i in range(10)]
    # V0..V9 at seq_no 0..9, one seat (S-BLK, V5 needs S-RED) and one cockpit (C-1) each.
    for i in range(10):
        seat = part("SEAT", "S-RED" if i == 5 else "S-BLK", "INV1")
        client.broadcast.Publish(
            pub(bc(line_id, i + 1, ADD, v[i], i, [seat, part("COCKPIT", "C-1", "INV1")]))
        )
    # Seats: rack SR1 [V0..V3] goes to line side; V0 is then installed (its slot consumed).
    # Rack SR2 [V4, V5 with the wrong variant S-BLK, V6] is at the dock; SR3 [V7] in
    # transit; V8's seat is built, not racked; V9's seat is not built (planned).
    dispatch(client, line_id, f"{line_id}-SR1", "SEAT", [(v[i], "S-BLK") for i in range(4)])
    dispatch(client, line_id, f"{line_id}-SR2", "SEAT", [(v[4], "S-BLK"), (v[5], "S-BLK"), (v[6], "S-BLK")])
    dispatch(client, line_id, f"{line_id}-SR3", "SEAT", [(v[7], "S-BLK")])
    client.supply.ReportBuild(
        S.ReportBuildRequest(
            supplier_id="INV1", group="SEAT", line_id=line_id, vehicle_id=v[8], part_number="S-BLK"
        ),
        timeout=10,
    )
    move(client, f"{line_id}-SR1", S.RACK_STAGE_AT_DOCK)
    move(client, f"{line_id}-SR1", S.RACK_STAGE_LINE_SIDE)
    move(client, f"{line_id}-SR2", S.RACK_STAGE_AT_DOCK)
    client.broadcast.Publish(pub(bc(line_id, 11, INSTALLED, v[0])), timeout=10)
    # Cockpits: CR1 [V1..V3] at line side (V0's was never delivered: it is installed, so
    # no longer expected), CR2 [V4, V5] in transit; nothing for V6..V9.
    dispatch(client, line_id, f"{line_id}-CR1", "COCKPIT", [(v[i], "C-1") for i in (1, 2, 3)])
    dispatch(client, line_id, f"{line_id}-CR2", "COCKPIT", [(v[4], "C-1"), (v[5], "C-1")])
    move(client, f"{line_id}-CR1", S.RACK_STAGE_AT_DOCK)
    move(client, f"{line_id}-CR1", S.RACK_STAGE_LINE_SIDE)

    inv = client.reports.GetInventory(reports_pb2.GetInventoryRequest(line_id=line_id), timeout=10)
    by_group = {s.group: s for s in inv.scopes}
    assert set(by_group) == {"SEAT", "COCKPIT"}
    seat, cockpit = by_group["SEAT"], by_group["COCKPIT"]
    # E is V1..V9 (V0 installed). Seat slots in S order: V1 V2 V3 (line side), V4 V5 V6
    # (dock), V7 (transit), V8 (built). The run from the start of E matches up to V4;
    # V5's slot has the wrong variant, so 4 vehicles are covered, all of them at the plant.
    assert (seat.expected, seat.planned) == (9, 1)
    assert (seat.line_side, seat.at_dock, seat.in_transit, seat.built, seat.consumed) == (3, 3, 1, 1, 1)
    assert (seat.covered_vehicles, seat.covered_vehicles_at_plant) == (4, 4)
    assert seat.coverage.ToSeconds() == 4 * 60 and seat.plant_coverage.ToSeconds() == 4 * 60  # takt 60 s
    # Cockpit: V1 V2 V3 at line side, V4 V5 in transit, V6 has none: 5 covered, 3 at the plant.
    assert (cockpit.expected, cockpit.planned) == (9, 4)
    assert (cockpit.line_side, cockpit.at_dock, cockpit.in_transit, cockpit.built, cockpit.consumed) == (
        3,
        0,
        2,
        0,
        0,
    )
    assert (cockpit.covered_vehicles, cockpit.covered_vehicles_at_plant) == (5, 3)
    assert cockpit.coverage.ToSeconds() == 300 and cockpit.plant_coverage.ToSeconds() == 180

    only = client.reports.GetInventory(
        reports_pb2.GetInventoryRequest(line_id=line_id, supplier_id="INV1", group="COCKPIT"), timeout=10
    )
    assert [s.group for s in only.scopes] == ["COCKPIT"]
    none = client.reports.GetInventory(
        reports_pb2.GetInventoryRequest(line_id=line_id, supplier_id="NOBODY"), timeout=10
    )
    assert list(none.scopes) == []


def test_an_out_of_sequence_slot_ends_the_coverage(client: Client, line_id: str) -> None:
    configure_supplier(client, "INV1")
    v = [f"{line_id}-V{i}" for i in range(4)]
    for i in range(4):
        client.broadcast.Publish(pub(bc(line_id, i + 1, ADD, v[i], i, [part("SEAT", "S-BLK", "INV1")])))
    # V0, V2, V1, V3 at line side: only V0 is in sequence from the start.
    dispatch(
        client,
        line_id,
        f"{line_id}-R",
        "SEAT",
        [(v[0], "S-BLK"), (v[2], "S-BLK"), (v[1], "S-BLK"), (v[3], "S-BLK")],
    )
    move(client, f"{line_id}-R", S.RACK_STAGE_AT_DOCK)
    inv = client.reports.GetInventory(reports_pb2.GetInventoryRequest(line_id=line_id), timeout=10)
    (seat,) = inv.scopes
    assert (seat.at_dock, seat.covered_vehicles, seat.covered_vehicles_at_plant) == (4, 1, 1)


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        ({"line_id": ""}, grpc.StatusCode.INVALID_ARGUMENT, "line_id"),
        ({"line_id": "NO-SUCH-LINE"}, grpc.StatusCode.NOT_FOUND, "line_id"),
    ],
)
def test_bad_inventory_requests_name_the_field(
    client: Client, kw: dict[str, str], code: grpc.StatusCode, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.reports.GetInventory(reports_pb2.GetInventoryRequest(**kw), timeout=10)
    assert err.value.code() == code and field in err.value.details()


def test_old_orphan_slots_at_line_side_do_not_reset_the_coverage(client: Client, line_id: str) -> None:
    """The fault: after a simulated day, coverage read 0.0 min with 118 slots at line side,
    because the slots of vehicles pulled long ago sat at the front of S. Coverage now counts
    the vehicles of E, from the next one, that get a right slot in order, setting aside the
    slots a line-side worker pulls without stopping the line (orphans, duplicates)."""
    configure_supplier(client, "INV3")
    v = [f"{line_id}-V{i}" for i in range(6)]
    for i in range(6):
        client.broadcast.Publish(pub(bc(line_id, i + 1, ADD, v[i], i, [part("SEAT", "S-BLK", "INV3")])))
    dispatch(client, line_id, f"{line_id}-OLD", "SEAT", [(v[0], "S-BLK"), (v[1], "S-BLK")], "INV3")
    move(client, f"{line_id}-OLD", S.RACK_STAGE_AT_DOCK)
    move(client, f"{line_id}-OLD", S.RACK_STAGE_LINE_SIDE)
    for i, n in ((0, 7), (1, 8)):  # V0 and V1 pulled: their slots at line side are orphans now
        client.broadcast.Publish(pub(bc(line_id, n, PULL, v[i])))
    # V2 V3 V3 V4 at the dock (V3 twice), then V5 in transit: 4 vehicles covered, 3 at the plant
    dispatch(client, line_id, f"{line_id}-NEW", "SEAT", [(v[k], "S-BLK") for k in (2, 3, 3, 4)], "INV3")
    move(client, f"{line_id}-NEW", S.RACK_STAGE_AT_DOCK)
    dispatch(client, line_id, f"{line_id}-LAST", "SEAT", [(v[5], "S-BLK")], "INV3")
    inv = client.reports.GetInventory(reports_pb2.GetInventoryRequest(line_id=line_id), timeout=10)
    (seat,) = inv.scopes
    assert (seat.line_side, seat.at_dock, seat.in_transit) == (2, 4, 1)
    assert (seat.expected, seat.covered_vehicles, seat.covered_vehicles_at_plant) == (4, 4, 3)
    assert seat.coverage.ToSeconds() == 4 * 60 and seat.plant_coverage.ToSeconds() == 3 * 60
