"""Prometheus metrics, defined once; ``registry=`` is injectable for tests.

Observed once per RPC (in the servicer wrappers) or once per engine group (commit
latency, group size), never per message or slot. State gauges (ingest position,
broadcast lag, open breaks, watchers) are computed at scrape time by the engine thread
itself (``snapshot`` submits one request through the engine queue), so they are exact,
cost nothing between scrapes, and a scrape never reads engine state from another thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jis import __version__

# Fine enough for sub-millisecond RPCs and store commits, wide enough for slow disks.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


@dataclass(frozen=True, slots=True)
class LineStats:
    highest_call_no: int
    missing_calls: int
    duplicates: int
    active_vehicles: int
    broadcast_lag_s: float | None
    """Engine time of the last applied message minus its event_time."""


@dataclass(frozen=True, slots=True)
class EngineStats:
    lines: dict[str, LineStats] = field(default_factory=dict)
    open_breaks: dict[tuple[str, str], int] = field(default_factory=dict)
    """(line_id, break type name) -> open breaks."""
    earliest_need: dict[tuple[str, str], float] = field(default_factory=dict)
    """(line_id, break type name) -> earliest need_time (Unix seconds) among the open breaks."""
    watchers: int = 0
    coverage: dict[tuple[str, str, str], tuple[int, float, float]] = field(default_factory=dict)
    """(line, supplier, group) -> (vehicles expected, coverage s, plant coverage s)."""
    supplier_kpis: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """supplier -> (OTIF, sequence accuracy) over the trailing KPI_WINDOW_S (None: no delivery)."""
    build_watchers: int = 0
    engine_time_s: float | None = None
    """The engine clock (Unix seconds): the wall clock, or the test clock."""
    state_rows: dict[str, int] = field(default_factory=dict)
    """Rows held in memory per table of the state (what retention bounds)."""
    retained_to_s: float = 0.0
    """Engine time (Unix seconds) before which history was moved out of memory (0: none)."""
    engine_s: float = 0.0
    """How long the engine thread took to compute these figures (ingest waited that long)."""
    engine_cpu_s: float = 0.0
    """The CPU time that took (engine_s less the waits for the GIL other threads held)."""


KPI_WINDOW_S = 24 * 3600
"""Trailing window of the KPI gauges (engine clock)."""


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        st = self.metrics.snapshot()
        highest = GaugeMetricFamily(
            "jis_broadcast_highest_call_no", "Highest call_no applied", labels=["line"]
        )
        missing = GaugeMetricFamily(
            "jis_broadcast_missing_calls", "Call numbers missing below the highest applied", labels=["line"]
        )
        dups = CounterMetricFamily(
            "jis_broadcast_duplicates", "Duplicate broadcasts received", labels=["line"]
        )
        active = GaugeMetricFamily("jis_vehicles_active", "Vehicles in the sequence now", labels=["line"])
        lag = GaugeMetricFamily(
            "jis_broadcast_lag_seconds",
            "Applied time minus event_time of the last applied broadcast",
            labels=["line"],
        )
        for line_id, ls in sorted(st.lines.items()):
            highest.add_metric([line_id], ls.highest_call_no)
            missing.add_metric([line_id], ls.missing_calls)
            dups.add_metric([line_id], ls.duplicates)
            active.add_metric([line_id], ls.active_vehicles)
            if ls.broadcast_lag_s is not None:
                lag.add_metric([line_id], ls.broadcast_lag_s)
        breaks = GaugeMetricFamily("jis_breaks_open", "Open sequence breaks", labels=["line", "type"])
        for (line_id, kind), n in sorted(st.open_breaks.items()):
            breaks.add_metric([line_id, kind], n)
        need = GaugeMetricFamily(
            "jis_breaks_earliest_need_timestamp_seconds",
            "Earliest need_time (Unix time) among open breaks; minus jis_engine_clock_timestamp_seconds "
            "it is the slack left",
            labels=["line", "type"],
        )
        for (line_id, kind), t in sorted(st.earliest_need.items()):
            need.add_metric([line_id, kind], t)
        watchers = GaugeMetricFamily("jis_watch_subscribers", "Open WatchBreaks streams", value=st.watchers)
        build_watchers = GaugeMetricFamily(
            "jis_build_sequence_subscribers", "Open WatchBuildSequence streams", value=st.build_watchers
        )
        scope = ["line", "supplier", "group"]
        expected = GaugeMetricFamily(
            "jis_expected_vehicles", "Vehicles in the expected sequence", labels=scope
        )
        coverage = GaugeMetricFamily(
            "jis_coverage_seconds", "Production covered by in-sequence slots anywhere in supply", labels=scope
        )
        plant = GaugeMetricFamily(
            "jis_plant_coverage_seconds",
            "Production covered by in-sequence slots at line side or dock",
            labels=scope,
        )
        for key, (n, cov, at_plant) in sorted(st.coverage.items()):
            expected.add_metric(list(key), n)
            coverage.add_metric(list(key), cov)
            plant.add_metric(list(key), at_plant)
        otif = GaugeMetricFamily(
            "jis_otif_ratio",
            "Racks on time, in full, right variants and order (trailing 24 h)",
            labels=["supplier"],
        )
        accuracy = GaugeMetricFamily(
            "jis_sequence_accuracy_ratio", "Delivered slots in sequence (trailing 24 h)", labels=["supplier"]
        )
        for supplier, (o, a) in sorted(st.supplier_kpis.items()):
            if o is not None:
                otif.add_metric([supplier], o)
            if a is not None:
                accuracy.add_metric([supplier], a)
        if st.engine_time_s is not None:
            yield GaugeMetricFamily(
                "jis_engine_clock_timestamp_seconds",
                "The engine clock (Unix time): the wall clock, or the test clock where SetClock moves it",
                value=st.engine_time_s,
            )
        rows = GaugeMetricFamily(
            "jis_state_rows",
            "Rows of the in-memory state per table: bounded by what is live, history goes to the archive",
            labels=["table"],
        )
        for table, n in sorted(st.state_rows.items()):
            rows.add_metric([table], n)
        retained = GaugeMetricFamily(
            "jis_retained_to_timestamp_seconds",
            "Engine time before which history left memory for the archive (0: nothing yet)",
            value=st.retained_to_s,
        )
        engine = GaugeMetricFamily(
            "jis_scrape_engine_seconds",
            "Time this scrape's state figures took on the engine thread (ingest waits meanwhile)",
            value=st.engine_s,
        )
        yield from (highest, missing, dups, active, lag, breaks, need, watchers, build_watchers)
        engine_cpu = GaugeMetricFamily(
            "jis_scrape_engine_cpu_seconds",
            "The engine thread's CPU time for this scrape's state figures (the rest of "
            "jis_scrape_engine_seconds waited for the interpreter lock)",
            value=st.engine_cpu_s,
        )
        yield from (expected, coverage, plant, otif, accuracy, rows, retained, engine, engine_cpu)


RPC_LABELS = ["grpc_type", "grpc_service", "grpc_method"]
"""The labels of the conventional gRPC server metrics (go-grpc-prometheus, grpc-ecosystem)."""


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # The gRPC server metrics by their conventional names, so stock gRPC dashboards work.
        self.rpc_started = Counter(
            "grpc_server_started", "RPCs started on the server", RPC_LABELS, registry=r
        )
        self.rpc_handled = Counter(
            "grpc_server_handled", "RPCs completed on the server", [*RPC_LABELS, "grpc_code"], registry=r
        )
        self.rpc_duration = Histogram(
            "grpc_server_handling_seconds",
            "RPC handling time (streams: until the stream ends)",
            RPC_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commit_duration = Histogram(
            "jis_store_commit_duration_seconds",
            "Durable commit of one engine group",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        stages = Histogram(
            "jis_engine_stage_seconds",
            "Where the time of an engine group goes: queued (its oldest request's wait for the "
            "engine thread), apply, evaluate (overlapped with the commit's fsync when the engine "
            "is idle), hand_over (the engine thread's answer until the event loop runs it)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.engine_stage = {s: stages.labels(s) for s in ("queued", "apply", "evaluate", "hand_over")}
        """The commit itself is jis_store_commit_duration_seconds."""
        self.group_size = Histogram(
            "jis_engine_group_requests",
            "Requests applied per engine group (one commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.broadcasts = Counter(
            "jis_broadcasts",
            "Broadcast messages by line and disposition",
            ["line", "disposition"],
            registry=r,
        )
        self.break_events = Counter(
            "jis_break_events", "Sequence breaks raised and resolved, by type", ["event", "type"], registry=r
        )
        Info("jis_build", "The running version", registry=r).info({"version": __version__})
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.snapshot: Callable[[], EngineStats] = EngineStats
        """Set by the server: returns the engine's current stats (an empty set until then)."""
        r.register(_StateCollector(self))
