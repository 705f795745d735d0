"""The supplier side: supplier settings, slots and racks, as columns.

Each slot is one part for one vehicle. Slots of a vehicle form a chain through the
slot table (``next_of_vehicle``), headed by the vehicle's ``first_slot``, so INSTALLED
and rack loading find them without a Python object per vehicle. Each scope keeps
the slot rows ever listed for it; the kernels filter the ones that left S.
"""

from __future__ import annotations

import numpy as np

from jis.columns import Interner, RowList, Table
from jis.engine.limits import MAX_DURATION_NS, require_duration, require_id
from jis.engine.model import (
    NO_TIME,
    BuildReport,
    RackDispatch,
    RackStage,
    RackView,
    SlotState,
    SlotView,
    SupplierConfig,
)
from jis.engine.sequence import SequenceState
from jis.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

MAX_RACK_CAPACITY = 1024
"""Largest accepted rack capacity (slot positions are 16-bit in the S ordering key)."""
DEFAULT_LEAD_TIME_NS = 4 * 3600 * 10**9
"""MISSING horizon for a supplier named in broadcasts but not configured (yet)."""

Scope = tuple[int, int, int]

SLOT_COLUMNS = {
    "line": np.int32,
    "supplier": np.int32,
    "group": np.int32,
    "vehicle": np.int32,
    "part": np.int32,
    "built_at": np.int64,
    "rack": np.int32,  # -1: not on a rack
    "pos": np.int32,  # -1: not on a rack
    "state": np.int8,  # SlotState
    "next_of_vehicle": np.int64,  # next (older) slot of the same vehicle, -1: end
    "id": np.int64,  # the API slot_id: slots made before it (rows change as retention drops some)
}
RACK_COLUMNS = {
    "line": np.int32,
    "supplier": np.int32,
    "group": np.int32,
    "capacity": np.int32,
    "stage": np.int8,  # RackStage
    "order": np.int64,  # dispatch order: racks dispatched before it (rows change when retention drops some)
    "dispatched_at": np.int64,
    "eta": np.int64,
    "arrived_at": np.int64,
    "line_side_at": np.int64,
    "unloaded_at": np.int64,  # unloaded from its trailer at a door: ready for line side
    "slots_off": np.int64,  # the rack's slot rows: rack_slots[slots_off : slots_off + n_slots]
    "n_slots": np.int32,
}
STAGE_OF_RACK = {
    RackStage.IN_TRANSIT: "IN_TRANSIT",
    RackStage.AT_DOCK: "AT_DOCK",
    RackStage.LINE_SIDE: "LINE_SIDE",
    RackStage.RETURNED: "RETURNED",
}


