"""SPEC.md 5, standard interfaces: EDIFACT DELJIT in, DESADV out, through the CLI and gRPC.

Fixtures in tests/fixtures are hand-written interchanges for this project: several
vehicles, a change and a cancellation, release characters, custom UNA delimiters.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st
from pydifact.parser import Parser

from jis.engine.model import Action
from jis.interop.edifact import ACTION_NAMES, EdiError, read_deljit, read_desadv_racks
from jis.v1 import broadcast_pb2, interop_pb2, lines_pb2, sequence_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.factories import ADD, CANCEL, CHANGE, bc, part
from tests.serverproc import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DAY = (FIXTURES / "deljit_day.edi").read_bytes()
OEM = (FIXTURES / "deljit_oem_groups.edi").read_bytes()


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
        # (one RFF+AAN left: in the header it is the call number of every group)
        ("SEQ+3'\n|SEQ+2'\nRFF+AAN:5'\n|UNT+15+M2'", "||UNT+12+M2'", 40, "SEQ", "no SEQ group"),
        ("DTM+137:202611240610:203'", "DTM+137:202613400610:203'", 31, "DTM", "bad date '202613400610'"),
        ("UNT+15+M2'", "UNT+15+MX'", 43, "UNT", "UNT reference 'MX' differs from UNH's 'M2'"),
        (
            "UNH+M2+DELJIT:D:97A:UN'",
            "UNH+M2+DELJIT:D:01B:UN'",
            29,
            "UNH",
            "is not DELJIT D.96A, D.97A or D.04B",
        ),
        # A fraction of a part is not a quantity.
        ("QTY+113:1'\nSEQ+2'", "QTY+113:1.5'\nSEQ+2'", 39, "QTY", "quantity '1.5' is not a whole number"),
        # No silent last-one-wins: a second call number, a second need time, a LIN-level
        # vehicle other than the SEQ's.
        ("RFF+AAN:4'|UNT+15+M2'", "RFF+AAN:4'\nRFF+AAN:6'|UNT+16+M2'", 36, "RFF", "second RFF+AAN"),
        (
            "RFF+AAN:4'|UNT+15+M2'",
            "RFF+AAN:4'\nDTM+2:202611240900:203'\nDTM+2:202611240901:203'|UNT+17+M2'",
            37,
            "DTM",
            "second DTM+2",
        ),
        (
            "QTY+113:1'\nSEQ+2'|UNT+15+M2'",
            "QTY+113:1'\nGIR+1+WVW-EDI-0009:VV'\nSEQ+2'|UNT+16+M2'",
            40,
            "GIR",
            "GIR vehicle WVW-E3-0009:VV at LIN level differs from the SEQ group's 'WVW-E3-0002'",
        ),
        # No line anywhere: refused here, at the message's end, not as broadcasts without one.
        ("LOC+11+EDI1'\nSEQ+3'|UNT+15+M2'", "SEQ+3'|UNT+14+M2'", 42, "LOC", "no LOC+11"),
        # A line in one group only, none in the header: the group without one is named.
        ("LOC+11+EDI1'\nSEQ+3'|SEQ+2'", "SEQ+3'|SEQ+2'\nLOC+11+EDI1'", 33, "LOC", "SEQ group without LOC+11"),
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
        # Functional groups: UNE closes its UNG with the message count and the same
        # reference; UNZ then counts groups; messages are all in groups or none is.
        (OEM.replace(b"UNE+2+FG1", b"UNE+3+FG1"), "UNE counts '3' messages, the group has 2"),
        (OEM.replace(b"UNE+2+FG1", b"UNE+2+FG9"), "UNE group reference 'FG9' differs from UNG's 'FG1'"),
        (OEM.replace(b"UNE+1+FG2'", b""), "functional group without UNE"),
        (OEM.replace(b"UNE+2+FG1'", b""), "functional group inside a functional group"),
        (
            OEM.replace(b"UNZ+2+IC0003", b"UNZ+3+IC0003"),
            "UNZ counts '3' functional groups, the interchange has 2",
        ),
        (
            OEM.replace(b"UNG+DELJIT+OEMPLANT2:ZZ+SEATCO:ZZ+261124:0702+FG2+UN+D:97A'\n", b""),
            "message outside a functional group",
        ),
        (DAY.replace(b"UNZ+2+IC0001'", b"UNE+1+FG1'\nUNZ+2+IC0001'"), "UNE without UNG"),
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


def test_deljit_as_oems_send_it_functional_groups_decimal_quantities_padded_counts_header_call_no(
    client: Client,
) -> None:
    """deljit_oem_groups.edi: two functional groups (UNG/UNE, counted by UNZ); UNT counts
    with leading zeros; QTY 1.000 and 2.0; RFF+AAN in a message header, the call number of
    its groups without their own; a LIN-level GIR that repeats the SEQ's vehicle."""
    configure(client, "EDI5")
    reply = client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=OEM), timeout=10)
    assert reply.interchange_reference == "IC0003" and reply.messages_refused == 0
    assert [(m.reference, [r.call_no for r in m.results]) for m in reply.messages] == [
        ("G1M1", [1]),
        ("G1M2", [2]),
        ("G2M1", [3, 4]),  # 3 from the header, 4 the group's own
    ]
    assert (reply.applied, reply.duplicates, reply.rejected) == (4, 0, 0)
    first, second = (
        client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=v), timeout=10)
        for v in ("WVW-G-0001", "WVW-G-0002")
    )
    assert (first.state, first.parts[0].quantity) == (3, 1)  # cancelled by call 3
    assert (second.state, second.parts[0].quantity) == (2, 2)  # pulled by call 4


