"""SPEC.md 4, build sequence: the stream a supplier plant keeps open, through real gRPC.

First the expected sequence, then every change with an increasing cursor; a reconnect
with the last cursor seen resumes with nothing lost and nothing repeated, also across
a kill -9 of the server.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from jis.v1 import broadcast_pb2
from jis.v1 import build_sequence_pb2 as bs
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part, pub
from tests.serverproc import ServerProcess

K = bs.BuildSequenceChangeKind
_ids = itertools.count(1)


class Watch:
    """A WatchBuildSequence stream read on a thread into a queue."""

    def __init__(self, client: Client, request: bs.WatchBuildSequenceRequest) -> None:
        self.call = client.build.WatchBuildSequence(request, timeout=60)
        self.items: queue.Queue[bs.BuildSequenceUpdate | grpc.RpcError] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for update in self.call:
                self.items.put(update)
        except grpc.RpcError as exc:
            self.items.put(exc)

    def take(self, n: int = 1, timeout: float = 10) -> list[bs.BuildSequenceUpdate]:
        out = []
        for _ in range(n):
            item = self.items.get(timeout=timeout)
            if isinstance(item, grpc.RpcError):
                raise item
            out.append(item)
        return out

    def changes(self, n: int) -> list[bs.BuildSequenceChange]:
        """The next ``n`` changes, however they are grouped into updates."""
        out: list[bs.BuildSequenceChange] = []
        while len(out) < n:
            (update,) = self.take()
            assert update.WhichOneof("update") == "changes", update
            assert update.changes.changes, "an update carries at least one change"
            out.extend(update.changes.changes)
        assert len(out) == n, f"{len(out) - n} more changes than expected"
        return out

    def quiet(self, seconds: float = 0.3) -> bool:
        """Nothing more arrived within ``seconds``."""
        try:
            self.items.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.call.cancel()
        self.thread.join(timeout=5)


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    opened: list[Watch] = []
    yield opened
    for w in opened:
        w.close()


def watch(client: Client, opened: list[Watch], line_id: str, after: int | None = None, **kw: object) -> Watch:
    req = bs.WatchBuildSequenceRequest(line_id=line_id, supplier_id="SUP1", group="SEAT", **kw)  # type: ignore[arg-type]
    if after is not None:
        req.after_cursor = after
    w = Watch(client, req)
    opened.append(w)
    return w


def vid(line_id: str) -> str:
    return f"{line_id}-V{next(_ids)}"


def test_snapshot_is_the_expected_sequence_by_seq_no_from_the_horizon(client: Client, line_id: str) -> None:
    a, b, c, other = (vid(line_id) for _ in range(4))
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, b, 20, [part(part_number="S-RED")])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, ADD, a, 10, [part(quantity=2)])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 3, ADD, other, 15, [part(supplier_id="SUP2")])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 4, ADD, c, 30, [part(), part("COCKPIT", "C-1")])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 5, PULL, c)), timeout=10)
    req = bs.GetBuildSequenceRequest(line_id=line_id, supplier_id="SUP1", group="SEAT")
    got = client.build.GetBuildSequence(req, timeout=10)
    # c is pulled: not in E; `other` needs SUP2's seat, not SUP1's.
    assert [(e.vehicle_id, e.seq_no, e.part_number, e.quantity) for e in got.entries] == [
        (a, 10, "S-BLK", 2),
        (b, 20, "S-RED", 1),
    ]
    # need_time derived from the line's epoch and takt (60 s) for seq_no 10.
    assert got.entries[0].need_time.ToJsonString() == "2026-01-01T00:10:00Z"
    req.from_seq_no = 11
    assert [e.vehicle_id for e in client.build.GetBuildSequence(req, timeout=10).entries] == [b]


def test_stream_sends_the_snapshot_then_each_kind_of_change(
    client: Client, line_id: str, watches: list[Watch]
) -> None:
    v1, v2 = vid(line_id), vid(line_id)
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v1, 10, [part()])), timeout=10)
    w = watch(client, watches, line_id)
    (first,) = w.take()
    snap = first.snapshot
    assert [e.vehicle_id for e in snap.entries] == [v1]
    assert (snap.line_id, snap.supplier_id, snap.group) == (line_id, "SUP1", "SEAT")

    steps = [
        (bc(line_id, 2, ADD, v2, 20, [part(part_number="S-RED")]), K.BUILD_SEQUENCE_CHANGE_KIND_ADDED),
        (bc(line_id, 3, CHANGE, v2, parts=[part(part_number="S-TAN")]), K.BUILD_SEQUENCE_CHANGE_KIND_CHANGED),
        (bc(line_id, 4, CHANGE, v2, 25, [part(part_number="S-TAN")]), K.BUILD_SEQUENCE_CHANGE_KIND_CHANGED),
        (bc(line_id, 5, PULL, v2), K.BUILD_SEQUENCE_CHANGE_KIND_PULLED),
        (bc(line_id, 6, REINSERT, v2, 40), K.BUILD_SEQUENCE_CHANGE_KIND_REINSERTED),
        (bc(line_id, 7, CHANGE, v2, parts=[part("COCKPIT", "C-1")]), K.BUILD_SEQUENCE_CHANGE_KIND_REMOVED),
        (bc(line_id, 8, CANCEL, v2), None),  # no longer needs SUP1's seat: not in this feed
        (bc(line_id, 9, INSTALLED, v1), K.BUILD_SEQUENCE_CHANGE_KIND_INSTALLED),
    ]
    for msg, _ in steps:
        client.broadcast.Publish(pub(msg), timeout=10)
    kinds = [k for _, k in steps if k is not None]
    got = w.changes(len(kinds))
    assert [c.kind for c in got] == kinds
    assert [c.call_no for c in got] == [2, 3, 4, 5, 6, 7, 9]
    cursors = [c.cursor for c in got]
    assert cursors == sorted(set(cursors)) and cursors[0] > snap.cursor
    added, variant, moved, pulled, reinserted, removed, installed = got
    assert (added.entry.vehicle_id, added.entry.seq_no, added.entry.part_number) == (v2, 20, "S-RED")
    assert not added.HasField("previous_seq_no") and added.previous_part_number == ""
    assert (variant.entry.part_number, variant.previous_part_number) == ("S-TAN", "S-RED")
    assert (moved.entry.seq_no, moved.previous_seq_no) == (25, 20)
    assert moved.entry.need_time.ToJsonString() == "2026-01-01T00:25:00Z"
    assert (pulled.entry.seq_no, pulled.previous_seq_no) == (25, 25)
    assert (reinserted.entry.seq_no, reinserted.entry.part_number) == (40, "S-TAN")
    assert not reinserted.HasField("previous_seq_no")  # it was pulled, not in the sequence
    assert (removed.entry.part_number, removed.previous_part_number) == ("S-TAN", "S-TAN")
    assert installed.entry.vehicle_id == v1
    assert w.quiet()


def test_cancel_of_a_vehicle_in_the_feed_is_sent(client: Client, line_id: str, watches: list[Watch]) -> None:
    v = vid(line_id)
    w = watch(client, watches, line_id)
    w.take()
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 1, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v)), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 3, CANCEL, v)), timeout=10)
    kinds = [c.kind for c in w.changes(3)]
    assert kinds == [
        K.BUILD_SEQUENCE_CHANGE_KIND_ADDED,
        K.BUILD_SEQUENCE_CHANGE_KIND_PULLED,
        K.BUILD_SEQUENCE_CHANGE_KIND_CANCELLED,
    ]


def test_duplicate_and_refused_broadcasts_change_nothing_in_the_feed(
    client: Client, line_id: str, watches: list[Watch]
) -> None:
    v = vid(line_id)
    w = watch(client, watches, line_id)
    w.take()
    msg = bc(line_id, 1, ADD, v, 1, [part()])
    client.broadcast.Publish(pub(msg), timeout=10)
    client.broadcast.Publish(pub(msg), timeout=10)  # duplicate
    with pytest.raises(grpc.RpcError):
        client.broadcast.Publish(pub(bc(line_id, 2, ADD, v, 2, [part()])), timeout=10)  # already known
    client.broadcast.Publish(pub(bc(line_id, 2, CHANGE, v, parts=[part()])), timeout=10)  # no change
    assert len(w.changes(1)) == 1
    assert w.quiet()


def test_resume_by_cursor_loses_nothing_and_repeats_nothing(
    client: Client, line_id: str, watches: list[Watch]
) -> None:
    vs = [vid(line_id) for _ in range(6)]
    w = watch(client, watches, line_id)
    start = w.take()[0].snapshot.cursor
    for i, v in enumerate(vs[:3]):
        client.broadcast.Publish(pub(bc(line_id, i + 1, ADD, v, i, [part()])), timeout=10)
    seen = w.changes(3)
    w.close()
    # While disconnected: more changes, some for another supplier's sequence.
    for i, v in enumerate(vs[3:], start=3):
        client.broadcast.Publish(
            pub(bc(line_id, i + 1, ADD, v, i, [part(supplier_id="SUP1" if i != 4 else "SUP2")]))
        )
    again = watch(client, watches, line_id, after=seen[1].cursor)
    got = again.changes(3)
    assert [c.entry.vehicle_id for c in got] == [vs[2], vs[3], vs[5]]
    assert got[0].cursor == seen[2].cursor
    assert again.quiet()
    # Live changes follow the missed ones on the same stream.
    client.broadcast.Publish(pub(bc(line_id, 7, PULL, vs[0])), timeout=10)
    (live,) = again.changes(1)
    assert (live.kind, live.entry.vehicle_id) == (K.BUILD_SEQUENCE_CHANGE_KIND_PULLED, vs[0])
    # From the very first cursor: everything since the snapshot.
    from_start = watch(client, watches, line_id, after=start)
    assert [c.entry.vehicle_id for c in from_start.changes(6)] == [vs[0], vs[1], vs[2], vs[3], vs[5], vs[0]]


def test_resume_across_kill9_restart_gives_the_same_cursors(fresh_server: ServerProcess) -> None:
    c = connect(fresh_server.address)
    opened: list[Watch] = []
    try:
        configure_line(c, "LR")
        w = watch(c, opened, "LR")
        start = w.take()[0].snapshot.cursor
        for i in range(4):
            c.broadcast.Publish(pub(bc("LR", i + 1, ADD, f"LR-{i}", i, [part()])), timeout=10)
        before = w.changes(4)
        w.close()
        fresh_server.kill9()
        fresh_server.restart()
        c.broadcast.Publish(pub(bc("LR", 5, CHANGE, "LR-1", parts=[part(part_number="S-RED")])), timeout=30)
        again = watch(c, opened, "LR", after=before[1].cursor)
        got = again.changes(3)
        assert [x.cursor for x in got[:2]] == [x.cursor for x in before[2:]]
        assert [x.entry.vehicle_id for x in got] == ["LR-2", "LR-3", "LR-1"]
        assert got[2].kind == K.BUILD_SEQUENCE_CHANGE_KIND_CHANGED and got[2].cursor > before[3].cursor
        assert again.quiet()
        # The snapshot after the restart agrees with the changes applied to the first one.
        snap = watch(c, opened, "LR").take()[0].snapshot
        assert snap.cursor >= got[2].cursor > start
        assert [(e.vehicle_id, e.part_number) for e in snap.entries] == [
            ("LR-0", "S-BLK"),
            ("LR-1", "S-RED"),
            ("LR-2", "S-BLK"),
            ("LR-3", "S-BLK"),
        ]
    finally:
        for x in opened:
            x.close()
        c.channel.close()


@pytest.mark.parametrize(
    ("request_kw", "code", "field"),
    [
        (
            {"line_id": "", "supplier_id": "SUP1", "group": "SEAT"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "line_id",
        ),
        (
            {"line_id": "L", "supplier_id": "", "group": "SEAT"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "supplier_id",
        ),
        ({"line_id": "L", "supplier_id": "SUP1", "group": ""}, grpc.StatusCode.INVALID_ARGUMENT, "group"),
        ({"line_id": "NO-SUCH-LINE", "supplier_id": "S", "group": "G"}, grpc.StatusCode.NOT_FOUND, "line_id"),
    ],
)
def test_bad_build_sequence_requests_name_the_field(
    client: Client, request_kw: dict[str, str], code: grpc.StatusCode, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.build.GetBuildSequence(bs.GetBuildSequenceRequest(**request_kw), timeout=10)
    assert err.value.code() == code and field in err.value.details()
    stream = client.build.WatchBuildSequence(bs.WatchBuildSequenceRequest(**request_kw), timeout=10)
    with pytest.raises(grpc.RpcError) as err:
        next(stream)
    assert err.value.code() == code and field in err.value.details()


def test_a_cursor_never_issued_is_failed_precondition(client: Client, line_id: str) -> None:
    req = bs.WatchBuildSequenceRequest(line_id=line_id, supplier_id="SUP1", group="SEAT", after_cursor=10**15)
    with pytest.raises(grpc.RpcError) as err:
        next(client.build.WatchBuildSequence(req, timeout=10))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "after_cursor" in err.value.details()


def test_an_idle_reader_is_cut_off_by_bytes_before_the_update_count(tmp_path: Path) -> None:
    """The fault: an idle reader kept 44 MiB of updates, all within the 10,000-update bound
    (one update may carry a thousand changes). Updates held for a stream are bounded in
    bytes too (--max-stream-bytes); beyond it the stream ends with RESOURCE_EXHAUSTED, and
    the reader resumes by the last cursor it saw with nothing lost."""
    proc = ServerProcess(tmp_path / "data", "--max-stream-bytes", "30000").start()
    try:
        c = connect(proc.address)
        configure_line(c, "IDLE")
        # no BDP probing: the client's receive window stays at 64 KiB, so a reader that does
        # not read leaves the updates in the server's queue
        idle_ch = grpc.insecure_channel(proc.address, options=[("grpc.http2.bdp_probe", 0)])
        idle = Client(idle_ch).build.WatchBuildSequence(
            bs.WatchBuildSequenceRequest(line_id="IDLE", supplier_id="SUP1", group="SEAT"), timeout=60
        )
        snapshot = next(idle)
        assert snapshot.WhichOneof("update") == "snapshot"
        calls = itertools.count(1)
        for _ in range(20):  # 20 x 1,000 changes of about 90 bytes: far over any window
            numbers = [next(calls) for _ in range(1000)]
            c.broadcast.PublishBatch(
                broadcast_pb2.PublishBatchRequest(
                    broadcasts=[bc("IDLE", n, ADD, f"IDLE-{n}", n, [part()]) for n in numbers]
                ),
                timeout=30,
            )
        last_cursor, cut = snapshot.snapshot.cursor, None
        try:
            for update in idle:
                last_cursor = update.changes.changes[-1].cursor
        except grpc.RpcError as exc:
            cut = exc
        assert cut is not None and cut.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, cut
        assert "resume" in cut.details() or "reconnect" in cut.details()
        # resumed from the last cursor seen: every later change, exactly once
        again = c.build.WatchBuildSequence(
            bs.WatchBuildSequenceRequest(
                line_id="IDLE", supplier_id="SUP1", group="SEAT", after_cursor=last_cursor
            ),
            timeout=10,
        )
        seen: list[str] = []
        try:
            for update in again:
                seen += [ch.entry.vehicle_id for ch in update.changes.changes]
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        got = c.build.GetBuildSequence(
            bs.GetBuildSequenceRequest(line_id="IDLE", supplier_id="SUP1", group="SEAT"), timeout=10
        )
        assert len(got.entries) == 20_000
        assert len(seen) == len(set(seen)) and seen == [e.vehicle_id for e in got.entries][-len(seen) :]
        idle_ch.close()
        c.channel.close()
    finally:
        proc.stop()


def test_a_cursor_older_than_the_retention_is_out_of_range_and_a_fresh_read_resumes(tmp_path: Path) -> None:
    """Build-sequence changes older than --retain leave memory; a resume from a cursor among
    them is OUT_OF_RANGE, telling the client to read the build sequence again and resume
    after the cursor it returns: from there every later change arrives exactly once, also
    after a kill -9 (the drop is journaled, so replay drops the same)."""
    from google.protobuf.timestamp_pb2 import Timestamp

    from jis.v1 import lines_pb2

    proc = ServerProcess(tmp_path / "data", "--test-clock", "--retain", "1h").start()
    hour = 3600
    scope = {"line_id": "RET", "supplier_id": "SUP1", "group": "SEAT"}
    try:
        c = connect(proc.address)
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=10 * hour)), timeout=10)
        configure_line(c, "RET")
        for n in range(1, 4):
            c.broadcast.Publish(pub(bc("RET", n, ADD, f"RET-{n}", n, [part()])), timeout=10)
        early = c.build.GetBuildSequence(bs.GetBuildSequenceRequest(**scope), timeout=10).cursor
        assert early == 3
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=13 * hour)), timeout=10)
        for n in range(4, 6):  # the first group after the clock moved drops what is 1 h old
            c.broadcast.Publish(pub(bc("RET", n, ADD, f"RET-{n}", n, [part()])), timeout=10)

        def resume(after: int) -> list[bs.BuildSequenceChange]:
            call = c.build.WatchBuildSequence(
                bs.WatchBuildSequenceRequest(after_cursor=after, **scope), timeout=1.5
            )
            out: list[bs.BuildSequenceChange] = []
            try:
                for update in call:
                    out += update.changes.changes
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
            return out

        for attempt in range(2):
            with pytest.raises(grpc.RpcError) as old:
                resume(1)
            assert old.value.code() == grpc.StatusCode.OUT_OF_RANGE
            assert "GetBuildSequence" in old.value.details()
            fresh = c.build.GetBuildSequence(bs.GetBuildSequenceRequest(**scope), timeout=10)
            assert [e.vehicle_id for e in fresh.entries] == [f"RET-{n}" for n in range(1, 6 + attempt)]
            assert fresh.cursor == 5 + attempt  # cursors never move, also across the restart
            kept = [f"RET-{n}" for n in range(4, 6 + attempt)]
            assert [ch.entry.vehicle_id for ch in resume(3)] == kept  # newer than the cutoff: kept
            n = 6 + attempt
            c.broadcast.Publish(pub(bc("RET", n, ADD, f"RET-{n}", n, [part()])), timeout=10)
            later = resume(fresh.cursor)
            assert [(ch.cursor, ch.entry.vehicle_id) for ch in later] == [(fresh.cursor + 1, f"RET-{n}")]
            if attempt == 0:
                c.channel.close()
                proc.kill9()
                proc.restart()
                c = connect(proc.address)
        c.channel.close()
    finally:
        proc.stop()
