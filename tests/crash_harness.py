"""Kill -9 a real server at random moments under load; check nothing acknowledged is lost.

The server runs on the test clock, so the client knows the engine time of every input.
After each kill and restart, everything a client can read (lines, the sequence, every
vehicle and rack, open and resolved breaks, every build-sequence change with its cursor,
the yard, the KPIs, the inventory) must equal an in-process engine that
replayed exactly the acknowledged inputs, or those plus the one in flight at the kill:
never anything in between.

Which of the two it is decides whether the op in flight joins the acknowledged ones, so
every input the server applies must show in what is compared at once: a ReportBuild
adds a slot that is on no rack and often raises or resolves no break, and only the
inventory's count of built slots shows it. Without it such a build, applied but judged
lost, surfaced at a later kill point as racks dispatched since then whose slot ids are
one off, and the breaks that name those slots.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.api import convert
from jis.engine.engine import Engine
from jis.errors import DomainError
from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    build_sequence_pb2,
    dock_pb2,
    lines_pb2,
    reports_pb2,
    sequence_pb2,
    supply_pb2,
)
from tests.conftest import all_breaks, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part
from tests.serverproc import ServerProcess

T = TypeVar("T")

T0 = 1_798_761_600 * 10**9
REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
"""The statuses the server answers a refused request with (it then changed nothing)."""
LINE, SUP = "CR", "CSUP"


@dataclass
class Op:
    """One client request: how to send it, and how the reference engine applies it."""

    name: str
    send: Callable[[Any], object]
    apply: Callable[[Engine], object]
    at: int
    undo: Callable[[], None] = lambda: None
    """Undo what creating the op did to the driver's own view (the clock), if the op is lost."""


