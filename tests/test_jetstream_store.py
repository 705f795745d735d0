"""The JetStream store against a real nats-server: commits are atomic and ordered, one
fenced writer, snapshots in the object store, the archive indexed by every instance."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from jis.engine.engine import Engine
from jis.engine.model import Broadcast, LineConfig, PartDemand
from jis.store.base import ArchivedBreak, BreakQuery
from jis.store.jetstream import JetStreamStore, StoreFenced, parse_servers
from tests.natsproc import NatsServer

pytest.importorskip("nats")


@pytest.fixture(scope="module")
def nats_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    node = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield node
    node.stop()


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
