"""The build-sequence feed: every change to a (line, supplier, group)'s expected sequence.

A supplier plant builds in the order of E, the expected sequence. It keeps a stream open and needs,
after the sequence from its horizon on, every change as it happens: vehicle added,
part list changed or moved, pulled, re-inserted, cancelled, installed. Each applied
broadcast appends one event per scope it changed to one columnar log; an event's
**cursor** is its position in that log (1, 2, 3 ...), kept when events older than the
retention are dropped from the front. Cursors are global and increase with every event,
so a scope's events have increasing (not consecutive) cursors. Replay applies the
same broadcasts in the same order, so a restart rebuilds the same cursors: a client
resumes after the last cursor it saw, with nothing lost and nothing repeated.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from jis.columns import Interner, Table
from jis.engine.bulk import RunTouched, first_use
from jis.engine.model import NO_TIME, Action, VehicleState
from jis.engine.sequence import SequenceState, Touched
from jis.errors import OutOfRange
from jis.kernels.runs import run_rows

Scope = tuple[int, int, int]

FEED_COLUMNS = {
    "scope": np.int32,  # feed scope code (see BuildFeed.scope_keys)
    "kind": np.int8,  # FeedKind
    "vehicle": np.int32,
    "seq_no": np.int64,  # the vehicle's seq_no now, or the last one it held
    "part": np.int32,
    "quantity": np.int32,
    "need_time": np.int64,
    "prev_seq_no": np.int64,  # NO_TIME: none (the vehicle was not active before)
    "prev_part": np.int32,  # -1: none (the vehicle did not need this scope before)
    "call_no": np.int64,
    "at": np.int64,  # engine time the broadcast was applied
}
"""An event's columns, as drained and as read back."""

MESSAGE_COLUMNS = ("vehicle", "seq_no", "need_time", "prev_seq_no", "call_no", "at")
"""The columns all events of one broadcast share: stored once per broadcast (a table of
its own), not once per event (an ADD of 10 parts makes 10 events)."""
_EVENT_COLUMNS = {k: dt for k, dt in FEED_COLUMNS.items() if k not in MESSAGE_COLUMNS} | {
    "message": np.int64  # row of the broadcast in the message table
}
_MESSAGE_COLUMNS = {k: FEED_COLUMNS[k] for k in MESSAGE_COLUMNS}


class FeedKind(enum.IntEnum):
    ADDED = 1
    """The vehicle now needs this part and is in the sequence (ADD, or CHANGE adding the group)."""
    CHANGED = 2
    """Variant, quantity, seq_no or need_time changed (CHANGE)."""
    REMOVED = 3
    """The vehicle no longer needs this supplier and group (CHANGE or REINSERT dropping it)."""
    PULLED = 4
    REINSERTED = 5
    CANCELLED = 6
    INSTALLED = 7


_CHURN = np.array(
    [
        int(k)
        for k in (
            FeedKind.CHANGED,
            FeedKind.REMOVED,
            FeedKind.PULLED,
            FeedKind.REINSERTED,
            FeedKind.CANCELLED,
        )
    ]
)
"""The kinds of event that change a supplier's plan (see BuildFeed.churn)."""

_LEAVES = {
    Action.PULL: FeedKind.PULLED,
    Action.CANCEL: FeedKind.CANCELLED,
    Action.INSTALLED: FeedKind.INSTALLED,
}


_ACTIVE = int(VehicleState.ACTIVE)
_ADD, _REINSERT = int(Action.ADD), int(Action.REINSERT)
_ADDED, _CHANGED, _REMOVED, _REINSERTED = (
    int(FeedKind.ADDED),
    int(FeedKind.CHANGED),
    int(FeedKind.REMOVED),
    int(FeedKind.REINSERTED),
)

