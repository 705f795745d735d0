"""Per-line ingest state: the call-number ledger, gaps, the seq_no index.

Call numbers are consecutive per line from 1, so the ledger is two dense numpy arrays
indexed by ``call_no - 1 - base``: whether the number was applied and the 64-bit digest
of the message's canonical content (for telling a duplicate from a conflict). Retention
forgets the numbers up to ``base`` (all applied before the cutoff, below every open gap):
a re-send of one of them is a duplicate, its content no longer compared.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from jis.engine.model import LineConfig
from jis.errors import AlreadyExists, InvalidArgument

MAX_CALL_JUMP = 100_000
"""A call_no may be at most this far past the highest applied one (bounds ledger memory)."""


@dataclass(slots=True)
class CallLedger:
    """Which call numbers of a line were applied, with their content digests."""

    applied: np.ndarray = field(default_factory=lambda: np.zeros(1024, dtype=np.bool_))
    """bool[capacity]; applied[c - 1 - base] for call_no c."""
    digests: np.ndarray = field(default_factory=lambda: np.zeros(1024, dtype=np.uint64))
    """uint64[capacity]; digest of the message applied as call_no c at [c - 1 - base]."""
    highest: int = 0
    base: int = 0
    """Call numbers up to this one are forgotten (:meth:`forget`): applied, unless in a gap."""
    marks: list[tuple[int, int]] = field(default_factory=list)
    """(engine time, highest) at each retention step: what :meth:`forget` may drop later."""
    gap_starts: list[int] = field(default_factory=list)
    """Sorted first call_no of each open gap run."""
    gap_ends: dict[int, int] = field(default_factory=dict)
    """Open gap runs: first call_no -> last call_no (inclusive)."""

    def classify(self, call_no: int, digest: int) -> bool:
        """True if ``call_no`` is a duplicate of an applied message, False if it is new.

        Raises AlreadyExists for the same call_no with different content, and
        InvalidArgument for a call_no implausibly far ahead.
        """
        if call_no <= self.base:
            return not self._in_gap(call_no)
        if call_no <= self.highest and self.applied[call_no - 1 - self.base]:
            if int(self.digests[call_no - 1 - self.base]) == digest:
                return True
            raise AlreadyExists(
                "call_no", f"{call_no} was already applied with different content (conflicting re-send)"
            )
        if call_no > self.highest + MAX_CALL_JUMP:
            raise InvalidArgument(
                "call_no",
                f"{call_no} is more than {MAX_CALL_JUMP} past the highest applied call_no {self.highest}",
            )
        return False

    def _in_gap(self, call_no: int) -> bool:
        i = bisect.bisect_right(self.gap_starts, call_no) - 1
        return i >= 0 and call_no <= self.gap_ends[self.gap_starts[i]]

    def forget(self, at: int, before: int) -> None:
        """A retention step at engine time ``at`` with cutoff ``before``: note the highest
        call_no now, and forget the numbers that were highest at an earlier step before
        the cutoff (stopping below the first open gap)."""
        old = [h for t, h in self.marks if t < before]
        self.marks = [(t, h) for t, h in self.marks if t >= before] + [(at, self.highest)]
        if not old:
            return
        upto = max(old)
        if self.gap_starts:
            upto = min(upto, self.gap_starts[0] - 1)
        k = upto - self.base
        if k <= 0:
            return
        self.applied = self.applied[k:].copy()
        self.digests = self.digests[k:].copy()
        self.base = upto

    def _grow(self, call_no: int) -> None:
        """Make room for call numbers up to ``call_no``."""
        if call_no - self.base > len(self.applied):
            cap = max(len(self.applied), 16)
            while cap < call_no - self.base:
                cap *= 2
            self.applied = np.concatenate([self.applied, np.zeros(cap - len(self.applied), np.bool_)])
            self.digests = np.concatenate([self.digests, np.zeros(cap - len(self.digests), np.uint64)])

    def record(self, call_no: int, digest: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Mark ``call_no`` applied. Returns (gap runs closed, gap runs opened), inclusive."""
        if call_no > self.base:  # else a late message in a gap below the base
            self._grow(call_no)
            self.applied[call_no - 1 - self.base] = True
            self.digests[call_no - 1 - self.base] = digest
        closed: list[tuple[int, int]] = []
        opened: list[tuple[int, int]] = []
        if call_no > self.highest:
            if call_no > self.highest + 1:
                opened.append((self.highest + 1, call_no - 1))
            self.highest = call_no
        else:
            # A late message inside a gap run: the run closes, what is left of it reopens.
            i = bisect.bisect_right(self.gap_starts, call_no) - 1
            start = self.gap_starts[i]
            end = self.gap_ends[start]
            closed.append((start, end))
            if start < call_no:
                opened.append((start, call_no - 1))
            if call_no < end:
                opened.append((call_no + 1, end))
        for start, _ in closed:
            self.gap_starts.remove(start)
            del self.gap_ends[start]
        for start, end in opened:
            bisect.insort(self.gap_starts, start)
            self.gap_ends[start] = end
        return closed, opened

    def record_following(self, calls: np.ndarray, digests: np.ndarray) -> None:
        """Mark applied calls ``highest + 1, highest + 2, ...`` (int64[k], consecutive) with
        their digests: what :meth:`record` does for each, as they open and close no gap."""
        if len(calls) == 0:
            return
        assert int(calls[0]) == self.highest + 1, "record_following needs the next call_no"
        last = int(calls[-1])
        self._grow(last)
        self.applied[calls - 1 - self.base] = True
        self.digests[calls - 1 - self.base] = digests
        self.highest = last

    @property
    def missing(self) -> int:
        return sum(end - start + 1 for start, end in self.gap_ends.items())


@dataclass(slots=True)
class LineState:
    """Everything the engine keeps per line besides the vehicle columns."""

    code: int
    config: LineConfig
    configured_at: int
    ledger: CallLedger = field(default_factory=CallLedger)
    seq_index: dict[int, int] = field(default_factory=dict)
    """seq_no -> vehicle row, active vehicles only (seq_no is unique among them)."""
    duplicates: int = 0
    last_broadcast_at: int | None = None
    last_lag_ns: int | None = None
    """Applied time minus event_time of the last applied message that had one."""
    heard_from: int = 0
    """Engine time from which silence is measured: configuration or the last message."""
