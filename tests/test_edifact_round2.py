"""Issue 22, EDIFACT round two: DESADV linked to the call-off (RFF+AAN, optionally the
seq_no) and one DESADV per truck (CPS truck -> rack -> slot); DELJIT call numbers from BGM
1004; senders' own SEQ action codes from a file the server loads at start.

Each test talks to a real server over gRPC or runs the real `jis` CLI, on interchanges
written for it in tests/fixtures (deljit_truck.edi, deljit_bgm_call_no.edi,
deljit_own_action_codes.edi with action_codes.toml).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from pydifact.parser import Parser
from pydifact.segments import Segment

from jis.api.auth import token_sha256
from jis.interop.edifact import read_desadv_racks
from jis.v1 import common_pb2, dock_pb2, interop_pb2, lines_pb2, sequence_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.serverproc import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TRUCK = (FIXTURES / "deljit_truck.edi").read_bytes()
BGM = (FIXTURES / "deljit_bgm_call_no.edi").read_bytes()
OWN = (FIXTURES / "deljit_own_action_codes.edi").read_bytes()
ACTION_CODES = FIXTURES / "action_codes.toml"


def jis(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jis", *args], capture_output=True, text=True, timeout=60, env=env
    )


def ts(text: str) -> Timestamp:
    t = Timestamp()
    t.FromJsonString(text)
    return t


def configure(c: Client, line_id: str, *, metadata: Any = None) -> None:
    c.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=line_id, takt=Duration(seconds=60), heartbeat=Duration(seconds=86400)
        ),
        timeout=10,
        metadata=metadata,
    )


def segments(interchange: bytes) -> list[Segment]:
    """The interchange as pydifact reads it (UNA left out)."""
    with warnings.catch_warnings():  # pydifact has no directory XML for D.04B: it warns
        warnings.simplefilter("ignore")
        return [s for s in Parser().parse(interchange.decode()) if s.tag != "UNA"]


def el(seg: Segment, i: int, j: int = 0) -> str:
    e = seg.elements[i] if i < len(seg.elements) else ""
    if isinstance(e, list):
        return str(e[j]) if j < len(e) else ""
    return str(e) if j == 0 else ""


# -- DESADV: call numbers, seq_no, one message per truck -----------------------------------


def dispatch(c: Client, rack_id: str, line_id: str, vehicles: list[tuple[str, str]], **kw: Any) -> None:
    c.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id=rack_id,
            supplier_id="SEATCO",
            group="FRONT_SEATS",
            line_id=line_id,
            capacity=4,
            slots=[supply_pb2.RackSlot(vehicle_id=v, part_number=p) for v, p in vehicles],
            eta=ts("2030-01-01T08:00:00Z"),
        ),
        timeout=10,
        **kw,
    )


def book(c: Client, appointment_id: str, door: str, rack_ids: list[str], **kw: Any) -> None:
    c.dock.BookAppointment(
        dock_pb2.AppointmentSpec(
            appointment_id=appointment_id,
            door=door,
            window_start=ts("2030-01-01T07:30:00Z"),
            window_end=ts("2030-01-01T08:00:00Z"),
            carrier="TRUCK?CO",
            trailer="TR+7",
            supplier_id="SEATCO",
            rack_ids=rack_ids,
        ),
        timeout=10,
        **kw,
    )


RACKS = {
    "R-T1": [("WVW-T-0001", "S-BLK"), ("WVW-T-0002", "S-BLK")],
    # WVW-T-0003 is installed (call 15: no seq_no any more); WVW-T-0099 was never broadcast
    "R-T2": [("WVW-T-0003", "S-TAN"), ("WVW-T-0099", "S-GRY")],
}
CALLS = {"WVW-T-0001": (11, 301), "WVW-T-0002": (14, 302), "WVW-T-0003": (15, None)}
"""deljit_truck.edi worked out by hand: each vehicle's last call and its seq_no (none once
installed)."""


@pytest.fixture(scope="module")
def truck(client: Client) -> str:
    """deljit_truck.edi imported on line TRK1, racks R-T1 and R-T2 dispatched and booked on
    appointment A-TRK (carrier TRUCK?CO, trailer TR+7)."""
    configure(client, "TRK1")
    client.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SEATCO", lead_time=Duration(seconds=3600)),
        timeout=10,
    )
    reply = client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=TRUCK), timeout=10)
    assert (reply.applied, reply.rejected, reply.messages_refused) == (5, 0, 0), reply
    for rack_id, vehicles in RACKS.items():
        dispatch(client, rack_id, "TRK1", vehicles)
    book(client, "A-TRK", "D-TRK", list(RACKS))
    return "A-TRK"


def lin_groups(segs: list[Segment]) -> list[dict[str, str]]:
    """Each LIN group's fields, read from pydifact's segments: vehicle, part, call number,
    seq_no (the RFF+AAN line number) and line (LOC+11 inside the group)."""
    out: list[dict[str, str]] = []
    for s in segs:
        if s.tag == "LIN":
            out.append({"position": el(s, 0)})
        elif out and s.tag == "PIA":
            out[-1]["part"] = el(s, 1, 0)
        elif out and s.tag == "GIR":
            out[-1]["vehicle"] = el(s, 1, 0)
        elif out and s.tag == "RFF" and el(s, 0, 0) == "AAN":
            out[-1]["call_no"], out[-1]["seq_no"] = el(s, 0, 1), el(s, 0, 2)
        elif out and s.tag == "LOC":
            out[-1]["line"] = el(s, 1)
        elif s.tag in ("CPS", "UNT"):
            out.append({"end": s.tag})  # a LIN group ends at the next package or message end
    return [g for g in out if "end" not in g]


def test_desadv_per_rack_links_each_slot_to_its_call_with_rff_aan(client: Client, truck: str) -> None:
    reply = client.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(rack_ids=list(RACKS)), timeout=10)
    assert reply.racks == 2
    segs = segments(reply.interchange)
    assert [s.tag for s in segs].count("UNH") == 2  # one message per rack, as before
    slots = lin_groups(segs)
    assert [(g["vehicle"], g.get("call_no", ""), g.get("seq_no", "")) for g in slots] == [
        ("WVW-T-0001", "11", ""),
        ("WVW-T-0002", "14", ""),  # its last applied call: the change, not the add
        ("WVW-T-0003", "15", ""),
        ("WVW-T-0099", "", ""),  # never broadcast: no call to name
    ]
    # The call numbers are the engine's own: each vehicle's last_call_no.
    for g in slots[:3]:
        v = client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=g["vehicle"]), timeout=10)
        assert str(v.last_call_no) == g["call_no"]
    # With include_seq_no the RFF carries the vehicle's seq_no as its line number, where it has one.
    reply = client.interop.ExportDesadv(
        interop_pb2.ExportDesadvRequest(rack_ids=["R-T1", "R-T2"], include_seq_no=True), timeout=10
    )
    assert [
        (g["vehicle"], g.get("call_no", ""), g.get("seq_no", ""))
        for g in lin_groups(segments(reply.interchange))
    ] == [
        ("WVW-T-0001", "11", "301"),
        ("WVW-T-0002", "14", "302"),
        ("WVW-T-0003", "15", ""),  # installed: no longer in the sequence
        ("WVW-T-0099", "", ""),
    ]
    assert b"RFF+AAN:11:301'" in reply.interchange


def test_one_desadv_per_truck_round_trips_through_pydifact_to_its_fields(client: Client, truck: str) -> None:
    reply = client.interop.ExportDesadv(
        interop_pb2.ExportDesadvRequest(appointment_id=truck, include_seq_no=True), timeout=10
    )
    assert reply.racks == 2 and len(reply.reference) <= 14
    segs = segments(reply.interchange)
    tags = [s.tag for s in segs]
    assert tags.count("UNH") == 1 and tags.count("BGM") == 1  # one message for the truck
    by_tag: dict[str, list[Segment]] = {}
    for s in segs:
        by_tag.setdefault(s.tag, []).append(s)
    unb, unz, unt = by_tag["UNB"][0], by_tag["UNZ"][0], by_tag["UNT"][0]
    assert el(unb, 4) == el(unz, 1) == reply.reference and el(unz, 0) == "1"
    assert el(unb, 1) == "SEATCO" and el(unb, 2) == "JIS"
    assert int(el(unt, 0)) == tags.index("UNT") - tags.index("UNH") + 1
    assert el(by_tag["UNH"][0], 1, 0) == "DESADV" and el(by_tag["BGM"][0], 1) == f"{reply.reference}-1"
    dates = {el(s, 0, 0): el(s, 0, 1) for s in by_tag["DTM"]}
    assert dates["132"] == "203001010800"  # the racks' estimated arrival
    header_refs = [s for s in by_tag["RFF"] if el(s, 0, 0) == "ZZZ"]
    assert [el(s, 0, 1) for s in header_refs] == ["A-TRK"]  # the appointment: the truck
    parties = {el(s, 0): el(s, 1, 0) for s in by_tag["NAD"]}
    assert parties == {"SE": "SEATCO", "CA": "TRUCK?CO"}  # release characters undone
    assert [el(s, 1) for s in by_tag["EQD"]] == ["TR+7"]
    assert [el(s, 1) for s in by_tag["LOC"]] == ["TRK1"]  # one line: in the header only

    # The CPS hierarchy: the truck (1, no parent), then each rack (its own id, parent 1)
    # carrying its slots, rack by rack in booking order.
    tree: dict[str, Any] = {}
    packages: dict[str, str] = {}
    current = ""
    for s in segs:
        if s.tag == "CPS":
            current, parent = el(s, 0), el(s, 1)
            packages[current] = parent
        elif s.tag == "GIN":
            tree[el(s, 1)] = {"cps": current, "parent": packages[current], "slots": []}
        elif s.tag == "LIN":
            rack = next(r for r, v in tree.items() if v["cps"] == current)
            tree[rack]["slots"].append({})
        elif s.tag in ("PIA", "GIR", "RFF") and tree and tree[list(tree)[-1]]["slots"]:
            slot = tree[list(tree)[-1]]["slots"][-1]
            if s.tag == "PIA":
                slot["part"] = el(s, 1, 0)
            elif s.tag == "GIR":
                slot["vehicle"] = el(s, 1, 0)
            elif el(s, 0, 0) == "AAN":
                slot["call_no"] = int(el(s, 0, 1))
                slot["seq_no"] = int(el(s, 0, 2)) if el(s, 0, 2) else None
    assert packages == {"1": "", "2": "1", "3": "1"}
    assert {r: (v["cps"], v["parent"]) for r, v in tree.items()} == {"R-T1": ("2", "1"), "R-T2": ("3", "1")}
    expected = {
        rack_id: [
            {"vehicle": v, "part": p, **dict(zip(("call_no", "seq_no"), CALLS[v], strict=True))}
            if v in CALLS
            else {"vehicle": v, "part": p}
            for v, p in vehicles
        ]
        for rack_id, vehicles in RACKS.items()
    }
    assert {r: v["slots"] for r, v in tree.items()} == expected
    # This project's own reader sees the same racks in the truck message.
    assert dict(read_desadv_racks(reply.interchange)) == RACKS


def test_a_truck_with_racks_for_two_lines_names_each_slots_line(client: Client) -> None:
    configure(client, "TRK2")
    configure(client, "TRK3")
    client.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SEATCO", lead_time=Duration(seconds=3600)),
        timeout=10,
    )
    dispatch(client, "R-L2", "TRK2", [("V-L2", "S-BLK")])
    dispatch(client, "R-L3", "TRK3", [("V-L3", "S-GRY"), ("V-L3B", "S-GRY")])
    book(client, "A-TWO", "D-TWO", ["R-L2", "R-L3"])
    reply = client.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(appointment_id="A-TWO"), timeout=10)
    segs = segments(reply.interchange)
    header = segs[: [s.tag for s in segs].index("CPS")]
    assert not [s for s in header if s.tag == "LOC"]  # no single line for the whole truck
    assert [(g["vehicle"], g["line"]) for g in lin_groups(segs)] == [
        ("V-L2", "TRK2"),
        ("V-L3", "TRK3"),
        ("V-L3B", "TRK3"),
    ]


def test_desadv_by_appointment_refuses_what_it_cannot_describe(client: Client, truck: str) -> None:
    def refused(request: interop_pb2.ExportDesadvRequest) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as err:
            client.interop.ExportDesadv(request, timeout=10)
        return err.value

    both = refused(interop_pb2.ExportDesadvRequest(rack_ids=["R-T1"], appointment_id=truck))
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT and both.details().startswith("appointment_id")
    neither = refused(interop_pb2.ExportDesadvRequest())
    assert neither.code() == grpc.StatusCode.INVALID_ARGUMENT and neither.details().startswith("rack_ids")
    unknown = refused(interop_pb2.ExportDesadvRequest(appointment_id="A-NONE"))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND and unknown.details().startswith("appointment_id")
    dispatch(client, "R-CX", "TRK1", [("WVW-T-0001", "S-BLK")])
    book(client, "A-CX", "D-CX", ["R-CX"])
    client.dock.CancelAppointment(dock_pb2.CancelAppointmentRequest(appointment_id="A-CX"), timeout=10)
    cancelled = refused(interop_pb2.ExportDesadvRequest(appointment_id="A-CX"))
    assert cancelled.code() == grpc.StatusCode.FAILED_PRECONDITION and "cancelled" in cancelled.details()
    book(client, "A-EMPTY", "D-EMPTY", [])
    empty = refused(interop_pb2.ExportDesadvRequest(appointment_id="A-EMPTY"))
    assert empty.code() == grpc.StatusCode.FAILED_PRECONDITION and "no racks" in empty.details()
    assert empty.details().startswith("appointment_id")


def test_jis_desadv_by_appointment_through_the_cli(server: ServerProcess, truck: str, tmp_path: Path) -> None:
    out = tmp_path / "truck.edi"
    r = jis("desadv", "--appointment", truck, "--seq-no", "--server", server.address, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("DESADV DA") and "for 2 rack(s) written to" in r.stdout
    data = out.read_bytes()
    assert dict(read_desadv_racks(data)) == RACKS and b"RFF+AAN:14:302'" in data
    assert [s.tag for s in segments(data)].count("UNH") == 1
    r = jis("desadv", "--appointment", truck, "--server", server.address, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["racks"] == 2
    r = jis("desadv", "--server", server.address)  # neither racks nor an appointment
    assert r.returncode == 2 and "--appointment" in r.stderr and "Traceback" not in r.stderr
    r = jis("desadv", "R-T1", "--appointment", truck, "--server", server.address)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_desadv_sender_and_recipient_name_the_unb_parties_by_rpc_and_cli(
    server: ServerProcess, client: Client, truck: str
) -> None:
    reply = client.interop.ExportDesadv(
        interop_pb2.ExportDesadvRequest(rack_ids=["R-T1"], recipient="OEM-PLANT-9"), timeout=10
    )
    unb = segments(reply.interchange)[0]
    assert unb.tag == "UNB" and (el(unb, 1), el(unb, 2)) == ("SEATCO", "OEM-PLANT-9")  # sender: the supplier
    s = ("--server", server.address)
    r = jis("desadv", "--appointment", truck, "--sender", "SEATCO-PLANT-2", "--recipient", "OEM-PLANT-9", *s)
    assert r.returncode == 0, r.stderr
    data = r.stdout.encode()
    unb, *_, unz = segments(data)
    assert unb.tag == "UNB" and (el(unb, 1), el(unb, 2)) == ("SEATCO-PLANT-2", "OEM-PLANT-9")
    assert unz.tag == "UNZ" and el(unz, 1) == el(unb, 4) and dict(read_desadv_racks(data)) == RACKS
    r = jis("desadv", "R-T1", "--recipient", "R" * 36, *s)  # UNB 0010 is an..35
    assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "jis: the server refused: INVALID_ARGUMENT: recipient: longer than 35 characters (EDIFACT UNB)"
    ]


class Bearer(grpc.UnaryUnaryClientInterceptor):
    """Adds a bearer token to every unary call (plaintext on loopback, as the CLI does)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        metadata = [*(details.metadata or []), ("authorization", f"Bearer {self.token}")]
        return continuation(details._replace(metadata=metadata), request)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with credentials (plaintext, loopback): admin, dock, suppliers SEATCO and OTHER."""
    d = tmp_path_factory.mktemp("desadv-auth")
    ids = [
        {"name": n, "role": r, "token_sha256": token_sha256(f"tok-{n}")}
        for n, r in (
            ("admin", "admin"),
            ("dock", "dock"),
            ("seatco", "supplier:SEATCO"),
            ("other", "supplier:OTHER"),
        )
    ]
    (d / "credentials.json").write_text(json.dumps({"identities": ids}))
    proc = ServerProcess(d / "data", "--credentials", str(d / "credentials.json")).start()
    yield proc
    proc.stop()


def as_(proc: ServerProcess, name: str) -> Client:
    return Client(grpc.intercept_channel(grpc.insecure_channel(proc.address), Bearer(f"tok-{name}")))


def test_a_supplier_exports_only_its_own_trucks(secured: ServerProcess) -> None:
    admin, seatco, other, dock = (as_(secured, n) for n in ("admin", "seatco", "other", "dock"))
    configure(admin, "TRK1")
    for supplier in ("SEATCO", "OTHER"):
        admin.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id=supplier, lead_time=Duration(seconds=3600)),
            timeout=10,
        )
    admin.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=TRUCK), timeout=10)
    dispatch(seatco, "R-T1", "TRK1", RACKS["R-T1"])
    book(seatco, "A-TRK", "D-TRK", ["R-T1"])
    mine = seatco.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(appointment_id="A-TRK"), timeout=10)
    assert dict(read_desadv_racks(mine.interchange)) == {"R-T1": RACKS["R-T1"]}
    assert b"RFF+AAN:11'" in mine.interchange
    with pytest.raises(grpc.RpcError) as err:
        other.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(appointment_id="A-TRK"), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.value.details().startswith("appointment_id") and "'OTHER'" in err.value.details()
    assert (
        dock.interop.ExportDesadv(interop_pb2.ExportDesadvRequest(appointment_id="A-TRK"), timeout=10).racks
        == 1
    )
    for c in (admin, seatco, other, dock):
        c.channel.close()


# -- DELJIT: the call number from BGM 1004 -------------------------------------------------


def test_call_number_from_bgm_document_number_through_the_cli_and_the_rpc(
    client: Client, server: ServerProcess, tmp_path: Path
) -> None:
    configure(client, "BGM1")
    # Without the option the call number is RFF+AAN's: message B1 carries 7 (a schedule
    # number, to this OEM), B2 none at all, so it is refused.
    plain = client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=BGM), timeout=10)
    assert [(m.reference, m.accepted, [r.call_no for r in m.results]) for m in plain.messages] == [
        ("B1", True, [7]),
        ("B2", False, []),
    ]
    assert (plain.messages[1].segment_tag, plain.messages[1].segment_position) == ("RFF", 19)
    configure(client, "BGM2")
    data = BGM.replace(b"BGM1", b"BGM2").replace(b"WVW-B", b"WVW-B2")
    (tmp_path / "bgm2.edi").write_bytes(data)
    r = jis("deljit", "import", str(tmp_path / "bgm2.edi"), "--call-no-from-bgm", "--server", server.address)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "interchange IC0011: 2 applied, 0 duplicate(s), 0 rejected, 0 message(s) refused" in r.stdout
    for vehicle, call in (("WVW-B2-0001", 41), ("WVW-B2-0002", 42)):
        v = client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=vehicle), timeout=10)
        assert (v.line_id, v.last_call_no) == ("BGM2", call)
    # Both BGM forms: D.04B's composite (41:::) and D.96A's simple element (42); again, duplicates.
    again = client.interop.ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=data, call_no_from_bgm=True), timeout=10
    )
    assert (again.applied, again.duplicates) == (0, 2)


@pytest.mark.parametrize(
    ("old", "new", "position", "tag", "words"),
    [
        ("BGM+30+42+9'", "BGM+30+DJ-42+9'", 15, "BGM", "BGM document number (the call number) 'DJ-42'"),
        ("BGM+30+42+9'", "BGM+30'", 15, "BGM", "BGM without a document number"),
        (
            "PIA+1+S-GRY:SA'\nUNT+11+B2'",
            "PIA+1+S-GRY:SA'\nSEQ+1+403'\nGIR+1+WVW-B-0003:VV'\nUNT+13+B2'",
            24,
            "SEQ",
            "second SEQ group: with the call number from BGM 1004 a message holds one",
        ),
    ],
)
def test_call_number_from_bgm_refuses_a_message_it_cannot_number(
    client: Client, old: str, new: str, position: int, tag: str, words: str
) -> None:
    text = BGM.decode()
    assert old in text
    line = f"BGM3-{position}-{len(new)}"  # a line and vehicles of this case's own
    data = text.replace(old, new).replace("BGM1", line).replace("WVW-B", f"WVW-{line}").encode()
    configure(client, line)
    reply = client.interop.ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=data, call_no_from_bgm=True), timeout=10
    )
    b1, b2 = reply.messages
    assert b1.accepted and [r.call_no for r in b1.results] == [41]
    assert not b2.accepted and (b2.segment_position, b2.segment_tag) == (position, tag)
    assert words in b2.error and f"message B2, segment {position} ({tag})" in b2.error


# -- DELJIT: senders' own action codes ------------------------------------------------------


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Client]]:
    """A server started with --action-codes tests/fixtures/action_codes.toml."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("codes") / "data", "--action-codes", str(ACTION_CODES)
    ).start()
    c = connect(proc.address)
    yield proc, c
    c.channel.close()
    proc.stop()