class SupplyState:
    def __init__(self, seq: SequenceState) -> None:
        self.seq = seq
        self.suppliers: dict[int, SupplierConfig] = {}
        self.slots = Table(SLOT_COLUMNS)
        self.racks = Table(RACK_COLUMNS)
        self.rack_slots = RowList()
        self.rack_ids = Interner()
        self.scope_slots: dict[Scope, RowList] = {}
        self.consumed: dict[Scope, int] = {}
        """Slots consumed by INSTALLED, per scope (they have left S and its candidate rows)."""
        self.slots_made = 0
        """Slots ever made (the next slot's id): rows are renumbered when retention drops some."""
        self.racks_made = 0
        """Racks ever dispatched (the next rack's dispatch order)."""

    # -- suppliers ---------------------------------------------------------------------

    def configure_supplier(self, cfg: SupplierConfig) -> int:
        require_id("supplier_id", cfg.supplier_id)
        require_duration("lead_time", cfg.lead_time_ns, MAX_DURATION_NS)
        require_duration("unload_to_line", cfg.unload_to_line_ns, MAX_DURATION_NS, positive=False)
        code = self.seq.supplier_ids.intern(cfg.supplier_id)
        self.suppliers[code] = cfg
        return code

    def lead_time(self, supplier: int) -> int:
        cfg = self.suppliers.get(supplier)
        return DEFAULT_LEAD_TIME_NS if cfg is None else cfg.lead_time_ns

    def unload_time(self, supplier: int) -> int:
        cfg = self.suppliers.get(supplier)
        return 0 if cfg is None else cfg.unload_to_line_ns

    def _scope_of(self, supplier_id: str, group: str, line_id: str, what: str) -> Scope:
        require_id("supplier_id", supplier_id)
        require_id("group", group)
        require_id("line_id", line_id)
        line = self.seq.line(line_id)
        sup = self.seq.supplier_ids.get(supplier_id)
        if sup not in self.suppliers:
            raise FailedPrecondition("supplier_id", f"supplier {supplier_id!r} is not configured ({what})")
        return (line.code, sup, self.seq.group_ids.intern(group))

    # -- slots -------------------------------------------------------------------------

    def _new_slot(self, scope: Scope, vehicle: int, part: int, built_at: int) -> int:
        veh = self.seq.vehicles
        head = veh.col("first_slot")
        row = self.slots.append(
            line=scope[0],
            supplier=scope[1],
            group=scope[2],
            vehicle=vehicle,
            part=part,
            built_at=built_at,
            rack=-1,
            pos=-1,
            state=SlotState.BUILT,
            next_of_vehicle=int(head[vehicle]),
            id=self.slots_made,
        )
        self.slots_made += 1
        head[vehicle] = row
        rows = self.scope_slots.get(scope)
        if rows is None:
            rows = self.scope_slots[scope] = RowList()
        rows.append(row)
        return row

    def report_build(self, b: BuildReport, at: int) -> tuple[int, Scope]:
        scope = self._scope_of(b.supplier_id, b.group, b.line_id, "report_build")
        require_id("vehicle_id", b.vehicle_id)
        require_id("part_number", b.part_number)
        vehicle = self.seq.vehicle_row(b.vehicle_id)
        part = self.seq.part_numbers.intern(b.part_number)
        return self._new_slot(scope, vehicle, part, at if b.built_at is None else b.built_at), scope

    def slots_of_vehicle(self, vehicle: int) -> list[int]:
        """The vehicle's slot rows, newest first (a walk of its chain)."""
        out = []
        nxt = self.slots.col("next_of_vehicle")
        s = int(self.seq.vehicles.col("first_slot")[vehicle])
        while s >= 0:
            out.append(s)
            s = int(nxt[s])
        return out

    def consume(self, vehicle: int) -> set[Scope]:
        """INSTALLED: every live slot of the vehicle leaves S. Returns the scopes touched."""
        state = self.slots.col("state")
        touched = set()
        for s in self.slots_of_vehicle(vehicle):
            if state[s] == SlotState.BUILT:
                state[s] = SlotState.CONSUMED
                scope = self._slot_scope(s)
                self.consumed[scope] = self.consumed.get(scope, 0) + 1
                touched.add(scope)
        return touched

    def _slot_scope(self, s: int) -> Scope:
        c = self.slots
        return (int(c.col("line")[s]), int(c.col("supplier")[s]), int(c.col("group")[s]))

    # -- racks -------------------------------------------------------------------------

    def dispatch(self, d: RackDispatch, at: int) -> tuple[int, Scope]:
        require_id("rack_id", d.rack_id)
        scope = self._scope_of(d.supplier_id, d.group, d.line_id, "dispatch_rack")
        if self.rack_ids.get(d.rack_id) >= 0:
            raise AlreadyExists("rack_id", f"rack {d.rack_id!r} was already dispatched")
        if not 1 <= d.capacity <= MAX_RACK_CAPACITY:
            raise InvalidArgument("capacity", f"must be between 1 and {MAX_RACK_CAPACITY}, got {d.capacity}")
        if not d.slots:
            raise InvalidArgument("slots", "a dispatched rack carries at least one slot")
        if len(d.slots) > d.capacity:
            raise InvalidArgument("slots", f"{len(d.slots)} slots exceed the rack capacity {d.capacity}")
        for i, (vehicle_id, part_number) in enumerate(d.slots):
            require_id(f"slots[{i}].vehicle_id", vehicle_id)
            require_id(f"slots[{i}].part_number", part_number)
        if d.eta is None:
            raise InvalidArgument("eta", "required")
        dispatched_at = at if d.dispatched_at is None else d.dispatched_at
        # Checks done: from here on nothing can fail.
        rack = self.rack_ids.intern(d.rack_id)
        sc = self.slots.col
        chosen = []
        for vehicle_id, part_number in d.slots:
            vehicle = self.seq.vehicle_row(vehicle_id)
            part = self.seq.part_numbers.intern(part_number)
            row = -1
            for s in self.slots_of_vehicle(vehicle):  # newest first: the last hit is the earliest
                if (
                    sc("rack")[s] < 0
                    and sc("state")[s] == SlotState.BUILT
                    and sc("part")[s] == part
                    and sc("supplier")[s] == scope[1]
                    and sc("group")[s] == scope[2]
                    and sc("line")[s] == scope[0]
                    and s not in chosen
                ):
                    row = s
            if row < 0:
                row = self._new_slot(scope, vehicle, part, dispatched_at)
            chosen.append(row)
        for pos, s in enumerate(chosen):
            self.slots.col("rack")[s] = rack
            self.slots.col("pos")[s] = pos
        off = len(self.rack_slots)
        for s in chosen:
            self.rack_slots.append(s)
        self.racks.append(
            line=scope[0],
            supplier=scope[1],
            group=scope[2],
            capacity=d.capacity,
            stage=RackStage.IN_TRANSIT,
            order=self.racks_made,
            dispatched_at=dispatched_at,
            eta=d.eta,
            arrived_at=NO_TIME,
            line_side_at=NO_TIME,
            unloaded_at=NO_TIME,
            slots_off=off,
            n_slots=len(chosen),
        )
        self.racks_made += 1
        return rack, scope

    def rack(self, rack_id: str) -> int:
        require_id("rack_id", rack_id)
        rack = self.rack_ids.get(rack_id)
        if rack < 0:
            raise NotFound("rack_id", f"unknown rack {rack_id!r}")
        return rack

    def move(self, rack_id: str, stage: int, when: int) -> tuple[int, Scope]:
        rack = self.rack(rack_id)
        if stage not in (RackStage.AT_DOCK, RackStage.LINE_SIDE, RackStage.RETURNED):
            raise InvalidArgument("stage", "must be AT_DOCK, LINE_SIDE or RETURNED")
        r = self.racks.col
        now = RackStage(int(r("stage")[rack]))
        if now == RackStage.RETURNED or stage <= now:
            raise FailedPrecondition(
                "stage", f"rack {rack_id!r} is {now.name}; it cannot move to {RackStage(stage).name}"
            )
        r("stage")[rack] = stage
        if stage == RackStage.AT_DOCK or (stage == RackStage.LINE_SIDE and r("arrived_at")[rack] == NO_TIME):
            r("arrived_at")[rack] = when
        if stage == RackStage.LINE_SIDE:
            r("line_side_at")[rack] = when
        if stage == RackStage.RETURNED:
            state = self.slots.col("state")
            for s in self._rack_slot_rows(rack):
                if state[s] == SlotState.BUILT:
                    state[s] = SlotState.RETURNED
        return rack, self._rack_scope(rack)

    def arrived_at(self, rack_id: str) -> int | None:
        """When the rack reached the dock (None: not yet). NOT_FOUND for an unknown rack."""
        t = int(self.racks.col("arrived_at")[self.rack(rack_id)])
        return None if t == NO_TIME else t

    def update_eta(self, rack_id: str, eta: int) -> tuple[int, Scope]:
        rack = self.rack(rack_id)
        stage = RackStage(int(self.racks.col("stage")[rack]))
        if stage != RackStage.IN_TRANSIT:
            raise FailedPrecondition(
                "rack_id", f"rack {rack_id!r} is {stage.name}; only a rack in transit has an ETA"
            )
        self.racks.col("eta")[rack] = eta
        return rack, self._rack_scope(rack)

    def _rack_scope(self, rack: int) -> Scope:
        r = self.racks.col
        return (int(r("line")[rack]), int(r("supplier")[rack]), int(r("group")[rack]))

    def _rack_slot_rows(self, rack: int) -> list[int]:
        off = int(self.racks.col("slots_off")[rack])
        n = int(self.racks.col("n_slots")[rack])
        return [int(s) for s in self.rack_slots.view()[off : off + n]]

    # -- views -------------------------------------------------------------------------

    def slot_view(self, s: int) -> SlotView:
        c = self.slots.col
        seq = self.seq
        rack = int(c("rack")[s])
        state = SlotState(int(c("state")[s]))
        if state != SlotState.BUILT:
            stage = state.name
        elif rack < 0:
            stage = "BUILT"
        else:
            stage = STAGE_OF_RACK[RackStage(int(self.racks.col("stage")[rack]))]
        return SlotView(
            slot_id=int(c("id")[s]),
            supplier_id=seq.supplier_ids.name(int(c("supplier")[s])),
            group=seq.group_ids.name(int(c("group")[s])),
            line_id=seq.line_ids.name(int(c("line")[s])),
            vehicle_id=seq.vehicle_ids.name(int(c("vehicle")[s])),
            part_number=seq.part_numbers.name(int(c("part")[s])),
            built_at=int(c("built_at")[s]),
            stage=stage,
            rack_id="" if rack < 0 else self.rack_ids.name(rack),
            position=int(c("pos")[s]),
        )

    def rack_view(self, rack_id: str) -> RackView:
        rack = self.rack(rack_id)
        r = self.racks.col
        seq = self.seq
        arrived = int(r("arrived_at")[rack])
        line_side = int(r("line_side_at")[rack])
        unloaded = int(r("unloaded_at")[rack])
        return RackView(
            rack_id=rack_id,
            supplier_id=seq.supplier_ids.name(int(r("supplier")[rack])),
            group=seq.group_ids.name(int(r("group")[rack])),
            line_id=seq.line_ids.name(int(r("line")[rack])),
            capacity=int(r("capacity")[rack]),
            stage=RackStage(int(r("stage")[rack])),
            slots=tuple(self.slot_view(s) for s in self._rack_slot_rows(rack)),
            dispatched_at=int(r("dispatched_at")[rack]),
            eta=int(r("eta")[rack]),
            arrived_at=None if arrived == NO_TIME else arrived,
            line_side_at=None if line_side == NO_TIME else line_side,
            unloaded_at=None if unloaded == NO_TIME else unloaded,
        )
