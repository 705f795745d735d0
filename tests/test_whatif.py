"""What-if (WhatIfService.Run) through a real server: its predictions against the same
inputs played for real on a copy of the server (same log), the live state and the store
untouched by a hundred random scenarios, its bounds, its refusals, and `jis whatif`.

The state is 90 minutes of the simulated plant day (`jis simulate`): racks in transit,
appointments, breaks open. Each test runs a server on its own copy of that data folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from jis.api import convert
from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    common_pb2,
    dock_pb2,
    lines_pb2,
    reports_pb2,
    sequence_pb2,
    supply_pb2,
    whatif_pb2,
)
from tests.conftest import Client, all_breaks, connect
from tests.serverproc import ServerProcess

NS = 10**9
MIN = 60 * NS
SUPPLIERS = ("SEATCO", "DASHCO")
CHANGE = whatif_pb2.WhatIfChange


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stopped server's data folder after 90 minutes of the simulated day."""
    data = tmp_path_factory.mktemp("whatif") / "data"
    proc = ServerProcess(data, "--test-clock").start()
    try:
        cmd = [
            sys.executable,
            "-m",
            "jis",
            "simulate",
            "--server",
            proc.address,
            "--seed",
            "4",
            "--hours",
            "1.5",
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    finally:
        proc.stop()
    return data


_copies = iter(range(1_000_000))


@contextlib.contextmanager
def copy_of(day: Path, tmp_path: Path, *flags: str) -> Iterator[tuple[ServerProcess, Client]]:
    """A server on a copy of the day's data folder (the same log and snapshot)."""
    data = tmp_path / f"copy{next(_copies)}"
    shutil.copytree(day, data)
    proc = ServerProcess(data, "--test-clock", *flags).start()
    c = connect(proc.address)
    try:
        yield proc, c
    finally:
        c.channel.close()
        proc.stop_if_running()


ts, dur = convert.ns_to_ts, convert.ns_to_duration  # the API's own conversions


def now(c: Client) -> int:
    return c.clock.GetClock(lines_pb2.GetClockRequest(), timeout=10).now.ToNanoseconds()


def racks(c: Client) -> list[supply_pb2.Rack]:
    """Every rack of the day (the simulation numbers them across suppliers)."""
    out = []
    for i in range(1, 400):
        for sup in SUPPLIERS:
            try:
                out.append(c.supply.GetRack(supply_pb2.GetRackRequest(rack_id=f"{sup}-R{i:05d}"), timeout=10))
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.NOT_FOUND
    return out


def in_transit(c: Client) -> list[supply_pb2.Rack]:
    return [r for r in racks(c) if r.stage == supply_pb2.RACK_STAGE_IN_TRANSIT]


def active(c: Client) -> list[sequence_pb2.Vehicle]:
    return list(c.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id="L1"), timeout=10).vehicles)


def highest_call(c: Client) -> int:
    return c.lines.GetLine(lines_pb2.GetLineRequest(line_id="L1"), timeout=10).highest_call_no


def pull(call_no: int, vehicle_id: str, at: int | None = None) -> whatif_pb2.ScenarioInput:
    b = broadcast_pb2.Broadcast(
        line_id="L1", call_no=call_no, action=common_pb2.ACTION_PULL, vehicle_id=vehicle_id
    )
    x = whatif_pb2.ScenarioInput(broadcast=b)
    if at is not None:
        x.at.CopyFrom(ts(at))
    return x


# -- playing a scenario for real ------------------------------------------------------


def apply(c: Client, x: whatif_pb2.ScenarioInput) -> None:
    which = x.WhichOneof("input")
    m = getattr(x, which)
    call = {
        "broadcast": lambda: c.broadcast.Publish(broadcast_pb2.PublishRequest(broadcast=m), timeout=10),
        "build": lambda: c.supply.ReportBuild(m, timeout=10),
        "dispatch": lambda: c.supply.DispatchRack(m, timeout=10),
        "move_rack": lambda: c.supply.MoveRack(m, timeout=10),
        "rack_eta": lambda: c.supply.UpdateRackEta(m, timeout=10),
        "book_appointment": lambda: c.dock.BookAppointment(m, timeout=10),
        "change_appointment": lambda: c.dock.ChangeAppointment(m, timeout=10),
        "cancel_appointment": lambda: c.dock.CancelAppointment(m, timeout=10),
        "yard_event": lambda: c.dock.RecordYardEvent(m, timeout=10),
    }[which]
    call()