_RUN_KINDS = np.zeros(8, np.int8)
"""Feed kind by action, for the actions of a run."""
_RUN_KINDS[Action.ADD] = FeedKind.ADDED
for _action, _kind in _LEAVES.items():
    _RUN_KINDS[_action] = _kind


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One vehicle of a build sequence, or the subject of a feed event."""

    vehicle_id: str
    seq_no: int
    part_number: str
    quantity: int
    need_time: int | None


@dataclass(frozen=True, slots=True)
class FeedEvent:
    cursor: int
    line_id: str
    supplier_id: str
    group: str
    kind: FeedKind
    entry: FeedEntry
    prev_seq_no: int | None
    prev_part_number: str
    call_no: int
    at: int


class _Drained(Mapping[str, npt.NDArray[np.generic]]):
    """FEED_COLUMNS of drained events, joined with their broadcasts' columns when first
    read (on the event loop, and only if a stream watches the feed). It holds read-only
    views of rows the engine has finished writing: the feed only appends, and a table
    that grows moves to new memory, leaving these arrays as they are."""

    def __init__(
        self, events: dict[str, npt.NDArray[np.generic]], messages: dict[str, npt.NDArray[np.generic]]
    ) -> None:
        self._events = events
        self._messages = messages
        self._joined: dict[str, npt.NDArray[np.generic]] = {}

    def __getitem__(self, key: str) -> npt.NDArray[np.generic]:
        col = self._joined.get(key)
        if col is None:
            if key in self._messages:
                col = self._messages[key][self._events["message"]]
            elif key in FEED_COLUMNS:
                col = self._events[key]
            else:
                raise KeyError(key)
            self._joined[key] = col
        return col

    def __iter__(self) -> Iterator[str]:
        return iter(FEED_COLUMNS)

    def __len__(self) -> int:
        return len(FEED_COLUMNS)


def _frozen(col: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    view = col.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """Feed rows that the event loop can read while the engine thread goes on appending:
    the rows drained after a commit, or a scope's rows since a cursor."""

    cursors: npt.NDArray[np.int64]
    """int64[n]: the cursor of each row."""
    columns: Mapping[str, npt.NDArray[np.generic]]
    """FEED_COLUMNS, each of length n."""
    names: FeedNames

    def __len__(self) -> int:
        return len(self.cursors)

    def events(self, rows: npt.NDArray[np.intp] | None = None) -> list[FeedEvent]:
        """The events at positions ``rows`` (intp[k]) of this batch; all if None."""
        pick = slice(None) if rows is None else rows
        cols = {k: v[pick].tolist() for k, v in self.columns.items()}
        cursors = self.cursors[pick].tolist()
        return [self.names.event(c, {k: v[i] for k, v in cols.items()}) for i, c in enumerate(cursors)]


@dataclass(frozen=True, slots=True)
class FeedNames:
    """The interners an event's codes resolve through. They only ever grow, so a code
    seen in a drained batch resolves from any thread."""

    scope_keys: list[Scope]
    lines: Interner
    suppliers: Interner
    groups: Interner
    vehicles: Interner
    parts: Interner

    def scope_names(self, code: int) -> tuple[str, str, str]:
        line, sup, grp = self.scope_keys[code]
        return self.lines.name(line), self.suppliers.name(sup), self.groups.name(grp)

    def event(self, cursor: int, row: dict[str, int]) -> FeedEvent:
        """One event from its row of plain ints."""
        line_id, supplier_id, group = self.scope_names(row["scope"])
        need, prev_seq, prev_part = row["need_time"], row["prev_seq_no"], row["prev_part"]
        parts = self.parts
        return FeedEvent(
            cursor=cursor,
            line_id=line_id,
            supplier_id=supplier_id,
            group=group,
            kind=FeedKind(row["kind"]),
            entry=FeedEntry(
                vehicle_id=self.vehicles.name(row["vehicle"]),
                seq_no=row["seq_no"],
                part_number=parts.name(row["part"]),
                quantity=row["quantity"],
                need_time=None if need == NO_TIME else need,
            ),
            prev_seq_no=None if prev_seq == NO_TIME else prev_seq,
            prev_part_number="" if prev_part < 0 else parts.name(prev_part),
            call_no=row["call_no"],
            at=row["at"],
        )


