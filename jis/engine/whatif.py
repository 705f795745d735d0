"""What-if: a scenario played on a fork of the engine, next to the same fork without it.

A fork is a forked copy of the server process (jis.api.forked), taken on the engine thread,
whose engine is detached from the store (:meth:`Engine.become_fork`): nothing it does
reaches the live state, the log or the snapshots. The scenario's run and the baseline's
run each start from their own copy of the same fork and end at the same horizon.

**The plan.** Both runs assume that what the state already promises happens, without
anyone sending it, so that a scenario differs from its baseline only by what it changes:

- *Suppliers build.* Each vehicle of a scope's expected sequence that has no slot gets its
  part built at ``need_time - lead_time - build_ahead`` (the supplier's lead time), or at
  once if that moment has passed. Parts already MISSING at the fork are left as they are:
  the plan does not pretend to fix today's breaks. A supplier stop (:class:`Stop`) builds
  nothing during the stop and, at its end, everything that fell due meanwhile.
- *Trucks keep their ETA.* A rack in transit reaches the dock at its ETA. One whose ETA had
  already passed at the fork stays in transit: nobody knows when it comes.

The plan does not load or dispatch racks, install vehicles or send broadcasts. What it
did is part of the answer (:attr:`Run.planned`), as the inputs it stands for, so the same
run can be played for real against a copy of the server.

**Order.** Inputs at the same time: the scenario's first (in the order given), then the
plan's arrivals (in dispatch order), then its builds (by line, supplier, group, sequence).
Every input is evaluated on its own, as a unary call to the live server is.
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jis.alerts.breaks import BreakEvent, SequenceBreak
from jis.engine.engine import Engine
from jis.engine.kpis import Kpis
from jis.engine.model import BuildReport, RackStage
from jis.errors import DomainError, ResourceExhausted
from jis.kernels import matching

Scope = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Input:
    """One input of a scenario, or one the plan assumed: ``kind`` names the engine call
    (:data:`APPLY`), ``args`` its arguments before ``at``."""

    at: int
    kind: str
    args: tuple[Any, ...]


APPLY: dict[str, Callable[..., object]] = {
    "broadcast": lambda e, at, b: e.publish(b, at),
    "build": lambda e, at, b: e.report_build(b, at),
    "dispatch": lambda e, at, d: e.dispatch_rack(d, at),
    "move_rack": lambda e, at, rack_id, stage, when: e.move_rack(rack_id, stage, when, at),
    "rack_eta": lambda e, at, rack_id, eta: e.update_rack_eta(rack_id, eta, at),
    "book_appointment": lambda e, at, spec: e.book_appointment(spec, at),
    "change_appointment": lambda e, at, spec: e.change_appointment(spec, at),
    "cancel_appointment": lambda e, at, appointment_id: e.cancel_appointment(appointment_id, at),
    "yard_event": lambda e, at, appointment_id, kind, when: e.yard_event(appointment_id, kind, when, at),
}


@dataclass(frozen=True, slots=True)
class Stop:
    """A supplier builds nothing in [start, stop)."""

    supplier_id: str
    start: int
    stop: int


DEFAULT_BUILD_AHEAD_NS = 5 * 60 * 10**9


@dataclass(frozen=True, slots=True)
class Plan:
    builds: bool = True
    arrivals: bool = True
    build_ahead_ns: int = DEFAULT_BUILD_AHEAD_NS
    """The plan builds a part this long before MISSING would flag it."""


@dataclass(slots=True)
class Run:
    """What one run did between the fork and the horizon."""

    breaks: dict[str, SequenceBreak] = field(default_factory=dict)
    """By id, as the run left them: each raised in the run (resolved_at set if resolved
    by the horizon) and each open at the fork that the run resolved."""
    raised: list[str] = field(default_factory=list)
    """Ids of the breaks raised in the run, in the order they were."""
    planned: list[Input] = field(default_factory=list)
    rejected: list[tuple[int, str, str, str]] = field(default_factory=list)
    """(index in the scenario, status code, field, message) of the inputs the engine refused."""
    cpu_s: float = 0.0
    kpis: dict[tuple[str, str], Kpis] = field(default_factory=dict)
    """Over [fork, horizon]: the plant's ("", ""), and each (line, supplier) of a scope."""

    def take(self, events: list[BreakEvent]) -> None:
        for ev in events:
            b = ev.sequence_break
            if ev.raised:
                self.raised.append(b.break_id)
            self.breaks[b.break_id] = b


class Budget:
    """CPU seconds this process may spend (a what-if runs in a process of its own)."""

    def __init__(self, cpu_s: float) -> None:
        self.cpu_s = cpu_s
        self.start = time.process_time()

    def check(self) -> None:
        if time.process_time() - self.start > self.cpu_s:
            raise ResourceExhausted(
                "horizon",
                f"the what-if took more than its CPU budget of {self.cpu_s:g} s; shorten the horizon",
            )

    def used(self) -> float:
        return time.process_time() - self.start


