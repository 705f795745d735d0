"""Lines partitioned over engine groups: which group owns a line, which servers a group has.

Servers started with ``--group NAME`` on one NATS cluster share two KV buckets named after
``--stream``: ``<stream>_directory`` maps each line to the group that owns it (assigned by
an admin, DirectoryService.AssignLine), and ``<stream>_members`` holds each server's
address under its group, renewed every third of the lease and gone a lease after the
server is. Each group has its own stream (``<stream>_<group>``), lease and snapshots
(jis.ha), so each has its own leader and standbys.

Every server keeps the directory in memory (a KV watcher updates it as assignments change)
and refuses a call naming a line that another group owns with FAILED_PRECONDITION and a
google.rpc.ErrorInfo detail (reason LINE_IN_OTHER_GROUP) that names the group and its
servers, so a client follows it without parsing text. A line no group owns is refused the
same way, without a group. Calls without a line (all lines) answer for this group's lines.
A line being moved to another group (:class:`LineMover`) is refused UNAVAILABLE by every
server until the move is done.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from jis.config import GROUP_NAME
from jis.engine.move import LineHistory, conflicts, replay_differs
from jis.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable

if TYPE_CHECKING:  # nats-py is the optional extra of the replicated store: imported when used
    from nats.js.kv import KeyValue

    from jis.engine.runner import EngineRunner
    from jis.store.jetstream import JetStreamStore

log = logging.getLogger(__name__)

ERROR_REASON = "LINE_IN_OTHER_GROUP"


def require_group(name: str, field: str = "group") -> str:
    if not GROUP_NAME.match(name):
        raise InvalidArgument(field, "letters, digits, '-' and '_', 1 to 32 of them")
    return name


def group_stream(base: str, group: str) -> str:
    """The stream of an engine group's log: ``<stream>_<group>``."""
    return f"{base}_{group}"


def _key(line_id: str) -> str:
    """A KV key for any line id (KV keys allow few characters): its UTF-8, base64url."""
    return "line." + base64.urlsafe_b64encode(line_id.encode()).decode()


def _line(key: str) -> str:
    return base64.urlsafe_b64decode(key.removeprefix("line.").encode()).decode()


