"""Lines partitioned over engine groups on one NATS server: the directory assigns lines,
every server answers where a line lives, and a call for another group's line is refused
with a google.rpc.ErrorInfo a client follows without parsing text."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from jis.v1 import breaks_pb2, broadcast_pb2, directory_pb2, lines_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, bc, part, pub
from tests.natsproc import NatsServer
from tests.serverproc import ServerProcess

pytest.importorskip("nats")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    n = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield n
    n.stop()


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    return info


def test_lines_live_in_the_group_the_directory_names(node: NatsServer, tmp_path: Path) -> None:
    g1 = ServerProcess(tmp_path / "g1", "--store", node.url, "--stream", "PG", "--group", "G1").start()
    g2 = ServerProcess(tmp_path / "g2", "--store", node.url, "--stream", "PG", "--group", "G2").start()
    try:
        c1, c2 = connect(g1.address), connect(g2.address)
        with pytest.raises(grpc.RpcError) as err:
            configure_line(c1, "L1")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "assigned to no group" in (err.value.details() or "")

        # any server assigns, any server answers where a line lives
        c2.directory.AssignLine(directory_pb2.AssignLineRequest(line_id="L1", group="G1"), timeout=10)
        c1.directory.AssignLine(directory_pb2.AssignLineRequest(line_id="L2", group="G2"), timeout=10)
        listed = c1.directory.ListAssignments(directory_pb2.ListAssignmentsRequest(), timeout=10)
        assert listed.group == "G1"
        assert [(a.line_id, a.group, list(a.addresses)) for a in listed.assignments] == [
            ("L1", "G1", [g1.address]),
            ("L2", "G2", [g2.address]),
        ]
        configure_line(c1, "L1")
        c1.broadcast.Publish(pub(bc("L1", 1, ADD, "L1-1", 1, [part()])), timeout=10)

        # another group's line: refused with where it lives; the client follows
        with pytest.raises(grpc.RpcError) as err:
            configure_line(c1, "L2")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        info = error_info(err.value)
        assert (info.reason, info.domain) == ("LINE_IN_OTHER_GROUP", "jis")
        assert dict(info.metadata) == {"line_id": "L2", "group": "G2", "addresses": g2.address}
        follow = Client(grpc.insecure_channel(info.metadata["addresses"].split(",")[0]))
        configure_line(follow, "L2")
        follow.broadcast.Publish(pub(bc("L2", 1, ADD, "L2-1", 1, [part()])), timeout=10)

        # every way a request names a line
        refused = [
            lambda: c1.broadcast.Publish(pub(bc("L2", 2, ADD, "L2-2", 2, [part()])), timeout=10),
            lambda: c1.broadcast.PublishBatch(
                broadcast_pb2.PublishBatchRequest(
                    broadcasts=[bc("L1", 2, ADD, "L1-2", 2, [part()]), bc("L2", 2, ADD, "L2-2", 2, [part()])]
                ),
                timeout=10,
            ),
            lambda: c1.lines.GetLine(lines_pb2.GetLineRequest(line_id="L2"), timeout=10),
            lambda: next(
                iter(c1.breaks.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="L2"), timeout=10))
            ),
            lambda: c1.lines.GetLine(lines_pb2.GetLineRequest(line_id="L3"), timeout=10),
        ]
        for call in refused:
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert error_info(err.value).reason == "LINE_IN_OTHER_GROUP"
        # a call without a line answers for this group's lines
        assert [x.line_id for x in c1.lines.ListLines(lines_pb2.ListLinesRequest(), timeout=10).lines] == [
            "L1"
        ]
        # a line another group owns does not move (its state would have to go with it)
        with pytest.raises(grpc.RpcError) as err:
            c1.directory.AssignLine(directory_pb2.AssignLineRequest(line_id="L2", group="G1"), timeout=10)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as err:
            c1.directory.AssignLine(
                directory_pb2.AssignLineRequest(line_id="L9", group="no/slash"), timeout=10
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        # the CLI: assign through one server, ask another where lines live
        jis = [sys.executable, "-m", "jis", "lines"]
        done = subprocess.run(
            [*jis, "assign", "L5", "G2", "--server", g1.address], capture_output=True, text=True
        )
        assert done.returncode == 0 and "group G2" in done.stdout, done.stderr
        where = subprocess.run(
            [*jis, "where", "L5", "L1", "--server", g2.address, "--json"], capture_output=True, text=True
        )
        assert where.returncode == 0, where.stderr
        assert [(x["lineId"], x["group"]) for x in json.loads(where.stdout)] == [("L5", "G2"), ("L1", "G1")]
        moved = subprocess.run(
            [*jis, "assign", "L5", "G1", "--server", g1.address], capture_output=True, text=True
        )
        assert moved.returncode != 0 and "moving a line" in moved.stderr
    finally:
        g1.stop()
        g2.stop()


def test_a_server_without_groups_has_no_directory(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.directory.ListAssignments(directory_pb2.ListAssignmentsRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
