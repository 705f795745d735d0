"""The engine: one object that applies every input, journals it, and answers queries.

Every mutating method takes the engine time ``at`` explicitly, first lets time-driven
breaks due by then happen (each at its own moment), applies the input, re-evaluates
the scopes it touched, and appends the input to the store's open commit. Recovery
replays the log through the same methods with the recorded times, so the rebuilt
state, breaks and their detection times are identical to those before a crash.

Not thread-safe: :class:`jis.engine.runner.EngineRunner` calls it from one thread.
"""

from __future__ import annotations

import heapq
import io
import logging
import pickle
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import numpy as np

from jis import __version__, sysmem
from jis.alerts.breaks import BreakBook, BreakType, SequenceBreak, matches, open_order, resolved_order
from jis.columns import Interner, sum_by_key
from jis.engine import bulk, codec, compact, inventory, move
from jis.engine.dock import DockState
from jis.engine.evaluate import Evaluator
from jis.engine.feed import BuildFeed, FeedBatch, FeedEntry
from jis.engine.kpis import (
    FACT_COLUMNS,
    Facts,
    KpiHistory,
    Kpis,
    decode_facts,
    encode_facts,
    fact_span,
    joined,
    kpis,
    supplier_delivery_ratios,
)
from jis.engine.limits import require_id
from jis.engine.model import (
    NO_TIME,
    Action,
    AppointmentSpec,
    AppointmentView,
    Broadcast,
    BuildReport,
    ColumnsOutcome,
    DemandTable,
    Disposition,
    LineConfig,
    LineView,
    PublishResult,
    RackDispatch,
    RackStage,
    RackView,
    ScopeInventory,
    SlotView,
    SupplierConfig,
    VehicleState,
    VehicleView,
    YardView,
)
from jis.engine.packed import PackedBroadcasts
from jis.engine.sequence import SequenceState
from jis.engine.supply import Scope, SupplyState
from jis.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, OutOfRange, Unavailable
from jis.kernels import matching
from jis.metrics import KPI_WINDOW_S, EngineStats, LineStats
from jis.store.base import ArchivedBreak, BreakQuery, LogRecord, Store, StoreCorrupt

log = logging.getLogger(__name__)

GroupEval = tuple[list[Scope], int]


def _room(raw: memoryview) -> int:
    """Bytes to allocate on load for an out-of-band buffer: an array pickled as the first
    elements of a larger one (a Table column or RowList trimmed to its rows) gets the larger
    one's size, so that it is restored with its capacity without a copy."""
    arr = raw.obj
    if isinstance(arr, np.ndarray):
        base = arr.base
        if isinstance(base, np.ndarray) and base.flags.c_contiguous and base.ctypes.data == arr.ctypes.data:
            return max(raw.nbytes, base.nbytes)
    return raw.nbytes


def _readinto(f: io.BufferedIOBase, view: memoryview) -> None:
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise StoreCorrupt(f"the snapshot ends {len(view) - done} bytes early")
        done += n


