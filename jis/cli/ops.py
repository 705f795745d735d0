"""Operator commands against a running server: readable tables, or --json for scripts.
Exit codes: see :mod:`jis.cli.common`."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import secrets
import sys
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from jis.api.auth import parse_role, token_sha256
from jis.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    TIMEOUT_S,
    CliError,
    Output,
    as_json,
    channel,
    minutes,
    parse_time,
    run_command,
    server_flags,
    table,
)
from jis.cli.work import _duration, watch_breaks
from jis.v1 import (
    breaks_pb2,
    breaks_pb2_grpc,
    broadcast_pb2,
    directory_pb2,
    directory_pb2_grpc,
    dock_pb2,
    dock_pb2_grpc,
    interop_pb2,
    interop_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    sequence_pb2,
    sequence_pb2_grpc,
)


def _when(ts: Timestamp) -> str:
    return ts.ToJsonString() if ts.seconds or ts.nanos else ""


MAX_PAGES = 1_000
"""Most pages one listing reads (of up to 10,000 items each)."""


def _groups(ch: grpc.Channel) -> list[tuple[str, str]] | None:
    """(group, its servers comma-separated) of every engine group that owns a line, where
    lines are partitioned over groups; None where the server has no directory."""
    try:
        listed = directory_pb2_grpc.DirectoryServiceStub(ch).ListAssignments(
            directory_pb2.ListAssignmentsRequest(), timeout=TIMEOUT_S
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
            return None
        raise
    return sorted({x.group: ",".join(x.addresses) for x in listed.assignments}.items())


def _list_breaks(ch: grpc.Channel, req: breaks_pb2.ListBreaksRequest) -> list[breaks_pb2.SequenceBreak]:
    stub, found = breaks_pb2_grpc.BreakServiceStub(ch), []
    paged = breaks_pb2.ListBreaksRequest()
    paged.CopyFrom(req)  # the caller's request stays as given: it goes to every group
    for _ in range(MAX_PAGES):
        page = stub.ListBreaks(paged, timeout=TIMEOUT_S)
        found += page.breaks
        if not page.next_page_token:
            break
        paged.page_token = page.next_page_token
    return found


def _urgency(b: breaks_pb2.SequenceBreak) -> tuple[int, int, int, int]:
    """The server's order of open breaks (most urgent first), for breaks merged from groups."""
    need = b.need_time.ToNanoseconds() if b.HasField("need_time") else 0
    return (not b.HasField("need_time"), need, b.detected_at.ToNanoseconds(), int(b.break_id[1:] or 0))


