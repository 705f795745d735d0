"""Moving a line between groups, against a model: one engine takes a simulated plant of
three lines whole; two engines split it (group A: L1 and L2, group B: L3), and half-way
L2 moves from A to B (A journals its release, B imports L2's records from A's log), then
back to A a day later. Both groups retain half a day, so each archives some of the line's
history, and A must not archive again what it archived before L2 left. Every answer about
every line (vehicles, sequence, racks, build sequences, inventory, open and resolved
breaks, KPIs) from the group that owns it must equal the whole engine's, break ids aside
(each group numbers its own), also after both groups replay their logs from scratch."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bench.plant import MIN, Plant, PlantConfig, StepInputs
from jis.engine import move
from jis.engine.engine import Engine
from jis.engine.model import Action, AppointmentSpec, Broadcast
from jis.errors import DomainError, FailedPrecondition, OutOfRange, Unavailable
from jis.store import SqliteStore
from tests.test_retention_model import Fed

DAY = 24 * 60 * MIN
STEP = 15 * MIN
RETAIN = 12 * 60 * MIN
"""Both groups keep half a day in memory: a moved line's history is archived on both sides."""


def per_line(step: StepInputs, line: str, rack_line: dict[str, str]) -> list[list[Any]]:
    """The step's inputs of one line, as the groups of partial engine calls (applied to an engine later)."""
    for d in step.dispatches:
        rack_line[d.rack_id] = d.line_id
    return [
        [b for b in step.broadcasts if b.line_id == line],
        [b for b in step.builds if b.line_id == line],
        [d for d in step.dispatches if d.line_id == line],
        [x for x in step.etas if rack_line[x[0]] == line],
        [x for x in step.moves if rack_line[x[0]] == line],
    ]


def feed_line(f: Fed, inputs: list[list[Any]], at: int) -> None:
    e = f.engine
    broadcasts, builds, dispatches, etas, moves = inputs
    f.group([partial(e.publish_batch, broadcasts, at)])
    ops: list[Any] = [partial(e.report_build, b, at) for b in builds]
    ops += [partial(e.dispatch_rack, d, at) for d in dispatches]
    ops += [partial(e.update_rack_eta, r, eta, at) for r, eta in etas]
    ops += [partial(e.move_rack, r, s, w, at) for r, s, w in moves]
    f.group(ops)


def history_head(store: SqliteStore, line: str) -> int:
    """The newest build-sequence cursor the releasing group had issued (in its release)."""
    history = move.LineHistory(line)
    for r in store.records(0):
        history.add(r)
    return history.released_head


