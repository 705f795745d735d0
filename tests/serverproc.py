"""A real `jis serve` process on 127.0.0.1, for tests that talk to it over gRPC."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

LISTEN = re.compile(r"jis listening on 127\.0\.0\.1:(\d+)")


class ServerProcess:
    """Start, stop, `kill -9` and restart one server on one data dir."""

    def __init__(
        self,
        data_dir: Path,
        *extra: str,
        tls: grpc.ChannelCredentials | None = None,
        entry: tuple[str, ...] = ("-m", "jis"),
        tls_name: str = "",
    ) -> None:
        self.data_dir = data_dir
        self.extra = list(extra)
        self.tls = tls
        """Channel credentials for the health check when the server speaks TLS."""
        self.tls_name = tls_name
        """The name the server's certificate carries, when it is not the address's host."""
        self.entry = list(entry)
        """What the interpreter runs, before ``serve`` and the flags."""
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._offset = 0
        """Where this run's lines start in the log (the file keeps every run's)."""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, serving: bool = True) -> ServerProcess:
        """Start and wait until the port is bound and, if ``serving``, the health is SERVING
        (a standby of a replicated store never is: wait for its log line instead)."""
        # Reuse the port across restarts so that clients can reconnect to the same address.
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self._offset = offset = self.log_path.stat().st_size
        cmd = [
            sys.executable,
            *self.entry,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--grace-s",
            "1",
            *self.extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=os.environ.copy())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_bytes()[offset:].decode(errors="replace")
            m = LISTEN.search(text)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.05)
        else:
            raise TimeoutError(f"server did not bind within {timeout}s:\n{self.log_text()}")
        if serving:
            self.wait_serving(deadline - time.monotonic())
        return self

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait for ``text`` in the log of this run (not of an earlier one, before a restart)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_bytes()[self._offset :].decode(errors="replace"):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not in the server log within {timeout}s:\n{self.log_text()}")

    def wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        options = [("grpc.ssl_target_name_override", self.tls_name)] if self.tls_name else []
        ch = (
            grpc.insecure_channel(self.address)
            if self.tls is None
            else grpc.secure_channel(self.address, self.tls, options=options)
        )
        with ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while time.monotonic() < deadline:
                try:
                    r = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
                time.sleep(0.05)
        raise TimeoutError(f"server not SERVING within the timeout:\n{self.log_text()}")

    def metrics_url(self) -> str:
        """The /metrics address the server logged (needs --metrics-port)."""
        m = re.findall(r"jis metrics on (http://127\.0\.0\.1:\d+/metrics)", self.log_text())
        if not m:
            raise RuntimeError(f"no metrics endpoint in the log:\n{self.log_text()}")
        return m[-1]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._log.close()
        return code

    def stop_if_running(self) -> None:
        """Stop it unless it never started or already exited (a test's cleanup)."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._log.close()

    def restart(self) -> ServerProcess:
        return self.start()
