"""Sequence breaks and their lifecycle.

A break is identified by its *key*: its type plus its scope (line; line, supplier and
group; and the vehicle, rack or slot it is about). Raising a key that is open, or
resolving one that is not, does nothing: evaluating the same state twice raises
nothing new. Every raise and resolve is queued as a :class:`BreakEvent` for fan-out.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace

import numpy as np

from jis.columns import Interner, Table

NO_TIME = -(2**63)
HISTORY_COLUMNS = {
    "number": np.int64,  # the break's id number (B00000042 -> 42), ascending
    "type": np.int8,
    "line": np.int32,  # BreakBook.line_ids code
    "supplier": np.int32,  # BreakBook.supplier_ids code (0: none)
    "caused_at": np.int64,
    "detected_at": np.int64,
    "resolved_at": np.int64,  # NO_TIME while open
}


class BreakType(enum.IntEnum):
    """The kinds of sequence break; values match ``jis.v1.BreakType``."""

    GAP = 1
    MISSING = 2
    ORPHAN = 3
    WRONG_VARIANT = 4
    DUPLICATE = 5
    OUT_OF_SEQUENCE = 6
    LATE = 7
    BROADCAST_SILENT = 8


class RecoveryKind(enum.IntEnum):
    """Values match ``jis.v1.RecoveryKind``."""

    RESEND_CALLS = 1
    BUILD_PART = 2
    PULL_SLOT = 3
    MOVE_SLOT = 4
    REPLACE_VARIANT = 5
    EXPEDITE_RACK = 6
    CHECK_FEED = 7


@dataclass(frozen=True, slots=True)
class RecoveryAction:
    """The concrete action that removes a break's cause."""

    kind: RecoveryKind
    description: str
    vehicle_id: str = ""
    part_number: str = ""
    replacement_part_number: str = ""
    rack_id: str = ""
    from_position: int = -1
    to_rack_id: str = ""
    to_position: int = -1
    first_call_no: int = 0
    last_call_no: int = 0


@dataclass(frozen=True, slots=True)
class SequenceBreak:
    """One break, open (``resolved_at is None``) or resolved."""

    break_id: str
    type: BreakType
    line_id: str
    detected_at: int
    action: RecoveryAction
    supplier_id: str = ""
    group: str = ""
    vehicle_id: str = ""
    rack_id: str = ""
    position: int = -1
    first_call_no: int = 0
    last_call_no: int = 0
    need_time: int | None = None
    """Earliest affected need_time (ns), when there is one."""
    resolved_at: int | None = None

    def slack(self, now: int) -> int | None:
        """Time left (ns) from ``now`` to need_time, negative when overdue; a resolved break's
        is what was left when it was resolved. None without a need time."""
        if self.need_time is None:
            return None
        return self.need_time - (now if self.resolved_at is None else self.resolved_at)


@dataclass(frozen=True, slots=True)
class BreakEvent:
    seq: int
    """Position in the engine's event history, from 1 (a watcher skips what its snapshot holds)."""
    raised: bool
    """True for a raise, False for a resolve."""
    sequence_break: SequenceBreak


