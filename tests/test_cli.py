"""The operator CLI against a real server: tables, --json, and a clear exit when unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import broadcast_pb2, dock_pb2, supply_pb2
from tests.conftest import Client, configure_line
from tests.factories import ADD, bc, part, pub
from tests.serverproc import ServerProcess


def jis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jis", *args], capture_output=True, text=True, timeout=60)


def test_cli_lists_breaks_sequence_and_lines_as_tables_and_json(
    server: ServerProcess, client: Client
) -> None:
    configure_line(client, "CLI1")
    client.broadcast.PublishBatch(
        broadcast_pb2.PublishBatchRequest(
            broadcasts=[
                bc("CLI1", 1, ADD, "CLI1-B", 20, [part("SEAT", "S-RED", "SUPC")]),
                bc("CLI1", 3, ADD, "CLI1-A", 10, [part("SEAT", "S-BLU", "SUPC")]),
            ]
        ),
        timeout=10,
    )

    r = jis("sequence", "--server", server.address, "--line", "CLI1")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert rows[0].split()[:3] == ["SEQ_NO", "VEHICLE", "NEED_TIME"]
    assert [row.split()[1] for row in rows[1:3]] == ["CLI1-A", "CLI1-B"] and rows[-1] == "2 vehicle(s)"
    assert "SEAT=S-BLU@SUPC" in rows[1]

    r = jis("sequence", "--server", server.address, "--line", "CLI1", "--json")
    assert [v["vehicleId"] for v in json.loads(r.stdout)] == ["CLI1-A", "CLI1-B"]

    r = jis("breaks", "--server", server.address, "--line", "CLI1", "--type", "gap")
    assert r.returncode == 0, r.stderr
    assert "GAP" in r.stdout and "calls 2-2" in r.stdout and "re-send call_no 2" in r.stdout
    assert r.stdout.splitlines()[-1] == "1 open break(s)"
    r = jis("breaks", "--server", server.address, "--line", "CLI1", "--json")
    assert sorted(b["type"] for b in json.loads(r.stdout)) == [
        "BREAK_TYPE_GAP",
        "BREAK_TYPE_MISSING",
        "BREAK_TYPE_MISSING",
    ]

    r = jis("lines", "--server", server.address, "--json")
    line = next(ln for ln in json.loads(r.stdout) if ln["lineId"] == "CLI1")
    assert (line["highestCallNo"], line["missingCalls"], line["activeVehicles"]) == (3, 1, 2)  # numbers


def test_cli_exits_3_with_a_clear_message_when_the_server_is_unreachable() -> None:
    r = jis("breaks", "--server", "127.0.0.1:1")
    assert r.returncode == 3
    assert "cannot reach the server at 127.0.0.1:1" in r.stderr and r.stdout == ""


def test_cli_exits_1_when_the_server_refuses(server: ServerProcess) -> None:
    r = jis("sequence", "--server", server.address, "--line", "NO-SUCH-LINE")
    assert r.returncode == 1
    assert "NOT_FOUND" in r.stderr and "line_id" in r.stderr


def test_cli_shows_inventory_kpis_and_the_dock(server: ServerProcess, client: Client) -> None:
    configure_line(client, "CLI2")
    client.supply.ConfigureSupplier(
        supply_pb2.ConfigureSupplierRequest(supplier_id="SUPD", lead_time=Duration(seconds=3600)), timeout=10
    )
    client.broadcast.PublishBatch(
        broadcast_pb2.PublishBatchRequest(
            broadcasts=[bc("CLI2", i, ADD, f"CLI2-V{i}", i, [part("SEAT", "S", "SUPD")]) for i in (1, 2, 3)]
        ),
        timeout=10,
    )
    eta = Timestamp(seconds=int(time.time()) + 3600)
    client.supply.DispatchRack(
        supply_pb2.DispatchRackRequest(
            rack_id="CLI2-R",
            supplier_id="SUPD",
            group="SEAT",
            line_id="CLI2",
            capacity=4,
            slots=[supply_pb2.RackSlot(vehicle_id=f"CLI2-V{i}", part_number="S") for i in (1, 2)],
            eta=eta,
        ),
        timeout=10,
    )
    start = Timestamp(seconds=int(time.time()) - 60)
    end = Timestamp(seconds=int(time.time()) + 1800)
    client.dock.BookAppointment(
        dock_pb2.AppointmentSpec(
            appointment_id="CLI2-A",
            door="CLI-D1",
            window_start=start,
            window_end=end,
            supplier_id="SUPD",
            trailer="TR-9",
            rack_ids=["CLI2-R"],
        ),
        timeout=10,
    )
    for kind in (dock_pb2.YARD_EVENT_KIND_GATE_IN, dock_pb2.YARD_EVENT_KIND_AT_DOOR):
        client.dock.RecordYardEvent(dock_pb2.YardEventRequest(appointment_id="CLI2-A", kind=kind), timeout=10)

    r = jis("inventory", "--server", server.address, "--line", "CLI2")
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.splitlines()[:2]
    assert header.split()[:4] == ["SUPPLIER", "GROUP", "EXPECTED", "PLANNED"]
    # 3 expected, V3 planned, 2 at the dock covering 2 minutes (takt 60 s) in sequence.
    assert row.split()[:8] == ["SUPD", "SEAT", "3", "1", "0", "0", "2", "0"]
    assert "2.0 min" in row
    inv = json.loads(jis("inventory", "--server", server.address, "--line", "CLI2", "--json").stdout)
    assert inv["scopes"][0]["coveredVehiclesAtPlant"] == 2  # one object, counts as numbers

    r = jis("kpis", "--server", server.address, "--supplier", "SUPD")
    assert r.returncode == 0, r.stderr
    # The line's need times (epoch 2026-01-01) are long past: in sequence, but not on time.
    assert "(0 of 1 racks)" in r.stdout and "(2 of 2)" in r.stdout
    k = json.loads(jis("kpis", "--server", server.address, "--supplier", "SUPD", "--json").stdout)
    assert (k["racksDelivered"], k["slotsInSequence"], k["appointments"]) == (1, 2, 1)

    r = jis("dock", "--server", server.address, "--door", "CLI-D1")
    assert r.returncode == 0, r.stderr
    assert "0 trailer(s) waiting, 1 at a door" in r.stdout
    assert "CLI2-A" in r.stdout and "AT_DOOR" in r.stdout and "TR-9" in r.stdout
    yard = json.loads(jis("dock", "--server", server.address, "--door", "CLI-D1", "--json").stdout)
    assert yard["atDoor"][0]["spec"]["appointmentId"] == "CLI2-A"
    r = jis("kpis", "--server", server.address, "--since", "not-a-time")
    assert r.returncode != 0


def test_cli_errors_are_one_line_and_an_exit_code_never_a_traceback(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The faults: each of these ended in a Python traceback."""
    cases = [
        (("breaks", "--resolved-since", "someday"), 2, "--resolved-since: 'someday' is not a time"),
        (("kpis", "--since", "2026-13-45"), 2, "--since: '2026-13-45' is not a time"),
        (("deljit", "import", str(tmp_path / "nonexistent.edi")), 2, "cannot read"),
        (("desadv", "R1", "--tls-ca", str(tmp_path / "no-ca.pem")), 2, "--tls-ca: cannot read"),
    ]
    for args, code, message in cases:
        r = jis(*args, "--server", server.address)
        assert (r.returncode, r.stdout) == (code, ""), (args, r.stderr)
        assert r.stderr.startswith("jis: ") and message in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_cli_reads_dates_and_words_for_times(server: ServerProcess) -> None:
    for when in ("yesterday", "today", "now", "-6h", "2026-12-01", "2026-12-01T06:00:00Z"):
        r = jis("breaks", "--server", server.address, f"--resolved-since={when}", "--json")  # = for -6h
        assert r.returncode == 0, (when, r.stderr)
        assert isinstance(json.loads(r.stdout), list)
        for command in ("kpis", "dock"):  # the window of every command takes the same forms
            r = jis(command, "--server", server.address, f"--since={when}", "--until=now", "--json")
            assert r.returncode == 0, (command, when, r.stderr)