def play(
    fork: Engine,
    at: int,
    until: int,
    inputs: Sequence[Input],
    stops: Sequence[Stop],
    plan: Plan,
    budget: Budget,
) -> Run:
    """Play ``inputs`` (each at its time, in [at, until]) and the plan on ``fork``, whose
    state is the live one at engine time ``at``, then let the clock run to ``until``."""
    return _Player(fork, at, until, stops, plan, budget).play(inputs)


class _Player:
    ARRIVE, BUILD = 0, 1

    def __init__(
        self, e: Engine, at: int, until: int, stops: Sequence[Stop], plan: Plan, budget: Budget
    ) -> None:
        self.e = e
        self.at = at
        self.until = until
        self.plan = plan
        self.budget = budget
        seq = e.seq
        self.stops: dict[int, list[tuple[int, int]]] = {}
        for s in stops:
            code = seq.supplier_ids.get(s.supplier_id)
            if code >= 0:
                self.stops.setdefault(code, []).append((s.start, s.stop))
        self.run = Run()
        self.heap: list[tuple[int, int, tuple[int, ...], Input]] = []
        """(time, ARRIVE or BUILD, order among those, the input): the plan's next inputs."""
        self.missing_at_fork = self._missing(at) if plan.builds else set()

    def play(self, inputs: Sequence[Input]) -> Run:
        e, run = self.e, self.run
        e.advance(self.at)
        run.take(e.book.drain())
        order = sorted(range(len(inputs)), key=lambda i: inputs[i].at)
        self._schedule(self.at)
        k = 0
        while True:
            self.budget.check()
            t_in = inputs[order[k]].at if k < len(order) else None
            t_plan = self.heap[0][0] if self.heap else None
            if t_in is not None and (t_plan is None or t_in <= t_plan):
                while k < len(order) and inputs[order[k]].at == t_in:
                    i = order[k]
                    k += 1
                    try:
                        APPLY[inputs[i].kind](e, t_in, *inputs[i].args)
                    except DomainError as exc:
                        run.rejected.append((i, exc.code_name, exc.field, exc.message))
                    run.take(e.book.drain())
                self._schedule(t_in)  # the scenario may have changed what the plan does
            elif t_plan is not None and t_plan <= self.until:
                item = heapq.heappop(self.heap)[3]
                try:
                    APPLY[item.kind](e, item.at, *item.args)
                except DomainError:  # cannot happen to a plan made from this state; skip it
                    continue
                run.planned.append(item)
                run.take(e.book.drain())
            else:
                break
        e.advance(self.until)
        run.take(e.book.drain())
        self._kpis()
        run.cpu_s = self.budget.used()
        return run

    def _missing(self, now: int) -> set[tuple[Scope, int]]:
        """(scope, vehicle row) of the E entries without a slot that MISSING flags at ``now``."""
        out: set[tuple[Scope, int]] = set()
        for scope, m in self._matches():
            lead = self.e.supply.lead_time(scope[1])
            idx = np.flatnonzero(((m.e_flags & matching.SLOTTED) == 0) & (m.e_need - lead <= now))
            out.update((scope, int(v)) for v in m.e_vehicle[idx].tolist())
        return out

    def _matches(self) -> Any:
        e = self.e
        for scope in sorted(e.seq.scope_demand):
            yield scope, e.evaluator.match(scope)

    def _schedule(self, now: int) -> None:
        """The plan's inputs from ``now`` to the horizon, as the state now makes them."""
        e, plan = self.e, self.plan
        heap: list[tuple[int, int, tuple[int, ...], Input]] = []
        self.heap = heap
        if plan.arrivals:
            r = e.supply.racks.col
            eta = r("eta")
            rows = np.flatnonzero((r("stage") == RackStage.IN_TRANSIT) & (eta >= now) & (eta <= self.until))
            names = e.supply.rack_ids
            for rack in rows.tolist():
                t = int(eta[rack])
                move = Input(t, "move_rack", (names.name(rack), int(RackStage.AT_DOCK), t))
                heap.append((t, self.ARRIVE, (int(r("order")[rack]),), move))
        if plan.builds:
            seq = e.seq
            for scope, m in self._matches():
                self.budget.check()
                line, sup, grp = scope
                lead = e.supply.lead_time(sup) + plan.build_ahead_ns
                idx = np.flatnonzero(((m.e_flags & matching.SLOTTED) == 0) & (m.e_need - lead <= self.until))
                for i in idx.tolist():
                    vehicle = int(m.e_vehicle[i])
                    if (scope, vehicle) in self.missing_at_fork:
                        continue
                    t = self._resume(sup, max(int(m.e_need[i]) - lead, now))
                    if t > self.until:
                        continue
                    b = BuildReport(
                        seq.supplier_ids.name(sup),
                        seq.group_ids.name(grp),
                        seq.line_ids.name(line),
                        seq.vehicle_ids.name(vehicle),
                        seq.part_numbers.name(int(m.e_part[i])),
                        t,
                    )
                    heap.append((t, self.BUILD, (line, sup, grp, i), Input(t, "build", (b,))))
        heapq.heapify(heap)

    def _resume(self, sup: int, t: int) -> int:
        """``t``, or the end of the supplier's stop that holds it."""
        moved = True
        while moved:
            moved = False
            for start, stop in self.stops.get(sup, ()):
                if start <= t < stop:
                    t, moved = stop, True
        return t

    def _kpis(self) -> None:
        e = self.e
        start, stop = self.at, self.until + 1
        facts = e.kpis.facts(e.book, e.dock)
        seq = e.seq
        out = self.run.kpis
        out[("", "")] = e._kpis(facts, "", "", start, stop)
        pairs = {(line, sup) for line, sup, _ in (*seq.scope_demand, *e.supply.scope_slots)}
        for line, sup in sorted(pairs):
            key = (seq.line_ids.name(line), seq.supplier_ids.name(sup))
            out[key] = e._kpis(facts, *key, start, stop)