@dataclass
class Driver:
    seed: int
    rng: random.Random = field(init=False)
    now: int = T0
    call: int = 0
    vehicles: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)
    racks: list[str] = field(default_factory=list)
    appointments: list[str] = field(default_factory=list)
    next_seq: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def setup(self) -> list[Op]:
        line = lines_pb2.ConfigureLineRequest(
            line_id=LINE, takt=Duration(seconds=6), heartbeat=Duration(seconds=900)
        )
        line.epoch.FromNanoseconds(T0)
        sup = supply_pb2.ConfigureSupplierRequest(
            supplier_id=SUP, lead_time=Duration(seconds=1800), unload_to_line=Duration(seconds=300)
        )
        cfg, scfg = convert.line_config_in(line), convert.supplier_in(sup)
        return [
            self._clock(T0),
            Op(
                "line",
                lambda c: c.lines.ConfigureLine(line, timeout=10),
                lambda e: e.configure_line(cfg, T0),
                T0,
            ),
            Op(
                "supplier",
                lambda c: c.supply.ConfigureSupplier(sup, timeout=10),
                lambda e: e.configure_supplier(scfg, T0),
                T0,
            ),
        ]

    def _clock(self, t: int) -> Op:
        before, self.now = self.now, t
        ts = Timestamp()
        ts.FromNanoseconds(t)

        def undo() -> None:
            self.now = before

        return Op(
            "clock",
            lambda c: c.clock.SetClock(lines_pb2.SetClockRequest(now=ts), timeout=10),
            lambda e: e.tick(t),
            t,
            undo,
        )

    def _broadcast(self) -> broadcast_pb2.Broadcast:
        active = [v for v in self.vehicles if self.states[v] == "active"]
        pulled = [v for v in self.vehicles if self.states[v] == "pulled"]
        roll = self.rng.random()
        self.call += 1
        if roll < 0.55 or not active:
            v = f"CR-V{len(self.vehicles):05d}"
            self.vehicles.append(v)
            self.next_seq += 10
            self.states[v], self.seqs[v] = "active", self.next_seq
            return bc(
                LINE, self.call, ADD, v, self.next_seq, [part("SEAT", f"S{self.rng.randrange(3)}", SUP)]
            )
        if roll < 0.65:
            v = self.rng.choice(active)
            return bc(LINE, self.call, CHANGE, v, None, [part("SEAT", f"S{self.rng.randrange(3)}", SUP)])
        if roll < 0.72:
            v = self.rng.choice(active)
            self.states[v] = "pulled"
            return bc(LINE, self.call, PULL, v)
        if roll < 0.8 and pulled:
            v = self.rng.choice(pulled)
            self.next_seq += 10
            self.states[v] = "active"
            return bc(LINE, self.call, REINSERT, v, self.next_seq)
        if roll < 0.85:
            v = self.rng.choice(active)
            self.states[v] = "cancelled"
            return bc(LINE, self.call, CANCEL, v)
        v = min(active, key=lambda x: self.seqs[x])
        self.states[v] = "installed"
        return bc(LINE, self.call, INSTALLED, v)

    def _dock_op(self, at: int) -> Op:
        """Book an appointment for a few racks (doors clash now and then), or move a trailer on."""
        if self.appointments and self.rng.random() < 0.6:
            appointment_id = self.rng.choice(self.appointments)
            kind = self.rng.choice([1, 2, 3])
            req = dock_pb2.YardEventRequest(appointment_id=appointment_id, kind=kind)  # type: ignore[arg-type]
            return Op(
                "yard",
                lambda c: c.dock.RecordYardEvent(req, timeout=10),
                lambda e: e.yard_event(appointment_id, kind, None, at),
                at,
            )
        appointment_id = f"CR-A{len(self.appointments):04d}"
        self.appointments.append(appointment_id)
        start = self.now + self.rng.randrange(0, 40) * 60 * 10**9
        spec = dock_pb2.AppointmentSpec(
            appointment_id=appointment_id,
            door=f"D{self.rng.randrange(3)}",
            carrier="C",
            trailer=f"T{len(self.appointments)}",
            supplier_id=SUP,
            rack_ids=self.rng.sample(self.racks, min(len(self.racks), self.rng.randrange(1, 3))),
        )
        spec.window_start.FromNanoseconds(start)
        spec.window_end.FromNanoseconds(start + 30 * 60 * 10**9)
        a = convert.appointment_in(spec)
        return Op(
            "appointment",
            lambda c: c.dock.BookAppointment(spec, timeout=10),
            lambda e: e.book_appointment(a, at),
            at,
        )

    def next_op(self) -> Op:
        roll = self.rng.random()
        at = self.now
        if roll < 0.05:
            return self._clock(self.now + self.rng.randrange(1, 120) * 10**9)
        if roll < 0.45:
            msgs = [self._broadcast() for _ in range(self.rng.randrange(1, 40))]
            if self.rng.random() < 0.2:  # a repeated message inside the batch
                msgs.append(msgs[0])
            req = broadcast_pb2.PublishBatchRequest(broadcasts=msgs)
            batch = [convert.broadcast_in(m) for m in msgs]
            return Op(
                "batch",
                lambda c: c.broadcast.PublishBatch(req, timeout=10),
                lambda e: e.publish_batch(batch, at),
                at,
            )
        if roll < 0.6:
            m = self._broadcast()
            b = convert.broadcast_in(m)
            return Op(
                "publish",
                lambda c: c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=10),
                lambda e: e.publish(b, at),
                at,
            )
        if roll < 0.8 and self.vehicles:
            v = self.rng.choice(self.vehicles)
            req = supply_pb2.ReportBuildRequest(
                supplier_id=SUP,
                group="SEAT",
                line_id=LINE,
                vehicle_id=v,
                part_number=f"S{self.rng.randrange(3)}",
            )
            rb = convert.build_in(req)
            return Op(
                "build", lambda c: c.supply.ReportBuild(req, timeout=10), lambda e: e.report_build(rb, at), at
            )
        if roll < 0.9 and self.vehicles:
            rack = f"CR-R{len(self.racks):04d}"
            self.racks.append(rack)
            slots = [
                supply_pb2.RackSlot(vehicle_id=self.rng.choice(self.vehicles), part_number="S0")
                for _ in range(self.rng.randrange(1, 7))
            ]
            req = supply_pb2.DispatchRackRequest(
                rack_id=rack, supplier_id=SUP, group="SEAT", line_id=LINE, capacity=6, slots=slots
            )
            req.eta.FromNanoseconds(self.now + self.rng.randrange(5, 60) * 60 * 10**9)
            d = convert.dispatch_in(req)
            return Op(
                "dispatch",
                lambda c: c.supply.DispatchRack(req, timeout=10),
                lambda e: e.dispatch_rack(d, at),
                at,
            )
        if roll < 0.93 and self.racks:
            return self._dock_op(at)
        if self.racks:
            rack = self.rng.choice(self.racks)
            stage = self.rng.choice([2, 3, 4])
            req = supply_pb2.MoveRackRequest(rack_id=rack, stage=stage)
            return Op(
                "move",
                lambda c: c.supply.MoveRack(req, timeout=10),
                lambda e: e.move_rack(rack, stage, None, at),
                at,
            )
        return self._clock(self.now + 10**9)


