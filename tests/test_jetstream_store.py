"""The JetStream store against a real nats-server: commits are atomic and ordered, one
fenced writer, snapshots in the object store, the archive indexed by every instance."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import nats.js.errors
import pytest

from jis.api.handlers import Admission
from jis.engine.engine import Engine
from jis.engine.model import Broadcast, LineConfig, PartDemand
from jis.ha import Leadership
from jis.store.base import ArchivedBreak, BreakQuery
from jis.store.jetstream import Commit, JetStreamStore, StoreFenced, StoreUnavailable, parse_servers
from tests.natsproc import NatsServer

pytest.importorskip("nats")


_streams = iter(range(1, 10_000))


@pytest.fixture
def stream() -> str:
    return f"T{next(_streams)}"


def open_store(node: NatsServer, tmp: Path, stream: str, name: str = "a") -> JetStreamStore:
    return JetStreamStore(parse_servers(node.url), tmp / name, stream=stream)


def test_commits_are_read_back_in_order_at_their_positions(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    try:
        assert s.last_seq() == 0 and list(s.records()) == []
        s.append("line", 1, b"L")
        s.append("broadcast", 2, b"B1")
        s.commit()
        first = s.last_seq()
        s.append("broadcast", 3, b"B2")
        s.commit()
        s.commit()  # nothing appended: nothing sent
        assert s.last_seq() == first + 1
        got = [(r.seq, r.kind, r.at, r.body) for r in s.records()]
        assert got == [
            (first, "line", 1, b"L"),
            (first, "broadcast", 2, b"B1"),
            (first + 1, "broadcast", 3, b"B2"),
        ]
        assert [r.body for r in s.records(first)] == [b"B2"]
    finally:
        s.close()
    again = open_store(nats_node, tmp_path, stream, "b")  # another instance, another data dir
    try:
        assert again.last_seq() == first + 1
        assert [r.body for r in again.records()] == [b"L", b"B1", b"B2"]
    finally:
        again.close()


def test_a_writer_that_missed_an_append_is_fenced(nats_node: NatsServer, tmp_path: Path, stream: str) -> None:
    a, b = open_store(nats_node, tmp_path, stream, "a"), open_store(nats_node, tmp_path, stream, "b")
    try:
        a.append("x", 1, b"from a")
        a.commit()
        b.append("x", 2, b"from b")  # b still believes the stream is empty
        with pytest.raises(StoreFenced):
            b.commit()
        a.append("x", 3, b"a again")
        a.commit()
        assert [r.body for r in a.records()] == [b"from a", b"a again"]
    finally:
        a.close()
        b.close()


def test_a_commit_larger_than_a_message_is_one_atomic_batch(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    try:
        big = bytes(range(256)) * (20 * 4096)  # 20 MiB: three pieces of the 8 MB max_payload
        s.append("columns", 1, big)
        s.append("eval", 1, b"")
        s.commit()
        s.append("clock", 2, b"")
        s.commit()
        got = list(s.records())
        assert [(r.kind, len(r.body)) for r in got] == [("columns", len(big)), ("eval", 0), ("clock", 0)]
        assert got[0].body == big
    finally:
        s.close()


def test_snapshots_live_in_the_object_store(nats_node: NatsServer, tmp_path: Path, stream: str) -> None:
    s = open_store(nats_node, tmp_path, stream)
    try:
        assert s.open_latest_snapshot() is None
        s.save_snapshot(7, b"first")
        s.save_snapshot(9, b"second" * 100_000)
        assert s.latest_snapshot() == (9, b"second" * 100_000)
    finally:
        s.close()


def test_every_instance_answers_the_archive_from_the_log(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    try:
        s.append("retain", 10, b"cutoff")
        s.archive_breaks([ArchivedBreak(1, 5, "L1", "S1", 2, b'{"b":1}')])
        s.archive_items("vehicle", [("V1", b"view")])
        s.archive_facts("leads", (3, 4), b"facts")
        s.commit()
        s.append("clock", 11, b"")
        s.commit()
        assert s.archived_item("vehicle", "V1") == b"view"
        assert s.archived_breaks(BreakQuery(0, 10), None, 10) == [b'{"b":1}']
        assert s.archived_facts("leads", 0, 10) == [b"facts"]
    finally:
        s.close()
    fresh = open_store(nats_node, tmp_path, stream, "fresh")  # never read the log: indexes on open
    try:
        assert fresh.archived_item("vehicle", "V1") == b"view"
        assert fresh.archived_facts("leads", 0, 10) == [b"facts"]
        assert fresh.archived_breaks(BreakQuery(0, 10, line_id="L1"), None, 10) == [b'{"b":1}']
    finally:
        fresh.close()


def test_an_engine_recovers_from_the_stream_and_its_snapshot(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    e = Engine(s)
    t = 1_900_000_000 * 10**9
    e.configure_line(LineConfig("L1", 60 * 10**9, 3600 * 10**9, t), t)
    s.commit()
    for k in range(1, 4):
        e.publish(Broadcast("L1", k, 1, f"V{k}", k, parts=(PartDemand("SEAT", "P", "S1", 1),)), t + k)
        s.commit()
    e.save_snapshot()
    e.publish(Broadcast("L1", 4, 1, "V4", 4, parts=(PartDemand("SEAT", "P", "S1", 1),)), t + 4)
    s.commit()
    want = [e.vehicle(f"V{k}") for k in range(1, 5)]
    s.close()
    again = open_store(nats_node, tmp_path, stream, "b")
    try:
        r = Engine(again)
        assert r.recover() == 1  # the snapshot, then the one commit after it
        assert [r.vehicle(f"V{k}") for k in range(1, 5)] == want
        assert r.open_breaks() == e.open_breaks()
    finally:
        again.close()


def test_server_urls() -> None:
    assert parse_servers("nats://a:1,b:2") == ["nats://a:1", "nats://b:2"]
    assert parse_servers("nats://a:1,nats://b:2") == ["nats://a:1", "nats://b:2"]
    for bad in ("a:1", "nats://", "nats://a:1,,b:2"):
        with pytest.raises(ValueError):
            parse_servers(bad)


def test_no_nats_to_reach_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jis.store import jetstream

    monkeypatch.setattr(jetstream, "CONNECT_S", 1.0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(jetstream.StoreUnavailable, match=r"cannot reach NATS at nats://127\.0\.0\.1"):
        JetStreamStore([f"nats://127.0.0.1:{port}"], tmp_path / "x", stream="NONE")


def test_a_discarded_tail_ends_every_reader_and_fences_only_the_discarder(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    standby = open_store(nats_node, tmp_path, stream, "standby")
    try:
        for k in range(1, 4):
            s.append("x", k, f"c{k}".encode())
            s.commit()
            if k == 1:
                assert [r.body for r in standby.records(standby.last_seq())] == [b"c1"]
        s.discard(1)  # the last two commits' group failed
        assert [r.body for r in s.records()] == [b"c1"]  # the stream's last message is gone
        assert list(standby.records(standby.last_seq())) == []  # nothing left after what it has
        assert standby.last_seq() == 3  # the stream's last sequence: appends are fenced on it
        fresh = open_store(nats_node, tmp_path, stream, "fresh")
        try:
            assert [r.body for r in fresh.records(0)] == [b"c1"]
            fresh.append("x", 4, b"c4")  # a successor appends on the stream's last sequence
            fresh.commit()
        finally:
            fresh.close()
        s.append("x", 5, b"late")
        with pytest.raises(StoreFenced):  # the discarder is fenced (and exits)
            s.commit()
        assert [r.body for r in standby.records(standby.last_seq())] == [b"c4"]
    finally:
        s.close()
        standby.close()


def test_a_standby_restarted_indexes_no_archive_row_twice(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    leader = open_store(nats_node, tmp_path, stream)
    standby = open_store(nats_node, tmp_path, stream, "standby")
    try:
        leader.append("retain", 10, b"cutoff")
        leader.archive_breaks([ArchivedBreak(1, 5, "L1", "S1", 2, b'{"b":1}')])
        leader.archive_items("vehicle", [("V1", b"view")])
        leader.archive_facts("leads", (3, 4), b"facts")
        leader.commit()
        archived_at = leader.last_seq()
        leader.append("clock", 11, b"")
        leader.commit()
        assert len(list(standby.records(standby.last_seq()))) == 2  # following: indexed on the way
        assert standby.archived_facts("leads", 0, 10) == [b"facts"]
        assert standby._indexed() == archived_at  # with the rows, in one transaction
    finally:
        leader.close()
        standby.close()
    for _ in range(2):  # restarted (indexes what it has not marked yet), then once more
        again = open_store(nats_node, tmp_path, stream, "standby")
        try:
            assert [r.kind for r in again.records(0)] == ["retain", "clock"]  # recovery re-reads
            assert again.archived_facts("leads", 0, 10) == [b"facts"]
            assert again.archived_breaks(BreakQuery(0, 10), None, 10) == [b'{"b":1}']
        finally:
            again.close()


class _Runner:
    """What Leadership needs of an EngineRunner: an engine, and ops run at once."""

    standby = False

    def __init__(self) -> None:
        self.engine = SimpleNamespace(last_at=0, follow=lambda records: None)

    def submit(self, op: Callable[[int], object]) -> Future[object]:
        fut: Future[object] = Future()
        fut.set_result(op(1))
        return fut


def _leadership(store: JetStreamStore) -> Leadership:
    clock = SimpleNamespace(advance_to=lambda at: None)
    return Leadership(store, _Runner(), clock, Admission(1, 1), lambda leader: None, "me")  # type: ignore[arg-type]


def test_a_takeover_whose_mark_nats_does_not_take_is_tried_again(
    nats_node: NatsServer, tmp_path: Path, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = open_store(nats_node, tmp_path, stream)
    try:
        lead = _leadership(s)

        def unavailable(overlap: object = None) -> None:
            raise StoreUnavailable("NATS did not acknowledge a commit in time")

        monkeypatch.setattr(s, "commit", unavailable)
        assert lead._mark(1) is False  # not an exit with the lease held
        assert s.writable is False
        monkeypatch.undo()
        s._pending = Commit()  # as the real commit leaves it
        assert lead._mark(2) is True
    finally:
        s.close()


def test_a_lease_that_expires_while_it_is_being_taken_is_tried_again_later(
    nats_node: NatsServer, tmp_path: Path, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's create() finds the lease held, then looks the key up to see whether it
    is a delete marker; if the entry expired in between, that lookup finds nothing. Before,
    that error ended the standby ("leadership failed"), and with it the group's failover."""
    s, other = open_store(nats_node, tmp_path, stream), open_store(nats_node, tmp_path, stream, "b")
    try:
        assert other.take_lease("other") is not None

        async def expired_meanwhile(key: str) -> None:
            raise nats.js.errors.KeyNotFoundError

        monkeypatch.setattr(s.lease, "_get", expired_meanwhile)
        assert s.take_lease("me") is None  # not ours this time: the next poll tries again
        monkeypatch.undo()
        assert s.take_lease("me") is None  # still held by the other
    finally:
        s.close()
        other.close()


def test_a_leader_stopping_keeps_its_lease_until_its_runner_has_stopped(
    nats_node: NatsServer, tmp_path: Path, stream: str
) -> None:
    s = JetStreamStore(parse_servers(nats_node.url), tmp_path / "a", stream=stream, lease_ttl=1.0)
    other = JetStreamStore(parse_servers(nats_node.url), tmp_path / "b", stream=stream, lease_ttl=1.0)
    lead = _leadership(s)
    try:
        lead.start()
        deadline = time.monotonic() + 10
        while not lead.leader:
            assert time.monotonic() < deadline, "no takeover"
            time.sleep(0.05)
        lead.stop_following()  # the server then stops its runner: the final snapshot, ...
        time.sleep(1.5)  # ... longer than the lease
        assert other.take_lease("other") is None  # still renewed
        lead.stop()
        assert other.take_lease("other") is not None  # released at once
    finally:
        lead.stop()
        s.close()
        other.close()
