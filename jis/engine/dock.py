"""Dock and yard: door appointments and the trailers that keep them, as columns.

An appointment holds a door for a window and names the racks its trailer carries. A
door is held by appointments that are booked, in the yard or at the door; two of them
may not overlap in time. The trailer's events move on in order: gate-in (waiting in
the yard), at the door (its racks arrive at the dock: LATE and the KPIs use that time),
unloaded (its racks are ready for line side; the door is free).
"""

from __future__ import annotations

import numpy as np

from jis.columns import Interner, RowList, Table
from jis.engine.limits import MAX_ID_LEN, has_control, require_id
from jis.engine.model import (
    NO_TIME,
    AppointmentSpec,
    AppointmentState,
    AppointmentView,
    RackStage,
    YardEvent,
    YardView,
)
from jis.engine.supply import Scope, SupplyState
from jis.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

MAX_RACKS_PER_APPOINTMENT = 256

APPOINTMENT_COLUMNS = {
    "door": np.int32,
    "window_start": np.int64,
    "window_end": np.int64,
    "carrier": np.int32,
    "trailer": np.int32,
    "supplier": np.int32,
    "state": np.int8,  # AppointmentState
    "booked_at": np.int64,
    "gate_in_at": np.int64,  # NO_TIME until it happens (same for the next three)
    "at_door_at": np.int64,
    "unloaded_at": np.int64,
    "cancelled_at": np.int64,
    "racks_off": np.int64,  # the racks: appointment_racks[racks_off : racks_off + n_racks]
    "n_racks": np.int32,
}
HOLDS_DOOR = (AppointmentState.BOOKED, AppointmentState.IN_YARD, AppointmentState.AT_DOOR)
_EVENT_FROM = {
    YardEvent.GATE_IN: (AppointmentState.BOOKED, AppointmentState.IN_YARD, "gate_in_at"),
    YardEvent.AT_DOOR: (AppointmentState.IN_YARD, AppointmentState.AT_DOOR, "at_door_at"),
    YardEvent.UNLOADED: (AppointmentState.AT_DOOR, AppointmentState.UNLOADED, "unloaded_at"),
}
_PREVIOUS_TIME = {
    YardEvent.GATE_IN: "booked_at",
    YardEvent.AT_DOOR: "gate_in_at",
    YardEvent.UNLOADED: "at_door_at",
}