def play_for_real(c: Client, req: whatif_pb2.WhatIfRequest, res: whatif_pb2.WhatIfResult) -> None:
    """The scenario's inputs and the plan's, each at its time, in the what-if's order (the
    scenario's first at a time, then the plan's as it made them); a refused input must be
    refused here with the same code."""
    fork = res.forked_at.ToNanoseconds()
    refused = {r.index: r for r in res.rejected}
    steps = [(x.at.ToNanoseconds() if x.HasField("at") else fork, 0, i, x) for i, x in enumerate(req.inputs)]
    steps += [(x.at.ToNanoseconds(), 1, j, x) for j, x in enumerate(res.planned)]
    clock = now(c)
    assert clock == fork
    for at, kind, i, x in sorted(steps, key=lambda s: s[:3]):
        if at > clock:
            c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(at)), timeout=10)
            clock = at
        if kind == 0 and i in refused:
            with pytest.raises(grpc.RpcError) as err:
                apply(c, x)
            assert err.value.code().name == refused[i].code, err.value.details()
        else:
            apply(c, x)
    until = res.until.ToNanoseconds()
    if until > clock:
        c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(until)), timeout=10)


def key(b: breaks_pb2.SequenceBreak) -> tuple[Any, ...]:
    resolved = b.resolved_at.ToNanoseconds() if b.HasField("resolved_at") else None
    return (b.break_id, b.type, b.line_id, b.supplier_id, b.group, b.vehicle_id, b.rack_id, b.position,
            b.first_call_no, b.detected_at.ToNanoseconds(), resolved, b.action.description)  # fmt: skip


def real_breaks(c: Client, fork: int, until: int, open_at_fork: set[str]) -> set[tuple[Any, ...]]:
    """The breaks raised since the fork or open then and resolved since, as the server has them."""
    opened = all_breaks(c, breaks_pb2.ListBreaksRequest()).breaks
    resolved = all_breaks(
        c, breaks_pb2.ListBreaksRequest(resolved_from=ts(fork), resolved_to=ts(until + 1))
    ).breaks
    return {
        key(b) for b in [*opened, *resolved] if b.break_id not in open_at_fork or b.HasField("resolved_at")
    }


def predicted(res: whatif_pb2.WhatIfResult) -> set[tuple[Any, ...]]:
    return {key(w.sequence_break) for w in res.breaks if w.change != CHANGE.WHAT_IF_CHANGE_AVOIDED}


