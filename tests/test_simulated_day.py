"""A simulated day end to end: the engine's open breaks equal the reference model's.

One line, two suppliers (front seats, cockpits), ~300 vehicles, takt 6 s (one vehicle a
simulated minute), driven minute by minute over gRPC on the test clock, with paint-repair
pulls and re-inserts, a cancel, a variant change after build, a lost and re-sent message,
a repeated message, a swapped rack, a late truck, a duplicate build, a build for a
vehicle never broadcast, and a silent feed. Every 10 minutes the open breaks are compared.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from google.protobuf.duration_pb2 import Duration

from jis.v1 import breaks_pb2, broadcast_pb2, lines_pb2, supply_pb2, supply_pb2_grpc
from tests.conftest import Client, all_breaks, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part
from tests.reference import ReferenceModel
from tests.serverproc import ServerProcess

MIN = 60 * 10**9
TAKT = 6 * 10**9
T0 = 1_798_761_600 * 10**9  # 2027-01-01T00:00:00Z
LINE = "DAY"
SCOPES = {("SUPA", "SEAT"): ["S0", "S1", "S2", "S3"], ("SUPB", "COCKPIT"): ["C0", "C1"]}
LEAD, UNLOAD = 60 * MIN, 5 * MIN
HEARTBEAT = 10 * MIN
TYPE_NAMES = {v: k.removeprefix("BREAK_TYPE_") for k, v in breaks_pb2.BreakType.items()}


def ts(ns: int):  # type: ignore[no-untyped-def]
    from google.protobuf.timestamp_pb2 import Timestamp

    return Timestamp(seconds=ns // 10**9, nanos=ns % 10**9)


class Day:
    def __init__(self, c: Client, seed: int) -> None:
        self.c = c
        self.supply = supply_pb2_grpc.SupplyServiceStub(c.channel)
        self.rng = random.Random(seed)
        self.ref = ReferenceModel(
            LINE, HEARTBEAT, {"SUPA": LEAD, "SUPB": LEAD}, {"SUPA": UNLOAD, "SUPB": UNLOAD}
        )
        self.now = T0
        self.call = 0
        self.sent: dict[int, broadcast_pb2.Broadcast] = {}
        self.next_vehicle = 0
        self.racks = 0
        self.silent = False
        self.swap_next_rack = False
        self.late_next_rack = False

    # -- plumbing: every input goes to the engine and to the reference -------------------------

    def clock(self, at: int) -> None:
        self.now = at
        self.c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(at)), timeout=10)

    def send(
        self,
        action: int,
        vehicle: str,
        seq_no: int | None = None,
        parts: dict | None = None,
        lose: bool = False,
    ) -> int:
        self.call += 1
        msg = bc(
            LINE, self.call, action, vehicle, seq_no, [part(g, pn, s) for (s, g), pn in (parts or {}).items()]
        )
        self.sent[self.call] = msg
        if not lose:
            self.deliver(self.call)
        return self.call

    def deliver(self, call_no: int) -> None:
        m = self.sent[call_no]
        r = self.c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=10)
        assert r.disposition in (broadcast_pb2.DISPOSITION_APPLIED, broadcast_pb2.DISPOSITION_DUPLICATE)
        seq_no = m.seq_no if m.HasField("seq_no") else None
        need = T0 + seq_no * TAKT if seq_no is not None else None
        parts = {(p.supplier_id, p.group): p.part_number for p in m.parts}
        self.ref.broadcast(call_no, m.action, m.vehicle_id, seq_no, need, parts, self.now)

    def build(self, scope: tuple[str, str], vehicle: str, pn: str) -> None:
        s, g = scope
        self.supply.ReportBuild(
            supply_pb2.ReportBuildRequest(
                supplier_id=s, group=g, line_id=LINE, vehicle_id=vehicle, part_number=pn
            ),
            timeout=10,
        )
        self.ref.build(s, g, vehicle, pn)

    def dispatch(self, scope: tuple[str, str], slots: list[tuple[str, str]], eta: int) -> str:
        self.racks += 1
        rack = f"R{self.racks:04d}"
        s, g = scope
        self.supply.DispatchRack(
            supply_pb2.DispatchRackRequest(
                rack_id=rack,
                supplier_id=s,
                group=g,
                line_id=LINE,
                capacity=6,
                eta=ts(eta),
                slots=[supply_pb2.RackSlot(vehicle_id=v, part_number=p) for v, p in slots],
            ),
            timeout=10,
        )
        self.ref.dispatch(rack, s, g, slots, eta)
        return rack

    def move(self, rack: str, stage: str) -> None:
        code = {"dock": 2, "line": 3, "returned": 4}[stage]
        self.supply.MoveRack(
            supply_pb2.MoveRackRequest(rack_id=rack, stage=code, at=ts(self.now)), timeout=10
        )
        self.ref.move(rack, stage, self.now)

    # -- the actors ----------------------------------------------------------------------------

    def active(self) -> list[tuple[int, str]]:
        return sorted((v.seq_no, vid) for vid, v in self.ref.vehicles.items() if v.state == "active")

    def mes(self, minute: int) -> None:
        """Broadcast vehicles 90 minutes ahead; report INSTALLED when they reach the line."""
        if self.silent:
            return
        while self.next_vehicle <= minute + 90:
            i = self.next_vehicle
            self.next_vehicle += 1
            parts = {scope: self.rng.choice(variants) for scope, variants in SCOPES.items()}
            self.send(ADD, f"V{i:04d}", 10 * i, parts)
        for seq_no, vid in self.active():
            if T0 + seq_no * TAKT <= self.now:
                self.send(INSTALLED, vid)

    def supplier(self) -> None:
        """Build what the sequence needs within 75 minutes; rack by six, in sequence order."""
        for scope in SCOPES:
            built = {s.vehicle for s in self.ref.slots if (s.supplier, s.group) == scope}
            for seq_no, vid in self.active():
                need = T0 + seq_no * TAKT
                if need <= self.now + 75 * MIN and vid not in built:
                    self.build(scope, vid, self.ref.vehicles[vid].parts[scope])
            loose = [
                s
                for s in self.ref.slots
                if (s.supplier, s.group) == scope
                and s.rack is None
                and s.state == "live"
                and s.vehicle in dict((v, 1) for _, v in self.active())
            ]
            order = {vid: k for k, (_, vid) in enumerate(self.active())}
            loose.sort(key=lambda s: order[s.vehicle])
            while len(loose) >= 6:
                batch, loose = loose[:6], loose[6:]
                slots = [(s.vehicle, s.part) for s in batch]
                eta = self.now + 20 * MIN
                if self.swap_next_rack:
                    slots[2], slots[3] = slots[3], slots[2]
                    self.swap_next_rack = False
                if self.late_next_rack:
                    eta = self.now + 80 * MIN
                    self.late_next_rack = False
                self.dispatch(scope, slots, eta)

    def trucks(self) -> None:
        for rack_id, r in list(self.ref.racks.items()):
            if r.stage == "transit" and r.eta <= self.now:
                self.move(rack_id, "dock")
            elif r.stage == "dock" and r.arrived is not None and r.arrived + UNLOAD <= self.now:
                self.move(rack_id, "line")
            elif r.stage == "line" and all(self.ref.slots[i].state != "live" for i in r.slots):
                self.move(rack_id, "returned")
            elif r.stage == "line" and r.arrived is not None and r.arrived + 60 * MIN <= self.now:
                self.move(rack_id, "returned")  # leftovers (orphans) go back with the empty rack

    # -- disruptions ---------------------------------------------------------------------------

    def disrupt(self, minute: int) -> None:
        act = self.active()
        if minute == 20:  # paint repair: a built vehicle ~50 min ahead is pulled …
            self.pulled = next(vid for s, vid in act if T0 + s * TAKT >= self.now + 50 * MIN)
            self.send(PULL, self.pulled)
        if minute == 35:  # … and comes back 15 vehicles later
            seq = self.ref.vehicles[self.pulled].seq_no + 155
            self.send(REINSERT, self.pulled, seq)
        if minute == 40:
            victim = next(vid for s, vid in act if T0 + s * TAKT >= self.now + 55 * MIN)
            self.send(CANCEL, victim)
        if minute == 50:  # a late variant change of a built vehicle
            vid = next(vid for s, vid in act if T0 + s * TAKT >= self.now + 62 * MIN)
            parts = dict(self.ref.vehicles[vid].parts)
            scope = ("SUPA", "SEAT")
            parts[scope] = next(p for p in SCOPES[scope] if p != parts[scope])
            self.send(CHANGE, vid, None, parts)
        if minute == 60:  # a lost ADD: the call number is used, the message never arrives
            i = self.next_vehicle
            self.next_vehicle += 1
            self.lost = self.send(ADD, f"V{i:04d}", 10 * i, {sc: v[0] for sc, v in SCOPES.items()}, lose=True)
        if minute == 70:
            self.deliver(self.lost)  # the MES re-sends it
        if minute == 80:
            self.swap_next_rack = True
        if minute == 100:
            self.late_next_rack = True
        if minute == 120:  # a duplicate build report
            vid = next(vid for s, vid in act if T0 + s * TAKT >= self.now + 40 * MIN)
            self.build(("SUPB", "COCKPIT"), vid, self.ref.vehicles[vid].parts[("SUPB", "COCKPIT")])
        if minute == 130:
            self.deliver(self.call - 3)  # a repeated message
        if minute == 150:
            self.build(("SUPA", "SEAT"), "NEVER-BROADCAST", "S0")
        if minute == 200:
            self.silent = True
        if minute == 230:
            self.silent = False

    # -- the comparison ------------------------------------------------------------------------

    def engine_breaks(self) -> tuple[Counter[tuple[str, str, str, int]], dict[tuple[str, str], int]]:
        got: Counter[tuple[str, str, str, int]] = Counter()
        oos: dict[tuple[str, str], int] = {}
        for b in all_breaks(self.c, breaks_pb2.ListBreaksRequest(line_id=LINE)).breaks:
            name = TYPE_NAMES[b.type]
            if name == "GAP":
                got[(name, f"{b.first_call_no}-{b.last_call_no}", "", -1)] += 1
            elif name == "OUT_OF_SEQUENCE":
                oos[(b.supplier_id, b.group)] = oos.get((b.supplier_id, b.group), 0) + 1
            else:
                got[(name, b.vehicle_id, b.rack_id, b.position)] += 1
        return got, oos


@pytest.fixture
def day_server(tmp_path) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    yield proc
    proc.stop()


def test_simulated_day_open_breaks_equal_the_reference_model(day_server: ServerProcess) -> None:
    c = connect(day_server.address)
    day = Day(c, seed=7)
    day.clock(T0)
    c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=LINE,
            takt=Duration(seconds=6),
            heartbeat=Duration(seconds=HEARTBEAT // 10**9),
            epoch=ts(T0),
        )
    )
    day.ref.configure(T0)
    for sup in ("SUPA", "SUPB"):
        day.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(
                supplier_id=sup,
                lead_time=Duration(seconds=LEAD // 10**9),
                unload_to_line=Duration(seconds=UNLOAD // 10**9),
            )
        )
    seen: set[str] = set()
    checkpoints = 0
    for minute in range(0, 300):
        day.clock(T0 + minute * MIN)
        day.disrupt(minute)
        day.mes(minute)
        day.supplier()
        day.trucks()
        if minute % 10 == 9:
            want, want_oos = day.ref.open_breaks(day.now)
            got, got_oos = day.engine_breaks()
            assert got == want, f"minute {minute}: engine - ref {got - want}; ref - engine {want - got}"
            assert {k: v for k, v in got_oos.items() if v} == {k: v for k, v in want_oos.items() if v}, minute
            seen |= {k[0] for k in got} | ({"OUT_OF_SEQUENCE"} if any(got_oos.values()) else set())
            checkpoints += 1
    assert checkpoints == 30
    assert seen == set(TYPE_NAMES.values()) - {"UNSPECIFIED"}, (
        f"types never seen: {set(TYPE_NAMES.values()) - seen}"
    )
    c.channel.close()
