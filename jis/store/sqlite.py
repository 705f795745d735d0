"""The embedded store: one SQLite database in WAL mode.

``synchronous=FULL`` makes every commit durable against power loss, not only against
a killed process; the engine commits once per group of requests (group commit), so
the fsync is shared by everything that arrived together.
"""

from __future__ import annotations

import fcntl
import io
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from jis.store.base import ArchivedBreak, BreakQuery, LogRecord, StoreBusy, StoreCorrupt, read_latest_snapshot

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    seq  INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at   INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    seq  INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_break (
    number      INTEGER PRIMARY KEY,
    resolved_at INTEGER NOT NULL,
    line_id     TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    type        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    body        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_break_order ON archive_break (resolved_at, number);
CREATE TABLE IF NOT EXISTS archive_item (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, id, seq)
);
CREATE TABLE IF NOT EXISTS archive_fact (
    kind TEXT NOT NULL,
    lo   INTEGER NOT NULL,
    hi   INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS archive_fact_span ON archive_fact (kind, lo);
-- A commit's facts are one row per kind and span: indexed again (a replicated store's
-- archive after a restart), they are not added twice.
CREATE UNIQUE INDEX IF NOT EXISTS archive_fact_key ON archive_fact (seq, kind, lo, hi);
CREATE TABLE IF NOT EXISTS snapshot_chunk (
    seq  INTEGER NOT NULL,
    idx  INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (seq, idx)
);
"""
CHUNK = 64 * 1024 * 1024
"""Snapshots are stored in pieces: SQLite refuses a single value over 1 GB."""


PIECE = 1024 * 1024
"""Snapshots are read a piece at a time, straight into the caller's buffers: the memory
behind a small piece is reused, while each fresh page of a whole-body copy costs a fault."""


class _ChunkFile(io.RawIOBase):
    """The chunks of one snapshot, read as one file through SQLite's incremental blob I/O."""

    def __init__(self, db: sqlite3.Connection, rowids: list[int], path: Path) -> None:
        super().__init__()
        self._db = db
        self._rowids = rowids
        self._path = path
        self._next = 0
        self._blob: sqlite3.Blob | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            while True:
                if self._blob is None:
                    if self._next == len(self._rowids):
                        return 0
                    self._blob = self._db.blobopen(
                        "snapshot_chunk", "body", self._rowids[self._next], readonly=True
                    )
                    self._next += 1
                piece = self._blob.read(min(len(view), PIECE))
                if piece:
                    view[: len(piece)] = piece
                    return len(piece)
                self._blob.close()
                self._blob = None
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self._path}: {exc}") from exc

    def close(self) -> None:
        if self._blob is not None:
            self._blob.close()
            self._blob = None
        super().close()


BreakRow = tuple[int, int, str, str, int, int, bytes]
ItemRow = tuple[str, str, int, bytes]
FactRow = tuple[str, int, int, int, bytes]


def insert_archive(
    db: sqlite3.Connection, breaks: list[BreakRow], items: list[ItemRow], facts: list[FactRow]
) -> None:
    """Archive rows (each ending with its commit's log position), in the caller's transaction.
    A row already there (by its key; an archive indexed again) is kept as it is."""
    if breaks:
        db.executemany(
            "INSERT OR IGNORE INTO archive_break (number, resolved_at, line_id, supplier_id, type, seq, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            breaks,
        )
    if items:
        db.executemany("INSERT OR IGNORE INTO archive_item (kind, id, seq, body) VALUES (?, ?, ?, ?)", items)
    if facts:
        db.executemany(
            "INSERT OR IGNORE INTO archive_fact (kind, lo, hi, seq, body) VALUES (?, ?, ?, ?, ?)", facts
        )


