"""Lines partitioned over engine groups on one NATS server: the directory assigns lines,
every server answers where a line lives, and a call for another group's line is refused
with a google.rpc.ErrorInfo a client follows without parsing text."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from jis.v1 import breaks_pb2, broadcast_pb2, build_sequence_pb2, directory_pb2, lines_pb2, supply_pb2
from tests import crash_harness
from tests.conftest import Client, configure_line, connect, following
from tests.factories import ADD, bc, part, pub
from tests.load import PublishLoad, check_group, error_info
from tests.natsproc import NatsCluster, NatsServer
from tests.serverproc import ServerProcess

pytest.importorskip("nats")


def test_lines_live_in_the_group_the_directory_names(nats_node: NatsServer, tmp_path: Path) -> None:
    g1 = ServerProcess(tmp_path / "g1", "--store", nats_node.url, "--stream", "PG", "--group", "G1").start()
    g2 = ServerProcess(tmp_path / "g2", "--store", nats_node.url, "--stream", "PG", "--group", "G2").start()
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
        # AssignLine does not take a line from another group: MoveLine carries its state
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
            [*jis, "assign", "L5", "G2", "--server", g1.address], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and "group G2" in done.stdout, done.stderr
        where = subprocess.run(
            [*jis, "where", "L5", "L1", "--server", g2.address, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert where.returncode == 0, where.stderr
        assert [(x["lineId"], x["group"]) for x in json.loads(where.stdout)] == [("L5", "G2"), ("L1", "G1")]
        moved = subprocess.run(
            [*jis, "assign", "L5", "G1", "--server", g1.address], capture_output=True, text=True, timeout=60
        )
        assert moved.returncode != 0 and "jis lines move L5 G1" in moved.stderr
    finally:
        g1.stop()
        g2.stop()


def test_a_server_without_groups_has_no_directory(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.directory.ListAssignments(directory_pb2.ListAssignmentsRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_two_groups_of_two_servers_lose_nothing_when_each_leader_is_killed(tmp_path: Path) -> None:
    """2 groups x 2 servers on a 3-node R3 cluster, 4 lines (2 per group), a client per line
    publishing through a channel that follows its group's leader. The leader of each group
    is killed in turn; then a line moves to the other group under load, whose leader is
    killed mid-move. Every acknowledged broadcast is in its line's group exactly once, no
    line is anywhere else, and each group's state equals an engine replaying its stream."""
    cluster = NatsCluster(tmp_path / "nats").start()
    groups = {"GA": ["A1", "A2"], "GB": ["B1", "B2"]}
    procs: dict[str, list[ServerProcess]] = {
        g: [
            ServerProcess(
                tmp_path / f"{g}-{k}",
                "--test-clock",
                "--store",
                cluster.url,
                "--stream",
                "PX",
                "--replicas",
                "3",
                "--group",
                g,
                "--lease",
                "1s",
            )
            for k in (1, 2)
        ]
        for g in groups
    }
    try:
        for members in procs.values():
            members[0].start()
            members[1].start(serving=False)
            members[1].wait_log("jis STANDBY")
        admin = connect(procs["GA"][0].address)
        for g, lines in groups.items():
            for line in lines:
                admin.directory.AssignLine(directory_pb2.AssignLineRequest(line_id=line, group=g), timeout=10)
            for line in lines:
                configure_line(following(*procs[g]), line)
        clients = {line: partial(following, *procs[g]) for g, lines in groups.items() for line in lines}

        def kill_leader(g: str) -> None:
            leader = crash_harness._leader(procs[g])
            leader.kill9()
            crash_harness._leader(procs[g])
            leader.start(serving=False)
            leader.wait_log("jis STANDBY")

        with PublishLoad(clients, follow=True) as load:
            for g in ("GA", "GB", "GA", "GB"):
                time.sleep(0.5)
                kill_leader(g)
            # A1 moves to GB under load; GB's leader is killed while it takes the line in, and
            # the next one finishes the move (each step is redone from the directory and the logs).
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                moving = pool.submit(
                    following(*procs["GA"]).directory.MoveLine,
                    directory_pb2.MoveLineRequest(line_id="A1", group="GB"),
                    timeout=90,
                )
                time.sleep(0.3)
                assert not moving.done()  # the move is under way when GB's leader dies
                kill_leader("GB")
                done = moving.result(timeout=120)
            print(f"\nmove with GB's leader killed mid-way: {time.monotonic() - started:.1f} s")
            assert (done.line_id, done.group) == ("A1", "GB")
            time.sleep(0.5)
        groups = {"GA": ["A2"], "GB": ["B1", "B2", "A1"]}
        assert load.refusals["UNAVAILABLE"] > 0  # writes came in while it moved
        for g, lines in groups.items():
            c = connect(crash_harness._leader(procs[g]).address)
            check_group(c, cluster.url, tmp_path / f"replay-{g}", f"PX_{g}", lines, load.acked)
            c.channel.close()
    finally:
        for members in procs.values():
            for p in members:
                p.stop_if_running()
        cluster.stop()