class LineElsewhere(FailedPrecondition):
    """A call for a line this server's group does not own; carries where it lives."""

    def __init__(self, line_id: str, group: str, addresses: list[str]) -> None:
        where = (
            f"line {line_id!r} belongs to group {group!r} (servers: {', '.join(addresses) or 'none up'})"
            if group
            else f"line {line_id!r} is assigned to no group: jis lines assign {line_id} GROUP"
        )
        super().__init__("line_id", where)
        self.line_id, self.group, self.addresses = line_id, group, addresses

    def error_info(self) -> tuple[str, dict[str, str]]:
        """(reason, metadata) of its google.rpc.ErrorInfo."""
        return ERROR_REASON, {
            "line_id": self.line_id,
            "group": self.group,
            "addresses": ",".join(self.addresses),
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    line_id: str
    group: str
    addresses: tuple[str, ...]


class Directory:
    def __init__(self, store: JetStreamStore, base: str, group: str, address: str) -> None:
        from jis.store.jetstream import StoreUnavailable

        self.store, self.base, self.group, self.address = (
            store,
            base,
            require_group(group, "--group"),
            address,
        )
        self._entries: dict[str, Entry] = {}
        """line_id -> its entry as the watcher last saw it: replaced whole, never changed in
        place, so a reader on another thread sees one entry or the next, not a mix."""
        self.changed = threading.Event()
        """Set whenever an assignment changes (the mover waits on it)."""
        self._members: dict[str, tuple[str, float]] = {}
        """member key -> (address, when it was last renewed, Unix s), as its watcher saw it."""
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.store._run(self._open(), store.timeout * 4)
        if not self._ready.wait(store.timeout * 2):
            raise StoreUnavailable(f"the directory {base}_directory did not load")
        self._member_key = f"{self.group}.{base64.urlsafe_b64encode(address.encode()).decode()}"
        self._member = threading.Thread(target=self._keep_member, name="jis-member", daemon=True)
        self._member.start()

    async def _open(self) -> None:
        self.kv = await self.store.kv_bucket(f"{self.base}_directory", None)
        self.members = await self.store.kv_bucket(f"{self.base}_members", self.store.lease_ttl)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._watch(await self.members.watchall(), self._member_entry, None)),
            loop.create_task(self._watch(await self.kv.watchall(), self._line_entry, self._ready)),
        ]

    async def _watch(
        self,
        watcher: KeyValue.KeyWatcher,
        apply: Callable[[KeyValue.Entry], None],
        ready: threading.Event | None,
    ) -> None:
        """Keep a bucket's entries in memory, so that routing reads no more than a dict. An
        entry this server cannot read is logged and left out; if the watch itself fails, the
        server exits (crash-only: routing on a directory that no longer updates would send
        clients to the wrong group) and its supervisor starts it again."""
        try:
            async for entry in watcher:
                if entry is not None:
                    try:
                        apply(entry)
                    except (ValueError, KeyError, TypeError) as exc:  # not written by jis
                        log.error("directory entry %r left out: %s", entry.key, exc)
                if ready is not None and (entry is None or entry.delta == 0):  # the current values are in
                    ready.set()
        except asyncio.CancelledError:
            raise
        except BaseException:
            if not self._stop.is_set():
                from jis.ha import EXIT_LOST

                log.critical("the directory watch failed; exiting so that a restart recovers", exc_info=True)
                os._exit(EXIT_LOST)

    def _line_entry(self, entry: KeyValue.Entry) -> None:
        line_id = _line(entry.key)
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            self._entries.pop(line_id, None)
        else:
            self._learn(line_id, Entry.decode(entry.value, int(entry.revision or 0)))
        self.changed.set()

    def _learn(self, line_id: str, e: Entry) -> None:
        """Keep ``e`` unless a later revision is known already (a write of this server and
        the watcher's echo of it may arrive in either order)."""
        known = self._entries.get(line_id)
        if known is None or known.revision < e.revision:
            self._entries[line_id] = e

    def _member_entry(self, entry: KeyValue.Entry) -> None:
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            self._members.pop(entry.key, None)
        else:
            created = getattr(entry.created, "timestamp", None)  # a datetime from the watcher
            when = created() if callable(created) else time.time()
            self._members[entry.key] = (entry.value.decode(), when)

    def _keep_member(self) -> None:
        import nats.errors

        from jis.store.jetstream import StoreUnavailable

        key = self._member_key
        while not self._stop.is_set():
            with contextlib.suppress(StoreUnavailable, nats.errors.Error):
                self.store._run(self.members.put(key, self.address.encode()), self.store.lease_ttl)
            self._stop.wait(self.store.lease_ttl / 3)

    def stop(self) -> None:
        """Stop renewing this server's address, and take it out at once (clients need not
        wait for it to expire)."""
        import nats.errors

        from jis.store.jetstream import StoreUnavailable

        self._stop.set()
        self._member.join(timeout=self.store.lease_ttl)
        with contextlib.suppress(StoreUnavailable, nats.errors.Error):
            self.store._run(self.members.delete(self._member_key))

    # -- reads ---------------------------------------------------------------------------

    def stream_of(self, group: str) -> str:
        """The log stream of ``group``."""
        return group_stream(self.base, group)

    def servers(self) -> dict[str, list[str]]:
        """group -> the addresses of its servers up now: renewed within the lease (an entry
        that expires leaves no trace a watcher sees, so the age is checked here)."""
        fresh = time.time() - self.store.lease_ttl
        out: dict[str, list[str]] = {}
        for key, (address, when) in list(self._members.items()):
            if when >= fresh:
                out.setdefault(key.split(".", 1)[0], []).append(address)
        return {g: sorted(a) for g, a in out.items()}

    def entry(self, line_id: str) -> Entry | None:
        return self._entries.get(line_id)

    @property
    def moving(self) -> dict[str, Move]:
        """The moves under way, by line."""
        return {line: e.move for line, e in list(self._entries.items()) if e.move is not None}

    def assignments(self, line_ids: list[str]) -> list[Assignment]:
        servers = self.servers()
        entries = self._entries
        found = [(line, entries.get(line)) for line in (line_ids or sorted(entries))]
        return [
            Assignment(line, e.owner, tuple(servers.get(e.owner, []))) for line, e in found if e is not None
        ]

    def route(self, line_ids: list[str]) -> None:
        """LineElsewhere (FAILED_PRECONDITION, saying where) unless this server's group owns
        every one of these lines; UNAVAILABLE for a line being moved."""
        for line_id in line_ids:
            e = self._entries.get(line_id)
            if e is not None and e.move is not None:
                raise Unavailable(
                    "line_id",
                    f"line {line_id!r} is moving from group {e.move.src!r} to {e.move.dst!r}; retry",
                )
            if line_id and (e is None or e.owner != self.group):
                group = "" if e is None else e.owner
                raise LineElsewhere(line_id, group, self.servers().get(group, []) if group else [])

    # -- writes --------------------------------------------------------------------------

    def assign(self, line_id: str, group: str) -> Assignment:
        """Assign ``line_id`` to ``group``; FAILED_PRECONDITION if another group owns it (a
        move carries the line's state: :meth:`move`)."""
        require_group(group)
        e = self._entries.get(line_id)
        if e is not None and e.move is not None:
            raise Unavailable("line_id", f"line {line_id!r} is moving; retry when it is done")
        if e is not None and e.owner != group:
            raise FailedPrecondition(
                "group",
                f"line {line_id!r} belongs to group {e.owner!r}; move it with its state: "
                f"jis lines move {line_id} {group}",
            )
        if e is None:
            self._write(line_id, None, group.encode())
        return Assignment(line_id, group, tuple(self.servers().get(group, [])))

    def move(self, line_id: str, group: str) -> int:
        """Start moving an assigned line to ``group`` (see :class:`LineMover`): from now on
        every server answers UNAVAILABLE for it until the move is over. Returns the revision
        of the line's entry to wait past (the move's, or the current one if there is
        nothing to do)."""
        require_group(group)
        e = self._entries.get(line_id)
        if e is None:
            raise FailedPrecondition("line_id", f"line {line_id!r} is assigned to no group: assign it")
        if e.move is not None:
            if e.move.dst == group:
                return e.revision
            raise FailedPrecondition(
                "line_id", f"line {line_id!r} is already moving from {e.move.src!r} to {e.move.dst!r}"
            )
        if e.owner == group:
            return e.revision
        if not self.servers().get(group):
            raise FailedPrecondition("group", f"group {group!r} has no server up to take line {line_id!r}")
        return self._write(line_id, e, Move(e.owner, group, False).encode())

    def accept(self, line_id: str, e: Entry) -> None:
        """The receiving group can take the line: its owner may release it now."""
        assert e.move is not None
        self._write(line_id, e, e.move._replace(accepted=True).encode())

    def end_move(self, line_id: str, e: Entry, owner: str, why: str = "") -> None:
        """The move is over: ``owner`` (the receiving group, or the old one with ``why`` if
        it was called off) owns the line from now on."""
        assert e.move is not None
        value = owner.encode() if not why else json.dumps({"owner": owner, "refused": why}).encode()
        self._write(line_id, e, value)

    def _write(self, line_id: str, expect: Entry | None, value: bytes) -> int:
        """Set the line's entry to ``value`` if it is still ``expect`` (None: if there is
        none): a compare-and-set, so two writers never both win. Returns its revision."""
        import nats.js.errors

        from jis.store.jetstream import StoreUnavailable

        kv, key = self.kv, _key(line_id)
        try:
            if expect is None:
                revision = self.store._run(kv.create(key, value))
            else:
                revision = self.store._run(kv.update(key, value, last=expect.revision))
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.KeyNotFoundError):
            raise Unavailable("line_id", f"line {line_id!r} changed meanwhile; retry") from None
        except StoreUnavailable as exc:
            raise Unavailable("line_id", f"the directory did not answer: {exc}") from None
        self._learn(line_id, Entry.decode(value, int(revision)))
        return int(revision)


