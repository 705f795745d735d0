"""Engine snapshots: a state restored from one equals the state the log replays to, arrays
to their capacity (a table's rows past its length must stay zero), and stays equal as
input goes on; tables, row lists and interners pickle without their spare capacity."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from jis.columns import Interner, RowList, Table
from jis.engine.engine import Engine
from jis.engine.model import Action, Broadcast, LineConfig, PartDemand
from jis.kernels.matching import MatchScratch
from jis.store import SqliteStore

BATCH = 200


def batches(first: int, stop: int) -> Iterator[list[Broadcast]]:
    """Batch k: ADDs of 10 parts each, and from the second batch on, every other message
    installs a vehicle of the batch before."""
    for k in range(first, stop):
        batch = []
        for i in range(BATCH):
            v, call = k * BATCH + i, k * BATCH + i + 1
            if k and i % 2:
                batch.append(Broadcast("L", call, Action.INSTALLED, f"V{v - BATCH - 1}", None))
            else:
                parts = tuple(PartDemand(f"G{g}", f"P{(v + g) % 7}", f"S{g % 3}", 1) for g in range(10))
                batch.append(Broadcast("L", call, Action.ADD, f"V{v}", v, parts=parts))
        yield batch


def publish(e: Engine, first: int, stop: int) -> None:
    for batch in batches(first, stop):
        e.begin_group()
        e.publish_batch(batch, 0)
        e.end_group()
        if e.store is not None:
            e.store.commit()


def assert_same(a: Any, b: Any, path: str = "engine", seen: set[int] | None = None) -> None:
    seen = set() if seen is None else seen
    if id(a) in seen:
        return
    seen.add(id(a))
    assert type(a) is type(b), path
    if isinstance(a, MatchScratch):  # working memory, not state: pickled empty
        assert (a.pos == -1).all() and (b.pos == -1).all(), path
    elif isinstance(a, RowList):  # past its length a row list holds garbage (np.empty)
        assert len(a._data) == len(b._data), path
        assert np.array_equal(a.view(), b.view()), path
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), path
        assert np.array_equal(a, b), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]", seen)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]", seen)
    elif callable(a):
        pass
    elif hasattr(a, "__dict__") or hasattr(type(a), "__slots__"):
        names = list(getattr(a, "__dict__", {}))
        names += [n for c in type(a).__mro__ for n in getattr(c, "__slots__", ()) if n not in names]
        for n in names:
            # inputs: counted by this process since it started; retain_ns: its setting
            if n not in ("store", "inputs", "retain_ns"):
                assert_same(getattr(a, n), getattr(b, n), f"{path}.{n}", seen)
    else:
        assert a == b, path


def test_a_restored_state_equals_the_replayed_one_and_stays_equal(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a", synchronous="OFF")
    e = Engine(store)
    e.configure_line(LineConfig("L", 60 * 10**9, 10**15, 4_102_444_800 * 10**9), 0)
    store.commit()
    publish(e, 0, 30)
    e.save_snapshot()
    publish(e, 30, 37)  # the log goes on past the snapshot
    store.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with sqlite3.connect(tmp_path / "b" / SqliteStore.FILENAME) as db:
        db.execute("DELETE FROM snapshot")
    restored, replayed = Engine(SqliteStore(tmp_path / "a")), Engine(SqliteStore(tmp_path / "b"))
    assert restored.recover() < replayed.recover()
    assert restored.feed.events._cap > len(restored.feed.events)  # the capacity came back too
    assert_same(restored, replayed)
    for engine in (restored, replayed):
        assert engine.store is not None
        engine.store.close()
        engine.store = None
        publish(engine, 37, 70)  # the tables outgrow their capacity again
    assert_same(restored, replayed)


def test_tables_row_lists_and_interners_pickle_without_spare_capacity() -> None:
    table = Table({"a": np.int64, "b": np.int8}, capacity=4096)
    table.extend({"a": [1, 2, 3], "b": [4, 5, 6]})
    rows = RowList(4096)
    rows.append(7)
    names = Interner(["", "x", "y"])
    small = len(pickle.dumps((table, rows, names), protocol=5))
    assert small < 1000
    t2, r2, n2 = pickle.loads(pickle.dumps((table, rows, names), protocol=5))
    assert (len(t2), t2._cap, t2.col("a").tolist(), t2.col("b").tolist()) == (3, 4096, [1, 2, 3], [4, 5, 6])
    assert not t2._data["a"][3:].any()
    t2.append(b=1)
    assert (t2.col("a")[3], t2.col("b")[3]) == (0, 1)
    assert (len(r2._data), r2.view().tolist()) == (4096, [7])
    assert (n2.names(), n2.get("y"), n2.intern("z")) == (["", "x", "y"], 2, 3)
    assert names.get("z") == -1


def test_retention_drops_the_same_history_live_restored_and_replayed(tmp_path: Path) -> None:
    """History older than the retention leaves memory by a journaled cutoff: a state
    restored from a snapshot taken after a drop, and one replayed from the whole log (by a
    process whose own retention differs), equal the live one and stay equal."""
    hour = 3600 * 10**9
    store = SqliteStore(tmp_path / "a", synchronous="OFF")
    live = Engine(store, retain_ns=2 * hour)
    live.configure_line(LineConfig("L", 60 * 10**9, 10**15, 4_102_444_800 * 10**9), 0)
    store.commit()

    def run(e: Engine, first: int, stop: int) -> None:
        for k, batch in zip(range(first, stop), batches(first, stop), strict=True):
            at = k * hour
            e.begin_group()
            e.retain(at)  # as the engine thread does before each group
            e.publish_batch(batch, at)
            e.end_group()
            if e.store is not None:
                e.store.commit()

    run(live, 0, 6)
    assert live.feed.base > 0 and live.retained_to == 3 * hour  # 5 h - 2 h: the last step
    live.save_snapshot()
    run(live, 6, 9)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with sqlite3.connect(tmp_path / "b" / SqliteStore.FILENAME) as db:
        db.execute("DELETE FROM snapshot")
    restored = Engine(SqliteStore(tmp_path / "a"), retain_ns=2 * hour)
    replayed = Engine(SqliteStore(tmp_path / "b"), retain_ns=30 * hour)  # replays the cutoffs, not its own
    assert restored.recover() < replayed.recover()
    assert restored.feed.base == replayed.feed.base == live.feed.base
    assert_same(restored, replayed)
    for engine in (restored, replayed):
        assert engine.store is not None
        engine.store.close()
        engine.store = None
        engine.retain_ns = 2 * hour
    live.store = None
    for engine in (live, restored, replayed):
        run(engine, 9, 12)
    assert_same(restored, replayed)
    assert_same(live, restored)
