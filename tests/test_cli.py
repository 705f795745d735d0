"""The operator CLI against a real server: tables, --json, and a clear exit when unreachable."""

from __future__ import annotations

import json
import subprocess
import sys

from jis.v1 import broadcast_pb2
from tests.conftest import Client, configure_line
from tests.factories import ADD, bc, part
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
    assert (line["highestCallNo"], line["missingCalls"], line["activeVehicles"]) == ("3", "1", "2")


def test_cli_exits_3_with_a_clear_message_when_the_server_is_unreachable() -> None:
    r = jis("breaks", "--server", "127.0.0.1:1")
    assert r.returncode == 3
    assert "cannot reach the server at 127.0.0.1:1" in r.stderr and r.stdout == ""


def test_cli_exits_1_when_the_server_refuses(server: ServerProcess) -> None:
    r = jis("sequence", "--server", server.address, "--line", "NO-SUCH-LINE")
    assert r.returncode == 1
    assert "NOT_FOUND" in r.stderr and "line_id" in r.stderr
