"""`jis whatif`: built-in scenarios for WhatIfService.Run, answered as readable tables.

    jis whatif late-rack RACK --by 90m       the rack's ETA moves 90 minutes later
    jis whatif supplier-stop SUPPLIER --for 3h   the supplier builds nothing for 3 hours
    jis whatif pull VEHICLE [VEHICLE ...]    the MES pulls these vehicles (paint repair)

Each runs from the server's state now to --horizon (default 8h) next to the same horizon
without the scenario, and prints the breaks that differ (all with --all), the KPIs the
scenario changes, and what the plan assumed.
"""

from __future__ import annotations

import argparse
import collections
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from jis.cli.common import TIMEOUT_S, CliError, as_json, minutes, parse_time, run_command, table
from jis.cli.work import _duration
from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    common_pb2,
    lines_pb2,
    lines_pb2_grpc,
    reports_pb2,
    sequence_pb2,
    sequence_pb2_grpc,
    supply_pb2,
    supply_pb2_grpc,
    whatif_pb2,
    whatif_pb2_grpc,
)

RUN_TIMEOUT_S = 600.0
"""The what-if's own bound is the server's CPU budget; this only stops waiting forever."""


def _hhmm(ts: Timestamp) -> str:
    return f"{ts.ToDatetime():%H:%M}" if ts.seconds or ts.nanos else ""


def _late_rack(ch: grpc.Channel, a: argparse.Namespace) -> whatif_pb2.WhatIfRequest:
    rack = supply_pb2_grpc.SupplyServiceStub(ch).GetRack(
        supply_pb2.GetRackRequest(rack_id=a.rack), timeout=TIMEOUT_S
    )
    if rack.stage != supply_pb2.RACK_STAGE_IN_TRANSIT:
        raise CliError(
            f"rack {a.rack} is {supply_pb2.RackStage.Name(rack.stage)}: only a rack in transit can be late"
        )
    eta = Timestamp()
    eta.FromNanoseconds(rack.eta.ToNanoseconds() + _duration(a.by, "--by").ToNanoseconds())
    late = whatif_pb2.ScenarioInput(rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id=a.rack, eta=eta))
    return whatif_pb2.WhatIfRequest(inputs=[late])


def _supplier_stop(ch: grpc.Channel, a: argparse.Namespace) -> whatif_pb2.WhatIfRequest:
    stop = whatif_pb2.SupplierStop(supplier_id=a.supplier, duration=_duration(a.for_, "--for"))
    if a.since:
        getattr(stop, "from").CopyFrom(parse_time(a.since, "--from"))
    return whatif_pb2.WhatIfRequest(supplier_stops=[stop])


def _pull(ch: grpc.Channel, a: argparse.Namespace) -> whatif_pb2.WhatIfRequest:
    """One PULL per vehicle, numbered after each line's highest call number, as its MES would."""
    sequence = sequence_pb2_grpc.SequenceServiceStub(ch)
    lines = lines_pb2_grpc.LineServiceStub(ch)
    next_call: dict[str, int] = {}
    inputs = []
    for vehicle_id in dict.fromkeys(a.vehicles):
        v = sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=vehicle_id), timeout=TIMEOUT_S)
        if v.line_id not in next_call:
            line = lines.GetLine(lines_pb2.GetLineRequest(line_id=v.line_id), timeout=TIMEOUT_S)
            next_call[v.line_id] = line.highest_call_no + 1
        pull = broadcast_pb2.Broadcast(
            line_id=v.line_id,
            call_no=next_call[v.line_id],
            action=common_pb2.ACTION_PULL,
            vehicle_id=vehicle_id,
            checkpoint=a.checkpoint,
        )
        next_call[v.line_id] += 1
        inputs.append(whatif_pb2.ScenarioInput(broadcast=pull))
    return whatif_pb2.WhatIfRequest(inputs=inputs)


BUILDERS = {"late-rack": _late_rack, "supplier-stop": _supplier_stop, "pull": _pull}


def _scope(b: breaks_pb2.SequenceBreak) -> str:
    where = [b.line_id, b.supplier_id, b.group]
    if b.vehicle_id:
        where.append(b.vehicle_id)
    if b.rack_id:
        where.append(f"{b.rack_id}#{b.position + 1}" if b.position >= 0 and b.vehicle_id else b.rack_id)
    if b.first_call_no:
        where.append(f"calls {b.first_call_no}-{b.last_call_no}")
    return " ".join(x for x in where if x)


def _ratio(k: reports_pb2.Kpis, name: str) -> str:
    return f"{getattr(k, name):.0%}" if k.HasField(name) else "-"


