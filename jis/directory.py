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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jis.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:  # nats-py is the optional extra of the replicated store: imported when used
    from nats.js.kv import KeyValue

    from jis.store.jetstream import JetStreamStore

log = logging.getLogger(__name__)

GROUP_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
ERROR_REASON = "LINE_IN_OTHER_GROUP"


def require_group(name: str, field: str = "group") -> str:
    if not GROUP_NAME.match(name):
        raise InvalidArgument(field, "letters, digits, '-' and '_', 1 to 32 of them")
    return name


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
        self.lines: dict[str, str] = {}
        """line_id -> owning group, as the watcher last saw it (read from any thread)."""
        self._members: dict[str, tuple[str, float]] = {}
        """member key -> (address, when it was last renewed, Unix s), as its watcher saw it."""
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.store._run(self._open(), store.timeout * 4)
        if not self._ready.wait(store.timeout * 2):
            raise StoreUnavailable(f"the directory {base}_directory did not load")
        self._member = threading.Thread(target=self._keep_member, name="jis-member", daemon=True)
        self._member.start()

    async def _bucket(self, name: str, ttl: float | None) -> KeyValue:
        import nats.js.errors
        from nats.js import api

        js = self.store.js
        try:
            return await js.key_value(name)
        except nats.js.errors.BucketNotFoundError:
            return await js.create_key_value(
                api.KeyValueConfig(
                    bucket=name,
                    history=1,
                    ttl=ttl,
                    storage=api.StorageType.FILE,
                    replicas=self.store.replicas,
                )
            )

    async def _open(self) -> None:
        self.kv = await self._bucket(f"{self.base}_directory", None)
        self.members = await self._bucket(f"{self.base}_members", self.store.lease_ttl)
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
        """Keep a bucket's entries in memory, so that routing reads no more than a dict."""
        async for entry in watcher:
            if entry is not None:
                apply(entry)
            if ready is not None and (entry is None or entry.delta == 0):  # the current values are in
                ready.set()

    def _line_entry(self, entry: KeyValue.Entry) -> None:
        line_id = _line(entry.key)
        if entry.operation in ("DEL", "PURGE") or not entry.value:
            self.lines.pop(line_id, None)
        else:
            self.lines[line_id] = entry.value.decode()

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

        key = f"{self.group}.{base64.urlsafe_b64encode(self.address.encode()).decode()}"
        while not self._stop.is_set():
            with contextlib.suppress(StoreUnavailable, nats.errors.Error):
                self.store._run(self.members.put(key, self.address.encode()), self.store.lease_ttl)
            self._stop.wait(self.store.lease_ttl / 3)

    def stop(self) -> None:
        self._stop.set()

    # -- reads ---------------------------------------------------------------------------

    def servers(self) -> dict[str, list[str]]:
        """group -> the addresses of its servers up now: renewed within the lease (an entry
        that expires leaves no trace a watcher sees, so the age is checked here)."""
        fresh = time.time() - self.store.lease_ttl
        out: dict[str, list[str]] = {}
        for key, (address, when) in list(self._members.items()):
            if when >= fresh:
                out.setdefault(key.split(".", 1)[0], []).append(address)
        return {g: sorted(a) for g, a in out.items()}

    def assignments(self, line_ids: list[str]) -> list[Assignment]:
        servers = self.servers()
        wanted = line_ids or sorted(self.lines)
        return [
            Assignment(line, self.lines[line], tuple(servers.get(self.lines[line], [])))
            for line in wanted
            if line in self.lines
        ]

    def route(self, line_ids: list[str]) -> None:
        """LineElsewhere (FAILED_PRECONDITION, saying where) unless this server's group owns
        every one of these lines."""
        for line_id in line_ids:
            if line_id and self.lines.get(line_id) != self.group:
                group = self.lines.get(line_id, "")
                raise LineElsewhere(line_id, group, self.servers().get(group, []) if group else [])

    def owns(self, line_id: str) -> bool:
        return self.lines.get(line_id) == self.group

    # -- writes --------------------------------------------------------------------------

    def assign(self, line_id: str, group: str) -> Assignment:
        """Assign ``line_id`` to ``group``; FAILED_PRECONDITION if another group owns it (a
        move would have to carry the line's state, which is not offered yet)."""
        require_group(group)
        current = self.lines.get(line_id)
        if current is not None and current != group:
            raise FailedPrecondition(
                "group",
                f"line {line_id!r} belongs to group {current!r}; moving a line between groups "
                "is not offered yet",
            )
        self.store._run(self.kv.put(_key(line_id), group.encode()))
        self.lines[line_id] = group
        return Assignment(line_id, group, tuple(self.servers().get(group, [])))
