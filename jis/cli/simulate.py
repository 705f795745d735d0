"""`jis simulate`: drive a seeded plant day against a server on its test clock."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from jis.cli.common import EXIT_REFUSED, CliError, Output, parse_time, run_command
from jis.sim.driver import CLEAR_LINE, Rates, Sim, SimConfig, progress_bar, watch_breaks
from jis.v1 import breaks_pb2, breaks_pb2_grpc, lines_pb2, lines_pb2_grpc, reports_pb2, reports_pb2_grpc

DEMO_DAY = "2026-12-07T03:00:00Z"
"""Where a day starts on a server whose test clock has never been set: a Monday, with the
first vehicles broadcast at 03:00 so that production starts at 06:00 (one broadcast lead)."""


def _start(now: Timestamp, given: str) -> Timestamp:
    start = Timestamp()
    if given:
        start.CopyFrom(parse_time(given, "--start"))
    elif now.seconds < 946_684_800:  # before 2000: a fresh test clock, still at the epoch
        start.FromJsonString(DEMO_DAY)
    else:  # the next full hour of the server's clock
        start.FromSeconds((now.seconds // 3600 + 1) * 3600)
    return start


def _simulate(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    """Play the day (printing each break as it comes), then its summary. A failed call ends
    it as any command's does (run_command): one line on stderr and the exit code."""
    cfg = SimConfig(
        seed=a.seed,
        hours=a.hours,
        speed=a.speed,
        line_id=a.line,
        quiet=a.quiet or a.json,  # --json: one summary object, not the lines of each break
        rates=Rates() if not a.calm else Rates(0, 0, 0, 0, 0, 0, 0, 0),
    )
    bar = not a.json and (sys.stderr.isatty() or a.progress)
    redraw = bar and sys.stdout.isatty()  # a break line clears the bar's line, the bar comes back after
    now = lines_pb2_grpc.ClockServiceStub(ch).GetClock(lines_pb2.GetClockRequest(), timeout=10).now
    _fresh_line(ch, cfg.line_id)
    start = _start(now, a.start)
    if not cfg.quiet:
        begin = start.ToNanoseconds()
        production = _hhmm(begin + cfg.broadcast_lead_min * 60 * 10**9)
        print(
            f"line {cfg.line_id}, seed {cfg.seed}: {cfg.hours:g} h of production from {production} "
            f"UTC (vehicles broadcast {cfg.broadcast_lead_min // 60} h ahead, from {_hhmm(begin)})"
        )
        print("+ a break raised (slack: minutes left before its vehicle needs the part), - resolved\n")
    stop = threading.Event()

    def out(line: str) -> None:
        print(CLEAR_LINE + line if redraw else line, flush=True)

    printer = None if cfg.quiet else watch_breaks(ch, out, stop, cfg.line_id)
    sim = Sim(cfg, ch)
    try:
        counts = sim.run(start.ToNanoseconds(), progress_bar if bar else _none)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "clock" in (exc.details() or ""):
            raise CliError(f"the server must run with --test-clock ({exc.details()})", EXIT_REFUSED) from None
        raise
    finally:
        stop.set()
        if printer is not None:
            printer.join(timeout=5)
    req = reports_pb2.GetKpisRequest(line_id=cfg.line_id)
    getattr(req, "from").CopyFrom(start)
    k = reports_pb2_grpc.ReportServiceStub(ch).GetKpis(req, timeout=30)
    still_open = (
        breaks_pb2_grpc.BreakServiceStub(ch)
        .ListBreaks(breaks_pb2.ListBreaksRequest(line_id=cfg.line_id, page_size=10_000), timeout=30)
        .breaks
    )
    vehicles = int(cfg.hours * 3600 / cfg.takt_s)
    if a.json:
        summary = {
            "line": cfg.line_id,
            "seed": cfg.seed,
            "hours": cfg.hours,
            "vehicles": vehicles,
            "disruptions": counts,
            "breaks": {
                breaks_pb2.BreakType.Name(b.type).removeprefix("BREAK_TYPE_"): {
                    "raised": b.raised,
                    "resolved": b.resolved,
                }
                for b in k.breaks
            },
            "racks_delivered": k.racks_delivered,
            "otif": k.otif if k.HasField("otif") else None,
            "sequence_accuracy": k.sequence_accuracy if k.HasField("sequence_accuracy") else None,
        }
        return json.dumps(summary, indent=2)
    return _summary(cfg, vehicles, counts, k, still_open)


