"""Fan-out of break events to WatchBreaks subscribers, on the event loop.

Each subscriber has a bounded queue. Publishing never waits: a subscriber whose queue
is full is cut off (its stream ends with RESOURCE_EXHAUSTED and it reconnects, getting
the open breaks again), so a slow reader never blocks ingest or other readers and never
grows memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

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

    def __len__(self) -> int:
        return len(self._subs)

    def subscribe(self, line_id: str, supplier_id: str, types: frozenset[BreakType]) -> Subscription:
        sub = Subscription(line_id, supplier_id, types, asyncio.Queue(self.max_queue + 1))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, events: list[BreakEvent]) -> None:
        """On the event loop, with a committed group's events (see jis.engine.runner)."""
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


K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(eq=False)
class KeyedSubscription(Generic[K, T]):
    key: K
    queue: asyncio.Queue[T | None] = field(repr=False)
    queued_bytes: int = 0
    """Bytes of the items in ``queue`` (as the fan-out's ``size_of`` counts them)."""
    size_of: Callable[[T], int] = field(default=lambda item: 0, repr=False)

    async def get(self) -> T | None:
        """The next item (None: cut off for being too slow)."""
        item = await self.queue.get()
        if item is not None:
            self.queued_bytes -= self.size_of(item)
        return item


class KeyedFanout(Generic[K, T]):
    """Fan-out of items that each concern one key (a build sequence's scope) to the
    subscribers of that key, on the event loop; same bounded queues and cut-off as
    :class:`Fanout`, bounded in bytes too (``size_of`` an item; one item may carry a
    thousand changes, so a count alone lets an idle reader hold megabytes). Publishing
    costs one dict lookup per key in the batch, however many subscribers other keys have."""

    def __init__(
        self,
        max_queue: int = 10_000,
        max_bytes: int = 16 * 1024 * 1024,
        size_of: Callable[[T], int] = lambda item: 0,
    ) -> None:
        self.max_queue = max_queue
        self.max_bytes = max_bytes
        self.size_of = size_of
        self._subs: dict[K, set[KeyedSubscription[K, T]]] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def keys(self) -> set[K]:
        return set(self._subs)

    def subscribe(self, key: K) -> KeyedSubscription[K, T]:
        sub: KeyedSubscription[K, T] = KeyedSubscription(
            key, asyncio.Queue(self.max_queue + 1), size_of=self.size_of
        )
        self._subs.setdefault(key, set()).add(sub)
        self._n += 1
        return sub

    def unsubscribe(self, sub: KeyedSubscription[K, T]) -> None:
        subs = self._subs.get(sub.key)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        self._n -= 1
        if not subs:
            del self._subs[sub.key]

    def publish(self, items: dict[K, list[T]]) -> None:
        for key, batch in items.items():
            size = sum(map(self.size_of, batch))
            for sub in list(self._subs.get(key, ())):
                if (
                    sub.queue.qsize() + len(batch) > self.max_queue
                    or sub.queued_bytes + size > self.max_bytes
                ):
                    self.unsubscribe(sub)
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sub.queued_bytes = 0
                    sub.queue.put_nowait(None)
                    continue
                for item in batch:
                    sub.queue.put_nowait(item)
                sub.queued_bytes += size
