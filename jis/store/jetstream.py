"""The replicated store: the log on a NATS JetStream stream, snapshots in an Object Store.

**Log.** One engine commit (a group of records, and the archive rows that go with them) is
one message on the stream, so a reader sees all of it or none. A commit larger than the
server's max_payload is one JetStream *atomic batch* (ADR-50, nats-server 2.12+: the stream
has ``allow_atomic``): its pieces are stored together at the batch's commit or not at all,
also if the writer dies half way. Single messages are the common case; a chunked commit
with a marker would need readers to recognise and skip a torn tail, which the atomic batch
makes the server's job. Every append carries ``Nats-Expected-Last-Sequence``: the writer's
idea of the stream's last sequence. A writer that lost its lease (see
:mod:`jis.store.lease`) and whose successor appended anything cannot append again: its
next commit fails (:class:`StoreFenced`), so two histories can never both be acknowledged.

A log position is the stream sequence of a commit's (last) message; the records of one
commit share it. Commits with archive rows go to subject ``<prefix>.archive``, the others
to ``<prefix>.plain``.

**Archive.** Retention's archive rows travel inside their commit (so they are replicated
and atomic with it). Each instance indexes them into a local SQLite file in its data dir
(``archive.sqlite3``, the embedded store's archive tables), from every commit it writes or
reads; on open it first reads the archive commits it has not indexed yet (a filtered
consumer on ``<prefix>.archive``), so a fresh instance answers archive reads as any other.

**Snapshots** go to the Object Store bucket ``<stream>_snapshots`` (object ``state``,
its log position in the object's headers), replicated like the stream.

nats-py is asyncio; the engine thread is not. The store runs its own event loop on a
thread and waits for each operation (``commit`` releases the GIL meanwhile, as SQLite's
fsync does, so the runner's overlap works the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sqlite3
import struct
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from jis.store import sqlite as archive_db
from jis.store.base import ArchivedBreak, BreakQuery, LogRecord, StoreCorrupt, read_latest_snapshot

T = TypeVar("T")

MAGIC = b"JISC1"
EXPECTED_LAST = "Nats-Expected-Last-Sequence"
WRONG_LAST_SEQUENCE = (10071, 10164)
"""JetStream's error codes for a failed Nats-Expected-Last-Sequence check."""
LEASE_KEY = "leader"
MAX_BATCH = 1000
"""Messages per atomic batch (the server's limit)."""
DUPLICATE_WINDOW_S = 120.0
"""How long JetStream remembers a commit's Nats-Msg-Id (a re-sent commit is not stored twice)."""
CONNECT_S = 15.0
"""How long opening the store tries to reach a NATS server at all."""
STARTUP_S = 60.0
"""How long opening the store waits for JetStream (a cluster starting elects its leaders)."""
EMPTY_CHECK_S = 0.2
"""How long a reader waits for its first message before it asks whether any is to come."""

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """NATS did not answer in time, or refused the operation."""


UNREACHABLE = (
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.errors.ConnectionClosedError,
)
"""What nats-py raises while a node is lost or a JetStream leader is being elected."""


class StoreFenced(StoreUnavailable):
    """Another writer appended since this one's last commit: this one must stop writing."""


@dataclass(slots=True)
class Commit:
    """What one commit carries: its records and its archive rows."""

    records: list[tuple[str, int, bytes]] = field(default_factory=list)
    breaks: list[ArchivedBreak] = field(default_factory=list)
    items: list[tuple[str, str, bytes]] = field(default_factory=list)
    facts: list[tuple[str, int, int, bytes]] = field(default_factory=list)

    def has_archive(self) -> bool:
        return bool(self.breaks or self.items or self.facts)


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def _bytes(b: bytes) -> bytes:
    return struct.pack("<I", len(b)) + b


