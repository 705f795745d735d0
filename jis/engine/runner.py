"""One thread owns the engine; requests reach it through a bounded queue.

The thread takes whatever requests are waiting (up to ``max_group``), applies them in
arrival order, commits the store once for the whole group and only then answers them
and hands the break events to the alert fan-out: an input is acknowledged, and its
effects are visible to watchers, only once it is durable. One fsync per group is what
lets durable unary publishes run at network speed. The group's "eval" mark is journaled
before its scopes are evaluated (it says where replay evaluates, not what came of it),
so for a lone caller the evaluation overlaps the commit's fsync on a helper thread; if
it fails, the group's records are taken back out of the log before the process exits.

The event loop is woken once per group: one callback passes the group's events and feed
changes on to the fan-outs and then resolves the futures of the group's requests from
that loop. Metrics and snapshots wait until the answers are on their way.

Under concurrent load (the last group held more than one request) the thread lingers
a little before applying a group, while requests keep arriving: the group's scope
re-match and commit are then shared by more requests, and the event loop, which
shares the GIL with this thread, has it to itself meanwhile to hand them in. A lone
caller never waits for that.

Crash-only: if applying or committing fails with anything but a DomainError, the state
in memory can no longer be trusted to match the log, so the process exits and the
next start recovers from what was committed.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from jis import sysmem
from jis.alerts.breaks import BreakEvent
from jis.clock import Clock
from jis.engine.engine import Engine, GroupEval
from jis.engine.evaluate import NEVER
from jis.engine.feed import FeedBatch
from jis.errors import DeadlineExceeded, DomainError, ResourceExhausted
from jis.metrics import Metrics
from jis.osthread import name_this_thread

log = logging.getLogger(__name__)

T = TypeVar("T")
Answer = tuple[Any, Any, BaseException | None]
"""(future, result, error) of one request."""
_STOP = object()
EXIT_ENGINE_FAILURE = 70
LINGER_S = 0.00025
"""Under concurrent load the engine sleeps this long before applying a group, and again
as long as the last sleep brought more requests, ..."""
MAX_LINGER_S = 0.002
"""... up to this much in all (the most one group's answers are delayed by lingering)."""


class EngineRunner:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        loop: asyncio.AbstractEventLoop | None = None,
        on_events: Callable[[list[BreakEvent]], None] = lambda events: None,
        on_feed: Callable[[FeedBatch], object] = lambda batch: None,
        max_pending: int = 10_000,
        max_group: int = 256,
        metrics: Metrics | None = None,
        snapshot_every: int = 0,
        linger_s: float = LINGER_S,
        max_linger_s: float = MAX_LINGER_S,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.loop = loop
        """Where ``on_events`` and ``on_feed`` are called (None: on the engine thread)."""
        self.on_events = on_events
        self.on_feed = on_feed
        self.max_pending = max_pending
        self.max_group = max_group
        self.metrics = metrics
        self.snapshot_every = snapshot_every
        self.linger_s = linger_s
        self.max_linger_s = max_linger_s
        self.standby = False
        """A standby follows a leader's log: the engine's time moves only with it (no
        deadlines of its own, no retention steps) and it takes no snapshots."""
        self._last_group = 0
        self._last_snapshot = engine.store.last_seq() if engine.store is not None else 0
        self._inputs_at_snapshot = 0
        self._queue: queue.Queue[Any] = queue.Queue()
        """(op, future, deadline, loop or None, perf_counter when queued), or _STOP."""
        self._evaluated_s = 0.0
        """The last group's evaluation time (set on whichever thread evaluated it)."""
        self._thread = threading.Thread(target=self._run, name="jis-engine", daemon=True)
        self._helper = _Helper()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._helper.start()
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop the threads."""
        self._queue.put(_STOP)
        self._thread.join()
        self._helper.stop()

    def submit(self, op: Callable[[int], T], deadline: float | None = None) -> concurrent.futures.Future[T]:
        """Queue ``op(at)``; the future resolves after the group it ran in is committed.

        ``deadline`` (time.monotonic()): if the engine reaches the request later than this,
        it is not done and the future fails with DeadlineExceeded."""
        self._check_room()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((op, fut, deadline, None, time.perf_counter()))
        return fut

    def submit_async(
        self, op: Callable[[int], T], loop: asyncio.AbstractEventLoop, deadline: float | None = None
    ) -> asyncio.Future[T]:
        """As :meth:`submit`, for a caller on the event loop ``loop``: the answer is an
        asyncio future of that loop. The answers of one group to one loop are delivered
        by a single ``call_soon_threadsafe`` (one wake-up of the loop per commit, not one
        per request, and no concurrent.futures.Future chained to an asyncio one). A future
        cancelled before the engine reaches its request is skipped, as with :meth:`submit`."""
        self._check_room()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, fut, deadline, loop, time.perf_counter()))
        return fut

    def _check_room(self) -> None:
        if self._queue.qsize() >= self.max_pending:
            raise ResourceExhausted(
                "", f"engine queue full ({self.max_pending} requests waiting); retry later"
            )

    def _maybe_snapshot(self, final: bool) -> None:
        """After a commit: snapshot every `snapshot_every` inputs (each message of a batch
        counts), and when stopping."""
        store = self.engine.store
        if store is None or self.standby or store.last_seq() == self._last_snapshot:
            return
        due = self.snapshot_every and self.engine.inputs - self._inputs_at_snapshot >= self.snapshot_every
        if final or due:
            t = time.perf_counter()
            self._last_snapshot = self.engine.save_snapshot()
            self._inputs_at_snapshot = self.engine.inputs
            sysmem.trim()  # the snapshot's bytes were the largest transient of all
            log.info("snapshot at log position %d in %.2fs", self._last_snapshot, time.perf_counter() - t)

    def _observe(self, requests: int, committed: float, events: list[BreakEvent]) -> None:
        assert self.metrics is not None
        if requests:
            self.metrics.group_size.observe(requests)
            self.metrics.commit_duration.observe(committed)
        counts = collections.Counter(
            ("raised" if ev.raised else "resolved", ev.sequence_break.type.name) for ev in events
        )
        for (event, kind), n in counts.items():  # once per group and type, not per break
            self.metrics.break_events.labels(event, kind).inc(n)

    def _timeout(self) -> float | None:
        """Seconds until the engine's next time-driven moment (None: nothing due, or test clock)."""
        due = self.engine.next_deadline()
        if self.clock.test_mode or self.standby or due >= NEVER:
            return None
        return max(0.0, (due - self.clock.now()) / 1e9)

    def _take(self, group: list[Any]) -> int:
        """Append what is waiting to ``group`` (up to ``max_group``); returns how many."""
        n = len(group)
        while len(group) < self.max_group:
            try:
                group.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return len(group) - n

    def _next_group(self) -> list[Any]:
        """The next group of requests; empty when an engine deadline came first."""
        try:
            group = [self._queue.get(timeout=self._timeout())]
        except queue.Empty:
            self._last_group = 0
            return []
        self._take(group)
        if self._last_group > 1 and self.linger_s > 0 and group[-1] is not _STOP:
            # Sleeping, not waiting on the queue: a wait would be woken (and take the GIL)
            # once per request handed in.
            until = time.monotonic() + self.max_linger_s
            while len(group) < self.max_group and time.monotonic() < until:
                time.sleep(self.linger_s)
                if not self._take(group):
                    break
        self._last_group = len(group)
        return group

    def _run(self) -> None:
        name_this_thread(self._thread.name)
        stopping = False
        while not stopping:
            group = self._next_group()  # empty: a deadline came, advance the engine to now below
            started = time.perf_counter()
            oldest = started
            done: list[Answer] = []
            answers: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
            try:
                if not group and not self.standby:
                    self.engine.advance(self.clock.now())
                self.engine.begin_group()
                # Not for a stop alone: a first retention over a long history can take seconds,
                # which a shutdown must not wait for (the next start does it with its first group).
                if group and group != [_STOP] and not self.standby:
                    self.engine.retain(self.clock.now())
                for item in group:
                    if item is _STOP:
                        stopping = True
                        continue
                    op, fut, deadline, loop, queued_at = item
                    oldest = min(oldest, queued_at)
                    if loop is None:
                        if not fut.set_running_or_notify_cancel():
                            continue
                        out = done
                    else:
                        if fut.cancelled():  # read across threads: at worst the answer is dropped
                            continue
                        out = answers.setdefault(loop, [])
                    if deadline is not None and time.monotonic() > deadline:
                        out.append((fut, None, DeadlineExceeded("", "the deadline passed while queued")))
                        continue
                    try:
                        out.append((fut, op(self.clock.now()), None))
                    except DomainError as exc:
                        out.append((fut, None, exc))
                sealed = self.engine.close_group()  # nothing more for the log
                t = time.perf_counter()
                self._evaluated_s = 0.0
                events, feed = self._commit(sealed)
                committed = time.perf_counter() - t
            except BaseException:
                _fail()
            self._hand_over(events, feed, done, answers)
            try:  # bookkeeping, once the group's callers have their answers
                if self.metrics is not None:
                    self._observe(len(group), committed, events)
                    if group:
                        stage = self.metrics.engine_stage
                        stage["queued"].observe(started - oldest)
                        stage["apply"].observe(t - started)
                        stage["evaluate"].observe(self._evaluated_s)
                self._maybe_snapshot(final=stopping)
            except BaseException:
                _fail()

    def _commit(self, sealed: GroupEval | None) -> tuple[list[BreakEvent], FeedBatch | None]:
        """Commit the group and evaluate its touched scopes; returns the events and feed
        changes of the group. When there is both a commit and an evaluation and no request
        is waiting, the evaluation runs on the helper thread while this one waits for the
        disk (the commit's fsync releases the GIL): a lone caller's answer and alerts no
        longer wait for the evaluation and the fsync one after the other. Nothing leaves
        before both are done."""
        engine, store = self.engine, self.engine.store

        def finish() -> tuple[list[BreakEvent], FeedBatch | None]:
            started = time.perf_counter()
            engine.evaluate_group(sealed)
            self._evaluated_s = time.perf_counter() - started
            return engine.book.drain(), engine.feed.drain()

        if store is None or sealed is None or not self._queue.empty():
            # Under load, the commit's fsync is when the event loop has the GIL to itself
            # to hand the next requests in: the evaluation does not take it from the loop.
            # It runs first, so that if it fails nothing of the group is durable.
            result = finish()
            if store is not None:
                store.commit()
            return result
        before = store.last_seq()
        started = False

        def start() -> None:
            nonlocal started
            started = True
            self._helper.run(finish)

        store.commit(start)
        if not started:
            return finish()
        try:
            out: tuple[list[BreakEvent], FeedBatch | None] = self._helper.wait()
        except BaseException:
            # Not acknowledged, not published: take the group back out of the log, so that
            # the next start does not replay it into the same failure.
            log.critical("the group's evaluation failed after its commit; discarding its records")
            store.discard(before)
            raise
        return out

    def _hand_over(
        self,
        events: list[BreakEvent],
        feed: FeedBatch | None,
        done: list[Answer],
        answers: dict[asyncio.AbstractEventLoop, list[Answer]],
    ) -> None:
        """After the commit: the events and feed changes to their callbacks, the answers to
        their callers. Each loop is woken once, by one callback that passes on the news
        (on the runner's loop) and then resolves that loop's futures."""
        for fut, result, error in done:
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)
        news = bool(events) or feed is not None
        if news and self.loop is None:
            self._news(events, feed)
            news = False
        elif news and self.loop is not None:
            answers.setdefault(self.loop, [])
        sent = time.perf_counter()
        for loop, items in answers.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                if news and loop is self.loop:
                    loop.call_soon_threadsafe(self._deliver, events, feed, items, sent)
                else:
                    loop.call_soon_threadsafe(self._answer_handed_over, items, sent)

    def _news(self, events: list[BreakEvent], feed: FeedBatch | None) -> None:
        if events:
            self.on_events(events)
        if feed is not None:
            self.on_feed(feed)

    def _deliver(
        self, events: list[BreakEvent], feed: FeedBatch | None, items: list[Answer], sent: float
    ) -> None:
        """On the runner's loop: a committed group's news, then its answers."""
        try:
            self._observe_hand_over(sent)
            self._news(events, feed)
        finally:
            _answer(items)

    def _answer_handed_over(self, items: list[Answer], sent: float) -> None:
        """On a loop other than the runner's (or with no news): its answers of a group."""
        self._observe_hand_over(sent)
        _answer(items)

    def _observe_hand_over(self, sent: float) -> None:
        """On a loop: how long its wake-up took since the engine thread handed the group over."""
        if self.metrics is not None:
            self.metrics.engine_stage["hand_over"].observe(time.perf_counter() - sent)


