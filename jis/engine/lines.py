"""Per-line ingest state: the call-number ledger, gaps, the seq_no index.

Call numbers are consecutive per line from 1, so the ledger is two dense numpy arrays
indexed by ``call_no - 1``: whether the number was applied and the 64-bit digest of
the message's canonical content (for telling a duplicate from a conflict).
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
    """bool[capacity]; applied[c - 1] for call_no c."""
    digests: np.ndarray = field(default_factory=lambda: np.zeros(1024, dtype=np.uint64))
    """uint64[capacity]; digest of the message applied as call_no c at [c - 1]."""
    highest: int = 0
    gap_starts: list[int] = field(default_factory=list)
    """Sorted first call_no of each open gap run."""
    gap_ends: dict[int, int] = field(default_factory=dict)
    """Open gap runs: first call_no -> last call_no (inclusive)."""

    def classify(self, call_no: int, digest: int) -> bool:
        """True if ``call_no`` is a duplicate of an applied message, False if it is new.

        Raises AlreadyExists for the same call_no with different content, and
        InvalidArgument for a call_no implausibly far ahead.
        """
        if call_no <= self.highest and self.applied[call_no - 1]:
            if int(self.digests[call_no - 1]) == digest:
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

    def _grow(self, call_no: int) -> None:
        """Make room for call numbers up to ``call_no``."""
        if call_no > len(self.applied):
            cap = len(self.applied)
            while cap < call_no:
                cap *= 2
            self.applied = np.concatenate([self.applied, np.zeros(cap - len(self.applied), np.bool_)])
            self.digests = np.concatenate([self.digests, np.zeros(cap - len(self.digests), np.uint64)])

    def record(self, call_no: int, digest: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Mark ``call_no`` applied. Returns (gap runs closed, gap runs opened), inclusive."""
        self._grow(call_no)
        self.applied[call_no - 1] = True
        self.digests[call_no - 1] = digest
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
        self.applied[calls - 1] = True
        self.digests[calls - 1] = digests
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
