"""WhatIfService: a scenario on a fork of the live state (jis.engine.whatif), bounded.

The fork is a fork of the server process, taken on the engine thread in milliseconds
(jis.api.forked): the state's pages are shared copy-on-write. The fork then forks once
more, and the two copies play the baseline and the scenario side by side, in processes of
their own: live ingest goes on meanwhile, sharing the CPU cores but not the interpreter.
Bounds, each answered with RESOURCE_EXHAUSTED: one what-if at a time per caller (its
identity; without credentials, its connection), ``--whatif-workers`` at once on the
server, and per run ``--whatif-cpu-s`` of CPU and ``--whatif-memory-mb`` of memory beyond
the shared copy of the state (enforced by the kernel: RLIMIT_CPU, RLIMIT_AS).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import pickle
import threading
from dataclasses import dataclass
from typing import Any

from jis.api import convert, forked
from jis.api.auth import current_identity
from jis.api.servicers import Gateway
from jis.api.status import Ctx, unary
from jis.engine.engine import Engine
from jis.engine.whatif import (
    CHANGES,
    DEFAULT_BUILD_AHEAD_NS,
    Budget,
    Compared,
    Input,
    Plan,
    Run,
    Stop,
    compare,
    play,
)
from jis.errors import DomainError, FailedPrecondition, InvalidArgument, ResourceExhausted
from jis.v1 import supply_pb2, whatif_pb2, whatif_pb2_grpc

NS = 10**9
MAX_INPUTS = 10_000
MAX_STOPS = 1_000
MAX_HORIZON_NS = 7 * 86_400 * NS
MB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    workers: int = 1
    cpu_s: float = 30.0
    """For each of the two runs."""
    memory_bytes: int = 2048 * MB
    """For each of the two runs, beyond the copy of the state they share with the server."""
    max_answer_bytes: int = 16 * MB
    """The largest message the server sends (--max-message-bytes)."""


@dataclass(frozen=True, slots=True)
class Scenario:
    inputs: list[tuple[int | None, str, tuple[Any, ...]]]
    """(at or None for the fork's time, kind, args) per input, in the request's order."""
    stops: list[tuple[str, int | None, int]]
    """(supplier, from or None, duration)."""
    horizon: int
    plan: Plan


def _input(m: whatif_pb2.ScenarioInput) -> tuple[str, tuple[Any, ...]]:
    which = m.WhichOneof("input")
    if which is None:
        raise InvalidArgument("input", f"one of {', '.join(f.name for f in m.DESCRIPTOR.oneofs[0].fields)}")
    x = getattr(m, which)
    try:
        if which == "broadcast":
            return which, (convert.broadcast_in(x),)
        if which == "build":
            return which, (convert.build_in(x),)
        if which == "dispatch":
            return which, (convert.dispatch_in(x),)
        if which == "move_rack":
            return which, (x.rack_id, int(x.stage), convert.opt_ts(x, "at"))
        if which == "rack_eta":
            if not x.HasField("eta"):
                raise InvalidArgument("eta", "required")
            return which, (x.rack_id, convert.ts_to_ns(x.eta, "eta"))
        if which in ("book_appointment", "change_appointment"):
            return which, (convert.appointment_in(x),)
        if which == "cancel_appointment":
            return which, (x.appointment_id,)
        return which, (x.appointment_id, int(x.kind), convert.opt_ts(x, "at"))
    except DomainError as exc:
        raise type(exc)(f"{which}.{exc.field}", exc.message) from None


def scenario_in(m: whatif_pb2.WhatIfRequest) -> Scenario:
    """The request, checked as far as it can be without the state (INVALID_ARGUMENT)."""
    if len(m.inputs) > MAX_INPUTS:
        raise InvalidArgument("inputs", f"at most {MAX_INPUTS:,}")
    if len(m.supplier_stops) > MAX_STOPS:
        raise InvalidArgument("supplier_stops", f"at most {MAX_STOPS:,}")
    if not m.HasField("horizon"):
        raise InvalidArgument("horizon", "required")
    horizon = convert.duration_to_ns(m.horizon, "horizon")
    if not 0 < horizon <= MAX_HORIZON_NS:
        raise InvalidArgument("horizon", "more than 0 and at most 7 days")
    inputs = []
    for i, x in enumerate(m.inputs):
        try:
            at = convert.opt_ts(x, "at")
            kind, args = _input(x)
        except DomainError as exc:
            raise type(exc)(f"inputs[{i}].{exc.field}", exc.message) from None
        inputs.append((at, kind, args))
    stops = []
    for i, s in enumerate(m.supplier_stops):
        where = f"supplier_stops[{i}]"
        if not s.supplier_id:
            raise InvalidArgument(f"{where}.supplier_id", "required")
        if not s.HasField("duration"):
            raise InvalidArgument(f"{where}.duration", "required")
        duration = convert.duration_to_ns(s.duration, f"{where}.duration")
        if not 0 < duration <= MAX_HORIZON_NS:
            raise InvalidArgument(f"{where}.duration", "more than 0 and at most 7 days")
        start = convert.ts_to_ns(getattr(s, "from"), f"{where}.from") if s.HasField("from") else None
        stops.append((s.supplier_id, start, duration))
    p = m.plan
    ahead = DEFAULT_BUILD_AHEAD_NS
    if p.HasField("build_ahead"):
        ahead = convert.duration_to_ns(p.build_ahead, "plan.build_ahead")
        if not 0 < ahead <= MAX_HORIZON_NS:  # 0: a build at the very moment MISSING is raised
            raise InvalidArgument("plan.build_ahead", "more than 0 and at most 7 days")
    plan = Plan(
        builds=p.builds if p.HasField("builds") else True,
        arrivals=p.arrivals if p.HasField("arrivals") else True,
        build_ahead_ns=ahead,
    )
    return Scenario(inputs, stops, horizon, plan)


def _placed(e: Engine, s: Scenario, at: int) -> tuple[list[Input], list[Stop]]:
    """The scenario's inputs and stops at engine times, now that the fork's time is known
    (FAILED_PRECONDITION outside the fork's window, or for a stop of an unknown supplier)."""
    until = at + s.horizon
    for i, (sup, _, _) in enumerate(s.stops):
        if e.seq.supplier_ids.get(sup) < 0:  # named by no broadcast and never configured
            raise FailedPrecondition(f"supplier_stops[{i}].supplier_id", f"unknown supplier {sup!r}")
    inputs = []
    for i, (t, kind, args) in enumerate(s.inputs):
        t = at if t is None else t
        if not at <= t <= until:
            raise FailedPrecondition(
                f"inputs[{i}].at",
                f"{t} ns is outside the what-if's time, [{at}, {until}] ns (fork to horizon)",
            )
        inputs.append(Input(t, kind, args))
    stops = [Stop(sup, at if t is None else t, (at if t is None else t) + d) for sup, t, d in s.stops]
    return inputs, stops


@dataclass(frozen=True, slots=True)
class Outcome:
    at: int
    until: int
    breaks: list[Compared]
    scenario: Run
    baseline: Run
    cpu_s: float


def run_both(e: Engine, at: int, s: Scenario, limits: forked.Limits) -> bytes:
    """In a forked copy of the server: the scenario in a copy of that copy, the baseline
    here meanwhile (two processes, two cores), compared; the answer's bytes."""
    e.become_fork()
    inputs, stops = _placed(e, s, at)
    until = at + s.horizon

    def scenario_run() -> bytes:
        run = play(e, at, until, inputs, stops, s.plan, Budget(limits.cpu_s))
        return pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL)

    other = forked.spawn(scenario_run, dataclasses.replace(limits, max_bytes=1 << 62))  # checked here
    try:
        baseline = play(e, at, until, [], [], s.plan, Budget(limits.cpu_s))
    except BaseException:
        forked.kill(other)
        with contextlib.suppress(Exception):
            forked.collect(other)
        raise
    scenario: Run = pickle.loads(forked.collect(other))  # our own child's bytes
    outcome = Outcome(
        at, until, compare(scenario, baseline), scenario, baseline, scenario.cpu_s + baseline.cpu_s
    )
    return result_out(outcome).SerializeToString()


def _input_out(x: Input) -> whatif_pb2.ScenarioInput:
    out = whatif_pb2.ScenarioInput(at=convert.ns_to_ts(x.at))
    if x.kind == "build":
        (b,) = x.args
        out.build.CopyFrom(convert.build_out(b))
    elif x.kind == "move_rack":
        rack_id, stage, when = x.args
        out.move_rack.CopyFrom(
            supply_pb2.MoveRackRequest(
                rack_id=rack_id,
                stage=supply_pb2.RackStage.Name(stage),
                at=convert.ns_to_ts(when),
            )
        )
    else:  # the plan makes builds and arrivals only
        raise AssertionError(f"no plan input of kind {x.kind!r}")
    return out


def result_out(o: Outcome) -> whatif_pb2.WhatIfResult:
    out = whatif_pb2.WhatIfResult(
        forked_at=convert.ns_to_ts(o.at),
        until=convert.ns_to_ts(o.until),
        cpu=convert.ns_to_duration(round(o.cpu_s * NS)),
    )
    for c in o.breaks:
        wb = out.breaks.add(
            sequence_break=convert.break_out(c.sequence_break, c.sequence_break.resolved_at),
            change=getattr(whatif_pb2, f"WHAT_IF_CHANGE_{CHANGES[c.change]}"),
        )
        if c.baseline is not None:
            wb.baseline_detected_at.CopyFrom(convert.ns_to_ts(c.baseline.detected_at))
            if c.baseline.resolved_at is not None:
                wb.baseline_resolved_at.CopyFrom(convert.ns_to_ts(c.baseline.resolved_at))
    for key, k in o.scenario.kpis.items():
        base = o.baseline.kpis.get(key)
        if key != ("", "") and base == k:
            continue
        line_id, supplier_id = key
        out.kpis.add(
            line_id=line_id,
            supplier_id=supplier_id,
            scenario=convert.kpis_out(k, line_id, supplier_id, o.at, o.until + 1),
            baseline=convert.kpis_out(base, line_id, supplier_id, o.at, o.until + 1) if base else None,
        )
    for i, code, field, message in o.scenario.rejected:
        out.rejected.add(index=i, code=code, field=field, message=message)
    out.planned.extend(_input_out(x) for x in o.scenario.planned)
    return out


class WhatIfServicer(whatif_pb2_grpc.WhatIfServiceServicer):
    def __init__(self, gw: Gateway, limits: Limits) -> None:
        self.gw = gw
        self.limits = limits
        self._pool = concurrent.futures.ThreadPoolExecutor(limits.workers, thread_name_prefix="jis-whatif")
        self._callers: set[str] = set()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _discard(self, child: forked.Child) -> None:
        """Kill a child nobody will read; reap it on a what-if thread (never fails: it may
        run on the engine thread)."""
        forked.kill(child)
        with contextlib.suppress(RuntimeError):  # the pool is shut down: the server is stopping
            self._pool.submit(forked.discard, child)

    @staticmethod
    def _caller(context: Ctx) -> str:
        ident = current_identity.get()
        return f"identity {ident.name}" if ident is not None else f"connection {context.peer()}"

    @unary
    async def Run(self, request: whatif_pb2.WhatIfRequest, context: Ctx) -> whatif_pb2.WhatIfResult:
        scenario = scenario_in(request)
        caller = self._caller(context)
        if caller in self._callers:
            raise ResourceExhausted("", f"{caller} already runs a what-if: one at a time per caller")
        if len(self._callers) >= self.limits.workers:
            raise ResourceExhausted(
                "",
                f"{self.limits.workers} what-if(s) running, the most at once (--whatif-workers); retry later",
            )
        self._callers.add(caller)
        try:
            return await self._run(scenario, context)
        finally:
            self._callers.discard(caller)

    async def _run(self, scenario: Scenario, context: Ctx) -> whatif_pb2.WhatIfResult:
        limits = forked.Limits(
            self.limits.cpu_s,
            self.limits.memory_bytes,
            3 * self.limits.cpu_s + 10,
            self.limits.max_answer_bytes,
        )
        lock = threading.Lock()
        spawned: list[forked.Child] = []
        abandoned = False

        def start(e: Engine, at: int) -> forked.Child:  # on the engine thread: a fork, milliseconds
            child = forked.spawn(lambda: run_both(e, at, scenario, limits), limits)
            with lock:
                spawned.append(child)
                if abandoned:  # the caller left while it was being made
                    self._discard(child)
            return child

        try:
            child = await self.gw.call(start, context)
        except BaseException:
            with lock:
                abandoned = True
                for c in spawned:
                    self._discard(c)
            raise
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(self._pool, forked.collect, child)
        except asyncio.CancelledError:
            forked.kill(child)  # the caller left: collect() reaps it
            raise
        return whatif_pb2.WhatIfResult.FromString(data)
