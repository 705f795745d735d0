"""`jis simulate`: a seeded day at a plant, played against a running server over gRPC.

It plays the MES (a broadcast per vehicle hours ahead, INSTALLED as the line consumes),
the suppliers (build in sequence, load racks, dispatch them), the trucks (appointments,
gate-in, door, unloading) and line-side logistics, on the server's test clock (``jis serve
--test-clock``), which it moves forward one takt at a time. Disruptions come at
configurable rates from one seeded random stream, so ``--seed`` replays the same day:
paint-repair pulls and re-inserts, cancellations, late variant changes, lost and repeated
broadcast messages, duplicate builds, swapped slots, late trucks, a supplier outage and a
silent feed. The breaks the server raises and resolves are printed as they happen.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.cli.work import break_line
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    broadcast_pb2_grpc,
    common_pb2,
    dock_pb2,
    dock_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    supply_pb2,
    supply_pb2_grpc,
)

MIN = 60 * 10**9
SEQ_STEP = 10
"""Planned vehicles take every SEQ_STEP-th seq_no; re-inserted ones the numbers between."""
SUPPLIERS = {  # supplier -> (group, variants)
    "SEATCO": ("FRONT_SEATS", ["S-BLK", "S-GRY", "S-TAN"]),
    "DASHCO": ("COCKPIT", ["C-BASE", "C-NAV", "C-HUD"]),
}


@dataclass(frozen=True)
class Rates:
    """Probabilities per vehicle (or per rack, for swap and late)."""

    pull: float = 0.03
    cancel: float = 0.01
    change: float = 0.03
    lost: float = 0.01
    repeat: float = 0.02
    duplicate_build: float = 0.01
    swap: float = 0.05
    late_truck: float = 0.05


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    hours: float = 8.0
    """Simulated production time, after a pre-roll of one broadcast lead (the first
    vehicles are broadcast, built and shipped before the line starts)."""
    takt_s: int = 60
    speed: float = 0.0
    """Simulated seconds per wall second; 0: as fast as the server answers."""
    broadcast_lead_min: int = 180
    """Broadcast this long before a vehicle's need time."""
    lead_time_min: int = 120
    """Suppliers' lead time (the MISSING horizon)."""
    build_ahead_min: int = 150
    """Suppliers build this long before the need time (before the horizon)."""
    transit_min: int = 30
    rack_capacity: int = 6
    line_id: str = "L1"
    rates: Rates = field(default_factory=Rates)
    quiet: bool = False
    """Do not print each break."""


@dataclass
class Vehicle:
    vid: str
    seq_no: int
    need: int
    parts: dict[str, str]
    """supplier -> variant"""
    state: str = "planned"


