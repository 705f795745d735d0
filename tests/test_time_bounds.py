"""Every duration and time the API takes is bounded: an extreme one is refused with
INVALID_ARGUMENT naming its field, before anything is journaled, and no value in any field
of any RPC ends the process, then or later (a normal day of traffic after it, a restart).

The bounds (jis.engine.limits): times from 1970-01-01 to 2200-01-01 UTC; takt at most a day;
heartbeat, lead time and unload-to-line time at most 30 days.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    dock_pb2,
    lines_pb2,
    reports_pb2,
    sequence_pb2,
    supply_pb2,
    whatif_pb2,
)
from tests.conftest import Client, connect
from tests.factories import ADD, bc, part, pub
from tests.rpcs import every_rpc
from tests.serverproc import ServerProcess

SURVIVABLE = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,  # GetDemand's changes_since before what is kept
}
T0 = 1_800_000_000  # 2027-01-15, seconds: the test clock is set here first
TS_MIN, TS_MAX = -62_135_596_800, 253_402_300_799  # what a protobuf Timestamp can hold
D_MAX = 315_576_000_000  # what a protobuf Duration can hold, seconds
INT64_MAX = 2**63 - 1

timestamps = st.builds(
    lambda s, n: Timestamp(seconds=s, nanos=n),
    st.one_of(
        st.sampled_from(
            [TS_MIN, -1, 0, 1, T0, 7_258_118_399, 7_258_118_400, 7_258_118_401, 9_223_372_036, TS_MAX]
        ),
        st.integers(TS_MIN, TS_MAX),
    ),
    st.sampled_from([0, 1, 854_775_807, 999_999_999]),
)
durations = st.builds(
    lambda s, n: Duration(seconds=s, nanos=n if s >= 0 else -n),
    st.one_of(
        st.sampled_from([-D_MAX, -1, 0, 1, 86_400, 86_401, 2_592_000, 2_592_001, 9_223_372_037, D_MAX]),
        st.integers(-D_MAX, D_MAX),
    ),
    st.sampled_from([0, 1, 999_999_999]),
)
ns_values = st.one_of(
    st.sampled_from([-(2**63), -1, 0, 1, T0 * 10**9, 7_258_118_400 * 10**9 + 1, INT64_MAX]),
    st.integers(-(2**63), INT64_MAX),
)

_n = itertools.count(1)


def _parts() -> list[dict[str, Any]]:
    return [{"group": "SEAT", "part_number": "P1", "supplier_id": "SUP", "quantity": 1}]


def _broadcast(n: int) -> dict[str, Any]:
    return {
        "line_id": "L1",
        "call_no": str(n),
        "action": "ACTION_ADD",
        "vehicle_id": f"TV{n}",
        "seq_no": str(n),
        "event_time": "2027-01-15T08:00:00Z",
        "need_time": "2027-01-15T10:00:00Z",
        "parts": _parts(),
    }


DEMAND = {
    "supplier_id": "SUP",
    "from": "2027-01-15T00:00:00Z",
    "to": "2027-01-16T00:00:00Z",
    "bucket": "3600s",
}
"""A demand window of the template day (GetDemand, WatchDemand)."""
BUILD = {"supplier_id": "SUP", "group": "SEAT", "line_id": "L1", "vehicle_id": "DAY1", "part_number": "P1"}

TEMPLATES: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
    "ConfigureLine": (
        "lines",
        lambda n: {"line_id": "L1", "takt": "60s", "heartbeat": "3600s", "epoch": "2027-01-15T06:00:00Z"},
    ),
    "SetClock": ("clock", lambda n: {"now": "2027-01-15T08:00:00Z"}),
    "ConfigureSupplier": (
        "supply",
        lambda n: {"supplier_id": "SUP", "lead_time": "14400s", "unload_to_line": "600s"},
    ),
    "Publish": ("broadcast", lambda n: {"broadcast": _broadcast(n)}),
    "PublishBatch": ("broadcast", lambda n: {"broadcasts": [_broadcast(n)]}),
    "ReportBuild": (
        "supply",
        lambda n: {
            "supplier_id": "SUP",
            "group": "SEAT",
            "line_id": "L1",
            "vehicle_id": "DAY1",
            "part_number": "P1",
            "built_at": "2027-01-15T08:00:00Z",
        },
    ),
    "DispatchRack": (
        "supply",
        lambda n: {
            "rack_id": f"TR{n}",
            "supplier_id": "SUP",
            "group": "SEAT",
            "line_id": "L1",
            "capacity": 4,
            "slots": [{"vehicle_id": "DAY1", "part_number": "P1"}],
            "dispatched_at": "2027-01-15T08:00:00Z",
            "eta": "2027-01-15T09:00:00Z",
        },
    ),
    "UpdateRackEta": ("supply", lambda n: {"rack_id": "DAYR", "eta": "2027-01-15T09:00:00Z"}),
    "MoveRack": (
        "supply",
        lambda n: {"rack_id": "DAYR", "stage": "RACK_STAGE_AT_DOCK", "at": "2027-01-15T09:00:00Z"},
    ),
    "BookAppointment": (
        "dock",
        lambda n: {
            "appointment_id": f"TA{n}",
            "door": f"D{n}",
            "window_start": "2027-01-15T08:00:00Z",
            "window_end": "2027-01-15T09:00:00Z",
            "supplier_id": "SUP",
        },
    ),
    "ChangeAppointment": (
        "dock",
        lambda n: {
            "appointment_id": "DAYA",
            "door": "DAYD",
            "window_start": "2027-01-15T08:00:00Z",
            "window_end": "2027-01-15T09:00:00Z",
            "supplier_id": "SUP",
        },
    ),
    "RecordYardEvent": (
        "dock",
        lambda n: {"appointment_id": "DAYA", "kind": "YARD_EVENT_KIND_GATE_IN", "at": "2027-01-15T08:30:00Z"},
    ),
    "ListBreaks": (
        "breaks",
        lambda n: {"resolved_from": "2027-01-15T00:00:00Z", "resolved_to": "2027-01-16T00:00:00Z"},
    ),
    "GetKpis": ("reports", lambda n: {"from": "2027-01-15T00:00:00Z", "to": "2027-01-16T00:00:00Z"}),
    "GetYard": ("dock", lambda n: {"from": "2027-01-15T00:00:00Z", "to": "2027-01-16T00:00:00Z"}),
    "GetDemand": ("reports", lambda n: dict(DEMAND)),
    "WatchDemand": ("reports", lambda n: {**DEMAND, "interval": "1s"}),
    "Run": (
        "whatif",
        lambda n: {
            "inputs": [
                {"build": {**BUILD, "built_at": "2027-01-15T08:00:00Z"}},
                {"rack_eta": {"rack_id": "DAYR", "eta": "2027-01-15T09:00:00Z"}},
            ],
            "supplier_stops": [{"supplier_id": "SUP", "from": "2027-01-15T08:00:00Z", "duration": "3600s"}],
            "horizon": "3600s",
            "plan": {"build_ahead": "300s"},
        },
    ),
}


def time_fields(m: Message) -> Iterator[tuple[Message, str, str]]:
    """(message, field name, "Timestamp" or "Duration") for every time field of ``m`` and
    of the messages it holds, set or not."""
    for f in m.DESCRIPTOR.fields:
        if f.message_type is None:
            continue
        name = f.message_type.full_name
        if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            yield m, f.name, name.rsplit(".", 1)[1]
        elif f.is_repeated:
            for item in getattr(m, f.name):
                yield from time_fields(item)
        elif m.HasField(f.name):
            yield from time_fields(getattr(m, f.name))


def call(c: Client, stub: str, method: str, request: Message) -> grpc.StatusCode:
    try:
        answer = getattr(getattr(c, stub), method)(request, timeout=10)
        if hasattr(answer, "__next__"):  # a stream: its first answer, then done
            next(answer)
            answer.cancel()
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        assert exc.code() in SURVIVABLE, f"{method} -> {exc.code()}: {exc.details()}"
        return exc.code()


def normal_day(c: Client) -> None:
    """A day of ordinary traffic on what the extreme inputs left behind: it must use the
    lines, suppliers and racks they may have changed (whatever they were set to)."""
    start = c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10).now.seconds
    line = c.lines.GetLine(lines_pb2.GetLineRequest(line_id="L1"), timeout=10)
    call_no = line.highest_call_no
    for i in range(24):
        call_no += 1
        n = next(_n)
        call(
            c,
            "broadcast",
            "Publish",
            pub(bc("L1", call_no, ADD, f"DAY-{n}", 10_000 + n, [part("SEAT", "P1", "SUP")])),
        )
        if i % 3 == 0:
            call(
                c,
                "supply",
                "ReportBuild",
                supply_pb2.ReportBuildRequest(
                    supplier_id="SUP", group="SEAT", line_id="L1", vehicle_id=f"DAY-{n}", part_number="P1"
                ),
            )
        if i % 8 == 0:
            rack = supply_pb2.DispatchRackRequest(
                rack_id=f"DAYR-{n}",
                supplier_id="SUP",
                group="SEAT",
                line_id="L1",
                capacity=4,
                slots=[supply_pb2.RackSlot(vehicle_id=f"DAY-{n}", part_number="P1")],
            )
            rack.eta.FromSeconds(start + 3600 * (i + 1))
            call(c, "supply", "DispatchRack", rack)
            call(
                c,
                "supply",
                "UpdateRackEta",
                supply_pb2.UpdateRackEtaRequest(rack_id=f"DAYR-{n}", eta=rack.eta),
            )
            for stage in (supply_pb2.RACK_STAGE_AT_DOCK, supply_pb2.RACK_STAGE_LINE_SIDE):
                call(c, "supply", "MoveRack", supply_pb2.MoveRackRequest(rack_id=f"DAYR-{n}", stage=stage))
        call(c, "clock", "SetClock", lines_pb2.SetClockRequest(now=Timestamp(seconds=start + 3600 * (i + 1))))
        call(c, "breaks", "ListBreaks", breaks_pb2.ListBreaksRequest(line_id="L1"))
    call(c, "reports", "GetInventory", reports_pb2.GetInventoryRequest(line_id="L1"))
    call(c, "reports", "GetKpis", reports_pb2.GetKpisRequest(line_id="L1"))
    call(c, "dock", "GetYard", dock_pb2.GetYardRequest())
    call(c, "sequence", "ListSequence", sequence_pb2.ListSequenceRequest(line_id="L1"))


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Client]]:
    proc = ServerProcess(tmp_path_factory.mktemp("times") / "data", "--test-clock").start()
    c = connect(proc.address)
    c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=T0)), timeout=10)
    c.lines.ConfigureLine(_request("ConfigureLine", 0), timeout=10)
    c.supply.ConfigureSupplier(_request("ConfigureSupplier", 0), timeout=10)
    c.broadcast.Publish(pub(bc("L1", 1, ADD, "DAY1", 1, [part("SEAT", "P1", "SUP")])), timeout=10)
    rack = _request("DispatchRack", 0)
    rack.rack_id = "DAYR"  # type: ignore[attr-defined]
    c.supply.DispatchRack(rack, timeout=10)
    book = _request("BookAppointment", 0)
    book.appointment_id, book.door, book.rack_ids[:] = "DAYA", "DAYD", ["DAYR"]
    c.dock.BookAppointment(book, timeout=10)
    yield proc, c
    c.channel.close()
    proc.stop_if_running()


REQUEST_CLASSES: dict[str, type[Message]] = {
    "ConfigureLine": lines_pb2.ConfigureLineRequest,
    "SetClock": lines_pb2.SetClockRequest,
    "ConfigureSupplier": supply_pb2.ConfigureSupplierRequest,
    "Publish": broadcast_pb2.PublishRequest,
    "PublishBatch": broadcast_pb2.PublishBatchRequest,
    "ReportBuild": supply_pb2.ReportBuildRequest,
    "DispatchRack": supply_pb2.DispatchRackRequest,
    "MoveRack": supply_pb2.MoveRackRequest,
    "UpdateRackEta": supply_pb2.UpdateRackEtaRequest,
    "BookAppointment": dock_pb2.AppointmentSpec,
    "ChangeAppointment": dock_pb2.AppointmentSpec,
    "RecordYardEvent": dock_pb2.YardEventRequest,
    "ListBreaks": breaks_pb2.ListBreaksRequest,
    "GetKpis": reports_pb2.GetKpisRequest,
    "GetYard": dock_pb2.GetYardRequest,
    "GetDemand": reports_pb2.GetDemandRequest,
    "WatchDemand": reports_pb2.WatchDemandRequest,
    "Run": whatif_pb2.WhatIfRequest,
}


def _request(method: str, n: int) -> Message:
    return json_format.ParseDict(TEMPLATES[method][1](n), REQUEST_CLASSES[method]())


def _holds_time(descriptor: Any, seen: frozenset[str] = frozenset()) -> bool:
    for f in descriptor.fields:
        if f.message_type is None or f.message_type.full_name in seen:
            continue
        if f.message_type.full_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            return True
        if _holds_time(f.message_type, seen | {descriptor.full_name}):
            return True
    return False


def test_every_rpc_that_takes_a_time_or_duration_is_covered() -> None:
    takes_times = {name for _, name, cls, _ in every_rpc() if _holds_time(cls.DESCRIPTOR)}
    assert takes_times == set(TEMPLATES)


@pytest.mark.parametrize("method", list(TEMPLATES))
def test_extreme_times_and_durations_are_refused_or_applied_never_fatal(
    timed: tuple[ServerProcess, Client], method: str
) -> None:
    proc, c = timed
    stub = TEMPLATES[method][0]
    # the template itself is a request the server accepts: the extremes below reach the
    # engine through valid requests, not only ones refused for something else
    first = _request(method, 1000 + next(_n))
    if method == "SetClock":  # the clock only moves forward, and earlier tests moved it
        first.now.seconds = c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10).now.seconds + 60  # type: ignore[attr-defined]
    assert call(c, stub, method, first) == grpc.StatusCode.OK

    @settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def one(data: st.DataObject) -> None:
        request = _request(method, 1000 + next(_n))
        for holder, name, kind in list(time_fields(request)):
            value = data.draw(st.one_of(st.none(), timestamps if kind == "Timestamp" else durations))
            if value is not None:
                getattr(holder, name).CopyFrom(value)
        call(c, stub, method, request)
        assert proc.proc is not None and proc.proc.poll() is None, "the server died"

    one()
    normal_day(c)
    assert proc.proc is not None and proc.proc.poll() is None, "the server died during the day after"


def test_extreme_time_columns_are_refused_naming_the_column(timed: tuple[ServerProcess, Client]) -> None:
    proc, c = timed

    @settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
    @given(ns_values, ns_values)
    def one(event_ns: int, need_ns: int) -> None:
        n = next(_n)
        cols = broadcast_pb2.BroadcastColumns(
            line_ids=["L1"],
            call_no=[n + 50_000],
            action=[ADD],
            vehicle_id=[f"TC{n}"],
            seq_no=[n + 50_000],
            event_time_ns=[event_ns],
            need_time_ns=[need_ns],
        )
        try:
            c.broadcast.PublishColumns(cols, timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.details()
            assert exc.details().startswith(("event_time_ns[0]", "need_time_ns[0]")), exc.details()
        assert proc.proc is not None and proc.proc.poll() is None, "the server died"

    one()
    normal_day(c)


def test_after_the_extremes_a_kill_9_and_restart_replays_and_serves_a_day(
    timed: tuple[ServerProcess, Client],
) -> None:
    proc, _ = timed
    proc.kill9()
    proc.restart()
    c2 = connect(proc.address)
    try:
        normal_day(c2)
        assert proc.proc is not None and proc.proc.poll() is None
    finally:
        c2.channel.close()


@pytest.mark.parametrize(
    ("method", "field", "value"),
    [
        ("ConfigureSupplier", "lead_time", Duration(seconds=10_000 * 365 * 86_400)),
        ("ConfigureSupplier", "lead_time", Duration(seconds=30 * 86_400 + 1)),
        ("ConfigureSupplier", "unload_to_line", Duration(seconds=300 * 365 * 86_400)),
        ("ConfigureLine", "takt", Duration(seconds=86_401)),
        ("ConfigureLine", "heartbeat", Duration(seconds=31 * 86_400)),
        ("ConfigureLine", "epoch", Timestamp(seconds=7_258_118_401)),
        ("SetClock", "now", Timestamp(seconds=9_223_372_036, nanos=854_775_807)),
    ],
)
def test_out_of_range_settings_are_invalid_argument_naming_the_field_and_not_journaled(
    tmp_path: Path, method: str, field: str, value: Message
) -> None:
    """The faults found: a 10,000-year lead time was saved, then overflowed inside the engine
    at every later Publish, after every restart; SetClock to the last int64 nanosecond
    killed the engine."""
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        c = connect(proc.address)
        c.clock.SetClock(lines_pb2.SetClockRequest(now=Timestamp(seconds=T0)), timeout=10)
        c.lines.ConfigureLine(_request("ConfigureLine", 0), timeout=10)
        c.supply.ConfigureSupplier(_request("ConfigureSupplier", 0), timeout=10)
        request = _request(method, 0)
        getattr(request, field).CopyFrom(value)
        with pytest.raises(grpc.RpcError) as refused:
            getattr(getattr(c, TEMPLATES[method][0]), method)(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith(f"{field}:"), refused.value.details()
        c.channel.close()
        proc.kill9()
        proc.restart()
        c = connect(proc.address)
        supplier = c.supply.ConfigureSupplier(_request("ConfigureSupplier", 0), timeout=10)
        assert supplier.lead_time.seconds == 14_400
        normal_day(c)
        assert proc.proc is not None and proc.proc.poll() is None
        c.channel.close()
    finally:
        proc.stop_if_running()