def render(res: whatif_pb2.WhatIfResult, show_all: bool) -> str:
    change = {
        v: whatif_pb2.WhatIfChange.Name(v).removeprefix("WHAT_IF_CHANGE_")
        for v in whatif_pb2.WhatIfChange.values()
    }
    shown = [w for w in res.breaks if show_all or w.change != whatif_pb2.WHAT_IF_CHANGE_SAME]
    rows = [
        (
            change[w.change],
            breaks_pb2.BreakType.Name(w.sequence_break.type).removeprefix("BREAK_TYPE_"),
            _scope(w.sequence_break),
            _hhmm(w.sequence_break.detected_at),
            _hhmm(w.sequence_break.resolved_at) or "open",
            f"{_hhmm(w.baseline_detected_at)}-{_hhmm(w.baseline_resolved_at) or 'open'}"
            if w.HasField("baseline_detected_at")
            else "",
            w.sequence_break.action.description,
        )
        for w in shown
    ]
    out = [
        f"what-if from {res.forked_at.ToJsonString()} to {res.until.ToJsonString()} "
        f"(CPU {res.cpu.ToNanoseconds() / 1e9:.2f} s), against the same horizon without it",
        "",
        table(["CHANGE", "BREAK", "SCOPE", "DETECTED", "RESOLVED", "BASELINE", "ACTION"], rows)
        if rows
        else "no break differs from the baseline",
    ]
    counts = collections.Counter(change[w.change] for w in res.breaks)
    out.append("breaks: " + (", ".join(f"{n} {c.lower()}" for c, n in sorted(counts.items())) or "none"))
    kpi_rows = [
        (
            " ".join(x for x in (k.line_id, k.supplier_id) if x) or "plant",
            f"{k.scenario.racks_delivered} / {k.baseline.racks_delivered}",
            f"{_ratio(k.scenario, 'otif')} / {_ratio(k.baseline, 'otif')}",
            f"{_ratio(k.scenario, 'sequence_accuracy')} / {_ratio(k.baseline, 'sequence_accuracy')}",
            f"{minutes(k.scenario.lead_time_mean)} / {minutes(k.baseline.lead_time_mean)}",
        )
        for k in res.kpis
    ]
    out += ["", "KPIs over the horizon, scenario / baseline:"]
    out.append(table(["SCOPE", "RACKS DELIVERED", "OTIF", "SEQ ACCURACY", "LEAD TIME"], kpi_rows))
    for r in res.rejected:
        out.append(f"input {r.index} refused ({r.code}): {r.field}: {r.message}")
    planned = collections.Counter(x.WhichOneof("input") for x in res.planned)
    out.append(
        f"plan assumed: {planned['build']} build(s) just in time, "
        f"{planned['move_rack']} rack arrival(s) at their ETA"
    )
    return "\n".join(out)


def _whatif(ch: grpc.Channel, a: argparse.Namespace) -> str:
    req = BUILDERS[a.scenario](ch, a)
    req.horizon.CopyFrom(_duration(a.horizon, "--horizon"))
    if a.build_ahead:
        req.plan.build_ahead.CopyFrom(_duration(a.build_ahead, "--build-ahead"))
    if a.no_plan:
        req.plan.builds = False
        req.plan.arrivals = False
    res = whatif_pb2_grpc.WhatIfServiceStub(ch).Run(req, timeout=RUN_TIMEOUT_S)
    return as_json(res) if a.json else render(res, a.all)


def add_whatif(sub: Any, server: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "whatif",
        help="what would follow a late rack, a supplier stop or pulled vehicles (on a copy of the state)",
        description="Run a scenario on a fork of the server's state (never written back) up to a "
        "horizon, next to the same horizon without it, and print the breaks that differ, with their "
        "recovery actions, and the KPIs. Both runs assume suppliers build each part just in time and "
        "racks in transit arrive at their ETA (--no-plan: nothing happens unless sent). Role operator.",
    )
    scenarios = p.add_subparsers(dest="scenario", required=True, metavar="{late-rack,supplier-stop,pull}")

    def scenario(name: str, help_text: str) -> argparse.ArgumentParser:
        q: argparse.ArgumentParser = scenarios.add_parser(
            name, parents=[server], help=help_text, description=help_text
        )
        q.add_argument("--horizon", default="8h", help="how far ahead both runs go (default 8h, at most 7d)")
        q.add_argument(
            "--build-ahead", default="", help="the plan builds this long before MISSING (default 5m)"
        )
        q.add_argument("--no-plan", action="store_true", help="assume no builds and no arrivals")
        q.add_argument("--all", action="store_true", help="also the breaks that stay the same")
        q.set_defaults(run=lambda a: run_command(_whatif, a))
        return q

    q = scenario("late-rack", "a rack in transit arrives later than its ETA")
    q.add_argument("rack", help="the rack")
    q.add_argument("--by", required=True, help="how much later, e.g. 90m")
    q = scenario("supplier-stop", "a supplier builds nothing for a while, then catches up")
    q.add_argument("supplier", help="the supplier")
    q.add_argument("--for", dest="for_", required=True, help="how long, e.g. 3h")
    q.add_argument("--from", dest="since", default="", help="when the stop starts (default: now)")
    q = scenario("pull", "the MES pulls vehicles from the sequence (e.g. for paint repair)")
    q.add_argument("vehicles", nargs="+", help="the vehicles")
    q.add_argument("--checkpoint", default="PAINT_OUT", help="the pulls' checkpoint (default PAINT_OUT)")
