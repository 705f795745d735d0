"""SPEC.md 3 through a real gRPC channel: each break raised, resolved, never raised twice.

The server runs with the test clock, so every time-driven break is checked at the
exact moment it is due.
"""

from __future__ import annotations

import itertools
import queue
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.alerts.breaks import HISTORY_COLUMNS, BreakType
from jis.engine.engine import Engine
from jis.engine.model import (
    Action,
    Broadcast,
    BuildReport,
    LineConfig,
    PartDemand,
    RackDispatch,
    RackStage,
    SupplierConfig,
)
from jis.v1 import breaks_pb2, broadcast_pb2, lines_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part, pub
from tests.serverproc import ServerProcess

MIN = 60 * 10**9
T = breaks_pb2
B = breaks_pb2.SequenceBreak


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("clk") / "data", "--test-clock").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def cclient(clock_server: ServerProcess) -> Iterator[Client]:
    c = connect(clock_server.address)
    c.supply = supply_pb2_grpc_stub(c.channel)  # type: ignore[attr-defined]
    yield c
    c.channel.close()


def supply_pb2_grpc_stub(ch: grpc.Channel) -> object:
    from jis.v1 import supply_pb2_grpc

    return supply_pb2_grpc.SupplyServiceStub(ch)


_ids = itertools.count(1)


def ts(ns: int) -> Timestamp:
    return Timestamp(seconds=ns // 10**9, nanos=ns % 10**9)


def rfc3339(ns: int) -> str:
    return ts(ns).ToJsonString()


@dataclass
class World:
    """One line and one supplier (lead 30 min, unload 10 min), seq_no n needed at t0 + n min."""

    c: Client
    line: str
    sup: str
    t0: int
    call: int = 0

    def at(self, minutes: float) -> int:
        return self.t0 + int(minutes * MIN)

    def set_clock(self, ns: int) -> None:
        self.c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(ns)), timeout=10)

    def v(self, name: str) -> str:
        return f"{self.line}-{name}"

    def send(
        self,
        action: int,
        vehicle: str,
        seq_no: int | None = None,
        pn: str | None = "P-A",
        call_no: int | None = None,
    ) -> broadcast_pb2.PublishResponse:
        if call_no is None:
            self.call += 1
            call_no = self.call
        parts = [part("SEAT", pn, self.sup)] if pn else []
        return self.c.broadcast.Publish(
            pub(bc(self.line, call_no, action, self.v(vehicle), seq_no, parts)), timeout=10
        )

    def build(self, vehicle: str, pn: str = "P-A") -> supply_pb2.Slot:
        return self.c.supply.ReportBuild(  # type: ignore[attr-defined, no-any-return]
            supply_pb2.ReportBuildRequest(
                supplier_id=self.sup,
                group="SEAT",
                line_id=self.line,
                vehicle_id=self.v(vehicle),
                part_number=pn,
            ),
            timeout=10,
        )

    def dispatch(
        self, rack: str, slots: list[tuple[str, str]], eta_min: float, capacity: int = 12
    ) -> supply_pb2.Rack:
        return self.c.supply.DispatchRack(  # type: ignore[attr-defined, no-any-return]
            supply_pb2.DispatchRackRequest(
                rack_id=f"{self.line}-{rack}",
                supplier_id=self.sup,
                group="SEAT",
                line_id=self.line,
                capacity=capacity,
                slots=[supply_pb2.RackSlot(vehicle_id=self.v(v), part_number=p) for v, p in slots],
                eta=ts(self.at(eta_min)),
            ),
            timeout=10,
        )

    def move(self, rack: str, stage: int, at_min: float | None = None) -> supply_pb2.Rack:
        req = supply_pb2.MoveRackRequest(rack_id=f"{self.line}-{rack}", stage=stage)
        if at_min is not None:
            req.at.CopyFrom(ts(self.at(at_min)))
        return self.c.supply.MoveRack(req, timeout=10)  # type: ignore[attr-defined, no-any-return]

    def open(self, kind: int | None = None) -> list[breaks_pb2.SequenceBreak]:
        req = breaks_pb2.ListBreaksRequest(line_id=self.line, types=[kind] if kind else [])
        return list(self.c.breaks.ListBreaks(req, timeout=10).breaks)

    def resolved(self) -> list[breaks_pb2.SequenceBreak]:
        req = breaks_pb2.ListBreaksRequest(line_id=self.line, resolved_from=ts(0))
        return list(self.c.breaks.ListBreaks(req, timeout=10).breaks)

    def reevaluate(self) -> None:
        """Touch every scope of the line without changing anything: a duplicate and a supplier re-config."""
        configure_supplier(self.c, self.sup)


def configure_supplier(c: Client, sup: str) -> None:
    c.supply.ConfigureSupplier(  # type: ignore[attr-defined]
        supply_pb2.ConfigureSupplierRequest(
            supplier_id=sup, lead_time=Duration(seconds=30 * 60), unload_to_line=Duration(seconds=10 * 60)
        ),
        timeout=10,
    )


@pytest.fixture
def w(cclient: Client) -> World:
    n = next(_ids)
    now = cclient.clock.GetClock(lines_pb2.GetClockRequest()).now
    t0 = max(now.seconds * 10**9 + now.nanos, 1_767_225_600 * 10**9) + 24 * 60 * MIN  # a fresh day each test
    world = World(cclient, f"BL{n:03d}", f"SUP{n:03d}", t0)
    world.set_clock(t0)
    req = lines_pb2.ConfigureLineRequest(
        line_id=world.line, takt=Duration(seconds=60), heartbeat=Duration(seconds=24 * 3600), epoch=ts(t0)
    )
    cclient.lines.ConfigureLine(req, timeout=10)
    configure_supplier(cclient, world.sup)
    return world


