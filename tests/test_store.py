"""The embedded store: snapshots stored in chunks (SQLite refuses one value over 1 GB),
replaced atomically, and readable when written by the version before chunking; the archive
of resolved breaks, committed and discarded with the records it goes with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jis.alerts.breaks import BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.engine import codec
from jis.store import sqlite as sqlite_store
from jis.store.base import ArchivedBreak, BreakQuery, StoreCorrupt


def test_a_snapshot_larger_than_a_chunk_reads_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHUNK", 1000)
    store = sqlite_store.SqliteStore(tmp_path)
    body = os.urandom(3500)
    store.save_snapshot(7, body)
    assert store.latest_snapshot() == (7, body)
    newer = os.urandom(10)
    store.save_snapshot(9, newer)
    assert store.latest_snapshot() == (9, newer)
    assert (
        store._db.execute("SELECT COUNT(*) FROM snapshot_chunk").fetchone()[0] == 1
    )  # the old chunks are gone
    store.close()


def test_a_snapshot_written_before_chunking_still_reads(tmp_path: Path) -> None:
    store = sqlite_store.SqliteStore(tmp_path)
    store._db.execute("INSERT INTO snapshot (seq, body) VALUES (3, ?)", (b"\x80legacy-pickle",))
    assert store.latest_snapshot() == (3, b"\x80legacy-pickle")
    store.close()


def test_a_snapshot_missing_a_chunk_is_a_corrupt_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHUNK", 10)
    store = sqlite_store.SqliteStore(tmp_path)
    store.save_snapshot(5, b"x" * 35)
    store._db.execute("DELETE FROM snapshot_chunk WHERE idx = 2")
    with pytest.raises(StoreCorrupt, match="3 of 4 chunks"):
        store.latest_snapshot()
    store.close()


def _archived(number: int, resolved_at: int, line_id: str = "L", kind: int = 2) -> ArchivedBreak:
    return ArchivedBreak(number, resolved_at, line_id, "S", kind, f"body {number}".encode())


def test_archived_breaks_commit_with_their_records_and_leave_with_a_discard(tmp_path: Path) -> None:
    store = sqlite_store.SqliteStore(tmp_path)
    with pytest.raises(RuntimeError):
        store.archive_breaks([_archived(1, 10)])  # no record to go with
    store.append("retain", 100, b"")
    store.archive_breaks([_archived(1, 10), _archived(2, 10, "M"), _archived(3, 5, kind=3)])
    everything = BreakQuery(0, 1_000)
    assert store.archived_breaks(everything, None, 10) == []  # not before the commit
    store.commit()
    assert store.archived_breaks(everything, None, 10) == [b"body 3", b"body 1", b"body 2"]
    assert store.archived_breaks(everything, (10, 1), 10) == [b"body 2"]
    assert store.archived_breaks(BreakQuery(0, 1_000, line_id="L", types=(2,)), None, 10) == [b"body 1"]
    assert store.archived_breaks(BreakQuery(6, 10), None, 10) == []
    assert store.archived_breaks(everything, None, 2) == [b"body 3", b"body 1"]
    store.append("retain", 200, b"")
    store.archive_breaks([_archived(4, 150), _archived(1, 99)])  # 1 is there already: kept as it is
    store.commit()
    assert store.archived_breaks(everything, None, 10) == [b"body 3", b"body 1", b"body 2", b"body 4"]
    store.discard(1)  # the second commit's group failed: its archive rows go with its records
    assert store.archived_breaks(everything, None, 10) == [b"body 3", b"body 1", b"body 2"]
    store.close()


def test_a_break_survives_the_archive_encoding() -> None:
    brk = SequenceBreak(
        "B00000042",
        BreakType.OUT_OF_SEQUENCE,
        "L1",
        detected_at=5,
        action=RecoveryAction(
            RecoveryKind.MOVE_SLOT, "move it", rack_id="R1", from_position=2, to_position=0
        ),
        supplier_id="S",
        group="G",
        vehicle_id="V",
        position=2,
        need_time=99,
        resolved_at=7,
    )
    assert codec.decode_break(codec.encode_break(brk)) == brk


def test_archived_facts_indexed_twice_are_kept_once(tmp_path: Path) -> None:
    store = sqlite_store.SqliteStore(tmp_path)
    facts = [("leads", 3, 4, 1, b"facts"), ("deliveries", 3, 4, 1, b"d")]
    for _ in range(2):  # a replicated store's archive indexes a commit again after a restart
        with store._db:
            store._db.execute("BEGIN")
            sqlite_store.insert_archive(store._db, [], [("vehicle", "V1", 1, b"view")], facts)
    assert store.archived_facts("leads", 0, 10) == [b"facts"]
    assert store.archived_facts("deliveries", 0, 10) == [b"d"]
    store.close()