def no_id(x: Any) -> Any:
    """``x`` with the numbers each engine gives on its own (break and slot ids) blanked."""
    if isinstance(x, dict):
        return {k: no_id(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(no_id(v) for v in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        blank = {"break_id": "", "slot_id": 0}
        return dataclasses.replace(
            x,
            **{f.name: blank.get(f.name, no_id(getattr(x, f.name))) for f in dataclasses.fields(x) if f.init},
        )
    return x


def answers(e: Engine, line: str, vehicles: set[str], racks: set[str], t0: int, t1: int) -> dict[str, Any]:
    def get(f: Any, *args: Any) -> Any:
        try:
            return f(*args)
        except DomainError as exc:
            return (exc.code_name, str(exc))

    suppliers = ["", *(e.seq.supplier_ids.name(c) for c in sorted(e.supply.suppliers))]
    out: dict[str, Any] = {"line": dataclasses.replace(e.line(line), configured_at=0)}
    out["vehicles"] = {v: get(e.vehicle, v) for v in sorted(vehicles)}
    out["racks"] = {r: get(e.rack, r) for r in sorted(racks)}
    windows = [(t0, t1)] + [(t, t + DAY // 2) for t in range(t0, t1, DAY // 2)]
    out["kpis"] = {(s, w): e.kpi_report(line, s, *w) for s in suppliers for w in windows}
    out["resolved"] = sorted(
        (no_id(b) for b in e.resolved_breaks(t0, t1 + 1, line_id=line)),
        key=lambda b: (b.resolved_at, b.detected_at, b.type, b.vehicle_id, b.rack_id, b.supplier_id, b.group),
    )
    out["open"] = sorted(
        (no_id(b) for b in e.open_breaks(line_id=line)),
        key=lambda b: (b.detected_at, b.type, b.vehicle_id, b.rack_id, b.supplier_id, b.group),
    )
    out["inventory"] = e.inventory(line)
    out["sequence"] = e.sequence(line, -(2**62), 2**62, 100_000)
    scopes = [(line, s, g) for s in suppliers[1:] for g in e.seq.group_ids.names()]
    out["build"] = {sc: e.build_sequence(*sc)[0] for sc in scopes}
    return out


def test_a_line_moved_between_groups_answers_as_if_it_never_moved(tmp_path: Path) -> None:
    cfg = PlantConfig(lines=3, takt_s=300, groups=3, suppliers=2, rack_capacity=4, seed=11)
    plant = Plant(cfg)
    whole = Fed(Engine(None), None)
    stores = {g: SqliteStore(tmp_path / g, synchronous="OFF") for g in "AB"}
    groups = {g: Fed(Engine(stores[g], retain_ns=RETAIN), stores[g]) for g in "AB"}
    owner = {"L1": "A", "L2": "A", "L3": "B"}
    t = cfg.start_ns
    for f in (whole, *groups.values()):
        f.now = t
        e = f.engine
        mine = [c for c in plant.line_configs() if f is whole or owner[c.line_id] == "AB"[f is groups["B"]]]
        f.group([partial(e.configure_line, c, t) for c in mine])
        f.group([partial(e.configure_supplier, c, t) for c in plant.supplier_configs()])
    vehicles: dict[str, set[str]] = {line: set() for line in owner}
    racks: dict[str, set[str]] = {line: set() for line in owner}
    rack_line: dict[str, str] = {}
    moves = {t + DAY: ("L2", "A", "B"), t + 2 * DAY: ("L2", "B", "A")}
    for _ in range(3 * DAY // STEP):
        until = t + STEP
        step = plant.step(until)
        for f in (whole, *groups.values()):
            f.now = until
            f.group([partial(f.engine.tick, until)])
        for line in owner:
            inputs = per_line(step, line, rack_line)
            vehicles[line] |= {b.vehicle_id for b in inputs[0]}
            racks[line] |= {d.rack_id for d in inputs[2]}
            feed_line(whole, inputs, until)
            feed_line(groups[owner[line]], inputs, until)
        t = until
        if t in moves:
            line, src, dst = moves[t]
            a, b = groups[src], groups[dst]
            # what the owner checks before it lets go: its log rebuilds the line as it holds it
            history = move.LineHistory(line)
            for r in stores[src].records(0):
                history.add(r)
            assert move.replay_differs(history, a.engine, t) is None
            short = move.LineHistory(line)
            for r in list(stores[src].records(0))[:-40]:
                short.add(r)
            assert move.replay_differs(short, a.engine, t) is not None  # a log cut short does not
            a.engine.begin_group()
            a.engine.release_line(line, dst, t)
            a.engine.evaluate_group(a.engine.close_group())
            a.store.commit()
            assert line not in a.engine.seq.lines
            with pytest.raises(Unavailable, match=f"moved to group '{dst}'"):
                a.engine.publish(Broadcast(line, 10**6, int(Action.ADD), "VX", 10**6), t)
            records = move.line_records(stores[src].records(0), line)
            b.now = t + 7 * MIN  # the receiving group's clock has gone on meanwhile
            b.group([partial(b.engine.tick, b.now)])
            last_seen = a.engine.feed.head - 1  # a supplier's cursor of the line, from the old group
            b.engine.begin_group()
            b.engine.import_line(line, src, records, b.now, history_head(stores[src], line))
            b.engine.evaluate_group(b.engine.close_group())
            b.store.commit()
            b.engine.feed.drain()
            owner[line] = dst
            # cursors go on above the old group's: its cursor is refused, never read as one of ours
            assert b.engine.feed.head >= last_seen + 1
            with pytest.raises(OutOfRange, match="read GetBuildSequence again"):
                b.engine.build_sequence_since(line, "S0", "G00", last_seen)
    assert owner["L2"] == "A"
    assert all(f.engine.retained_to > cfg.start_ns + DAY for f in groups.values()), "retention never ran"

    want = {line: answers(whole.engine, line, vehicles[line], racks[line], cfg.start_ns, t) for line in owner}
    for line, g in owner.items():
        got = answers(groups[g].engine, line, vehicles[line], racks[line], cfg.start_ns, t)
        for key in want[line]:
            assert no_id(got[key]) == no_id(want[line][key]), (line, key)
    moved_out = groups["B"].engine
    assert "L2" not in moved_out.seq.lines and moved_out.seq.moved_out == {"L2": "A"}
    assert moved_out.open_breaks() and all(b.line_id == "L3" for b in moved_out.open_breaks())
    assert set(moved_out.seq.vehicle_ids.names()) == vehicles["L3"] & set(moved_out.seq.vehicle_ids.names())

    for g, store in stores.items():  # replay of each group's log: the same
        store.close()
        again = Engine(SqliteStore(tmp_path / g, synchronous="OFF"), retain_ns=RETAIN)
        again.recover()
        for line in [x for x, o in owner.items() if o == g]:
            got = answers(again, line, vehicles[line], racks[line], cfg.start_ns, t)
            for key in want[line]:
                assert no_id(got[key]) == no_id(want[line][key]), (g, line, key)


def test_a_line_whose_truck_carries_another_lines_racks_is_not_released(tmp_path: Path) -> None:
    """An appointment carrying racks of two lines ties them together: releasing one of them
    is FAILED_PRECONDITION naming the appointment, and changes nothing (no record, no row)."""
    cfg = PlantConfig(lines=2, takt_s=300, groups=2, suppliers=1, rack_capacity=4, seed=3)
    plant = Plant(cfg)
    store = SqliteStore(tmp_path / "s", synchronous="OFF")
    f = Fed(Engine(store), store)
    e, t = f.engine, cfg.start_ns
    f.now = t
    f.group([partial(e.configure_line, c, t) for c in plant.line_configs()])
    f.group([partial(e.configure_supplier, c, t) for c in plant.supplier_configs()])
    rack_line: dict[str, str] = {}
    in_transit: dict[str, str] = {}
    while len(in_transit) < 2:
        t += STEP
        f.now = t
        step = plant.step(t)
        for line in plant.line_ids:
            feed_line(f, per_line(step, line, rack_line), t)
        for d in step.dispatches:
            in_transit.setdefault(d.line_id, d.rack_id)
    spec = AppointmentSpec("T1", "D1", t + MIN, t + 60 * MIN, "", "", "S0", tuple(in_transit.values()))
    f.group([partial(e.book_appointment, spec, t)])
    rows, last = e.state_rows(), store.last_seq()
    e.begin_group()
    with pytest.raises(FailedPrecondition, match="shares appointments with other lines \\(T1\\)"):
        e.release_line("L1", "B", t)
    e.evaluate_group(e.close_group())
    store.commit()
    assert (e.state_rows(), store.last_seq(), sorted(e.seq.lines)) == (rows, last, ["L1", "L2"])


def test_a_standby_follows_an_import_in_a_group_of_its_own() -> None:
    """What a standby applies at once is cut before each commit holding an import (whose
    build-sequence cursors start above the old group's): changes before it reach the
    standby's watchers first. A commit stays whole."""
    from jis.ha import _at_imports
    from jis.store.base import LogRecord

    def r(seq: int, kind: str) -> LogRecord:
        return LogRecord(seq, kind, seq, b"")

    log = [r(1, "broadcast"), r(2, "broadcast"), r(2, "eval"), r(3, "eval"), r(3, "import"), r(4, "build")]
    assert [[(x.seq, x.kind) for x in part] for part in _at_imports(log)] == [
        [(1, "broadcast"), (2, "broadcast"), (2, "eval")],
        [(3, "eval"), (3, "import"), (4, "build")],
    ]
    assert _at_imports([r(1, "import")]) == [[r(1, "import")]]
