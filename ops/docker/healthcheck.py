"""The image's HEALTHCHECK: grpc.health.v1 Check of the server's own port, over loopback.

Exit 0 when the server answers SERVING for the health service ``jis.Liveness`` (alive, its
state recovered: a leader and a standby of a replicated store alike; "" and the jis services
are SERVING on the leader only), 1 otherwise (the reason goes to the health log,
`docker inspect --format '{{json .State.Health}}'`). JIS_HEALTH_SERVICE names another
service to ask (e.g. "" for readiness). It follows the server's environment:

  JIS_PORT                     the port (default 50051), dialled on 127.0.0.1
  JIS_TLS_CERT unset           plaintext
  JIS_TLS_CERT set             TLS. Trusted: JIS_HEALTH_CA if set, else the server's own
                               certificate file (pinned: gRPC takes a certificate in the root
                               bundle as a trust anchor, so no CA needs mounting). Expected
                               name: JIS_HEALTH_NAME if set, else 127.0.0.1 if the certificate
                               has that IP, else its first DNS name (a wildcard's "*" as
                               "health"), else its common name.
  JIS_TLS_CLIENT_CA set        mutual TLS: presents JIS_HEALTH_CLIENT_CERT and _KEY, by default
                               the server's own certificate and key (JIS_TLS_CERT, JIS_TLS_KEY)

No token is needed: the server leaves health open (docs/operations.md, "TLS, tokens and
roles"). So configure the port and TLS through JIS_* variables, not flags, when this check
is to follow them.
"""

from __future__ import annotations

import os
import ssl
import sys


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _names(cert_path: str) -> tuple[list[str], list[str], str]:
    """IP addresses, DNS names and common name of the first certificate in a PEM file."""
    try:
        # CPython's own certificate decoder (what ssl.getpeercert() returns, from a file).
        info = ssl._ssl._test_decode_cert(cert_path)  # type: ignore[attr-defined]
    except (AttributeError, ssl.SSLError, OSError):
        return [], [], ""
    sans = info.get("subjectAltName", ())
    ips = [v for k, v in sans if k == "IP Address"]
    dns = [v for k, v in sans if k == "DNS"]
    cn = next((v for rdn in info.get("subject", ()) for k, v in rdn if k == "commonName"), "")
    return ips, dns, cn


def _target_name(cert_path: str) -> str:
    """The name to check the server certificate against; "" when 127.0.0.1 will do."""
    if os.environ.get("JIS_HEALTH_NAME"):
        return os.environ["JIS_HEALTH_NAME"]
    ips, dns, cn = _names(cert_path)
    if "127.0.0.1" in ips:
        return ""
    if dns:
        return "health" + dns[0][1:] if dns[0].startswith("*.") else dns[0]
    return cn or "localhost"


def check() -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    address = f"127.0.0.1:{os.environ.get('JIS_PORT') or 50051}"
    cert = os.environ.get("JIS_TLS_CERT", "")
    if not cert:
        ch = grpc.insecure_channel(address)
    else:
        ca = os.environ.get("JIS_HEALTH_CA", "")
        roots = _read(ca or cert)
        key = chain = None
        if os.environ.get("JIS_TLS_CLIENT_CA"):
            chain = _read(os.environ.get("JIS_HEALTH_CLIENT_CERT") or cert)
            key = _read(os.environ.get("JIS_HEALTH_CLIENT_KEY") or os.environ.get("JIS_TLS_KEY", ""))
        creds = grpc.ssl_channel_credentials(roots, private_key=key, certificate_chain=chain)
        name = _target_name(cert)
        options = [("grpc.ssl_target_name_override", name)] if name else []
        ch = grpc.secure_channel(address, creds, options=options)
    with ch:
        service = os.environ.get("JIS_HEALTH_SERVICE", "jis.Liveness")
        request = health_pb2.HealthCheckRequest(service=service)
        status = health_pb2_grpc.HealthStub(ch).Check(request, timeout=2).status
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    if status != health_pb2.HealthCheckResponse.SERVING:
        raise RuntimeError(name)
    return f"{address} {'TLS' if cert else 'plaintext'}: {name}"


def main() -> int:
    try:
        print(check())
    except Exception as exc:  # any failure is "unhealthy", with its reason in the health log
        details = exc.details() if hasattr(exc, "details") else exc
        print(f"unhealthy: {type(exc).__name__}: {details}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
