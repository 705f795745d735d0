"""High availability on a real 3-node NATS cluster: one leader, a hot standby that follows
it, refuses writes, and takes over after a kill -9 with every acknowledged input; a leader
paused past its lease cannot append when it wakes."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jis import client_config
from jis.api import convert
from jis.engine.engine import Engine
from jis.store.jetstream import JetStreamStore, parse_servers
from jis.v1 import breaks_pb2, broadcast_pb2, build_sequence_pb2, lines_pb2, sequence_pb2, whatif_pb2
from tests import crash_harness
from tests.conftest import Client, all_breaks, configure_line, connect, following
from tests.factories import ADD, PULL, bc, part, pub
from tests.load import PublishLoad
from tests.natsproc import NatsCluster
from tests.serverproc import ServerProcess
from tests.test_image_healthcheck import healthcheck

pytest.importorskip("nats")

T0 = 1_767_225_600 - 3600  # an hour before the lines' epoch


def instance(nats_cluster: NatsCluster, root: Path, name: str, stream: str) -> ServerProcess:
    return ServerProcess(
        root / name,
        "--test-clock",
        "--store",
        nats_cluster.url,
        "--stream",
        stream,
        "--replicas",
        "3",
        "--lease",
        "2s",
    )


def health(proc: ServerProcess, service: str = "") -> int:
    with grpc.insecure_channel(proc.address) as ch:
        return int(
            health_pb2_grpc.HealthStub(ch)
            .Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            .status
        )


def vehicles(c: Client, ids: list[str]) -> list[bytes]:
    return [
        c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=v), timeout=5).SerializeToString(
            deterministic=True
        )
        for v in ids
    ]


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("not within the timeout")
        time.sleep(0.05)


def test_a_standby_follows_refuses_writes_and_takes_over_after_kill9(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = instance(nats_cluster, tmp_path, "a", "HA1").start()
    b = instance(nats_cluster, tmp_path, "b", "HA1").start(serving=False)
    try:
        b.wait_log("jis STANDBY")
        assert health(a) == health_pb2.HealthCheckResponse.SERVING
        assert health(b) == health(b, "jis.v1.BroadcastService") == health_pb2.HealthCheckResponse.NOT_SERVING
        # ... yet alive: the container's HEALTHCHECK (liveness) passes on both, readiness on the leader
        assert healthcheck(b.port) == (0, f"127.0.0.1:{b.port} plaintext: SERVING")
        assert healthcheck(b.port, JIS_HEALTH_SERVICE="")[0] == 1
        assert healthcheck(a.port, JIS_HEALTH_SERVICE="")[0] == 0

        ca, cb = connect(a.address), connect(b.address)
        ca.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=T0)), timeout=10)
        configure_line(ca, "H1")
        with pytest.raises(grpc.RpcError) as err:
            cb.broadcast.Publish(pub(bc("H1", 1, ADD, "H1-X", 1, [part()])), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "standby" in (err.value.details() or "")

        ids = [f"H1-{k}" for k in range(1, 31)]
        batch = [bc("H1", k, ADD, f"H1-{k}", k, [part("SEAT", f"P{k % 3}", "SUP1")]) for k in range(1, 21)]
        assert (
            ca.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=30).applied
            == 20
        )
        for k in range(21, 31):
            ca.broadcast.Publish(pub(bc("H1", k, ADD, f"H1-{k}", k, [part()])), timeout=10)
        acked = vehicles(ca, ids)
        open_breaks = all_breaks(ca, breaks_pb2.ListBreaksRequest(line_id="H1")).breaks
        assert open_breaks  # MISSING, no supplier configured: its default lead time covers them

        # The standby reads what the leader acknowledged, a poll behind.
        eventually(lambda: vehicles(cb, ids) == acked)
        # A what-if is a read: the standby answers it on its own copy, as the leader would.
        pulls = [whatif_pb2.ScenarioInput(broadcast=bc("H1", 31 + k, PULL, f"H1-{k}", None)) for k in (1, 2)]
        scenario = whatif_pb2.WhatIfRequest(inputs=pulls, horizon=Duration(seconds=3600))
        on_leader, on_standby = ca.whatif.Run(scenario, timeout=60), cb.whatif.Run(scenario, timeout=60)

        def changes(res: whatif_pb2.WhatIfResult) -> list[tuple[int, int, str]]:
            return [(w.change, w.sequence_break.type, w.sequence_break.vehicle_id) for w in res.breaks]

        assert changes(on_standby) == changes(on_leader)
        assert {v for c, _, v in changes(on_leader) if c == whatif_pb2.WHAT_IF_CHANGE_SHORTER} == {
            "H1-1",
            "H1-2",
        }
        assert not on_standby.rejected and vehicles(ca, ids) == acked  # nothing applied anywhere

        # A client of both addresses with the documented service config follows the leader,
        # with no code of its own: before, and across, the takeover.
        both = following(a, b)
        for k in range(32, 37):
            reply = both.broadcast.Publish(pub(bc("H1", k, ADD, f"H1-{k}", k, [part()])), timeout=10)
            assert reply.disposition == broadcast_pb2.DISPOSITION_APPLIED
        ids += [f"H1-{k}" for k in range(32, 37)]
        acked = vehicles(ca, ids)
        open_breaks = all_breaks(ca, breaks_pb2.ListBreaksRequest(line_id="H1")).breaks

        a.kill9()
        killed = time.monotonic()
        reply = both.broadcast.Publish(pub(bc("H1", 37, ADD, "H1-37", 37, [part()])), timeout=15)
        first_write = time.monotonic() - killed
        assert reply.disposition == broadcast_pb2.DISPOSITION_APPLIED
        b.wait_serving(15)
        assert first_write < 5.0, (
            f"kill -9 to the first acknowledged write on the new leader: {first_write:.1f} s"
        )
        assert vehicles(cb, ids) == acked
        after = all_breaks(cb, breaks_pb2.ListBreaksRequest(line_id="H1")).breaks
        assert [x for x in after if x.vehicle_id != "H1-37"] == open_breaks  # the same ids, detection times
        (new,) = [x for x in after if x.vehicle_id == "H1-37"]
        assert int(new.break_id[1:]) == max(int(x.break_id[1:]) for x in open_breaks) + 1
        # The jis CLI takes the list too.
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "jis",
                "publish",
                "--server",
                f"127.0.0.1:{a.port},127.0.0.1:{b.port}",
                "--json",
                "-",
            ],
            input=json.dumps(
                {"lineId": "H1", "callNo": 38, "action": "ACTION_ADD", "vehicleId": "H1-38", "seqNo": 38}
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        ids += ["H1-37", "H1-38"]

        # The old leader comes back as a standby of the new one, with everything.
        a.start(serving=False)
        a.wait_log("jis STANDBY")
        ca = connect(a.address)
        eventually(lambda: vehicles(ca, ids) == vehicles(cb, ids))
    finally:
        for p in (a, b):
            p.stop_if_running()


def test_a_leader_paused_past_its_lease_cannot_append_when_it_wakes(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = instance(nats_cluster, tmp_path, "a", "HA2").start()
    b = instance(nats_cluster, tmp_path, "b", "HA2").start(serving=False)
    try:
        b.wait_log("jis STANDBY")
        ca = connect(a.address)
        ca.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=T0)), timeout=10)
        configure_line(ca, "H2")
        ca.broadcast.Publish(pub(bc("H2", 1, ADD, "H2-1", 1, [part()])), timeout=10)
        assert a.proc is not None
        os.kill(a.proc.pid, signal.SIGSTOP)
        try:
            late = ca.broadcast.Publish.future(pub(bc("H2", 2, ADD, "H2-2", 2, [part()])), timeout=30)
            b.wait_serving(15)  # the lease ran out: b leads
            cb = connect(b.address)
            cb.broadcast.Publish(pub(bc("H2", 2, ADD, "H2-2b", 5, [part()])), timeout=10)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        with pytest.raises(grpc.RpcError):
            late.result()  # never acknowledged: fenced, or the lease was found lost first
        assert a.proc.wait(timeout=30) == 70
        assert (
            cb.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="H2-2b"), timeout=5).seq_no == 5
        )
        with pytest.raises(grpc.RpcError) as err:
            cb.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="H2-2"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        for p in (a, b):
            p.stop_if_running()


def test_the_documented_service_config_is_the_one_the_cli_uses() -> None:
    doc = json.loads((Path(__file__).parent.parent / "ops" / "grpc" / "service-config.json").read_text())
    assert doc == client_config.SERVICE_CONFIG
    assert client_config.target("127.0.0.1:1") == "127.0.0.1:1"
    assert client_config.target("127.0.0.1:1,localhost:2") == "ipv4:127.0.0.1:1,127.0.0.1:2"
    with pytest.raises(ValueError):
        client_config.target("a.example:1,b.example:2")


FAILOVER_POINTS = int(os.environ.get("JIS_FAILOVER_POINTS", "20"))


def test_kill_9_of_the_leader_at_random_moments_loses_nothing_acknowledged(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Two instances on R3: the leader is killed at 20 seeded random moments under load;
    after every takeover the new leader's state is a replay of exactly the acknowledged
    inputs (plus, all or nothing, the one in flight), break ids and detection times
    included, and the standby that comes back catches up to the same state."""
    procs = [
        ServerProcess(
            tmp_path / name,
            "--test-clock",
            "--store",
            nats_cluster.url,
            "--stream",
            "HAX",
            "--replicas",
            "3",
            "--lease",
            "1s",
            "--snapshot-every",
            "25",
        )
        for name in ("a", "b")
    ]
    try:
        stats = crash_harness.run_failover(
            procs, int(os.environ.get("JIS_FAILOVER_SEED", "1")), FAILOVER_POINTS
        )
    finally:
        for p in procs:
            p.stop_if_running()
    print(f"\nfailover harness: {stats}")
    assert stats["kills"] == FAILOVER_POINTS
    assert stats["acked_ops"] > 10 * FAILOVER_POINTS
    assert stats["takeover_max_s"] < 5.0, stats["takeovers_s"]


