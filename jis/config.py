"""Server configuration: one frozen dataclass, filled from flags and environment here."""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import itertools
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

GROUP_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""An engine group's name (--group; the directory's assignments name it too)."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    """Address the gRPC port binds to."""
    port: int = 50051
    """gRPC port; 0 picks a free one (the log says which)."""
    data_dir: Path = Path("jis-data")
    """Folder of the embedded store; created if missing."""
    test_clock: bool = False
    """Test mode: the engine clock stands still until a client sets it (SetClock)."""
    grace_s: float = 5.0
    """On SIGTERM/SIGINT, how long in-flight RPCs may take to finish."""
    max_pending: int = 2_000
    """Unary write calls in flight (admitted, not yet answered) beyond which a new one is
    refused with RESOURCE_EXHAUSTED at once, before its request is decoded."""
    max_pending_reads: int = 500
    """The same bound for unary read calls (Get*, List*), counted apart from
    writes: an operator can still read while writes are refused."""
    max_stream_bytes: int = 16 * 1024 * 1024
    """Bytes of build-sequence updates a WatchBuildSequence stream may hold unsent (besides
    at most 10,000 updates); beyond, the stream ends with RESOURCE_EXHAUSTED and its reader
    resumes by cursor."""
    sync: str = "FULL"
    """SQLite synchronous mode: FULL (survives power loss) or NORMAL (survives kill -9 only)."""
    max_message_bytes: int = 16 * 1024 * 1024
    """Largest gRPC message accepted or sent."""
    snapshot_every: int = 100_000
    """Snapshot the state after this many inputs (each broadcast of a batch counts) and on a
    clean stop; 0: only on a clean stop. Bounds what a restart after a crash replays."""
    retain: str = "7d"
    """How long history is kept in memory, in engine time (e.g. 7d, 36h, 90m; 0: all):
    build-sequence changes older than this are dropped, and a stream resuming from an
    older cursor is told to read the build sequence again (OUT_OF_RANGE)."""
    metrics_port: int = -1
    """HTTP port of the Prometheus /metrics endpoint on --host; -1: none, 0: a free one (logged)."""
    credentials: str = ""
    """Credentials file (JSON: identities with a token SHA-256 or client-certificate name, and a
    role); empty: no authentication, allowed on a loopback address only."""
    tls_cert: str = ""
    """PEM server certificate (chain) for TLS on the gRPC port; with --tls-key."""
    tls_key: str = ""
    """PEM private key of --tls-cert."""
    tls_client_ca: str = ""
    """PEM CA bundle: require client certificates signed by it (mutual TLS)."""
    insecure: bool = False
    """Allow a non-loopback --host without TLS and credentials (a trusted network, or a container
    behind a TLS proxy); logs a warning."""
    store: str = ""
    """Empty: the embedded SQLite store in --data-dir. nats://HOST:PORT[,HOST:PORT...]: the
    log on a NATS JetStream stream, replicated, with one leader among the servers pointing
    at it and the others hot standbys (--data-dir then holds the local archive index)."""
    stream: str = "JIS"
    """The JetStream stream of the log (with --store nats://...); its lease and snapshot
    buckets are named after it."""
    replicas: int = 1
    """JetStream replicas of the stream and its buckets when they are created: 1, or 3 on a
    cluster (a commit is acknowledged once a quorum has it)."""
    group: str = ""
    """With --store nats://...: the engine group this server belongs to; it owns the lines
    the directory assigns to it (jis lines assign), on the stream <stream>_<group>. Empty:
    one group owns every line, on --stream itself."""
    advertise: str = ""
    """host:port clients reach this server at, as the directory lists it (default: --host and
    the bound port)."""
    lease: str = "3s"
    """Leadership lease (with --store nats://...): renewed by the leader every third of it; a
    standby takes over once it expires (e.g. 3s, 10s)."""
    whatif_workers: int = 1
    """What-ifs (WhatIfService.Run) that may run at once, each in two forked processes (one
    per caller at a time in any case); beyond, RESOURCE_EXHAUSTED."""
    whatif_cpu_s: float = 30.0
    """CPU seconds each run of a what-if may take (RLIMIT_CPU); beyond, RESOURCE_EXHAUSTED."""
    whatif_memory_mb: int = 2048
    """Memory each run of a what-if may add to the state it shares with the server, copy on
    write (RLIMIT_AS); beyond, RESOURCE_EXHAUSTED."""
    action_codes: str = ""
    """TOML file of senders' own DELJIT SEQ action codes ([senders.<UNB sender id>] tables of
    code = add, cancel, change, pull, reinsert or installed), read at start; empty: the
    standard codes only."""


class ConfigError(Exception):
    """A configuration the server refuses to start with."""


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def check_exposure(cfg: ServerConfig) -> None:
    """ConfigError unless the server is safe to start as configured: TLS files come in pairs,
    and anything but a loopback address needs TLS and credentials, or --insecure."""
    if bool(cfg.tls_cert) != bool(cfg.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if cfg.tls_client_ca and not cfg.tls_cert:
        raise ConfigError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    if cfg.host not in LOOPBACK and not cfg.insecure and not (cfg.tls_cert and cfg.credentials):
        raise ConfigError(
            f"refusing to listen on {cfg.host} without TLS and credentials: give --tls-cert, --tls-key "
            "and --credentials, or --insecure for a trusted network"
        )


ENV = {
    "host": "JIS_HOST",
    "port": "JIS_PORT",
    "data_dir": "JIS_DATA_DIR",
    "test_clock": "JIS_TEST_CLOCK",
    "grace_s": "JIS_GRACE_S",
    "max_pending": "JIS_MAX_PENDING",
    "max_pending_reads": "JIS_MAX_PENDING_READS",
    "max_stream_bytes": "JIS_MAX_STREAM_BYTES",
    "sync": "JIS_SYNC",
    "max_message_bytes": "JIS_MAX_MESSAGE_BYTES",
    "snapshot_every": "JIS_SNAPSHOT_EVERY",
    "retain": "JIS_RETAIN",
    "metrics_port": "JIS_METRICS_PORT",
    "credentials": "JIS_CREDENTIALS",
    "tls_cert": "JIS_TLS_CERT",
    "tls_key": "JIS_TLS_KEY",
    "tls_client_ca": "JIS_TLS_CLIENT_CA",
    "insecure": "JIS_INSECURE",
    "action_codes": "JIS_ACTION_CODES",
    "whatif_workers": "JIS_WHATIF_WORKERS",
    "whatif_cpu_s": "JIS_WHATIF_CPU_S",
    "whatif_memory_mb": "JIS_WHATIF_MEMORY_MB",
    "store": "JIS_STORE",
    "stream": "JIS_STREAM",
    "replicas": "JIS_REPLICAS",
    "lease": "JIS_LEASE",
    "group": "JIS_GROUP",
    "advertise": "JIS_ADVERTISE",
}


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for every field; each defaults to its environment variable, then the field default."""
    defaults = ServerConfig()
    for f in fields(ServerConfig):
        flag = "--" + f.name.replace("_", "-")
        env = ENV[f.name]
        default = getattr(defaults, f.name)
        raw = os.environ.get(env)
        doc = f"{_field_docs().get(f.name, f.name)} [env {env}; default {default}]"
        if isinstance(default, bool):
            value = raw.lower() in ("1", "true", "yes") if raw is not None else default
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value, help=doc)
        else:
            kind = type(default)
            parser.add_argument(flag, type=kind, default=kind(raw) if raw is not None else default, help=doc)


