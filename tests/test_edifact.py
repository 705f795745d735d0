"""SPEC.md 5, standard interfaces: EDIFACT DELJIT in, DESADV out, through the CLI and gRPC.

Fixtures in tests/fixtures are hand-written interchanges for this project: several
vehicles, a change and a cancellation, release characters, custom UNA delimiters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from jis.interop.edifact import EdiError, read_deljit, read_desadv_racks
from jis.v1 import broadcast_pb2, interop_pb2, lines_pb2, sequence_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.factories import ADD, CANCEL, CHANGE, bc, part
from tests.serverproc import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = (FIXTURES / "deljit_day.edi").read_bytes()


def jis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jis", *args], capture_output=True, text=True, timeout=60)


def configure(c: Client, line_id: str) -> None:
    c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=line_id, takt=Duration(seconds=60), heartbeat=Duration(seconds=86400)
        ),
        timeout=10,
    )


def ts(text: str) -> Timestamp:
    t = Timestamp()
    t.FromJsonString(text)
    return t


def equivalent_broadcasts() -> list[broadcast_pb2.Broadcast]:
    """deljit_day.edi, written as the gRPC broadcasts it stands for (worked out by hand
    from the mapping table: SEQ action and seq_no, RFF+AAN call number, GIR vehicle, DTM+2
    need time, DTM+137 event time, LOC+11 line, LIN group, PIA variant, QTY, NAD+SE supplier)."""
    out = []
    m1_time, m2_time = ts("2026-11-24T05:55:00Z"), ts("2026-11-24T06:10:00Z")
    for call, (vehicle, seq_no, need, variant, qty) in enumerate(
        [
            ("WVW-EDI-0001", 101, "2026-11-24T09:00:00Z", "S-BLK:LEATHER", 1),
            ("WVW-EDI-0002", 102, "2026-11-24T09:01:00Z", "S-GRY", 2),
            ("WVW-EDI-0003", 103, "2026-11-24T09:02:00Z", "S-TAN+PLUS", 1),
        ],
        start=1,
    ):
        m = bc(
            "EDI1", call, ADD, vehicle, seq_no, [part("FRONT_SEATS", variant, "SEATCO", qty)], need_time=need
        )
        m.event_time.CopyFrom(m1_time)
        out.append(m)
    change = bc("EDI1", 4, CHANGE, "WVW-EDI-0002", None, [part("FRONT_SEATS", "S-BLK:LEATHER", "SEATCO", 1)])
    cancel = bc("EDI1", 5, CANCEL, "WVW-EDI-0003")
    for m in (change, cancel):
        m.event_time.CopyFrom(m2_time)
        out.append(m)
    return out


def state(c: Client) -> list[bytes]:
    seq = c.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id="EDI1", page_size=100), timeout=10)
    vehicles = [
        c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=f"WVW-EDI-000{i}"), timeout=10)
        for i in (1, 2, 3)
    ]
    line = c.lines.GetLine(lines_pb2.GetLineRequest(line_id="EDI1"), timeout=10)
    line.ClearField("configured_at")
    line.ClearField("last_broadcast_at")
    return [m.SerializeToString(deterministic=True) for m in (seq, *vehicles, line)]


def test_a_deljit_file_imported_by_the_cli_gives_the_same_sequence_as_the_grpc_broadcasts(
    tmp_path: Path,
) -> None:
    via_edi = ServerProcess(tmp_path / "edi").start()
    via_grpc = ServerProcess(tmp_path / "grpc").start()
    try:
        a, b = connect(via_edi.address), connect(via_grpc.address)
        configure(a, "EDI1")
        configure(b, "EDI1")
        r = jis("deljit", "import", str(FIXTURES / "deljit_day.edi"), "--server", via_edi.address)
        assert r.returncode == 0, r.stderr
        assert "interchange IC0001: 5 applied, 0 duplicate(s), 0 rejected, 0 message(s) refused" in r.stdout
        for m in equivalent_broadcasts():
            b.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=10)
        assert state(a) == state(b)
        seq = a.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id="EDI1"), timeout=10).vehicles
        assert [(v.vehicle_id, v.parts[0].part_number) for v in seq] == [
            ("WVW-EDI-0001", "S-BLK:LEATHER"),
            ("WVW-EDI-0002", "S-BLK:LEATHER"),
        ]
        # The same interchange again: every broadcast is a duplicate.
        again = a.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=DAY), timeout=10)
        assert (again.applied, again.duplicates, again.rejected) == (0, 5, 0)
    finally:
        via_edi.stop()
        via_grpc.stop()


def test_custom_una_delimiters_and_release_characters(client: Client) -> None:
    configure(client, "EDI2")
    data = (FIXTURES / "deljit_custom_una.edi").read_bytes()
    reply = client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=data), timeout=10)
    assert reply.interchange_reference == "IC0002" and reply.applied == 2
    v = client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="PN-7788"), timeout=10)
    assert v.state == 2  # pulled by the second SEQ group (ZP)
    assert v.parts[0].part_number == "C-NAV*HUD" and v.parts[0].supplier_id == "DASHCO"
    assert v.need_time.ToJsonString() == "2026-11-24T00:00:00Z"  # format 102: a date


def broken(old: str, new: str) -> bytes:
    text = DAY.decode()
    for o, n in zip(old.split("|"), new.split("|"), strict=True):  # "|" separates several edits
        assert o in text
        text = text.replace(o, n, 1)
    return text.replace("EDI1", "EDI3").replace("WVW-EDI", "WVW-E3").encode()


@pytest.mark.parametrize(
    ("old", "new", "position", "tag", "words"),
    [
        ("UNT+15+M2'", "UNT+14+M2'", 43, "UNT", "UNT counts '14' segments, the message has 15"),
        ("SEQ+3'\n|SEQ+2'\n|UNT+15+M2'", "||UNT+13+M2'", 41, "SEQ", "no SEQ group"),
        ("DTM+137:202611240610:203'", "DTM+137:202613400610:203'", 31, "DTM", "bad date '202613400610'"),
        ("UNT+15+M2'", "UNT+15+MX'", 43, "UNT", "UNT reference 'MX' differs from UNH's 'M2'"),
        (
            "UNH+M2+DELJIT:D:97A:UN'",
            "UNH+M2+DELJIT:D:01B:UN'",
            29,
            "UNH",
            "is not DELJIT D.96A, D.97A or D.04B",
        ),
    ],
)
def test_a_malformed_message_is_refused_alone_naming_the_segment(
    client: Client, old: str, new: str, position: int, tag: str, words: str
) -> None:
    configure_once(client, "EDI3")
    reply = client.interop.ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=broken(old, new)), timeout=10
    )
    m1, m2 = reply.messages
    assert m1.accepted and [r.call_no for r in m1.results] == [1, 2, 3]
    assert not m2.accepted and not m2.results
    assert (m2.segment_position, m2.segment_tag) == (position, tag)
    assert words in m2.error and f"message M2, segment {position} ({tag})" in m2.error
    assert reply.messages_refused == 1


_configured: set[str] = set()


def configure_once(c: Client, line_id: str) -> None:
    if line_id not in _configured:
        configure(c, line_id)
        _configured.add(line_id)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (DAY.replace(b"UNZ+2+IC0001", b"UNZ+2+IC9999"), "UNZ control reference 'IC9999' differs"),
        (DAY.replace(b"UNZ+2+IC0001", b"UNZ+3+IC0001"), "UNZ counts '3' messages, the interchange has 2"),
        (b"this is not edifact", "not an EDIFACT interchange"),
        (b"UNH+1+DELJIT:D:04B:UN'UNT+2+1'", "starts with UNB"),
        (DAY.replace(b"UNZ+2+IC0001'", b""), "ends with UNZ"),
    ],
)
def test_a_broken_envelope_refuses_the_interchange(client: Client, data: bytes, words: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=data), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "interchange" in err.value.details() and words in err.value.details()


def test_desadv_parses_back_with_pydifact_to_the_same_racks(
    client: Client, server: ServerProcess, tmp_path: Path
) -> None:
    configure(client, "EDI4")
    client.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SEAT?CO", lead_time=Duration(seconds=3600)),
        timeout=10,
    )
    racks = {
        "R+1": [("V:1", "S'BLK"), ("V:2", "S-GRY")],
        "R-2": [("V:3", "S-TAN"), ("V:5", "S?BLK"), ("V:4", "S-GRY")],
    }
    for rack_id, slots in racks.items():
        client.supply.DispatchRack(
            supply_pb2.DispatchRackRequest(
                rack_id=rack_id,
                supplier_id="SEAT?CO",
                group="FRONT_SEATS",
                line_id="EDI4",
                capacity=4,
                slots=[supply_pb2.RackSlot(vehicle_id=v, part_number=p) for v, p in slots],
                eta=ts("2030-01-01T08:00:00Z"),
            ),
            timeout=10,
        )
    reply = client.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(rack_ids=list(racks)), timeout=10)
    assert dict(read_desadv_racks(reply.interchange)) == racks
    text = reply.interchange.decode()
    assert text.startswith("UNA") and "DESADV:D:04B:UN" in text and "GIN+ML+R?+1'" in text
    out = tmp_path / "desadv.edi"
    r = jis("desadv", "R-2", "--server", server.address, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert dict(read_desadv_racks(out.read_bytes())) == {"R-2": racks["R-2"]}
    r = jis("desadv", "R-2", "--server", server.address, "--json")
    as_json = json.loads(r.stdout)  # --json changes the output: the reference beside the interchange
    assert as_json["racks"] == 1 and as_json["reference"] and as_json["interchange"].startswith("UNA")
    with pytest.raises(grpc.RpcError) as err:
        client.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(rack_ids=["NO-SUCH-RACK"]), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "rack_id" in err.value.details()


@settings(max_examples=400)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.integers(0, len(DAY)).map(lambda n: DAY[:n]),
        st.tuples(st.integers(0, len(DAY) - 1), st.binary(min_size=1, max_size=4)).map(
            lambda t: DAY[: t[0]] + t[1] + DAY[t[0] + len(t[1]) :]
        ),
        st.tuples(st.integers(0, len(DAY) - 1), st.integers(1, 40)).map(
            lambda t: DAY[: t[0]] + DAY[t[0] + t[1] :]
        ),
    )
)
def test_damaged_interchanges_give_an_edifact_error_or_messages_never_a_crash(data: bytes) -> None:
    try:
        _, messages = read_deljit(data)
    except EdiError as exc:
        assert str(exc)
        return
    for m in messages:
        assert m.error is None or (m.error.tag and m.error.position > 0)