def scenario(name: str, c: Client) -> whatif_pb2.WhatIfRequest:
    at = now(c)
    late = in_transit(c)
    assert len(late) >= 4, "the day leaves racks in transit"
    call = highest_call(c) + 1
    if name == "late-rack":
        eta = late[0].eta.ToNanoseconds() + 90 * MIN
        x = whatif_pb2.ScenarioInput(
            rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id=late[0].rack_id, eta=ts(eta))
        )
        return whatif_pb2.WhatIfRequest(inputs=[x], horizon=dur(4 * 60 * MIN))
    if name == "supplier-stop":
        stop = whatif_pb2.SupplierStop(supplier_id="SEATCO", duration=dur(2 * 60 * MIN))
        getattr(stop, "from").CopyFrom(ts(at + 10 * MIN))
        return whatif_pb2.WhatIfRequest(supplier_stops=[stop], horizon=dur(4 * 60 * MIN))
    if name == "pull-and-reinsert":  # vehicles on a rack in transit, one back 40 minutes later
        live = {v.vehicle_id for v in active(c)}
        rack = next(r for r in late if all(s.vehicle_id in live for s in r.slots))
        vehicles = [s.vehicle_id for s in rack.slots[:3]]
        back = broadcast_pb2.Broadcast(
            line_id="L1",
            call_no=call + 3,
            action=common_pb2.ACTION_REINSERT,
            vehicle_id=vehicles[0],
            seq_no=10**6,
        )
        inputs = [pull(call + k, v) for k, v in enumerate(vehicles)]
        inputs.append(whatif_pb2.ScenarioInput(at=ts(at + 40 * MIN), broadcast=back))
        return whatif_pb2.WhatIfRequest(inputs=inputs, horizon=dur(3 * 60 * MIN))
    assert name == "mixed"  # an early truck, a wrong build, a refused input, a new rack and a stop
    v = active(c)[-1]
    sup = "DASHCO"
    wrong = whatif_pb2.ScenarioInput(
        at=ts(at + 5 * MIN),
        build=supply_pb2.ReportBuildRequest(
            supplier_id=sup, group="COCKPIT", line_id="L1", vehicle_id=v.vehicle_id, part_number="C-WRONG"
        ),
    )
    early = whatif_pb2.ScenarioInput(
        at=ts(at + 2 * MIN),
        move_rack=supply_pb2.MoveRackRequest(rack_id=late[-1].rack_id, stage=supply_pb2.RACK_STAGE_AT_DOCK),
    )
    unknown = whatif_pb2.ScenarioInput(
        rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id="NO-SUCH-RACK", eta=ts(at))
    )
    new_rack = whatif_pb2.ScenarioInput(
        at=ts(at + 30 * MIN),
        dispatch=supply_pb2.DispatchRackRequest(
            rack_id="WHATIF-R1", supplier_id=sup, group="COCKPIT", line_id="L1", capacity=6,
            slots=[supply_pb2.RackSlot(vehicle_id=v.vehicle_id, part_number="C-BASE")], eta=ts(at + 50 * MIN),
        ),
    )  # fmt: skip
    stop = whatif_pb2.SupplierStop(supplier_id=sup, duration=dur(45 * MIN))
    return whatif_pb2.WhatIfRequest(
        inputs=[wrong, early, unknown, new_rack, pull(call, active(c)[5].vehicle_id, at + 20 * MIN)],
        supplier_stops=[stop],
        horizon=dur(3 * 60 * MIN),
    )


@pytest.mark.parametrize("name", ["late-rack", "supplier-stop", "pull-and-reinsert", "mixed"])
def test_a_scenario_played_for_real_gives_the_breaks_the_whatif_predicted(
    day: Path, tmp_path: Path, name: str
) -> None:
    with copy_of(day, tmp_path) as (_, c):
        req = scenario(name, c)
        open_at_fork = {b.break_id for b in all_breaks(c, breaks_pb2.ListBreaksRequest()).breaks}
        res = c.whatif.Run(req, timeout=120)
        changed = [w for w in res.breaks if w.change != CHANGE.WHAT_IF_CHANGE_SAME]
        assert changed, f"the scenario changes something: {res.rejected}"
        if name == "mixed":
            assert [(r.index, r.code, r.field) for r in res.rejected] == [(2, "NOT_FOUND", "rack_id")]
        else:
            assert not res.rejected
        fork, until = res.forked_at.ToNanoseconds(), res.until.ToNanoseconds()
        assert res.planned, "the plan built parts or brought racks in"
        play_for_real(c, req, res)
        assert real_breaks(c, fork, until, open_at_fork) == predicted(res)
        # and the KPIs over the horizon are the scenario's
        real = c.reports.GetKpis(
            reports_pb2.GetKpisRequest(**{"from": ts(fork), "to": ts(until + 1)}), timeout=10
        )
        plant = res.kpis[0]
        assert (plant.line_id, plant.supplier_id) == ("", "")
        for field in ("racks_delivered", "racks_otif", "slots_delivered", "slots_in_sequence"):
            assert getattr(real, field) == getattr(plant.scenario, field), field