def drive(drv: Driver, c: Any, stop: threading.Event, inflight: list[Op], acked: list[Op]) -> None:
    """Send the driver's ops one after the other until ``stop``, or until one gets no answer:
    an answered op (refusals too: they change nothing) joins ``acked``; the unanswered one
    stays in ``inflight``, applied or not."""
    while not stop.is_set():
        op = drv.next_op()
        inflight.append(op)
        try:
            op.send(c)
        except grpc.RpcError as exc:
            if exc.code() not in REFUSALS:
                # UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, or what the transport makes of
                # a connection cut mid-call (UNKNOWN "Stream removed", INTERNAL): not an
                # answer from the server, so the op is in flight, applied or not
                return
        acked.append(inflight.pop())


def reference(ops: list[Op]) -> Engine:
    e = Engine()
    for op in ops:
        e.begin_group()  # the server's runner applies each request inside a commit group
        with contextlib.suppress(DomainError):  # refused by the server too: changes nothing
            op.apply(e)
        e.end_group()
    e.book.drain()
    return e


def server_state(c: Any, vehicles: list[str], racks: list[str]) -> list[bytes]:
    out = [c.lines.ListLines(lines_pb2.ListLinesRequest(), timeout=10).SerializeToString(deterministic=True)]
    out.append(c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10).now.SerializeToString())
    out.append(
        c.sequence.ListSequence(
            sequence_pb2.ListSequenceRequest(line_id=LINE, page_size=10000), timeout=10
        ).SerializeToString(deterministic=True)
    )
    for v in vehicles:
        try:
            out.append(
                c.sequence.GetVehicle(
                    sequence_pb2.GetVehicleRequest(vehicle_id=v), timeout=10
                ).SerializeToString(deterministic=True)
            )
        except grpc.RpcError as exc:
            out.append(exc.code().name.encode())
    for r in racks:
        try:
            out.append(
                c.supply.GetRack(supply_pb2.GetRackRequest(rack_id=r), timeout=10).SerializeToString(
                    deterministic=True
                )
            )
        except grpc.RpcError as exc:
            out.append(exc.code().name.encode())
    out.append(all_breaks(c, breaks_pb2.ListBreaksRequest()).SerializeToString(deterministic=True))
    out.append(
        all_breaks(c, breaks_pb2.ListBreaksRequest(resolved_from=Timestamp())).SerializeToString(
            deterministic=True
        )
    )
    # Every build-sequence change with its cursor (all changes here are of one scope).
    key = {"line_id": LINE, "supplier_id": SUP, "group": "SEAT"}
    head = c.build.GetBuildSequence(build_sequence_pb2.GetBuildSequenceRequest(**key), timeout=10).cursor
    changes: list[build_sequence_pb2.BuildSequenceChange] = []
    if head:
        stream = c.build.WatchBuildSequence(
            build_sequence_pb2.WatchBuildSequenceRequest(after_cursor=0, **key), timeout=30
        )
        for update in stream:
            changes.extend(update.changes.changes)
            if changes[-1].cursor >= head:
                break
        stream.cancel()
    out.append(build_sequence_pb2.BuildSequenceChanges(changes=changes).SerializeToString(deterministic=True))
    out.append(c.dock.GetYard(dock_pb2.GetYardRequest(), timeout=10).SerializeToString(deterministic=True))
    out.append(
        c.reports.GetKpis(reports_pb2.GetKpisRequest(), timeout=10).SerializeToString(deterministic=True)
    )
    out.append(
        c.reports.GetInventory(reports_pb2.GetInventoryRequest(line_id=LINE), timeout=10).SerializeToString(
            deterministic=True
        )
    )
    return out