class _Helper:
    """A second thread for the engine thread: runs one function at a time, handed over
    with a lock (no queue), while the engine thread waits in a call that releases the GIL."""

    def __init__(self) -> None:
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._fn: Callable[[], Any] | None = None
        self._out: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="jis-engine-helper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._fn = None
        self._go.release()
        self._thread.join()

    def run(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._go.release()

    def wait(self) -> Any:
        """What the function returned; raises what it raised."""
        self._done.acquire()
        out, error, self._out, self._error = self._out, self._error, None, None
        if error is not None:
            raise error
        return out

    def _loop(self) -> None:
        name_this_thread(self._thread.name)
        while True:
            self._go.acquire()
            fn = self._fn
            if fn is None:
                return
            try:
                self._out = fn()
            except BaseException as exc:
                self._error = exc
            self._done.release()


def _fail() -> NoReturn:
    log.critical("engine failure; exiting so that the next start recovers from the log", exc_info=True)
    logging.shutdown()
    os._exit(EXIT_ENGINE_FAILURE)


def _answer(items: list[Answer]) -> None:
    """On the event loop: resolve a committed group's futures (those not cancelled meanwhile)."""
    for fut, result, error in items:
        if fut.done():
            continue
        if error is None:
            fut.set_result(result)
        else:
            fut.set_exception(error)
