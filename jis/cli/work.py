"""The daily work from the command line: follow breaks as they come, a supplier plant's build
sequence, configure lines and suppliers, publish a file of broadcasts, ask for health.
Exit codes: see :mod:`jis.cli.common`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import grpc
from google.protobuf import json_format
from google.protobuf.duration_pb2 import Duration
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jis.cli.common import (
    EXIT_PARTIAL,
    EXIT_REFUSED,
    TIMEOUT_S,
    CliError,
    Output,
    as_json,
    message_dict,
    minutes,
    parse_time,
    run_command,
)
from jis.config import duration_ns
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    broadcast_pb2_grpc,
    build_sequence_pb2,
    build_sequence_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    supply_pb2,
    supply_pb2_grpc,
)

PUBLISH_BATCH = 1_000
"""Broadcasts per PublishBatch call when publishing a file."""
_KIND = {breaks_pb2.BreakEvent.KIND_RAISED: "+", breaks_pb2.BreakEvent.KIND_RESOLVED: "-"}


def _duration(text: str, option: str) -> Duration:
    try:
        ns = duration_ns(text)
    except ValueError as exc:
        raise CliError(f"{option}: {exc}") from None
    d = Duration()
    d.FromNanoseconds(ns)
    return d


# -- jis breaks --watch -------------------------------------------------------------------


def _follow(stream: Any, lines: Callable[[Any], Iterator[str]], for_s: float) -> Output:
    """Print the lines of each item of a server stream as it comes, until Ctrl-C or the
    stream's deadline (``for_s`` seconds, 0: none) ends it."""
    try:
        for item in stream:
            for line in lines(item):
                print(line, flush=True)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED or not for_s:  # --for ran out: done
            raise
    except KeyboardInterrupt:
        pass
    finally:
        stream.cancel()
    return ""


def break_line(ev: breaks_pb2.BreakEvent, as_json: bool = False, clock: bool = False) -> str:
    """One WatchBreaks event as a line: '=' open when the watch began, '+' raised, '-'
    resolved, then the break; ``as_json``: a JSON object instead; ``clock``: the server's
    time of the event first (HH:MM, when detected or resolved), as `jis simulate` prints it."""
    b = ev.sequence_break
    mark = "=" if ev.snapshot else _KIND[ev.kind]
    if as_json:
        return json.dumps({"event": "open" if ev.snapshot else mark, **message_dict(b)})
    kind = breaks_pb2.BreakType.Name(b.type).removeprefix("BREAK_TYPE_")
    slack = f" slack {minutes(b.slack)}" if b.HasField("slack") else ""
    line = f"{mark} {kind:<16} {b.break_id} {b.line_id}{slack}: {b.action.description}"
    if not clock:
        return line
    resolved = not ev.snapshot and ev.kind == breaks_pb2.BreakEvent.KIND_RESOLVED
    return f"{(b.resolved_at if resolved else b.detected_at).ToDatetime():%H:%M} {line}"