def archived_item(db: sqlite3.Connection, path: Path, kind: str, ident: str) -> bytes | None:
    try:
        row = db.execute(
            "SELECT body FROM archive_item WHERE kind = ? AND id = ? ORDER BY seq DESC LIMIT 1", (kind, ident)
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupt(f"{path}: {exc}") from exc
    return None if row is None else bytes(row[0])


def archived_facts(db: sqlite3.Connection, path: Path, kind: str, start: int, stop: int) -> list[bytes]:
    try:
        cur = db.execute(
            "SELECT body FROM archive_fact WHERE kind = ? AND lo < ? AND hi >= ? ORDER BY rowid",
            (kind, stop, start),
        )
        return [bytes(r[0]) for r in cur]
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupt(f"{path}: {exc}") from exc


def archived_breaks(
    db: sqlite3.Connection, path: Path, query: BreakQuery, after: tuple[int, int] | None, limit: int
) -> list[bytes]:
    sql = ["SELECT body FROM archive_break WHERE resolved_at >= ? AND resolved_at < ?"]
    args: list[object] = [query.start, query.stop]
    if query.line_id:
        sql.append("AND line_id = ?")
        args.append(query.line_id)
    if query.supplier_id:
        sql.append("AND supplier_id = ?")
        args.append(query.supplier_id)
    if query.types:
        sql.append(f"AND type IN ({','.join('?' * len(query.types))})")
        args += query.types
    if after is not None:
        sql.append("AND (resolved_at, number) > (?, ?)")
        args += after
    sql.append("ORDER BY resolved_at, number LIMIT ?")
    args.append(limit)
    try:
        return [bytes(r[0]) for r in db.execute(" ".join(sql), args)]
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupt(f"{path}: {exc}") from exc


LOCKFILE = "jis.lock"


def lock_dir(data_dir: Path) -> int:
    """Hold ``<data_dir>/jis.lock`` exclusively until the returned descriptor is closed or
    the process ends, however it ends (the kernel lets go). Raises StoreBusy, naming the
    holder's pid, if another process holds it: two servers appending to one log would
    corrupt it, and each would answer for a state the other does not see."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCKFILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StoreBusy(f"{data_dir} is in use by another jis server (pid {holder})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class SqliteStore:
    """Log and snapshots in ``<data_dir>/jis.sqlite3``; single writer, one thread. A server
    holds ``lock_dir`` on the data dir before it opens the store."""

    FILENAME = "jis.sqlite3"

    def __init__(self, data_dir: Path, synchronous: str = "FULL") -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / self.FILENAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise StoreCorrupt(f"{self.path}: integrity check failed: {check}")
            self._db.executescript(SCHEMA)
            self._last = int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM log").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self.path}: {exc}") from exc
        self._pending: list[tuple[int, str, int, bytes]] = []
        self._archive: list[BreakRow] = []
        self._items: list[ItemRow] = []
        self._facts: list[FactRow] = []

    def append(self, kind: str, at: int, body: bytes) -> int:
        seq = self._last + len(self._pending) + 1
        self._pending.append((seq, kind, at, body))
        return seq

    def commit(self, overlap: Callable[[], object] | None = None) -> None:
        if not self._pending:
            return
        with self._db:  # BEGIN … COMMIT, rolled back if the insert or the commit fails
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO log (seq, kind, at, body) VALUES (?, ?, ?, ?)", self._pending)
            insert_archive(self._db, self._archive, self._items, self._facts)
            if overlap is not None:
                overlap()  # what is left is COMMIT, in C with the GIL released: the WAL write and fsync
        self._last = self._pending[-1][0]
        self._pending.clear()
        self._archive.clear()
        self._items.clear()
        self._facts.clear()

    def archive_breaks(self, rows: list[ArchivedBreak]) -> None:
        seq = self._open_seq()
        self._archive += [
            (r.number, r.resolved_at, r.line_id, r.supplier_id, r.type, seq, r.body) for r in rows
        ]

    def _open_seq(self) -> int:
        if not self._pending:
            raise RuntimeError("archive rows go with the records of a commit")
        return self._pending[-1][0]

    def archive_items(self, kind: str, items: list[tuple[str, bytes]]) -> None:
        seq = self._open_seq()
        self._items += [(kind, ident, seq, body) for ident, body in items]

    def archived_item(self, kind: str, ident: str) -> bytes | None:
        return archived_item(self._db, self.path, kind, ident)

    def archive_facts(self, kind: str, span: tuple[int, int], body: bytes) -> None:
        self._facts.append((kind, span[0], span[1], self._open_seq(), body))

    def archived_facts(self, kind: str, start: int, stop: int) -> list[bytes]:
        return archived_facts(self._db, self.path, kind, start, stop)

    def archived_breaks(self, query: BreakQuery, after: tuple[int, int] | None, limit: int) -> list[bytes]:
        return archived_breaks(self._db, self.path, query, after, limit)

    def discard(self, after: int) -> None:
        if self._pending:
            raise RuntimeError("discard with records appended but not committed")
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM log WHERE seq > ?", (after,))
            for table in ("archive_break", "archive_item", "archive_fact"):
                self._db.execute(f"DELETE FROM {table} WHERE seq > ?", (after,))
        self._last = min(self._last, after)

    def records(self, after: int = 0) -> Iterator[LogRecord]:
        try:
            cur = self._db.execute("SELECT seq, kind, at, body FROM log WHERE seq > ? ORDER BY seq", (after,))
            expected = after + 1
            for seq, kind, at, body in cur:
                if seq != expected:
                    raise StoreCorrupt(f"{self.path}: log position {expected} missing (next is {seq})")
                expected += 1
                yield LogRecord(seq, kind, at, bytes(body))
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self.path}: {exc}") from exc

    def last_seq(self) -> int:
        return self._last

    def save_snapshot(self, seq: int, body: bytes) -> None:
        """Replace the snapshot by ``body`` (taken at log position ``seq``), atomically. The
        ``snapshot`` row holds the number of chunks; the bytes are in ``snapshot_chunk``."""
        view = memoryview(body)
        chunks = [(seq, i, view[off : off + CHUNK]) for i, off in enumerate(range(0, len(body), CHUNK))]
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM snapshot_chunk WHERE seq <= ?", (seq,))
            self._db.executemany("INSERT INTO snapshot_chunk (seq, idx, body) VALUES (?, ?, ?)", chunks)
            self._db.execute(
                "INSERT OR REPLACE INTO snapshot (seq, body) VALUES (?, ?)", (seq, str(len(chunks)).encode())
            )
            self._db.execute("DELETE FROM snapshot WHERE seq < ?", (seq,))

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        return read_latest_snapshot(self)

    def open_latest_snapshot(self) -> tuple[int, io.BufferedIOBase] | None:
        try:
            row = self._db.execute("SELECT seq, body FROM snapshot ORDER BY seq DESC LIMIT 1").fetchone()
            if row is None:
                return None
            seq, head = int(row[0]), bytes(row[1])
            if not head.isdigit():  # written before snapshots were chunked: the body itself
                return seq, io.BytesIO(head)
            rowids = [
                int(r[0])
                for r in self._db.execute(
                    "SELECT rowid FROM snapshot_chunk WHERE seq = ? ORDER BY idx", (seq,)
                ).fetchall()
            ]
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(f"{self.path}: {exc}") from exc
        if len(rowids) != int(head):
            raise StoreCorrupt(f"{self.path}: snapshot at {seq} has {len(rowids)} of {int(head)} chunks")
        return seq, io.BufferedReader(_ChunkFile(self._db, rowids, self.path), PIECE)

    def close(self) -> None:
        self._db.close()
