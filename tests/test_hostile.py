"""Hostile input for every unary RPC: a specific status, never UNKNOWN or a crash; a refusal changes nothing.

Requests are generated from each method's input descriptor: empty, huge and odd strings,
extreme numbers, unknown enum values, absent or out-of-range timestamps and durations,
repeated fields long and short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jis.v1 import breaks_pb2, dock_pb2, lines_pb2, reports_pb2, sequence_pb2
from tests.conftest import Client
from tests.rpcs import every_rpc
from tests.serverproc import ServerProcess

F = FieldDescriptor
ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
FEW_IDS = ["L1", "V1", "SUP", "SEAT", "R1", "P-A"]  # so that some requests meet existing state
text = st.one_of(
    st.sampled_from([*FEW_IDS, "", " ", "\x00", "é" * 3]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.integers(100, 5000).map(lambda n: "x" * n),
)
_DELJIT = (Path(__file__).resolve().parent / "fixtures" / "deljit_day.edi").read_bytes()
edi_bytes = st.one_of(
    st.binary(max_size=300),
    st.integers(0, len(_DELJIT)).map(lambda n: _DELJIT[:n]),  # cut anywhere
    st.tuples(st.integers(0, len(_DELJIT) - 1), st.binary(min_size=1, max_size=3)).map(
        lambda t: _DELJIT[: t[0]] + t[1] + _DELJIT[t[0] + len(t[1]) :]  # a few bytes overwritten
    ),
)
INT_BOUNDS = {
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
}


def ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(
        st.sampled_from([lo, hi, 0, 1, -1 if lo < 0 else 2]),
        st.integers(-100, 100).filter(lambda v: lo <= v <= hi),
        st.integers(lo, hi),
    )


def message(descriptor: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    fields = {}
    for f in descriptor.fields:
        if f.type == F.TYPE_MESSAGE:
            if depth > 2:
                continue
            value: st.SearchStrategy[Any] = message(f.message_type, depth + 1)
        elif f.type == F.TYPE_STRING:
            value = text
        elif f.type == F.TYPE_BOOL:
            value = st.booleans()
        elif f.type == F.TYPE_BYTES:
            value = edi_bytes
        elif f.type == F.TYPE_ENUM:
            value = st.integers(-3, 12)
        else:
            value = ints(*INT_BOUNDS[f.type])
        if f.is_repeated:
            value = st.lists(value, max_size=6 if depth else 12)
        fields[f.name] = st.one_of(st.none(), value)
    return st.fixed_dictionaries({}, optional=fields)


def build(cls: type[Message], values: dict[str, Any]) -> Message:
    m = cls()
    for name, v in values.items():
        if v is None:
            continue
        f = m.DESCRIPTOR.fields_by_name[name]
        if f.type == F.TYPE_MESSAGE and f.is_repeated:
            item_cls = message_factory.GetMessageClass(f.message_type)
            getattr(m, name).extend(build(item_cls, item) for item in v)
        elif f.type == F.TYPE_MESSAGE:
            sub = getattr(m, name)
            sub.SetInParent()
            sub.MergeFrom(build(type(sub), v))
        elif f.is_repeated:
            getattr(m, name).extend(v)
        else:
            setattr(m, name, v)
    return m


UNARY = [(stub, name, cls) for stub, name, cls, streaming in every_rpc() if not streaming]
STREAMS = [(stub, name, cls) for stub, name, cls, streaming in every_rpc() if streaming]


def fingerprint(c: Client) -> tuple[bytes, ...]:
    lines = c.lines.ListLines(lines_pb2.ListLinesRequest(), timeout=10)
    seqs = [
        c.sequence.ListSequence(
            sequence_pb2.ListSequenceRequest(line_id=ln.line_id, page_size=10_000), timeout=10
        ).SerializeToString(deterministic=True)
        for ln in lines.lines
    ]
    brk = c.breaks.ListBreaks(breaks_pb2.ListBreaksRequest(), timeout=10)
    yard = c.dock.GetYard(dock_pb2.GetYardRequest(), timeout=10)
    kpis = c.reports.GetKpis(reports_pb2.GetKpisRequest(), timeout=10)
    return (
        lines.SerializeToString(deterministic=True),
        *seqs,
        brk.SerializeToString(deterministic=True),
        yard.SerializeToString(deterministic=True),
        kpis.SerializeToString(deterministic=True),
    )


@pytest.mark.parametrize(("service", "method", "cls"), UNARY, ids=[m for _, m, _ in UNARY])
def test_hostile_requests_get_a_specific_status_and_refusals_change_nothing(
    hostile: tuple[ServerProcess, Client], service: str, method: str, cls: type[Message]
) -> None:
    proc, c = hostile
    stub = getattr(c, service)

    @settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(message(cls.DESCRIPTOR))
    def one(values: dict[str, Any]) -> None:
        request = build(cls, values)
        before = fingerprint(c)
        try:
            getattr(stub, method)(request, timeout=10)
            code = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            code = exc.code()
            assert code in ALLOWED, f"{method} -> {code}: {exc.details()}"
            assert exc.details(), "a refusal must say why"
            assert fingerprint(c) == before, f"{method} refused with {code} but changed the state"
        assert proc.proc is not None and proc.proc.poll() is None, "the server died"
        assert code in ALLOWED

    one()


def test_every_rpc_is_covered() -> None:
    assert {m for _, m, _ in UNARY} >= {"Publish", "BookAppointment", "GetKpis", "GetBuildSequence"}
    assert {m for _, m, _ in STREAMS} == {"WatchBreaks", "WatchBuildSequence", "WatchDemand"}


@pytest.mark.parametrize(("service", "method", "cls"), STREAMS, ids=[m for _, m, _ in STREAMS])
def test_hostile_stream_requests_get_a_specific_status(
    hostile: tuple[ServerProcess, Client], service: str, method: str, cls: type[Message]
) -> None:
    proc, c = hostile
    stub = getattr(c, service)

    @settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(message(cls.DESCRIPTOR))
    def one(values: dict[str, Any]) -> None:
        call = getattr(stub, method)(build(cls, values), timeout=1.5)
        try:
            next(call)
        except StopIteration:
            pass
        except grpc.RpcError as exc:
            # DEADLINE_EXCEEDED: the stream is open and has nothing to say yet.
            assert exc.code() in ALLOWED | {grpc.StatusCode.DEADLINE_EXCEEDED}, f"{method} -> {exc.code()}"
            assert exc.details()
        finally:
            call.cancel()
        assert proc.proc is not None and proc.proc.poll() is None, "the server died"

    one()
