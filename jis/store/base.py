"""What the engine needs from durable storage, and nothing more.

An ordered log of accepted inputs (kind, engine time, opaque body) grouped into
atomic commits, plus snapshots of the engine state at a log position. The embedded
default is :class:`jis.store.sqlite.SqliteStore`; a distributed log can stand in by
implementing this protocol.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol


class StoreCorrupt(Exception):
    """The store on disk cannot be read; the server must not start on an empty state."""


class StoreBusy(Exception):
    """Another process holds the store: two writers of one log would corrupt it."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    seq: int
    """Position in the log, from 1, gap-free."""
    kind: str
    at: int
    """Engine time (ns) at which the input was applied."""
    body: bytes


@dataclass(frozen=True, slots=True)
class ArchivedBreak:
    number: int
    """The break's id number (B00000042 -> 42): unique, and its tie-breaker in order."""
    resolved_at: int
    line_id: str
    supplier_id: str
    type: int
    body: bytes
    """The break, encoded by jis.engine.codec."""


@dataclass(frozen=True, slots=True)
class BreakQuery:
    """Resolved breaks in [start, stop) of resolution time, of a line and a supplier
    (empty: any) and of some types (empty: any)."""

    start: int
    stop: int
    line_id: str = ""
    supplier_id: str = ""
    types: tuple[int, ...] = ()


def read_latest_snapshot(store: Store) -> tuple[int, bytes] | None:
    """The newest snapshot of ``store`` as (seq, body), read whole (its ``latest_snapshot``)."""
    snap = store.open_latest_snapshot()
    if snap is None:
        return None
    with snap[1] as f:
        return snap[0], f.read()


class Store(Protocol):
    def append(self, kind: str, at: int, body: bytes) -> int:
        """Add a record to the open commit; returns its log position."""
        ...

    def commit(self, overlap: Callable[[], object] | None = None) -> None:
        """Make every record appended since the last commit durable, atomically.

        ``overlap``, if given, is called once, when what is left of the commit is waiting
        for the disk with the GIL released (not at all when nothing was appended): work it
        starts on another thread runs meanwhile."""
        ...

    def discard(self, after: int) -> None:
        """Remove the committed records after position ``after``, durably. Only for the
        records of a commit whose group then failed, before anything of it was acknowledged
        or published, on the way to exiting: the next start must not replay them."""
        ...

    def records(self, after: int = 0) -> Iterator[LogRecord]:
        """Committed records with seq > ``after``, in order."""
        ...

    def last_seq(self) -> int:
        """Position of the last committed record (0 if none)."""
        ...

    def save_snapshot(self, seq: int, body: bytes) -> None:
        """Store a snapshot of the state after record ``seq`` (durable on return)."""
        ...

    def archive_breaks(self, rows: list[ArchivedBreak]) -> None:
        """Add resolved breaks that leave memory to the archive, in the open commit: they
        become durable with the records appended before them, atomically, and :meth:`discard`
        of those records takes them out again. A break already archived is kept as it is."""
        ...

    def archived_breaks(self, query: BreakQuery, after: tuple[int, int] | None, limit: int) -> list[bytes]:
        """Bodies of archived breaks matching ``query``, by (resolved_at, number), the first
        ``limit`` after the key ``after``."""
        ...

    def archive_items(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        """Add views of what leaves memory to the archive, in the open commit (as
        :meth:`archive_breaks`): ``kind`` "vehicle", "rack" or "appointment", each item
        its id and its view, encoded by jis.engine.codec."""
        ...

    def archived_item(self, kind: str, ident: str) -> bytes | None:
        """The view of ``ident`` archived last (an id may be used again once its first
        holder is archived), or None."""
        ...

    def archive_facts(self, kind: str, span: tuple[int, int], body: bytes) -> None:
        """Add KPI facts (jis.engine.kpis.encode_facts) whose times lie in ``span``
        (first, last) to the archive, in the open commit."""
        ...

    def archived_facts(self, kind: str, start: int, stop: int) -> list[bytes]:
        """The archived facts of ``kind`` whose span meets [start, stop), in the order
        they were archived."""
        ...

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """The newest snapshot as (seq, body), or None."""
        ...

    def open_latest_snapshot(self) -> tuple[int, io.BufferedIOBase] | None:
        """The newest snapshot as (seq, its body as a file to read and close), or None:
        recovery reads the body a piece at a time into the state's own arrays."""
        ...

    def close(self) -> None: ...
