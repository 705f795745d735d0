"""PublishBatch's wire decoder (jis.api.wire) against the object path, on random batches
encoded by hand: fields in any order, singular fields sent twice, Timestamps sent in two
pieces, non-minimal varints, negative enums and int32s, unknown fields of every wire
type, at the top level and inside messages and parts. Whatever protobuf parses, the
decoder either gives exactly the messages the object path gives, or None (the object
path then decides); it gives None only where the object path refuses a message or keeps
it out of columns. Then through a real server: a batch the decoder takes answers as the
object path does."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jis.api import convert, wire
from jis.engine import bulk
from jis.engine.packed import PackedBroadcasts
from jis.errors import DomainError
from jis.v1 import broadcast_pb2
from tests.conftest import Client, configure_line
from tests.factories import ADD, bc, part

U64 = 2**64 - 1


def varint(v: int, pad: int = 0) -> bytes:
    v &= U64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            break
    pad = min(pad, 10 - len(out))
    if pad > 0:  # the same value, in more bytes
        out[-1] |= 0x80
        out += b"\x80" * (pad - 1) + b"\x00"
    return bytes(out)


def field(no: int, wire_type: int, payload: bytes | int, pad: int = 0) -> bytes:
    key = varint(no << 3 | wire_type, pad)
    if wire_type == 0:
        assert isinstance(payload, int)
        return key + varint(payload, pad)
    assert isinstance(payload, bytes)
    if wire_type == 2:
        return key + varint(len(payload), pad) + payload
    return key + payload  # fixed 32 / 64


unknown = st.one_of(
    st.builds(lambda n, v: field(n, 0, v), st.integers(20, 500), st.integers(0, U64)),
    st.builds(lambda n, v: field(n, 1, v), st.integers(20, 500), st.binary(min_size=8, max_size=8)),
    st.builds(lambda n, v: field(n, 2, v), st.integers(20, 500), st.binary(max_size=12)),
    st.builds(lambda n, v: field(n, 5, v), st.integers(20, 500), st.binary(min_size=4, max_size=4)),
)
text = st.text(alphabet="ABC-é漢1", max_size=4)
SECONDS = st.integers(1_700_000_000, 1_900_000_000)
NANOS = st.integers(0, 999_999_999)
ODD_SECONDS = st.sampled_from([-62_135_596_800, -1, 0, 7_258_118_400, 253_402_300_799, 2**40, -(2**40)])
ODD_NANOS = st.sampled_from([1_000_000_000, -1])


@st.composite
def timestamp(draw: Any, clean: bool) -> bytes:
    s = draw(SECONDS if clean else st.one_of(SECONDS, ODD_SECONDS))
    ns = draw(NANOS if clean else st.one_of(NANOS, ODD_NANOS))
    pieces = [field(1, 0, s, draw(st.integers(0, 2))), field(2, 0, ns, draw(st.integers(0, 1)))]
    pieces += draw(st.lists(unknown, max_size=1))
    return b"".join(draw(st.permutations(pieces)))


@st.composite
def part_bytes(draw: Any) -> bytes:
    pieces = [
        field(1, 2, draw(text).encode()),
        field(2, 2, draw(text).encode()),
        field(3, 2, draw(text).encode()),
        field(4, 0, draw(st.sampled_from([1, 1, 2, 0, -3, 2**31 - 1]))),
    ]
    pieces = draw(st.lists(st.sampled_from(pieces), max_size=6))  # some absent, some twice
    pieces += draw(st.lists(unknown, max_size=1))
    return b"".join(pieces)


@st.composite
def message(draw: Any, clean: bool) -> bytes:
    pieces = [
        field(1, 2, draw(st.sampled_from(["L1", "L2", "", "Lé"])).encode()),
        field(2, 0, draw(st.one_of(st.integers(1, 50), st.just(U64))), draw(st.integers(0, 1))),
        field(3, 0, draw(st.sampled_from([1, 1, 1, 2, 3, 4, 5, 6, 0, -1, 99]))),
        field(4, 2, draw(text).encode()),
    ]
    if draw(st.booleans()):
        seq = st.integers(-5, 10**6)
        pieces.append(
            field(5, 0, draw(seq if clean else st.one_of(seq, st.sampled_from([-(2**63), 2**63 - 1]))))
        )
    if draw(st.booleans()):
        pieces.append(field(6, 2, draw(text).encode()))
    for no in (7, 8):
        for _ in range(draw(st.integers(0, 2))):  # absent, once, or in two pieces that merge
            pieces.append(field(no, 2, draw(timestamp(clean))))
    pieces += [field(9, 2, p) for p in draw(st.lists(part_bytes(), max_size=3))]
    if draw(st.booleans()):  # a singular field again: the last one counts
        pieces.append(field(1, 2, b"L2"))
    pieces += draw(st.lists(unknown, max_size=2))
    return b"".join(draw(st.permutations(pieces)))


@st.composite
def batch(draw: Any, clean: bool = False) -> bytes:
    """``clean``: only values the object path takes into columns (the encodings still odd)."""
    size = draw(st.integers(bulk.MIN_RUN, bulk.MIN_RUN + 6))
    msgs = [field(1, 2, draw(message(clean))) for _ in range(size)]
    return b"".join(msgs + draw(st.lists(unknown, max_size=2)))


def object_path(raw: bytes) -> PackedBroadcasts | None:
    """What PublishBatch does without the decoder: each message converted, then packed
    (None where it would not pack: a refused conversion, or values without columns)."""
    request = broadcast_pb2.PublishBatchRequest.FromString(raw)
    try:
        messages = [convert.broadcast_in(m) for m in request.broadcasts]
    except DomainError:
        return None
    return PackedBroadcasts.of(messages)


def same(found: PackedBroadcasts | None, expected: PackedBroadcasts | None) -> None:
    assert (found is None) == (expected is None), "the decoder leaves exactly what the object path refuses"
    if found is None or expected is None:
        return
    assert len(found) == len(expected)
    for i in range(len(found)):
        assert found.message(i) == expected.message(i)
    assert (found.digests() == expected.digests()).all()


@settings(max_examples=100)
@given(batch(clean=True))
def test_the_decoder_gives_the_object_paths_messages(raw: bytes) -> None:
    expected = object_path(raw)
    assert expected is not None  # the strategy's "clean"
    same(wire.batch_columns(raw), expected)


@settings(max_examples=100)
@given(batch())
def test_the_decoder_leaves_to_the_object_path_what_it_refuses(raw: bytes) -> None:
    same(wire.batch_columns(raw), object_path(raw))


@pytest.mark.parametrize(
    "raw",
    [
        field(1, 2, b"\x0a") ,  # a truncated length
        field(1, 3, b""),  # a group
        field(1, 2, field(2, 2, b"x")) * bulk.MIN_RUN,  # call_no as a string
        field(1, 2, field(9, 2, field(4, 2, b"x"))) * bulk.MIN_RUN,  # quantity as a string
        field(1, 0, 5) * bulk.MIN_RUN,  # messages as varints
    ],
)  # fmt: skip
def test_what_the_decoder_does_not_handle_goes_to_the_object_path(raw: bytes) -> None:
    assert wire.batch_columns(raw) is None


def test_publish_batch_through_the_decoder_answers_as_the_object_path(client: Client) -> None:
    """Two equal batches on two lines, one big enough for the decoder (and so for columns)
    and the same messages sent one by one: the same dispositions, refusals and codes."""
    for line in ("WIRE1", "WIRE2"):
        configure_line(client, line)

    def msgs(line: str) -> list[broadcast_pb2.Broadcast]:
        out = [bc(line, k + 1, ADD, f"{line}-V{k}", k, [part("G", f"P{k % 3}", "S")]) for k in range(40)]
        out[5].parts[0].quantity = 0  # refused: quantity
        out[9].vehicle_id = f"{line}-V3"  # refused: an ADD of a vehicle already known
        out[12].call_no = 3  # a conflicting re-send of call 3
        return out

    big = client.broadcast.PublishBatch(
        broadcast_pb2.PublishBatchRequest(broadcasts=msgs("WIRE1")), timeout=30
    )
    one_by_one = []
    for m in msgs("WIRE2"):
        try:
            r = client.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=10)
            one_by_one.append((r.disposition, 0))
        except grpc.RpcError as exc:
            one_by_one.append((broadcast_pb2.DISPOSITION_REJECTED, exc.code().value[0]))
    assert [(r.disposition, r.code) for r in big.results] == one_by_one
    assert [r.call_no for r in big.results] == [m.call_no for m in msgs("WIRE1")]
    assert {r.line_id for r in big.results} == {"WIRE1"}
    assert (big.applied, big.duplicates, big.rejected) == (37, 0, 3)
    assert "quantity" in big.results[5].field