def _hhmm(ns: int) -> str:
    t = Timestamp()
    t.FromNanoseconds(ns)
    return t.ToDatetime().strftime("%Y-%m-%d %H:%M")


def _fresh_line(ch: grpc.Channel, line_id: str) -> None:
    """CliError if the server holds the line already: a second day on it would collide with
    the first one's vehicles and call numbers."""
    try:
        lines_pb2_grpc.LineServiceStub(ch).GetLine(lines_pb2.GetLineRequest(line_id=line_id), timeout=10)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return
        raise
    raise CliError(f"line {line_id} exists on this server already: give a fresh one with --line NAME")


def _summary(cfg: SimConfig, vehicles: int, counts: dict[str, int], k: Any, still_open: Any) -> str:
    """The day in a few tables: disruptions, breaks by type, what is still open and why, KPIs."""
    names = {b.type: breaks_pb2.BreakType.Name(b.type).removeprefix("BREAK_TYPE_") for b in k.breaks}
    open_by_type: dict[str, list[str]] = {}
    for b in still_open:
        open_by_type.setdefault(names.get(b.type, str(b.type)), []).append(b.action.description)
    out = [
        "",
        f"line {cfg.line_id}, seed {cfg.seed}: {cfg.hours:g} h, {vehicles} vehicles at takt {cfg.takt_s} s",
        "",
        "disruptions      " + ", ".join(f"{what} {n}" for what, n in counts.items()),
        "",
        f"{'break':<18}{'raised':>7}{'resolved':>10}{'open':>6}",
    ]
    for b in k.breaks:
        if b.raised or b.resolved:
            name = names[b.type]
            out.append(f"{name:<18}{b.raised:>7}{b.resolved:>10}{len(open_by_type.get(name, [])):>6}")
    if open_by_type:
        out += ["", "still open, first of each type:"]
        out += [f"  {name:<16} {actions[0]}" for name, actions in sorted(open_by_type.items())]
    otif = f"{100 * k.otif:.1f} %" if k.HasField("otif") else "n/a"
    accuracy = f"{100 * k.sequence_accuracy:.1f} %" if k.HasField("sequence_accuracy") else "n/a"
    out += [
        "",
        f"racks delivered  {k.racks_delivered} (on time {k.racks_on_time}, in full {k.racks_in_full}, "
        f"right variants {k.racks_right_variants}, right order {k.racks_right_order})",
        f"OTIF             {otif}",
        f"sequence accuracy {accuracy} ({k.slots_in_sequence} of {k.slots_delivered} slots)",
    ]
    return "\n".join(out)


def _none(fraction: float) -> None:
    return None


def add_simulate(sub: Any, server: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "simulate",
        parents=[server],
        help="drive a seeded plant day (MES, suppliers, trucks, disruptions) against a --test-clock server",
        description=(
            "Drive a seeded plant day (MES, suppliers, trucks, disruptions) against a server started "
            "with --test-clock, printing every break as it is raised and resolved."
        ),
    )
    p.add_argument("--seed", type=int, default=1, help="the day's random seed: the same seed, the same day")
    p.add_argument("--hours", type=float, default=8.0, help="simulated production hours [default 8]")
    p.add_argument(
        "--speed", type=float, default=0.0, help="simulated seconds per wall second; 0: as fast as possible"
    )
    p.add_argument(
        "--line", default=os.environ.get("JIS_SIM_LINE", "L1"), help="line id to create [default L1]"
    )
    p.add_argument("--start", default="", help="simulated start, RFC 3339 [default: the next full hour]")
    p.add_argument("--quiet", action="store_true", help="do not print each break")
    p.add_argument("--calm", action="store_true", help="no disruptions")
    p.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    p.set_defaults(run=lambda a: run_command(_simulate, a))