def test_the_scenarios_change_what_they_should(day: Path, tmp_path: Path) -> None:
    """What each built-in kind of scenario does against its baseline."""
    with copy_of(day, tmp_path) as (_, c):
        res = c.whatif.Run(scenario("supplier-stop", c), timeout=120)
        fork = res.forked_at.ToNanoseconds()
        new = [w.sequence_break for w in res.breaks if w.change == CHANGE.WHAT_IF_CHANGE_NEW]
        assert new and all(b.type == breaks_pb2.BREAK_TYPE_MISSING and b.supplier_id == "SEATCO" for b in new)
        # detected during the stop, resolved when it ends (the supplier catches up), with the action
        assert all(fork + 10 * MIN <= b.detected_at.ToNanoseconds() <= fork + 130 * MIN for b in new)
        assert {b.resolved_at.ToNanoseconds() for b in new} == {fork + 130 * MIN}
        assert all(b.action.kind == breaks_pb2.RECOVERY_KIND_BUILD_PART for b in new)

        res = c.whatif.Run(scenario("pull-and-reinsert", c), timeout=120)
        new = [w.sequence_break for w in res.breaks if w.change == CHANGE.WHAT_IF_CHANGE_NEW]
        orphans = {b.vehicle_id for b in new if b.type == breaks_pb2.BREAK_TYPE_ORPHAN}
        assert len(orphans) == 3
        back = [b for b in new if b.type == breaks_pb2.BREAK_TYPE_ORPHAN and b.HasField("resolved_at")]
        assert {b.resolved_at.ToNanoseconds() - res.forked_at.ToNanoseconds() for b in back} == {40 * MIN}

        # without the plan, nothing arrives: every rack still in transit at the horizon
        req = scenario("late-rack", c)
        req.plan.builds, req.plan.arrivals = False, False
        res = c.whatif.Run(req, timeout=120)
        assert not res.planned
        assert res.kpis[0].baseline.racks_delivered == 0


def views(c: Client, data: Path) -> dict[str, Any]:
    """What the server shows of its state, and the bytes of its store."""
    out: dict[str, Any] = {
        "open": all_breaks(c, breaks_pb2.ListBreaksRequest()).SerializeToString(),
        "resolved": all_breaks(c, breaks_pb2.ListBreaksRequest(resolved_from=ts(0))).SerializeToString(),
        "sequence": c.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id="L1"), timeout=10),
        "inventory": c.reports.GetInventory(reports_pb2.GetInventoryRequest(line_id="L1"), timeout=10),
        "kpis": c.reports.GetKpis(reports_pb2.GetKpisRequest(), timeout=10),
        "line": c.lines.GetLine(lines_pb2.GetLineRequest(line_id="L1"), timeout=10),
        "clock": now(c),
        "racks": [r.SerializeToString() for r in racks(c)],
        "yard": c.dock.GetYard(dock_pb2.GetYardRequest(), timeout=10),
    }
    for f in sorted(data.rglob("*")):
        if f.is_file():
            out[f"file {f.relative_to(data)}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def random_scenario(rng: random.Random, c: Client, at: int, vehicles: list[str], transit: list[str]) -> Any:
    inputs = []
    call = highest_call(c) + 1
    for _ in range(rng.randrange(0, 6)):
        t = at + rng.randrange(0, 60) * MIN
        kind = rng.choice(["pull", "eta", "build", "bogus", "cancel", "move"])
        if kind == "pull":
            inputs.append(pull(call, rng.choice(vehicles), t))
            call += 1
        elif kind == "eta" and transit:
            eta = ts(at + rng.randrange(-30, 240) * MIN)
            x = whatif_pb2.ScenarioInput(
                rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id=rng.choice(transit), eta=eta)
            )
            inputs.append(x)
        elif kind == "build":
            sup, group, part = rng.choice(
                [("SEATCO", "FRONT_SEATS", "S-BLK"), ("DASHCO", "COCKPIT", "C-HUD")]
            )
            b = supply_pb2.ReportBuildRequest(
                supplier_id=sup, group=group, line_id="L1", vehicle_id=rng.choice(vehicles), part_number=part
            )
            inputs.append(whatif_pb2.ScenarioInput(at=ts(t), build=b))
        elif kind == "bogus":
            x = whatif_pb2.ScenarioInput(
                broadcast=broadcast_pb2.Broadcast(line_id="NOPE", call_no=1, action=1)
            )
            inputs.append(x)
        elif kind == "cancel":
            b = broadcast_pb2.Broadcast(
                line_id="L1", call_no=call, action=common_pb2.ACTION_CANCEL, vehicle_id=rng.choice(vehicles)
            )
            inputs.append(whatif_pb2.ScenarioInput(at=ts(t), broadcast=b))
            call += 1
        elif transit:
            stage = rng.choice([supply_pb2.RACK_STAGE_AT_DOCK, supply_pb2.RACK_STAGE_LINE_SIDE])
            m = supply_pb2.MoveRackRequest(rack_id=rng.choice(transit), stage=stage)
            inputs.append(whatif_pb2.ScenarioInput(at=ts(t), move_rack=m))
    stops = [
        whatif_pb2.SupplierStop(supplier_id=rng.choice(SUPPLIERS), duration=dur(rng.randrange(1, 180) * MIN))
        for _ in range(rng.randrange(0, 2))
    ]
    plan = whatif_pb2.Plan(builds=rng.random() < 0.8, arrivals=rng.random() < 0.8)
    horizon = dur(rng.randrange(60, 6 * 60) * MIN)
    return whatif_pb2.WhatIfRequest(inputs=inputs, supplier_stops=stops, horizon=horizon, plan=plan)