def _read(f: io.BufferedIOBase, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise StoreCorrupt(f"the snapshot ends {n - len(data)} bytes early")
    return data


class Engine:
    RETAIN_STEP = 3600 * 10**9
    """Retention moves its cutoff in steps of at least this much engine time (an hour): each
    step copies the history it keeps, so not at every group."""
    LOOK_STEP = 60 * 10**9
    """When a step finds nothing old enough to drop, it looks again this much engine time
    later, not at the next group: the look scans every vehicle."""

    def __init__(self, store: Store | None = None, retain_ns: int = 0) -> None:
        self.store = store
        self.retain_ns = retain_ns
        """Keep build-sequence history this long (engine time); 0: keep all (see :meth:`retain`)."""
        self.retained_to = 0
        """Engine time before which history has been dropped (journaled "retain" records)."""
        self._looked_at = 0
        """Engine time of the last look that found nothing to drop (not state: a throttle)."""
        self.book = BreakBook()
        self.seq = SequenceState(self.book)
        self.supply = SupplyState(self.seq)
        self.evaluator = Evaluator(self.seq, self.supply, self.book)
        self.feed = BuildFeed(self.seq)
        self.dock = DockState(self.supply)
        self.kpis = KpiHistory(self.evaluator)
        self.last_at = 0
        """Engine time of the last journaled input."""
        self.desadv_issued = 0
        """DESADV interchanges numbered so far (journaled "desadv" records): their control
        references stay unique across exports and restarts."""
        self._replaying = False
        self.inputs = 0
        """Inputs journaled (or replayed) by this process; a batch counts each message.
        What the snapshot interval counts, so a log of large batches still snapshots."""
        self._grouping = False
        self._group_marked = False
        self._pending: set[Scope] = set()

    # -- journal -----------------------------------------------------------------------

    def _journal(self, kind: str, at: int, body: bytes, inputs: int = 1) -> None:
        """Append a record; ``inputs``: how many inputs it carries (0 for marks)."""
        self.last_at = max(self.last_at, at)
        if kind not in ("group", "eval"):
            self.inputs += inputs
        if self.store is not None and not self._replaying:
            self.store.append(kind, at, body)

    SNAPSHOT_FORMAT = f"jis-engine-state/15 (jis {__version__})"
    SNAPSHOT_MAGIC = b"JIS-SNAPSHOT\n"
    SNAPSHOT_STATE = (
        "seq",
        "supply",
        "book",
        "evaluator",
        "feed",
        "dock",
        "kpis",
        "last_at",
        "retained_to",
        "desadv_issued",
    )
    """The attributes a snapshot holds, in its order (a change of them is a new format)."""

    def snapshot(self) -> bytes:
        """The whole state, for the store. Call only with nothing appended since the last commit.

        Layout: SNAPSHOT_MAGIC; the format (u32 length, utf-8); the length of a pickle of the
        state and how many buffers follow it (u64, u32); per buffer, its length and the bytes
        to allocate for it on load (u64, u64); the pickle (protocol 5, its numpy arrays out of
        band); the buffers' bytes. Recovery reads each array once, straight into memory of its
        final size: a Table or RowList (trimmed to its rows when pickled) keeps its capacity
        without a copy (see :func:`jis.columns.with_room`).
        """
        state = tuple(getattr(self, name) for name in self.SNAPSHOT_STATE)
        buffers: list[pickle.PickleBuffer] = []
        skeleton = pickle.dumps(state, protocol=5, buffer_callback=buffers.append)
        raws = [b.raw() for b in buffers]
        fmt = self.SNAPSHOT_FORMAT.encode()
        head = [
            self.SNAPSHOT_MAGIC,
            struct.pack("<I", len(fmt)),
            fmt,
            struct.pack("<QI", len(skeleton), len(raws)),
        ]
        head += [struct.pack("<QQ", r.nbytes, _room(r)) for r in raws]
        return b"".join([*head, skeleton, *raws])

    def _restore(self, f: io.BufferedIOBase) -> bool:
        # Snapshots are written by this process into its own store, never received from clients.
        magic = f.read(len(self.SNAPSHOT_MAGIC))
        fmt = "a whole pickle (format 3 or older)"
        if magic == self.SNAPSHOT_MAGIC:
            (n,) = struct.unpack("<I", _read(f, 4))
            fmt = _read(f, n).decode(errors="replace")
        if fmt != self.SNAPSHOT_FORMAT:
            log.warning("snapshot format %r is not %r; replaying the whole log", fmt, self.SNAPSHOT_FORMAT)
            return False
        skeleton_len, n_buffers = struct.unpack("<QI", _read(f, 12))
        sizes = [struct.unpack("<QQ", _read(f, 16)) for _ in range(n_buffers)]
        skeleton = _read(f, skeleton_len)
        buffers = []
        for nbytes, room in sizes:
            mem = np.zeros(max(nbytes, room), np.uint8)  # calloc: the pages past nbytes stay untouched
            _readinto(f, mem[:nbytes].data)
            buffers.append(mem[:nbytes])
        for name, value in zip(self.SNAPSHOT_STATE, pickle.loads(skeleton, buffers=buffers), strict=True):
            setattr(self, name, value)
        return True

    def become_fork(self) -> None:
        """In a forked copy of the process (a what-if): drop the store, so nothing is
        journaled, and finish the group the fork interrupted (its scopes evaluated, its
        news dropped: the live engine sends them)."""
        self.store = None
        self._grouping = False
        self._group_marked = False
        pending, self._pending = sorted(self._pending), set()
        self.evaluate_group((pending, self.last_at) if pending else None)
        self.book.drain()
        self.feed.drain()

    def save_snapshot(self) -> int:
        """Write a snapshot at the last committed log position; returns that position."""
        assert self.store is not None
        seq = self.store.last_seq()
        self.store.save_snapshot(seq, self.snapshot())
        return seq

    def recover(self) -> int:
        """Rebuild the state from the newest snapshot and the log after it; returns the
        number of log records replayed."""
        if self.store is None:
            return 0
        after = 0
        snap = self.store.open_latest_snapshot()
        if snap is not None:
            with snap[1] as f:
                restored = self._restore(f)
            if restored:
                after = snap[0]
                log.info("restored the snapshot taken at log position %d", after)
        n = self.apply_records(self.store.records(after))
        self.book.drain()  # recovered breaks and feed events are state, not news
        self.feed.drain()
        return n

    def apply_records(self, records: Iterable[LogRecord]) -> int:
        """Apply committed log records as recovery does (nothing is journaled): how a
        standby follows its leader. The breaks and feed changes they bring are queued as
        news, as the leader's were. Returns how many records were applied."""
        replay: dict[str, Callable[[LogRecord], object]] = {
            "line": lambda r: self.configure_line(codec.decode_line(r.body), r.at),
            "broadcast": lambda r: self.publish(codec.decode_broadcast(r.body), r.at),
            "batch": lambda r: self.publish_batch(
                [codec.decode_broadcast(x) for x in r.body.split(b"\n")], r.at
            ),
            "batch-from": self._replay_batch,
            "columns": lambda r: self.publish_columns(PackedBroadcasts.decode(r.body), r.at),
            "clock": lambda r: self.tick(r.at),
            "retain": self._replay_retain,
            "supplier": lambda r: self.configure_supplier(codec.decode_supplier(r.body), r.at),
            "build": lambda r: self.report_build(codec.decode_build(r.body), r.at),
            "dispatch": lambda r: self.dispatch_rack(codec.decode_dispatch(r.body), r.at),
            "move": self._replay_move,
            "eta": self._replay_eta,
            "appointment": lambda r: self.book_appointment(codec.decode_appointment(r.body), r.at),
            "appointment_change": lambda r: self.change_appointment(codec.decode_appointment(r.body), r.at),
            "appointment_cancel": lambda r: self.cancel_appointment(codec.loads(r.body), r.at),
            "yard": self._replay_yard,
            "desadv": self._replay_desadv,
            "group": lambda r: self._replay_group(r.at),
            "eval": lambda r: self._replay_eval(r.at),
            "leader": self._replay_leader,
            "release": self._replay_release,
            "import": self._replay_import,
        }
        n = 0
        self._replaying = True
        try:
            for rec in records:
                apply = replay.get(rec.kind)
                if apply is None:
                    raise StoreCorrupt(f"log record {rec.seq}: unknown kind {rec.kind!r}")
                try:
                    apply(rec)
                except DomainError as exc:
                    raise StoreCorrupt(f"log record {rec.seq} ({rec.kind}) no longer applies: {exc}") from exc
                n += 1
        finally:
            self._replaying = False
        return n

    def follow(self, records: Iterable[LogRecord]) -> int:
        """On a standby, as the op of a runner group: apply the leader's committed records
        (whole commits) as they arrive. Nothing is journaled: the runner's group around
        this ends with nothing of its own."""
        self._grouping = False
        try:
            return self.apply_records(records)
        finally:
            self._grouping = True

    def _replay_release(self, r: LogRecord) -> None:
        line_id, group, _ = codec.loads(r.body)
        self._release(line_id, group)

    def _replay_import(self, r: LogRecord) -> None:
        self._import(*move.decode_import(r.body))

    def _replay_leader(self, r: LogRecord) -> None:
        """A takeover's mark (see jis.ha): the new leader's first record, nothing to apply."""
        self.last_at = max(self.last_at, r.at)

    def _replay_group(self, at: int) -> None:
        self._grouping = True
        self._group_marked = True

    def _replay_eval(self, at: int) -> None:
        self.last_at = max(self.last_at, at)
        self._flush()
        self._grouping = False

    def _replay_batch(self, r: LogRecord) -> None:
        cause, *bodies = r.body.split(b"\n")
        self.publish_batch([codec.decode_broadcast(x) for x in bodies], r.at, cause=int(cause))

    def _replay_retain(self, r: LogRecord) -> None:
        self.last_at = max(self.last_at, r.at)
        self._retain(struct.unpack("<q", r.body)[0], r.at)

    def _replay_desadv(self, r: LogRecord) -> None:
        self.desadv_issued = struct.unpack("<q", r.body)[0]
        self._journal("desadv", r.at, r.body)

    def _replay_move(self, r: LogRecord) -> None:
        rack_id, stage, when = codec.loads(r.body)
        self.move_rack(rack_id, stage, when, r.at)

    def _replay_yard(self, r: LogRecord) -> None:
        appointment_id, kind, when = codec.loads(r.body)
        self.yard_event(appointment_id, kind, when, r.at)

    def _replay_eta(self, r: LogRecord) -> None:
        rack_id, eta = codec.loads(r.body)
        self.update_rack_eta(rack_id, eta, r.at)

    def _evaluate(self, scopes: Iterable[Scope], at: int) -> None:
        scopes = set(scopes)
        if not scopes:
            return
        if self._grouping:
            if not self._group_marked:  # precedes the input's own record in the log
                self._journal("group", at, b"")
                self._group_marked = True
            self._pending |= scopes
            return
        for scope in sorted(scopes):
            self.evaluator.evaluate(scope, at)

    # -- commit groups -----------------------------------------------------------------

    def begin_group(self) -> None:
        """The runner applies the requests waiting together and commits them once; the
        scopes they touch are evaluated once per group (at its last input's time), not once
        per input. The log marks where that happened ("group" ... "eval"), so replay
        evaluates at the same points; a log without marks evaluates after every input."""
        self._grouping = True

    def end_group(self) -> None:
        self.evaluate_group(self.close_group())

    def close_group(self) -> GroupEval | None:
        """The first half of :meth:`end_group`: ends the group and journals its "eval" mark,
        the last record the group appends; returns what :meth:`evaluate_group` evaluates.
        That second half changes only the state in memory, so the group's commit can run
        meanwhile (the mark says where replay evaluates, not what came of it)."""
        self._grouping = False
        return self._seal()

    def evaluate_group(self, work: GroupEval | None) -> None:
        """The second half of :meth:`end_group`: the group's touched scopes, evaluated once."""
        if work is not None:
            scopes, at = work
            for scope in scopes:
                self.evaluator.evaluate(scope, at)

    def _seal(self) -> GroupEval | None:
        pending, self._pending = self._pending, set()
        if not self._group_marked:
            return None
        self._group_marked = False
        self._journal("eval", self.last_at, b"")
        return sorted(pending), self.last_at

    def _flush(self) -> None:
        self.evaluate_group(self._seal())

    # -- time --------------------------------------------------------------------------

    def advance(self, at: int) -> None:
        """Raise and resolve what time alone changes, up to ``at``. Not journaled: replay
        reaches the same moments from the journaled inputs' times. Scopes still waiting for
        their group's evaluation are evaluated first when a deadline is due, so every
        time-driven break still happens at its own moment."""
        if self._pending and self.evaluator.next_deadline() <= at:
            self._flush()
        self.evaluator.advance(at)

    def next_deadline(self) -> int:
        return self.evaluator.next_deadline()

    def _begin(self, at: int, cause: int | None = None) -> None:
        """Before applying an input at ``at``: let time-driven breaks due by then happen,
        then note when the input's event happened (what its breaks are detected from)."""
        self.advance(at)
        self.book.cause_at = at if cause is None else cause

    def retain(self, now: int) -> None:
        """Drop from memory the history older than the retention, once the cutoff has moved
        a step and something is that old: build-sequence changes (gone), and with a store,
        resolved breaks, vehicles, slots, racks and appointments that are history, and KPI
        facts (to the store's archive, in this group's commit). Journaled with its cutoff,
        so replay drops exactly the same whatever the retention of the process that replays."""
        cutoff = now - self.retain_ns
        if not self.retain_ns or cutoff < self.retained_to + self.RETAIN_STEP:
            return
        if now < self._looked_at + self.LOOK_STEP:
            return
        if not (self.feed.older(cutoff) or (self.store is not None and self._history_before(cutoff))):
            self._looked_at = now
            return
        self._journal("retain", now, struct.pack("<q", cutoff), inputs=0)
        self._retain(cutoff, now)

    def _history_before(self, cutoff: int) -> bool:
        """Whether anything the archive takes is older than ``cutoff`` (a vehicle that left
        the sequence may still be held by a slot or rack: then it is looked at again at
        the next step)."""
        if self.book.older(cutoff):  # its history rows go with it
            return True
        k = self.kpis
        if (len(k.deliveries) and k.deliveries.col("at").min() < cutoff) or (
            len(k.leads) and k.leads.col("at").min() < cutoff
        ):
            return True
        v = self.seq.vehicles.col
        state = v("state")
        gone = (state == VehicleState.INSTALLED) | (state == VehicleState.CANCELLED)
        return bool(np.any(gone & (v("left_at") < cutoff)))

    def _retain(self, cutoff: int, at: int) -> None:
        self.evaluator.forget_gauges()
        self.feed.compact(cutoff)
        for line in self.seq.lines.values():
            line.ledger.forget(at, cutoff)
        if self.store is not None:  # without a store, nowhere to keep them: they stay
            collect = not self._replaying  # replay: the archive has them since that commit
            old = self.book.archive(cutoff)
            if old and collect:
                self.store.archive_breaks(
                    [
                        ArchivedBreak(
                            int(b.break_id[1:]),
                            cast(int, b.resolved_at),
                            b.line_id,
                            b.supplier_id,
                            int(b.type),
                            codec.encode_break(b),
                        )
                        for b in old
                    ]
                )
            facts = self.kpis.take_older(cutoff)
            facts["breaks"] = self.book.archive_history(cutoff)
            dropped = compact.compact(self, cutoff, collect)
            if dropped is not None:
                sysmem.trim()  # the tables were rebuilt: the old ones' memory goes back
            if collect:
                if dropped is not None:
                    facts.update(dropped.facts)
                    store = self.store
                    store.archive_items(
                        "vehicle", [(x.vehicle_id, codec.encode_vehicle(x)) for x in dropped.vehicles]
                    )
                    store.archive_items("rack", [(x.rack_id, codec.encode_rack(x)) for x in dropped.racks])
                    store.archive_items(
                        "appointment",
                        [
                            (x.spec.appointment_id, codec.encode_appointment_view(x))
                            for x in dropped.appointments
                        ],
                    )
                for kind, cols in facts.items():
                    if len(next(iter(cols.values()))):
                        self.store.archive_facts(kind, fact_span(kind, cols), encode_facts(kind, cols))
        self.retained_to = cutoff

    # -- moving a line between groups (jis.engine.move) ---------------------------------

    def release_line(self, line_id: str, group: str, at: int) -> None:
        """Take the line's state out of this engine, as it moves to ``group``: journaled
        "release", after which its inputs are refused as UNAVAILABLE (sent to ``group``).
        A line assigned but never configured here is released all the same (nothing
        moves). FAILED_PRECONDITION, changing nothing, if the line is tied to another (see
        :func:`compact.release_line`); UNAVAILABLE while changes are still to be sent to
        watchers (the rows they name are about to go): the mover tries again."""
        if self.feed.undrained():
            raise Unavailable("line_id", f"changes are still being sent; line {line_id!r} is released after")
        self._flush()
        self._release(line_id, group)
        # with the newest build-sequence cursor issued here: the receiving group issues none below it
        self._journal("release", at, codec.dumps([line_id, group, self.feed.head]), inputs=0)

    def _release(self, line_id: str, group: str) -> None:
        self.evaluator.forget_gauges()
        compact.release_line(self, line_id)
        self.seq.moved_out[line_id] = group
        if self.store is not None and self.retained_to:
            self.seq.archived_to[line_id] = self.retained_to

    def import_line(
        self, line_id: str, source: str, records: list[LogRecord], at: int, source_head: int = 0
    ) -> None:
        """Take in the state of a line another group released: its records (see
        :func:`jis.engine.move.line_records`), journaled as one "import" record and applied
        at their own engine times, then this engine's clock brought back to now."""
        if line_id in self.seq.lines:
            raise FailedPrecondition("line_id", f"line {line_id!r} is already configured in this group")
        if self.feed.undrained():
            raise Unavailable("line_id", f"changes are still being sent; line {line_id!r} is taken in after")
        self._flush()
        self._journal("import", at, move.encode_import(line_id, source, records, source_head), inputs=0)
        self._import(line_id, source, records, source_head)

    def _import(self, line_id: str, source: str, records: list[LogRecord], source_head: int) -> None:
        self.evaluator.forget_gauges()
        self.seq.moved_out.pop(line_id, None)
        now, grouping, replaying = self.last_at, self._grouping, self._replaying
        # The records' evaluation points are at their own times: an "eval" mark evaluates at
        # the engine's last time, which runs on the records' timeline meanwhile.
        self.last_at, self._grouping = 0, False
        try:
            self.apply_records(records)
        finally:
            self._replaying = replaying
            self._grouping = grouping
            self.last_at = max(now, self.last_at)
        self.advance(self.last_at)  # the line's deadlines since its last record, each at its moment
        archived = self.seq.archived_to.pop(line_id, 0)
        if archived:  # the line was here before: its history up to then is in the archive already
            compact.forget_line_history(self, line_id, archived)
        # Cursors from here on are above any the other group issued: a supplier's cursor of
        # the line from there is refused (OUT_OF_RANGE, read again), never read as one of ours.
        self.feed.skip_to(max(self.feed.head, source_head), self.last_at)

    def _archived(self, kind: str, ident: str) -> bytes | None:
        """The archived view of ``ident`` (kind "vehicle", "rack", "appointment"), if any."""
        if self.store is None or not self.retained_to:
            return None
        return self.store.archived_item(kind, ident)

    def tick(self, at: int) -> None:
        """The clock was set to ``at`` (test mode): journal it, so a restart resumes there."""
        self.advance(at)
        self._journal("clock", at, b"")

    # -- lines and broadcasts ----------------------------------------------------------

    def configure_line(self, cfg: LineConfig, at: int) -> LineView:
        self._begin(at)
        view = self.seq.configure_line(cfg, at)
        self.evaluator.forget_gauges()  # a takt changes every coverage of the line
        line = self.seq.lines[cfg.line_id]
        self.evaluator.check_silence(line.code, at)
        self._journal("line", at, codec.encode_line(cfg))
        return view

    def _apply_broadcast(
        self, b: Broadcast, at: int, scopes: set[Scope], digest: int | None = None, record: bool = True
    ) -> tuple[PublishResult, bytes]:
        """Apply one message without evaluating; adds the scopes to re-evaluate to ``scopes``.
        ``digest`` and ``record``: as for :meth:`SequenceState.publish`."""
        result, body, touched = self.seq.publish(b, at, digest, record)
        if touched is not None:
            self.feed.record(touched, at)
            scopes.update((touched.line, s, g) for s, g in touched.scopes)
            if touched.action == Action.INSTALLED:
                scopes |= self.supply.consume(touched.vehicle)
        return result, body

    def publish(self, b: Broadcast, at: int) -> PublishResult:
        self._begin(at, b.event_time)
        scopes: set[Scope] = set()
        result, body = self._apply_broadcast(b, at, scopes)
        self._evaluate(scopes, at)
        self.evaluator.heard(self.seq.lines[b.line_id].code, at)
        self._journal("broadcast", at, body)
        return result

    def publish_batch(
        self, batch: Sequence[Broadcast | DomainError], at: int, runs: bool = True, cause: int | None = None
    ) -> list[PublishResult | DomainError]:
        """Apply each message on its own, in order; a refused one changes nothing.

        The scopes the batch touched are evaluated once, after its last message (they all
        share one engine time), so a batch costs one re-match per scope, not one per
        message; the accepted messages are journaled as one record so that replay does the
        same. Entries that are already errors (refused at conversion) pass through. Breaks
        the batch raises are detected from its earliest message's event time (``cause``:
        that time, given by replay, whose record holds only the accepted messages).

        A batch of at least ``bulk.MIN_RUN`` messages is packed as columns and applied by
        :meth:`publish_columns`, whose array runs mean exactly what the messages mean one
        by one (journaled as its columns record); its results then carry the line's
        highest call_no after the whole batch. ``runs=False`` applies every message on the
        per-message path (what the differential tests compare the runs against).
        """
        messages = [b for b in batch if isinstance(b, Broadcast)]
        packed = PackedBroadcasts.of(messages) if runs and len(messages) >= bulk.MIN_RUN else None
        if packed is None:
            return self._publish_each(batch, at, cause)
        outcome = self.publish_columns(packed, at, cause)
        out: list[PublishResult | DomainError] = []
        i = 0
        for b in batch:
            if not isinstance(b, Broadcast):
                out.append(b)
                continue
            error = outcome.errors.get(i)
            if error is None:
                highest = self.seq.lines[b.line_id].ledger.highest
                out.append(
                    PublishResult(Disposition(int(outcome.disposition[i])), b.line_id, b.call_no, highest)
                )
            else:
                out.append(error)
            i += 1
        return out

    def _publish_each(
        self, batch: Sequence[Broadcast | DomainError], at: int, cause: int | None
    ) -> list[PublishResult | DomainError]:
        if cause is None:
            times = [b.event_time for b in batch if isinstance(b, Broadcast) and b.event_time is not None]
            cause = min(times, default=at)
        self._begin(at, cause)
        out: list[PublishResult | DomainError] = []
        scopes: set[Scope] = set()
        bodies: list[bytes] = []
        heard: set[int] = set()
        for b in batch:
            if isinstance(b, DomainError):
                out.append(b)
                continue
            try:
                result, body = self._apply_broadcast(b, at, scopes)
            except DomainError as exc:
                out.append(exc)
                continue
            out.append(result)
            bodies.append(body)
            heard.add(self.seq.lines[b.line_id].code)
        self._evaluate(scopes, at)
        for line in sorted(heard):
            self.evaluator.heard(line, at)
        if bodies:  # with the batch's cause: a refused message may have had the earliest event time
            self._journal("batch-from", at, b"\n".join([b"%d" % cause, *bodies]), inputs=len(bodies))
        return out

    def publish_columns(self, p: PackedBroadcasts, at: int, cause: int | None = None) -> ColumnsOutcome:
        """Apply packed messages in order, each on its own, exactly as :meth:`publish_batch`
        would: runs of plain messages as array operations (:mod:`jis.engine.bulk`), any
        other message on the per-message path. Journaled as one record of the columns,
        which replay applies the same way. ``cause``: as for :meth:`publish_batch`."""
        n = len(p)
        if cause is None:
            times = p.event_time[p.event_time != NO_TIME]
            cause = int(times.min()) if len(times) else at
        self._begin(at, cause)
        disposition = np.zeros(n, np.int8)
        errors: dict[int, DomainError] = {}
        scopes: set[Scope] = set()
        heard: set[int] = set()
        digests = p.digests()
        i, window, backoff, skip_until = 0, bulk.WINDOW, 1, 0
        while i < n:
            plan = bulk.plan_run(self.seq, p, i, window) if i >= skip_until else None
            if plan is not None:
                length = plan.hi - plan.lo
                window = (
                    bulk.WINDOW if length == window else min(bulk.WINDOW, max(bulk.MIN_WINDOW, 2 * length))
                )
                run = bulk.apply_run(self.seq, p, plan, digests, at)
                scopes |= self.feed.record_run(run, at)
                installed = run.rows[run.action == Action.INSTALLED]
                for row in installed[self.seq.vehicles.col("first_slot")[installed] >= 0].tolist():
                    scopes |= self.supply.consume(row)
                disposition[plan.lo : plan.hi] = Disposition.APPLIED
                heard.add(plan.line.code)
                i = plan.hi
                if length >= bulk.MIN_RUN:
                    backoff = 1
                else:  # runs are short here: take the next messages one by one before looking again
                    skip_until, backoff = i + backoff, min(bulk.MAX_BACKOFF, 2 * backoff)
                continue
            if i >= skip_until:
                skip_until, backoff = i + backoff, min(bulk.MAX_BACKOFF, 2 * backoff)
            try:
                # digested with the others already; journaled as part of the columns
                result, _ = self._apply_broadcast(p.message(i), at, scopes, int(digests[i]), record=False)
            except DomainError as exc:
                errors[i] = exc
                disposition[i] = Disposition.REJECTED
            else:
                disposition[i] = result.disposition
                heard.add(self.seq.lines[result.line_id].code)
            i += 1
        self._evaluate(scopes, at)
        for line in sorted(heard):
            self.evaluator.heard(line, at)
        if heard:
            self._journal("columns", at, p.encode(), inputs=n - len(errors))
        return ColumnsOutcome(disposition, errors)

    # -- supplier side -----------------------------------------------------------------

    def configure_supplier(self, cfg: SupplierConfig, at: int) -> SupplierConfig:
        self._begin(at)
        code = self.supply.configure_supplier(cfg)
        self._evaluate(self.evaluator.scopes_of_supplier(code), at)
        self._journal("supplier", at, codec.encode_supplier(cfg))
        return cfg

    def report_build(self, b: BuildReport, at: int) -> SlotView:
        self._begin(at, b.built_at)
        b = BuildReport(
            b.supplier_id,
            b.group,
            b.line_id,
            b.vehicle_id,
            b.part_number,
            at if b.built_at is None else b.built_at,
        )
        row, scope = self.supply.report_build(b, at)
        self._evaluate([scope], at)
        self._journal("build", at, codec.encode_build(b))
        return self.supply.slot_view(row)

    def dispatch_rack(self, d: RackDispatch, at: int) -> RackView:
        self._begin(at, d.dispatched_at)
        if d.dispatched_at is None:
            d = RackDispatch(d.rack_id, d.supplier_id, d.group, d.line_id, d.capacity, d.slots, d.eta, at)
        _, scope = self.supply.dispatch(d, at)
        self._evaluate([scope], at)
        self._journal("dispatch", at, codec.encode_dispatch(d))
        return self.supply.rack_view(d.rack_id)

    def move_rack(self, rack_id: str, stage: int, when: int | None, at: int) -> RackView:
        self._begin(at, when)
        when = at if when is None else when
        arrived = self.supply.arrived_at(rack_id)
        rack, scope = self.supply.move(rack_id, stage, when)
        self._evaluate([scope], at)
        if arrived is None and stage != RackStage.RETURNED:
            self.kpis.delivered(rack, scope, when)
        self._journal("move", at, codec.dumps([rack_id, stage, when]))
        return self.supply.rack_view(rack_id)

    def update_rack_eta(self, rack_id: str, eta: int, at: int) -> RackView:
        self._begin(at)
        _, scope = self.supply.update_eta(rack_id, eta)
        self._evaluate([scope], at)
        self._journal("eta", at, codec.dumps([rack_id, eta]))
        return self.supply.rack_view(rack_id)

    def number_desadv(self, at: int) -> int:
        """The next DESADV interchange's number (1, 2, ...), journaled: an export is a write."""
        self.desadv_issued += 1
        self._journal("desadv", at, struct.pack("<q", self.desadv_issued))
        return self.desadv_issued

    # -- dock and yard -----------------------------------------------------------------

    def book_appointment(self, spec: AppointmentSpec, at: int) -> AppointmentView:
        self._begin(at)
        row = self.dock.book(spec, at)
        self._journal("appointment", at, codec.encode_appointment(spec))
        return self.dock.view(row, at)

    def change_appointment(self, spec: AppointmentSpec, at: int) -> AppointmentView:
        self._begin(at)
        row = self.dock.change(spec)
        self._journal("appointment_change", at, codec.encode_appointment(spec))
        return self.dock.view(row, at)

    def cancel_appointment(self, appointment_id: str, at: int) -> AppointmentView:
        self._begin(at)
        row = self.dock.cancel(appointment_id, at)
        self._journal("appointment_cancel", at, codec.dumps(appointment_id))
        return self.dock.view(row, at)

    def yard_event(self, appointment_id: str, kind: int, when: int | None, at: int) -> AppointmentView:
        """A trailer gated in, reached its door (its racks arrive at the dock) or was unloaded."""
        self._begin(at, when)
        when = at if when is None else when
        row, arrived = self.dock.event(appointment_id, kind, when)
        scopes = self.dock.scopes_of(arrived)
        self._evaluate(scopes, at)
        for rack, scope in zip(arrived, scopes, strict=True):
            self.kpis.delivered(rack, scope, when)
        self._journal("yard", at, codec.dumps([appointment_id, kind, when]))
        return self.dock.view(row, at)

    def appointment(self, appointment_id: str, at: int) -> AppointmentView:
        """An appointment in memory or, once retention archived it, as it was then."""
        try:
            return self.dock.view(self.dock.appointment(appointment_id), at)
        except NotFound:
            body = self._archived("appointment", appointment_id)
            if body is None:
                raise
            return codec.decode_appointment_view(body)

    def yard(self, at: int, start: int, stop: int, door: str = "") -> YardView:
        if start > stop:
            raise InvalidArgument("from", "after to")
        self.require_known(door=door)
        return self.dock.yard(at, start, stop, door)

    # -- queries -----------------------------------------------------------------------

    def stats(self, watchers: int = 0, build_watchers: int = 0, at: int | None = None) -> EngineStats:
        """What the metrics endpoint shows; computed on the engine thread at scrape time
        (``at``: engine time now, for the trailing KPI window)."""
        lines = {
            line_id: LineStats(
                highest_call_no=ls.ledger.highest,
                missing_calls=ls.ledger.missing,
                duplicates=ls.duplicates,
                active_vehicles=len(ls.seq_index),
                broadcast_lag_s=None if ls.last_lag_ns is None else ls.last_lag_ns / 1e9,
            )
            for line_id, ls in self.seq.lines.items()
        }
        breaks = {(line_id, kind.name): n for (line_id, kind), n in self.book.open_counts.items() if n}
        earliest = {(line_id, kind.name): t / 1e9 for (line_id, kind), t in self.book.earliest_need().items()}
        coverage = self.evaluator.coverage_gauges(
            {ln.code: ln.config.takt_ns for ln in self.seq.lines.values()}
        )
        now = self.last_at if at is None else at
        window = (now - KPI_WINDOW_S * 10**9, now + 1)
        if self.store is not None and window[0] < self.retained_to:  # the hour reaches the archive
            facts = self._facts(*window)
            deliveries = facts["deliveries"]
        else:
            deliveries = {k: self.kpis.deliveries.col(k) for k in FACT_COLUMNS["deliveries"]}
        ratios = supplier_delivery_ratios(deliveries, *window)
        supplier_kpis = {
            self.seq.supplier_ids.name(code): ratios.get(code, (None, None))
            for code in sorted(self.supply.suppliers)
        }
        return EngineStats(
            lines,
            breaks,
            earliest,
            watchers,
            coverage,
            supplier_kpis,
            build_watchers,
            engine_time_s=now / 1e9,
            state_rows=self.state_rows(),
            retained_to_s=self.retained_to / 1e9,
        )

    def state_rows(self) -> dict[str, int]:
        """Rows in memory per table (the metric jis_state_rows)."""
        return {
            "vehicles": len(self.seq.vehicles),
            "demand": len(self.seq.demand),
            "slots": len(self.supply.slots),
            "racks": len(self.supply.racks),
            "appointments": len(self.dock.appointments),
            "feed_events": len(self.feed.events),
            "open_breaks": len(self.book.open),
            "resolved_breaks": len(self.book.resolved),
            "break_history": len(self.book.history),
            "deliveries": len(self.kpis.deliveries),
            "lead_times": len(self.kpis.leads),
        }

    def vehicle(self, vehicle_id: str) -> VehicleView:
        """A vehicle in memory or, once retention archived it, as it was then."""
        try:
            return self.seq.vehicle_view(vehicle_id)
        except NotFound:
            body = self._archived("vehicle", vehicle_id)
            if body is None:
                raise
            return codec.decode_vehicle(body)

    def sequence(self, line_id: str, lo: int, hi: int, limit: int) -> tuple[list[VehicleView], bool]:
        return self.seq.sequence(line_id, lo, hi, limit)

    def line(self, line_id: str) -> LineView:
        return self.seq.line_view(line_id)

    def lines(self) -> list[LineView]:
        return [self.seq.line_view(line_id) for line_id in self.seq.lines]

    def _scope(self, line_id: str, supplier_id: str, group: str) -> Scope:
        """The scope's codes (-1 for a supplier or group never named); NOT_FOUND for a line
        that is not configured."""
        require_id("line_id", line_id)
        require_id("supplier_id", supplier_id)
        require_id("group", group)
        line = self.seq.lines.get(line_id)
        if line is None:
            raise NotFound("line_id", f"line {line_id!r} is not configured")
        return (line.code, self.seq.supplier_ids.get(supplier_id), self.seq.group_ids.get(group))

    def build_sequence(
        self, line_id: str, supplier_id: str, group: str, from_seq_no: int | None = None
    ) -> tuple[list[FeedEntry], int]:
        """E of a scope (from ``from_seq_no`` on) and the feed cursor it reflects."""
        scope = self._scope(line_id, supplier_id, group)
        dem = self.seq.scope_demand.get(scope)
        if dem is None:
            return [], self.feed.head
        v, d = self.seq.vehicles.col, self.seq.demand.col
        e_vehicle, e_part, e_need, _, e_row = matching.expected(
            dem.view(),
            d("vehicle"),
            d("part"),
            v("dem_off"),
            v("dem_len"),
            v("state"),
            v("seq_no"),
            v("need_time"),
        )
        seq_no = v("seq_no")[e_vehicle]
        keep = np.flatnonzero(seq_no >= from_seq_no) if from_seq_no is not None else np.arange(len(e_row))
        qty = d("quantity")[e_row]
        names, parts = self.seq.vehicle_ids, self.seq.part_numbers
        entries = [
            FeedEntry(
                names.name(int(e_vehicle[i])),
                int(seq_no[i]),
                parts.name(int(e_part[i])),
                int(qty[i]),
                None if e_need[i] == NO_TIME else int(e_need[i]),
            )
            for i in keep.tolist()
        ]
        return entries, self.feed.head

    def build_sequence_since(self, line_id: str, supplier_id: str, group: str, after: int) -> FeedBatch:
        """The scope's feed events after cursor ``after``; FAILED_PRECONDITION for a cursor
        this server never issued."""
        scope = self._scope(line_id, supplier_id, group)
        if not 0 <= after <= self.feed.head:
            raise FailedPrecondition(
                "after_cursor",
                f"cursor {after} was never issued here (the newest is {self.feed.head}); "
                "start again from 0 to get the whole sequence",
            )
        return self.feed.since(scope, after)

    def inventory(self, line_id: str, supplier_id: str = "", group: str = "") -> list[ScopeInventory]:
        """Per scope of the line (optionally one supplier's, one group's): slots per stage
        and coverage, now."""
        require_id("line_id", line_id)
        self.require_known(line_id)
        line = self.seq.lines[line_id]
        sup = self.seq.supplier_ids.get(supplier_id) if supplier_id else -1
        grp = self.seq.group_ids.get(group) if group else -1
        if (supplier_id and sup < 0) or (group and grp < 0):
            return []
        scopes = inventory.scopes_of_line(self.evaluator, line.code, sup, grp)
        return [inventory.scope_inventory(self.evaluator, s, line.config.takt_ns) for s in scopes]

    DEMAND_MAX_WINDOW_NS = 31 * 86_400 * 10**9
    DEMAND_MIN_BUCKET_NS = 60 * 10**9
    DEMAND_MAX_BUCKETS = 1_000
    DEMAND_DENSE_KEYS = 1 << 22
    """Up to this many possible (line, group, part, bucket) keys, demand is counted in an
    array of them all; beyond, the keys present are sorted first."""

    def demand(
        self,
        supplier_id: str,
        line_id: str,
        group: str,
        start: int,
        stop: int,
        bucket: int,
        now: int,
        since: int | None = None,
    ) -> DemandTable:
        """A supplier's summarized demand: per line, group, part number and bucket of need
        time in [start, stop), the quantity the expected sequence needs, how much of it a
        slot of the right part covers already, and how much is inside the line's frozen
        window at ``now``; with ``since``, what the broadcasts applied since then did to
        each bucket (see :func:`jis.engine.feed.churn`). Rows by line, group and part. Each
        scope's E and S matched as its evaluation does; the sums are one numpy pass."""
        require_id("supplier_id", supplier_id)
        if line_id:
            self.require_known(line_id)
        if stop <= start:
            raise InvalidArgument("to", "must be after from")
        if stop - start > self.DEMAND_MAX_WINDOW_NS:
            raise InvalidArgument("to", "at most 31 days after from")
        if not self.DEMAND_MIN_BUCKET_NS <= bucket <= stop - start:
            raise InvalidArgument("bucket", "at least 1 minute and at most the window")
        n_b = (stop - start + bucket - 1) // bucket
        if n_b > self.DEMAND_MAX_BUCKETS:
            raise InvalidArgument("bucket", f"at most {self.DEMAND_MAX_BUCKETS:,} buckets in the window")
        if since is not None and since < self.feed.kept_since():
            raise OutOfRange(
                "changes_since",
                f"changes before {self.feed.kept_since()} ns are no longer kept (the retention)",
            )
        seq = self.seq
        sup = seq.supplier_ids.get(supplier_id)
        grp = seq.group_ids.get(group) if group else -1
        if sup < 0 or (group and grp < 0):
            return DemandTable.empty(n_b, since is not None)
        lines = {seq.lines[line_id].code} if line_id else {ln.code for ln in seq.lines.values()}
        known = set(seq.scope_demand) | set(self.supply.scope_slots)
        scopes = sorted(k for k in known if k[1] == sup and grp in (-1, k[2]) and k[0] in lines)
        frozen_of = {ln.code: ln.config.frozen_ns for ln in seq.lines.values()}
        # each scope's E with its match flags, gathered; everything else in one pass over all
        needs, parts, rows, flags, lengths = [], [], [], [], []
        for scope in scopes:
            m = self.evaluator.match(scope)
            needs.append(m.e_need)
            parts.append(m.e_part)
            rows.append(m.e_row)
            flags.append(m.e_flags)
            lengths.append(len(m.e_need))
        i64 = np.zeros(0, np.int64)
        n = np.array(lengths, np.int64)
        need = np.concatenate([i64, *needs])
        inside = np.flatnonzero((need >= start) & (need < stop))
        need = need[inside]
        line_c = np.repeat(np.array([sc[0] for sc in scopes], np.int64), n)[inside]
        group_c = np.repeat(np.array([sc[2] for sc in scopes], np.int64), n)[inside]
        part_c = np.concatenate([i64, *parts]).astype(np.int64)[inside]
        qty = seq.demand.col("quantity")[np.concatenate([i64, *rows])[inside]].astype(np.int64)
        right = (np.concatenate([np.zeros(0, np.uint8), *flags])[inside] & matching.RIGHT) != 0
        frozen_ns = np.repeat(np.array([frozen_of[sc[0]] for sc in scopes], np.int64), n)[inside]
        frozen = need - frozen_ns <= now
        weights = [qty, qty * right, qty * frozen]
        if since is not None:  # what changes since then did, entries of their own (no quantity)
            c_line, c_group, c_part, c_need, up, down = self.feed.churn(sup, grp, lines, since)
            keep = (c_need >= start) & (c_need < stop)
            line_c, group_c, part_c, need = (
                np.concatenate([a, b[keep]]) for a, b in ((line_c, c_line), (group_c, c_group),
                                                            (part_c, c_part), (need, c_need))
            )  # fmt: skip
            zeros = np.zeros(int(keep.sum()), np.int64)
            weights = [np.concatenate([w, zeros]) for w in weights]
            none = np.zeros(len(qty), np.int64)
            weights += [np.concatenate([none, up[keep]]), np.concatenate([none, down[keep]])]
        if not len(need):
            return DemandTable.empty(n_b, since is not None)
        # one key per (line, group, part, bucket), in the order of their names: by rank
        names = (seq.line_ids.names(), seq.group_ids.names(), seq.part_numbers.names())
        order = [np.argsort(np.array(x, dtype=object), kind="stable") for x in names]
        rank = []
        for o in order:
            r = np.empty(len(o), np.int64)
            r[o] = np.arange(len(o))
            rank.append(r)
        n_l, n_p = len(names[0]), len(names[2])
        # the (group, part) pairs present, numbered in name order (parts belong to few groups)
        pair = rank[1][group_c] * n_p + rank[2][part_c]
        pairs = np.flatnonzero(np.bincount(pair, minlength=len(names[1]) * n_p))
        pair_no = np.zeros(len(names[1]) * n_p, np.int64)
        pair_no[pairs] = np.arange(len(pairs))
        n_pairs = len(pairs)
        key = (rank[0][line_c] * n_pairs + pair_no[pair]) * n_b + (need - start) // bucket
        size = n_l * n_pairs * n_b
        dense = size <= max(self.DEMAND_DENSE_KEYS, 4 * len(key))
        keys, sums = sum_by_key(key, size, weights, dense)
        # rows: the (line, group, part) of each key, in order; columns: its bucket
        row_keys, row = np.unique(keys // n_b, return_inverse=True)
        tables = []
        for x in sums:
            t = np.zeros((len(row_keys), n_b), np.int64)
            t[row, keys % n_b] = x
            tables.append(t)
        gp, ln = pairs[row_keys % n_pairs], row_keys // n_pairs
        objects = [np.array(x, dtype=object) for x in names]
        return DemandTable(
            objects[0][order[0][ln]].tolist(),
            objects[1][order[1][gp // n_p]].tolist(),
            objects[2][order[2][gp % n_p]].tolist(),
            *tables,
        )

    def kpi_report(self, line_id: str, supplier_id: str, start: int, stop: int) -> Kpis:
        """KPIs over [start, stop) for a line and/or supplier ("" : all)."""
        if start > stop:
            raise InvalidArgument("from", "after to")
        self.require_known(line_id)
        return self._kpis(self._facts(start, stop), line_id, supplier_id, start, stop)

    def _facts(self, start: int, stop: int) -> Facts:
        """The KPI facts in memory, and the archived ones when [start, stop) reaches them."""
        facts = self.kpis.facts(self.book, self.dock)
        if self.store is not None and start < self.retained_to:  # older facts are archived
            for kind in FACT_COLUMNS:
                archived = [decode_facts(kind, b) for b in self.store.archived_facts(kind, start, stop)]
                facts[kind] = joined([*archived, facts[kind]], kind)
        return facts

    def _kpis(self, facts: Facts, line_id: str, supplier_id: str, start: int, stop: int) -> Kpis:
        def code(name: str, interner: Interner) -> int:
            if not name:
                return -1
            c = interner.get(name)
            return c if c >= 0 else -2  # never seen: matches nothing

        return kpis(
            facts,
            code(line_id, self.seq.line_ids),
            code(supplier_id, self.seq.supplier_ids),
            start,
            stop,
            code(line_id, self.book.line_ids),
            code(supplier_id, self.book.supplier_ids),
        )

    def owner(self, kind: str, ident: str) -> str:
        """The supplier a rack (``kind`` "rack_id") or appointment ("appointment_id") belongs to."""
        if kind == "rack_id":  # its supplier column; the view only for an archived one
            row = self.supply.rack_ids.get(ident)
            if row < 0:
                return self.rack(ident).supplier_id
            return self.seq.supplier_ids.name(int(self.supply.racks.col("supplier")[row]))
        row = self.dock.ids.get(ident)
        if row < 0:
            return self.appointment(ident, self.last_at).spec.supplier_id
        return self.seq.supplier_ids.name(int(self.dock.appointments.col("supplier")[row]))

    def rack(self, rack_id: str) -> RackView:
        """A rack in memory or, once retention archived it, as it was then."""
        try:
            return self.supply.rack_view(rack_id)
        except NotFound:
            body = self._archived("rack", rack_id)
            if body is None:
                raise
            return codec.decode_rack(body)

    def require_known(self, line_id: str = "", door: str = "") -> None:
        """NOT_FOUND for a line or door filter naming what this engine never saw (empty: no
        filter), the same way for every read. A supplier or group filter is not refused: a
        supplier may hold credentials before it has any data, and its reads are then empty."""
        if line_id and line_id not in self.seq.lines:
            self.seq.require_here(line_id)
            raise NotFound("line_id", f"line {line_id!r} is not configured")
        if door and self.dock.doors.get(door) < 0:
            raise NotFound("door", f"no appointment was ever booked at door {door!r}")

    def open_breaks(
        self, line_id: str = "", supplier_id: str = "", types: frozenset[BreakType] = frozenset()
    ) -> list[SequenceBreak]:
        """Open breaks matching the filter, most urgent first (alerts.breaks.open_order)."""
        self.require_known(line_id)
        found = [b for b in self.book.open.values() if matches(b, line_id, supplier_id, types)]
        return sorted(found, key=open_order)

    def resolved_breaks(
        self,
        start: int,
        stop: int,
        line_id: str = "",
        supplier_id: str = "",
        types: frozenset[BreakType] = frozenset(),
    ) -> list[SequenceBreak]:
        """Breaks resolved in [start, stop), by resolution time (archived ones included)."""
        out: list[SequenceBreak] = []
        after: tuple[int, ...] | None = None
        while True:
            page, after = self.break_page(line_id, supplier_id, types, (start, stop), after, 10_000)
            out += page
            if after is None:
                return out

    def break_page(
        self,
        line_id: str,
        supplier_id: str,
        types: frozenset[BreakType],
        window: tuple[int, int] | None,
        after: tuple[int, ...] | None,
        limit: int,
    ) -> tuple[list[SequenceBreak], tuple[int, ...] | None]:
        """Up to ``limit`` open breaks (``window`` None) or breaks resolved in [start, stop)
        matching the filter, the first after the sort key ``after`` (alerts.breaks.open_order,
        resolved_order); and the key to continue after (None: nothing more)."""
        self.require_known(line_id)
        pool: Iterable[SequenceBreak]
        found: list[SequenceBreak] = []
        if window is None:
            pool, order = self.book.open.values(), open_order
        else:
            start, stop = window
            if start > stop:
                raise InvalidArgument("resolved_from", "after resolved_to")
            pool = (
                b for b in self.book.resolved if b.resolved_at is not None and start <= b.resolved_at < stop
            )
            order = resolved_order  # type: ignore[assignment]
            if self.store is not None and start < self.retained_to:  # older ones are archived
                query = BreakQuery(start, stop, line_id, supplier_id, tuple(sorted(int(t) for t in types)))
                key = None if after is None else (after[0], after[1])
                found = [codec.decode_break(x) for x in self.store.archived_breaks(query, key, limit + 1)]
        found += [b for b in pool if matches(b, line_id, supplier_id, types)]
        if after is not None:
            found = [b for b in found if order(b) > after]
        page = heapq.nsmallest(limit + 1, found, key=order)
        if len(page) > limit:
            return page[:limit], order(page[limit - 1])
        return page, None
