"""Publishing load for the replicated-store and group tests: one client thread per line,
each sending ADDs with call_no 1, 2, ... and the same call again after any error (applied
once either way), bounded in count and time, its channel closed when it ends. Leave the
``with`` block before the servers stop: it stops and joins every thread and raises what
failed in one."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from jis.api import convert
from jis.engine.engine import Engine
from jis.store.jetstream import JetStreamStore, parse_servers
from jis.v1 import breaks_pb2, lines_pb2, sequence_pb2
from tests.conftest import Client, all_breaks, following_addresses
from tests.factories import ADD, bc, part, pub


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    """The google.rpc.ErrorInfo detail of a refusal."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    return info


class PublishLoad:
    def __init__(
        self,
        clients: dict[str, Callable[[], Client]],
        follow: bool = False,
        seconds: float = 120.0,
        max_calls: int = 200_000,
    ) -> None:
        """``clients``: per line, how to make its client; ``follow``: on LINE_IN_OTHER_GROUP,
        go where the ErrorInfo says (else every refusal is just sent again)."""
        self.acked: dict[str, int] = dict.fromkeys(clients, 0)
        """Per line, the highest call_no acknowledged."""
        self.refusals: collections.Counter[str] = collections.Counter()
        self.errors: list[BaseException] = []
        self._clients, self._follow = clients, follow
        self._deadline = time.monotonic() + seconds
        self._max_calls = max_calls
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(line,), daemon=True) for line in clients]

    def __enter__(self) -> PublishLoad:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        alive = [t.name for t in self._threads if t.is_alive()]
        if kind is None:
            assert not alive, f"load threads still running: {alive}"
            if self.errors:
                raise self.errors[0]

    def _run(self, line: str) -> None:
        c = self._clients[line]()
        try:
            k = 1
            while not self._stop.is_set() and time.monotonic() < self._deadline and k <= self._max_calls:
                try:
                    c.broadcast.Publish(pub(bc(line, k, ADD, f"{line}-{k}", k, [part()])), timeout=15)
                except grpc.RpcError as exc:
                    with self._lock:
                        self.refusals[exc.code().name] += 1
                    if self._follow and exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                        there = following_addresses(error_info(exc).metadata["addresses"])
                        c.channel.close()
                        c = there
                    else:
                        self._stop.wait(0.02)
                    continue  # the same call again
                self.acked[line] = k
                k += 1
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            c.channel.close()


def check_group(
    c: Client,
    nats_url: str,
    replay_dir: Path,
    stream: str,
    lines: list[str],
    acked: dict[str, int],
    exact: bool = False,
    wall_clock: bool = False,
) -> None:
    """A group's server holds exactly ``lines``; every acknowledged broadcast of each is in
    its sequence once (``exact``: and nothing more); and its lines and open breaks equal an
    in-process replay of its stream (``wall_clock``: the slack aside, which runs on)."""
    listed = {x.line_id: x for x in c.lines.ListLines(lines_pb2.ListLinesRequest(), timeout=10).lines}
    assert sorted(listed) == sorted(lines)  # a group holds its own lines, no other
    for line in lines:
        highest = listed[line].highest_call_no
        assert (highest == acked[line] if exact else highest >= acked[line]) and acked[line] > 5
        assert listed[line].missing_calls == 0
        vehicles = c.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id=line, page_size=10_000))
        assert [v.vehicle_id for v in vehicles.vehicles] == [f"{line}-{k}" for k in range(1, highest + 1)]
    replay = JetStreamStore(parse_servers(nats_url), replay_dir, stream=stream)
    try:
        e = Engine(replay)
        e.recover()
        assert [convert.line_out(v) for v in e.lines()] == list(
            c.lines.ListLines(lines_pb2.ListLinesRequest(), timeout=10).lines
        )
        want = [convert.break_out(b, e.last_at) for b in e.open_breaks()]
        served = list(all_breaks(c, breaks_pb2.ListBreaksRequest()).breaks)
        if wall_clock:
            for b in (*want, *served):
                b.ClearField("slack")
        assert want == served
    finally:
        replay.close()