def _breaks(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    types = [f"BREAK_TYPE_{t.upper()}" for t in a.type]
    req = breaks_pb2.ListBreaksRequest(line_id=a.line, supplier_id=a.supplier, types=types, page_size=10_000)
    if a.resolved_since:
        req.resolved_from.CopyFrom(parse_time(a.resolved_since, "--resolved-since"))
    groups = None if a.line else _groups(ch)
    missing: list[str] = []
    if groups is None:  # one server holds every line (or --line: the call goes where the line lives)
        found = _list_breaks(ch, req)
    else:  # every group's breaks, merged in the servers' order
        found = []
        for group, servers in groups:
            if not servers:
                missing.append(group)
                continue
            with channel(servers, a.token, a.tls_ca) as gch:
                found += _list_breaks(gch, req)
        found.sort(
            key=(lambda b: (b.resolved_at.ToNanoseconds(), int(b.break_id[1:])))
            if a.resolved_since
            else _urgency
        )
    if missing:
        print(
            f"jis: no server of group(s) {', '.join(missing)} is up: their breaks are missing",
            file=sys.stderr,
        )
    code = EXIT_PARTIAL if missing else EXIT_OK
    if a.json:
        return as_json(found), code
    rows = [
        (
            b.break_id,
            breaks_pb2.BreakType.Name(b.type).removeprefix("BREAK_TYPE_"),
            b.line_id,
            b.supplier_id,
            b.group,
            b.vehicle_id
            or b.rack_id
            or (f"calls {b.first_call_no}-{b.last_call_no}" if b.first_call_no else ""),
            f"{b.slack.seconds / 60:.1f} min" if b.HasField("slack") else "",
            b.action.description,
        )
        for b in found
    ]
    return table(["ID", "TYPE", "LINE", "SUPPLIER", "GROUP", "WHAT", "SLACK", "ACTION"], rows) + (
        f"\n{len(found)} {'resolved' if a.resolved_since else 'open'} break(s)"
    ), code


def _sequence(ch: grpc.Channel, a: argparse.Namespace) -> str:
    stub = sequence_pb2_grpc.SequenceServiceStub(ch)
    vehicles: list[sequence_pb2.Vehicle] = []
    token = ""
    while True:
        req = sequence_pb2.ListSequenceRequest(line_id=a.line, page_size=1000, page_token=token)
        if a.from_seq_no is not None:
            req.from_seq_no = a.from_seq_no
        if a.to_seq_no is not None:
            req.to_seq_no = a.to_seq_no
        page = stub.ListSequence(req, timeout=TIMEOUT_S)
        vehicles += page.vehicles
        token = page.next_page_token
        if not token or (a.limit and len(vehicles) >= a.limit):
            break
    if a.limit:
        vehicles = vehicles[: a.limit]
    if a.json:
        return as_json(vehicles)
    rows = [
        (
            v.seq_no,
            v.vehicle_id,
            _when(v.need_time),
            v.checkpoint,
            ", ".join(f"{p.group}={p.part_number}@{p.supplier_id}" for p in v.parts),
        )
        for v in vehicles
    ]
    return (
        table(["SEQ_NO", "VEHICLE", "NEED_TIME", "CHECKPOINT", "PARTS"], rows)
        + f"\n{len(vehicles)} vehicle(s)"
    )


def _lines(ch: grpc.Channel, a: argparse.Namespace) -> str:
    found = list(
        lines_pb2_grpc.LineServiceStub(ch).ListLines(lines_pb2.ListLinesRequest(), timeout=TIMEOUT_S).lines
    )
    if a.json:
        return as_json(found)
    rows = [
        (
            ln.line_id,
            f"{ln.takt.seconds}s",
            f"{ln.heartbeat.seconds}s",
            ln.highest_call_no,
            ln.missing_calls,
            ln.duplicates,
            ln.active_vehicles,
            _when(ln.last_broadcast_at),
        )
        for ln in found
    ]
    return table(
        ["LINE", "TAKT", "HEARTBEAT", "CALL_NO", "MISSING", "DUPLICATES", "ACTIVE", "LAST_BROADCAST"], rows
    )


def _assign(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = directory_pb2.AssignLineRequest(line_id=a.line, group=a.group)
    done = directory_pb2_grpc.DirectoryServiceStub(ch).AssignLine(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(done)
    return f"line {done.line_id} -> group {done.group} ({', '.join(done.addresses) or 'no server up'})"


def _move(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = directory_pb2.MoveLineRequest(line_id=a.line, group=a.group)
    try:
        done = directory_pb2_grpc.DirectoryServiceStub(ch).MoveLine(req, timeout=a.wait)
    except grpc.RpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:  # --wait ran out; the move goes on
            why = f"line {a.line} is still moving to group {a.group}"
        elif code == grpc.StatusCode.UNAVAILABLE:
            why = f"line {a.line} is moving, or the server at {a.server} is unavailable"
        else:
            raise
        raise CliError(
            f"{why} ({code.name}: {exc.details()}): check `jis lines where {a.line}`", EXIT_UNREACHABLE
        ) from None
    if a.json:
        return as_json(done)
    return f"line {done.line_id} moved -> group {done.group} ({', '.join(done.addresses) or 'no server up'})"


def _where(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = directory_pb2.ListAssignmentsRequest(line_ids=a.lines)
    found = list(
        directory_pb2_grpc.DirectoryServiceStub(ch).ListAssignments(req, timeout=TIMEOUT_S).assignments
    )
    if a.json:
        return as_json(found)
    return table(["LINE", "GROUP", "SERVERS"], [(x.line_id, x.group, ",".join(x.addresses)) for x in found])


def _demand(ch: grpc.Channel, a: argparse.Namespace) -> str:
    if not 0 < a.hours <= 31 * 24:
        raise CliError("--hours: between 0 and 744 (31 days)", EXIT_USAGE)
    req = reports_pb2.GetDemandRequest(
        supplier_id=a.supplier, line_id=a.line, group=a.group, bucket=_duration(a.bucket, "--bucket")
    )
    if a.since:
        getattr(req, "from").CopyFrom(parse_time(a.since, "--from"))
    else:  # from the server's now (a test-clock server's may be far from ours)
        now = lines_pb2_grpc.ClockServiceStub(ch).GetClock(lines_pb2.GetClockRequest(), timeout=TIMEOUT_S)
        getattr(req, "from").CopyFrom(now.now)
    start = getattr(req, "from").ToNanoseconds()
    stop = start + int(a.hours * 3600e9)
    req.to.FromNanoseconds(stop)
    changes = bool(a.changes_since)
    if changes:
        req.changes_since.CopyFrom(parse_time(a.changes_since, "--changes-since"))
    demand = reports_pb2_grpc.ReportServiceStub(ch).GetDemand(req, timeout=TIMEOUT_S)
    step = demand.bucket.ToNanoseconds()
    if a.csv:
        extra = ["up", "down"] if changes else []

        def columns(r: reports_pb2.DemandRow) -> list[Any]:
            return [r.quantity, r.covered, r.frozen, *((r.up, r.down) if changes else ())]

        rows = [
            [r.line_id, r.group, r.part_number, _ts(start + k * step).ToJsonString(), *cells]
            for r in demand.rows
            for k, cells in enumerate(zip(*columns(r), strict=True))
            if any(cells)
        ]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            ["line_id", "group", "part_number", "bucket_start", "quantity", "covered", "frozen", *extra]
        )
        w.writerows(rows)
        if a.csv == "-":
            return out.getvalue().rstrip("\n")
        with open(a.csv, "w", encoding="utf-8", newline="") as f:
            f.write(out.getvalue())
        return f"{len(rows)} bucket(s) of supplier {a.supplier} written to {a.csv}"
    if a.json:
        return as_json(demand)
    n = -(-(stop - start) // step)
    fmt = "%H:%M" if stop - start <= 86_400 * 10**9 else "%m-%d %H:%M"
    heads = [dt.datetime.fromtimestamp((start + k * step) / 1e9, dt.UTC).strftime(fmt) for k in range(n)]
    rows = [
        [r.line_id, r.group, r.part_number, *(q or "" for q in r.quantity), sum(r.quantity), sum(r.covered),
         sum(r.frozen), *((f"+{sum(r.up)}", f"-{sum(r.down)}") if changes else ())]
        for r in demand.rows
    ]  # fmt: skip
    churn = ["UP", "DOWN"] if changes else []
    return table(["LINE", "GROUP", "PART", *heads, "TOTAL", "COVERED", "FROZEN", *churn], rows) + (
        f"\ndemand of supplier {a.supplier} from {_when(getattr(demand, 'from'))}, "
        f"{minutes(demand.bucket)} buckets (need times, UTC)"
        + (f"; changes since {a.changes_since}" if changes else "")
    )


def _ts(ns: int) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(ns)
    return t


def _inventory(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = reports_pb2.GetInventoryRequest(line_id=a.line, supplier_id=a.supplier, group=a.group)
    inv = reports_pb2_grpc.ReportServiceStub(ch).GetInventory(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(inv)
    rows = [
        (
            i.supplier_id,
            i.group,
            i.expected,
            i.planned,
            i.built,
            i.in_transit,
            i.at_dock,
            i.line_side,
            i.consumed,
            minutes(i.plant_coverage),
            minutes(i.coverage),
        )
        for i in inv.scopes
    ]
    headers = ["SUPPLIER", "GROUP", "EXPECTED", "PLANNED", "BUILT", "IN_TRANSIT", "AT_DOCK", "LINE_SIDE"]
    return table([*headers, "CONSUMED", "COVERAGE_AT_PLANT", "COVERAGE"], rows) + (
        f"\nline {a.line} at {_when(inv.at)}"
    )


def _ratio(k: Message, name: str) -> str:
    return f"{100 * getattr(k, name):.1f} %" if k.HasField(name) else "n/a"


def _kpis(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = reports_pb2.GetKpisRequest(line_id=a.line, supplier_id=a.supplier)
    if a.since:
        getattr(req, "from").CopyFrom(parse_time(a.since, "--since"))
    if a.until:
        req.to.CopyFrom(parse_time(a.until, "--until"))
    k = reports_pb2_grpc.ReportServiceStub(ch).GetKpis(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(k)
    rows = [
        ("OTIF", f"{_ratio(k, 'otif')} ({k.racks_otif} of {k.racks_delivered} racks)"),
        ("  on time", k.racks_on_time),
        ("  in full", k.racks_in_full),
        ("  right variants", k.racks_right_variants),
        ("  right order", k.racks_right_order),
        (
            "sequence accuracy",
            f"{_ratio(k, 'sequence_accuracy')} ({k.slots_in_sequence} of {k.slots_delivered})",
        ),
        (
            "lead time",
            f"{minutes(k.lead_time_mean)} +- {minutes(k.lead_time_stddev)} (n={k.lead_time_samples})",
        ),
        ("time to detect", minutes(k.mean_time_to_detect)),
        ("time to resolve", minutes(k.mean_time_to_resolve)),
        ("gate wait", f"{minutes(k.gate_wait_mean)} ({k.appointments} appointments)"),
        ("door dwell", minutes(k.door_dwell_mean)),
    ]
    rows += [
        (
            f"breaks {breaks_pb2.BreakType.Name(b.type).removeprefix('BREAK_TYPE_')}",
            f"{b.raised} raised, {b.resolved} resolved",
        )
        for b in k.breaks
        if b.raised or b.resolved
    ]
    return table(["KPI", "VALUE"], rows)


def _appointment_row(x: dock_pb2.Appointment) -> tuple[object, ...]:
    return (
        x.spec.door,
        x.spec.appointment_id,
        dock_pb2.AppointmentState.Name(x.state).removeprefix("APPOINTMENT_STATE_"),
        f"{_when(x.spec.window_start)} .. {_when(x.spec.window_end)}",
        x.spec.supplier_id,
        x.spec.trailer,
        len(x.spec.rack_ids),
        minutes(x.gate_wait) if x.HasField("gate_wait") else "",
        minutes(x.door_dwell) if x.HasField("door_dwell") else "",
        "" if not x.HasField("punctuality") else minutes(x.punctuality) + ("" if x.on_time else " (late)"),
    )


def _dock(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = dock_pb2.GetYardRequest(door=a.door)
    if a.since:
        getattr(req, "from").CopyFrom(parse_time(a.since, "--since"))
    if a.until:
        req.to.CopyFrom(parse_time(a.until, "--until"))
    yard = dock_pb2_grpc.DockServiceStub(ch).GetYard(req, timeout=TIMEOUT_S)
    if a.json:
        return as_json(yard)
    headers = [
        "DOOR",
        "APPOINTMENT",
        "STATE",
        "WINDOW",
        "SUPPLIER",
        "TRAILER",
        "RACKS",
        "GATE_WAIT",
        "DWELL",
        "PUNCTUALITY",
    ]
    schedule = [_appointment_row(x) for d in yard.doors for x in d.appointments]
    return (
        f"yard at {_when(yard.at)}: {len(yard.waiting)} trailer(s) waiting, {len(yard.at_door)} at a door\n"
        + table(headers, schedule)
    )


def _token(a: argparse.Namespace) -> int:
    try:
        parse_role(a.role)
    except ValueError as exc:
        print(f"jis: {exc}", file=sys.stderr)
        return EXIT_USAGE
    token = secrets.token_urlsafe(32)
    entry: dict[str, object] = {"name": a.name, "role": a.role, "token_sha256": token_sha256(token)}
    if a.line:
        entry["lines"] = a.line
    print(f"token (give it to {a.name}; it is not stored anywhere): {token}")
    print(f'credentials-file entry (add to "identities"): {json.dumps(entry)}')
    return 0


def _deljit(ch: grpc.Channel, a: argparse.Namespace) -> Output:
    try:
        with open(a.file, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CliError(f"cannot read {a.file}: {exc.strerror}") from None
    reply = interop_pb2_grpc.InteropServiceStub(ch).ImportDeljit(
        interop_pb2.ImportDeljitRequest(interchange=data, call_no_from_bgm=a.call_no_from_bgm),
        timeout=TIMEOUT_S * 6,
    )
    partial = EXIT_PARTIAL if reply.rejected or reply.messages_refused else 0
    if a.json:
        return as_json(reply), partial
    rows = []
    for m in reply.messages:
        if not m.accepted:
            rows.append(
                (m.reference, "REFUSED", "", "", f"segment {m.segment_position} {m.segment_tag}: {m.error}")
            )
        for r in m.results:
            status = broadcast_pb2.Disposition.Name(r.disposition).removeprefix("DISPOSITION_")
            rows.append((m.reference, status, r.line_id, r.call_no, r.message))
    return table(["MESSAGE", "RESULT", "LINE", "CALL_NO", "DETAIL"], rows) + (
        f"\ninterchange {reply.interchange_reference}: {reply.applied} applied, "
        f"{reply.duplicates} duplicate(s), {reply.rejected} rejected, "
        f"{reply.messages_refused} message(s) refused"
    ), partial


def _desadv(ch: grpc.Channel, a: argparse.Namespace) -> str:
    if bool(a.rack_ids) == bool(a.appointment):
        raise CliError("give rack ids (a message per rack) or --appointment (a message per truck)")
    req = interop_pb2.ExportDesadvRequest(
        rack_ids=a.rack_ids,
        appointment_id=a.appointment,
        include_seq_no=a.seq_no,
        sender=a.sender,
        recipient=a.recipient,
    )
    reply = interop_pb2_grpc.InteropServiceStub(ch).ExportDesadv(req, timeout=TIMEOUT_S)
    if a.output:
        try:
            with open(a.output, "wb") as f:
                f.write(reply.interchange)
        except OSError as exc:
            raise CliError(f"-o: cannot write {a.output}: {exc.strerror}") from None
        if a.json:
            return json.dumps({"reference": reply.reference, "racks": reply.racks, "file": a.output})
        return f"DESADV {reply.reference} for {reply.racks} rack(s) written to {a.output}"
    text = str(reply.interchange.decode("utf-8"))
    if a.json:
        return json.dumps({"reference": reply.reference, "racks": reply.racks, "interchange": text}, indent=2)
    return text


def add_commands(sub: Any, server: argparse.ArgumentParser) -> None:
    """Register the operator commands on the `jis` subparsers (``server``: the connection flags)."""

    p = sub.add_parser(
        "breaks",
        parents=[server],
        help="open sequence breaks, most urgent first",
        description="Open sequence breaks, most urgent first.",
    )
    p.add_argument("--line", default="", help="only this line")
    p.add_argument("--supplier", default="", help="only this supplier")
    p.add_argument(
        "--type",
        action="append",
        default=[],
        choices=[
            name.removeprefix("BREAK_TYPE_").lower()
            for name, _ in breaks_pb2.BreakType.items()
            if not name.endswith("UNSPECIFIED")
        ],
        help="only this break type (repeatable)",
    )
    p.add_argument(
        "--resolved-since",
        default="",
        help="list the breaks resolved since then instead: RFC 3339, a date, today, yesterday or -6h",
    )
    p.add_argument(
        "--watch", action="store_true", help="follow: the open breaks, then each one raised and resolved"
    )
    p.add_argument(
        "--for", dest="for_s", type=float, default=0, help="with --watch: stop after this many seconds"
    )
    p.set_defaults(run=lambda a: run_command(watch_breaks if a.watch else _breaks, a))

    p = sub.add_parser(
        "sequence",
        parents=[server],
        help="the active sequence of a line, by seq_no",
        description="The active sequence of a line, by seq_no.",
    )
    p.add_argument("--line", required=True, help="the line")
    p.add_argument("--from", dest="from_seq_no", type=int, default=None, help="first seq_no")
    p.add_argument("--to", dest="to_seq_no", type=int, default=None, help="last seq_no")
    p.add_argument("--limit", type=int, default=0, help="at most this many vehicles (0: all)")
    p.set_defaults(run=lambda a: run_command(_sequence, a))

    p = sub.add_parser(
        "lines",
        parents=[server],
        help="configured lines and their ingest position; where lines live (groups)",
        description="Configured lines and their ingest position. With lines partitioned over engine "
        "groups (jis serve --group): `lines assign LINE GROUP` (admin), `lines move LINE GROUP` "
        "(admin: with the line's state) and `lines where [LINE ...]`.",
    )
    p.set_defaults(run=lambda a: run_command(_lines, a))
    lines_sub = p.add_subparsers(dest="lines_action", metavar="{assign,move,where}")
    again = server_flags(defaults=False)  # before or after the sub-command: both count
    q = lines_sub.add_parser("assign", parents=[again], help="assign a line to an engine group (role admin)")
    q.add_argument("line", help="the line")
    q.add_argument("group", help="the engine group (jis serve --group)")
    q.set_defaults(run=lambda a: run_command(_assign, a))
    q = lines_sub.add_parser(
        "move", parents=[again], help="move a line with its state to another engine group (role admin)"
    )
    q.add_argument("line", help="the line")
    q.add_argument("group", help="the receiving engine group")
    q.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the move to complete")
    q.set_defaults(run=lambda a: run_command(_move, a))
    q = lines_sub.add_parser("where", parents=[again], help="which group owns each line, and its servers")
    q.add_argument("lines", nargs="*", help="these lines (default: every assigned line)")
    q.set_defaults(run=lambda a: run_command(_where, a))

    p = sub.add_parser(
        "demand",
        parents=[server],
        help="a supplier's summarized demand: parts per hour ahead, covered and frozen",
        description="A supplier's summarized demand (capacity planning): per line, group and part "
        "number, the parts the vehicles in the sequence need per bucket of need time, with the "
        "totals already covered by built or racked slots and inside the line's frozen window.",
    )
    p.add_argument("supplier", help="the supplier")
    p.add_argument("--line", default="", help="only this line (default: every line)")
    p.add_argument("--group", default="", help="only this component group")
    p.add_argument("--bucket", default="1h", help="bucket length, e.g. 1h, 30m (default 1h)")
    p.add_argument("--hours", type=float, default=24, help="hours of need time ahead (default 24)")
    p.add_argument(
        "--from",
        dest="since",
        default="",
        help="window start: RFC 3339, now, -6h ... (default: the server's now)",
    )
    p.add_argument(
        "--changes-since", default="", help="also what changes since then did per part (UP, DOWN): -24h ..."
    )
    p.add_argument("--csv", default="", help="write the buckets as CSV to this file ('-': stdout)")
    p.set_defaults(run=lambda a: run_command(_demand, a))

    p = sub.add_parser(
        "inventory",
        parents=[server],
        help="slots per stage and coverage of a line",
        description="Slots per stage and coverage of a line.",
    )
    p.add_argument("--line", required=True, help="the line")
    p.add_argument("--supplier", default="", help="only this supplier")
    p.add_argument("--group", default="", help="only this component group")
    p.set_defaults(run=lambda a: run_command(_inventory, a))

    window = argparse.ArgumentParser(add_help=False)
    window.add_argument(
        "--since", default="", help="window start: RFC 3339, a date, today, -6h ... (default: open)"
    )
    window.add_argument("--until", default="", help="window end, as --since (default: open)")

    p = sub.add_parser(
        "kpis",
        parents=[server, window],
        help="OTIF, accuracy, lead time, breaks, dock KPIs",
        description="OTIF, accuracy, lead time, breaks, dock KPIs.",
    )
    p.add_argument("--line", default="", help="only this line")
    p.add_argument("--supplier", default="", help="only this supplier")
    p.set_defaults(run=lambda a: run_command(_kpis, a))

    p = sub.add_parser(
        "deljit",
        parents=[server],
        help="EDIFACT DELJIT: import an interchange as broadcasts",
        description="EDIFACT DELJIT: import an interchange as broadcasts.",
    )
    p.add_argument("action", choices=["import"], help="import: publish the interchange's broadcasts")
    p.add_argument("file", help="the interchange file (UNA optional)")
    p.add_argument(
        "--call-no-from-bgm",
        action="store_true",
        help="each message's call number is its BGM document number (RFF+AAN is not read; "
        "one SEQ group per message)",
    )
    p.set_defaults(run=lambda a: run_command(_deljit, a))

    p = sub.add_parser(
        "desadv",
        parents=[server],
        help="EDIFACT DESADV for dispatched racks",
        description="EDIFACT DESADV for dispatched racks.",
    )
    p.add_argument("rack_ids", nargs="*", metavar="RACK", help="dispatched rack ids, one message each")
    p.add_argument(
        "--appointment",
        default="",
        metavar="ID",
        help="instead of racks: one message for this appointment's truck (CPS truck -> rack -> slot)",
    )
    p.add_argument(
        "--seq-no", action="store_true", help="also give each vehicle's seq_no (RFF+AAN:<call_no>:<seq_no>)"
    )
    p.add_argument("-o", "--output", default="", help="write the interchange here (default: stdout)")
    p.add_argument("--sender", default="", help="UNB sender (default: the racks' supplier)")
    p.add_argument("--recipient", default="", help="UNB recipient (default: JIS)")
    p.set_defaults(run=lambda a: run_command(_desadv, a))

    p = sub.add_parser(
        "token",
        help="make a bearer token and its credentials-file entry",
        description="Make a bearer token and its credentials-file entry.",
    )
    p.add_argument("name", help="who it is for, e.g. seatco-plant-2")
    p.add_argument("role", help="admin, operator, mes, dock or supplier:<id>")
    p.add_argument("--line", action="append", default=[], help="mes only: a line it may publish for")
    p.set_defaults(run=_token)

    p = sub.add_parser(
        "dock",
        parents=[server, window],
        help="the yard and each door's schedule",
        description="The yard and each door's schedule.",
    )
    p.add_argument("--door", default="", help="only this door")
    p.set_defaults(run=lambda a: run_command(_dock, a))