def test_losing_a_nats_node_under_load_loses_nothing(tmp_path: Path) -> None:
    """Kill -9 one node of the cluster under load: acknowledgements go on (the client follows
    whichever server leads) and the state is a replay of exactly what was acknowledged."""
    nodes = NatsCluster(tmp_path / "nats").start()
    procs = [instance(nodes, tmp_path, name, "HAN") for name in ("a", "b")]
    try:
        procs[0].start()
        procs[1].start(serving=False)
        procs[1].wait_log("jis STANDBY")
        both = following(*procs)
        drv = crash_harness.Driver(seed=11)
        acked: list[crash_harness.Op] = []
        for op in drv.setup():
            op.send(both)
            acked.append(op)
        inflight: list[crash_harness.Op] = []
        acked_after_kill = 0
        killed_at: float | None = None
        started = time.monotonic()
        acks: list[float] = []
        # until 50 acknowledgements after the loss (a re-election may take seconds), at most 40 s
        while time.monotonic() - started < 40.0 and not inflight and acked_after_kill < 50:
            if killed_at is None and time.monotonic() - started > 1.5:
                nodes.nodes[0].kill9()
                killed_at = time.monotonic()
            op = drv.next_op()
            try:
                op.send(both)
            except grpc.RpcError as exc:
                if exc.code() not in crash_harness.REFUSALS:
                    inflight.append(op)  # no answer: applied or not, decided below
                    print(f"\n{op.name} got no answer: {exc.code().name} {exc.details()}")
                    break
            acked.append(op)
            acked_after_kill += killed_at is not None
            acks.append(time.monotonic())
        gaps = sorted(b - a for a, b in itertools.pairwise(acks))
        print(f"\nlongest pauses between acknowledgements: {[round(g, 2) for g in gaps[-3:]]} s")
        assert acked_after_kill > 20, f"only {acked_after_kill} acknowledgements after the node was lost"
        got = crash_harness.on_leader(procs, lambda c: crash_harness.server_state(c, drv.vehicles, drv.racks))
        if got != crash_harness.engine_state(crash_harness.reference(acked), drv.vehicles, drv.racks):
            assert got == crash_harness.engine_state(
                crash_harness.reference(acked + inflight), drv.vehicles, drv.racks
            )
    finally:
        for p in procs:
            p.stop_if_running()
        nodes.stop()