class BuildFeed:
    """The columnar log of build-sequence events, and the scope codes it uses."""

    def __init__(self, seq: SequenceState) -> None:
        self.seq = seq
        self.events = Table(_EVENT_COLUMNS)
        """One row per event kept (its cursor is base + its row + 1)."""
        self.messages = Table(_MESSAGE_COLUMNS)
        """One row per broadcast that made events."""
        self.scope_codes: dict[Scope, int] = {}
        self.scope_keys: list[Scope] = []
        self.base = 0
        """Events dropped from the front (:meth:`compact`): event row r has cursor base + r + 1."""
        self.dropped_before = 0
        """Engine time before which events may have been dropped (:meth:`kept_since`)."""
        self._drained = 0

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Events in a snapshot are state, not news: a restored feed has nothing to drain
        (recovery drains and drops them, which would copy every event ever recorded)."""
        self.__dict__.update(state)
        self.__dict__.setdefault("base", 0)
        self.__dict__.setdefault("dropped_before", 0)
        self._drained = len(self.events)

    @property
    def head(self) -> int:
        """The cursor of the newest event (0: none yet)."""
        return self.base + len(self.events)

    def kept_since(self) -> int:
        """Engine time from which every change is kept (0: all; older ones were dropped by
        retention)."""
        return self.dropped_before

    def churn(
        self, supplier: int, group: int, lines: set[int], since: int
    ) -> tuple[npt.NDArray[np.int64], ...]:
        """What the broadcasts applied since engine time ``since`` did to a supplier's
        demand (``group`` -1: every group; ``lines``: line codes), one entry per event: its
        line, group, part, need time, parts up and parts down. A change of variant moves the
        quantity down from the old part and up to the new one (two entries); a re-insert
        brings it up; a pull, a cancel, a removal take it down, of a vehicle that was in the
        sequence. New vehicles (ADD) and installs are not churn: they are the plan running."""
        ev, msg = self.events.col, self.messages.col
        message = ev("message")
        at = msg("at")[message]
        kind = ev("kind").astype(np.int64)
        churn = np.isin(kind, _CHURN) & (at >= since)
        changed = (kind == int(FeedKind.CHANGED)) & (ev("prev_part") != ev("part"))
        churn &= (kind != int(FeedKind.CHANGED)) | changed
        # only a vehicle in the sequence before can take demand down or change it (a pulled
        # one's left with its pull); a re-insert brings it back up
        was_active = msg("prev_seq_no")[message] != NO_TIME
        churn &= was_active | (kind == int(FeedKind.REINSERTED))
        keys = np.array(self.scope_keys, np.int64).reshape(-1, 3)
        scope = keys[ev("scope").astype(np.int64)] if len(keys) else np.zeros((len(kind), 3), np.int64)
        churn &= (scope[:, 1] == supplier) & ((group < 0) | (scope[:, 2] == group))
        churn &= np.isin(scope[:, 0], np.array(sorted(lines), np.int64))
        rows = np.flatnonzero(churn)
        line, grp = scope[rows, 0], scope[rows, 2]
        part, qty = ev("part")[rows].astype(np.int64), ev("quantity")[rows].astype(np.int64)
        need = msg("need_time")[message[rows]]
        k = kind[rows]
        up = np.where((k == int(FeedKind.REINSERTED)) | (k == int(FeedKind.CHANGED)), qty, 0)
        down = np.where(k == int(FeedKind.CHANGED), 0, qty - up)
        c = np.flatnonzero(k == int(FeedKind.CHANGED))  # the old part of a change of variant: down
        return (
            np.concatenate([line, line[c]]),
            np.concatenate([grp, grp[c]]),
            np.concatenate([part, ev("prev_part")[rows][c].astype(np.int64)]),
            np.concatenate([need, need[c]]),
            np.concatenate([up, np.zeros(len(c), np.int64)]),
            np.concatenate([down, qty[c]]),
        )

    def skip_to(self, cursor: int, at: int) -> None:
        """Drop every event kept and go on from cursor ``cursor`` at least: a line moved in
        (jis.engine.move), so a cursor another group issued for it must not be taken for one
        of this group's. A resume from before then is refused (:meth:`since`: read
        GetBuildSequence again), for every line of the group. New memory, as compaction."""
        n = len(self.events)
        self.events = self.events.without_front(n)
        self.messages = self.messages.without_front(len(self.messages))
        self.base = max(self.base + n, cursor)
        self.dropped_before = max(self.dropped_before, at + 1)
        self._drained = 0

    def older(self, before: int) -> bool:
        """Whether any event kept is of a broadcast applied before engine time ``before``."""
        return len(self.messages) > 0 and self.messages.item("at", 0) < before

    def compact(self, before: int) -> int:
        """Drop the events of the broadcasts applied before engine time ``before`` (the feed
        is in time order: they are its oldest); returns how many events went. Cursors do
        not change; a resume from a cursor before the oldest kept event is refused
        (:meth:`since`). The kept rows move to new memory: drained views stay valid."""
        k_msg = int(np.searchsorted(self.messages.col("at"), before, "left"))
        if k_msg == 0:
            return 0
        k_ev = int(np.searchsorted(self.events.col("message"), k_msg, "left"))
        self.events = self.events.without_front(k_ev)
        self.events.col("message")[:] -= k_msg
        self.messages = self.messages.without_front(k_msg)
        self.base += k_ev
        self._drained = max(0, self._drained - k_ev)
        self.dropped_before = max(self.dropped_before, before)
        return k_ev

    def names(self) -> FeedNames:
        s = self.seq
        return FeedNames(
            self.scope_keys, s.line_ids, s.supplier_ids, s.group_ids, s.vehicle_ids, s.part_numbers
        )

    def scope_code(self, scope: Scope) -> int:
        code = self.scope_codes.get(scope)
        if code is None:
            code = self.scope_codes[scope] = len(self.scope_keys)
            self.scope_keys.append(scope)
        return code

    def _parts(self, off: int, n: int) -> dict[tuple[int, int], tuple[int, int]]:
        if n == 0:
            return {}
        d = self.seq.demand
        sup, grp = d.col("supplier")[off : off + n].tolist(), d.col("group")[off : off + n].tolist()
        part, qty = d.col("part")[off : off + n].tolist(), d.col("quantity")[off : off + n].tolist()
        return {(s, g): (p, q) for s, g, p, q in zip(sup, grp, part, qty, strict=True)}

    def record(self, t: Touched, at: int) -> None:
        """Append the events of one applied broadcast (nothing for a no-op CHANGE)."""
        v = self.seq.vehicles
        row, b = t.vehicle, t.before
        old = self._parts(b.dem_off, b.dem_len)
        new = self._parts(v.item("dem_off", row), v.item("dem_len", row))
        seq_no = v.item("seq_no", row)
        need = v.item("need_time", row)
        was_active = b.state == _ACTIVE
        leaves: int | None = _LEAVES.get(t.action)
        rows: list[tuple[int, int, int, int, int]] = []
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key), new.get(key)
            kind: int
            if leaves is not None:
                kind = leaves
            elif after is None:
                kind = _REMOVED
            elif t.action == _REINSERT:
                kind = _REINSERTED
            elif before is None or t.action == _ADD:
                kind = _ADDED
            elif before != after or (was_active and (b.seq_no, b.need_time) != (seq_no, need)):
                kind = _CHANGED
            else:
                continue
            part, qty = after if after is not None else before  # type: ignore[misc]
            prev = -1 if before is None else before[0]
            rows.append((self.scope_code((t.line, *key)), kind, part, qty, prev))
        if not rows:
            return
        message = self.messages.append(
            vehicle=row,
            seq_no=seq_no,
            need_time=need,
            prev_seq_no=b.seq_no if was_active else NO_TIME,
            call_no=t.call_no,
            at=at,
        )
        events = self.events
        for scope, k, part, qty, prev in rows:  # a broadcast's few events: one append each
            events.append(scope=scope, kind=k, part=part, quantity=qty, prev_part=prev, message=message)

    def record_run(self, t: RunTouched, at: int) -> set[Scope]:
        """Append the events of an applied run (see :mod:`jis.engine.bulk`): what
        :meth:`record` appends for each of its messages, in the same order. Returns the
        scopes the run changed."""
        v, d = self.seq.vehicles, self.seq.demand
        made = v.col("dem_len")[t.rows] > 0  # ADD: the new parts; else the part list unchanged
        n_grp, key, cols = run_rows(
            t.rows,
            v.col("dem_off"),
            v.col("dem_len"),
            d.col("supplier"),
            d.col("group"),
            d.col("part"),
            d.col("quantity"),
            _RUN_KINDS[t.action],
            t.action == Action.ADD,  # no part before
            len(self.messages),
        )
        if len(key) == 0:
            return set()
        distinct, which = first_use(key)
        codes = np.empty(len(distinct), np.int64)
        scopes = set()
        for u, k in enumerate(distinct.tolist()):  # new scope codes in order of first use
            scope = (t.line, k // n_grp, k % n_grp)
            codes[u] = self.scope_code(scope)
            scopes.add(scope)
        rows = t.rows[made]
        self.messages.extend(
            {
                "vehicle": rows,
                "seq_no": v.col("seq_no")[rows],
                "need_time": v.col("need_time")[rows],
                "prev_seq_no": np.where(t.before_state == VehicleState.ACTIVE, t.before_seq, NO_TIME)[made],
                "call_no": t.call_no[made],
                "at": np.full(len(rows), at, np.int64),
            }
        )
        self.events.extend({"scope": codes[which], **cols})
        return scopes

    def undrained(self) -> bool:
        """Whether events were appended since the last drain (not yet sent to watchers)."""
        return self._drained < len(self.events)

    def drain(self) -> FeedBatch | None:
        """The events appended since the last drain (None if there are none)."""
        lo, hi = self._drained, len(self.events)
        if lo == hi:
            return None
        self._drained = hi
        ev, msg = self.events.col, self.messages.col
        columns = _Drained(
            {k: _frozen(ev(k)[lo:hi]) for k in _EVENT_COLUMNS}, {k: _frozen(msg(k)) for k in _MESSAGE_COLUMNS}
        )
        base = self.base
        return FeedBatch(np.arange(base + lo + 1, base + hi + 1, dtype=np.int64), columns, self.names())

    def since(self, scope: Scope, after: int) -> FeedBatch:
        """The scope's events with a cursor greater than ``after``, oldest first;
        OutOfRange if events after ``after`` were dropped (:meth:`compact`)."""
        if after < self.base:
            raise OutOfRange(
                "after_cursor",
                f"cursor {after} is older than the build-sequence history kept here (from cursor "
                f"{self.base} on): read GetBuildSequence again and resume from the cursor it returns",
            )
        code = self.scope_codes.get(scope, -1)
        lo = after - self.base
        rows = np.flatnonzero(self.events.col("scope")[lo:] == code) + lo
        return FeedBatch((rows + 1 + self.base).astype(np.int64), self._columns(rows), self.names())

    def _columns(self, rows: npt.NDArray[np.intp]) -> dict[str, npt.NDArray[np.generic]]:
        """FEED_COLUMNS of the events at ``rows`` (copies)."""
        ev, msg = self.events.col, self.messages.col
        message = ev("message")[rows]
        return {k: msg(k)[message] if k in _MESSAGE_COLUMNS else ev(k)[rows] for k in FEED_COLUMNS}