def test_a_hundred_random_whatifs_leave_live_state_log_and_snapshots_as_they_were(
    day: Path, tmp_path: Path
) -> None:
    with copy_of(day, tmp_path) as (proc, c):
        data = proc.data_dir
        before = views(c, data)
        at = now(c)
        vehicles = [v.vehicle_id for v in active(c)]
        transit = [r.rack_id for r in in_transit(c)]
        rng = random.Random(24)
        changed = rejected = 0
        for _ in range(100):
            res = c.whatif.Run(random_scenario(rng, c, at, vehicles, transit), timeout=120)
            changed += any(w.change != CHANGE.WHAT_IF_CHANGE_SAME for w in res.breaks)
            rejected += len(res.rejected)
        assert changed >= 50 and rejected >= 10, (
            "the scenarios did change things, and some inputs were refused"
        )
        assert views(c, data) == before


def test_whatif_bounds_one_per_caller_a_number_at_once_and_cpu(day: Path, tmp_path: Path) -> None:
    with copy_of(day, tmp_path, "--whatif-cpu-s", "4", "--whatif-workers", "1") as (proc, c):
        at = now(c)
        # heavy: 8,000 new vehicles, one a minute, each built by the plan
        heavy = whatif_pb2.WhatIfRequest(inputs=adds(c, 8_000, at), horizon=dur(7 * 24 * 60 * MIN))
        outcome: list[grpc.RpcError] = []

        def run_heavy() -> None:
            try:
                c.whatif.Run(heavy, timeout=120)
            except grpc.RpcError as exc:
                outcome.append(exc)

        t = threading.Thread(target=run_heavy)
        t.start()
        # the heavy call (8,000 inputs) is on its way before the small ones: else a small one
        # may reach the server first and take the one worker (its budget, 4 s, leaves room)
        time.sleep(1.0)
        small = whatif_pb2.WhatIfRequest(horizon=dur(10 * MIN))
        seen = set()
        # another caller: without credentials, a caller is a connection (a channel of its own)
        other = Client(grpc.insecure_channel(proc.address, options=[("grpc.use_local_subchannel_pool", 1)]))
        try:
            while t.is_alive() and len(seen) < 2:
                for client in (c, other):
                    try:
                        client.whatif.Run(small, timeout=30)
                    except grpc.RpcError as exc:
                        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc.details()
                        seen.add("one at a time per caller" in exc.details())
            t.join(timeout=120)
            assert seen == {True, False}, "the same caller and another were both refused while it ran"
            assert outcome and outcome[0].code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "CPU budget of 4 s" in outcome[0].details()
            # the slot is free again, and the live server never stopped serving
            assert other.whatif.Run(small, timeout=30).until.ToNanoseconds() == at + 10 * MIN
            assert highest_call(c) == heavy.inputs[0].broadcast.call_no - 1
        finally:
            other.channel.close()