class DockState:
    def __init__(self, supply: SupplyState) -> None:
        self.supply = supply
        self.seq = supply.seq
        self.ids = Interner()
        self.doors = Interner()
        self.carriers = Interner([""])
        self.trailers = Interner([""])
        self.appointments = Table(APPOINTMENT_COLUMNS)
        self.appointment_racks = RowList()
        self.rack_appointment: dict[int, int] = {}
        """Rack row -> the appointment (holding a door) that carries it."""

    # -- booking -----------------------------------------------------------------------

    def _check(self, spec: AppointmentSpec, row: int) -> list[int]:
        """Raise unless ``spec`` can be booked (as appointment ``row``, -1: new); returns its racks."""
        require_id("appointment_id", spec.appointment_id)
        require_id("door", spec.door)
        require_id("supplier_id", spec.supplier_id)
        for field in ("carrier", "trailer"):
            if len(getattr(spec, field)) > MAX_ID_LEN:
                raise InvalidArgument(field, f"longer than {MAX_ID_LEN} characters")
            if has_control(getattr(spec, field)):
                raise InvalidArgument(field, "contains a control character")
        if spec.window_start >= spec.window_end:
            raise InvalidArgument("window_end", "must be after window_start")
        supplier = self.seq.supplier_ids.get(spec.supplier_id)
        if supplier < 0 or supplier not in self.supply.suppliers:
            raise FailedPrecondition("supplier_id", f"supplier {spec.supplier_id!r} is not configured")
        if len(spec.rack_ids) > MAX_RACKS_PER_APPOINTMENT:
            raise InvalidArgument("rack_ids", f"more than {MAX_RACKS_PER_APPOINTMENT} racks")
        racks: list[int] = []
        r = self.supply.racks.col
        for i, rack_id in enumerate(spec.rack_ids):
            field = f"rack_ids[{i}]"
            require_id(field, rack_id)
            rack = self.supply.rack_ids.get(rack_id)
            if rack < 0:
                raise NotFound(field, f"unknown rack {rack_id!r}")
            if rack in racks:
                raise InvalidArgument(field, f"rack {rack_id!r} is listed twice")
            if int(r("supplier")[rack]) != supplier:
                raise FailedPrecondition(field, f"rack {rack_id!r} is not supplier {spec.supplier_id!r}'s")
            if int(r("stage")[rack]) == RackStage.RETURNED:
                raise FailedPrecondition(field, f"rack {rack_id!r} was returned")
            other = self.rack_appointment.get(rack, row)
            if other != row:
                raise FailedPrecondition(
                    field, f"rack {rack_id!r} is on appointment {self.ids.name(other)!r}"
                )
            racks.append(rack)
        door = self.doors.get(spec.door)
        if door >= 0 and len(self.appointments):
            a = self.appointments.col
            clash = (
                (a("door") == door)
                & np.isin(a("state"), HOLDS_DOOR)
                & (a("window_start") < spec.window_end)
                & (spec.window_start < a("window_end"))
            )
            if row >= 0:
                clash[row] = False
            hit = np.flatnonzero(clash)
            if hit.size:
                h = int(hit[0])
                raise FailedPrecondition(
                    "door",
                    f"door {spec.door!r} is booked by appointment {self.ids.name(h)!r} for an overlapping "
                    f"window [{int(a('window_start')[h])}, {int(a('window_end')[h])}) ns",
                )
        return racks

    def _set(self, row: int, spec: AppointmentSpec, racks: list[int]) -> None:
        a = self.appointments.col
        for rack in self._racks(row):
            self.rack_appointment.pop(rack, None)
        a("door")[row] = self.doors.intern(spec.door)
        a("window_start")[row] = spec.window_start
        a("window_end")[row] = spec.window_end
        a("carrier")[row] = self.carriers.intern(spec.carrier)
        a("trailer")[row] = self.trailers.intern(spec.trailer)
        a("supplier")[row] = self.seq.supplier_ids.get(spec.supplier_id)
        a("racks_off")[row] = len(self.appointment_racks)
        a("n_racks")[row] = len(racks)
        for rack in racks:
            self.appointment_racks.append(rack)
            self.rack_appointment[rack] = row

    def book(self, spec: AppointmentSpec, at: int) -> int:
        require_id("appointment_id", spec.appointment_id)
        if self.ids.get(spec.appointment_id) >= 0:
            raise AlreadyExists("appointment_id", f"appointment {spec.appointment_id!r} is already booked")
        racks = self._check(spec, -1)
        row = self.ids.intern(spec.appointment_id)
        self.appointments.append(
            state=AppointmentState.BOOKED,
            booked_at=at,
            gate_in_at=NO_TIME,
            at_door_at=NO_TIME,
            unloaded_at=NO_TIME,
            cancelled_at=NO_TIME,
            n_racks=0,
        )
        self._set(row, spec, racks)
        return row

    def appointment(self, appointment_id: str) -> int:
        require_id("appointment_id", appointment_id)
        row = self.ids.get(appointment_id)
        if row < 0:
            raise NotFound("appointment_id", f"unknown appointment {appointment_id!r}")
        return row

    def _require_state(self, row: int, want: AppointmentState, what: str) -> None:
        state = AppointmentState(int(self.appointments.col("state")[row]))
        if state != want:
            raise FailedPrecondition(
                "appointment_id",
                f"{what} needs an appointment that is {want.name}; {self.ids.name(row)!r} is {state.name}",
            )

    def change(self, spec: AppointmentSpec) -> int:
        row = self.appointment(spec.appointment_id)
        self._require_state(row, AppointmentState.BOOKED, "a change")
        racks = self._check(spec, row)
        self._set(row, spec, racks)
        return row

    def cancel(self, appointment_id: str, at: int) -> int:
        row = self.appointment(appointment_id)
        self._require_state(row, AppointmentState.BOOKED, "a cancellation")
        a = self.appointments.col
        a("state")[row] = AppointmentState.CANCELLED
        a("cancelled_at")[row] = at
        for rack in self._racks(row):
            self.rack_appointment.pop(rack, None)
        return row

    # -- the yard ----------------------------------------------------------------------

    def event(self, appointment_id: str, kind: int, when: int) -> tuple[int, list[int]]:
        """Apply a yard event at ``when``; returns the appointment and the racks that
        arrived at the dock (AT_DOOR), whose scopes need re-evaluating."""
        row = self.appointment(appointment_id)
        if kind not in YardEvent._value2member_map_:
            raise InvalidArgument("kind", f"unknown yard event kind {kind}")
        ev = YardEvent(kind)
        before, after, column = _EVENT_FROM[ev]
        self._require_state(row, before, ev.name)
        a = self.appointments.col
        previous = int(a(_PREVIOUS_TIME[ev])[row])
        if when < previous:
            raise InvalidArgument(
                "at", f"{ev.name} at {when} ns is before the previous event ({previous} ns)"
            )
        a("state")[row] = after
        a(column)[row] = when
        arrived: list[int] = []
        r = self.supply.racks.col
        for rack in self._racks(row):
            if ev == YardEvent.AT_DOOR and int(r("stage")[rack]) == RackStage.IN_TRANSIT:
                self.supply.move(self.supply.rack_ids.name(rack), RackStage.AT_DOCK, when)
                arrived.append(rack)
            if ev == YardEvent.UNLOADED:
                self.rack_appointment.pop(rack, None)
                if r("unloaded_at")[rack] == NO_TIME:
                    r("unloaded_at")[rack] = when
        return row, arrived

    def scopes_of(self, racks: list[int]) -> list[Scope]:
        r = self.supply.racks.col
        return [(int(r("line")[k]), int(r("supplier")[k]), int(r("group")[k])) for k in racks]

    # -- views -------------------------------------------------------------------------

    def _racks(self, row: int) -> list[int]:
        a = self.appointments.col
        if row < 0 or row >= len(self.appointments):
            return []
        off, n = int(a("racks_off")[row]), int(a("n_racks")[row])
        return [int(k) for k in self.appointment_racks.view()[off : off + n]]

    def view(self, row: int, now: int) -> AppointmentView:
        a = self.appointments.col

        def t(col: str) -> int | None:
            v = int(a(col)[row])
            return None if v == NO_TIME else v

        gate_in, at_door, unloaded = t("gate_in_at"), t("at_door_at"), t("unloaded_at")
        start, end = int(a("window_start")[row]), int(a("window_end")[row])
        spec = AppointmentSpec(
            appointment_id=self.ids.name(row),
            door=self.doors.name(int(a("door")[row])),
            window_start=start,
            window_end=end,
            carrier=self.carriers.name(int(a("carrier")[row])),
            trailer=self.trailers.name(int(a("trailer")[row])),
            supplier_id=self.seq.supplier_ids.name(int(a("supplier")[row])),
            rack_ids=tuple(self.supply.rack_ids.name(k) for k in self._racks(row)),
        )
        return AppointmentView(
            spec=spec,
            state=AppointmentState(int(a("state")[row])),
            booked_at=int(a("booked_at")[row]),
            gate_in_at=gate_in,
            at_door_at=at_door,
            unloaded_at=unloaded,
            cancelled_at=t("cancelled_at"),
            gate_wait_ns=None if gate_in is None else (at_door if at_door is not None else now) - gate_in,
            door_dwell_ns=None if at_door is None else (unloaded if unloaded is not None else now) - at_door,
            punctuality_ns=None if gate_in is None else gate_in - start,
            on_time=gate_in is not None and start <= gate_in < end,
        )

    def yard(self, now: int, start: int, stop: int, door: str) -> YardView:
        a = self.appointments.col
        n = len(self.appointments)
        state = a("state")
        rows = np.arange(n)
        if door:
            d = self.doors.get(door)
            rows = rows[a("door") == d] if d >= 0 else rows[:0]
        waiting = rows[state[rows] == AppointmentState.IN_YARD]
        waiting = waiting[np.argsort(a("gate_in_at")[waiting], kind="stable")]
        at_door = rows[state[rows] == AppointmentState.AT_DOOR]
        sched = rows[
            (state[rows] != AppointmentState.CANCELLED)
            & (a("window_start")[rows] < stop)
            & (start < a("window_end")[rows])
        ]
        sched = sched[np.lexsort((a("window_start")[sched], a("door")[sched]))]
        doors: dict[str, list[AppointmentView]] = {}
        for row in sched.tolist():
            v = self.view(row, now)
            doors.setdefault(v.spec.door, []).append(v)
        return YardView(
            at=now,
            waiting=[self.view(r, now) for r in waiting.tolist()],
            at_door=[self.view(r, now) for r in at_door.tolist()],
            doors=dict(sorted(doors.items())),
        )