def test_a_senders_own_action_codes_map_to_actions_and_unknown_ones_still_refuse(
    coded: tuple[ServerProcess, Client], client: Client
) -> None:
    proc, c = coded
    configure(c, "ACT1")
    reply = c.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=OWN), timeout=10)
    a1, a2 = reply.messages
    assert a1.accepted and [r.call_no for r in a1.results] == [1, 2, 3, 4]
    assert (reply.applied, reply.rejected) == (4, 0)
    first = c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="WVW-A-0001"), timeout=10)
    second = c.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="WVW-A-0002"), timeout=10)
    assert first.parts[0].part_number == "S-TAN" and first.last_call_no == 3  # "7": change
    assert second.state == common_pb2.VEHICLE_STATE_PULLED  # "Z1": pull
    # A code that neither the standard nor this sender's table knows refuses its message,
    # naming the code and the SEQ segment.
    assert not a2.accepted and (a2.segment_position, a2.segment_tag) == (32, "SEQ")
    assert "action code 'ZX' not accepted from sender 'OEMPLANT9'" in a2.error
    # The table is per sender: OEMPLANT8's Z1 is a cancel; another sender has no 7 or Z1.
    configure(c, "ACT2")
    data = OWN.replace(b"ACT1", b"ACT2").replace(b"WVW-A", b"WVW-A2")
    eight = c.interop.ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=data.replace(b"OEMPLANT9", b"OEMPLANT8")), timeout=10
    )
    assert not eight.messages[0].accepted and "action code '7'" in eight.messages[0].error
    assert eight.messages[0].segment_position == 19
    stranger = c.interop.ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=data.replace(b"OEMPLANT9", b"OEMPLANT7")), timeout=10
    )
    assert not stranger.messages[0].accepted and "'OEMPLANT7'" in stranger.messages[0].error
    # A server started without the file refuses the same interchange's own codes.
    configure(client, "ACT1")
    plain = client.interop.ImportDeljit(interop_pb2.ImportDeljitRequest(interchange=OWN), timeout=10)
    assert [m.accepted for m in plain.messages] == [False, False]
    assert "action code '7'" in plain.messages[0].error and plain.messages[0].segment_tag == "SEQ"
    assert proc.proc is not None and proc.proc.poll() is None


