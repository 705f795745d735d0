"""The embedded store's snapshots: stored in chunks (SQLite refuses one value over 1 GB),
replaced atomically, and readable when written by the version before chunking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jis.store import sqlite as sqlite_store
from jis.store.base import StoreCorrupt


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