# -- comparing the runs ---------------------------------------------------------------

SAME, NEW, AVOIDED, SOONER, LATER, LONGER, SHORTER = range(7)
CHANGES = ("SAME", "NEW", "AVOIDED", "SOONER", "LATER", "LONGER", "SHORTER")


def break_key(b: SequenceBreak) -> Hashable:
    """What makes two breaks of two runs the same break: its type and scope."""
    return (b.type, b.line_id, b.supplier_id, b.group, b.vehicle_id, b.rack_id, b.position,
            b.first_call_no, b.last_call_no)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Compared:
    sequence_break: SequenceBreak
    """As the scenario left it (as the baseline did, for AVOIDED)."""
    change: int
    baseline: SequenceBreak | None
    """The same break in the baseline, if it had it."""


def compare(scenario: Run, baseline: Run) -> list[Compared]:
    """Each break either run raised or resolved, paired with the other run's: a break open
    at the fork by its id (both runs have it); those raised in a run by type and scope,
    first the ones with the same detection and resolution in both (SAME), then the rest of
    each type and scope in the order they were raised. Most urgent first."""
    out = []
    raised_here, raised_there = set(scenario.raised), set(baseline.raised)
    mine_fork = {bid: b for bid, b in scenario.breaks.items() if bid not in raised_here}
    theirs_fork = {bid: b for bid, b in baseline.breaks.items() if bid not in raised_there}
    for bid, b in mine_fork.items():  # open at the fork, resolved in the scenario
        other = theirs_fork.get(bid)
        if other is None:  # the baseline keeps it open
            out.append(Compared(b, SHORTER, dataclasses.replace(b, resolved_at=None)))
        else:
            out.append(Compared(b, _by_end(b, other), other))
    for bid, b in theirs_fork.items():
        if bid not in mine_fork:  # resolved in the baseline only: the scenario keeps it open
            out.append(Compared(dataclasses.replace(b, resolved_at=None), LONGER, b))

    def by_key(run: Run) -> dict[Hashable, list[SequenceBreak]]:
        groups: dict[Hashable, list[SequenceBreak]] = {}
        for bid in run.raised:
            b = run.breaks[bid]
            groups.setdefault(break_key(b), []).append(b)
        return groups

    mine, theirs = by_key(scenario), by_key(baseline)
    for key in {**mine, **theirs}:
        left, right = list(mine.get(key, ())), list(theirs.get(key, ()))
        for b in list(left):  # the same occurrence in both runs
            twin = next(
                (o for o in right if (o.detected_at, o.resolved_at) == (b.detected_at, b.resolved_at)), None
            )
            if twin is not None:
                left.remove(b)
                right.remove(twin)
                out.append(Compared(b, SAME, twin))
        for b, other in zip(left, right, strict=False):  # the rest, in the order raised
            change = _by_end(b, other) if b.detected_at == other.detected_at else (
                SOONER if b.detected_at < other.detected_at else LATER
            )  # fmt: skip
            out.append(Compared(b, change, other))
        out += [Compared(b, NEW, None) for b in left[len(right) :]]
        out += [Compared(b, AVOIDED, b) for b in right[len(left) :]]
    out.sort(key=lambda c: _urgency(c.sequence_break))
    return out


def _by_end(b: SequenceBreak, other: SequenceBreak) -> int:
    """SAME, SHORTER or LONGER: how the scenario's resolution of a break compares."""
    end = 2**63 if b.resolved_at is None else b.resolved_at
    other_end = 2**63 if other.resolved_at is None else other.resolved_at
    return SAME if end == other_end else (SHORTER if end < other_end else LONGER)


def _urgency(b: SequenceBreak) -> tuple[bool, int, int, str]:
    return (b.need_time is None, b.need_time or 0, b.detected_at, b.break_id)
