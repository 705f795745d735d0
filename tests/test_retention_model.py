"""Retention against a model: two engines take the same simulated plant (builds, racks,
trucks, pulls, cancels, late variant changes, repeated messages), one keeping everything,
one retaining half a day of history with a store. Every answer about the past (vehicles,
racks, appointments, KPIs, breaks) and the present (sequences, build sequences, inventory,
open breaks) must be the same, also from a third engine that replays the retaining one's
log from scratch, and from a fourth restored from its snapshot."""

from __future__ import annotations

import contextlib
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bench.plant import MIN, Plant, PlantConfig, StepInputs
from jis.engine.engine import Engine
from jis.engine.lines import CallLedger
from jis.engine.model import Action, Broadcast, LineConfig, PartDemand
from jis.errors import AlreadyExists, DomainError, NotFound
from jis.store import SqliteStore

DAY = 24 * 60 * MIN
STEP = 15 * MIN
HOUR_NS = 3600 * 10**9


class Fed:
    """An engine fed in commit groups as the runner does (retention at each group's start)."""

    def __init__(self, engine: Engine, store: SqliteStore | None) -> None:
        self.engine, self.store, self.now = engine, store, 0

    def group(self, ops: list[Any]) -> None:
        e = self.engine
        e.begin_group()
        e.retain(self.now)
        for op in ops:
            with contextlib.suppress(DomainError):  # refused alike by both (their answers are compared)
                op()
        e.evaluate_group(e.close_group())
        e.book.drain()
        e.feed.drain()
        if self.store is not None:
            self.store.commit()


def feed(f: Fed, step: StepInputs, at: int) -> None:
    """One plant step: the clock and the broadcasts in one group, the supplier inputs in another."""
    e = f.engine
    f.now = at
    f.group([partial(e.tick, at), partial(e.publish_batch, step.broadcasts, at)])
    ops: list[Any] = [partial(e.report_build, b, at) for b in step.builds]
    ops += [partial(e.dispatch_rack, d, at) for d in step.dispatches]
    ops += [partial(e.update_rack_eta, r, eta, at) for r, eta in step.etas]
    ops += [partial(e.move_rack, r, s, w, at) for r, s, w in step.moves]
    f.group(ops)


