"""The gRPC service config a client of several jis servers (a leader and its standbys on
one JetStream stream) uses to follow the leader with no jis-specific code.

Round-robin over every address with client-side health checking: only the leader is
SERVING, so only it gets calls; while a takeover runs no address is, and calls wait for
one (``waitForReady``) within their deadline. Calls that are safe to repeat (reads,
configuration, broadcasts, which call numbers make idempotent) are also retried on
UNAVAILABLE, which covers a leader lost with a call in flight. Other writes (a build
report, a booking, a yard event, a DESADV export) are not: a leader lost after its commit
and before its answer would otherwise do them twice; the caller sees UNAVAILABLE and
checks before repeating.

The same document, as JSON for other languages: ops/grpc/service-config.json (a test
keeps the two equal).
"""

from __future__ import annotations

import json
from typing import Any

IDEMPOTENT: list[dict[str, str]] = [
    {"service": "jis.v1.BroadcastService"},
    {"service": "jis.v1.SequenceService"},
    {"service": "jis.v1.LineService"},
    {"service": "jis.v1.ClockService"},
    {"service": "jis.v1.BreakService", "method": "ListBreaks"},
    {"service": "jis.v1.BuildSequenceService", "method": "GetBuildSequence"},
    {"service": "jis.v1.ReportService"},
    {"service": "jis.v1.SupplyService", "method": "ConfigureSupplier"},
    {"service": "jis.v1.SupplyService", "method": "GetRack"},
    {"service": "jis.v1.DockService", "method": "GetAppointment"},
    {"service": "jis.v1.DockService", "method": "GetYard"},
    {"service": "jis.v1.InteropService", "method": "ImportDeljit"},
]

SERVICE_CONFIG: dict[str, Any] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
    "methodConfig": [
        {"name": [{}], "waitForReady": True},
        {
            "name": IDEMPOTENT,
            "waitForReady": True,
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.2s",
                "maxBackoff": "2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        },
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