def test_a_line_moves_between_groups_under_load_with_its_state(nats_node: NatsServer, tmp_path: Path) -> None:
    """Two groups, a client per line publishing without pause; L1 moves from GA to GB and
    back while it runs. Writes during a move are refused UNAVAILABLE and sent again (the
    same call_no: applied once either way); a client refused with LINE_IN_OTHER_GROUP
    follows the ErrorInfo. In the end every acknowledged broadcast is in its line's group
    exactly once, no group holds a line it does not own, and each group's lines and open
    breaks equal an in-process replay of its own log."""
    groups = {"GA": ["L1", "L3"], "GB": ["L2"]}
    procs = {
        g: ServerProcess(tmp_path / g, "--store", nats_node.url, "--stream", "PM", "--group", g).start()
        for g in groups
    }
    try:
        admin = connect(procs["GA"].address)
        for g, lines in groups.items():
            for line in lines:
                admin.directory.AssignLine(directory_pb2.AssignLineRequest(line_id=line, group=g), timeout=10)
                configure_line(connect(procs[g].address), line)
        clients = {line: partial(connect, procs[g].address) for g, lines in groups.items() for line in lines}
        with PublishLoad(clients, follow=True) as load:
            took: list[float] = []
            scope = {"line_id": "L1", "supplier_id": "SUP1", "group": "SEAT"}
            for src, dst in (("GA", "GB"), ("GB", "GA")):
                time.sleep(1.0)
                seen = connect(procs[src].address).build.GetBuildSequence(
                    build_sequence_pb2.GetBuildSequenceRequest(**scope), timeout=10
                )
                started = time.monotonic()
                done = admin.directory.MoveLine(
                    directory_pb2.MoveLineRequest(line_id="L1", group=dst), timeout=60
                )
                took.append(time.monotonic() - started)
                assert (done.line_id, done.group, list(done.addresses)) == ("L1", dst, [procs[dst].address])
                # a supplier's cursor from the old group is refused there, never read as the new one's
                watch = connect(procs[dst].address).build.WatchBuildSequence(
                    build_sequence_pb2.WatchBuildSequenceRequest(**scope, after_cursor=seen.cursor),
                    timeout=10,
                )
                with pytest.raises(grpc.RpcError) as err:
                    next(iter(watch))
                assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE, err.value.details()
            # A move the receiving group cannot take is called off before anything moves: here
            # the line's supplier is configured in GA only (GB would replay it otherwise).
            connect(procs["GA"].address).supply.ConfigureSupplier(
                supply_pb2.ConfigureSupplierRequest(supplier_id="SUP1", lead_time=Duration(seconds=7200)),
                timeout=10,
            )
            at_gb = connect(procs["GB"].address)
            with pytest.raises(grpc.RpcError) as err:
                at_gb.directory.MoveLine(directory_pb2.MoveLineRequest(line_id="L1", group="GB"), timeout=60)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "called off" in (details := err.value.details() or "") and "supplier 'SUP1'" in details
            where = at_gb.directory.ListAssignments(
                directory_pb2.ListAssignmentsRequest(line_ids=["L1"]), timeout=10
            )
            assert [(a.line_id, a.group) for a in where.assignments] == [("L1", "GA")]
            time.sleep(1.0)  # L1 goes on in GA
        print(
            f"\nmoves took {[round(x, 2) for x in took]} s; refusals {dict(load.refusals)}",
        )
        assert load.refusals["UNAVAILABLE"] > 0 and load.refusals["FAILED_PRECONDITION"] > 0  # under load
        for g, lines in groups.items():  # L1 is back in GA; GB holds L2 only
            c = connect(procs[g].address)
            check_group(c, nats_node.url, tmp_path / f"replay-{g}", f"PM_{g}", lines, load.acked, True, True)
            c.channel.close()
    finally:
        for p in procs.values():
            p.stop_if_running()
