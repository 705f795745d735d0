"""High availability on NATS JetStream: one leader per stream, hot standbys that take over.

Every ``jis serve --store nats://...`` on one stream starts as a standby: it recovers from
the stream's snapshot and log, then follows the log as the leader appends to it, applying
each commit to its own state (so its reads, WatchBreaks and WatchBuildSequence are at most
a poll behind the leader's; build-sequence cursors are the same on every instance). Its
health is NOT_SERVING and it refuses writes with UNAVAILABLE.

Leadership is the key ``leader`` of the KV bucket ``<stream>_lease``, whose entries expire
after the lease (``--lease``). The leader renews it every third of the lease. A standby
tries to create it whenever it is gone; the one that does catches up to the stream's end
and appends a ``leader`` mark with the stream's last sequence as expected: once that is in,
the previous leader can append nothing more (every append is fenced, see
:mod:`jis.store.jetstream`), so what it had not appended it never acknowledged. If
something slipped in first, the new leader catches up again and retries. Then it serves.

Crash-only: a leader that finds its lease gone (taken by another, or run out while NATS
was out of reach), or whose commit is fenced, exits (code 70) at once rather than answer
for a state it may not own; its supervisor starts it again, as a standby. While the lease
bucket does not answer at all, the leader keeps serving: its commits are still fenced.
A clean stop finishes the engine's queued work and its final snapshot, then deletes the
lease, so a standby takes over at its next poll instead of after the lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from jis.api.handlers import Admission
from jis.clock import Clock
from jis.engine.runner import EngineRunner
from jis.store.base import LogRecord
from jis.store.jetstream import JetStreamStore, StoreUnavailable

log = logging.getLogger(__name__)

POLL_S = 0.05
"""How often a standby looks for new commits."""
EXIT_LOST = 70
"""Exit code of a leader that lost its lease (as an engine failure: restart, recover)."""
TAKEOVER_TRIES = 20


def _at_imports(records: list[LogRecord]) -> list[list[LogRecord]]:
    """``records`` cut before each commit that holds an "import" (a commit stays whole)."""
    parts: list[list[LogRecord]] = [[]]
    for r in records:
        if r.kind == "import":
            current = parts[-1]
            cut = next((i for i, x in enumerate(current) if x.seq == r.seq), len(current))
            if cut > 0:
                parts[-1] = current[:cut]
                parts.append(current[cut:])
        parts[-1].append(r)
    return [p for p in parts if p]


class Leadership:
    """The leader/standby role of this process on one stream (a thread of its own)."""

    def __init__(
        self,
        store: JetStreamStore,
        runner: EngineRunner,
        clock: Clock,
        admission: Admission,
        on_role: Callable[[bool], None],
        holder: str = "",
    ) -> None:
        self.store, self.runner, self.clock, self.admission = store, runner, clock, admission
        self.on_role = on_role
        """Called with True when this process becomes the leader (and with False at start)."""
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.ttl = store.lease_ttl
        self.revision: int | None = None
        self.leader = False
        self._next_try = 0.0
        """When this standby next tries to take the lease (time.monotonic())."""
        self._stop = threading.Event()
        """Set at a clean stop: a standby stops following the log and taking over."""
        self._standing_by = threading.Event()
        """Set when the standby's loop is over (it leads, or it stops)."""
        self._release = threading.Event()
        """Set once the runner has stopped: the leader stops renewing and gives the lease up."""
        self._thread = threading.Thread(target=self._run, name="jis-leadership", daemon=True)

    def start(self) -> None:
        self.runner.standby = True
        self.store.writable = False
        self.admission.standby = (
            f"this server is a standby of stream {self.store.stream}: writes go to its leader "
            "(retry on another address)"
        )
        self.on_role(False)
        self._thread.start()

    def stop_following(self) -> None:
        """A clean stop, before the runner's: a standby stops handing the engine commits and
        does not take over; a leader keeps renewing its lease until :meth:`stop`."""
        self._stop.set()
        if self._thread.ident is not None:
            self._standing_by.wait(timeout=self.ttl + 5)

    def stop(self) -> None:
        """A clean stop, once the runner has stopped (its queued work committed, its final
        snapshot written): the lease goes at once, so a standby need not wait for it to expire."""
        self._stop.set()
        self._release.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=self.ttl + 5)
        if self.leader and self.revision is not None:
            self.store.release_lease(self.revision)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._catch_up()
                    if self._try_lead():
                        break
                except StoreUnavailable as exc:  # a standby waits NATS out (a node lost, an election)
                    log.warning("standby: %s; retrying", exc)
                    self._stop.wait(0.5)
                self._stop.wait(POLL_S)
            self._standing_by.set()
            if self.leader:
                self._keep_lease()
        except BaseException:
            log.critical("leadership failed; exiting so that a restart recovers", exc_info=True)
            os._exit(EXIT_LOST)

    # -- standby -------------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Apply the commits the leader appended since the last look (on the engine thread,
        where their breaks and build-sequence changes reach the watchers as the leader's did)."""
        if self.store.stream_last_seq() <= self.store.last_seq():
            return
        records = list(self.store.records(self.store.last_seq()))
        engine = self.runner.engine
        # A line taken in restarts the build-sequence cursors (Engine.import_line): what came
        # before it is sent to this standby's watchers first, in a group of its own.
        for part in _at_imports(records):

            def follow(at: int, part: list[LogRecord] = part) -> int:
                return engine.follow(part)

            self.runner.submit(follow).result()
        self.clock.advance_to(engine.last_at)

    def _try_lead(self) -> bool:
        if time.monotonic() < self._next_try:
            return False
        self._next_try = time.monotonic() + self.ttl / 4
        revision = self.store.take_lease(self.holder)
        if revision is None:
            return False
        self.revision = revision
        log.info("took the lease of stream %s; catching up", self.store.stream)
        for _ in range(TAKEOVER_TRIES):
            self._catch_up()
            if self.runner.submit(self._mark).result():
                self.leader = True
                self.runner.standby = False
                self.admission.standby = None
                log.info("leader of stream %s from log position %d", self.store.stream, self.store.last_seq())
                self.on_role(True)
                return True
            renewed = self.store.renew_lease(self.holder, self.revision)
            if renewed is None:
                return False
            self.revision = renewed
        self.store.release_lease(self.revision)
        return False

    def _mark(self, at: int) -> bool:
        """On the engine thread: append the takeover's mark, fenced on the stream's end as
        caught up to. False if another writer appended meanwhile (catch up, try again)."""
        engine, store = self.runner.engine, self.store
        store.writable = True
        store.append("leader", at, self.holder.encode())
        try:
            store.commit()
        except StoreUnavailable:  # fenced, or NATS out of reach: catch up and try again
            store.writable = False
            return False
        engine.last_at = max(engine.last_at, at)
        return True

    # -- leader --------------------------------------------------------------------------

    def _keep_lease(self) -> None:
        """Renew every third of the lease. While the lease bucket does not answer (a NATS
        node lost and its group electing, a partition) keep trying: the lease is only lost if
        the bucket, once it answers, no longer holds our revision. Meanwhile nothing unsafe
        can be acknowledged, because every commit is fenced on the stream's end: if a standby
        took over, this server's next commit fails and it exits."""
        renewed_at = time.monotonic()
        warned = False
        while not self._release.wait(self.ttl / 3):
            assert self.revision is not None
            try:
                revision = self.store.renew_lease(self.holder, self.revision)
            except StoreUnavailable as exc:
                if not warned and time.monotonic() - renewed_at >= self.ttl:
                    log.warning(
                        "cannot renew the lease of stream %s for %.1f s: %s; still trying",
                        self.store.stream,
                        time.monotonic() - renewed_at,
                        exc,
                    )
                    warned = True
                continue
            if revision is None:
                log.critical(
                    "lost the lease of stream %s (another server took it, or it ran out while "
                    "NATS was out of reach); exiting",
                    self.store.stream,
                )
                os._exit(EXIT_LOST)
            if warned:
                log.warning(
                    "renewed the lease of stream %s after %.1f s",
                    self.store.stream,
                    time.monotonic() - renewed_at,
                )
                warned = False
            self.revision, renewed_at = revision, time.monotonic()