def test_own_action_codes_of_the_cli_import_exit_zero_when_all_apply(
    coded: tuple[ServerProcess, Client], tmp_path: Path
) -> None:
    proc, c = coded
    configure(c, "ACT3")
    only_known = OWN.decode().split("UNH+A2")[0].replace("ACT1", "ACT3").replace("WVW-A", "WVW-A3")
    path = tmp_path / "own.edi"
    path.write_text(only_known + "UNZ+1+IC0012'\n")
    r = jis("deljit", "import", str(path), "--server", proc.address)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 applied, 0 duplicate(s), 0 rejected, 0 message(s) refused" in r.stdout
    r = jis("deljit", "import", str(FIXTURES / "deljit_own_action_codes.edi"), "--server", proc.address)
    assert r.returncode == 4  # message A2 refused: partly done
    assert "REFUSED" in r.stdout and "action code 'ZX'" in r.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('[senders.OEM1]\n"7" = "chnage"\n', "code '7': 'chnage' is not one of add, cancel, change"),
        ('[senders.OEM1]\nZ1234 = "pull"\n', "code 'Z1234': 1 to 3 letters or digits"),
        ('[senders]\nOEM1 = "pull"\n', "a table of code = action, not str"),
        ('[actions.OEM1]\n"7" = "change"\n', "unknown key 'actions'"),
        ("[senders.OEM1\n", "not TOML"),
        (None, "cannot read"),
    ],
)
def test_a_bad_action_code_file_stops_the_server_with_one_line(
    tmp_path: Path, content: str | None, words: str
) -> None:
    path = tmp_path / "codes.toml"
    if content is not None:
        path.write_text(content)
    # Through the environment variable this time (JIS_ACTION_CODES), as a container would.
    env = {**os.environ, "JIS_ACTION_CODES": str(path)}
    r = jis("serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "data"), env=env)
    assert r.returncode == 2
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "cannot start: --action-codes" in lines[0] and str(path) in lines[0] and words in lines[0]
    assert not (tmp_path / "data").exists()  # refused before the store is touched