@dataclass(slots=True)
class BreakBook:
    """Open breaks by key, resolved ones in resolution order, and unsent events."""

    open: dict[Hashable, SequenceBreak] = field(default_factory=dict)
    scoped: dict[Hashable, set[Hashable]] = field(default_factory=dict)
    """Open keys per evaluation scope, for :meth:`sync`."""
    resolved: list[SequenceBreak] = field(default_factory=list)
    pending: list[BreakEvent] = field(default_factory=list)
    next_id: int = 1
    event_seq: int = 0
    """seq of the last event queued."""
    open_counts: dict[tuple[str, BreakType], int] = field(default_factory=dict)
    """Open breaks per (line_id, type), kept as they open and close (for metrics)."""
    history: Table = field(default_factory=lambda: Table(HISTORY_COLUMNS))
    """One row per break raised, by id number, for the KPIs; those resolved before the
    retention leave it for the store's archive (:meth:`archive_history`)."""
    line_ids: Interner = field(default_factory=Interner)
    supplier_ids: Interner = field(default_factory=lambda: Interner([""]))
    need_heaps: dict[tuple[str, BreakType], list[tuple[int, int]]] = field(default_factory=dict)
    """(line_id, type) -> a heap of (need_time, id number) of the breaks raised with a need
    time; those no longer open are dropped when they reach the top (:meth:`earliest_need`)."""
    open_numbers: set[int] = field(default_factory=set)
    """The id numbers of the open breaks (what :meth:`earliest_need` checks a heap's top
    against in O(1); retention renumbers keys, never ids)."""
    cause_at: int | None = None
    """Event time of the input being applied (or the moment the clock made something due):
    what a break raised now is detected *from* (time to detect). Set by the engine."""

    def raise_break(self, key: Hashable, make: Callable[[str], SequenceBreak]) -> bool:
        """Open the break ``key`` unless it is open; ``make(break_id)`` builds it."""
        if key in self.open:
            return False
        brk = make(f"B{self.next_id:08d}")
        self.next_id += 1
        self.open[key] = brk
        self.open_numbers.add(self.next_id - 1)
        caused = brk.detected_at if self.cause_at is None else min(self.cause_at, brk.detected_at)
        if brk.need_time is not None:
            kind = (brk.line_id, brk.type)
            heap = self.need_heaps.setdefault(kind, [])
            heapq.heappush(heap, (brk.need_time, self.next_id - 1))
            if len(heap) > 2 * self.open_counts.get(kind, 0) + 64:
                # Closed entries leave a heap only from its top, when read: without a scrape
                # to read them they would pile up, so they are dropped once they outnumber the
                # open ones (amortized O(1) per break raised).
                heap[:] = [x for x in heap if x[1] in self.open_numbers]
                heapq.heapify(heap)
        self.history.append(
            number=self.next_id - 1,
            type=brk.type,
            line=self.line_ids.intern(brk.line_id),
            supplier=self.supplier_ids.intern(brk.supplier_id),
            caused_at=caused,
            detected_at=brk.detected_at,
            resolved_at=NO_TIME,
        )
        self._emit(True, brk)
        return True

    def resolve(self, key: Hashable, at: int) -> bool:
        """Close the break ``key`` at time ``at`` if it is open."""
        brk = self.open.pop(key, None)
        if brk is None:
            return False
        done = replace(brk, resolved_at=at)
        number = int(brk.break_id[1:])
        self.open_numbers.discard(number)
        h = self.history
        h.col("resolved_at")[int(np.searchsorted(h.col("number"), number))] = at
        self.resolved.append(done)
        self._emit(False, done)
        return True

    def earliest_need(self) -> dict[tuple[str, BreakType], int]:
        """(line_id, type) -> the earliest need time among the open breaks that have one;
        amortized O(log n) per break raised, not a pass over every open break."""
        still_open = self.open_numbers
        out = {}
        for key, heap in list(self.need_heaps.items()):
            while heap:
                if heap[0][1] in still_open:
                    break
                heapq.heappop(heap)
            if heap:
                out[key] = heap[0][0]
            else:
                del self.need_heaps[key]
        return out

    def forget_line(self, line_id: str) -> None:
        """Drop the line's open breaks (its state left the engine), resolved ones and history."""
        self.open = {k: b for k, b in self.open.items() if b.line_id != line_id}
        self.open_numbers = {int(b.break_id[1:]) for b in self.open.values()}
        self.need_heaps = {k: h for k, h in self.need_heaps.items() if k[0] != line_id}
        self.open_counts = {k: n for k, n in self.open_counts.items() if k[0] != line_id}
        self.resolved = [b for b in self.resolved if b.line_id != line_id]
        self.history = self.history.subset(self.history.col("line") != self.line_ids.get(line_id))

    def older(self, before: int) -> bool:
        """Whether the oldest resolved break in memory (they are kept in the order they were
        resolved) was resolved before ``before``."""
        first = self.resolved[0].resolved_at if self.resolved else None
        return first is not None and first < before

    def archive(self, before: int) -> list[SequenceBreak]:
        """Take the breaks resolved before ``before`` out of memory; returns them."""
        old = [b for b in self.resolved if b.resolved_at is not None and b.resolved_at < before]
        if old:
            self.resolved = [b for b in self.resolved if b.resolved_at is None or b.resolved_at >= before]
        return old

    def archive_history(self, before: int) -> dict[str, np.ndarray]:
        """Take the history rows of breaks resolved before ``before`` out of memory; returns
        their columns (for the store's archive of KPI facts)."""
        resolved = self.history.col("resolved_at")
        taken, self.history = self.history.take((resolved != NO_TIME) & (resolved < before), HISTORY_COLUMNS)
        return taken

    def _emit(self, raised: bool, brk: SequenceBreak) -> None:
        key = (brk.line_id, brk.type)
        self.open_counts[key] = self.open_counts.get(key, 0) + (1 if raised else -1)
        self.event_seq += 1
        self.pending.append(BreakEvent(self.event_seq, raised, brk))

    def sync(self, scope: Hashable, wanted: dict[Hashable, Callable[[str], SequenceBreak]], at: int) -> None:
        """Make the open breaks of ``scope`` exactly ``wanted``: resolve the others, raise the new."""
        current = self.scoped.get(scope, set())
        for key in current - wanted.keys():
            self.resolve(key, at)
        for key, make in wanted.items():
            self.raise_break(key, make)
        if wanted:
            self.scoped[scope] = set(wanted)
        else:
            self.scoped.pop(scope, None)

    def drain(self) -> list[BreakEvent]:
        """The events queued since the last drain, in order."""
        events, self.pending = self.pending, []
        return events


def open_order(brk: SequenceBreak) -> tuple[int, int, int, int]:
    """Sort key of open breaks, most urgent first: the earliest need time (the least slack,
    whenever it is read) first, those without one last, then detection, then id. It never
    changes for a break, so a page token can hold it."""
    need = brk.need_time
    return (need is None, need or 0, brk.detected_at, int(brk.break_id[1:]))


def resolved_order(brk: SequenceBreak) -> tuple[int, int]:
    """Sort key of resolved breaks: resolution time, then id."""
    assert brk.resolved_at is not None
    return (brk.resolved_at, int(brk.break_id[1:]))


def matches(
    brk: SequenceBreak, line_id: str = "", supplier_id: str = "", types: frozenset[BreakType] = frozenset()
) -> bool:
    """Whether ``brk`` passes a subscriber's filter (empty filter fields match anything)."""
    return (
        (not line_id or brk.line_id == line_id)
        and (not supplier_id or brk.supplier_id == supplier_id)
        and (not types or brk.type in types)
    )
