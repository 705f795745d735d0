"""The request a client sends for an engine input (convert.*_out) reads back as that input
(convert.*_in): what the what-if answer lists as planned inputs and what the plant
benchmark sends are the API's own messages for them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jis.api import convert
from jis.engine.model import Broadcast, BuildReport, PartDemand, RackDispatch

ids = st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=8)
times = st.none() | st.integers(0, 4_000_000_000 * 10**9)


seq_nos = st.none() | st.integers(-(10**6), 10**6)
part_lists = st.lists(st.tuples(ids, ids, ids, st.integers(1, 9)), max_size=4)


@given(ids, st.integers(1, 10**9), st.integers(1, 7), ids, seq_nos, times, times, part_lists)
def test_a_broadcast_reads_back_as_itself(line, call_no, action, vehicle, seq_no, event, need, parts) -> None:  # type: ignore[no-untyped-def]
    b = Broadcast(
        line, call_no, action, vehicle, seq_no, "", event, need, tuple(PartDemand(*p) for p in parts)
    )
    assert convert.broadcast_in(convert.broadcast_out(b)) == b


@given(ids, ids, ids, ids, ids, times)
def test_a_build_reads_back_as_itself(supplier, group, line, vehicle, part, built_at) -> None:  # type: ignore[no-untyped-def]
    b = BuildReport(supplier, group, line, vehicle, part, built_at)
    assert convert.build_in(convert.build_out(b)) == b


@given(ids, ids, ids, ids, st.lists(st.tuples(ids, ids), max_size=5), times, times)
def test_a_dispatch_reads_back_as_itself(rack, supplier, group, line, slots, eta, dispatched) -> None:  # type: ignore[no-untyped-def]
    d = RackDispatch(rack, supplier, group, line, len(slots) + 1, tuple(slots), eta, dispatched)
    assert convert.dispatch_in(convert.dispatch_out(d)) == d
