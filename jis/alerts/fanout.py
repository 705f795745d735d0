"""Fan-out of break events to WatchBreaks subscribers, on the event loop.

Each subscriber has a bounded queue. Publishing never waits: a subscriber whose queue
is full is cut off (its stream ends with RESOURCE_EXHAUSTED and it reconnects, getting
the open breaks again), so a slow reader never blocks ingest or other readers and never
grows memory without bound.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from jis.alerts.breaks import BreakEvent, BreakType, matches

CUT_OFF = None
"""Queue item that tells a subscriber it was too slow and has been dropped."""


@dataclass(eq=False)
class Subscription:
    line_id: str
    supplier_id: str
    types: frozenset[BreakType]
    queue: asyncio.Queue[BreakEvent | None] = field(repr=False)


class Fanout:
    def __init__(self, max_queue: int = 10_000) -> None:
        self.max_queue = max_queue
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe(self, line_id: str, supplier_id: str, types: frozenset[BreakType]) -> Subscription:
        sub = Subscription(line_id, supplier_id, types, asyncio.Queue(self.max_queue + 1))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish_threadsafe(self, events: list[BreakEvent]) -> None:
        """Called by the engine thread after a commit."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.publish, events)

    def publish(self, events: list[BreakEvent]) -> None:
        for sub in list(self._subs):
            for ev in events:
                if not matches(ev.sequence_break, sub.line_id, sub.supplier_id, sub.types):
                    continue
                if sub.queue.qsize() >= self.max_queue:
                    self._cut_off(sub)
                    break
                sub.queue.put_nowait(ev)

    def _cut_off(self, sub: Subscription) -> None:
        self._subs.discard(sub)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(CUT_OFF)