def answers(
    e: Engine, vehicles: set[str], racks: set[str], appointments: set[str], t0: int, t1: int
) -> dict[str, Any]:
    def get(f: Any, *args: Any) -> Any:
        try:
            return f(*args)
        except NotFound as exc:
            return ("NOT_FOUND", str(exc))

    out: dict[str, Any] = {}
    out["vehicles"] = {v: get(e.vehicle, v) for v in sorted(vehicles)}
    out["racks"] = {r: get(e.rack, r) for r in sorted(racks)}
    out["appointments"] = {a: get(e.appointment, a, t1) for a in sorted(appointments)}
    windows = [(t0, t1)] + [(t, t + DAY // 2) for t in range(t0, t1, DAY // 2)]
    lines, suppliers = (
        [*e.seq.lines, ""],
        ["", *(e.seq.supplier_ids.name(c) for c in sorted(e.supply.suppliers))],
    )
    out["kpis"] = {(ln, s, w): e.kpi_report(ln, s, *w) for ln in lines for s in suppliers for w in windows}
    out["resolved"] = e.resolved_breaks(t0, t1 + 1)
    out["open"] = e.open_breaks()
    out["inventory"] = {ln: e.inventory(ln) for ln in e.seq.lines}
    out["sequence"] = {ln: e.sequence(ln, -(2**62), 2**62, 100_000) for ln in e.seq.lines}
    scopes = {(ln, s, g) for ln in e.seq.lines for s in suppliers[1:] for g in e.seq.group_ids.names()}
    out["build"] = {sc: e.build_sequence(*sc)[0] for sc in sorted(scopes)}
    return out


def test_a_retaining_engine_answers_as_one_that_keeps_everything(tmp_path: Path) -> None:
    cfg = PlantConfig(lines=2, takt_s=300, groups=3, suppliers=2, rack_capacity=4, seed=7)
    plant = Plant(cfg)
    store = SqliteStore(tmp_path / "retain", synchronous="OFF")
    keeping = Fed(Engine(None), None)
    retaining = Fed(Engine(store, retain_ns=12 * HOUR_NS), store)
    fed = (keeping, retaining)
    t = cfg.start_ns
    for f in fed:
        f.now = t
        e = f.engine
        f.group([lambda c=c, e=e: e.configure_line(c, t) for c in plant.line_configs()])
        f.group([lambda c=c, e=e: e.configure_supplier(c, t) for c in plant.supplier_configs()])
    vehicles: set[str] = set()
    racks: set[str] = set()
    for _ in range(3 * DAY // STEP):
        until = t + STEP
        step = plant.step(until)
        vehicles |= {b.vehicle_id for b in step.broadcasts}
        racks |= {d.rack_id for d in step.dispatches}
        for f in fed:
            feed(f, step, until)
        t = until

    live = retaining.engine
    assert live.retained_to > cfg.start_ns + DAY, "retention never ran"
    rows, all_rows = live.state_rows(), keeping.engine.state_rows()
    for table in ("vehicles", "demand", "slots", "racks", "deliveries", "lead_times", "break_history"):
        assert rows[table] < all_rows[table] / 2, f"{table}: {rows[table]} kept of {all_rows[table]}"
    appointments = set(keeping.engine.dock.ids.names())
    want = answers(keeping.engine, vehicles, racks, appointments, cfg.start_ns, t)
    got = answers(live, vehicles, racks, appointments, cfg.start_ns, t)
    for key in want:
        assert got[key] == want[key], key

    live.save_snapshot()
    store.close()
    for from_snapshot in (True, False):
        again = SqliteStore(tmp_path / "retain", synchronous="OFF")
        if not from_snapshot:
            again._db.execute("DELETE FROM snapshot_chunk")  # replay the whole log, every retain record
            again._db.execute("DELETE FROM snapshot")
        e = Engine(again, retain_ns=12 * HOUR_NS)
        e.recover()
        assert e.state_rows() == rows
        got = answers(e, vehicles, racks, appointments, cfg.start_ns, t)
        for key in want:
            assert got[key] == want[key], (key, from_snapshot)
        again.close()


def test_a_retention_step_drops_only_what_left_before_its_cutoff(tmp_path: Path) -> None:
    """Installed vehicles leave at the first step whose cutoff is past their leaving, not
    before; active ones never; and a step that finds nothing old leaves every row."""
    store = SqliteStore(tmp_path / "s", synchronous="OFF")
    e = Engine(store, retain_ns=HOUR_NS)
    t = 1_900_000_000 * 10**9
    f = Fed(e, store)
    f.now = t
    f.group([partial(e.configure_line, LineConfig("L", 60 * 10**9, 86_400 * 10**9, t), t)])
    parts = (PartDemand("SEAT", "P", "S", 1),)
    f.group(
        [
            partial(e.publish, Broadcast("L", k, int(Action.ADD), f"V{k}", k, parts=parts), t)
            for k in (1, 2, 3)
        ]
    )
    f.group([partial(e.publish, Broadcast("L", 4, int(Action.INSTALLED), "V1", None), t + HOUR_NS)])
    rows = e.state_rows()
    for now in (t + 2 * HOUR_NS, t + 2 * HOUR_NS + HOUR_NS // 2):  # cutoffs before V1 left
        f.now = now
        f.group([partial(e.tick, now)])
        assert e.state_rows()["vehicles"] == rows["vehicles"] == 3
    f.now = t + 3 * HOUR_NS
    f.group([partial(e.tick, f.now)])  # cutoff t + 2 h: V1 left at t + 1 h
    assert e.state_rows()["vehicles"] == 2 and e.vehicle("V1").state.name == "INSTALLED"
    kept = e.state_rows()
    f.now = t + 5 * HOUR_NS
    f.group([partial(e.tick, f.now)])  # nothing else is old: every row stays
    assert e.state_rows() == kept
    assert [e.vehicle(v).seq_no for v in ("V2", "V3")] == [2, 3]


def test_the_call_ledger_forgets_numbers_older_than_the_retention_but_never_a_gap() -> None:
    led = CallLedger()
    for c in range(1, 11):
        led.record(c, c)
    led.forget(100, 0)  # the first step only notes the highest call_no (10) at time 100
    assert led.base == 0
    for c in [*range(11, 15), *range(16, 21)]:  # 15 missing: a gap
        led.record(c, c)
    led.forget(200, 150)  # calls up to 10 were all in by time 100 < 150
    assert led.base == 10
    assert led.classify(5, 999) is True  # forgotten: a duplicate, content no longer compared
    with pytest.raises(AlreadyExists):
        led.classify(12, 999)  # still known: a conflicting re-send
    led.forget(300, 250)  # calls up to 20 were in by time 200, but 15 is still missing
    assert led.base == 14
    assert led.classify(15, 15) is False
    assert led.record(15, 15) == ([(15, 15)], [])
    led.forget(400, 350)
    assert led.base == 20 and led.missing == 0
    assert led.classify(16, 999) is True
    led.record(21, 21)
    assert led.classify(21, 21) is True