def engine_state(e: Engine, vehicles: list[str], racks: list[str]) -> list[bytes]:
    from jis.api.servicers import INT64_MAX, INT64_MIN

    out = [
        lines_pb2.ListLinesResponse(lines=[convert.line_out(v) for v in e.lines()]).SerializeToString(
            deterministic=True
        )
    ]
    out.append(convert.ns_to_ts(e.last_at).SerializeToString())  # the test clock resumes there
    seq, _ = e.sequence(LINE, INT64_MIN, INT64_MAX, 10000) if LINE in e.seq.lines else ([], False)
    out.append(
        sequence_pb2.ListSequenceResponse(vehicles=[convert.vehicle_out(v) for v in seq]).SerializeToString(
            deterministic=True
        )
    )
    for v in vehicles:
        try:
            out.append(convert.vehicle_out(e.vehicle(v)).SerializeToString(deterministic=True))
        except DomainError as exc:
            out.append(exc.code_name.encode())
    for r in racks:
        try:
            out.append(convert.rack_out(e.rack(r)).SerializeToString(deterministic=True))
        except DomainError as exc:
            out.append(exc.code_name.encode())
    out.append(
        breaks_pb2.ListBreaksResponse(
            breaks=[convert.break_out(b, e.last_at) for b in e.open_breaks()]  # read at the clock
        ).SerializeToString(deterministic=True)
    )
    out.append(
        breaks_pb2.ListBreaksResponse(
            breaks=[convert.break_out(b) for b in e.resolved_breaks(0, 2**63 - 1)]
        ).SerializeToString(deterministic=True)
    )
    events = e.build_sequence_since(LINE, SUP, "SEAT", 0).events() if LINE in e.seq.lines else []
    changes = [convert.feed_change_out(ev) for ev in events]
    out.append(build_sequence_pb2.BuildSequenceChanges(changes=changes).SerializeToString(deterministic=True))
    out.append(
        convert.yard_out(e.yard(e.last_at, INT64_MIN, INT64_MAX)).SerializeToString(deterministic=True)
    )
    k = e.kpi_report("", "", INT64_MIN, INT64_MAX)
    out.append(convert.kpis_out(k, "", "", None, None).SerializeToString(deterministic=True))
    inventory = e.inventory(LINE) if LINE in e.seq.lines else []  # the server answers at its clock
    out.append(convert.inventory_out(e.last_at, inventory).SerializeToString(deterministic=True))
    return out


def part_names(vehicles: list[str], racks: list[str]) -> list[str]:
    """What each element of :func:`server_state` and :func:`engine_state` is."""
    return [
        "lines",
        "clock",
        "sequence",
        *(f"vehicle {v}" for v in vehicles),
        *(f"rack {r}" for r in racks),
        "open breaks",
        "resolved breaks",
        "build-sequence changes",
        "yard",
        "KPIs",
        "inventory",
    ]


def send_setup(drv: Driver, address: str) -> list[Op]:
    """The driver's setup ops, sent and acknowledged."""
    c = connect(address)
    ops = drv.setup()
    for op in ops:
        op.send(c)
    c.channel.close()
    return ops


