"""The gRPC service config a client of several jis servers (a leader and its standbys on
one JetStream stream) uses to follow the leader with no jis-specific code.

Round-robin over every address with client-side health checking: only the leader is
SERVING, so only it gets calls; while a takeover runs no address is, and calls wait for
one (``waitForReady``) within their deadline. Calls are retried on UNAVAILABLE: a standby
refuses a write before doing anything, and a leader lost with a call in flight may have
committed it or not. Repeating is safe for every call but ReportBuild: broadcasts are
idempotent by call number, configuration and moves are states set, a second booking or
dispatch of one id is ALREADY_EXISTS, a repeated yard event FAILED_PRECONDITION. A repeated
ReportBuild would add a second slot, so it is not retried: its caller sees UNAVAILABLE and
checks (GetRack, the inventory) before sending it again. Clients without client-side
health checking (grpc-js) reach standbys too; the retry takes them to the leader.

The same document, as JSON for other languages: ops/grpc/service-config.json (a test
keeps the two equal).
"""

from __future__ import annotations

import json
from typing import Any

RETRY = {
    "maxAttempts": 5,
    "initialBackoff": "0.5s",
    "maxBackoff": "4s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
NOT_RETRIED: list[dict[str, str]] = [{"service": "jis.v1.SupplyService", "method": "ReportBuild"}]
"""Each ReportBuild adds a slot: repeated after a lost answer it would build twice."""

SERVICE_CONFIG: dict[str, Any] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [
        {"name": [{}], "waitForReady": True, "retryPolicy": RETRY},
        {"name": NOT_RETRIED, "waitForReady": True},
    ],
}


def channel_options() -> list[tuple[str, Any]]:
    return [("grpc.service_config", json.dumps(SERVICE_CONFIG)), ("grpc.enable_retries", 1)]


def target(servers: str) -> str:
    """``host:port`` as it is; ``a:p1,b:p2`` (IPv4 addresses, or localhost) as one gRPC
    target over all of them (the ``ipv4:`` scheme). ValueError for a list it cannot be."""
    parts = [p.strip() for p in servers.split(",")]
    if len(parts) == 1:
        return parts[0]
    out = []
    for p in parts:
        host, _, port = p.rpartition(":")
        host = "127.0.0.1" if host == "localhost" else host
        octets = host.split(".")
        if not (port.isdigit() and len(octets) == 4 and all(o.isdigit() and int(o) < 256 for o in octets)):
            raise ValueError(
                f"{p!r}: a list of servers takes IPv4 host:port entries (or one DNS name that "
                "resolves to every server)"
            )
        out.append(f"{host}:{port}")
    return "ipv4:" + ",".join(out)
