"""`jis simulate` against a real server on its test clock: a seeded day raises every break type."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import breaks_pb2
from tests.conftest import all_breaks, connect
from tests.serverproc import ServerProcess


def simulate(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "jis", "simulate", "--server", address, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_a_simulated_day_raises_and_resolves_breaks_of_every_type(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    try:
        r = simulate(proc.address, "--seed", "1", "--hours", "6")
        assert r.returncode == 0, r.stderr
        c = connect(proc.address)
        open_ = all_breaks(c, breaks_pb2.ListBreaksRequest()).breaks
        resolved = all_breaks(c, breaks_pb2.ListBreaksRequest(resolved_from=Timestamp())).breaks
        c.channel.close()
        # --json: one summary object instead of a line per break (on a line of its own)
        again = simulate(proc.address, "--seed", "2", "--hours", "1", "--line", "L2", "--json")
        assert again.returncode == 0, again.stderr
        summary_json = json.loads(again.stdout)
        assert summary_json["line"] == "L2" and summary_json["racks_delivered"] >= 1
        names = {name.removeprefix("BREAK_TYPE_") for name, _ in breaks_pb2.BreakType.items()}
        assert set(summary_json["breaks"]) <= names
    finally:
        proc.stop()
    everything = [*open_, *resolved]
    every_type = {t for name, t in breaks_pb2.BreakType.items() if not name.endswith("UNSPECIFIED")}
    assert {b.type for b in everything} == every_type
    assert {b.type for b in resolved} == every_type, "each kind of break is also seen to resolve"
    # It printed the breaks as they happened, and a summary naming every type.
    raised_lines = [ln for ln in r.stdout.splitlines() if " + " in ln]
    assert len(raised_lines) == len(everything)
    lines = r.stdout.splitlines()
    # A plant day, not 1970: production from 06:00 of the demo day, a legend first.
    assert lines[0] == (
        "line L1, seed 1: 6 h of production from 2026-12-07 06:00 UTC (vehicles broadcast 3 h ahead, from "
        "2026-12-07 03:00)"
    )
    assert lines[1].startswith("+ a break raised") and "1970" not in r.stdout
    # Re-inserted vehicles are needed a few hours later, not a million seq_nos on.
    slacks = [float(ln.split(" slack ")[1].split(" min")[0]) for ln in lines if " slack " in ln]
    assert slacks and max(slacks) < 24 * 60
    # The summary: a table row per break type, KPIs at the end.
    assert lines[-1].startswith("sequence accuracy") and lines[-2].startswith("OTIF")
    for name in (
        "GAP",
        "MISSING",
        "ORPHAN",
        "WRONG_VARIANT",
        "DUPLICATE",
        "OUT_OF_SEQUENCE",
        "LATE",
        "BROADCAST_SILENT",
    ):
        assert any(line.startswith(f"{name} ") for line in lines), name


def test_simulate_needs_a_test_clock_server(server: ServerProcess) -> None:
    r = simulate(server.address, "--hours", "0.1", "--line", "SIMX")
    assert r.returncode == 1
    assert "--test-clock" in r.stderr


def test_simulate_refuses_a_line_the_server_holds_already(server: ServerProcess, client: object) -> None:
    from tests.conftest import Client, configure_line

    assert isinstance(client, Client)
    configure_line(client, "SIMTAKEN")
    r = simulate(server.address, "--line", "SIMTAKEN")
    assert r.returncode == 2 and "line SIMTAKEN exists on this server already" in r.stderr


def test_simulate_says_when_the_server_is_unreachable() -> None:
    r = simulate("127.0.0.1:1")
    assert r.returncode == 3 and "cannot reach the server" in r.stderr


def test_simulate_ends_in_one_line_when_the_server_goes_away_before_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server dies between the day and its summary (GetKpis, ListBreaks): one line on
    stderr and exit 3, as any command's failed call, not a traceback."""
    from jis.cli import simulate as command
    from jis.cli.main import main

    proc = ServerProcess(tmp_path / "data", "--test-clock").start()
    play = command.Sim.run

    def play_then_die(sim: command.Sim, start: int, progress: Callable[[float], None]) -> dict[str, int]:
        counts = play(sim, start, progress)
        proc.kill9()
        return counts

    monkeypatch.setattr(command.Sim, "run", play_then_die)
    try:
        code = main(["simulate", "--server", proc.address, "--hours", "0.2", "--line", "SIMGONE"])
    finally:
        proc.stop_if_running()
    out, err = capsys.readouterr()
    assert code == 3, err
    assert (
        err.startswith(f"jis: cannot reach the server at {proc.address} (UNAVAILABLE")
        and err.count("\n") == 1
    )
    assert "Traceback" not in err and "line SIMGONE, seed 1" in out