def test_a_header_call_number_applies_only_once_per_message_header() -> None:
    data = OEM.replace(b"RFF+AAN:3'", b"RFF+AAN:3'\nRFF+AAN:5'").replace(b"UNT+0011+G2M1", b"UNT+0012+G2M1")
    _, messages = read_deljit(data)
    error = messages[2].error
    assert error is not None and (error.position, error.tag) == (37, "RFF")  # UNA not counted
    assert "second RFF+AAN (call number) in the message header" in str(error)


def desadv_setup(c: Client, line_id: str, supplier_id: str, rack_id: str) -> None:
    configure(c, line_id)
    c.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id=supplier_id, lead_time=Duration(seconds=3600)),
        timeout=10,
    )
    c.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id=rack_id,
            supplier_id=supplier_id,
            group="FRONT_SEATS",
            line_id=line_id,
            capacity=2,
            slots=[supply_pb2.RackSlot(vehicle_id="V-1", part_number="S-BLK")],
            eta=ts("2030-01-01T08:00:00Z"),
        ),
        timeout=10,
    )


def control_references(interchange: bytes) -> tuple[str, str, str]:
    """UNB 0020, UNZ 0020 and the first BGM document number, as pydifact reads them."""
    with warnings.catch_warnings():  # pydifact has no directory XML for D.04B: it warns
        warnings.simplefilter("ignore")
        parsed = list(Parser().parse(interchange.decode()))
    segs = {s.tag: s for s in parsed if s.tag in ("UNB", "UNZ", "BGM")}
    return str(segs["UNB"].elements[4]), str(segs["UNZ"].elements[1]), str(segs["BGM"].elements[1])


def test_desadv_references_fit_an_14_and_stay_unique_across_exports_and_restarts(tmp_path: Path) -> None:
    # On the test clock, engine time stands still: references once repeated at the same time.
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        c = connect(proc.address)
        desadv_setup(c, "EDI6", "SEATCO", "R-6")
        seen: list[str] = []

        def export() -> None:
            reply = c.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(rack_ids=["R-6"]), timeout=10)
            unb, unz, bgm = control_references(reply.interchange)
            assert unb == unz == reply.reference and len(reply.reference) <= 14
            assert bgm == f"{reply.reference}-1"
            assert reply.reference not in seen
            seen.append(reply.reference)

        export()
        export()
        c.channel.close()
        proc.kill9()  # the numbers come back from the log
        proc.restart()
        c = connect(proc.address)
        export()
        c.channel.close()
        proc.stop()  # a clean stop snapshots: the number comes back from the snapshot
        proc.restart()
        c = connect(proc.address)
        export()
        assert seen == ["DA000000000001", "DA000000000002", "DA000000000003", "DA000000000004"]
        c.channel.close()
    finally:
        proc.stop_if_running()


def test_desadv_refuses_a_default_sender_longer_than_unb_allows(client: Client) -> None:
    long_supplier = "S" * 36  # a valid supplier id, but UNB 0004 is an..35
    desadv_setup(client, "EDI7", long_supplier, "R-7")
    with pytest.raises(grpc.RpcError) as err:
        client.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(rack_ids=["R-7"]), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("sender") and "longer than 35" in err.value.details()
    reply = client.interop.ExportDesadv(
        interop_pb2.ExportDesadvRequest(rack_ids=["R-7"], sender="SEATCO-PLANT-2"), timeout=10
    )
    assert b"UNB+UNOC:3+SEATCO-PLANT-2+JIS+" in reply.interchange


@pytest.mark.parametrize(
    ("pia", "part_number", "refused"),
    [
        ("PIA+5+BUY-9:BP+S-BLK?:LEATHER:SA'", "S-BLK:LEATHER", ""),  # the supplier's number wins
        ("PIA+5+BUY-9:BP'", "BUY-9", ""),  # else the buyer's
        ("PIA+1+PLAIN'", "PLAIN", ""),  # else one without a type
        ("PIA+1+S-BLK?:LEATHER:SA+OTHER:SA'", "", "two part numbers of one kind (SA)"),
        ("PIA+1+ZZ-1:XX'", "", "LIN without PIA part number"),  # a type that is no part number
    ],
)
def test_pia_qualifiers_pick_the_supplier_article_number_by_rule(
    pia: str, part_number: str, refused: str
) -> None:
    """The last PIA used to win, whatever it carried."""
    data = DAY.decode().replace("PIA+1+S-BLK?:LEATHER:SA'", pia, 1).encode()
    _, messages = read_deljit(data)
    first = messages[0]
    if refused:
        assert first.error is not None and first.error.tag == "PIA" and refused in str(first.error)
    else:
        assert first.error is None, first.error
        assert first.broadcasts[0].parts[0].part_number == part_number


def test_a_later_pia_of_a_better_kind_replaces_an_earlier_one() -> None:
    data = DAY.decode().replace("PIA+1+S-BLK?:LEATHER:SA'", "PIA+1+PLAIN'", 1)
    data = data.replace("PIA+1+PLAIN'", "PIA+1+PLAIN'\nPIA+5+S-BLK:SA'", 1).replace("UNT+27+M1", "UNT+28+M1")
    _, messages = read_deljit(data.encode())
    assert messages[0].error is None, messages[0].error
    assert messages[0].broadcasts[0].parts[0].part_number == "S-BLK"


def test_action_code_files_name_every_action_of_the_engine_in_the_standard_codes_order() -> None:
    assert {a.name.lower(): a for a in Action} == ACTION_NAMES
    assert list(ACTION_NAMES) == ["add", "cancel", "change", "pull", "reinsert", "installed"]