def test_cli_output_cut_by_its_reader_is_not_a_traceback(server: ServerProcess, client: Client) -> None:
    configure_line(client, "CLIP")
    batch = [bc("CLIP", n, ADD, f"CLIP-{n}", n, [part("SEAT", "S-RED", "SUPC")]) for n in range(1, 400)]
    client.broadcast.PublishBatch(broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=10)
    shell = f"{sys.executable} -m jis breaks --server {server.address} --line CLIP --json | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=60)
    assert r.stdout == "[\n" and "Traceback" not in r.stderr and "Broken pipe" not in r.stderr, r.stderr
    assert r.returncode in (0, 141)  # 141: the pipe's last status when jis saw the reader go


def test_log_level_works_after_the_command_and_bad_levels_are_usage_errors(server: ServerProcess) -> None:
    assert jis("lines", "--server", server.address, "--log-level", "debug").returncode == 0
    r = jis("lines", "--server", server.address, "--log-level", "LOUD")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_a_busy_metrics_port_fails_the_start_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "jis",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path / "d"),
                "--metrics-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 2, r.stderr
    assert (
        f"cannot start: cannot serve metrics on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr
    )


def test_help_shows_examples_and_exit_codes() -> None:
    r = jis("--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "exit codes:" in r.stdout
    for command in ("breaks", "kpis", "deljit", "serve", "simulate"):
        r = jis(command, "--help")
        assert r.returncode == 0 and "--log-level" in r.stdout, command


def test_cli_configures_publishes_a_file_and_reads_the_build_sequence(
    server: ServerProcess, tmp_path: Path
) -> None:
    s = ("--server", server.address)
    r = jis("line", "configure", "CLW", "--takt", "60s", "--heartbeat", "1h", "--epoch", "2026-01-01", *s)
    assert r.returncode == 0 and "line CLW: takt 60 s, heartbeat 3600 s" in r.stdout, r.stderr
    r = jis("supplier", "configure", "SUPW", "--lead-time", "4h", "--unload-to-line", "10m", "--json", *s)
    assert json.loads(r.stdout)["supplierId"] == "SUPW", r.stderr
    assert jis("line", "configure", "CLW", "--takt", "soon", "--heartbeat", "1h", *s).returncode == 2
    lines = [
        json.dumps(
            {
                "lineId": "CLW",
                "callNo": str(n),
                "action": "ACTION_ADD",
                "vehicleId": f"CLW-{n}",
                "seqNo": str(n),
                "parts": [{"group": "SEAT", "partNumber": "P-1", "supplierId": "SUPW", "quantity": 1}],
            }
        )
        for n in range(1, 2503)
    ]
    lines.append(json.dumps({"lineId": "CLW", "callNo": "2503", "action": "ACTION_ADD", "vehicleId": ""}))
    (tmp_path / "calls.jsonl").write_text("\n".join(lines) + "\n")
    r = jis("publish", str(tmp_path / "calls.jsonl"), *s)
    assert r.returncode == 4, r.stderr  # one was refused
    assert r.stdout.splitlines()[-1] == "2502 applied, 0 duplicate(s), 1 refused"
    assert "call_no 2503: vehicle_id: must not be empty" in r.stdout
    r = jis("publish", str(tmp_path / "calls.jsonl"), "--json", *s)  # again: all duplicates now
    assert json.loads(r.stdout)["duplicates"] == 2502
    (tmp_path / "bad.jsonl").write_text('{"lineId": "CLW"}\nnot json\n')
    r = jis("publish", str(tmp_path / "bad.jsonl"), *s)
    assert r.returncode == 2 and "line 2: not a broadcast" in r.stderr

    r = jis("build-sequence", "SUPW", "--line", "CLW", *s)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("line CLW, SEAT, supplier SUPW: 2502 vehicle(s), cursor ")
    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jis",
            "build-sequence",
            "SUPW",
            "--line",
            "CLW",
            "--follow",
            "--for",
            "4",
            *s,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    r = jis("publish", "-", *s)  # nothing on stdin: nothing published
    assert r.returncode == 0 and r.stdout.strip() == "0 applied, 0 duplicate(s), 0 refused"
    one = json.dumps({"lineId": "CLW", "callNo": "2503", "action": "ACTION_PULL", "vehicleId": "CLW-7"})
    r = subprocess.run(
        [sys.executable, "-m", "jis", "publish", "-", *s],
        input=one,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    out, _ = follow.communicate(timeout=30)
    assert follow.returncode == 0
    head, *_, last = out.splitlines()
    assert head.startswith("build sequence of line CLW, SEAT: 2502 vehicle(s), cursor ")
    cursor = int(head.rsplit(" ", 1)[1])  # cursors are global: other tests' changes came first
    assert last == f"[{cursor + 1}] PULLED      CLW-7 seq_no 7 P-1"


def test_cli_watches_breaks_and_asks_for_health(server: ServerProcess, client: Client) -> None:
    configure_line(client, "CLV")
    s = ("--server", server.address)
    watch = subprocess.Popen(
        [sys.executable, "-m", "jis", "breaks", "--watch", "--line", "CLV", "--for", "4", *s],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    client.broadcast.Publish(pub(bc("CLV", 2, ADD, "CLV-2", 2, [part()])), timeout=10)  # GAP for call 1
    client.broadcast.Publish(pub(bc("CLV", 1, ADD, "CLV-1", 1, [part()])), timeout=10)  # closes it
    out, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0
    gap = [line for line in out.splitlines() if "GAP" in line]
    assert [g[0] for g in gap] == ["+", "-"] and "re-send call_no 1" in gap[0]
    r = jis("health", *s)
    assert (r.returncode, r.stdout.strip()) == (0, "SERVING")
    assert jis("health", "--server", "127.0.0.1:1").returncode == 3


def test_connection_flags_count_before_and_after_a_lines_sub_command() -> None:
    from jis.cli.main import build_parser

    parse = build_parser().parse_args
    a = parse(["lines", "--server", "h:1", "--token", "T", "--json", "move", "L", "G"])
    assert (a.server, a.token, a.json, a.line, a.group) == ("h:1", "T", True, "L", "G")
    a = parse(["lines", "move", "L", "G", "--server", "h:2", "--tls-ca", "ca.pem", "--json"])
    assert (a.server, a.tls_ca, a.json, a.token) == ("h:2", "ca.pem", True, "")
    a = parse(["lines", "--server", "h:3", "where", "--server", "h:4", "L1"])  # the later one counts
    assert (a.server, a.json, a.lines) == ("h:4", False, ["L1"])
    a = parse(["lines", "assign", "L", "G"])  # none given: the defaults
    assert (a.server, a.json) == (os.environ.get("JIS_SERVER", "127.0.0.1:50051"), False)


def test_jis_lines_move_unreachable_is_exit_3_pointing_at_where() -> None:
    r = jis("lines", "move", "L", "G", "--server", "127.0.0.1:1")
    assert r.returncode == 3 and r.stdout == ""
    assert "127.0.0.1:1 is unavailable" in r.stderr and "jis lines where L" in r.stderr