def load_then_kill(
    drv: Driver, address: str, acked: list[Op], rng: random.Random, kill: Callable[[], None]
) -> list[Op]:
    """Drive the server at ``address`` from a client thread, ``kill`` it after a random
    moment, and return the op in flight then (empty if none was)."""
    c = connect(address)
    inflight: list[Op] = []
    stop = threading.Event()
    t = threading.Thread(target=drive, args=(drv, c, stop, inflight, acked), daemon=True)
    t.start()
    time.sleep(rng.uniform(0.02, 0.4))
    kill()
    stop.set()
    t.join(timeout=30)
    assert not t.is_alive(), "the client did not notice the kill"
    c.channel.close()
    return inflight


def judge(
    drv: Driver,
    got: list[bytes],
    acked: list[Op],
    inflight: list[Op],
    point: int,
    stats: dict[str, Any],
    then: tuple[Op, ...] = (),
) -> None:
    """The server's state ``got`` after a kill must be the replay of ``acked``, or of
    ``acked`` plus ``inflight`` (which then joins ``acked``), nothing in between; ``then``:
    ops acknowledged after the kill, which join ``acked`` after either."""
    without = engine_state(reference([*acked, *then]), drv.vehicles, drv.racks)
    if got == without:
        stats["inflight_lost"] += len(inflight)
        for op in inflight:
            op.undo()
        acked.extend(then)
        return
    with_inflight = engine_state(reference([*acked, *inflight, *then]), drv.vehicles, drv.racks)
    names = part_names(drv.vehicles, drv.racks)
    dump = os.environ.get("JIS_HARNESS_DUMP")
    if dump and got != with_inflight:  # for a post-mortem: what each side holds, part by part
        with open(dump, "wb") as f:
            pickle.dump({"names": names, "got": got, "without": without, "with": with_inflight}, f)
    assert got == with_inflight, (
        f"kill point {point}: state equals neither the acknowledged inputs nor them plus the one "
        f"in flight ({[o.name for o in inflight]}); parts differing from the replay without it: "
        f"{[names[i] for i, (a, b) in enumerate(zip(got, without, strict=True)) if a != b]}, "
        f"with it: "
        f"{[names[i] for i, (a, b) in enumerate(zip(got, with_inflight, strict=True)) if a != b]}"
    )
    acked.extend([*inflight, *then])
    stats["inflight_applied"] += len(inflight)


def run(
    data_dir: Path,
    seed: int,
    kill_points: int,
    *server_args: str,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, int]:
    """Drive, kill, restart, compare; ``kill_points`` times. Returns counters for the report."""
    rng = random.Random(seed)
    drv = Driver(seed)
    proc = ServerProcess(data_dir, "--test-clock", *server_args).start()
    stats = {"kills": 0, "acked_ops": 0, "inflight_applied": 0, "inflight_lost": 0}
    try:
        acked = send_setup(drv, proc.address)
        for point in range(kill_points):
            inflight = load_then_kill(drv, proc.address, acked, rng, proc.kill9)
            stats["kills"] += 1
            proc.restart()
            c = connect(proc.address)
            got = server_state(c, drv.vehicles, drv.racks)
            c.channel.close()
            judge(drv, got, acked, inflight, point, stats)
            log(f"kill {point}: {len(acked)} inputs acknowledged, in flight {[o.name for o in inflight]}")
        stats["acked_ops"] = len(acked)
        return stats
    finally:
        proc.stop_if_running()