def test_a_build_sequence_watch_resumes_on_the_new_leader_by_cursor(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """A supplier's WatchBuildSequence on the leader; the leader dies; the client resumes after
    the last cursor it saw on whichever server leads now (cursors are the same on every
    instance) and gets every later change exactly once, those the new leader makes included.
    A WatchBreaks watcher that reconnects gets, as its snapshot, every break still open."""
    a = instance(nats_cluster, tmp_path, "a", "HAW").start()
    b = instance(nats_cluster, tmp_path, "b", "HAW").start(serving=False)
    try:
        b.wait_log("jis STANDBY")
        both = following(a, b)
        both.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=T0)), timeout=10)
        configure_line(both, "W1")
        key = {"line_id": "W1", "supplier_id": "SUP1", "group": "SEAT"}
        seen: list[int] = []
        lock = threading.Lock()

        def watch(after: int) -> None:
            stream = both.build.WatchBuildSequence(
                build_sequence_pb2.WatchBuildSequenceRequest(after_cursor=after, **key), timeout=60
            )
            with contextlib.suppress(grpc.RpcError):  # the leader died: resume from the last cursor
                for update in stream:
                    with lock:
                        seen.extend(ch.cursor for ch in update.changes.changes)

        raised: set[str] = set()

        def watch_breaks() -> None:
            stream = both.breaks.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="W1"), timeout=60)
            with contextlib.suppress(grpc.RpcError):
                for ev in stream:
                    with lock:
                        raised.add(ev.sequence_break.break_id)

        reader = threading.Thread(target=watch, args=(0,), daemon=True)
        alerts = threading.Thread(target=watch_breaks, daemon=True)
        reader.start()
        alerts.start()
        for k in range(1, 41):
            both.broadcast.Publish(pub(bc("W1", k, ADD, f"W1-{k}", k, [part()])), timeout=10)
        eventually(lambda: len(seen) == 40 and len(raised) == 40)  # each vehicle MISSING
        a.kill9()
        reader.join(timeout=30)
        alerts.join(timeout=30)
        assert not reader.is_alive() and not alerts.is_alive()
        # WatchBreaks again, on whichever server leads: its snapshot holds every break still open
        snapshot = both.breaks.WatchBreaks(breaks_pb2.WatchBreaksRequest(line_id="W1"), timeout=15)
        first = [next(snapshot) for _ in range(40)]
        snapshot.cancel()
        assert all(ev.snapshot for ev in first) and {ev.sequence_break.break_id for ev in first} == raised
        with lock:
            last = seen[-1]
        for k in range(41, 61):  # on the new leader (the client waits for it)
            both.broadcast.Publish(pub(bc("W1", k, ADD, f"W1-{k}", k, [part()])), timeout=15)
        reader = threading.Thread(target=watch, args=(last,), daemon=True)
        reader.start()
        eventually(lambda: len(seen) == 60, timeout=15)
        full = both.build.GetBuildSequence(build_sequence_pb2.GetBuildSequenceRequest(**key), timeout=10)
        assert seen == sorted(set(seen)) and seen[-1] == full.cursor  # every change once, in order
        assert [v.vehicle_id for v in full.entries] == [f"W1-{k}" for k in range(1, 61)]
    finally:
        for p in (a, b):
            p.stop_if_running()