def adds(c: Client, n: int, at: int) -> list[whatif_pb2.ScenarioInput]:
    """``n`` new vehicles, one a minute from ``at``, each needing a seat the plan builds."""
    call = highest_call(c) + 1
    seat = common_pb2.Part(group="FRONT_SEATS", part_number="S-BLK", supplier_id="SEATCO", quantity=1)
    return [
        whatif_pb2.ScenarioInput(
            at=ts(at + k * MIN),
            broadcast=broadcast_pb2.Broadcast(
                line_id="L1", call_no=call + k, action=common_pb2.ACTION_ADD, vehicle_id=f"NEW-{k:05d}",
                seq_no=10**7 + k, need_time=ts(at + (150 + k) * MIN), parts=[seat],
            ),
        )
        for k in range(n)
    ]  # fmt: skip


def test_a_whatif_beyond_its_memory_budget_is_refused(day: Path, tmp_path: Path) -> None:
    with copy_of(day, tmp_path, "--whatif-memory-mb", "8") as (_, c):
        at = now(c)
        # the copy of the state is shared with the server, not counted: a small what-if fits
        assert c.whatif.Run(scenario("late-rack", c), timeout=60).breaks
        # 200 new vehicles of 256 parts each, none built (no plan): 51,200 MISSING breaks
        # to hold, and to answer, do not
        parts = [
            common_pb2.Part(group=f"G{g}", part_number="P", supplier_id="SUP", quantity=1) for g in range(256)
        ]
        big = whatif_pb2.WhatIfRequest(inputs=adds(c, 200, at), horizon=dur(7 * 24 * 60 * MIN))
        for x in big.inputs:
            del x.broadcast.parts[:]
            x.broadcast.parts.extend(parts)
        big.plan.builds = False
        with pytest.raises(grpc.RpcError) as err:
            c.whatif.Run(big, timeout=120)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "more than its memory budget of 8 MB" in err.value.details()
        assert c.whatif.Run(scenario("late-rack", c), timeout=60).breaks  # and the server goes on


def test_an_answer_larger_than_a_message_may_be_is_refused_with_why(day: Path, tmp_path: Path) -> None:
    with copy_of(day, tmp_path, "--max-message-bytes", "2000") as (_, c):
        with pytest.raises(grpc.RpcError) as err:
            c.whatif.Run(scenario("late-rack", c), timeout=60)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert err.value.details().startswith("horizon: the answer takes ")
        assert "more than a message may (2,000, --max-message-bytes)" in err.value.details()


def _one(x: whatif_pb2.ScenarioInput) -> whatif_pb2.WhatIfRequest:
    return whatif_pb2.WhatIfRequest(horizon=dur(MIN), inputs=[x])


REFUSED = [
    (whatif_pb2.WhatIfRequest(), "INVALID_ARGUMENT", "horizon"),
    (whatif_pb2.WhatIfRequest(horizon=dur(8 * 24 * 60 * MIN)), "INVALID_ARGUMENT", "horizon"),
    (whatif_pb2.WhatIfRequest(horizon=dur(-MIN)), "INVALID_ARGUMENT", "horizon"),
    (_one(whatif_pb2.ScenarioInput()), "INVALID_ARGUMENT", "inputs[0].input"),
    (
        _one(whatif_pb2.ScenarioInput(rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id="R"))),
        "INVALID_ARGUMENT",
        "inputs[0].rack_eta.eta",
    ),
    (
        _one(
            whatif_pb2.ScenarioInput(
                build=supply_pb2.ReportBuildRequest(built_at=Timestamp(seconds=-(10**12)))
            )
        ),
        "INVALID_ARGUMENT",
        "inputs[0].build.built_at",
    ),
    (
        _one(
            whatif_pb2.ScenarioInput(
                at=ts(NS), rack_eta=supply_pb2.UpdateRackEtaRequest(rack_id="R", eta=ts(NS))
            )
        ),
        "FAILED_PRECONDITION",
        "inputs[0].at",
    ),
    (
        whatif_pb2.WhatIfRequest(horizon=dur(MIN), supplier_stops=[whatif_pb2.SupplierStop(supplier_id="S")]),
        "INVALID_ARGUMENT",
        "supplier_stops[0].duration",
    ),
    (
        whatif_pb2.WhatIfRequest(horizon=dur(MIN), plan=whatif_pb2.Plan(build_ahead=dur(-1))),
        "INVALID_ARGUMENT",
        "plan.build_ahead",
    ),
    (  # a build at the very moment MISSING is raised would raise and resolve it at once
        whatif_pb2.WhatIfRequest(horizon=dur(MIN), plan=whatif_pb2.Plan(build_ahead=dur(0))),
        "INVALID_ARGUMENT",
        "plan.build_ahead",
    ),
    (
        whatif_pb2.WhatIfRequest(
            horizon=dur(MIN),
            supplier_stops=[
                whatif_pb2.SupplierStop(supplier_id="SEATCO"),
                whatif_pb2.SupplierStop(supplier_id="SEATC0", duration=dur(MIN)),
            ],
        ),
        "INVALID_ARGUMENT",
        "supplier_stops[0].duration",
    ),
    (
        whatif_pb2.WhatIfRequest(
            horizon=dur(MIN),
            supplier_stops=[
                whatif_pb2.SupplierStop(supplier_id="SEATCO", duration=dur(MIN)),
                whatif_pb2.SupplierStop(supplier_id="SEATC0", duration=dur(MIN)),
            ],
        ),
        "FAILED_PRECONDITION",
        "supplier_stops[1].supplier_id",
    ),
]