def _leader(procs: list[ServerProcess], timeout: float = 20.0) -> ServerProcess:
    """The instance whose health is SERVING (a takeover may still be under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.proc is None or p.proc.poll() is not None:
                continue
            try:
                p.wait_serving(0.05)
                return p
            except (TimeoutError, RuntimeError):
                pass
    raise TimeoutError("no instance became the leader")


def on_leader(procs: list[ServerProcess], read: Callable[[Any], T], tries: int = 3) -> T:
    """``read(client)`` on the instance that leads; again on the next leader if that one goes
    away meanwhile (a leader whose lease ran out while NATS elected exits, and a standby takes
    over: what was acknowledged is the same on it)."""
    for attempt in range(tries):
        c = connect(_leader(procs).address)
        try:
            return read(c)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == tries - 1:
                raise
        finally:
            c.channel.close()
    raise AssertionError("unreachable")


def run_failover(
    procs: list[ServerProcess],
    seed: int,
    kill_points: int,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """The crash harness over a leader and its standbys on one replicated stream: drive the
    leader, kill -9 it at a random moment, and on the new leader check the state equals a
    replay of the acknowledged inputs (or them plus the one in flight); the killed instance
    comes back as a standby. Takeover: kill -9 to the first write the new leader acknowledges.
    ``procs`` are started here (the first becomes the leader)."""
    rng = random.Random(seed)
    drv = Driver(seed)
    procs[0].start()
    for p in procs[1:]:
        p.start(serving=False)
        p.wait_log("jis STANDBY")
    stats: dict[str, Any] = {"kills": 0, "acked_ops": 0, "inflight_applied": 0, "inflight_lost": 0}
    takeovers: list[float] = []
    leader = _leader(procs)
    acked = send_setup(drv, leader.address)
    for point in range(kill_points):
        killed_at: list[float] = []

        def kill(p: ServerProcess = leader, at: list[float] = killed_at) -> None:
            p.kill9()
            at.append(time.monotonic())

        inflight = load_then_kill(drv, leader.address, acked, rng, kill)
        killed = killed_at[0]
        stats["kills"] += 1
        # The first acknowledged write on whichever instance leads now: a clock step.
        probe = drv._clock(drv.now + 10**9)
        last_error = ""
        while True:
            waited = time.monotonic() - killed
            assert waited < 30, f"no instance acknowledged a write within 30 s: {last_error}"
            for p in procs:
                if p is leader or p.proc is None or p.proc.poll() is not None:
                    continue
                cp = connect(p.address)
                try:
                    probe.send(cp)
                except grpc.RpcError as exc:
                    last_error = f"{p.address}: {exc.code().name} {exc.details()}"
                    continue  # a standby still (UNAVAILABLE)
                finally:
                    cp.channel.close()
                leader = p
                break
            else:
                time.sleep(0.02)
                continue
            break
        takeovers.append(time.monotonic() - killed)
        c = connect(leader.address)
        got = server_state(c, drv.vehicles, drv.racks)
        c.channel.close()
        judge(drv, got, acked, inflight, point, stats, then=(probe,))
        # An in-flight clock step judged lost is undone, but the probe after it stands: the
        # driver's clock must not fall behind the server's (its next steps would be refused,
        # and its next inputs stamped earlier than the server applies them).
        drv.now = max(drv.now, probe.at)
        # the killed instance comes back as a standby of the new leader
        killed_proc = next(p for p in procs if p.proc is not None and p.proc.poll() is not None)
        killed_proc.start(serving=False)
        log(f"kill {point}: takeover {takeovers[-1]:.2f} s, {len(acked)} inputs acknowledged")
    stats["acked_ops"] = len(acked)
    ordered = sorted(takeovers)
    stats["takeover_p50_s"] = round(ordered[len(ordered) // 2], 2)
    stats["takeover_max_s"] = round(ordered[-1], 2)
    stats["takeovers_s"] = [round(x, 2) for x in takeovers]
    # every standby, caught up, holds the same state as the leader
    final = server_state(connect(leader.address), drv.vehicles, drv.racks)
    for p in procs:
        if p is not leader:
            p.wait_log("jis STANDBY")
            deadline = time.monotonic() + 20
            while (mine := server_state(connect(p.address), drv.vehicles, drv.racks))[2:] != final[2:] or (
                mine[0] != final[0]
            ):
                assert time.monotonic() < deadline, f"standby {p.address} did not catch up"
                time.sleep(0.1)
    return stats
