"""A simulated plant for long-run benchmarks: what its MES, suppliers and line-side logistics
send to the engine, step by step of plant time, as plain engine inputs (no gRPC).

Per line, vehicle ``i`` (seq_no ``2 i``; odd seq_nos are for re-inserts) is broadcast
``broadcast_lead_min`` before its need time and INSTALLED at it, one takt after the last.
Each vehicle needs one part of each of ``groups`` JIS groups, from a few suppliers in
a few variants. The suppliers build a vehicle's parts ``build_ahead_min`` before its need
time, in sequence, and dispatch a rack per (line, group) as soon as ``rack_capacity``
slots are built; a rack reaches the dock ``transit_min`` later, line side
``line_side_min`` after that, and is returned ``return_after_min`` after the last need
time on it (its unconsumed slots leave S then).

Disruption, at seeded per-vehicle rates: paint-repair pulls (re-inserted 30 minutes
later at the broadcast horizon, then built again there), cancellations, late variant
changes (rebuilt and sent on a one-slot hot-shot rack), repeated messages (DUPLICATE),
late messages (an ADD held one step: a GAP raised and closed), duplicate builds and late
trucks (the ETA updated in transit). Everything the plant generator keeps is bounded
(vehicles are forgotten once installed or cancelled), so a long run measures the engine.

:meth:`Plant.step` returns a :class:`StepInputs` for the plant time ``(t, until]``; the
caller applies it at engine time ``until``: the broadcasts (one batch, in call_no order),
then builds, dispatches, ETA updates and rack moves, in that order (each phase only
depends on earlier phases or earlier steps).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

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

MIN = 60 * 10**9


@dataclass(frozen=True)
class Rates:
    """Probabilities per vehicle (``repeat``, ``late_message``: per broadcast; ``late_truck``:
    per rack)."""

    pull: float = 0.02
    cancel: float = 0.005
    change: float = 0.02
    repeat: float = 0.01
    late_message: float = 0.003
    duplicate_build: float = 0.01
    late_truck: float = 0.02


@dataclass(frozen=True)
class PlantConfig:
    lines: int = 3
    takt_s: int = 60
    groups: int = 10
    suppliers: int = 4
    """Group g is supplied by supplier g % suppliers."""
    variants: int = 3
    broadcast_lead_min: int = 240
    build_ahead_min: int = 180
    lead_time_min: int = 120
    """The suppliers' lead time (the MISSING horizon)."""
    rack_capacity: int = 12
    transit_min: int = 30
    line_side_min: int = 15
    return_after_min: int = 30
    late_truck_min: int = 60
    heartbeat_min: int = 60
    seed: int = 1
    start_ns: int = 1_900_000_000 * 10**9
    rates: Rates = field(default_factory=Rates)


@dataclass
class StepInputs:
    broadcasts: list[Broadcast] = field(default_factory=list)
    builds: list[BuildReport] = field(default_factory=list)
    dispatches: list[RackDispatch] = field(default_factory=list)
    etas: list[tuple[str, int]] = field(default_factory=list)
    moves: list[tuple[str, int, int]] = field(default_factory=list)
    """(rack_id, RackStage, when)."""

    def __len__(self) -> int:
        return (
            len(self.broadcasts) + len(self.builds) + len(self.dispatches) + len(self.etas) + len(self.moves)
        )


@dataclass(eq=False)
class Vehicle:
    line: int
    vid: str
    seq_no: int
    need: int
    parts: list[str]
    """Part number per group."""
    state: str = "active"


