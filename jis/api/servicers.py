"""Thin servicers: convert, hand the work to the engine thread, convert back."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from jis.alerts.breaks import BreakEvent, BreakType
from jis.alerts.fanout import CUT_OFF, Fanout, KeyedFanout
from jis.api import convert, paging, wire
from jis.api.auth import Authorizer, require_lines, require_supplier
from jis.api.handlers import Admission
from jis.api.status import Ctx, status_of, stream, unary
from jis.clock import Clock
from jis.directory import Assignment, Directory, require_group
from jis.engine import bulk
from jis.engine.engine import Engine
from jis.engine.feed import FeedBatch
from jis.engine.limits import require_id, require_optional_id
from jis.engine.model import (
    AppointmentState,
    AppointmentView,
    ColumnsOutcome,
    DemandTable,
    Disposition,
    PublishResult,
    RackView,
)
from jis.engine.packed import PackedBroadcasts
from jis.engine.runner import EngineRunner
from jis.errors import (
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from jis.interop import edifact
from jis.metrics import Metrics
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    broadcast_pb2_grpc,
    build_sequence_pb2,
    build_sequence_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    dock_pb2,
    dock_pb2_grpc,
    interop_pb2,
    interop_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    sequence_pb2,
    sequence_pb2_grpc,
    supply_pb2,
    supply_pb2_grpc,
)

T = TypeVar("T")

MAX_BATCH = 10_000
"""Most broadcasts in one PublishBatch call (or one DELJIT interchange)."""
MAX_DESADV_RACKS = 256
DEFAULT_PAGE = 500
MAX_PAGE = 10_000
DEMAND_BUCKET_NS = 3600 * 10**9
DEMAND_WINDOW_NS = 24 * 3600 * 10**9
"""GetDemand without a bucket / without ``to``: hours, over a day."""
DEMAND_WATCH_INTERVAL_S = 5.0
"""WatchDemand looks for changes this often, by default."""
MOVE_WAIT_S = 120.0
"""MoveLine answers when the move is done, within the call's deadline and at most this long."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Gateway:
    """The servicers' one way into the engine: its thread, once recovery is done."""

    def __init__(
        self,
        runner: EngineRunner,
        clock: Clock,
        metrics: Metrics | None = None,
        auth: Authorizer | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.metrics = metrics
        self.auth = auth
        """None: no credentials configured (local trial), every call allowed."""
        self.admission = admission
        """None: no limit on the unary calls in flight (in-process tests)."""
        self.ready = False
        self.directory: Directory | None = None
        """Lines partitioned over groups (--group): who owns which line (jis.directory)."""

    async def call(self, op: Callable[[Engine, int], T], context: Ctx) -> T:
        """Run ``op`` on the engine thread, honouring the caller's deadline: a request
        still queued when its deadline passes is not done."""
        if not self.ready:
            raise Unavailable("", "the engine is recovering its state; retry shortly")
        engine = self.runner.engine
        remaining = context.time_remaining()
        deadline = None if remaining is None else time.monotonic() + remaining
        return await self.runner.submit_async(lambda at: op(engine, at), asyncio.get_running_loop(), deadline)


def _ids(request: Any, *required: str, optional: tuple[str, ...] = ()) -> None:
    """The id fields of a request, checked as every write checks its ids (non-empty where
    required, bounded, no control characters) before a read looks anything up."""
    for name in required:
        require_id(name, getattr(request, name))
    for name in optional:
        require_optional_id(name, getattr(request, name))


def _page_size(size: int) -> int:
    if not 0 <= size <= MAX_PAGE:
        raise InvalidArgument("page_size", f"must be between 0 and {MAX_PAGE}")
    return size or DEFAULT_PAGE


def _types(values: Iterable[int]) -> frozenset[BreakType]:
    out = set()
    for i, v in enumerate(values):
        if v not in BreakType._value2member_map_:
            raise InvalidArgument(f"types[{i}]", f"unknown break type {v}")
        out.add(BreakType(v))
    return frozenset(out)


def _publish_reply(r: PublishResult) -> broadcast_pb2.PublishResponse:
    return broadcast_pb2.PublishResponse(
        disposition=int(r.disposition),  # type: ignore[arg-type]
        line_id=r.line_id,
        call_no=r.call_no,
        highest_call_no=r.highest_call_no,
    )


Tally = collections.Counter[tuple[str, str]]
"""Broadcasts by (line, disposition name), for jis_broadcasts_total."""
_DISPOSITION_NAMES = {int(d): d.name.lower() for d in Disposition}


def _batch_results(
    out: Any, sent: list[tuple[str, int]], results: list[PublishResult | DomainError], tally: Tally
) -> tuple[int, int, int]:
    """Append one BroadcastResult per message to ``out`` and count it in ``tally``; returns
    (applied, duplicates, rejected)."""
    applied = duplicates = rejected = 0
    for (line_id, call_no), r in zip(sent, results, strict=True):
        if isinstance(r, DomainError):
            rejected += 1
            out.add(
                line_id=line_id,
                call_no=call_no,
                disposition=broadcast_pb2.DISPOSITION_REJECTED,
                code=status_of(r).value[0],
                message=str(r),
                field=r.field,
            )
            tally[line_id, "rejected"] += 1
        else:
            out.add(line_id=r.line_id, call_no=r.call_no, disposition=int(r.disposition))
            if r.disposition == Disposition.APPLIED:
                applied += 1
            else:
                duplicates += 1
            tally[r.line_id, _DISPOSITION_NAMES[int(r.disposition)]] += 1
    return applied, duplicates, rejected


def _count_broadcasts(metrics: Metrics | None, tally: Tally, lines: Container[str]) -> None:
    """Once per call and (line, disposition), not per message. A line not in ``lines``
    (the configured ones) is counted under "": a client's made-up line ids must not make
    new series."""
    if metrics is not None:
        for (line_id, disposition), n in tally.items():
            metrics.broadcasts.labels(line_id if line_id in lines else "", disposition).inc(n)


class BroadcastServicer(broadcast_pb2_grpc.BroadcastServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def Publish(
        self, request: broadcast_pb2.PublishRequest, context: Ctx
    ) -> broadcast_pb2.PublishResponse:
        if not request.HasField("broadcast"):
            raise InvalidArgument("broadcast", "required")
        b = convert.broadcast_in(request.broadcast)
        reply = _publish_reply(await self.gw.call(lambda e, at: e.publish(b, at), context))
        if self.gw.metrics is not None:
            self.gw.metrics.broadcasts.labels(b.line_id, _DISPOSITION_NAMES[reply.disposition]).inc()
        return reply

    @unary
    async def PublishBatch(
        self, request: broadcast_pb2.PublishBatchRequest, context: Ctx
    ) -> broadcast_pb2.PublishBatchResponse:
        if len(request.broadcasts) > MAX_BATCH:
            raise InvalidArgument("broadcasts", f"{len(request.broadcasts)} messages; at most {MAX_BATCH}")
        # A batch that would be packed anyway is decoded from its wire bytes into columns
        # (jis.api.wire): 1 ms for 1,000 messages against 17 ms object by object.
        packed = (
            wire.batch_columns(request.SerializeToString())
            if len(request.broadcasts) >= bulk.MIN_RUN
            else None
        )
        if packed is not None:
            return self._columns_reply(
                packed, await self.gw.call(lambda e, at: e.publish_columns(packed, at), context)
            )
        batch = []
        for m in request.broadcasts:
            try:
                batch.append(convert.broadcast_in(m))
            except DomainError as exc:
                batch.append(exc)  # type: ignore[arg-type]
        results = await self.gw.call(lambda e, at: e.publish_batch(batch, at), context)
        reply = broadcast_pb2.PublishBatchResponse()
        pairs = [(m.line_id, m.call_no) for m in request.broadcasts]
        tally: Tally = collections.Counter()
        reply.applied, reply.duplicates, reply.rejected = _batch_results(reply.results, pairs, results, tally)
        _count_broadcasts(self.gw.metrics, tally, self.gw.runner.engine.seq.lines)
        return reply

    def _columns_reply(
        self, packed: PackedBroadcasts, outcome: ColumnsOutcome
    ) -> broadcast_pb2.PublishBatchResponse:
        """PublishBatch's answer to a batch applied as columns: one result per message."""
        disposition = outcome.disposition
        reply = broadcast_pb2.PublishBatchResponse(
            applied=int(np.count_nonzero(disposition == Disposition.APPLIED)),
            duplicates=int(np.count_nonzero(disposition == Disposition.DUPLICATE)),
            rejected=len(outcome.errors),
        )
        lines = packed.line_ids
        add = reply.results.add
        for i, (line, call_no, d) in enumerate(
            zip(packed.line.tolist(), packed.call_no.tolist(), disposition.tolist(), strict=True)
        ):
            err = outcome.errors.get(i)
            if err is None:
                add(line_id=lines[line], call_no=call_no, disposition=d)
            else:
                add(line_id=lines[line], call_no=call_no, disposition=d, code=status_of(err).value[0],
                    message=str(err), field=err.field)  # fmt: skip
        self._count_columns(packed, disposition)
        return reply

    def _count_columns(self, packed: PackedBroadcasts, disposition: npt.NDArray[np.int8]) -> None:
        """jis_broadcasts_total for a packed call: (line, disposition) pairs counted with numpy,
        one increment per pair, not per message."""
        if self.gw.metrics is None or not len(disposition):
            return
        keys, counts = np.unique(packed.line * 8 + disposition, return_counts=True)
        tally: Tally = collections.Counter(
            {
                (packed.line_ids[k // 8], _DISPOSITION_NAMES[k % 8]): n
                for k, n in zip(keys.tolist(), counts.tolist(), strict=True)
            }
        )
        _count_broadcasts(self.gw.metrics, tally, self.gw.runner.engine.seq.lines)

    @unary
    async def PublishColumns(
        self, request: broadcast_pb2.BroadcastColumns, context: Ctx
    ) -> broadcast_pb2.PublishColumnsResponse:
        packed = convert.columns_in(request, MAX_BATCH)
        outcome = await self.gw.call(lambda e, at: e.publish_columns(packed, at), context)
        disposition = outcome.disposition
        reply = broadcast_pb2.PublishColumnsResponse(
            applied=int(np.count_nonzero(disposition == Disposition.APPLIED)),
            duplicates=int(np.count_nonzero(disposition == Disposition.DUPLICATE)),
            rejected=len(outcome.errors),
        )
        reply.disposition.extend(disposition.tolist())
        for i, err in sorted(outcome.errors.items()):
            reply.rejections.add(index=i, code=status_of(err).value[0], message=str(err), field=err.field)
        self._count_columns(packed, disposition)
        return reply


class SequenceServicer(sequence_pb2_grpc.SequenceServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def GetVehicle(self, request: sequence_pb2.GetVehicleRequest, context: Ctx) -> sequence_pb2.Vehicle:
        _ids(request, "vehicle_id")
        view = await self.gw.call(lambda e, at: e.vehicle(request.vehicle_id), context)
        return convert.vehicle_out(view)

    @unary
    async def ListSequence(
        self, request: sequence_pb2.ListSequenceRequest, context: Ctx
    ) -> sequence_pb2.ListSequenceResponse:
        _ids(request, "line_id")
        limit = _page_size(request.page_size)
        lo = request.from_seq_no if request.HasField("from_seq_no") else INT64_MIN
        hi = request.to_seq_no if request.HasField("to_seq_no") else INT64_MAX
        query = (request.line_id, lo, hi)
        if request.page_token:
            (after,) = paging.read_token("page_token", request.page_token, query, 1)
            if after >= INT64_MAX:
                raise InvalidArgument("page_token", "not a token this server issued for this query")
            lo = max(lo, after + 1)
        vehicles, more = await self.gw.call(lambda e, at: e.sequence(request.line_id, lo, hi, limit), context)
        reply = sequence_pb2.ListSequenceResponse(vehicles=[convert.vehicle_out(v) for v in vehicles])
        if more and vehicles:
            seq_no = vehicles[-1].seq_no
            assert seq_no is not None  # a listed vehicle is active: it holds a seq_no
            reply.next_page_token = paging.token((seq_no,), query)
        return reply


class LineServicer(lines_pb2_grpc.LineServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def ConfigureLine(self, request: lines_pb2.ConfigureLineRequest, context: Ctx) -> lines_pb2.Line:
        cfg = convert.line_config_in(request)
        return convert.line_out(await self.gw.call(lambda e, at: e.configure_line(cfg, at), context))

    @unary
    async def GetLine(self, request: lines_pb2.GetLineRequest, context: Ctx) -> lines_pb2.Line:
        _ids(request, "line_id")
        return convert.line_out(await self.gw.call(lambda e, at: e.line(request.line_id), context))

    @unary
    async def ListLines(
        self, request: lines_pb2.ListLinesRequest, context: Ctx
    ) -> lines_pb2.ListLinesResponse:
        views = await self.gw.call(lambda e, at: e.lines(), context)
        return lines_pb2.ListLinesResponse(lines=[convert.line_out(v) for v in views])


class ClockServicer(lines_pb2_grpc.ClockServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def _reading(self, now: int) -> lines_pb2.ClockReading:
        return lines_pb2.ClockReading(now=convert.ns_to_ts(now), test_mode=self.gw.clock.test_mode)

    @unary
    async def GetClock(self, request: lines_pb2.GetClockRequest, context: Ctx) -> lines_pb2.ClockReading:
        # Through the engine thread: the reading is answered after the group it was taken
        # in is committed, so it never shows a SetClock that a crash could still take back.
        return self._reading(await self.gw.call(lambda e, at: at, context))

    @unary
    async def SetClock(self, request: lines_pb2.SetClockRequest, context: Ctx) -> lines_pb2.ClockReading:
        if not request.HasField("now"):
            raise InvalidArgument("now", "required")
        target = convert.ts_to_ns(request.now, "now")
        clock = self.gw.clock

        def move(e: Engine, at: int) -> int:
            clock.set(target)
            e.tick(target)
            return target

        return self._reading(await self.gw.call(move, context))


def _event_out(ev: BreakEvent, snapshot: bool = False) -> breaks_pb2.BreakEvent:
    kind = breaks_pb2.BreakEvent.KIND_RAISED if ev.raised else breaks_pb2.BreakEvent.KIND_RESOLVED
    return breaks_pb2.BreakEvent(
        kind=kind, sequence_break=convert.break_out(ev.sequence_break), snapshot=snapshot
    )


class BreakServicer(breaks_pb2_grpc.BreakServiceServicer):
    def __init__(self, gw: Gateway, fanout: Fanout) -> None:
        self.gw = gw
        self.fanout = fanout

    @stream
    async def WatchBreaks(
        self, request: breaks_pb2.WatchBreaksRequest, context: Ctx
    ) -> AsyncIterator[breaks_pb2.BreakEvent]:
        _ids(request, optional=("line_id", "supplier_id"))
        types = _types(request.types)
        line_id, supplier_id = request.line_id, request.supplier_id
        # Subscribe first, then read the open breaks with the event position they reflect:
        # events up to that position are in the snapshot, later ones come from the queue.
        sub = self.fanout.subscribe(line_id, supplier_id, types)
        try:
            snapshot, upto, now = await self.gw.call(
                lambda e, at: (e.open_breaks(line_id, supplier_id, types), e.book.event_seq, at), context
            )
            for b in snapshot:
                yield breaks_pb2.BreakEvent(
                    kind=breaks_pb2.BreakEvent.KIND_RAISED,
                    sequence_break=convert.break_out(b, now),
                    snapshot=True,
                )
            while True:
                ev = await sub.queue.get()
                if ev is CUT_OFF:
                    raise ResourceExhausted(
                        "",
                        "subscriber too slow: its event queue overflowed; reconnect to get the open breaks",
                    )
                if ev.seq > upto:
                    yield _event_out(ev)
        finally:
            self.fanout.unsubscribe(sub)

    @unary
    async def ListBreaks(
        self, request: breaks_pb2.ListBreaksRequest, context: Ctx
    ) -> breaks_pb2.ListBreaksResponse:
        _ids(request, optional=("line_id", "supplier_id"))
        types = _types(request.types)
        line_id, supplier_id = request.line_id, request.supplier_id
        limit = _page_size(request.page_size)
        window = None
        if request.HasField("resolved_from") or request.HasField("resolved_to"):
            window = (
                convert.ts_to_ns(request.resolved_from, "resolved_from")
                if request.HasField("resolved_from")
                else INT64_MIN,
                convert.ts_to_ns(request.resolved_to, "resolved_to")
                if request.HasField("resolved_to")
                else INT64_MAX,
            )
        query = ("breaks", line_id, supplier_id, sorted(types), window)
        after = None
        if request.page_token:
            after = paging.read_token("page_token", request.page_token, query, 4 if window is None else 2)
        now, (found, more) = await self.gw.call(
            lambda e, at: (at, e.break_page(line_id, supplier_id, types, window, after, limit)), context
        )
        reply = breaks_pb2.ListBreaksResponse(breaks=[convert.break_out(b, now) for b in found])
        if more is not None:
            reply.next_page_token = paging.token(more, query)
        return reply


class SupplyServicer(supply_pb2_grpc.SupplyServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def ConfigureSupplier(
        self, request: supply_pb2.ConfigureSupplierRequest, context: Ctx
    ) -> supply_pb2.Supplier:
        cfg = convert.supplier_in(request)
        return convert.supplier_out(await self.gw.call(lambda e, at: e.configure_supplier(cfg, at), context))

    @unary
    async def ReportBuild(self, request: supply_pb2.ReportBuildRequest, context: Ctx) -> supply_pb2.Slot:
        b = convert.build_in(request)
        return convert.slot_out(await self.gw.call(lambda e, at: e.report_build(b, at), context))

    @unary
    async def DispatchRack(self, request: supply_pb2.DispatchRackRequest, context: Ctx) -> supply_pb2.Rack:
        d = convert.dispatch_in(request)
        return convert.rack_out(await self.gw.call(lambda e, at: e.dispatch_rack(d, at), context))

    @unary
    async def MoveRack(self, request: supply_pb2.MoveRackRequest, context: Ctx) -> supply_pb2.Rack:
        when = convert.ts_to_ns(request.at, "at") if request.HasField("at") else None
        stage = int(request.stage)
        return convert.rack_out(
            await self.gw.call(lambda e, at: e.move_rack(request.rack_id, stage, when, at), context)
        )

    @unary
    async def UpdateRackEta(self, request: supply_pb2.UpdateRackEtaRequest, context: Ctx) -> supply_pb2.Rack:
        if not request.HasField("eta"):
            raise InvalidArgument("eta", "required")
        eta = convert.ts_to_ns(request.eta, "eta")
        return convert.rack_out(
            await self.gw.call(lambda e, at: e.update_rack_eta(request.rack_id, eta, at), context)
        )

    @unary
    async def GetRack(self, request: supply_pb2.GetRackRequest, context: Ctx) -> supply_pb2.Rack:
        return convert.rack_out(await self.gw.call(lambda e, at: e.rack(request.rack_id), context))


ScopeKey = tuple[str, str, str]
FeedItem = tuple[int, int, build_sequence_pb2.BuildSequenceUpdate, int]
"""(last cursor, first cursor, the update carrying those changes, its size in bytes)."""
RESUME_CHUNK = 1000
"""Most changes in one update when catching up after a cursor."""
FeedFanout = KeyedFanout[ScopeKey, FeedItem]


def feed_item_bytes(item: FeedItem) -> int:
    return item[3]


def publish_feed(fanout: FeedFanout, batch: FeedBatch) -> None:
    """Hand a drained feed batch to the subscribers of its scopes (on the event loop).
    Each change is converted to protobuf once, however many streams watch its scope."""
    watched = fanout.keys()
    if not watched:
        return
    scope = batch.columns["scope"]
    order = np.argsort(scope, kind="stable")  # rows grouped by scope, in cursor order
    codes, starts = np.unique(scope[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    items: dict[ScopeKey, list[FeedItem]] = {}
    for i, code in enumerate(codes.tolist()):
        key = batch.names.scope_names(code)
        if key in watched:
            events = batch.events(order[bounds[i] : bounds[i + 1]])
            update = convert.feed_changes_out(events)
            items[key] = [(events[-1].cursor, events[0].cursor, update, update.ByteSize())]
    fanout.publish(items)


class BuildSequenceServicer(build_sequence_pb2_grpc.BuildSequenceServiceServicer):
    def __init__(self, gw: Gateway, fanout: FeedFanout) -> None:
        self.gw = gw
        self.fanout = fanout

    @unary
    async def GetBuildSequence(
        self, request: build_sequence_pb2.GetBuildSequenceRequest, context: Ctx
    ) -> build_sequence_pb2.BuildSequence:
        key = (request.line_id, request.supplier_id, request.group)
        start = request.from_seq_no if request.HasField("from_seq_no") else None
        entries, cursor = await self.gw.call(lambda e, at: e.build_sequence(*key, start), context)
        return convert.build_sequence_out(*key, entries, cursor)

    @stream
    async def WatchBuildSequence(
        self, request: build_sequence_pb2.WatchBuildSequenceRequest, context: Ctx
    ) -> AsyncIterator[build_sequence_pb2.BuildSequenceUpdate]:
        key = (request.line_id, request.supplier_id, request.group)
        start = request.from_seq_no if request.HasField("from_seq_no") else None
        # As for WatchBreaks: subscribe first, then read on the engine thread what the
        # client lacks up to a cursor; queued changes up to that cursor are skipped.
        sub = self.fanout.subscribe(key)
        try:
            if request.HasField("after_cursor"):
                after = request.after_cursor
                missed = await self.gw.call(lambda e, at: e.build_sequence_since(*key, after), context)
                upto = int(missed.cursors[-1]) if len(missed) else after
                events = missed.events()
                for i in range(0, len(events), RESUME_CHUNK):
                    yield convert.feed_changes_out(events[i : i + RESUME_CHUNK])
            else:
                entries, upto = await self.gw.call(lambda e, at: e.build_sequence(*key, start), context)
                yield build_sequence_pb2.BuildSequenceUpdate(
                    snapshot=convert.build_sequence_out(*key, entries, upto)
                )
            while True:
                item = await sub.get()
                if item is None:
                    raise ResourceExhausted(
                        "",
                        "subscriber too slow: its queue overflowed; reconnect with the last cursor seen",
                    )
                last, first, update, _ = item
                if first > upto:
                    yield update
                elif last > upto:  # partly in what was already sent: send the rest
                    rest = [c for c in update.changes.changes if c.cursor > upto]
                    yield build_sequence_pb2.BuildSequenceUpdate(
                        changes=build_sequence_pb2.BuildSequenceChanges(changes=rest)
                    )
        finally:
            self.fanout.unsubscribe(sub)


class ReportServicer(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def GetInventory(
        self, request: reports_pb2.GetInventoryRequest, context: Ctx
    ) -> reports_pb2.Inventory:
        _ids(request, "line_id", optional=("supplier_id", "group"))
        line_id, supplier_id, group = request.line_id, request.supplier_id, request.group
        at, scopes = await self.gw.call(lambda e, at: (at, e.inventory(line_id, supplier_id, group)), context)
        return convert.inventory_out(at, scopes)

    @unary
    async def GetKpis(self, request: reports_pb2.GetKpisRequest, context: Ctx) -> reports_pb2.Kpis:
        _ids(request, optional=("line_id", "supplier_id"))
        line_id, supplier_id = request.line_id, request.supplier_id
        start, stop = convert.opt_ts(request, "from"), convert.opt_ts(request, "to")
        lo = INT64_MIN if start is None else start
        hi = INT64_MAX if stop is None else stop
        k = await self.gw.call(lambda e, at: e.kpi_report(line_id, supplier_id, lo, hi), context)
        return convert.kpis_out(k, line_id, supplier_id, start, stop)

    @unary
    async def GetDemand(self, request: reports_pb2.GetDemandRequest, context: Ctx) -> reports_pb2.Demand:
        ask = _demand_request(request)
        since = convert.opt_ts(request, "changes_since")

        def demand(e: Engine, at: int) -> tuple[int, int, int, DemandTable]:
            return ask.run(e, at, since)

        at, lo, hi, found = await self.gw.call(demand, context)
        return convert.demand_out(request.supplier_id, at, lo, hi, ask.bucket, found)

    @stream
    async def WatchDemand(
        self, request: reports_pb2.WatchDemandRequest, context: Ctx
    ) -> AsyncIterator[reports_pb2.DemandUpdate]:
        ask = _demand_request(request)
        interval = DEMAND_WATCH_INTERVAL_S
        if request.HasField("interval"):
            interval = convert.duration_to_ns(request.interval, "interval") / 1e9
            if not 1 <= interval <= 600:
                raise InvalidArgument("interval", "from 1 s to 10 min")
        engine = self.gw.runner.engine

        def demand(e: Engine, at: int) -> tuple[int, int, int, DemandTable]:
            return ask.run(e, at, None)

        at, lo, hi, found = await self.gw.call(demand, context)
        ask = ask.fixed(lo, hi)  # the window of the first answer, from then on
        first = convert.demand_out(request.supplier_id, at, lo, hi, ask.bucket, found)
        yield reports_pb2.DemandUpdate(snapshot=first)
        rows = {(r.line_id, r.group, r.part_number): r for r in first.rows}
        seen = (engine.inputs, engine.last_at)
        while True:
            await asyncio.sleep(interval)
            state = (engine.inputs, engine.last_at)
            if state == seen and self.gw.clock.now() == at:
                continue  # nothing applied, and the clock stands: the demand is the same
            seen = state
            at, lo, hi, found = await self.gw.call(demand, context)
            now = {(r.line_id, r.group, r.part_number): r for r in convert.demand_out(
                request.supplier_id, at, lo, hi, ask.bucket, found).rows}  # fmt: skip
            changed = [r for key, r in now.items() if rows.get(key) != r]
            n = len(found.quantity[0]) if len(found) else -(-(hi - lo) // ask.bucket)
            gone = [
                reports_pb2.DemandRow(
                    line_id=k[0],
                    group=k[1],
                    part_number=k[2],
                    quantity=[0] * n,
                    covered=[0] * n,
                    frozen=[0] * n,
                )
                for k in rows.keys() - now.keys()
            ]
            rows = now
            if changed or gone:
                yield reports_pb2.DemandUpdate(
                    changes=reports_pb2.DemandChanges(at=convert.ns_to_ts(at), rows=[*changed, *gone])
                )


@dataclass(frozen=True, slots=True)
class _DemandAsk:
    """A demand request's fields, checked: run it on the engine (window from ``at``)."""

    supplier_id: str
    line_id: str
    group: str
    start: int | None
    stop: int | None
    bucket: int

    def run(self, e: Engine, at: int, since: int | None) -> tuple[int, int, int, DemandTable]:
        lo = at if self.start is None else self.start
        hi = lo + DEMAND_WINDOW_NS if self.stop is None else self.stop
        return (
            at,
            lo,
            hi,
            e.demand(self.supplier_id, self.line_id, self.group, lo, hi, self.bucket, at, since),
        )

    def fixed(self, start: int, stop: int) -> _DemandAsk:
        return dataclasses.replace(self, start=start, stop=stop)


def _demand_request(request: Any) -> _DemandAsk:
    _ids(request, "supplier_id", optional=("line_id", "group"))
    bucket = DEMAND_BUCKET_NS
    if request.HasField("bucket"):
        bucket = convert.duration_to_ns(request.bucket, "bucket")
    return _DemandAsk(
        request.supplier_id,
        request.line_id,
        request.group,
        convert.opt_ts(request, "from"),
        convert.opt_ts(request, "to"),
        bucket,
    )


class DockServicer(dock_pb2_grpc.DockServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    @unary
    async def BookAppointment(self, request: dock_pb2.AppointmentSpec, context: Ctx) -> dock_pb2.Appointment:
        spec = convert.appointment_in(request)
        return convert.appointment_out(
            await self.gw.call(lambda e, at: e.book_appointment(spec, at), context)
        )

    @unary
    async def ChangeAppointment(
        self, request: dock_pb2.AppointmentSpec, context: Ctx
    ) -> dock_pb2.Appointment:
        spec = convert.appointment_in(request)
        return convert.appointment_out(
            await self.gw.call(lambda e, at: e.change_appointment(spec, at), context)
        )

    @unary
    async def CancelAppointment(
        self, request: dock_pb2.CancelAppointmentRequest, context: Ctx
    ) -> dock_pb2.Appointment:
        appointment_id = request.appointment_id
        return convert.appointment_out(
            await self.gw.call(lambda e, at: e.cancel_appointment(appointment_id, at), context)
        )

    @unary
    async def RecordYardEvent(self, request: dock_pb2.YardEventRequest, context: Ctx) -> dock_pb2.Appointment:
        when = convert.ts_to_ns(request.at, "at") if request.HasField("at") else None
        appointment_id, kind = request.appointment_id, int(request.kind)
        return convert.appointment_out(
            await self.gw.call(lambda e, at: e.yard_event(appointment_id, kind, when, at), context)
        )

    @unary
    async def GetAppointment(
        self, request: dock_pb2.GetAppointmentRequest, context: Ctx
    ) -> dock_pb2.Appointment:
        appointment_id = request.appointment_id
        return convert.appointment_out(
            await self.gw.call(lambda e, at: e.appointment(appointment_id, at), context)
        )

    @unary
    async def GetYard(self, request: dock_pb2.GetYardRequest, context: Ctx) -> dock_pb2.Yard:
        _ids(request, optional=("door",))
        start, stop = convert.opt_ts(request, "from"), convert.opt_ts(request, "to")
        start = INT64_MIN if start is None else start
        stop = INT64_MAX if stop is None else stop
        door = request.door
        return convert.yard_out(await self.gw.call(lambda e, at: e.yard(at, start, stop, door), context))


class InteropServicer(interop_pb2_grpc.InteropServiceServicer):
    def __init__(self, gw: Gateway, action_codes: edifact.ActionCodes | None = None) -> None:
        self.gw = gw
        self.action_codes = action_codes or {}
        """Senders' own DELJIT SEQ action codes (jis serve --action-codes)."""

    @unary
    async def ImportDeljit(
        self, request: interop_pb2.ImportDeljitRequest, context: Ctx
    ) -> interop_pb2.ImportDeljitResponse:
        try:  # parsing an interchange of megabytes takes a while: not on the event loop
            reference, messages = await asyncio.to_thread(
                edifact.read_deljit,
                request.interchange,
                call_no_from_bgm=request.call_no_from_bgm,
                action_codes=self.action_codes,
            )
        except edifact.EdiError as exc:
            raise InvalidArgument("interchange", str(exc)) from None
        accepted = [m for m in messages if m.error is None]
        if self.gw.directory is not None:
            self.gw.directory.route(list(dict.fromkeys(b.line_id for m in accepted for b in m.broadcasts)))
        require_lines(
            [(f"interchange message {m.reference} LOC", b.line_id) for m in accepted for b in m.broadcasts]
        )
        batch = [b for m in accepted for b in m.broadcasts]
        if len(batch) > MAX_BATCH:
            raise InvalidArgument(
                "interchange", f"{len(batch)} broadcasts; at most {MAX_BATCH} per interchange"
            )
        results = await self.gw.call(lambda e, at: e.publish_batch(batch, at), context) if batch else []
        reply = interop_pb2.ImportDeljitResponse(interchange_reference=reference)
        tally: Tally = collections.Counter()
        k = 0
        for m in messages:
            out = reply.messages.add(reference=m.reference, accepted=m.error is None)
            if m.error is not None:
                out.error, out.segment_position, out.segment_tag = str(m.error), m.error.position, m.error.tag
                reply.messages_refused += 1
                continue
            n = len(m.broadcasts)
            counts = _batch_results(
                out.results, [(b.line_id, b.call_no) for b in m.broadcasts], results[k : k + n], tally
            )
            k += n
            reply.applied += counts[0]
            reply.duplicates += counts[1]
            reply.rejected += counts[2]
        _count_broadcasts(self.gw.metrics, tally, self.gw.runner.engine.seq.lines)
        return reply

    @unary
    async def ExportDesadv(
        self, request: interop_pb2.ExportDesadvRequest, context: Ctx
    ) -> interop_pb2.Desadv:
        rack_ids, appointment_id = list(request.rack_ids), request.appointment_id
        if appointment_id and rack_ids:
            raise InvalidArgument("appointment_id", "give rack_ids or appointment_id, not both")
        if appointment_id:
            require_id("appointment_id", appointment_id)
        elif not rack_ids:
            raise InvalidArgument("rack_ids", "at least one rack (or an appointment_id)")
        if len(rack_ids) > MAX_DESADV_RACKS:
            raise InvalidArgument("rack_ids", f"at most {MAX_DESADV_RACKS} racks")
        for name in ("sender", "recipient"):  # UNB 0004 and 0010: an..35
            value = getattr(request, name)
            require_optional_id(name, value)
            if len(value) > edifact.MAX_PARTY_ID:
                raise InvalidArgument(name, f"longer than {edifact.MAX_PARTY_ID} characters (EDIFACT UNB)")

        def read(e: Engine, at: int) -> tuple[AppointmentView | None, list[RackView], edifact.Calls]:
            """The racks (or the appointment and its racks) and, for RFF+AAN, each slot
            vehicle's last applied call number and seq_no (none for one never broadcast)."""
            truck = e.appointment(appointment_id, at) if appointment_id else None
            racks = [e.rack(r) for r in (truck.spec.rack_ids if truck is not None else rack_ids)]
            calls: dict[str, tuple[int, int | None]] = {}
            for vehicle_id in {s.vehicle_id for rack in racks for s in rack.slots}:
                try:
                    v = e.vehicle(vehicle_id)
                except NotFound:
                    continue
                if v.last_call_no > 0:
                    calls[vehicle_id] = (v.last_call_no, v.seq_no)
            return truck, racks, calls

        truck, racks, calls = await self.gw.call(read, context)
        if truck is not None:
            require_supplier("appointment_id", truck.spec.supplier_id)
            if truck.state == AppointmentState.CANCELLED:
                raise FailedPrecondition("appointment_id", f"appointment {appointment_id!r} was cancelled")
            if not racks:
                raise FailedPrecondition("appointment_id", f"appointment {appointment_id!r} carries no racks")
        for i, rack in enumerate(racks):
            require_supplier(f"rack_ids[{i}]", rack.supplier_id)
        sender = request.sender or racks[0].supplier_id
        if len(sender) > edifact.MAX_PARTY_ID:
            whose = f"appointment {appointment_id!r}" if truck is not None else f"rack {rack_ids[0]!r}"
            raise InvalidArgument(
                "sender",
                f"not given, and the default, supplier {sender!r} of {whose}, is longer "
                f"than {edifact.MAX_PARTY_ID} characters (EDIFACT UNB); give a sender",
            )
        # Numbered on the engine thread and journaled (an export is a write): references are
        # unique across exports and restarts, and fit UNB 0020 (an..14).
        at, number = await self.gw.call(lambda e, at: (at, e.number_desadv(at)), context)
        reference = edifact.desadv_reference(number)
        data = edifact.write_desadv(
            racks,
            sender,
            request.recipient or "JIS",
            reference,
            at,
            calls,
            include_seq_no=request.include_seq_no,
            truck=truck,
        )
        return interop_pb2.Desadv(interchange=data, reference=reference, racks=len(racks))


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def _directory(self) -> Directory:
        if self.gw.directory is None:
            raise FailedPrecondition(
                "", "this server has no directory: lines are partitioned only with --store nats://... --group"
            )
        return self.gw.directory

    @staticmethod
    def _out(a: Assignment) -> directory_pb2.LineAssignment:
        return directory_pb2.LineAssignment(line_id=a.line_id, group=a.group, addresses=list(a.addresses))

    @unary
    async def AssignLine(
        self, request: directory_pb2.AssignLineRequest, context: Ctx
    ) -> directory_pb2.LineAssignment:
        require_id("line_id", request.line_id)
        directory = self._directory()
        require_group(request.group)
        done = await asyncio.to_thread(directory.assign, request.line_id, request.group)
        return self._out(done)

    @unary
    async def MoveLine(
        self, request: directory_pb2.MoveLineRequest, context: Ctx
    ) -> directory_pb2.LineAssignment:
        require_id("line_id", request.line_id)
        directory = self._directory()
        require_group(request.group)
        line_id, group = request.line_id, request.group
        revision = await asyncio.to_thread(directory.move, line_id, group)
        remaining = context.time_remaining()
        wait = MOVE_WAIT_S if remaining is None else min(MOVE_WAIT_S, remaining - 0.2)
        deadline = time.monotonic() + wait
        while True:  # until this server's directory shows the move over
            e = directory.entry(line_id)
            if e is not None and e.revision >= revision and e.move is None:
                if e.owner == group:
                    break
                raise FailedPrecondition(
                    "line_id", f"the move of line {line_id!r} was called off: {e.refused or 'see the log'}"
                )
            if time.monotonic() > deadline:
                raise DeadlineExceeded(
                    "line_id", f"line {line_id!r} is still moving to {group!r}; see ListAssignments"
                )
            await asyncio.sleep(0.05)
        return self._out(directory.assignments([request.line_id])[0])

    @unary
    async def ListAssignments(
        self, request: directory_pb2.ListAssignmentsRequest, context: Ctx
    ) -> directory_pb2.ListAssignmentsResponse:
        for i, line_id in enumerate(request.line_ids):
            require_id(f"line_ids[{i}]", line_id)
        directory = self._directory()
        found = directory.assignments(list(request.line_ids))
        return directory_pb2.ListAssignmentsResponse(
            assignments=[self._out(a) for a in found], group=directory.group
        )
