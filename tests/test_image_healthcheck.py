"""The container image's HEALTHCHECK script (ops/docker/healthcheck.py), run on the host
against a real server: plaintext, TLS with a mounted CA, mutual TLS. No Docker needed; the
image itself is checked by ops/docker/check-image.sh (make docker-check)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from tests.pki import EC_KEY, make_pki, openssl
from tests.serverproc import ServerProcess

SCRIPT = Path(__file__).resolve().parent.parent / "ops" / "docker" / "healthcheck.py"
NAME = "jis.test.internal"
"""The server certificate's only name: the check must find it in the certificate."""


@dataclass
class Pki:
    dir: Path

    def __truediv__(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA, a server certificate for NAME only, and a client certificate."""
    d = make_pki(tmp_path_factory.mktemp("pki"), f"DNS:{NAME}")
    return Pki(d)


class TlsServer(ServerProcess):
    """A server whose readiness is checked over TLS, expecting NAME in its certificate."""

    def __init__(self, data_dir: Path, pki: Pki, *extra: str, mutual: bool = False) -> None:
        creds = grpc.ssl_channel_credentials(
            Path(pki / "ca.pem").read_bytes(),
            private_key=Path(pki / "client.key").read_bytes() if mutual else None,
            certificate_chain=Path(pki / "client.pem").read_bytes() if mutual else None,
        )
        super().__init__(
            data_dir, "--tls-cert", pki / "server.pem", "--tls-key", pki / "server.key", *extra,
            tls=creds, tls_name=NAME,
        )  # fmt: skip


def healthcheck(port: int, **env: str) -> tuple[int, str]:
    """Run the HEALTHCHECK with the server's JIS_* environment (and nothing else of JIS_*)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JIS_")}
    r = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**clean, "JIS_PORT": str(port), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return r.returncode, r.stdout.strip()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("plain") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def tls(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = TlsServer(tmp_path_factory.mktemp("tls") / "data", pki).start()
    yield proc
    proc.stop()


def test_plaintext_serving_is_healthy(plain: ServerProcess) -> None:
    assert healthcheck(plain.port) == (0, f"127.0.0.1:{plain.port} plaintext: SERVING")


def test_no_server_is_unhealthy() -> None:
    code, out = healthcheck(1)
    assert code == 1 and out.startswith("unhealthy:")


def test_tls_with_a_ca_or_the_pinned_certificate_and_its_name(tls: ServerProcess, pki: Pki) -> None:
    env = {"JIS_TLS_CERT": pki / "server.pem", "JIS_TLS_KEY": pki / "server.key"}
    assert healthcheck(tls.port, JIS_HEALTH_CA=pki / "ca.pem", **env) == (
        0,
        f"127.0.0.1:{tls.port} TLS: SERVING",
    )
    # Without a CA the server's own certificate is the (pinned) trust anchor.
    assert healthcheck(tls.port, **env)[0] == 0
    # The check verifies: another CA, a wrong name, or plaintext against TLS fail.
    assert healthcheck(tls.port, JIS_HEALTH_CA=pki / "client.pem", **env)[0] == 1
    assert healthcheck(tls.port, JIS_HEALTH_CA=pki / "ca.pem", JIS_HEALTH_NAME="other.name", **env)[0] == 1
    assert healthcheck(tls.port)[0] == 1


def test_mutual_tls_presents_the_server_certificate(pki: Pki, tmp_path: Path) -> None:
    proc = TlsServer(tmp_path / "data", pki, "--tls-client-ca", pki / "ca.pem", mutual=True).start()
    try:
        env = {"JIS_TLS_CERT": pki / "server.pem", "JIS_TLS_KEY": pki / "server.key"}
        env |= {"JIS_HEALTH_CA": pki / "ca.pem", "JIS_TLS_CLIENT_CA": pki / "ca.pem"}
        assert healthcheck(proc.port, **env)[0] == 0
        assert healthcheck(proc.port, **env, JIS_HEALTH_CLIENT_CERT=pki / "client.pem",
                           JIS_HEALTH_CLIENT_KEY=pki / "client.key")[0] == 0  # fmt: skip
    finally:
        proc.stop()


def test_a_self_signed_certificate_is_its_own_trust_anchor(tmp_path: Path) -> None:
    ec = EC_KEY
    openssl(
        "req", "-x509", *ec, "-keyout", "k.pem", "-out", "c.pem", "-days", "1", "-subj", "/CN=x",
        "-addext", "subjectAltName=DNS:*.plant.example", cwd=tmp_path,
    )  # fmt: skip
    cert, key = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    proc = ServerProcess(tmp_path / "data", "--tls-cert", cert, "--tls-key", key)
    proc.wait_serving = lambda timeout: None  # type: ignore[method-assign]  # polled below
    proc.start()
    try:
        code, out = 1, ""
        for _ in range(100):  # at most ~50 s: each check is a new interpreter
            code, out = healthcheck(proc.port, JIS_TLS_CERT=cert, JIS_TLS_KEY=key)
            if code == 0:
                break
            time.sleep(0.2)
        assert (code, out) == (0, f"127.0.0.1:{proc.port} TLS: SERVING")
    finally:
        proc.stop()