def watch_breaks(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    """Follow WatchBreaks: the open breaks first (marked '='), then '+' raised and '-'
    resolved as they come, until Ctrl-C or --for seconds."""
    types = [f"BREAK_TYPE_{t.upper()}" for t in a.type]
    req = breaks_pb2.WatchBreaksRequest(line_id=a.line, supplier_id=a.supplier, types=types)
    stream = breaks_pb2_grpc.BreakServiceStub(ch).WatchBreaks(req, timeout=a.for_s or None)
    if not a.json:
        print("= open when the watch began, + raised, - resolved", flush=True)
    return _follow(stream, lambda ev: iter([break_line(ev, a.json)]), a.for_s)


# -- jis build-sequence -------------------------------------------------------------------


def _scopes(ch: grpc.Channel, a: argparse.Namespace) -> list[tuple[str, str]]:
    """(line, group) of the supplier's scopes, narrowed by --line and --group."""
    lines = (
        [a.line]
        if a.line
        else [
            ln.line_id
            for ln in lines_pb2_grpc.LineServiceStub(ch)
            .ListLines(lines_pb2.ListLinesRequest(), timeout=TIMEOUT_S)
            .lines
        ]
    )
    out = []
    reports = reports_pb2_grpc.ReportServiceStub(ch)
    for line_id in lines:
        inv = reports.GetInventory(
            reports_pb2.GetInventoryRequest(line_id=line_id, supplier_id=a.supplier, group=a.group),
            timeout=TIMEOUT_S,
        )
        out += [(s.line_id, s.group) for s in inv.scopes]
    return out


def build_sequence(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    """What a supplier plant builds, in order, per line and group; --follow streams changes."""
    scopes = _scopes(ch, a)
    if not scopes:
        raise CliError(f"supplier {a.supplier!r} has no build sequence on the lines asked for", EXIT_REFUSED)
    stub = build_sequence_pb2_grpc.BuildSequenceServiceStub(ch)
    if a.follow:
        if len(scopes) != 1:
            names = ", ".join(f"{line}/{group}" for line, group in scopes)
            raise CliError(f"--follow needs one line and group (give --line and --group): {names}")
        line_id, group = scopes[0]
        req = build_sequence_pb2.WatchBuildSequenceRequest(
            line_id=line_id, supplier_id=a.supplier, group=group
        )
        stream = stub.WatchBuildSequence(req, timeout=a.for_s or None)
        return _follow(stream, lambda update: _update_lines(update, a.json), a.for_s)
    sequences = [
        stub.GetBuildSequence(
            build_sequence_pb2.GetBuildSequenceRequest(line_id=line_id, supplier_id=a.supplier, group=group),
            timeout=TIMEOUT_S,
        )
        for line_id, group in scopes
    ]
    if a.json:
        return as_json(sequences)
    out = []
    for s in sequences:
        head = f"line {s.line_id}, {s.group}, supplier {s.supplier_id}"
        out.append(f"{head}: {len(s.entries)} vehicle(s), cursor {s.cursor}")
        out += [_entry_line(e) for e in s.entries]
    return "\n".join(out)


def _entry_line(e: build_sequence_pb2.BuildSequenceEntry) -> str:
    """One vehicle of a build sequence: seq_no, vehicle, part number, quantity, need time."""
    need = e.need_time.ToJsonString()
    return f"  {e.seq_no:>8}  {e.vehicle_id:<24} {e.part_number:<16} x{e.quantity}  {need}"


def _update_lines(update: build_sequence_pb2.BuildSequenceUpdate, json_lines: bool) -> Iterator[str]:
    if json_lines:
        yield json.dumps(message_dict(update))
        return
    if update.WhichOneof("update") == "snapshot":
        s = update.snapshot
        yield f"build sequence of line {s.line_id}, {s.group}: {len(s.entries)} vehicle(s), cursor {s.cursor}"
        for e in s.entries:
            yield _entry_line(e)
        return
    for c in update.changes.changes:
        kind = build_sequence_pb2.BuildSequenceChangeKind.Name(c.kind).removeprefix(
            "BUILD_SEQUENCE_CHANGE_KIND_"
        )
        yield f"[{c.cursor}] {kind:<11} {c.entry.vehicle_id} seq_no {c.entry.seq_no} {c.entry.part_number}"


# -- jis line configure, jis supplier configure -------------------------------------------


def configure_line(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    req = lines_pb2.ConfigureLineRequest(
        line_id=a.line_id, takt=_duration(a.takt, "--takt"), heartbeat=_duration(a.heartbeat, "--heartbeat")
    )
    if a.epoch:
        req.epoch.CopyFrom(parse_time(a.epoch, "--epoch"))
    if a.frozen:
        req.frozen.CopyFrom(_duration(a.frozen, "--frozen"))
    line = lines_pb2_grpc.LineServiceStub(ch).ConfigureLine(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(line)
    return f"line {line.line_id}: takt {line.takt.ToSeconds()} s, heartbeat {line.heartbeat.ToSeconds()} s"


def configure_supplier(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    req = supply_pb2.ConfigureSupplierRequest(
        supplier_id=a.supplier_id,
        lead_time=_duration(a.lead_time, "--lead-time"),
        unload_to_line=_duration(a.unload_to_line, "--unload-to-line")
        if a.unload_to_line != "0"
        else Duration(),
    )
    sup = supply_pb2_grpc.SupplyServiceStub(ch).ConfigureSupplier(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(sup)
    return (
        f"supplier {sup.supplier_id}: lead time {minutes(sup.lead_time)}, "
        f"unload to line {minutes(sup.unload_to_line)}"
    )


# -- jis publish --------------------------------------------------------------------------


def _broadcasts(f: IO[str], name: str) -> Iterator[broadcast_pb2.Broadcast]:
    for n, text in enumerate(f, start=1):
        if not text.strip():
            continue
        try:
            yield json_format.Parse(text, broadcast_pb2.Broadcast())
        except json_format.ParseError as exc:
            raise CliError(f"{name} line {n}: not a broadcast: {exc}") from None


def publish(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    """Publish a file of broadcasts (JSON lines, protobuf's JSON of jis.v1.Broadcast), in
    batches of PUBLISH_BATCH; the refused ones are listed and the exit code is then 4."""
    stub = broadcast_pb2_grpc.BroadcastServiceStub(ch)
    try:
        f: IO[str] = sys.stdin if a.file == "-" else open(a.file, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"cannot read {a.file}: {exc.strerror}") from None
    applied = duplicates = 0
    refused: list[dict[str, Any]] = []
    progress = sys.stderr.isatty()
    started = time.monotonic()
    with f:
        batch: list[broadcast_pb2.Broadcast] = []
        for b in [*_broadcasts(f, a.file), None]:
            if b is not None:
                batch.append(b)
            if batch and (b is None or len(batch) == PUBLISH_BATCH):
                reply = stub.PublishBatch(
                    broadcast_pb2.PublishBatchRequest(broadcasts=batch), timeout=TIMEOUT_S * 6
                )
                applied += reply.applied
                duplicates += reply.duplicates
                refused += [
                    message_dict(r)
                    for r in reply.results
                    if r.disposition == broadcast_pb2.DISPOSITION_REJECTED
                ]
                batch = []
                if progress:
                    done = applied + duplicates + len(refused)
                    print(
                        f"\r{done} broadcast(s) sent in {time.monotonic() - started:.1f} s",
                        end="",
                        file=sys.stderr,
                    )
    if progress:
        print(file=sys.stderr)
    code = EXIT_PARTIAL if refused else 0
    if a.json:
        return json.dumps({"applied": applied, "duplicates": duplicates, "rejected": refused}, indent=2), code
    lines = [
        f"refused: line {r.get('lineId', '')} call_no {r.get('callNo', 0)}: {r.get('message', '')}"
        for r in refused
    ]
    lines.append(f"{applied} applied, {duplicates} duplicate(s), {len(refused)} refused")
    return "\n".join(lines), code


# -- jis health ---------------------------------------------------------------------------


def health(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    """The standard gRPC health check: exit 0 when SERVING, 1 when not (yet), 3 unreachable."""
    r = health_pb2_grpc.HealthStub(ch).Check(
        health_pb2.HealthCheckRequest(service=a.service), timeout=TIMEOUT_S
    )
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
    text = json.dumps({"status": status}) if a.json else status
    return text, 0 if r.status == health_pb2.HealthCheckResponse.SERVING else EXIT_REFUSED


def add_work_commands(sub: Any, server: argparse.ArgumentParser) -> None:
    """Register the daily-work commands on the `jis` subparsers."""

    def command(name: str, help_: str, run: Any, description: str = "") -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[server], help=help_, description=description or help_[0].upper() + help_[1:] + "."
        )
        p.set_defaults(run=lambda a: run_command(run, a))
        return p

    p = command(
        "build-sequence",
        "what a supplier plant builds, in order, per line and group",
        build_sequence,
        "The build sequence of a supplier: per line and group, the vehicles that need its part, "
        "by seq_no; --follow streams every change as it happens.",
    )
    p.add_argument("supplier", help="the supplier id")
    p.add_argument("--line", default="", help="only this line (default: every line)")
    p.add_argument("--group", default="", help="only this component group")
    p.add_argument("--follow", action="store_true", help="keep the stream open and print each change")
    p.add_argument(
        "--for", dest="for_s", type=float, default=0, help="with --follow: stop after this many seconds"
    )

    p = command("line", "configure a line", configure_line)
    p.add_argument("action", choices=["configure"], help="configure: create or change the line")
    p.add_argument("line_id", metavar="LINE", help="the line id")
    p.add_argument("--takt", required=True, help="time between two vehicles, e.g. 60s")
    p.add_argument(
        "--heartbeat", required=True, help="BROADCAST_SILENT after this long without a message, e.g. 5m"
    )
    p.add_argument("--epoch", default="", help="need time of seq_no 0, for derived need times (RFC 3339)")
    p.add_argument("--frozen", default="", help="frozen window before need time, e.g. 2h (default 1h)")

    p = command("supplier", "configure a supplier", configure_supplier)
    p.add_argument("action", choices=["configure"], help="configure: create or change the supplier")
    p.add_argument("supplier_id", metavar="SUPPLIER", help="the supplier id")
    p.add_argument("--lead-time", required=True, help="the MISSING horizon before a need time, e.g. 4h")
    p.add_argument("--unload-to-line", default="0", help="from the dock to line side, e.g. 10m [default 0]")

    p = command(
        "publish",
        "publish a file of broadcasts (JSON lines)",
        publish,
        "Publish broadcasts from a file, or - for stdin: one JSON object per line, protobuf's JSON of "
        "jis.v1.Broadcast, e.g. "
        '{"lineId":"L1","callNo":"1","action":"ACTION_ADD","vehicleId":"V1","seqNo":"100"}. '
        "Exit 4 when any was refused.",
    )
    p.add_argument("file", help="the file of broadcasts, or - for stdin")

    p = command("health", "ask the server's gRPC health", health)
    p.add_argument("--service", default="", help="one service (default: the server as a whole)")
