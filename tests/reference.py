"""A plain reference model of SPEC.md section 3, for end-to-end comparisons.

Written from the spec, slot by slot and vehicle by vehicle, with no code shared with the
engine. It answers one question: which breaks are open now?
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

ADD, CHANGE, PULL, REINSERT, CANCEL, INSTALLED = 1, 2, 3, 4, 5, 6


@dataclass
class RVehicle:
    state: str
    seq_no: int
    need: int
    parts: dict[tuple[str, str], str]  # (supplier, group) -> part number


@dataclass
class RSlot:
    supplier: str
    group: str
    vehicle: str
    part: str
    rack: str | None = None
    pos: int = -1
    state: str = "live"  # live | consumed | returned


@dataclass
class RRack:
    supplier: str
    group: str
    order: int
    eta: int
    stage: str = "transit"  # transit | dock | line | returned
    arrived: int | None = None
    slots: list[int] = field(default_factory=list)


class ReferenceModel:
    def __init__(self, line: str, heartbeat: int, lead: dict[str, int], unload: dict[str, int]) -> None:
        self.line = line
        self.heartbeat = heartbeat
        self.lead = lead
        self.unload = unload
        self.vehicles: dict[str, RVehicle] = {}
        self.slots: list[RSlot] = []
        self.racks: dict[str, RRack] = {}
        self.applied: set[int] = set()
        self.heard = 0

    def configure(self, at: int) -> None:
        self.heard = at

    def broadcast(
        self,
        call_no: int,
        action: int,
        vehicle: str,
        seq_no: int | None,
        need: int | None,
        parts: dict[tuple[str, str], str],
        at: int,
    ) -> None:
        self.heard = at
        if call_no in self.applied:
            return
        self.applied.add(call_no)
        v = self.vehicles.get(vehicle)
        if action == ADD:
            assert seq_no is not None and need is not None
            self.vehicles[vehicle] = RVehicle("active", seq_no, need, dict(parts))
        elif action == CHANGE:
            assert v is not None
            v.parts = dict(parts)
            if seq_no is not None:
                v.seq_no, v.need = seq_no, need if need is not None else v.need
        elif action == PULL:
            assert v is not None
            v.state = "pulled"
        elif action == REINSERT:
            assert v is not None and seq_no is not None and need is not None
            v.state, v.seq_no, v.need = "active", seq_no, need
            if parts:
                v.parts = dict(parts)
        elif action == CANCEL:
            assert v is not None
            v.state = "cancelled"
        elif action == INSTALLED:
            assert v is not None
            v.state = "installed"
            for s in self.slots:
                if s.vehicle == vehicle and s.state == "live":
                    s.state = "consumed"

    def build(self, supplier: str, group: str, vehicle: str, part: str) -> None:
        self.slots.append(RSlot(supplier, group, vehicle, part))

    def dispatch(self, rack: str, supplier: str, group: str, slots: list[tuple[str, str]], eta: int) -> None:
        r = self.racks[rack] = RRack(supplier, group, len(self.racks), eta)
        for pos, (vehicle, part) in enumerate(slots):
            found = next(
                (
                    i
                    for i, s in enumerate(self.slots)
                    if s.rack is None
                    and s.state == "live"
                    and (s.supplier, s.group, s.vehicle, s.part) == (supplier, group, vehicle, part)
                    and i not in r.slots
                ),
                None,
            )
            if found is None:
                self.slots.append(RSlot(supplier, group, vehicle, part))
                found = len(self.slots) - 1
            self.slots[found].rack, self.slots[found].pos = rack, pos
            r.slots.append(found)

    def move(self, rack: str, stage: str, at: int) -> None:
        r = self.racks[rack]
        r.stage = stage
        if stage in ("dock", "line") and r.arrived is None:
            r.arrived = at
        if stage == "returned":
            for i in r.slots:
                if self.slots[i].state == "live":
                    self.slots[i].state = "returned"

    # -- the question ----------------------------------------------------------------------------

    def open_breaks(self, now: int) -> tuple[Counter[tuple[str, str, str, int]], dict[tuple[str, str], int]]:
        """(breaks other than OUT_OF_SEQUENCE as a multiset of (type, vehicle, rack, position),
        OUT_OF_SEQUENCE count per (supplier, group))."""
        out: Counter[tuple[str, str, str, int]] = Counter()
        highest = max(self.applied, default=0)
        missing_calls = [c for c in range(1, highest + 1) if c not in self.applied]
        runs = []
        for c in missing_calls:
            if runs and runs[-1][1] == c - 1:
                runs[-1][1] = c
            else:
                runs.append([c, c])
        for a, b in runs:
            out[("GAP", f"{a}-{b}", "", -1)] += 1
        if now - self.heard > self.heartbeat:
            out[("BROADCAST_SILENT", "", "", -1)] += 1
        oos_counts = {}
        scopes = {k for v in self.vehicles.values() for k in v.parts} | {
            (s.supplier, s.group) for s in self.slots
        }
        for scope in sorted(scopes):
            oos_counts[scope] = self._scope(scope, now, out)
        return out, oos_counts

    def _scope(self, scope: tuple[str, str], now: int, out: Counter[tuple[str, str, str, int]]) -> int:
        supplier = scope[0]
        e = sorted(
            ((v.seq_no, vid) for vid, v in self.vehicles.items() if v.state == "active" and scope in v.parts)
        )
        e_index = {vid: i for i, (_, vid) in enumerate(e)}
        rank = {"line": 0, "dock": 1, "transit": 2}
        s = []
        for i, sl in enumerate(self.slots):
            if (sl.supplier, sl.group) != scope or sl.state != "live":
                continue
            if sl.rack is None:
                s.append(((3, 0, 0, i), i))
            else:
                r = self.racks[sl.rack]
                s.append(((rank[r.stage], r.order, sl.pos, i), i))
        s = [i for _, i in sorted(s)]
        seen: set[str] = set()
        first_right: dict[str, int] = {}
        has_slot: set[str] = set()
        for at, i in enumerate(s):
            sl = self.slots[i]
            where = (sl.rack or "", sl.pos)
            if sl.vehicle in seen:  # any vehicle's slots after its first, in E or not
                out[("DUPLICATE", sl.vehicle, *where)] += 1
            seen.add(sl.vehicle)
            if sl.vehicle not in e_index:
                out[("ORPHAN", sl.vehicle, *where)] += 1
                continue
            has_slot.add(sl.vehicle)
            if sl.part != self.vehicles[sl.vehicle].parts[scope]:
                out[("WRONG_VARIANT", sl.vehicle, *where)] += 1
            elif sl.vehicle not in first_right:
                first_right[sl.vehicle] = at  # position in S
        for _, vid in e:
            if vid not in has_slot and self.vehicles[vid].need <= now + self.lead[supplier]:
                out[("MISSING", vid, "", -1)] += 1
        for rack_id, r in self.racks.items():
            if (r.supplier, r.group) != scope or r.stage not in ("transit", "dock"):
                continue
            needs = [
                self.vehicles[self.slots[i].vehicle].need
                for i in r.slots
                if self.slots[i].state == "live" and self.slots[i].vehicle in e_index
            ]
            if not needs:
                continue
            arrival = r.arrived if r.stage == "dock" else max(r.eta, now)
            if arrival + self.unload[supplier] > min(needs):
                out[("LATE", "", rack_id, -1)] += 1
        keys = [e_index[v] for v in sorted(first_right, key=lambda v: first_right[v])]
        best = [1] * len(keys)  # O(n^2) LIS, strictly increasing
        for i in range(len(keys)):
            for j in range(i):
                if keys[j] < keys[i]:
                    best[i] = max(best[i], best[j] + 1)
        return len(keys) - max(best, default=0)
