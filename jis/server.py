"""`jis serve`: the gRPC server on the embedded store.

Start order: bind the port with health NOT_SERVING, recover the state from the store
and compile every kernel (off the event loop, so health answers meanwhile), start the
engine thread, then report SERVING. SIGTERM/SIGINT stop it gracefully.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import logging
import os
import signal
import time
from pathlib import Path

import grpc
from grpc import aio
from grpc_health.v1 import _async as health_aio  # the asyncio HealthServicer (health.aio)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer as _AsyncReflectionServicer
from prometheus_client import start_http_server

from jis import sysmem
from jis.alerts.fanout import Fanout, KeyedFanout
from jis.api import servicers
from jis.api.auth import Authorizer, Credentials
from jis.api.handlers import Admission, add_service
from jis.api.whatif import Limits as WhatIfLimits
from jis.api.whatif import WhatIfServicer
from jis.clock import Clock
from jis.config import LOOPBACK, ConfigError, ServerConfig, check_exposure, duration_ns
from jis.engine.engine import Engine
from jis.engine.runner import EngineRunner
from jis.interop import edifact
from jis.kernels.warmup import compile_all
from jis.metrics import EngineStats, Metrics
from jis.store import SqliteStore, Store, lock_dir
from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    build_sequence_pb2,
    directory_pb2,
    dock_pb2,
    interop_pb2,
    lines_pb2,
    reports_pb2,
    sequence_pb2,
    supply_pb2,
    whatif_pb2,
)

log = logging.getLogger("jis.server")

SERVICES = [
    broadcast_pb2.DESCRIPTOR.services_by_name["BroadcastService"].full_name,
    sequence_pb2.DESCRIPTOR.services_by_name["SequenceService"].full_name,
    lines_pb2.DESCRIPTOR.services_by_name["LineService"].full_name,
    lines_pb2.DESCRIPTOR.services_by_name["ClockService"].full_name,
    breaks_pb2.DESCRIPTOR.services_by_name["BreakService"].full_name,
    supply_pb2.DESCRIPTOR.services_by_name["SupplyService"].full_name,
    build_sequence_pb2.DESCRIPTOR.services_by_name["BuildSequenceService"].full_name,
    reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name,
    dock_pb2.DESCRIPTOR.services_by_name["DockService"].full_name,
    interop_pb2.DESCRIPTOR.services_by_name["InteropService"].full_name,
    directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name,
    whatif_pb2.DESCRIPTOR.services_by_name["WhatIfService"].full_name,
]


LIVENESS = "jis.Liveness"
"""Health service name that is SERVING once the state is recovered, on a leader and on a
standby alike (liveness; "" and the jis services say whether it takes writes: readiness)."""

ENGINE_QUEUE_MARGIN = 1024
"""Engine requests beyond the admitted unary calls: stream snapshots, metrics scrapes."""


def _recover(engine: Engine, clock: Clock) -> int:
    n = engine.recover()
    clock.advance_to(engine.last_at)
    compile_all()
    return n


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
"""grpcio-reflection serves the v1alpha service only; v1 is the same protocol, message for
message on the wire, under another package name. Clients that speak v1 only (grpc-js's
reflection in v1 mode, newer grpcurl) get the same servicer under that name."""


def _add_reflection(server: aio.Server, services: list[str]) -> None:
    reflection.enable_server_reflection([*services, REFLECTION_V1], server)
    servicer = _AsyncReflectionServicer([*services, REFLECTION_V1])
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None


def _open_store(cfg: ServerConfig, stream: str) -> Store:
    if not cfg.store:
        return SqliteStore(cfg.data_dir, synchronous=cfg.sync.upper())
    try:
        from jis.store.jetstream import JetStreamStore, StoreUnavailable, parse_servers
    except ImportError:
        raise ConfigError("--store nats://... needs nats-py: pip install 'jis[nats]'") from None
    try:
        return JetStreamStore(
            parse_servers(cfg.store),
            cfg.data_dir,
            stream=stream,
            replicas=cfg.replicas,
            lease_ttl=duration_ns(cfg.lease) / 1e9,
        )
    except (StoreUnavailable, ValueError) as exc:
        raise ConfigError(f"--store {cfg.store}: {exc}") from None


def _credentials(cfg: ServerConfig) -> Credentials | None:
    if not cfg.credentials:
        return None
    try:
        return Credentials.load(Path(cfg.credentials))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _action_codes(cfg: ServerConfig) -> edifact.ActionCodes:
    """Senders' own DELJIT action codes (--action-codes), read now: a bad file stops the start."""
    if not cfg.action_codes:
        return {}
    try:
        return edifact.load_action_codes(Path(cfg.action_codes))
    except ValueError as exc:
        raise ConfigError(f"--action-codes {exc}") from None


