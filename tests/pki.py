"""Throwaway certificates for TLS tests: a CA, a server certificate and a client certificate."""

from __future__ import annotations

import subprocess
from pathlib import Path

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
"""openssl req flags for a new P-256 key without a passphrase."""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path, server_san: str, server_cn: str = "server", client_cn: str = "client") -> Path:
    """Write ca.pem/ca.key, server.pem/server.key (subjectAltName ``server_san``, e.g.
    "IP:127.0.0.1,DNS:localhost") and client.pem/client.key, signed by that CA, into ``d``."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ca", cwd=d
    )
    (d / "san.ext").write_text(f"subjectAltName={server_san}\n")
    for name, cn in (("server", server_cn), ("client", client_cn)):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        extra = ["-extfile", "san.ext"] if name == "server" else []
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", *extra, cwd=d,
        )  # fmt: skip
    return d
