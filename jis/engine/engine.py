"""The engine: one object that applies every input, journals it, and answers queries.

Every mutating method takes the engine time ``at`` explicitly and appends the input
to the store's open commit after applying it. Recovery replays the log through the
same methods with the recorded times, so the rebuilt state, breaks and their
detection times are identical to those before a crash.

Not thread-safe: :class:`jis.engine.runner.EngineRunner` calls it from one thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from jis.alerts.breaks import BreakBook, BreakType, SequenceBreak, matches
from jis.engine import codec
from jis.engine.errors import DomainError
from jis.engine.model import Broadcast, LineConfig, LineView, PublishResult, VehicleView
from jis.engine.sequence import SequenceState
from jis.store.base import LogRecord, Store, StoreCorrupt

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.book = BreakBook()
        self.seq = SequenceState(self.book)
        self.last_at = 0
        """Engine time of the last journaled input."""
        self._replaying = False

    # -- journal -----------------------------------------------------------------------

    def _journal(self, kind: str, at: int, body: bytes) -> None:
        self.last_at = max(self.last_at, at)
        if self.store is not None and not self._replaying:
            self.store.append(kind, at, body)

    def recover(self) -> int:
        """Rebuild the state from the store; returns the number of records replayed."""
        if self.store is None:
            return 0
        replay: dict[str, Callable[[LogRecord], object]] = {
            "line": lambda r: self.configure_line(codec.decode_line(r.body), r.at),
            "broadcast": lambda r: self.publish(codec.decode_broadcast(r.body), r.at),
            "clock": lambda r: self.tick(r.at),
        }
        n = 0
        self._replaying = True
        try:
            for rec in self.store.records():
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
        self.book.drain()  # recovered breaks are state, not news
        return n

    # -- inputs ------------------------------------------------------------------------

    def configure_line(self, cfg: LineConfig, at: int) -> LineView:
        view = self.seq.configure_line(cfg, at)
        self._journal("line", at, codec.encode_line(cfg))
        return view

    def publish(self, b: Broadcast, at: int) -> PublishResult:
        result, body, _touched = self.seq.publish(b, at)
        self._journal("broadcast", at, body)
        return result

    def publish_batch(
        self, batch: Sequence[Broadcast | DomainError], at: int
    ) -> list[PublishResult | DomainError]:
        """Apply each message on its own, in order; a refused one changes nothing.

        Entries that are already errors (refused at conversion) pass through.
        """
        out: list[PublishResult | DomainError] = []
        for b in batch:
            if isinstance(b, DomainError):
                out.append(b)
                continue
            try:
                out.append(self.publish(b, at))
            except DomainError as exc:
                out.append(exc)
        return out

    def tick(self, at: int) -> None:
        """The clock moved to ``at`` (set in test mode): journal it."""
        self._journal("clock", at, b"")

    # -- queries -----------------------------------------------------------------------

    def vehicle(self, vehicle_id: str) -> VehicleView:
        return self.seq.vehicle_view(vehicle_id)

    def sequence(self, line_id: str, lo: int, hi: int, limit: int) -> tuple[list[VehicleView], bool]:
        return self.seq.sequence(line_id, lo, hi, limit)

    def line(self, line_id: str) -> LineView:
        return self.seq.line_view(line_id)

    def lines(self) -> list[LineView]:
        return [self.seq.line_view(line_id) for line_id in self.seq.lines]

    def open_breaks(
        self, line_id: str = "", supplier_id: str = "", types: frozenset[BreakType] = frozenset()
    ) -> list[SequenceBreak]:
        """Open breaks matching the filter, least slack first (no need_time last)."""
        found = [b for b in self.book.open.values() if matches(b, line_id, supplier_id, types)]
        return sorted(found, key=lambda b: (b.slack is None, b.slack or 0, b.detected_at, b.break_id))

    def resolved_breaks(
        self,
        start: int,
        stop: int,
        line_id: str = "",
        supplier_id: str = "",
        types: frozenset[BreakType] = frozenset(),
    ) -> list[SequenceBreak]:
        """Breaks resolved in [start, stop), by resolution time."""
        return [
            b
            for b in self.book.resolved
            if b.resolved_at is not None
            and start <= b.resolved_at < stop
            and matches(b, line_id, supplier_id, types)
        ]