def from_arguments(ns: argparse.Namespace) -> ServerConfig:
    cfg = ServerConfig(**{f.name: getattr(ns, f.name) for f in fields(ServerConfig)})
    if cfg.sync.upper() not in ("FULL", "NORMAL"):
        raise SystemExit(f"--sync must be FULL or NORMAL, not {cfg.sync!r}")
    try:
        duration_ns(cfg.retain)
    except ValueError as exc:
        raise SystemExit(f"--retain: {exc}") from None
    if cfg.store and not cfg.store.startswith("nats://"):
        raise SystemExit(
            f"--store must be empty (the embedded store) or nats://HOST:PORT[,...], not {cfg.store!r}"
        )
    if cfg.group and not cfg.store:
        raise SystemExit("--group needs --store nats://... (groups share a NATS cluster)")
    if cfg.group and not GROUP_NAME.match(cfg.group):
        raise SystemExit(f"--group: letters, digits, '-' and '_', 1 to 32 of them, not {cfg.group!r}")
    if not 1 <= cfg.whatif_workers <= 64:
        raise SystemExit(f"--whatif-workers must be between 1 and 64, not {cfg.whatif_workers}")
    if not 0 < cfg.whatif_cpu_s <= 3600:
        raise SystemExit(f"--whatif-cpu-s must be more than 0 and at most 3600, not {cfg.whatif_cpu_s}")
    if cfg.whatif_memory_mb < 1:
        raise SystemExit(f"--whatif-memory-mb must be at least 1, not {cfg.whatif_memory_mb}")
    if cfg.replicas not in (1, 3, 5):
        raise SystemExit(f"--replicas must be 1, 3 or 5, not {cfg.replicas}")
    try:
        if not 1 <= duration_ns(cfg.lease) // 10**9 <= 60:
            raise ValueError("between 1s and 60s")
    except ValueError as exc:
        raise SystemExit(f"--lease: {exc}") from None
    return cfg


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def duration_ns(text: str) -> int:
    """``"7d"``, ``"36h"``, ``"90m"``, ``"45s"`` (or ``"0"``) in nanoseconds."""
    text = text.strip().lower()
    if text == "0":
        return 0
    number, unit = text[:-1], text[-1:]
    try:
        seconds = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        seconds = -1.0
    if not 0 < seconds <= 10 * 365 * 86_400:
        raise ValueError(f"{text!r} is not a duration like 7d, 36h, 90m or 0 (at most 10 years)")
    return round(seconds * 1_000_000_000)


@functools.cache
def _field_docs() -> dict[str, str]:
    """The docstring under each ServerConfig field, used as its --help text."""
    body = ast.parse(inspect.getsource(ServerConfig)).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = str(nxt.value.value)  # type: ignore[union-attr]
    return docs
