"""PublishColumns through a real server: the same outcome and state as PublishBatch with
the same messages, transport-independent duplicates, durability across kill -9, and
malformed columns refused as a whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from jis.api.pack import pack
from jis.v1 import broadcast_pb2, build_sequence_pb2, lines_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part, pub
from tests.serverproc import ServerProcess
from tests.test_server import state_of

EPOCH_S = 1_767_225_600  # 2026-01-01T00:00:00Z, the lines' epoch


def start(data: Path) -> tuple[ServerProcess, Client]:
    proc = ServerProcess(data, "--test-clock").start()
    c = connect(proc.address)
    c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=EPOCH_S)), timeout=10)
    configure_line(c, "LC")
    return proc, c


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    a, ca = start(tmp_path / "batch")
    b, cb = start(tmp_path / "columns")
    yield ca, cb
    for proc, c in ((a, ca), (b, cb)):
        c.channel.close()
        proc.stop()


def parts(v: int) -> list:  # type: ignore[type-arg]
    return [part(f"G{g}", f"P{(v + g) % 3}", f"S{g % 2}") for g in range(4)]


def feed() -> list[list[broadcast_pb2.Broadcast]]:
    """Calls of a day's feed: plain runs (adds, installs) with the awkward cases among them."""
    calls: list[list[broadcast_pb2.Broadcast]] = []
    call = 0

    def nxt() -> int:
        nonlocal call
        call += 1
        return call

    calls.append([bc("LC", nxt(), ADD, f"V{v}", 600 + v, parts(v)) for v in range(300)])
    awkward = [
        bc("LC", nxt(), INSTALLED, "V0"),
        bc("LC", nxt(), PULL, "V1", checkpoint="PAINT_OUT"),
        bc("LC", 5, ADD, "V4", 604, parts(4)),  # the same call again: a duplicate
        bc("LC", 6, ADD, "V5", 605, parts(6)),  # the same call, other parts: a conflict
        bc("LC", nxt(), CHANGE, "V2", None, parts(9)),
        bc("LC", nxt(), ADD, "V-HELD", 603, parts(1)),  # seq_no held by V3
        bc("LC", nxt(), ADD, "V-Q0", 990, [part(quantity=0)]),
        bc("LC", nxt(), REINSERT, "V1", 950),
        bc("LC", nxt() + 2, ADD, "V-GAP", 991, parts(2)),  # calls skipped: a gap
        bc("LC", nxt(), CANCEL, "V7"),
    ]
    call += 2
    calls.append(awkward + [bc("LC", nxt(), ADD, f"W{v}", 1000 + v, parts(v)) for v in range(200)])
    calls.append(
        [bc("LC", nxt(), INSTALLED, f"V{v}") for v in range(8, 108)] + [bc("LC", call - 2, ADD, "LATE", 1300)]
    )
    return calls


def outcome(reply: broadcast_pb2.PublishBatchResponse) -> list[tuple[int, int, str, str]]:
    return [(r.disposition, r.code, r.field, r.message) for r in reply.results]


def columns_outcome(reply: broadcast_pb2.PublishColumnsResponse) -> list[tuple[int, int, str, str]]:
    rejected = {r.index: r for r in reply.rejections}
    return [
        (d, rejected[i].code, rejected[i].field, rejected[i].message) if i in rejected else (d, 0, "", "")
        for i, d in enumerate(reply.disposition)
    ]


def scope_feed(c: Client) -> bytes:
    req = build_sequence_pb2.GetBuildSequenceRequest(line_id="LC", supplier_id="S1", group="G1")
    return c.build.GetBuildSequence(req, timeout=10).SerializeToString(deterministic=True)


def test_columns_and_batch_agree_message_by_message_and_in_state(pair: tuple[Client, Client]) -> None:
    ca, cb = pair
    for minute, msgs in enumerate(feed()):
        for c in pair:
            c.clock.SetClock(
                lines_pb2.SetClockRequest(now=Timestamp(seconds=EPOCH_S + 60 * minute)), timeout=10
            )
        batch = ca.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=msgs), timeout=30)
        cols = cb.broadcast.PublishColumns(pack(msgs), timeout=30)
        assert columns_outcome(cols) == outcome(batch)
        assert (cols.applied, cols.duplicates, cols.rejected) == (
            batch.applied,
            batch.duplicates,
            batch.rejected,
        )
    kinds = {d for d, _, _, _ in columns_outcome(cols)}
    assert kinds == {broadcast_pb2.DISPOSITION_APPLIED, broadcast_pb2.DISPOSITION_REJECTED}
    vehicles = ["V0", "V1", "V2", "V4", "V5", "V7", "W10", "V-GAP"]
    assert state_of(cb, "LC", vehicles) == state_of(ca, "LC", vehicles)
    assert scope_feed(cb) == scope_feed(ca)


def test_a_message_sent_packed_is_a_duplicate_when_sent_again_alone(pair: tuple[Client, Client]) -> None:
    _, cb = pair
    msgs = [bc("LC", v + 1, ADD, f"D{v}", v + 1, parts(v), checkpoint="BODY") for v in range(50)]
    assert cb.broadcast.PublishColumns(pack(msgs), timeout=30).applied == 50
    again = cb.broadcast.Publish(pub(msgs[17]), timeout=10)
    assert again.disposition == broadcast_pb2.DISPOSITION_DUPLICATE
    changed = bc("LC", 18, ADD, "D17", 18, parts(18), checkpoint="BODY")
    with pytest.raises(grpc.RpcError) as err:
        cb.broadcast.Publish(pub(changed), timeout=10)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    repeat = cb.broadcast.PublishColumns(pack(msgs[10:20]), timeout=30)
    assert list(repeat.disposition) == [broadcast_pb2.DISPOSITION_DUPLICATE] * 10


def test_acknowledged_columns_survive_kill_9(tmp_path: Path) -> None:
    proc, c = start(tmp_path / "data")
    msgs = [bc("LC", v + 1, ADD, f"K{v}", v + 1, parts(v)) for v in range(2000)]
    msgs += [bc("LC", 2001 + v, INSTALLED, f"K{v}") for v in range(500)]
    for i in range(0, len(msgs), 500):
        assert c.broadcast.PublishColumns(pack(msgs[i : i + 500]), timeout=30).rejected == 0
    vehicles = ["K0", "K499", "K500", "K1999"]
    before = state_of(c, "LC", vehicles), scope_feed(c)
    c.channel.close()
    proc.kill9()
    proc.restart()
    c = connect(proc.address)
    assert (state_of(c, "LC", vehicles), scope_feed(c)) == before
    c.channel.close()
    proc.stop()


@pytest.mark.parametrize(
    ("broken", "column"),
    [
        (lambda m: m.action.pop(), "action"),
        (lambda m: m.part_group.__setitem__(0, 7), "part_group[0]"),
        (lambda m: (m.ClearField("line"), m.line_ids.append("LX")), "line"),
        (lambda m: m.part_count.__setitem__(0, 9), "part_count adds up to 17"),
    ],
)
def test_malformed_columns_are_refused_as_a_whole(
    pair: tuple[Client, Client], broken: object, column: str
) -> None:
    _, cb = pair
    m = pack([bc("LC", v + 1, ADD, f"M{v}", v + 1, parts(v)) for v in range(3)])
    broken(m)  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as err:
        cb.broadcast.PublishColumns(m, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert column in err.value.details()
    line = cb.lines.GetLine(lines_pb2.GetLineRequest(line_id="LC"), timeout=10)
    assert line.highest_call_no == 0 and line.active_vehicles == 0