class Plant:
    def __init__(self, cfg: PlantConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.takt = cfg.takt_s * 10**9
        self.lead = cfg.broadcast_lead_min * MIN
        self.line_ids = [f"L{k + 1}" for k in range(cfg.lines)]
        self.group_ids = [f"G{g:02d}" for g in range(cfg.groups)]
        self.supplier_ids = [f"S{s}" for s in range(cfg.suppliers)]
        self.supplier_of = [self.supplier_ids[g % cfg.suppliers] for g in range(cfg.groups)]
        self.now = cfg.start_ns
        self._next = [0] * cfg.lines
        """Per line, the index of the next vehicle to broadcast."""
        self._calls = [0] * cfg.lines
        self._odd: list[set[int]] = [set() for _ in range(cfg.lines)]
        """Per line, odd seq_nos held by re-inserted vehicles (until they leave)."""
        self._events: list[tuple[int, int, Callable[[int], None]]] = []
        self._tie = itertools.count()
        self._built: dict[tuple[int, int], list[tuple[str, str, int]]] = {}
        self._racks = itertools.count(1)
        self._held: list[Broadcast] = []
        self._out = StepInputs()
        self.counts: dict[str, int] = {}

    # -- configuration -----------------------------------------------------------------

    def line_configs(self) -> list[LineConfig]:
        hb = self.cfg.heartbeat_min * MIN
        return [LineConfig(line_id, self.takt, hb, self.need_of(0)) for line_id in self.line_ids]

    def supplier_configs(self) -> list[SupplierConfig]:
        return [
            SupplierConfig(s, self.cfg.lead_time_min * MIN, self.cfg.line_side_min * MIN)
            for s in self.supplier_ids
        ]

    # -- plumbing ----------------------------------------------------------------------

    def need_of(self, i: int) -> int:
        return self.cfg.start_ns + self.lead + i * self.takt

    def at(self, when: int, action: Callable[[int], None]) -> None:
        heapq.heappush(self._events, (when, next(self._tie), action))

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def pending_events(self) -> int:
        return len(self._events)

    def _send(
        self, v: Vehicle, action: Action, t: int, seq_no: int | None = None, parts: bool = False
    ) -> None:
        self._calls[v.line] += 1
        b = Broadcast(
            self.line_ids[v.line],
            self._calls[v.line],
            action,
            v.vid,
            seq_no,
            event_time=t,
            need_time=v.need if seq_no is not None or parts else None,
            parts=self._demand(v) if parts else (),
        )
        r = self.cfg.rates
        if action == Action.ADD and self.rng.random() < r.late_message:
            self.count("late message")
            self._held.append(b)  # sent with the next step's messages: a GAP opens and closes
            return
        self._out.broadcasts.append(b)
        if self.rng.random() < r.repeat:
            self.count("repeated message")
            self._out.broadcasts.append(b)

    def _demand(self, v: Vehicle) -> tuple[PartDemand, ...]:
        return tuple(
            PartDemand(grp, v.parts[g], self.supplier_of[g], 1) for g, grp in enumerate(self.group_ids)
        )

    # -- the step ----------------------------------------------------------------------

    def step(self, until: int) -> StepInputs:
        """What the plant sends in (now, until]; plant time moves to ``until``."""
        self._out = out = StepInputs()
        out.broadcasts.extend(self._held)
        self._held = []
        for line in range(self.cfg.lines):
            while self.need_of(self._next[line]) - self.lead <= until:
                i = self._next[line]
                self._next[line] += 1
                self._new_vehicle(line, i)
        while self._events and self._events[0][0] <= until:
            when, _, action = heapq.heappop(self._events)
            action(when)
        self.now = until
        return out

    def _new_vehicle(self, line: int, i: int) -> None:
        cfg = self.cfg
        v = Vehicle(
            line,
            f"{self.line_ids[line]}-{i:07d}",
            2 * i,
            self.need_of(i),
            [f"{grp}-V{self.rng.randrange(cfg.variants)}" for grp in self.group_ids],
        )
        self.at(v.need - self.lead, lambda t: self._add(v, t))

    def _add(self, v: Vehicle, t: int) -> None:
        self._send(v, Action.ADD, t, v.seq_no, parts=True)
        self._schedule(v)
        r = self.cfg.rates
        roll = self.rng.random()
        if roll < r.pull:  # paint repair: out for a while, back at the broadcast horizon
            self.at(v.need - 100 * MIN, lambda t: self._pull(v, t))
        elif roll < r.pull + r.cancel:
            self.at(v.need - 90 * MIN, lambda t: self._cancel(v, t))
        elif roll < r.pull + r.cancel + r.change:  # after the build: a wrong variant on its rack
            self.at(v.need - 95 * MIN, lambda t: self._change(v, t))

    def _schedule(self, v: Vehicle) -> None:
        """The build and the installation for the vehicle's current need time."""
        need = v.need
        self.at(max(self.now, need - self.cfg.build_ahead_min * MIN), lambda t: self._build(v, need, t))
        self.at(need, lambda t: self._install(v, need, t))

    def _leave(self, v: Vehicle, state: str) -> None:
        v.state = state
        if v.seq_no % 2:
            self._odd[v.line].discard(v.seq_no)

    def _install(self, v: Vehicle, need: int, t: int) -> None:
        if v.state == "active" and v.need == need:
            self._leave(v, "installed")
            self._send(v, Action.INSTALLED, t)

    def _pull(self, v: Vehicle, t: int) -> None:
        if v.state != "active":
            return
        self.count("pull")
        self._leave(v, "pulled")
        self._send(v, Action.PULL, t)
        self.at(t + 30 * MIN, lambda t: self._reinsert(v, t))

    def _reinsert(self, v: Vehicle, t: int) -> None:
        if v.state != "pulled":
            return
        j = self._next[v.line] - 1  # the last vehicle broadcast: re-inserted right behind it
        while 2 * j + 1 in self._odd[v.line]:
            j -= 1
        v.seq_no = 2 * j + 1
        self._odd[v.line].add(v.seq_no)
        v.need = self.need_of(j) + self.takt // 2
        v.state = "active"
        self.count("reinsert")
        self._send(v, Action.REINSERT, t, v.seq_no)
        self._schedule(v)

    def _cancel(self, v: Vehicle, t: int) -> None:
        if v.state in ("active", "pulled"):
            self.count("cancel")
            self._leave(v, "cancelled")
            self._send(v, Action.CANCEL, t)

    def _change(self, v: Vehicle, t: int) -> None:
        if v.state != "active":
            return
        cfg = self.cfg
        g = self.rng.randrange(cfg.groups)
        now = int(v.parts[g].rsplit("-V", 1)[1])
        v.parts[g] = f"{self.group_ids[g]}-V{(now + 1 + self.rng.randrange(cfg.variants - 1)) % cfg.variants}"
        self.count("late variant change")
        self._send(v, Action.CHANGE, t, parts=True)
        self.at(t + 5 * MIN, lambda t: self._rebuild(v, g, t))

    # -- suppliers and line side -------------------------------------------------------

    def _build_one(self, v: Vehicle, g: int, t: int) -> BuildReport:
        b = BuildReport(self.supplier_of[g], self.group_ids[g], self.line_ids[v.line], v.vid, v.parts[g], t)
        self._out.builds.append(b)
        if self.rng.random() < self.cfg.rates.duplicate_build:
            self.count("duplicate build")
            self._out.builds.append(b)
        return b

    def _build(self, v: Vehicle, need: int, t: int) -> None:
        if v.state not in ("active", "pulled") or v.need != need:
            return
        cap = self.cfg.rack_capacity
        for g in range(self.cfg.groups):
            b = self._build_one(v, g, t)
            built = self._built.setdefault((v.line, g), [])
            built.append((b.vehicle_id, b.part_number, need))
            if len(built) >= cap:
                self._dispatch(v.line, g, built, t)
                self._built[(v.line, g)] = []

    def _rebuild(self, v: Vehicle, g: int, t: int) -> None:
        """After a late variant change: the right part, on a hot-shot rack of its own."""
        if v.state != "active":
            return
        b = self._build_one(v, g, t)
        self.count("hot-shot rack")
        self.at(t + 5 * MIN, lambda t: self._dispatch(v.line, g, [(b.vehicle_id, b.part_number, v.need)], t))

    def _dispatch(self, line: int, g: int, slots: list[tuple[str, str, int]], t: int) -> None:
        cfg = self.cfg
        rack_id = f"{self.line_ids[line]}-{self.group_ids[g]}-R{next(self._racks):07d}"
        eta = t + cfg.transit_min * MIN
        self._out.dispatches.append(
            RackDispatch(
                rack_id,
                self.supplier_of[g],
                self.group_ids[g],
                self.line_ids[line],
                cfg.rack_capacity,
                tuple((vid, part) for vid, part, _ in slots),
                eta,
                t,
            )
        )
        arrival = eta
        if self.rng.random() < cfg.rates.late_truck:
            self.count("late truck")
            arrival = eta + cfg.late_truck_min * MIN
            self.at(t + 10 * MIN, lambda t: self._out.etas.append((rack_id, arrival)))
        last_need = max(need for _, _, need in slots)
        self.at(arrival, lambda t: self._out.moves.append((rack_id, RackStage.AT_DOCK, t)))
        line_side = arrival + cfg.line_side_min * MIN
        self.at(line_side, lambda t: self._out.moves.append((rack_id, RackStage.LINE_SIDE, t)))
        returned = max(line_side, last_need) + cfg.return_after_min * MIN
        self.at(returned, lambda t: self._out.moves.append((rack_id, RackStage.RETURNED, t)))
