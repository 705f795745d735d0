"""The engine runner's commit: a lone caller's evaluation overlaps the fsync on a helper
thread, and nothing of the group leaves before both are done; a group whose evaluation
fails after its commit is taken back out of the log before the process exits."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, NoReturn

import pytest
from google.protobuf.duration_pb2 import Duration

from jis.api import convert
from jis.clock import Clock
from jis.engine import runner as runner_mod
from jis.engine.engine import Engine
from jis.store.sqlite import SqliteStore
from jis.v1 import lines_pb2, supply_pb2
from tests.factories import ADD, bc, part

T0 = 1_798_761_600 * 10**9


def _configured(tmp_path: Path) -> Engine:
    engine = Engine(SqliteStore(tmp_path))
    engine.configure_line(
        convert.line_config_in(
            lines_pb2.ConfigureLineRequest(
                line_id="L", takt=Duration(seconds=60), heartbeat=Duration(seconds=3600)
            )
        ),
        T0,
    )
    engine.configure_supplier(
        convert.supplier_in(
            supply_pb2.ConfigureSupplierRequest(supplier_id="S", lead_time=Duration(seconds=3600))
        ),
        T0,
    )
    assert engine.store is not None
    engine.store.commit()
    return engine


def _publish(i: int) -> Any:
    m = bc("L", i + 1, ADD, f"V{i}", i, [part("SEAT", "P", "S")])
    m.need_time.FromNanoseconds(T0 + 60 * 10**9)
    b = convert.broadcast_in(m)
    return lambda e: lambda at: e.publish(b, at)


def test_a_lone_publish_is_answered_with_its_alert_after_the_commit(tmp_path: Path) -> None:
    engine = _configured(tmp_path)
    seen: list[tuple[int, int]] = []  # (events, committed log position) when the news arrived
    assert engine.store is not None
    store = engine.store
    runner = runner_mod.EngineRunner(
        engine,
        Clock(test_mode=True, start_ns=T0),
        on_events=lambda evs: seen.append((len(evs), store.last_seq())),
    )
    runner.start()
    try:
        for i in range(5):
            before = store.last_seq()
            runner.submit(_publish(i)(engine)).result(timeout=10)
            assert store.last_seq() == before + 3  # group, broadcast, eval
            assert seen[-1] == (1, before + 3)  # the MISSING break, published after the commit
    finally:
        runner.stop()
    recovered = Engine(SqliteStore(tmp_path))
    recovered.recover()
    assert len(recovered.open_breaks("L")) == 5


@pytest.mark.parametrize("load", ["lone", "queued"])
def test_an_evaluation_failing_leaves_nothing_of_the_group_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: str
) -> None:
    """Lone: the evaluation overlaps the commit and the group is taken back out. Queued
    (another request waits at commit time): the evaluation runs before the commit."""
    engine = _configured(tmp_path)
    assert engine.store is not None
    before = engine.store.last_seq()
    failed = threading.Event()

    def fail() -> NoReturn:
        failed.set()
        raise SystemExit  # ends the engine thread instead of the process

    def broken(scope: Any, at: int) -> None:
        raise RuntimeError("evaluation bug")

    monkeypatch.setattr(runner_mod, "_fail", fail)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # the SystemExit above
    monkeypatch.setattr(engine.evaluator, "evaluate", broken)
    runner = runner_mod.EngineRunner(engine, Clock(test_mode=True, start_ns=T0))
    pub = _publish(0)(engine)

    def op(at: int) -> Any:
        if load == "queued":
            runner.submit(lambda at: None)  # arrives while this group is applied
        return pub(at)

    runner.start()
    fut = runner.submit(op)
    assert failed.wait(10)
    runner._thread.join(10)
    assert not fut.done()  # never answered
    reopened = SqliteStore(tmp_path)
    assert reopened.last_seq() == before
    assert [r.kind for r in reopened.records()][-1] == "supplier"
    reopened.close()


def test_store_commit_calls_overlap_once_while_committing_and_discard_is_durable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    calls: list[int] = []
    store.commit(lambda: calls.append(1))
    assert calls == []  # nothing appended: no commit, no overlap
    store.append("a", 1, b"1")
    store.append("b", 2, b"2")
    store.commit(lambda: calls.append(store.last_seq()))
    assert calls == [0]  # called before the commit finished
    assert store.last_seq() == 2
    store.append("c", 3, b"3")
    store.commit()
    store.discard(1)
    assert store.last_seq() == 1
    store.close()
    reopened = SqliteStore(tmp_path)
    assert [(r.seq, r.kind) for r in reopened.records()] == [(1, "a")]
    assert reopened.last_seq() == 1
    reopened.close()


def test_a_stop_alone_does_not_start_a_retention_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first retention over a long history can take many seconds; a shutdown must not
    wait for one (the next start does it with its first group of requests)."""
    engine = _configured(tmp_path)
    calls: list[int] = []
    monkeypatch.setattr(engine, "retain", calls.append)
    runner = runner_mod.EngineRunner(engine, Clock(test_mode=True, start_ns=T0))
    runner.start()
    runner.submit(lambda at: None).result(timeout=10)
    assert calls == [T0]  # a group of requests looks for history to retain
    runner.stop()
    assert calls == [T0]  # the stop alone did not