class Move(NamedTuple):
    """A move under way, as the line's directory entry holds it (JSON)."""

    src: str
    dst: str
    accepted: bool
    """The receiving group checked it can take the line (ids, supplier configuration)."""

    def encode(self) -> bytes:
        return json.dumps({"from": self.src, "to": self.dst, "accepted": self.accepted}).encode()


class Entry(NamedTuple):
    """A line's directory entry: its owner, and the move under way if any. The value is the
    owning group's name, or JSON: a move ``{"from", "to", "accepted"}``, or an owner whose
    last move was called off ``{"owner", "refused"}`` (why, for MoveLine to answer)."""

    owner: str
    move: Move | None
    refused: str
    revision: int

    @classmethod
    def decode(cls, value: bytes, revision: int) -> Entry:
        if not value.startswith(b"{"):
            return cls(value.decode(), None, "", revision)
        m = json.loads(value)
        if "owner" in m:
            return cls(m["owner"], None, str(m.get("refused", "")), revision)
        move = Move(m["from"], m["to"], bool(m.get("accepted")))
        return cls(move.src, move, "", revision)


class LineMover:
    """Carries out the moves of the directory on this server, when it leads its group.

    1. ``DirectoryService.MoveLine`` writes the move into the directory: every server
       answers UNAVAILABLE for the line from then on (clients retry).
    2. The leader of the receiving group reads the owner's log and checks it can take the
       line (:func:`jis.engine.move.conflicts`): it accepts the move, or calls it off.
    3. The owner's leader checks that the line's records in its log replay to the line as
       it holds it (:func:`jis.engine.move.replay_differs`), and journals a "release" of
       it: its state leaves that engine (Engine.release_line); an input for it still
       queued is refused as UNAVAILABLE. A line whose records do not replay to it, or that
       is tied to another (a shared truck, a rack of another line carrying its parts),
       cannot go: the move is called off.
    4. The receiving leader reads the owner's log up to that release and journals the
       line's records as one "import" (Engine.import_line): the line's state is now
       replayed here, at the times it happened. It flips the directory: the line is its
       group's.
    Each step is idempotent, driven by what the directory and the logs say, so a leader
    that dies mid-way leaves the step to the next leader of its group. Why a move was
    called off is in that leader's log (and MoveLine's answer when it runs there)."""

    POLL_S = 0.2

    def __init__(self, directory: Directory, runner: EngineRunner, is_leader: Callable[[], bool]) -> None:
        self.directory, self.runner, self.is_leader = directory, runner, is_leader
        self._histories: dict[tuple[str, str], LineHistory] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jis-line-mover", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.directory.changed.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        from jis.store.jetstream import StoreUnavailable

        d = self.directory
        while not self._stop.is_set():
            d.changed.wait(self.POLL_S)
            d.changed.clear()
            for line_id, e in list(d._entries.items()):
                m = e.move
                if m is None:
                    continue
                if self._stop.is_set() or not self.is_leader():
                    break
                try:
                    if m.src == d.group and m.accepted:
                        self._release(line_id, e)
                    elif m.dst == d.group:
                        self._take(line_id, e)
                except (StoreUnavailable, DomainError, TimeoutError) as exc:
                    log.warning("moving line %s from %s to %s: %s; retrying", line_id, m.src, m.dst, exc)

    def _call_off(self, line_id: str, e: Entry, why: str) -> None:
        assert e.move is not None
        log.error("line %s cannot move to %s: %s; the move is called off", line_id, e.move.dst, why)
        self.directory.end_move(line_id, e, e.move.src, why)

    def _release(self, line_id: str, e: Entry) -> None:
        assert e.move is not None
        d, engine, dst = self.directory, self.runner.engine, e.move.dst
        if engine.seq.moved_out.get(line_id) == dst and line_id not in engine.seq.lines:
            return  # released already: the receiving group takes it from the log
        own = LineHistory(line_id)  # what the receiving group will read
        for r in d.store.stream_records(d.stream_of(d.group)):
            own.add(r)

        def release(at: int) -> None:
            why = replay_differs(own, engine, at)
            if why is not None:
                raise FailedPrecondition("line_id", f"line {line_id!r} cannot move: {why}")
            engine.release_line(line_id, dst, at)

        try:
            self.runner.submit(release).result(timeout=120)
        except FailedPrecondition as exc:  # it cannot move: the line stays
            self._call_off(line_id, e, str(exc))
            return
        log.info("released line %s to group %s", line_id, dst)

    def _take(self, line_id: str, e: Entry) -> None:
        d, engine, m = self.directory, self.runner.engine, e.move
        assert m is not None
        if line_id not in engine.seq.lines:
            history = self._histories.setdefault((m.src, line_id), LineHistory(line_id))
            for r in d.store.stream_records(d.stream_of(m.src), history.seq):
                history.add(r)
            if not m.accepted:
                why = self.runner.submit(lambda at: conflicts(history, engine)).result(timeout=60)
                if why is not None:
                    self._histories.pop((m.src, line_id), None)
                    self._call_off(line_id, e, why)
                else:
                    d.accept(line_id, e)
                return
            if history.released_to != m.dst:
                return  # not released yet
            records = list(history.records)

            def take(at: int) -> None:
                why = conflicts(history, engine)  # again: inputs may have come in since it accepted
                if why is not None:
                    raise FailedPrecondition("line_id", f"line {line_id!r} cannot be imported: {why}")
                engine.import_line(line_id, m.src, records, at, history.released_head)

            try:
                self.runner.submit(take).result(timeout=120)
            except FailedPrecondition:
                if line_id not in engine.seq.lines:
                    raise  # logged and tried again: the line stays UNAVAILABLE until mended
            log.info("imported line %s from group %s (%d records)", line_id, m.src, len(records))
            self._histories.pop((m.src, line_id), None)
        d.end_move(line_id, e, m.dst)