def keyed(breaks: list[breaks_pb2.SequenceBreak]) -> list[tuple[int, str, str, int]]:
    return sorted((b.type, b.vehicle_id, b.rack_id, b.position) for b in breaks)


# -- MISSING -----------------------------------------------------------------------------------


def watch(
    c: Client, request: breaks_pb2.WatchBreaksRequest
) -> tuple[queue.Queue[breaks_pb2.BreakEvent], Any]:
    """Open a WatchBreaks stream read by a thread of its own: its events, and the call."""
    events: queue.Queue[breaks_pb2.BreakEvent] = queue.Queue()
    call = c.breaks.WatchBreaks(request)

    def read() -> None:
        try:
            for ev in call:
                events.put(ev)
        except grpc.RpcError:
            pass

    threading.Thread(target=read, daemon=True).start()
    return events, call


def test_missing_raised_when_a_vehicle_within_lead_time_has_no_slot(w: World) -> None:
    w.send(ADD, "V1", 20)  # needed at t0 + 20 min, lead time 30 min: already inside the horizon
    [brk] = w.open()
    assert (brk.type, brk.vehicle_id, brk.supplier_id, brk.group) == (
        T.BREAK_TYPE_MISSING,
        w.v("V1"),
        w.sup,
        "SEAT",
    )
    assert brk.slack.seconds == 20 * 60 and brk.detected_at == ts(w.t0)
    assert brk.action.kind == T.RECOVERY_KIND_BUILD_PART and brk.action.part_number == "P-A"


def test_missing_resolved_by_a_build_report(w: World) -> None:
    w.send(ADD, "V1", 20)
    [brk] = w.open()
    w.set_clock(w.at(1))
    w.build("V1")
    assert w.open() == []
    [done] = w.resolved()
    assert done.break_id == brk.break_id and done.resolved_at == ts(w.at(1))


def test_missing_resolved_when_the_vehicle_leaves_e(w: World) -> None:
    w.send(ADD, "V1", 20)
    w.send(PULL, "V1", pn=None)
    assert w.open() == []


def test_missing_raised_exactly_when_the_clock_passes_the_horizon(w: World) -> None:
    w.send(ADD, "V1", 100)  # horizon at t0 + 70 min
    w.set_clock(w.at(69))
    assert w.open() == []
    w.set_clock(w.at(85))  # jump past it
    [brk] = w.open()
    assert brk.type == T.BREAK_TYPE_MISSING and brk.detected_at == ts(w.at(70))
    assert brk.slack.seconds == 15 * 60  # read at 85 min: 15 min left until its need at 100