def encode_commit(c: Commit) -> bytes:
    out = [MAGIC, struct.pack("<IIII", len(c.records), len(c.breaks), len(c.items), len(c.facts))]
    for kind, at, body in c.records:
        out += [_str(kind), struct.pack("<q", at), _bytes(body)]
    for b in c.breaks:
        out += [struct.pack("<qqi", b.number, b.resolved_at, b.type), _str(b.line_id), _str(b.supplier_id)]
        out.append(_bytes(b.body))
    for kind, ident, body in c.items:
        out += [_str(kind), _str(ident), _bytes(body)]
    for kind, lo, hi, body in c.facts:
        out += [_str(kind), struct.pack("<qq", lo, hi), _bytes(body)]
    return b"".join(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.off = memoryview(data), 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.off + size > len(self.data):
            raise StoreCorrupt("a commit message ends early")
        out = struct.unpack_from(fmt, self.data, self.off)
        self.off += size
        return out

    def raw(self, n: int) -> bytes:
        if self.off + n > len(self.data):
            raise StoreCorrupt("a commit message ends early")
        out = bytes(self.data[self.off : self.off + n])
        self.off += n
        return out

    def str(self) -> str:
        return self.raw(self.take("<H")[0]).decode()

    def bytes(self) -> bytes:
        return self.raw(self.take("<I")[0])


def decode_commit(data: bytes) -> Commit:
    if not data.startswith(MAGIC):
        raise StoreCorrupt("a message of the log stream is not a jis commit")
    r = _Reader(data)
    r.off = len(MAGIC)
    n_rec, n_brk, n_item, n_fact = r.take("<IIII")
    c = Commit()
    for _ in range(n_rec):
        kind = r.str()
        (at,) = r.take("<q")
        c.records.append((kind, at, r.bytes()))
    for _ in range(n_brk):
        number, resolved_at, type_ = r.take("<qqi")
        line_id, supplier_id = r.str(), r.str()
        c.breaks.append(ArchivedBreak(number, resolved_at, line_id, supplier_id, type_, r.bytes()))
    for _ in range(n_item):
        c.items.append((r.str(), r.str(), r.bytes()))
    for _ in range(n_fact):
        kind = r.str()
        lo, hi = r.take("<qq")
        c.facts.append((kind, lo, hi, r.bytes()))
    if r.off != len(data):
        raise StoreCorrupt("a commit message has bytes past its end")
    return c


class EventLoopThread:
    """An asyncio loop on a daemon thread, for calling nats-py from synchronous code."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except UNREACHABLE as exc:
            raise StoreUnavailable(f"NATS is out of reach: {exc!r}") from None
        except TimeoutError:
            if fut.done():  # the operation's own timeout (asyncio's TimeoutError is the builtin)
                raise StoreUnavailable("NATS did not answer in time") from None
            fut.cancel()
            raise StoreUnavailable(f"NATS did not answer within {timeout} s") from None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def parse_servers(url: str) -> list[str]:
    """``nats://h1:4222,h2:4222`` or ``nats://h1:4222,nats://h2:4222`` -> the server URLs."""
    if not url.startswith("nats://"):
        raise ValueError(f"{url!r} is not a nats:// URL")
    out = []
    for part in url.removeprefix("nats://").split(","):
        part = part.strip().removeprefix("nats://")
        if not part:
            raise ValueError(f"{url!r} names an empty server")
        out.append(f"nats://{part}")
    return out


class JetStreamStore:
    """The Store protocol (jis.store.base) on a JetStream stream; see the module doc."""

    def __init__(
        self,
        servers: list[str],
        data_dir: Path,
        stream: str = "JIS",
        replicas: int = 1,
        timeout: float = 5.0,
        lease_ttl: float = 3.0,
    ) -> None:
        self.stream = stream
        self.lease_ttl = lease_ttl
        self.writable = True
        """False on a standby: a commit with records is refused before anything is sent."""
        self.prefix = f"jis.{stream}.log"
        self.timeout = timeout
        self.replicas = replicas
        self._io = EventLoopThread(f"jis-nats-{stream}")
        self._nc: NatsClient | None = None
        try:
            self._run(self._connect(servers), CONNECT_S + STARTUP_S + timeout)
        except BaseException:
            self._io.stop()
            raise
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "archive.sqlite3"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(archive_db.SCHEMA)
        self._db.execute("CREATE TABLE IF NOT EXISTS archive_indexed (stream TEXT PRIMARY KEY, seq INTEGER)")
        self._pending = Commit()
        self._index_archive()

    # -- the event loop ----------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._io.run(coro, self.timeout if timeout is None else timeout)

    async def _connect(self, servers: list[str]) -> None:
        try:
            # Reconnects go on for ever once connected; the first connection gets CONNECT_S.
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=servers,
                    connect_timeout=self.timeout,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.2,
                    allow_reconnect=True,
                    name=f"jis {self.stream}",
                ),
                CONNECT_S,
            )
        except (nats.errors.NoServersError, OSError, TimeoutError) as exc:
            detail = f": {exc}" if str(exc) else ""
            raise StoreUnavailable(
                f"cannot reach NATS at {', '.join(servers)} within {CONNECT_S:.0f} s{detail}"
            ) from None
        self.js = self._nc.jetstream(timeout=self.timeout)
        deadline = asyncio.get_running_loop().time() + STARTUP_S
        while True:  # a cluster that has just started elects its JetStream leaders first
            try:
                await self._open_buckets()
                return
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, TimeoutError) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreUnavailable(f"JetStream did not answer for {STARTUP_S} s: {exc!r}") from None
                log.info("waiting for JetStream (%r)", exc)
                await asyncio.sleep(0.5)

    async def _open_buckets(self) -> None:
        """The stream, the lease bucket and the snapshot bucket, created if missing."""
        config = api.StreamConfig(
            name=self.stream,
            subjects=[f"{self.prefix}.*"],
            storage=api.StorageType.FILE,
            num_replicas=self.replicas,
            retention=api.RetentionPolicy.LIMITS,
            discard=api.DiscardPolicy.NEW,
            allow_atomic=True,
            allow_direct=True,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        try:
            info = await self.js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            info = await self.js.add_stream(config)
        self._last = info.state.last_seq
        # Lease operations time out well within the lease: a renewal that hangs on a lost node
        # is tried again on the next one before the lease runs out.
        quick = self.nc.jetstream(timeout=max(0.5, self.lease_ttl / 3))
        self.lease = await self.kv_bucket(f"{self.stream}_lease", self.lease_ttl, quick)
        bucket = f"{self.stream}_snapshots"
        try:
            self.objects = await self.js.object_store(bucket)
        except nats.js.errors.BucketNotFoundError:
            self.objects = await self.js.create_object_store(
                bucket, config=api.ObjectStoreConfig(storage=api.StorageType.FILE, replicas=self.replicas)
            )

    async def kv_bucket(self, name: str, ttl: float | None, js: JetStreamContext | None = None) -> KeyValue:
        """The KV bucket ``name`` (one value per key, file storage, this store's replicas,
        entries expiring after ``ttl`` seconds if given), created if missing; its operations
        time out as ``js``'s (default: this store's)."""
        js = js or self.js
        try:
            return await js.key_value(name)
        except nats.js.errors.BucketNotFoundError:
            config = api.KeyValueConfig(
                bucket=name, history=1, ttl=ttl, storage=api.StorageType.FILE, replicas=self.replicas
            )
            await self.js.create_key_value(config)
            return await js.key_value(name)

    @property
    def nc(self) -> NatsClient:
        assert self._nc is not None
        return self._nc

    # -- the log -----------------------------------------------------------------------

    def append(self, kind: str, at: int, body: bytes) -> int:
        self._pending.records.append((kind, at, body))
        return self._last + 1

    def archive_breaks(self, rows: list[ArchivedBreak]) -> None:
        self._require_open()
        self._pending.breaks += rows

    def archive_items(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        self._require_open()
        self._pending.items += [(kind, ident, body) for ident, body in items]

    def archive_facts(self, kind: str, span: tuple[int, int], body: bytes) -> None:
        self._require_open()
        self._pending.facts.append((kind, span[0], span[1], body))

    def _require_open(self) -> None:
        if not self._pending.records:
            raise RuntimeError("archive rows go with the records of a commit")

    def commit(self, overlap: Callable[[], object] | None = None) -> None:
        c = self._pending
        if not c.records:
            return
        self._pending = Commit()
        if not self.writable:
            raise StoreFenced(f"this instance is a standby of stream {self.stream}: it does not append")
        subject = f"{self.prefix}.{'archive' if c.has_archive() else 'plain'}"
        fut = asyncio.run_coroutine_threadsafe(self._append(subject, encode_commit(c)), self._io.loop)
        if overlap is not None:
            overlap()
        try:
            seq = fut.result(self.timeout * 4)
        except TimeoutError:
            if fut.done():
                raise StoreUnavailable("NATS did not acknowledge a commit in time") from None
            fut.cancel()
            raise StoreUnavailable(f"NATS did not acknowledge a commit within {self.timeout * 4} s") from None
        self._last = seq
        if c.has_archive():
            self._index(seq, c, mark=True)

    async def _append(self, subject: str, payload: bytes) -> int:
        """Publish one commit, fenced on the last position this writer knows. A commit that
        fits one message is re-sent while NATS does not acknowledge it (a node lost, the
        client reconnecting to another) with the same Nats-Msg-Id: if the first send was
        stored after all, JetStream answers the re-send as a duplicate with its position,
        so a commit is never stored twice."""
        headers = {EXPECTED_LAST: str(self._last)}
        limit = self.nc.max_payload - 4096  # room for the headers
        try:
            if len(payload) > limit:
                return await self._append_batch(subject, payload, limit, headers)
            headers["Nats-Msg-Id"] = f"{self.stream}:{self._last}:{uuid.uuid4().hex}"
            deadline = asyncio.get_running_loop().time() + self.timeout * 2
            attempt = min(self.timeout, 1.0 + len(payload) / 20e6)  # then re-sent (see above)
            while True:
                try:
                    ack = await self.js.publish(subject, payload, headers=headers, timeout=attempt)
                    return int(ack.seq)
                except (nats.errors.TimeoutError, *UNREACHABLE):
                    if asyncio.get_running_loop().time() > deadline:
                        raise
                    await asyncio.sleep(0.1)
        except nats.js.errors.APIError as exc:
            if exc.err_code in WRONG_LAST_SEQUENCE:
                raise StoreFenced(
                    f"another writer appended to stream {self.stream} after position {self._last}: "
                    "this instance is no longer the leader"
                ) from None
            raise StoreUnavailable(f"JetStream refused a commit: {exc}") from None
        except (nats.errors.TimeoutError, *UNREACHABLE) as exc:
            raise StoreUnavailable(f"JetStream did not acknowledge a commit: {exc!r}") from None

    async def _append_batch(self, subject: str, payload: bytes, limit: int, headers: dict[str, str]) -> int:
        """One commit as an atomic batch of pieces (ADR-50): stored together at the commit
        message, or not at all."""
        pieces = [payload[k : k + limit] for k in range(0, len(payload), limit)]
        if len(pieces) > MAX_BATCH:
            raise StoreUnavailable(f"a commit of {len(payload)} bytes exceeds {MAX_BATCH} pieces")
        batch = uuid.uuid4().hex
        for i, piece in enumerate(pieces, 1):
            h = {"Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(i)}
            if i == 1:
                h |= headers
            if i == len(pieces):
                h["Nats-Batch-Commit"] = "1"
                msg = await self.nc.request(subject, piece, timeout=self.timeout, headers=h)
                return _acked(msg.data)
            await self.nc.publish(subject, piece, headers=h)
        raise AssertionError("unreachable")

    def discard(self, after: int) -> None:
        if self._pending.records:
            raise RuntimeError("discard with records appended but not committed")
        self._run(self._discard(after))
        self._db.execute("BEGIN")
        for table in ("archive_break", "archive_item", "archive_fact"):
            self._db.execute(f"DELETE FROM {table} WHERE seq > ?", (after,))
        self._db.execute("COMMIT")
        # The stream's last sequence stays where it was (a deleted message keeps its number):
        # readers stop at what is left (see commits), and a successor, which reads the last
        # sequence from the stream, appends fenced on it. This writer's next commit is fenced.
        self._last = min(self._last, after)

    async def _discard(self, after: int) -> None:
        for seq in range(after + 1, self._last + 1):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self.js.delete_msg(self.stream, seq)

    def last_seq(self) -> int:
        return self._last

    def stream_last_seq(self, stream: str | None = None) -> int:
        """The last sequence now of this store's stream (a standby catches up to it), or of
        ``stream``. A message deleted by :meth:`discard` leaves it as it was."""
        info = self._run(self.js.stream_info(stream or self.stream))
        return int(info.state.last_seq)

    def records(self, after: int = 0) -> Iterator[LogRecord]:
        """The committed records after position ``after``, up to the stream's end now."""
        end = self.stream_last_seq()
        yield from self.stream_records(self.stream, after, end)
        self._last = max(self._last, end)

    def stream_records(self, stream: str, after: int = 0, end: int | None = None) -> Iterator[LogRecord]:
        """The committed records of a stream on this cluster (this store's, or the log of
        the group a line moves from) after position ``after``, up to ``end`` (its end now)."""
        if end is None:
            end = self.stream_last_seq(stream)
        for seq, c in self.commits(after, end, stream=stream):
            for kind, at, body in c.records:
                yield LogRecord(seq, kind, at, body)

    def commits(
        self, after: int, end: int, subject: str = "*", stream: str | None = None
    ) -> Iterator[tuple[int, Commit]]:
        """The commits at positions (after, end], in order, archive rows indexed on the way
        (of this store's stream; ``stream``: another's, nothing indexed). Ends early when
        the stream holds nothing more: the messages up to ``end`` were deleted (a discard)."""
        if end <= after:
            return
        own = stream is None or stream == self.stream
        # Reading on from where the index is complete, each commit indexed moves its marker.
        mark = own and after <= self._indexed()
        sub = self._run(self._subscribe(after + 1, subject, None if own else stream))
        pieces: list[bytes] = []  # of an atomic batch, until its commit message
        first = True
        try:
            while True:
                msgs = self._run(self._take(sub, 256, first), self.timeout * 4)
                if not msgs:
                    return
                first = False
                for msg in msgs:
                    seq = int(msg.metadata.sequence.stream)
                    if seq > end:
                        return
                    headers = msg.headers or {}
                    if "Nats-Batch-Id" in headers:
                        pieces.append(msg.data)
                        if headers.get("Nats-Batch-Commit") is None:
                            continue
                        data, pieces = b"".join(pieces), []
                    else:
                        data = msg.data
                    c = decode_commit(data)
                    if own and c.has_archive():
                        self._index(seq, c, mark)
                    yield seq, c
                    if seq == end or msg.metadata.num_pending == 0:
                        return
        finally:
            self._run(sub.unsubscribe())

    async def _subscribe(self, start: int, subject: str, stream: str | None = None) -> Any:
        return await self.js.subscribe(
            f"jis.{stream}.log.{subject}" if stream else f"{self.prefix}.{subject}",
            stream=stream or self.stream,
            ordered_consumer=True,
            config=api.ConsumerConfig(
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            ),
        )

    async def _take(self, sub: Any, n: int, first: bool = False) -> list[Any]:
        """At least one message (waiting up to the timeout), then what else is there, up to n.
        The ``first`` take of a consumer returns none if it has nothing to deliver (every
        message from its start on was deleted, see :meth:`discard`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout * 3
        while True:
            try:
                wait = min(EMPTY_CHECK_S, self.timeout * 3) if first else self.timeout * 3
                out = [await sub.next_msg(timeout=wait)]
                break
            except nats.errors.TimeoutError:
                if not first or loop.time() > deadline:
                    raise StoreUnavailable("the log stream stopped delivering") from None
            try:
                info = await sub.consumer_info()
            except nats.errors.Error:
                continue
            if info.num_pending == 0 and not (info.delivered and info.delivered.consumer_seq):
                return []
        while len(out) < n:
            try:
                out.append(await sub.next_msg(timeout=0))
            except (nats.errors.TimeoutError, TimeoutError):
                break
        return out

    # -- the archive index -------------------------------------------------------------

    def _index(self, seq: int, c: Commit, mark: bool) -> None:
        """Index the archive rows of the commit at ``seq`` and (``mark``: every archive commit
        before it is indexed) move the indexed-up-to marker to it, in one transaction. Rows
        indexed again (a restart before the marker moved) are ignored by their keys."""
        with self._db:
            self._db.execute("BEGIN")
            archive_db.insert_archive(
                self._db,
                [(b.number, b.resolved_at, b.line_id, b.supplier_id, b.type, seq, b.body) for b in c.breaks],
                [(kind, ident, seq, body) for kind, ident, body in c.items],
                [(kind, lo, hi, seq, body) for kind, lo, hi, body in c.facts],
            )
            if mark:
                self._set_indexed(seq)

    def _indexed(self) -> int:
        row = self._db.execute("SELECT seq FROM archive_indexed WHERE stream = ?", (self.stream,)).fetchone()
        return 0 if row is None else int(row[0])

    def _set_indexed(self, seq: int) -> None:
        self._db.execute(
            "INSERT INTO archive_indexed (stream, seq) VALUES (?, ?)"
            " ON CONFLICT (stream) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            (self.stream, seq),
        )

    def _index_archive(self) -> None:
        """Index the archive commits written since this instance last looked."""
        done = self._indexed()
        if self._last > done:
            try:
                last = self._run(self.js.get_msg(self.stream, subject=f"{self.prefix}.archive"))
            except nats.js.errors.NotFoundError:
                last = None
            if last is not None and last.seq is not None and last.seq > done:
                for _ in self.commits(done, int(last.seq), "archive"):
                    pass
            self._set_indexed(self._last)

    def archived_breaks(self, query: BreakQuery, after: tuple[int, int] | None, limit: int) -> list[bytes]:
        return archive_db.archived_breaks(self._db, self.path, query, after, limit)

    def archived_item(self, kind: str, ident: str) -> bytes | None:
        return archive_db.archived_item(self._db, self.path, kind, ident)

    def archived_facts(self, kind: str, start: int, stop: int) -> list[bytes]:
        return archive_db.archived_facts(self._db, self.path, kind, start, stop)

    # -- the leader's lease ------------------------------------------------------------

    def take_lease(self, holder: str) -> int | None:
        """Become the holder of the lease if nobody holds it; its revision, or None (try
        again later)."""
        try:
            return int(self._run(self.lease.create(LEASE_KEY, holder.encode())))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None
        except nats.js.errors.KeyNotFoundError:
            # The client's create() found the key held, then looked it up to see whether it
            # was a delete marker, and by then the entry had expired: free now, not ours yet.
            return None

    def renew_lease(self, holder: str, revision: int) -> int | None:
        """Renew the lease held at ``revision``; the new revision, or None if it was lost."""
        try:
            return int(self._run(self.lease.update(LEASE_KEY, holder.encode(), last=revision)))
        except nats.js.errors.KeyWrongLastSequenceError:
            return None

    def release_lease(self, revision: int) -> None:
        """Give the lease up (a clean stop): a standby need not wait for it to expire."""
        with contextlib.suppress(nats.js.errors.Error, StoreUnavailable):
            self._run(self.lease.delete(LEASE_KEY, last=revision))

    # -- snapshots ---------------------------------------------------------------------

    def save_snapshot(self, seq: int, body: bytes) -> None:
        meta = api.ObjectMeta(name="state", headers={"Jis-Log-Position": str(seq)})
        self._run(self.objects.put("state", body, meta=meta), max(self.timeout * 4, len(body) / 20e6))

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        return read_latest_snapshot(self)

    def open_latest_snapshot(self) -> tuple[int, io.BufferedIOBase] | None:
        try:
            result = self._run(self.objects.get("state"), self.timeout * 30)
        except nats.js.errors.ObjectNotFoundError:
            return None
        headers = result.info.headers or {}
        position = headers.get("Jis-Log-Position")
        if position is None or not str(position).isdigit():
            raise StoreCorrupt(f"the snapshot in {self.stream}_snapshots has no log position")
        return int(position), io.BytesIO(result.data or b"")

    def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(StoreUnavailable, nats.errors.Error):
                self._run(self._nc.drain(), self.timeout)
        self._io.stop()
        self._db.close()


def _acked(data: bytes) -> int:
    resp = json.loads(data)
    if "error" in resp:
        raise nats.js.errors.APIError.from_error(resp["error"])
    return int(resp["seq"])