@pytest.mark.parametrize("request_, code, field", REFUSED)
def test_a_malformed_whatif_is_refused_naming_the_field(
    whatif_server: Client, request_: whatif_pb2.WhatIfRequest, code: str, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        whatif_server.whatif.Run(request_, timeout=30)
    assert err.value.code().name == code
    assert err.value.details().startswith(f"{field}:"), err.value.details()


@pytest.fixture(scope="module")
def whatif_server(day: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with copy_of(day, tmp_path_factory.mktemp("whatif-refusals")) as (_, c):
        yield c


def jis(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "jis", *args, "--server", address]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_jis_whatif_prints_what_a_late_rack_changes(day: Path, tmp_path: Path) -> None:
    with copy_of(day, tmp_path) as (proc, c):
        rack = in_transit(c)[0]
        r = jis(proc.address, "whatif", "late-rack", rack.rack_id, "--by", "90m", "--horizon", "4h")
        assert r.returncode == 0, r.stderr
        req = scenario("late-rack", c)  # the same scenario, straight over gRPC
        res = c.whatif.Run(req, timeout=120)
        lines = r.stdout.splitlines()
        assert lines[0].startswith(
            f"what-if from {res.forked_at.ToJsonString()} to {res.until.ToJsonString()}"
        )
        names = {n.removeprefix("WHAT_IF_CHANGE_") for n in CHANGE.keys()}  # noqa: SIM118 (an enum wrapper, not a dict) - {"SAME", "UNSPECIFIED"}
        rows = [ln.split()[:2] for ln in lines[3:] if ln.split()[:1] and ln.split()[0] in names]
        expected = [
            [CHANGE.Name(w.change).removeprefix("WHAT_IF_CHANGE_"),
             breaks_pb2.BreakType.Name(w.sequence_break.type).removeprefix("BREAK_TYPE_")]
            for w in res.breaks if w.change != CHANGE.WHAT_IF_CHANGE_SAME
        ]  # fmt: skip
        assert rows == expected and rows
        assert any(ln.startswith("plant ") for ln in lines)
        assert lines[-1].startswith("plan assumed: ")
        # --json: the answer itself
        r = jis(proc.address, "whatif", "late-rack", rack.rack_id, "--by", "90m", "--horizon", "4h", "--json")
        assert r.returncode == 0, r.stderr
        assert len(json.loads(r.stdout)["breaks"]) == len(res.breaks)
        # pull and supplier-stop build their scenarios from the server's state
        v = active(c)[3].vehicle_id
        r = jis(proc.address, "whatif", "pull", v, "--horizon", "1h", "--all")
        assert r.returncode == 0, r.stderr
        assert "ORPHAN" in r.stdout and v in r.stdout
        r = jis(proc.address, "whatif", "supplier-stop", "DASHCO", "--for", "2h")
        assert r.returncode == 0, r.stderr
        assert "MISSING" in r.stdout
        r = jis(proc.address, "whatif", "late-rack", "NO-SUCH", "--by", "1h")
        assert r.returncode == 1 and "NOT_FOUND" in r.stderr
