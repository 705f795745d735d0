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

from jis.cli.common import EXIT_REFUSED, EXIT_UNREACHABLE, channel
from jis.sim.driver import Rates, Sim, SimConfig, progress_bar, watch_breaks
from jis.v1 import breaks_pb2, lines_pb2, lines_pb2_grpc, reports_pb2, reports_pb2_grpc


def _simulate(a: argparse.Namespace) -> int:
    cfg = SimConfig(
        seed=a.seed,
        hours=a.hours,
        speed=a.speed,
        line_id=a.line,
        quiet=a.quiet or a.json,  # --json: one summary object, not the lines of each break
        rates=Rates() if not a.calm else Rates(0, 0, 0, 0, 0, 0, 0, 0),
    )
    with channel(a.server, a.token, a.tls_ca) as ch:
        try:
            now = lines_pb2_grpc.ClockServiceStub(ch).GetClock(lines_pb2.GetClockRequest(), timeout=10).now
        except grpc.RpcError as exc:
            print(
                f"jis: cannot reach the server at {a.server} ({exc.code().name}: {exc.details()})",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        start = Timestamp()
        if a.start:
            start.FromJsonString(a.start)
        else:  # the next full hour of the server's clock
            start.FromSeconds((now.seconds // 3600 + 1) * 3600)
        stop = threading.Event()
        printer = None if cfg.quiet else watch_breaks(ch, lambda line: print(line, flush=True), stop)
        sim = Sim(cfg, ch)
        try:
            counts = sim.run(
                start.ToNanoseconds(), progress_bar if sys.stderr.isatty() or a.progress else _none
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "clock" in (exc.details() or ""):
                print(f"jis: the server must run with --test-clock ({exc.details()})", file=sys.stderr)
            else:
                print(f"jis: the server refused: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return EXIT_REFUSED
        finally:
            stop.set()
            if printer is not None:
                printer.join(timeout=5)
        req = reports_pb2.GetKpisRequest(line_id=cfg.line_id)
        getattr(req, "from").CopyFrom(start)
        k = reports_pb2_grpc.ReportServiceStub(ch).GetKpis(req, timeout=30)
    if a.json:
        summary = {
            "line": cfg.line_id,
            "seed": cfg.seed,
            "hours": cfg.hours,
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
        }
        print(json.dumps(summary, indent=2))
        return 0
    print(f"\nsimulated {cfg.hours:g} h of line {cfg.line_id} (seed {cfg.seed}); disruptions: {counts}")
    print(
        "breaks (raised / resolved): "
        + ", ".join(
            f"{breaks_pb2.BreakType.Name(b.type).removeprefix('BREAK_TYPE_')} {b.raised}/{b.resolved}"
            for b in k.breaks
        )
    )
    otif = f"{100 * k.otif:.1f} %" if k.HasField("otif") else "n/a"
    print(f"racks delivered {k.racks_delivered}, OTIF {otif}")
    return 0


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
    p.set_defaults(run=_simulate)