NODE_DIR = Path(__file__).parent / "node"


def node_client() -> list[str]:
    """The Node client's command; its dependencies are installed by `make test` (make
    node-deps, pinned by package-lock.json), not by the tests: they talk to 127.0.0.1 only."""
    node = shutil.which("node")
    missing = "node is not installed" if node is None else ""
    if node is not None and not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").exists():
        missing = "the grpc-js client's packages are not installed (make node-deps)"
    if missing:
        if os.environ.get("JIS_REQUIRE_NODE") == "1":
            pytest.fail(f"the grpc-js client test needs it: {missing}")
        pytest.skip(missing)
    assert node is not None
    return [node, str(NODE_DIR / "follow_leader.js")]


def test_a_node_grpc_js_client_follows_the_leader_across_a_takeover(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """grpc-js with the documented service config, nothing else: calls land on the leader
    (a standby's UNAVAILABLE is retried; grpc-js has no client-side health checking), and
    go on across a kill -9 of the leader."""
    cmd = node_client()
    a = ServerProcess(
        tmp_path / "a", "--store", nats_cluster.url, "--stream", "HAJ", "--replicas", "3", "--lease", "1s"
    )
    b = ServerProcess(
        tmp_path / "b", "--store", nats_cluster.url, "--stream", "HAJ", "--replicas", "3", "--lease", "1s"
    )
    a.start()
    b.start(serving=False)
    try:
        b.wait_log("jis STANDBY")
        configure_line(connect(a.address), "J1")
        root = Path(__file__).parent.parent
        args = [
            f"127.0.0.1:{a.port},127.0.0.1:{b.port}",
            str(root / "proto"),
            str(root / "ops/grpc/service-config.json"),
            "J1",
        ]

        def run(first: int, last: int) -> list[dict[str, object]]:
            out = subprocess.run(
                [*cmd, *args, str(first), str(last)], capture_output=True, text=True, timeout=120
            )
            assert out.returncode == 0, out.stderr
            return [json.loads(line) for line in out.stdout.splitlines()]

        before = run(1, 10)
        assert all(r["ok"] for r in before), before
        a.kill9()
        after = run(11, 20)
        assert all(r["ok"] for r in after), after
        cb = connect(b.address)
        assert [
            v.vehicle_id
            for v in cb.sequence.ListSequence(
                sequence_pb2.ListSequenceRequest(line_id="J1"), timeout=10
            ).vehicles
        ] == [f"J1-{k}" for k in range(1, 21)]
    finally:
        for p in (a, b):
            p.stop_if_running()


def test_several_clients_lose_nothing_across_leader_kills(nats_cluster: NatsCluster, tmp_path: Path) -> None:
    """Four clients, one line each, publish through clients that follow the leader while the
    leader is killed at random moments; a client repeats a call that got no answer (call
    numbers make that safe). Every acknowledged broadcast is applied exactly once, and the
    leader's state equals an in-process engine recovering from the stream's log alone."""
    procs = [
        ServerProcess(
            tmp_path / name,
            "--test-clock",
            "--store",
            nats_cluster.url,
            "--stream",
            "HAC",
            "--replicas",
            "3",
            "--lease",
            "1s",
        )
        for name in ("a", "b")
    ]
    lines = [f"C{k}" for k in range(1, 5)]
    rng = random.Random(5)
    procs[0].start()
    procs[1].start(serving=False)
    try:
        procs[1].wait_log("jis STANDBY")
        admin = following(*procs)
        for line in lines:
            configure_line(admin, line)
        with PublishLoad(dict.fromkeys(lines, partial(following, *procs))) as load:
            for _ in range(max(3, FAILOVER_POINTS // 4)):
                time.sleep(rng.uniform(0.2, 0.8))
                leader = crash_harness._leader(procs)
                leader.kill9()
                crash_harness._leader(procs)  # the other one takes over
                leader.start(serving=False)
                leader.wait_log("jis STANDBY")
            time.sleep(0.5)
        acked = load.acked
        leader = crash_harness._leader(procs)
        c = connect(leader.address)
        for line in lines:
            got = c.lines.GetLine(lines_pb2.GetLineRequest(line_id=line), timeout=10)
            assert got.highest_call_no >= acked[line] > 20 and got.missing_calls == 0
            listed = c.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id=line, page_size=10_000))
            assert [v.vehicle_id for v in listed.vehicles] == [
                f"{line}-{k}" for k in range(1, got.highest_call_no + 1)
            ]

        replay = JetStreamStore(parse_servers(nats_cluster.url), tmp_path / "replay", stream="HAC")
        try:
            e = Engine(replay)
            e.recover()
            for line in lines:
                mine = c.lines.GetLine(lines_pb2.GetLineRequest(line_id=line), timeout=10)
                assert convert.line_out(e.line(line)).SerializeToString(
                    deterministic=True
                ) == mine.SerializeToString(deterministic=True)
            server_breaks = all_breaks(c, breaks_pb2.ListBreaksRequest()).breaks
            assert [convert.break_out(b, e.last_at) for b in e.open_breaks()] == list(server_breaks)
        finally:
            replay.close()
    finally:
        for p in procs:
            p.stop_if_running()