def _authorizer(creds: Credentials | None, runner: EngineRunner) -> Authorizer | None:
    if creds is None:
        return None

    async def owner_of(kind: str, ident: str) -> str:
        loop = asyncio.get_running_loop()
        return await runner.submit_async(lambda at: runner.engine.owner(kind, ident), loop)

    return Authorizer(creds, owner_of)


def _port_credentials(cfg: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS for the gRPC port (None: plaintext); files are read now, before anything starts."""
    if not cfg.tls_cert:
        return None
    ca = _read(cfg.tls_client_ca, "client CA bundle") if cfg.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(_read(cfg.tls_key, "TLS key"), _read(cfg.tls_cert, "TLS certificate"))],
        root_certificates=ca,
        require_client_auth=ca is not None,
    )


async def serve(cfg: ServerConfig) -> None:
    check_exposure(cfg)
    creds, tls = _credentials(cfg), _port_credentials(cfg)
    action_codes = _action_codes(cfg)
    sysmem.fix_mmap_threshold()  # large transients (snapshots, compactions) go back to the system
    held = lock_dir(cfg.data_dir)  # first: a second server on this dir stops here, whatever its port
    stream = f"{cfg.stream}_{cfg.group}" if cfg.group else cfg.stream  # the log's, with --store
    try:
        store: Store = _open_store(cfg, stream)
    except BaseException:
        os.close(held)
        raise
    clock = Clock(test_mode=cfg.test_clock, start_ns=0 if cfg.test_clock else None)
    engine = Engine(store, retain_ns=duration_ns(cfg.retain))
    loop = asyncio.get_running_loop()
    fanout = Fanout()
    feed_fanout: servicers.FeedFanout = KeyedFanout(
        max_bytes=cfg.max_stream_bytes, size_of=servicers.feed_item_bytes
    )
    metrics = Metrics()
    runner = EngineRunner(
        engine,
        clock,
        loop=loop,
        on_events=fanout.publish,
        on_feed=functools.partial(servicers.publish_feed, feed_fanout),
        # a backstop only: admission (jis.api.handlers) bounds the unary calls before this
        max_pending=cfg.max_pending + cfg.max_pending_reads + ENGINE_QUEUE_MARGIN,
        metrics=metrics,
        snapshot_every=cfg.snapshot_every,
    )
    admission = Admission(max_writes=cfg.max_pending, max_reads=cfg.max_pending_reads)
    leadership = None
    mover = None
    gw = servicers.Gateway(runner, clock, metrics, _authorizer(creds, runner), admission)

    def snapshot() -> EngineStats:
        if not gw.ready:
            return EngineStats(watchers=len(fanout), build_watchers=len(feed_fanout))

        def stats(at: int) -> EngineStats:
            started, cpu = time.perf_counter(), time.thread_time()
            st = engine.stats(len(fanout), len(feed_fanout), at)
            return dataclasses.replace(
                st, engine_s=time.perf_counter() - started, engine_cpu_s=time.thread_time() - cpu
            )

        return runner.submit(stats).result(timeout=5)

    metrics.snapshot = snapshot

    whatifs = WhatIfServicer(
        gw,
        WhatIfLimits(cfg.whatif_workers, cfg.whatif_cpu_s, cfg.whatif_memory_mb << 20, cfg.max_message_bytes),
    )
    server = aio.server(
        options=[
            ("grpc.max_receive_message_length", cfg.max_message_bytes),
            ("grpc.max_send_message_length", cfg.max_message_bytes),
            # grpc sets SO_REUSEPORT by default: a second server would then bind the same
            # port and take a share of the calls. Off, a busy port fails the start.
            ("grpc.so_reuseport", 0),
        ]
    )
    for servicer, service in (
        (servicers.BroadcastServicer(gw), broadcast_pb2.DESCRIPTOR.services_by_name["BroadcastService"]),
        (servicers.SequenceServicer(gw), sequence_pb2.DESCRIPTOR.services_by_name["SequenceService"]),
        (servicers.LineServicer(gw), lines_pb2.DESCRIPTOR.services_by_name["LineService"]),
        (servicers.ClockServicer(gw), lines_pb2.DESCRIPTOR.services_by_name["ClockService"]),
        (servicers.BreakServicer(gw, fanout), breaks_pb2.DESCRIPTOR.services_by_name["BreakService"]),
        (servicers.SupplyServicer(gw), supply_pb2.DESCRIPTOR.services_by_name["SupplyService"]),
        (
            servicers.BuildSequenceServicer(gw, feed_fanout),
            build_sequence_pb2.DESCRIPTOR.services_by_name["BuildSequenceService"],
        ),
        (servicers.ReportServicer(gw), reports_pb2.DESCRIPTOR.services_by_name["ReportService"]),
        (servicers.DockServicer(gw), dock_pb2.DESCRIPTOR.services_by_name["DockService"]),
        (
            servicers.InteropServicer(gw, action_codes),
            interop_pb2.DESCRIPTOR.services_by_name["InteropService"],
        ),
        (servicers.DirectoryServicer(gw), directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"]),
        (whatifs, whatif_pb2.DESCRIPTOR.services_by_name["WhatIfService"]),
    ):
        add_service(server, servicer, service, gw.admission)
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _add_reflection(
        server,
        [*SERVICES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
    )
    address = f"{cfg.host}:{cfg.port}"
    try:
        if tls is None:
            port, transport = server.add_insecure_port(address), "plaintext"
        else:
            port = server.add_secure_port(address, tls)
            transport = "TLS, client certificates required" if cfg.tls_client_ca else "TLS"
    except RuntimeError:
        store.close()
        os.close(held)
        raise ConfigError(f"cannot listen on {address}: the port is in use or cannot be bound") from None

    async def set_health(status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for name in ["", *SERVICES]:
            await health_servicer.set(name, status)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    http = None
    if cfg.metrics_port >= 0:
        try:
            http, _ = start_http_server(cfg.metrics_port, addr=cfg.host, registry=metrics.registry)
        except OSError as exc:
            store.close()
            os.close(held)
            raise ConfigError(
                f"cannot serve metrics on {cfg.host}:{cfg.metrics_port}: {exc.strerror}"
            ) from None
        log.info("jis metrics on http://%s:%d/metrics", cfg.host, http.server_port)
    await set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    where = f"log on stream {stream} at {cfg.store}" if cfg.store else f"data in {cfg.data_dir.resolve()}"
    log.info("jis listening on %s:%d (%s; %s gRPC)", cfg.host, port, where, transport)
    if gw.auth is None:
        log.warning("no credentials configured: every caller may do everything (local trial only)")
    if cfg.insecure and cfg.host not in LOOPBACK:
        log.warning("--insecure: listening on %s without the protection of TLS and credentials", cfg.host)
    try:
        t0 = time.perf_counter()
        replayed = await asyncio.to_thread(_recover, engine, clock)
        # Everything alive now (modules, compiled kernels, the recovered state) lives as
        # long as the process: keep it out of the collector's full passes, which otherwise
        # walk it all every few hundred calls and stall both threads for tens of ms.
        gc.collect()
        gc.freeze()
        runner.start()
        recovered = (
            f"recovered {replayed} log records and compiled kernels in {time.perf_counter() - t0:.2f}s"
            + ("; TEST CLOCK (moves only by SetClock)" if cfg.test_clock else "")
        )
        if cfg.store:
            from jis.ha import Leadership
            from jis.store.jetstream import JetStreamStore

            assert isinstance(store, JetStreamStore)

            def on_role(leader: bool) -> None:
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if leader
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                asyncio.run_coroutine_threadsafe(set_health(status), loop)
                if leader:
                    log.info("jis SERVING as the leader of stream %s: %s", store.stream, recovered)
                else:
                    log.info("jis STANDBY of stream %s (reads only): %s", store.stream, recovered)

            if cfg.group:
                from jis.directory import Directory

                advertised = cfg.advertise or f"{cfg.host}:{port}"
                gw.directory = await asyncio.to_thread(Directory, store, cfg.stream, cfg.group, advertised)
            leadership = Leadership(store, runner, clock, admission, on_role)
            if gw.directory is not None:
                from jis.directory import LineMover

                lead = leadership
                mover = LineMover(gw.directory, runner, lambda: lead.leader)
                mover.start()
            gw.ready = True
            leadership.start()
        else:
            gw.ready = True
            await set_health(health_pb2.HealthCheckResponse.SERVING)
            log.info("jis SERVING: %s", recovered)
        # Alive, whatever the role: a standby is NOT_SERVING for the jis services (readiness)
        # but must not be restarted for it (the container's HEALTHCHECK asks this one).
        await health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await stop.wait()
        log.info("jis stopping (grace %.1fs)", cfg.grace_s)
    finally:
        gw.ready = False
        await health_servicer.enter_graceful_shutdown()
        await server.stop(cfg.grace_s)
        whatifs.close()
        if mover is not None:
            mover.stop()
        if leadership is not None:
            leadership.stop_following()
        if gw.directory is not None:
            gw.directory.stop()
        if runner.started:
            runner.stop()  # what is queued, then the final snapshot: while this leader holds the lease
        if leadership is not None:
            leadership.stop()  # then the lease goes (committed after it, the queued work would be fenced)
        store.close()
        os.close(held)
        if http is not None:
            http.shutdown()
        log.info("jis stopped")
