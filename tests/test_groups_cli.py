"""The `jis` CLI against lines partitioned over engine groups on one NATS server: `jis lines
assign/move/where` (also through a standby), and every command following a call refused
because another group owns its line to that group, that call alone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import json_format

from jis.api.status import lines_of
from jis.v1 import broadcast_pb2, directory_pb2, sequence_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, bc, part, pub
from tests.natsproc import NatsServer
from tests.serverproc import ServerProcess

pytest.importorskip("nats")


@dataclass
class Groups:
    g1: ServerProcess
    standby: ServerProcess
    """A second server of G1, a standby."""
    g2: ServerProcess


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory, nats_node: NatsServer) -> Iterator[Groups]:
    """G1 (a leader and a standby) and G2 (a leader) on one NATS server, stream PC."""
    root = tmp_path_factory.mktemp("groups-cli")
    node = nats_node
    procs: list[ServerProcess] = []
    try:

        def server(name: str, group: str) -> ServerProcess:
            p = ServerProcess(root / name, "--store", node.url, "--stream", "PC", "--group", group)
            procs.append(p)
            return p

        g1 = server("g1", "G1").start()
        standby = server("g1b", "G1").start(serving=False)
        standby.wait_log("jis STANDBY")
        g2 = server("g2", "G2").start()
        yield Groups(g1, standby, g2)
    finally:
        for p in procs:
            p.stop_if_running()


def jis(*args: str, stdin: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jis", *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )


def assign(g: Groups, line: str, group: str) -> None:
    connect(g.g1.address).directory.AssignLine(
        directory_pb2.AssignLineRequest(line_id=line, group=group), timeout=10
    )


def vehicles(c: Client, line: str) -> list[str]:
    listed = c.sequence.ListSequence(
        sequence_pb2.ListSequenceRequest(line_id=line, page_size=10_000), timeout=10
    )
    return [v.vehicle_id for v in listed.vehicles]


def test_jis_lines_move_takes_a_line_with_its_state_to_another_group(groups: Groups) -> None:
    g1, g2 = groups.g1, groups.g2
    # the connection flags before the sub-command count as much as after it
    r = jis("lines", "--server", g1.address, "--json", "assign", "MV1", "G1")
    assert r.returncode == 0, r.stderr
    g1_servers = sorted([g1.address, groups.standby.address])
    assert json.loads(r.stdout) == {"lineId": "MV1", "group": "G1", "addresses": g1_servers}  # one object
    c1 = connect(g1.address)
    configure_line(c1, "MV1")
    c1.broadcast.Publish(pub(bc("MV1", 1, ADD, "MV1-1", 1, [part()])), timeout=10)

    r = jis("lines", "move", "MV1", "G2", "--server", g1.address, "--json", timeout=150)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"lineId": "MV1", "group": "G2", "addresses": [g2.address]}
    assert vehicles(connect(g2.address), "MV1") == ["MV1-1"]  # the state went with it
    r = jis("lines", "--server", g2.address, "--json", "where", "MV1")
    assert [(x["lineId"], x["group"]) for x in json.loads(r.stdout)] == [("MV1", "G2")], r.stderr


def test_jis_lines_move_of_an_unassigned_line_is_refused_naming_the_field(groups: Groups) -> None:
    r = jis("lines", "move", "NOWHERE", "G2", "--server", groups.g1.address, "--json")
    assert (r.returncode, r.stdout) == (1, ""), r.stderr
    assert "FAILED_PRECONDITION" in r.stderr and "line_id: line 'NOWHERE' is assigned to no group" in r.stderr


def test_jis_lines_move_that_outlasts_its_wait_says_the_line_is_still_moving(groups: Groups) -> None:
    assign(groups, "MV2", "G1")
    c1 = connect(groups.g1.address)
    configure_line(c1, "MV2")
    c1.broadcast.Publish(pub(bc("MV2", 1, ADD, "MV2-1", 1, [part()])), timeout=10)
    r = jis("lines", "move", "MV2", "G2", "--wait", "0.25", "--server", groups.g1.address)
    assert r.returncode == 3 and r.stdout == "", r.stderr
    assert "line MV2 is still moving to group G2" in r.stderr, r.stderr
    assert "check `jis lines where MV2`" in r.stderr and "cannot reach" not in r.stderr
    deadline = time.monotonic() + 60  # the move goes on
    while time.monotonic() < deadline:
        r = jis("lines", "where", "MV2", "--server", groups.g2.address, "--json")
        if json.loads(r.stdout)[0]["group"] == "G2":
            break
        time.sleep(0.2)
    assert vehicles(connect(groups.g2.address), "MV2") == ["MV2-1"]


def test_a_standby_assigns_and_moves_lines(groups: Groups) -> None:
    """The directory's writes are no engine writes: a standby makes them as a leader does."""
    s = ("--server", groups.standby.address, "--json")
    r = jis("lines", "assign", "SB1", "G2", *s)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["group"] == "G2"
    r = jis("lines", "move", "SB1", "G1", *s, timeout=150)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["group"] == "G1"