def test_a_clock_jump_past_many_horizons_raises_each_missing_at_its_own_moment_in_time_order(
    w: World,
) -> None:
    # Horizons (need - 30 min) from t0 + 60 min on, some shared, some not in seq_no order.
    needs = {k: 90 + (k * 7919) % 240 for k in range(300)}  # minutes after t0; a permutation-ish spread
    needs.update({k: 100 for k in range(10, 20)})  # ten vehicles with one horizon (t0 + 70 min)
    w.send(ADD, "FIRST", 20)  # inside the horizon already: its snapshot event shows the watch is live
    batch = [
        bc(w.line, w.call + 1 + k, ADD, w.v(f"J{k}"), 100 + k, [part("SEAT", "P-A", w.sup)], rfc3339(w.at(n)))
        for k, n in needs.items()
    ]
    w.call += len(batch)
    reply = w.c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=30)
    assert reply.applied == len(batch)
    assert [b.vehicle_id for b in w.open()] == [w.v("FIRST")]
    events, call = watch(w.c, T.WatchBreaksRequest(line_id=w.line))
    assert events.get(timeout=10).sequence_break.vehicle_id == w.v("FIRST")
    w.set_clock(w.at(24 * 60))  # one jump past all 300 horizons
    got = [events.get(timeout=30) for _ in range(len(needs))]
    call.cancel()
    # Each vehicle once, detected when the clock passed its own horizon; in time order, then
    # seq_no order at one moment; break ids in raise order.
    want = sorted(needs, key=lambda k: (needs[k], k))
    assert [(e.kind, e.snapshot) for e in got] == [(T.BreakEvent.KIND_RAISED, False)] * len(needs)
    assert [e.sequence_break.vehicle_id for e in got] == [w.v(f"J{k}") for k in want]
    assert [e.sequence_break.detected_at for e in got] == [ts(w.at(needs[k] - 30)) for k in want]
    assert all(e.sequence_break.type == T.BREAK_TYPE_MISSING for e in got)
    ids = [int(e.sequence_break.break_id[1:]) for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    w.reevaluate()  # the same state again: nothing new, nothing resolved
    assert len(w.open(T.BREAK_TYPE_MISSING)) == len(needs) + 1
    assert w.resolved() == []


def test_wrong_variant_slot_is_not_missing(w: World) -> None:
    w.send(ADD, "V1", 20, pn="P-B")
    w.build("V1", "P-A")
    assert [b.type for b in w.open()] == [T.BREAK_TYPE_WRONG_VARIANT]


# -- ORPHAN ------------------------------------------------------------------------------------


def test_orphan_raised_for_a_slot_of_a_vehicle_never_broadcast_and_resolved_by_its_add(w: World) -> None:
    slot = w.build("GHOST")
    [brk] = w.open()
    assert (brk.type, brk.vehicle_id, brk.position) == (T.BREAK_TYPE_ORPHAN, w.v("GHOST"), -1)
    assert brk.action.kind == T.RECOVERY_KIND_PULL_SLOT
    assert slot.stage == supply_pb2.SLOT_STAGE_BUILT
    w.send(ADD, "GHOST", 50)
    assert w.open() == []


def test_orphan_raised_by_pull_and_resolved_by_reinsert(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    w.send(PULL, "V1", pn=None)
    [brk] = w.open()
    assert (brk.type, brk.rack_id, brk.position) == (T.BREAK_TYPE_ORPHAN, f"{w.line}-R1", 0)
    w.send(REINSERT, "V1", 45, pn=None)
    assert w.open() == []


def test_orphan_includes_slots_of_vehicles_that_no_longer_need_the_group(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.send(CHANGE, "V1", pn=None)  # the new part list has no SEAT from this supplier
    assert [b.type for b in w.open()] == [T.BREAK_TYPE_ORPHAN]


def test_orphan_for_a_slot_built_after_installation(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.send(INSTALLED, "V1", pn=None)
    assert w.open() == []  # the slot was consumed
    w.build("V1")
    assert [b.type for b in w.open()] == [T.BREAK_TYPE_ORPHAN]


def test_cancel_turns_slots_into_orphans(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.send(CANCEL, "V1", pn=None)
    assert [b.type for b in w.open()] == [T.BREAK_TYPE_ORPHAN]


# -- WRONG_VARIANT -----------------------------------------------------------------------------


def test_wrong_variant_after_a_late_variant_change_and_resolved_by_changing_back(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1", "P-A")
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    w.send(CHANGE, "V1", pn="P-B")
    [brk] = w.open()
    assert brk.type == T.BREAK_TYPE_WRONG_VARIANT and (brk.rack_id, brk.position) == (f"{w.line}-R1", 0)
    assert (brk.action.kind, brk.action.part_number, brk.action.replacement_part_number) == (
        T.RECOVERY_KIND_REPLACE_VARIANT,
        "P-A",
        "P-B",
    )
    w.send(CHANGE, "V1", pn="P-A")
    assert w.open() == []


# -- DUPLICATE ---------------------------------------------------------------------------------


def test_duplicate_flags_every_slot_after_the_first_in_s_order(w: World) -> None:
    w.send(ADD, "V1", 40)
    first = w.build("V1")
    second = w.build("V1")
    third = w.build("V1")
    dups = w.open(T.BREAK_TYPE_DUPLICATE)
    assert len(dups) == 2 and all(b.vehicle_id == w.v("V1") for b in dups)
    # A rack puts the first built slot ahead of the others in S; still two duplicates.
    rack = w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    assert rack.slots[0].slot_id == first.slot_id != second.slot_id != third.slot_id
    assert len(w.open(T.BREAK_TYPE_DUPLICATE)) == 2


def test_duplicate_resolved_when_the_vehicle_is_installed(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.build("V1")
    assert len(w.open(T.BREAK_TYPE_DUPLICATE)) == 1
    w.send(INSTALLED, "V1", pn=None)
    assert w.open() == []


def test_duplicate_flags_the_second_slot_in_s_of_a_vehicle_never_broadcast(w: World) -> None:
    """Two build reports for a vehicle not in E: two ORPHANs, and the second slot in S is a
    DUPLICATE as well; which slot is second follows S (dispatch order, the dock before transit)."""
    w.build("GHOST")
    w.build("GHOST")
    assert keyed(w.open()) == [
        (T.BREAK_TYPE_ORPHAN, w.v("GHOST"), "", -1),
        (T.BREAK_TYPE_ORPHAN, w.v("GHOST"), "", -1),
        (T.BREAK_TYPE_DUPLICATE, w.v("GHOST"), "", -1),
    ]
    w.dispatch("RB", [("GHOST", "P-A")], eta_min=45)  # first in S
    w.dispatch("RA", [("GHOST", "P-A")], eta_min=40)
    [dup] = w.open(T.BREAK_TYPE_DUPLICATE)
    assert (dup.rack_id, dup.position) == (f"{w.line}-RA", 0)
    assert dup.action.kind == T.RECOVERY_KIND_PULL_SLOT
    assert len(w.open(T.BREAK_TYPE_ORPHAN)) == 2
    w.move("RA", supply_pb2.RACK_STAGE_AT_DOCK)  # now RA is first in S: RB's slot is the extra one
    [dup] = w.open(T.BREAK_TYPE_DUPLICATE)
    assert (dup.rack_id, dup.position) == (f"{w.line}-RB", 0)
    w.send(ADD, "GHOST", 60)  # in E now: no ORPHAN, the same DUPLICATE
    assert [(b.type, b.break_id) for b in w.open()] == [(dup.type, dup.break_id)]


def test_duplicate_of_a_cancelled_vehicle_stays_the_same_break_beside_its_orphans(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.build("V1")
    [dup] = w.open()
    assert dup.type == T.BREAK_TYPE_DUPLICATE
    w.send(CANCEL, "V1", pn=None)
    assert keyed(w.open()) == [
        (T.BREAK_TYPE_ORPHAN, w.v("V1"), "", -1),
        (T.BREAK_TYPE_ORPHAN, w.v("V1"), "", -1),
        (T.BREAK_TYPE_DUPLICATE, w.v("V1"), "", -1),
    ]
    assert [b.break_id for b in w.open(T.BREAK_TYPE_DUPLICATE)] == [dup.break_id]
    assert w.resolved() == []
    w.build("V1")  # a slot built after the cancellation: a third ORPHAN, a second DUPLICATE
    assert len(w.open(T.BREAK_TYPE_ORPHAN)) == 3
    assert len(w.open(T.BREAK_TYPE_DUPLICATE)) == 2


def test_duplicate_stays_one_open_break_across_pull_and_reinsert(w: World) -> None:
    """The second slot of a vehicle stays its second slot whether the vehicle is in E or not:
    PULL adds ORPHANs but neither resolves the DUPLICATE nor raises a new one, REINSERT
    resolves the ORPHANs only. Checked on the WatchBreaks stream: a sentinel DUPLICATE raised
    at the end is the next event after the first one, so nothing happened to it in between."""
    w.send(ADD, "V1", 40)
    w.build("V1")
    w.build("V1")
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)  # the first slot: R1 position 0, the second built
    [dup] = w.open()
    assert (dup.type, dup.rack_id, dup.position) == (T.BREAK_TYPE_DUPLICATE, "", -1)
    events, call = watch(w.c, T.WatchBreaksRequest(line_id=w.line, types=[T.BREAK_TYPE_DUPLICATE]))
    first = events.get(timeout=10)
    assert first.snapshot and first.sequence_break.break_id == dup.break_id
    w.set_clock(w.at(1))
    w.send(PULL, "V1", pn=None)
    assert keyed(w.open()) == [
        (T.BREAK_TYPE_ORPHAN, w.v("V1"), "", -1),
        (T.BREAK_TYPE_ORPHAN, w.v("V1"), f"{w.line}-R1", 0),
        (T.BREAK_TYPE_DUPLICATE, w.v("V1"), "", -1),
    ]
    assert [b.break_id for b in w.open(T.BREAK_TYPE_DUPLICATE)] == [dup.break_id]
    w.set_clock(w.at(2))
    w.send(REINSERT, "V1", 45, pn=None)
    assert [(b.type, b.break_id) for b in w.open()] == [(dup.type, dup.break_id)]
    assert sorted(b.type for b in w.resolved()) == [T.BREAK_TYPE_ORPHAN] * 2
    w.build("V1")  # a third slot: the sentinel
    ev = events.get(timeout=10)
    call.cancel()
    assert (ev.kind, ev.snapshot) == (T.BreakEvent.KIND_RAISED, False)
    assert ev.sequence_break.break_id != dup.break_id
    assert sorted(b.break_id for b in w.open(T.BREAK_TYPE_DUPLICATE)) == [
        dup.break_id,
        ev.sequence_break.break_id,
    ]


# -- OUT_OF_SEQUENCE ---------------------------------------------------------------------------


def test_out_of_sequence_names_the_fewest_slots_to_move(w: World) -> None:
    for i, s in enumerate([40, 50, 60, 70, 80], 1):
        w.send(ADD, f"V{i}", s)
    # Rack order V1 V3 V2 V4 V5 (swapped pair) and V5 ahead of all: E positions 0 2 1 3 4 -> 1 move
    w.dispatch("R1", [(f"V{i}", "P-A") for i in (1, 3, 2, 4, 5)], eta_min=5)
    oos = w.open(T.BREAK_TYPE_OUT_OF_SEQUENCE)
    assert len(oos) == 1
    [brk] = oos
    assert brk.vehicle_id in (w.v("V2"), w.v("V3"))
    a = brk.action
    assert a.kind == T.RECOVERY_KIND_MOVE_SLOT and a.rack_id == a.to_rack_id == f"{w.line}-R1"
    # Moving the named slot to the named position puts the rack in sequence.
    order = [1, 3, 2, 4, 5]
    moved = order.pop(a.from_position)
    order.insert(a.to_position, moved)  # to_position: where it ends up, the others closing up
    assert order == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("r1", "r2"),
    [
        ([1, 2, 3, 4, 5, 6], [8, 9, 7]),  # V7 (the only one out) goes after V6, which ends full R1
        ([1, 2, 3, 4, 5, 7], [6, 8]),  # swapped across the end of a full rack
    ],
)
def test_out_of_sequence_names_only_positions_that_exist(w: World, r1: list[int], r2: list[int]) -> None:
    """The fault: a slot to go right after the last slot of a full rack was sent to
    "position 6" of a rack of capacity 6 (positions 0-5). Whichever slot is named, applying
    the move as the fields say puts S in sequence, every position named exists, and the
    words count positions from 1."""
    for i in range(1, 10):
        w.send(ADD, f"V{i}", 10 * i)
    w.dispatch("R1", [(f"V{i}", "P-A") for i in r1], eta_min=5, capacity=6)
    w.dispatch("R2", [(f"V{i}", "P-A") for i in r2], eta_min=6, capacity=6)
    [brk] = w.open(T.BREAK_TYPE_OUT_OF_SEQUENCE)
    a = brk.action
    racks = {f"{w.line}-R1": [f"V{i}" for i in r1], f"{w.line}-R2": [f"V{i}" for i in r2]}
    assert a.kind == T.RECOVERY_KIND_MOVE_SLOT and a.to_rack_id in racks
    assert 0 <= a.from_position < 6 and 0 <= a.to_position < 6
    moved = racks[a.rack_id].pop(a.from_position)
    assert moved == brk.vehicle_id.removeprefix(f"{w.line}-")
    racks[a.to_rack_id].insert(a.to_position, moved)
    assert racks[f"{w.line}-R1"] + racks[f"{w.line}-R2"] == [f"V{i}" for i in sorted(r1 + r2)]
    assert f"position {a.from_position + 1}" in a.description
    assert f"rack {a.to_rack_id} position {a.to_position + 1}" in a.description


def test_out_of_sequence_resolved_when_the_sequence_follows_the_rack(w: World) -> None:
    for i, s in enumerate([40, 50, 60], 1):
        w.send(ADD, f"V{i}", s)
    w.dispatch("R1", [("V1", "P-A"), ("V3", "P-A"), ("V2", "P-A")], eta_min=5)
    assert len(w.open(T.BREAK_TYPE_OUT_OF_SEQUENCE)) == 1
    w.send(CHANGE, "V2", 65)  # the MES moves V2 behind V3: E now matches the rack
    assert w.open() == []


def test_out_of_sequence_across_racks_in_dispatch_order(w: World) -> None:
    for i, s in enumerate([40, 50, 60, 70], 1):
        w.send(ADD, f"V{i}", s)
    w.dispatch("RB", [("V3", "P-A"), ("V4", "P-A")], eta_min=5)  # dispatched first: first in S
    w.dispatch("RA", [("V1", "P-A"), ("V2", "P-A")], eta_min=6)
    assert len(w.open(T.BREAK_TYPE_OUT_OF_SEQUENCE)) == 2
    w.move("RA", supply_pb2.RACK_STAGE_AT_DOCK)  # the dock comes before transit in S
    assert w.open(T.BREAK_TYPE_OUT_OF_SEQUENCE) == []


# -- LATE --------------------------------------------------------------------------------------


def test_late_raised_at_dispatch_when_eta_plus_unload_is_after_the_need_time(w: World) -> None:
    w.send(ADD, "V1", 40)
    w.send(ADD, "V2", 30)
    rack = w.dispatch("R1", [("V2", "P-A"), ("V1", "P-A")], eta_min=25)  # 25 + 10 unload > 30
    assert rack.stage == supply_pb2.RACK_STAGE_IN_TRANSIT
    [brk] = w.open(T.BREAK_TYPE_LATE)
    assert brk.rack_id == f"{w.line}-R1" and brk.need_time == ts(w.at(30))
    assert brk.action.kind == T.RECOVERY_KIND_EXPEDITE_RACK and brk.action.rack_id == f"{w.line}-R1"


def test_late_resolved_by_an_earlier_eta(w: World) -> None:
    w.send(ADD, "V1", 30)
    w.dispatch("R1", [("V1", "P-A")], eta_min=25)
    assert len(w.open(T.BREAK_TYPE_LATE)) == 1
    w.c.supply.UpdateRackEta(supply_pb2.UpdateRackEtaRequest(rack_id=f"{w.line}-R1", eta=ts(w.at(20))))  # type: ignore[attr-defined]
    assert w.open(T.BREAK_TYPE_LATE) == []


def test_late_on_time_eta_is_exactly_not_late(w: World) -> None:
    w.send(ADD, "V1", 30)
    w.dispatch("R1", [("V1", "P-A")], eta_min=20)  # 20 + 10 == 30: not strictly after
    assert w.open(T.BREAK_TYPE_LATE) == []


def test_late_raised_when_the_clock_passes_a_rack_still_in_transit(w: World) -> None:
    w.send(ADD, "V1", 30)
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    w.set_clock(w.at(20))
    assert w.open(T.BREAK_TYPE_LATE) == []
    w.set_clock(w.at(25))
    [brk] = w.open(T.BREAK_TYPE_LATE)
    assert brk.detected_at == ts(w.at(20) + 1)


def test_late_uses_the_arrival_at_the_dock_and_ends_at_line_side(w: World) -> None:
    w.send(ADD, "V1", 30)
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    w.move("R1", supply_pb2.RACK_STAGE_AT_DOCK, at_min=21)  # arrived 21 + 10 > 30
    assert len(w.open(T.BREAK_TYPE_LATE)) == 1
    w.move("R1", supply_pb2.RACK_STAGE_LINE_SIDE, at_min=29)
    assert w.open(T.BREAK_TYPE_LATE) == []


# -- BROADCAST_SILENT --------------------------------------------------------------------------


def test_broadcast_silent_raised_strictly_after_the_heartbeat_and_resolved_by_a_message(w: World) -> None:
    line = f"{w.line}-S"
    w.c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=line, takt=Duration(seconds=60), heartbeat=Duration(seconds=300), epoch=ts(w.t0)
        )
    )
    w.set_clock(w.at(5))  # exactly the heartbeat: not yet
    assert w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks == []
    w.set_clock(w.at(9))
    [brk] = w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks
    assert brk.type == T.BREAK_TYPE_BROADCAST_SILENT and brk.detected_at == ts(w.at(5) + 1)
    assert brk.action.kind == T.RECOVERY_KIND_CHECK_FEED
    w.c.broadcast.Publish(pub(bc(line, 1, ADD, f"{line}-V", 10)))
    assert w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks == []
    w.set_clock(w.at(9) + 300 * 10**9 + 1)  # silent again, a new break
    [again] = w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks
    assert again.break_id != brk.break_id


def test_rejected_message_is_not_a_heartbeat_but_a_duplicate_is(w: World) -> None:
    line = f"{w.line}-H"
    w.c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=line, takt=Duration(seconds=60), heartbeat=Duration(seconds=300), epoch=ts(w.t0)
        )
    )
    m = bc(line, 1, ADD, f"{line}-V", 10)
    w.c.broadcast.Publish(pub(m))
    w.set_clock(w.at(4))
    with pytest.raises(grpc.RpcError):
        w.c.broadcast.Publish(pub(bc(line, 2, CHANGE, f"{line}-NOPE", 10)))
    w.set_clock(w.at(6))
    assert [b.type for b in w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks] == [
        T.BREAK_TYPE_BROADCAST_SILENT
    ]
    w.c.broadcast.Publish(pub(m))  # duplicate: heard
    assert w.c.breaks.ListBreaks(T.ListBreaksRequest(line_id=line)).breaks == []


# -- lifecycle ---------------------------------------------------------------------------------


def test_nothing_new_on_re_evaluation_of_an_unchanged_state(w: World) -> None:
    for i, s in enumerate([40, 50, 60], 1):
        w.send(ADD, f"V{i}", s)
    w.build("GHOST")
    w.dispatch("R1", [("V1", "P-B"), ("V3", "P-A"), ("V2", "P-A"), ("V2", "P-A")], eta_min=45)
    before = w.open()
    assert {b.type for b in before} == {
        T.BREAK_TYPE_ORPHAN,
        T.BREAK_TYPE_WRONG_VARIANT,
        T.BREAK_TYPE_DUPLICATE,
        T.BREAK_TYPE_OUT_OF_SEQUENCE,
        T.BREAK_TYPE_LATE,
    }
    w.reevaluate()
    w.send(ADD, "V1", 40, call_no=1)  # a duplicate broadcast
    w.set_clock(w.at(0.5))
    assert [b.break_id for b in w.open()] == [b.break_id for b in before]
    assert w.resolved() == []


def test_open_breaks_are_ranked_by_slack(w: World) -> None:
    w.send(ADD, "V1", 25)
    w.send(ADD, "V2", 5)
    w.send(ADD, "V3", 15)
    assert [b.vehicle_id for b in w.open()] == [w.v("V2"), w.v("V3"), w.v("V1")]


def test_slack_is_read_at_the_time_of_the_answer_and_ranks_the_most_urgent_first(w: World) -> None:
    """The fault: slack was frozen at detection, so hours later a break needed long ago
    still showed "slack 89 min" and ranked by it. Now it is what is left at the read,
    negative once overdue, in ListBreaks and WatchBreaks' opening snapshot; a raise event
    carries it at detection, a resolve event at resolution."""
    w.send(ADD, "V1", 20)  # detected at t0 with 20 min left
    w.set_clock(w.at(50))  # its horizon passed long ago; V2's MISSING is detected now
    w.send(ADD, "V2", 60)
    first, second = w.open()
    assert (first.vehicle_id, first.slack.ToSeconds()) == (w.v("V1"), -30 * 60)  # overdue
    assert (second.vehicle_id, second.slack.ToSeconds()) == (w.v("V2"), 10 * 60)
    events, call = watch(w.c, T.WatchBreaksRequest(line_id=w.line))
    opening = [events.get(timeout=10) for _ in range(2)]
    assert [e.sequence_break.slack.ToSeconds() for e in opening] == [-30 * 60, 10 * 60]
    w.set_clock(w.at(55))
    w.build("V2")  # resolved at 55: 5 min were left
    w.send(ADD, "V3", 95)  # lead time 30 min: its horizon is at 65
    w.set_clock(w.at(70))  # raised at its horizon, 65, with 30 min left
    got = {
        (e.kind, e.sequence_break.vehicle_id): e.sequence_break.slack.ToSeconds()
        for e in (events.get(timeout=10) for _ in range(2))
    }
    call.cancel()
    assert got == {
        (T.BreakEvent.KIND_RESOLVED, w.v("V2")): 5 * 60,
        (T.BreakEvent.KIND_RAISED, w.v("V3")): 30 * 60,
    }
    [resolved] = [b for b in w.resolved() if b.vehicle_id == w.v("V2")]
    assert resolved.slack.ToSeconds() == 5 * 60


def test_watch_breaks_sends_the_open_ones_then_live_events_filtered(w: World) -> None:
    w.send(ADD, "V1", 20)  # MISSING, open before the watch starts
    events, call = watch(
        w.c, T.WatchBreaksRequest(line_id=w.line, types=[T.BREAK_TYPE_MISSING, T.BREAK_TYPE_ORPHAN])
    )
    first = events.get(timeout=10)
    assert (
        first.snapshot
        and first.kind == T.BreakEvent.KIND_RAISED
        and first.sequence_break.vehicle_id == w.v("V1")
    )
    w.build("V1")  # resolves MISSING
    ev = events.get(timeout=10)
    assert (ev.kind, ev.snapshot, ev.sequence_break.break_id) == (
        T.BreakEvent.KIND_RESOLVED,
        False,
        first.sequence_break.break_id,
    )
    w.dispatch("R1", [("V1", "P-A")], eta_min=25)  # LATE: filtered out
    w.build("GHOST")  # ORPHAN
    ev = events.get(timeout=10)
    assert ev.kind == T.BreakEvent.KIND_RAISED and ev.sequence_break.type == T.BREAK_TYPE_ORPHAN
    call.cancel()
    assert events.empty()


def test_breaks_survive_a_kill_9_unchanged(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        c = connect(proc.address)
        c.supply = supply_pb2_grpc_stub(c.channel)  # type: ignore[attr-defined]
        world = World(c, "KB", "KSUP", 1_767_225_600 * 10**9)
        world.set_clock(world.t0)
        c.lines.ConfigureLine(
            lines_pb2.ConfigureLineRequest(
                line_id="KB", takt=Duration(seconds=60), heartbeat=Duration(seconds=600), epoch=ts(world.t0)
            )
        )
        configure_supplier(c, "KSUP")
        for i, s in enumerate([20, 40, 60, 80], 1):
            world.send(ADD, f"V{i}", s)
        world.build("V1")
        world.dispatch("R1", [("V3", "P-A"), ("V2", "P-B")], eta_min=35)
        world.set_clock(world.at(55))  # MISSING for V4 at 50, LATE, silence at 10
        world.build("V4")
        before = (
            keyed(world.open()),
            [b.SerializeToString() for b in world.open()],
            [b.SerializeToString() for b in world.resolved()],
        )
        assert before[0]
        c.channel.close()
        proc.kill9()
        proc.restart()
        c = connect(proc.address)
        world.c = c
        after = (
            keyed(world.open()),
            [b.SerializeToString() for b in world.open()],
            [b.SerializeToString() for b in world.resolved()],
        )
        assert after == before
        c.channel.close()
    finally:
        proc.stop()


# -- supplier-side input errors ----------------------------------------------------------------


def test_supply_input_errors_name_the_field(w: World) -> None:
    s = w.c.supply  # type: ignore[attr-defined]
    w.dispatch("R1", [("V1", "P-A")], eta_min=5)
    cases = [
        (lambda: w.dispatch("R1", [("V1", "P-A")], eta_min=5), grpc.StatusCode.ALREADY_EXISTS, "rack_id"),
        (
            lambda: s.DispatchRack(
                supply_pb2.DispatchRackRequest(
                    rack_id="X",
                    supplier_id=w.sup,
                    group="SEAT",
                    line_id=w.line,
                    capacity=1,
                    eta=ts(w.t0),
                    slots=[supply_pb2.RackSlot(vehicle_id="a", part_number="b")] * 2,
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "slots",
        ),
        (
            lambda: s.MoveRack(supply_pb2.MoveRackRequest(rack_id="NOPE", stage=2)),
            grpc.StatusCode.NOT_FOUND,
            "rack_id",
        ),
        (lambda: w.move("R1", supply_pb2.RACK_STAGE_IN_TRANSIT), grpc.StatusCode.INVALID_ARGUMENT, "stage"),
        (
            lambda: s.ReportBuild(
                supply_pb2.ReportBuildRequest(
                    supplier_id="UNCONFIGURED", group="SEAT", line_id=w.line, vehicle_id="v", part_number="p"
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "supplier_id",
        ),
        (
            lambda: s.ReportBuild(
                supply_pb2.ReportBuildRequest(
                    supplier_id=w.sup, group="SEAT", line_id="NOLINE", vehicle_id="v", part_number="p"
                )
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "line_id",
        ),
        (
            lambda: s.ReportBuild(
                supply_pb2.ReportBuildRequest(
                    supplier_id=w.sup, group="", line_id=w.line, vehicle_id="v", part_number="p"
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "group",
        ),
    ]
    for call, code, field in cases:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == code, info.value.details()
        assert info.value.details().startswith(field), info.value.details()
    w.move("R1", supply_pb2.RACK_STAGE_LINE_SIDE)
    with pytest.raises(grpc.RpcError) as info:
        w.move("R1", supply_pb2.RACK_STAGE_AT_DOCK)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert w.c.supply.GetRack(supply_pb2.GetRackRequest(rack_id=f"{w.line}-R1")).stage == (  # type: ignore[attr-defined]
        supply_pb2.RACK_STAGE_LINE_SIDE
    )


# -- time-driven breaks: one jump is every deadline in turn -------------------------------------


def _timed_world(seed: int) -> tuple[Engine, list[str], int]:
    """An engine at T0 with two lines, two suppliers, two groups: vehicles without slots and with
    (some of the wrong variant), racks in transit that turn late and at the dock; the
    vehicles' need times share moments and do not follow seq_no. Returns it, its vehicle
    ids, and a moment to jump to."""
    rng = random.Random(seed)
    t0, minute = 1_800_000_000 * 10**9, 60 * 10**9
    e = Engine()
    for line in ("L1", "L2"):
        e.configure_line(LineConfig(line, minute, rng.choice([90, 20 * 24 * 60]) * minute, None), t0)
    for sup in ("S1", "S2"):
        e.configure_supplier(
            SupplierConfig(sup, rng.choice([1, 10, 30]) * minute, rng.choice([0, 5]) * minute), t0
        )
    vehicles: list[str] = []
    msgs: list[Broadcast] = []
    for i in range(rng.randint(0, 60)):
        line = rng.choice(("L1", "L2"))
        parts = tuple(
            PartDemand(g, f"P{rng.randint(0, 1)}", rng.choice(("S1", "S2")), 1)
            for g in ("G1", "G2")
            if rng.random() < 0.7
        )
        vid = f"{line}-V{i}"
        vehicles.append(vid)
        need = t0 + rng.randint(0, 40) * rng.choice([5, 20]) * minute
        msgs.append(Broadcast(line, len(msgs) + 1, Action.ADD, vid, i, need_time=need, parts=parts))
    for line in ("L1", "L2"):
        mine = [m for m in msgs if m.line_id == line]
        mine = [
            Broadcast(line, k + 1, m.action, m.vehicle_id, m.seq_no, need_time=m.need_time, parts=m.parts)
            for k, m in enumerate(mine)
        ]
        e.publish_batch(mine, t0)
    for m in msgs:
        for p in m.parts:
            if rng.random() < 0.2:
                e.report_build(
                    BuildReport(p.supplier_id, p.group, m.line_id, m.vehicle_id, f"P{rng.randint(0, 1)}"), t0
                )
    for r in range(rng.randint(0, 10)):
        line, sup, group = rng.choice(("L1", "L2")), rng.choice(("S1", "S2")), rng.choice(("G1", "G2"))
        on = [
            m
            for m in msgs
            if m.line_id == line and any(p.supplier_id == sup and p.group == group for p in m.parts)
        ]
        slots = tuple(
            (m.vehicle_id, f"P{rng.randint(0, 1)}") for m in rng.sample(on, min(len(on), rng.randint(1, 4)))
        )
        if not slots:
            continue
        e.dispatch_rack(
            RackDispatch(f"R{r}", sup, group, line, 12, slots, t0 + rng.randint(0, 20) * 5 * minute), t0
        )
        if rng.random() < 0.3:
            e.move_rack(f"R{r}", RackStage.AT_DOCK, t0 + rng.randint(0, 10) * minute, t0 + 10 * minute)
    return e, vehicles, t0 + rng.randint(10, 230) * minute


def _timed_state(e: Engine) -> tuple[Any, ...]:
    ev, book = e.evaluator, e.book
    return (
        [(x.seq, x.raised, x.sequence_break) for x in book.drain()],
        list(book.open.items()),
        [(k, list(v)) for k, v in book.scoped.items()],
        book.resolved,
        {c: book.history.col(c).tolist() for c in HISTORY_COLUMNS},
        [(k, v.tolist()) for k, v in ev._missing.items()],
        list(ev._due.items()),
        ev._tie,
        sorted(ev._heap),
    )


@pytest.mark.parametrize("seed", range(40))
def test_one_clock_jump_does_what_every_deadline_in_turn_does(seed: int) -> None:
    """A jump past many deadlines (a scope matched once, then planned) leaves every break, event,
    id and the deadline state exactly as advancing to each deadline in turn (a full evaluation at
    each); and so do the inputs after it."""
    jump, vehicles, until = _timed_world(seed)
    turn, _, _ = _timed_world(seed)
    assert _timed_state(jump) == _timed_state(turn)
    rng = random.Random(seed)
    for at in (until, until + rng.randint(1, 200) * 60 * 10**9):
        jump.tick(at)
        while (d := turn.next_deadline()) <= at:
            turn.advance(d)
        turn.tick(at)
        assert _timed_state(jump) == _timed_state(turn)
        for e in (jump, turn):  # the same state again: nothing new
            for scope in e.evaluator.scopes_of_supplier(1) + e.evaluator.scopes_of_supplier(2):
                e.evaluator.evaluate(scope, at)
        assert _timed_state(jump) == _timed_state(turn)
        if vehicles:  # an input after the jump: a build resolves what it may
            v = rng.choice(vehicles)
            for e in (jump, turn):
                e.report_build(BuildReport("S1", "G1", v.split("-")[0], v, "P0"), at)
            assert _timed_state(jump) == _timed_state(turn)


def test_racks_turning_late_at_one_moment_of_a_jump_are_raised_in_s_order() -> None:
    t0, minute = 1_800_000_000 * 10**9, 60 * 10**9

    def world() -> Engine:
        e = Engine()
        e.configure_line(LineConfig("L", minute, 24 * 60 * minute, None), t0)
        e.configure_supplier(SupplierConfig("S", 30 * minute, 5 * minute), t0)
        need = {"V0": 40, "V1": 60, "V2": 60, "V3": 60}  # V0: MISSING first, so the jump plans the scope
        e.publish_batch(
            [
                Broadcast(
                    "L",
                    k + 1,
                    Action.ADD,
                    v,
                    k,
                    need_time=t0 + n * minute,
                    parts=(PartDemand("G", "P", "S", 1),),
                )
                for k, (v, n) in enumerate(need.items())
            ],
            t0,
        )
        for rack, v in (("R2", "V3"), ("R1", "V1"), ("R3", "V2")):  # S order: R2, R1, R3
            e.dispatch_rack(RackDispatch(rack, "S", "G", "L", 12, ((v, "P"),), t0 + 10 * minute), t0)
        e.book.drain()
        return e

    jump, turn = world(), world()
    jump.tick(t0 + 120 * minute)
    while (d := turn.next_deadline()) <= t0 + 120 * minute:
        turn.advance(d)
    turn.tick(t0 + 120 * minute)
    state = _timed_state(jump)
    assert state == _timed_state(turn)
    late = [(x[2].rack_id, x[2].detected_at) for x in state[0] if x[2].type == BreakType.LATE]
    assert late == [(r, t0 + 55 * minute + 1) for r in ("R2", "R1", "R3")]
