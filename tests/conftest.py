"""Named, small fixtures: a real server on 127.0.0.1 and typed stubs on a real channel."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from hypothesis import settings

from jis import client_config
from jis.kernels.warmup import compile_all
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2_grpc,
    build_sequence_pb2_grpc,
    directory_pb2_grpc,
    dock_pb2_grpc,
    interop_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2_grpc,
    sequence_pb2_grpc,
    supply_pb2_grpc,
    whatif_pb2_grpc,
)
from tests.natsproc import NatsCluster, NatsServer
from tests.serverproc import ServerProcess

# Kernels compile on first use when the on-disk cache is cold (a fresh clone): that is
# not the code under test's speed, so no per-example deadline.
settings.register_profile("jis", deadline=None, print_blob=True)
settings.load_profile("jis")


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """Compile (or load from the cache) every kernel once, before any test times anything."""
    compile_all()


@dataclass
class Client:
    """Stubs of every service on one channel."""

    channel: grpc.Channel

    def __post_init__(self) -> None:
        self.broadcast = broadcast_pb2_grpc.BroadcastServiceStub(self.channel)
        self.sequence = sequence_pb2_grpc.SequenceServiceStub(self.channel)
        self.lines = lines_pb2_grpc.LineServiceStub(self.channel)
        self.clock = lines_pb2_grpc.ClockServiceStub(self.channel)
        self.breaks = breaks_pb2_grpc.BreakServiceStub(self.channel)
        self.supply = supply_pb2_grpc.SupplyServiceStub(self.channel)
        self.build = build_sequence_pb2_grpc.BuildSequenceServiceStub(self.channel)
        self.reports = reports_pb2_grpc.ReportServiceStub(self.channel)
        self.dock = dock_pb2_grpc.DockServiceStub(self.channel)
        self.interop = interop_pb2_grpc.InteropServiceStub(self.channel)
        self.directory = directory_pb2_grpc.DirectoryServiceStub(self.channel)
        self.whatif = whatif_pb2_grpc.WhatIfServiceStub(self.channel)


def connect(address: str) -> Client:
    return Client(grpc.insecure_channel(address))


def following(*procs: ServerProcess) -> Client:
    """A client of every address with the documented service config: it follows the leader
    of a replicated store (jis.client_config)."""
    return following_addresses(",".join(p.address for p in procs))


def following_addresses(addresses: str) -> Client:
    """As :func:`following`, for comma-separated addresses (an ErrorInfo's)."""
    target = client_config.target(addresses)
    return Client(grpc.insecure_channel(target, options=client_config.channel_options()))


def all_breaks(
    c: Client, request: breaks_pb2.ListBreaksRequest, timeout: float = 30
) -> breaks_pb2.ListBreaksResponse:
    """Every page of a ListBreaks, as one response."""
    out, request = (
        breaks_pb2.ListBreaksResponse(),
        breaks_pb2.ListBreaksRequest.FromString(request.SerializeToString()),
    )
    request.page_size = 10_000
    for _ in range(1_000):
        page = c.breaks.ListBreaks(request, timeout=timeout)
        out.breaks.extend(page.breaks)
        if not page.next_page_token:
            return out
        request.page_token = page.next_page_token
    raise AssertionError("more than 1,000 pages of breaks")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the session, on the wall clock; tests keep apart by line id."""
    proc = ServerProcess(tmp_path_factory.mktemp("srv") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[Client]:
    c = connect(server.address)
    yield c
    c.channel.close()


_line_numbers = itertools.count(1)


@pytest.fixture
def line_id(client: Client) -> str:
    """A freshly configured line (takt 60 s, heartbeat 1 h, epoch 2026-01-01T00:00Z)."""
    name = f"L{next(_line_numbers):04d}"
    configure_line(client, name)
    return name


def configure_line(client: Client, name: str, takt_s: int = 60, heartbeat_s: int = 3600) -> lines_pb2.Line:
    req = lines_pb2.ConfigureLineRequest(
        line_id=name, takt=Duration(seconds=takt_s), heartbeat=Duration(seconds=heartbeat_s)
    )
    req.epoch.FromJsonString("2026-01-01T00:00:00Z")
    return client.lines.ConfigureLine(req, timeout=10)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Client]]:
    """A test-clock server and a client, per module, for hostile input (it may be left in
    any state)."""
    proc = ServerProcess(tmp_path_factory.mktemp("hostile") / "data", "--test-clock").start()
    c = connect(proc.address)
    yield proc, c
    c.channel.close()
    proc.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, for restarts and kill -9."""
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop_if_running()


@pytest.fixture(scope="session")
def nats_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One NATS server (JetStream) on 127.0.0.1 for the tests that need one; each names its
    own streams."""
    node = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """A 3-node NATS cluster on 127.0.0.1 (R3 streams); a test that kills nodes starts its own."""
    cluster = NatsCluster(tmp_path_factory.mktemp("nats-cluster")).start()
    yield cluster
    cluster.stop()
