"""ListBreaks in pages: every break that stays open (or resolved) while a client pages
through is listed exactly once, in one order that never changes for a break."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import breaks_pb2, broadcast_pb2, lines_pb2, supply_pb2
from tests.conftest import Client, all_breaks, configure_line, connect
from tests.factories import ADD, CANCEL, bc, part
from tests.serverproc import ServerProcess

MISSING = breaks_pb2.BREAK_TYPE_MISSING


def add_vehicles(c: Client, line: str, first: int, n: int) -> None:
    """n ADDs needing a part inside the lead time with none built: n MISSING breaks."""
    highest = c.lines.GetLine(lines_pb2.GetLineRequest(line_id=line), timeout=10).highest_call_no
    batch = [
        bc(line, highest + 1 + i, ADD, f"{line}-{k}", k, [part("SEAT", "P", "PG")])
        for i, k in enumerate(range(first, first + n))
    ]
    reply = c.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=30)
    assert reply.applied == n


def key(b: breaks_pb2.SequenceBreak) -> tuple[int, int, int, int]:
    need = b.need_time.ToNanoseconds() if b.HasField("need_time") else 0
    return (not b.HasField("need_time"), need, b.detected_at.ToNanoseconds(), int(b.break_id[1:]))


@pytest.fixture
def paged_line(client: Client, line_id: str) -> tuple[Client, str]:
    """A fresh line of the session server (wall clock: its vehicles, needed from 2026-01-01
    on, are all inside the lead time) and a supplier for its parts."""
    client.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="PG", lead_time=Duration(seconds=3600)), timeout=10
    )
    return client, line_id


def test_open_breaks_page_through_exactly_once_while_breaks_are_raised(
    paged_line: tuple[Client, str],
) -> None:
    c, line = paged_line
    add_vehicles(c, line, 1, 60)
    before = {b.break_id for b in all_breaks(c, breaks_pb2.ListBreaksRequest(line_id=line)).breaks}
    assert len(before) == 60
    seen: list[breaks_pb2.SequenceBreak] = []
    request = breaks_pb2.ListBreaksRequest(line_id=line, types=[MISSING], page_size=7)
    for page_no in range(100):
        page = c.breaks.ListBreaks(request, timeout=10)
        assert len(page.breaks) <= 7
        seen += page.breaks
        # new breaks while the client pages: some sort before the page read, some after
        add_vehicles(c, line, 1_000 + page_no, 1)  # needed later: sorts after this page
        add_vehicles(c, line, -10 - page_no, 1)  # needed earlier: sorts before it
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    ids = [b.break_id for b in seen]
    assert len(ids) == len(set(ids)), "a break listed twice"
    assert before <= set(ids), "a break open throughout was not listed"
    assert any(b.vehicle_id.endswith("-1000") for b in seen)  # raised meanwhile, after the cursor
    assert [key(b) for b in seen] == sorted(key(b) for b in seen)


def test_resolved_breaks_page_through_exactly_once(paged_line: tuple[Client, str]) -> None:
    c, line = paged_line
    add_vehicles(c, line, 1, 25)
    for k in range(1, 26):
        c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=bc(line, 25 + k, CANCEL, f"{line}-{k}")))
    window = {"line_id": line, "resolved_from": Timestamp(seconds=0)}
    everything = all_breaks(c, breaks_pb2.ListBreaksRequest(**window)).breaks
    assert len(everything) == 25
    request = breaks_pb2.ListBreaksRequest(page_size=4, **window)
    seen = []
    for _ in range(20):
        page = c.breaks.ListBreaks(request, timeout=10)
        seen += page.breaks
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert [b.break_id for b in seen] == [b.break_id for b in everything]
    assert len({b.break_id for b in seen}) == 25


def test_break_page_tokens_are_validated(paged_line: tuple[Client, str]) -> None:
    c, line = paged_line
    add_vehicles(c, line, 1, 5)
    page = c.breaks.ListBreaks(breaks_pb2.ListBreaksRequest(line_id=line, page_size=2), timeout=10)
    token = page.next_page_token
    assert token
    for bad in (
        breaks_pb2.ListBreaksRequest(line_id=line, page_size=2, page_token=token[:-1]),
        breaks_pb2.ListBreaksRequest(line_id=line, page_size=2, page_token="12345"),
        breaks_pb2.ListBreaksRequest(line_id=f"{line}X", page_size=2, page_token=token),
        breaks_pb2.ListBreaksRequest(line_id=line, types=[MISSING], page_token=token),
        breaks_pb2.ListBreaksRequest(line_id=line, resolved_from=Timestamp(seconds=0), page_token=token),
        breaks_pb2.ListBreaksRequest(line_id=line, page_size=10_001),
        breaks_pb2.ListBreaksRequest(line_id=line, page_size=-1),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            c.breaks.ListBreaks(bad, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith(("page_token:", "page_size:"))


def test_the_default_page_is_500(paged_line: tuple[Client, str]) -> None:
    c, line = paged_line
    add_vehicles(c, line, 1, 501)
    page = c.breaks.ListBreaks(breaks_pb2.ListBreaksRequest(line_id=line), timeout=10)
    assert len(page.breaks) == 500 and page.next_page_token
    rest = c.breaks.ListBreaks(
        breaks_pb2.ListBreaksRequest(line_id=line, page_token=page.next_page_token), timeout=10
    )
    assert len(rest.breaks) == 1 and not rest.next_page_token


def test_resolved_breaks_older_than_the_retention_answer_from_the_archive_alike(tmp_path: Path) -> None:
    """Resolved breaks older than --retain leave memory for the store's archive, in the
    commit that journals the cutoff; a ListBreaks of a window reaching back answers with the
    same content and order, pages running across archive and memory, also after kill -9."""
    hour = 3600
    t0 = 1_767_225_600 - 10 * hour  # ten hours before the line's epoch (2026-01-01)
    proc = ServerProcess(tmp_path / "data", "--test-clock", "--retain", "1h").start()
    try:
        c = connect(proc.address)
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=t0)), timeout=10)
        configure_line(c, "AR")
        c.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id="PG", lead_time=Duration(seconds=30 * 86_400)),
            timeout=10,
        )
        add_vehicles(c, "AR", 1, 12)  # 12 MISSING, resolved by their CANCEL at t0
        for k in range(1, 13):
            c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=bc("AR", 12 + k, CANCEL, f"AR-{k}")))
        # MISSING only: the 3 h jump also raises and resolves a BROADCAST_SILENT (after the cutoff)
        window = {"line_id": "AR", "resolved_from": Timestamp(seconds=0), "types": [MISSING]}
        before = all_breaks(c, breaks_pb2.ListBreaksRequest(**window)).breaks
        assert len(before) == 12
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=t0 + 3 * hour)), timeout=10)
        add_vehicles(c, "AR", 100, 3)  # the first group after the clock moved archives what is 1 h old
        for k in range(100, 103):
            c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=bc("AR", 30 + k, CANCEL, f"AR-{k}")))

        def listed() -> list[bytes]:
            request = breaks_pb2.ListBreaksRequest(page_size=5, **window)
            out: list[bytes] = []
            for _ in range(10):
                page = c.breaks.ListBreaks(request, timeout=10)
                out += [b.SerializeToString(deterministic=True) for b in page.breaks]
                if not page.next_page_token:
                    return out
                request.page_token = page.next_page_token
            raise AssertionError("too many pages")

        after = listed()
        assert len(after) == 15
        assert after[:12] == [b.SerializeToString(deterministic=True) for b in before]
        with sqlite3.connect(tmp_path / "data" / "jis.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM archive_break").fetchone()[0] == 12
        c.channel.close()
        proc.kill9()
        proc.restart()
        c = connect(proc.address)
        assert listed() == after
        c.channel.close()
    finally:
        proc.stop_if_running()