def test_each_refused_call_alone_is_sent_to_the_group_that_owns_its_line(
    groups: Groups, tmp_path: Path
) -> None:
    """`jis publish` through G1: from stdin, of a G2 line (read once, followed to G2); of a
    file whose first batch is G1's and whose second is G2's (the second follows to G2, the
    first is not sent again)."""
    g1, g2 = groups.g1, groups.g2
    assign(groups, "F1", "G1")
    assign(groups, "F2", "G2")
    configure_line(connect(g1.address), "F1")
    configure_line(connect(g2.address), "F2")

    def line(b: broadcast_pb2.Broadcast) -> str:
        return json_format.MessageToJson(b, indent=None)

    r = jis("publish", "-", "--server", g1.address, stdin=line(bc("F2", 5, ADD, "F2-5", 5, [part()])))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.strip() == "1 applied, 0 duplicate(s), 0 refused"

    # one batch of F1 (call 500 missing: a GAP), then F2's (call 3 missing)
    calls = [bc("F1", n, ADD, f"F1-{n}", n, [part()]) for n in range(1, 1002) if n != 500]
    calls += [bc("F2", n, ADD, f"F2-{n}", n, [part()]) for n in (1, 2, 4)]
    (tmp_path / "calls.jsonl").write_text("\n".join(line(b) for b in calls) + "\n")
    r = jis("publish", str(tmp_path / "calls.jsonl"), "--server", g1.address, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"applied": 1003, "duplicates": 0, "rejected": []}
    assert len(vehicles(connect(g1.address), "F1")) == 1000
    assert vehicles(connect(g2.address), "F2") == ["F2-1", "F2-2", "F2-4", "F2-5"]

    # reads follow too, a stream as well; without --line, breaks are every group's
    r = jis("breaks", "--line", "F2", "--type", "gap", "--server", g1.address, "--json")
    assert [(b["lineId"], b["type"]) for b in json.loads(r.stdout)] == [("F2", "BREAK_TYPE_GAP")], r.stderr
    r = jis("breaks", "--watch", "--line", "F2", "--type", "gap", "--for", "2", "--server", g1.address)
    assert r.returncode == 0, r.stderr
    assert [ln.split()[:2] for ln in r.stdout.splitlines()[1:]] == [["=", "GAP"]]
    r = jis("breaks", "--server", g1.address, "--json")
    assert r.returncode == 0, r.stderr
    assert {("F1", "BREAK_TYPE_GAP"), ("F2", "BREAK_TYPE_GAP")} <= {
        (b["lineId"], b["type"]) for b in json.loads(r.stdout)
    }


def test_a_call_names_each_of_its_lines_once() -> None:
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[bc("B", 1, ADD, "V1"), bc("A", 1, ADD, "V2"), bc("B", 2, ADD, "V3"), bc("", 1, ADD, "V")]
    )
    assert lines_of(batch) == ["B", "A"]


def test_refused_before_following_is_the_same_refusal_at_the_owner(groups: Groups) -> None:
    """A line of no group: refused where it is asked, and nowhere else to follow to."""
    r = jis("sequence", "--line", "NOWHERE2", "--server", groups.g1.address)
    assert r.returncode == 1 and "assigned to no group" in r.stderr, r.stderr