class Sim:
    def __init__(self, cfg: SimConfig, channel: grpc.Channel, out: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.out = out
        self.lines = lines_pb2_grpc.LineServiceStub(channel)
        self.clock = lines_pb2_grpc.ClockServiceStub(channel)
        self.pub = broadcast_pb2_grpc.BroadcastServiceStub(channel)
        self.supply = supply_pb2_grpc.SupplyServiceStub(channel)
        self.dock = dock_pb2_grpc.DockServiceStub(channel)
        self.breaks = breaks_pb2_grpc.BreakServiceStub(channel)
        self.takt = cfg.takt_s * 10**9
        self.call_no = 0
        self.events: list[tuple[int, int, Callable[[], None]]] = []
        self._tie = itertools.count()
        self.vehicles: list[Vehicle] = []
        self.built: dict[str, list[tuple[Vehicle, str]]] = {s: [] for s in SUPPLIERS}
        self.counts: dict[str, int] = {}
        self.racks = itertools.count(1)
        self.door_free: dict[str, int] = {}
        self.last_added = 0
        """seq_no of the last vehicle broadcast (re-inserts join right behind it)."""

    # -- plumbing ----------------------------------------------------------------------

    def at(self, when: int, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self._tie), action))

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @staticmethod
    def ts(ns: int) -> Timestamp:
        t = Timestamp()
        t.FromNanoseconds(ns)
        return t

    def _rpc(self, fn: Callable[..., Any], request: Any) -> Any:
        try:
            return fn(request, timeout=30)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            self.count(f"refused {exc.code().name}")
            return None

    def broadcast(self, action: int, v: Vehicle, seq_no: int | None = None, parts: bool = False) -> None:
        self.call_no += 1
        m = broadcast_pb2.Broadcast(line_id=self.cfg.line_id, call_no=self.call_no, vehicle_id=v.vid)
        m.action = action  # type: ignore[assignment]
        m.event_time.CopyFrom(self.ts(self.now))
        if seq_no is not None:
            m.seq_no = seq_no
            m.need_time.CopyFrom(self.ts(v.need))  # as MES broadcasts carry it
        if parts:
            m.parts.extend(
                common_pb2.Part(group=SUPPLIERS[s][0], part_number=p, supplier_id=s, quantity=1)
                for s, p in v.parts.items()
            )
        req = broadcast_pb2.PublishRequest(broadcast=m)
        if self.silent_until > self.now:  # the feed is down: messages wait at the MES
            self.at(self.silent_until, lambda: self._rpc(self.pub.Publish, req))
            return
        if self.rng.random() < self.cfg.rates.lost:  # lost, re-sent 5 minutes later
            self.count("lost message")
            self.at(self.now + 5 * MIN, lambda: self._rpc(self.pub.Publish, req))
            return
        self._rpc(self.pub.Publish, req)
        if self.rng.random() < self.cfg.rates.repeat:
            self.count("repeated message")
            self._rpc(self.pub.Publish, req)

    # -- the day -----------------------------------------------------------------------

    def setup(self, start: int) -> None:
        self.now = self.start = start
        self.silent_until = 0
        self.clock.SetClock(lines_pb2.SetClockRequest(now=self.ts(start)), timeout=30)
        line = lines_pb2.ConfigureLineRequest(
            line_id=self.cfg.line_id, takt=Duration(seconds=self.cfg.takt_s), heartbeat=Duration(seconds=600)
        )
        lead = self.cfg.broadcast_lead_min * MIN
        self.epoch = start + lead  # the first vehicle reaches line side once the broadcast lead has passed
        line.epoch.FromNanoseconds(self.epoch)
        self.lines.ConfigureLine(line, timeout=30)
        for s in SUPPLIERS:
            self.supply.ConfigureSupplier(
                supply_pb2.ConfigureSupplierRequest(
                    supplier_id=s,
                    lead_time=Duration(seconds=self.cfg.lead_time_min * 60),
                    unload_to_line=Duration(seconds=600),
                ),
                timeout=30,
            )
        n = int(self.cfg.hours * 3600 / self.cfg.takt_s) + lead // self.takt
        for i in range(1, n + 1):
            v = Vehicle(
                f"{self.cfg.line_id}-{self.cfg.seed}-{i:05d}",
                SEQ_STEP * i,  # room between two for the vehicles that come back from paint repair
                self.epoch + i * self.takt,
                {s: self.rng.choice(vs) for s, (_, vs) in SUPPLIERS.items()},
            )
            self.vehicles.append(v)
            self.at(max(start, v.need - lead), functools.partial(self.add, v))
            self.at(v.need, functools.partial(self.install, v))
        # A supplier outage (MISSING) and a silent feed (BROADCAST_SILENT), at seeded moments.
        day = int(self.cfg.hours * 3600 * 10**9)
        self.outage = (self.epoch + day // 4, self.epoch + day // 4 + 45 * MIN)
        self.at(self.epoch + day // 2, self.go_silent)

    def go_silent(self) -> None:
        self.count("silent feed")
        self.silent_until = self.now + 15 * MIN  # heartbeat 10 min

    def add(self, v: Vehicle) -> None:
        v.state = "active"
        self.last_added = max(self.last_added, v.seq_no)
        self.broadcast(common_pb2.ACTION_ADD, v, v.seq_no, parts=True)
        r = self.cfg.rates
        for s in SUPPLIERS:
            self.at(v.need - self.cfg.build_ahead_min * MIN, functools.partial(self.build, v, s))
        roll = self.rng.random()
        if roll < r.pull:  # paint repair: out for a while, back later in the sequence
            self.at(v.need - 100 * MIN, lambda: self.pull(v))
        elif roll < r.pull + r.cancel:
            self.at(v.need - 90 * MIN, lambda: self.cancel(v))
        elif roll < r.pull + r.cancel + r.change:  # after the build: a wrong variant on the way
            self.at(v.need - 95 * MIN, lambda: self.change(v))

    def pull(self, v: Vehicle) -> None:
        if v.state != "active":
            return
        v.state = "pulled"
        self.count("pull")
        self.broadcast(common_pb2.ACTION_PULL, v)
        self.at(self.now + 30 * MIN, lambda: self.reinsert(v))

    def reinsert(self, v: Vehicle) -> None:
        if v.state != "pulled":
            return
        v.state = "active"
        # Back into the sequence right behind the last vehicle broadcast: about one broadcast
        # lead (3 h) from line side, where a repaired body joins the queue again.
        self.last_added += 1
        v.seq_no = self.last_added
        v.need = self.epoch + v.seq_no * self.takt // SEQ_STEP
        self.count("reinsert")
        self.broadcast(common_pb2.ACTION_REINSERT, v, v.seq_no)
        self.at(v.need, functools.partial(self.install, v))

    def cancel(self, v: Vehicle) -> None:
        if v.state in ("active", "pulled"):
            v.state = "cancelled"
            self.count("cancel")
            self.broadcast(common_pb2.ACTION_CANCEL, v)

    def change(self, v: Vehicle) -> None:
        if v.state != "active":
            return
        s = self.rng.choice(list(SUPPLIERS))
        v.parts[s] = self.rng.choice([p for p in SUPPLIERS[s][1] if p != v.parts[s]])
        self.count("late variant change")
        self.broadcast(common_pb2.ACTION_CHANGE, v, parts=True)

    def install(self, v: Vehicle) -> None:
        if v.state == "active" and v.need == self.now:
            v.state = "installed"
            self.broadcast(common_pb2.ACTION_INSTALLED, v)

    # -- suppliers, trucks, line side ----------------------------------------------------

    def build(self, v: Vehicle, supplier: str) -> None:
        if v.state not in ("active", "pulled"):
            return
        if self.outage[0] <= self.now < self.outage[1] and supplier == "DASHCO":
            self.at(self.outage[1], lambda: self.build(v, supplier))  # catches up after the outage
            return
        part = v.parts[supplier]
        req = supply_pb2.ReportBuildRequest(
            supplier_id=supplier,
            group=SUPPLIERS[supplier][0],
            line_id=self.cfg.line_id,
            vehicle_id=v.vid,
            part_number=part,
        )
        self._rpc(self.supply.ReportBuild, req)
        if self.rng.random() < self.cfg.rates.duplicate_build:
            self.count("duplicate build")
            self._rpc(self.supply.ReportBuild, req)
        self.built[supplier].append((v, part))
        if len(self.built[supplier]) >= self.cfg.rack_capacity:
            self.dispatch(supplier)

    def dispatch(self, supplier: str) -> None:
        slots, self.built[supplier] = self.built[supplier], []
        if self.rng.random() < self.cfg.rates.swap and len(slots) > 2:
            self.count("swapped slots")
            i = self.rng.randrange(len(slots) - 1)
            slots[i], slots[i + 1] = slots[i + 1], slots[i]
        rack_id = f"{supplier}-R{next(self.racks):05d}"
        eta = self.now + self.cfg.transit_min * MIN
        req = supply_pb2.DispatchRackRequest(
            rack_id=rack_id,
            supplier_id=supplier,
            group=SUPPLIERS[supplier][0],
            line_id=self.cfg.line_id,
            capacity=self.cfg.rack_capacity,
            slots=[supply_pb2.RackSlot(vehicle_id=v.vid, part_number=p) for v, p in slots],
            eta=self.ts(eta),
        )
        if self._rpc(self.supply.DispatchRack, req) is None:
            return
        arrival = eta
        if self.rng.random() < self.cfg.rates.late_truck:
            self.count("late truck")
            arrival = eta + 150 * MIN
            self.at(
                self.now + 10 * MIN,
                lambda: self._rpc(
                    self.supply.UpdateRackEta,
                    supply_pb2.UpdateRackEtaRequest(rack_id=rack_id, eta=self.ts(arrival)),
                ),
            )
        appointment = self.book(supplier, rack_id, arrival)
        self.at(arrival, lambda: self.truck(appointment, rack_id))

    def book(self, supplier: str, rack_id: str, arrival: int) -> str:
        """An appointment at the first of the supplier's doors free for the window; '' if none."""
        for d in range(3):
            door = f"{supplier}-D{d + 1}"
            if self.door_free.get(door, 0) > arrival - 5 * MIN:
                continue
            spec = dock_pb2.AppointmentSpec(
                appointment_id=f"A-{rack_id}",
                door=door,
                window_start=self.ts(arrival - 5 * MIN),
                window_end=self.ts(arrival + 15 * MIN),
                carrier="ROADCO",
                trailer=f"T-{rack_id}",
                supplier_id=supplier,
                rack_ids=[rack_id],
            )
            if self._rpc(self.dock.BookAppointment, spec) is not None:
                self.door_free[door] = arrival + 15 * MIN
                return spec.appointment_id
        return ""

    def truck(self, appointment: str, rack_id: str) -> None:
        if not appointment:  # no door free: the rack is brought in without an appointment
            move = supply_pb2.MoveRackRequest(rack_id=rack_id, stage=supply_pb2.RACK_STAGE_AT_DOCK)
            self._rpc(self.supply.MoveRack, move)
        else:
            self.yard(appointment, dock_pb2.YARD_EVENT_KIND_GATE_IN)
            self.at(self.now + 3 * MIN, lambda: self.yard(appointment, dock_pb2.YARD_EVENT_KIND_AT_DOOR))
            self.at(self.now + 12 * MIN, lambda: self.yard(appointment, dock_pb2.YARD_EVENT_KIND_UNLOADED))
        line_side = supply_pb2.MoveRackRequest(rack_id=rack_id, stage=supply_pb2.RACK_STAGE_LINE_SIDE)
        self.at(self.now + 15 * MIN, lambda: self._rpc(self.supply.MoveRack, line_side))

    def yard(self, appointment: str, kind: int) -> None:
        self._rpc(self.dock.RecordYardEvent, dock_pb2.YardEventRequest(appointment_id=appointment, kind=kind))  # type: ignore[arg-type]

    # -- running -----------------------------------------------------------------------

    def run(self, start: int, progress: Callable[[float], None] = lambda f: None) -> dict[str, int]:
        self.setup(start)
        end = self.epoch + int(self.cfg.hours * 3600 * 10**9)
        t = start
        wall = time.monotonic()
        clock_at = start
        while t <= end:
            while self.events and self.events[0][0] <= t:
                when, _, action = heapq.heappop(self.events)
                self.now = max(when, self.now)
                if self.now > clock_at:  # every time-driven break happens at its own moment
                    clock_at = self.now
                    self.clock.SetClock(lines_pb2.SetClockRequest(now=self.ts(clock_at)), timeout=30)
                action()
            self.now = t
            if t > clock_at:
                clock_at = t
                self.clock.SetClock(lines_pb2.SetClockRequest(now=self.ts(t)), timeout=30)
            progress((t - start) / max(1, end - start))
            if self.cfg.speed > 0:
                target = wall + (t - start) / 1e9 / self.cfg.speed
                time.sleep(max(0.0, target - time.monotonic()))
            t += self.takt
        return dict(sorted(self.counts.items()))


def watch_breaks(
    channel: grpc.Channel, out: Callable[[str], None], stop: threading.Event, line_id: str
) -> threading.Thread:
    """Print each break of the line raised and resolved, on a thread, until ``stop``: the
    lines of `jis breaks --watch`, each after the server time it happened (HH:MM). The
    stream is opened before the day configures the line, so it is filtered here."""
    stream = breaks_pb2_grpc.BreakServiceStub(channel).WatchBreaks(breaks_pb2.WatchBreaksRequest())

    def read() -> None:
        try:
            for ev in stream:
                if ev.sequence_break.line_id == line_id:
                    out(break_line(ev, clock=True))
        except grpc.RpcError:
            pass

    stop_thread = threading.Thread(target=lambda: (stop.wait(), stream.cancel()), daemon=True)
    stop_thread.start()
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def progress_bar(fraction: float, width: int = 40) -> None:
    """A bar on the terminal's last line, redrawn in place (break lines clear it first)."""
    done = int(fraction * width)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {100 * fraction:5.1f} %")
    if fraction >= 1:
        sys.stderr.write("\n")
    sys.stderr.flush()


CLEAR_LINE = "\r\x1b[K"
"""Back to the line's start and erase it: a break line printed while a bar is drawn."""
