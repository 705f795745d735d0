"""The Prometheus endpoint of a real server: values follow what clients did; promtool agrees."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client.parser import text_string_to_metric_families

from jis import __version__
from jis.v1 import broadcast_pb2, build_sequence_pb2, supply_pb2
from tests.conftest import Client, configure_line, connect
from tests.factories import ADD, bc, part, pub
from tests.serverproc import ServerProcess

RULES = Path(__file__).resolve().parent.parent / "ops" / "prometheus"
# CI installs Prometheus (Debian package) and sets this, so that a missing tool fails instead of skipping.
REQUIRE_PROMETHEUS = os.environ.get("JIS_REQUIRE_PROMETHEUS") == "1"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if REQUIRE_PROMETHEUS:
            pytest.fail(f"{name} not installed (Debian package prometheus)")
        pytest.skip(f"{name} not installed (Debian package prometheus)")
    return path


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("met") / "data", "--metrics-port", "0").start()
    yield proc
    proc.stop()


def scrape(proc: ServerProcess) -> str:
    with urllib.request.urlopen(proc.metrics_url(), timeout=10) as r:
        return r.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_metrics_follow_rpcs_breaks_and_ingest_position(metered: ServerProcess) -> None:
    c: Client = connect(metered.address)
    configure_line(c, "M1")
    for call in (1, 2, 5):  # a gap of 3..4
        c.broadcast.Publish(pub(bc("M1", call, ADD, f"M1-V{call}", call, [part()])), timeout=10)
    with pytest.raises(grpc.RpcError):
        c.broadcast.Publish(pub(bc("M1", 6, ADD, "", 6, [part()])), timeout=10)
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[
            bc("M1", 6, ADD, "M1-V6", 6, [part()]),
            bc("M1", 6, ADD, "M1-V6", 6, [part()]),
            bc("M1", 7, ADD, "M1-V7", 6, [part()]),
            bc("NOPE-1", 1, ADD, "N-V1", 1, [part()]),  # a line never configured: rejected
        ]
    )
    c.broadcast.PublishBatch(batch, timeout=10)
    s = samples(scrape(metered))
    publish = (
        ("grpc_method", "Publish"),
        ("grpc_service", "jis.v1.BroadcastService"),
        ("grpc_type", "unary"),
    )
    assert s[("grpc_server_started_total", publish)] == 4
    assert s[("grpc_server_handled_total", (("grpc_code", "OK"), *publish))] == 3
    assert s[("grpc_server_handled_total", (("grpc_code", "INVALID_ARGUMENT"), *publish))] == 1
    assert s[("grpc_server_handling_seconds_count", publish)] == 4
    buckets = {
        dict(labels)["le"]: v
        for (name, labels), v in s.items()
        if name == "grpc_server_handling_seconds_bucket" and set(publish) <= set(labels)
    }
    assert buckets["0.0001"] <= buckets["+Inf"] == 4  # cumulative, every call in the last
    assert s[("jis_broadcasts_total", (("disposition", "applied"), ("line", "M1")))] == 4
    assert s[("jis_broadcasts_total", (("disposition", "duplicate"), ("line", "M1")))] == 1
    assert s[("jis_broadcasts_total", (("disposition", "rejected"), ("line", "M1")))] == 1
    # a made-up line makes no series of its own
    assert s[("jis_broadcasts_total", (("disposition", "rejected"), ("line", "")))] == 1
    assert not [k for k in s if ("line", "NOPE-1") in k[1]]
    assert s[("jis_broadcast_duplicates_total", (("line", "M1"),))] == 1
    assert s[("jis_break_events_total", (("event", "raised"), ("type", "GAP")))] == 1
    assert s[("jis_build_info", (("version", __version__),))] == 1
    assert s[("process_resident_memory_bytes", ())] > 0
    assert s[("jis_engine_clock_timestamp_seconds", ())] == pytest.approx(time.time(), abs=120)
    assert s[("jis_broadcast_highest_call_no", (("line", "M1"),))] == 6
    assert s[("jis_broadcast_missing_calls", (("line", "M1"),))] == 2
    assert s[("jis_breaks_open", (("line", "M1"), ("type", "GAP")))] == 1
    assert s[("jis_vehicles_active", (("line", "M1"),))] == 4
    assert s[("jis_store_commit_duration_seconds_count", ())] >= 5
    assert 0 < s[("jis_scrape_engine_seconds", ())] < 1  # this scrape's figures, timed on the engine thread
    assert 0 <= s[("jis_scrape_engine_cpu_seconds", ())] <= s[("jis_scrape_engine_seconds", ())] + 0.01
    # every group of requests is timed by stage; the loops' wake-ups once per answered group
    for stage in ("queued", "apply", "evaluate", "hand_over"):
        assert s[("jis_engine_stage_seconds_count", (("stage", stage),))] >= 5, stage
    assert s[("jis_engine_stage_seconds_sum", (("stage", "apply"),))] > 0
    # Nothing supplied yet: 4 vehicles expect SUP1's seat, none covered.
    seat = (("group", "SEAT"), ("line", "M1"), ("supplier", "SUP1"))
    assert s[("jis_expected_vehicles", seat)] == 4
    assert s[("jis_coverage_seconds", seat)] == 0
    # Racks at the dock for the first two vehicles in order: 2 x takt (60 s) covered.
    c.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SUP1", lead_time=Duration(seconds=3600)), timeout=10
    )
    c.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id="M1-R",
            supplier_id="SUP1",
            group="SEAT",
            line_id="M1",
            capacity=4,
            slots=[supply_pb2.RackSlot(vehicle_id=f"M1-V{i}", part_number="S-BLK") for i in (1, 2)],
            eta=Timestamp(seconds=int(time.time()) + 3600),
        ),
        timeout=10,
    )
    c.supply.MoveRack(
        supply_pb2.MoveRackRequest(rack_id="M1-R", stage=supply_pb2.RACK_STAGE_AT_DOCK), timeout=10
    )
    s = samples(scrape(metered))
    assert s[("jis_coverage_seconds", seat)] == 120 and s[("jis_plant_coverage_seconds", seat)] == 120
    watch = c.build.WatchBuildSequence(
        build_sequence_pb2.WatchBuildSequenceRequest(line_id="M1", supplier_id="SUP1", group="SEAT")
    )
    next(watch)
    assert samples(scrape(metered))[("jis_build_sequence_subscribers", ())] == 1
    watch.cancel()
    c.channel.close()


def test_promtool_accepts_the_live_metrics(metered: ServerProcess, tmp_path: Path) -> None:
    promtool = tool("promtool")
    c = connect(metered.address)
    configure_line(c, "M2")
    c.broadcast.Publish(pub(bc("M2", 2, ADD, "M2-V", 1, [part()])), timeout=10)
    c.channel.close()
    text = scrape(metered)
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shipped_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = tool("promtool")
    for args in (["check", "rules", "jis-rules.yml"], ["test", "rules", "jis-rules.test.yml"]):
        r = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_real_prometheus_scrapes_the_server_and_answers_a_query(
    metered: ServerProcess, tmp_path: Path
) -> None:
    prometheus = tool("prometheus")
    c = connect(metered.address)
    configure_line(c, "P1")
    for call in range(1, 8):
        c.broadcast.Publish(pub(bc("P1", call, ADD, f"P1-V{call}", call, [part()])), timeout=10)
    c.channel.close()
    target = metered.metrics_url().removeprefix("http://").removesuffix("/metrics")
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{RULES / 'jis-rules.yml'}]\n"
        f"scrape_configs: [{{job_name: jis, static_configs: [{{targets: ['{target}']}}]}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        query = urllib.parse.quote('jis_broadcast_highest_call_no{line="P1"}')
        deadline = time.monotonic() + 60
        value = None
        while time.monotonic() < deadline and value is None:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/query?query={query}", timeout=5
                ) as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                continue
            if result:
                value = float(result[0]["value"][1])
        assert value == 7.0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


DASHBOARD = Path(__file__).resolve().parent.parent / "ops" / "grafana" / "jis-plant.json"
_NAME = re.compile(r"\b(?:jis|grpc_server|process)_[a-z0-9_]+")


def test_every_dashboard_query_names_only_metrics_the_server_exposes(metered: ServerProcess) -> None:
    """Load a server so that every family has a sample (a break with a need time, a
    delivery, a lag, an error), scrape it, and check each name in each panel's queries."""
    c = connect(metered.address)
    configure_line(c, "G1")
    c.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SUPG", lead_time=Duration(seconds=3600)), timeout=10
    )
    m = bc("G1", 1, ADD, "G1-V1", 1, [part("SEAT", "S-BLK", "SUPG")])
    m.event_time.GetCurrentTime()
    c.broadcast.Publish(pub(m), timeout=10)
    c.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id="G1-R", supplier_id="SUPG", group="SEAT", line_id="G1", capacity=2,
            slots=[supply_pb2.RackSlot(vehicle_id="G1-V1", part_number="S-BLK")],
            eta=Timestamp(seconds=int(time.time()) + 600),
        ),
        timeout=10,
    )  # fmt: skip
    c.supply.MoveRack(
        supply_pb2.MoveRackRequest(rack_id="G1-R", stage=supply_pb2.RACK_STAGE_AT_DOCK), timeout=10
    )
    c.broadcast.Publish(pub(bc("G1", 3, ADD, "G1-V3", 3, [part("SEAT", "S-BLK", "SUPG")])), timeout=10)  # GAP
    with pytest.raises(grpc.RpcError):
        c.broadcast.Publish(pub(bc("G1", 4, ADD, "", 4, [part()])), timeout=10)
    c.channel.close()
    exposed = {s.name for fam in text_string_to_metric_families(scrape(metered)) for s in fam.samples}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    named = {name for e in exprs for name in _NAME.findall(e)}
    assert named - exposed == set(), (
        f"the dashboard queries metrics the server does not expose: {named - exposed}"
    )
    rules = (RULES / "jis-rules.yml").read_text()
    assert set(_NAME.findall(rules)) - exposed == set()  # the alert rules too
