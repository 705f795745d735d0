"""A metrics scrape reads what changed only: each scope's inventory is kept until the
scope is evaluated again, the earliest need time of the open breaks comes from heaps, and
the suppliers' OTIF and sequence accuracy from one pass over the deliveries. All must equal
a fresh computation after any input, time step, takt change, retention
step, snapshot and restore."""

from __future__ import annotations

import io
import random

from jis.engine.engine import Engine
from jis.engine.model import (
    Action,
    Broadcast,
    BuildReport,
    LineConfig,
    PartDemand,
    RackDispatch,
    SupplierConfig,
)
from jis.metrics import KPI_WINDOW_S

MIN = 60 * 10**9
HOUR = 60 * MIN
T0 = 1_800_000_000 * 10**9
GROUPS = {"SEAT": "S1", "DASH": "S2"}


def fresh(
    e: Engine,
) -> tuple[dict[tuple[str, str, str], tuple[int, float, float]], dict[tuple[str, str], float]]:
    coverage = {
        (i.line_id, i.supplier_id, i.group): (i.expected, i.coverage_ns / 1e9, i.plant_coverage_ns / 1e9)
        for line_id in e.seq.lines
        for i in e.inventory(line_id)
    }
    earliest: dict[tuple[str, str], float] = {}
    for b in e.book.open.values():
        if b.need_time is not None:
            key = (b.line_id, b.type.name)
            earliest[key] = min(earliest.get(key, float("inf")), b.need_time / 1e9)
    return coverage, earliest


def check(e: Engine, at: int) -> None:
    st = e.stats(at=at)
    coverage, earliest = fresh(e)
    assert st.coverage == coverage
    assert st.earliest_need == earliest
    lo, hi = at - KPI_WINDOW_S * 10**9, at + 1  # each supplier's KPIs as GetKpis has them
    for sup in GROUPS.values():
        k = e.kpi_report("", sup, lo, hi)
        assert st.supplier_kpis[sup] == (k.otif, k.sequence_accuracy)


def test_the_scrape_equals_a_fresh_read_after_every_kind_of_change() -> None:
    rng = random.Random(5)
    e = Engine(retain_ns=2 * HOUR)
    at = T0
    for sup in GROUPS.values():
        e.configure_supplier(SupplierConfig(sup, 2 * HOUR, 10 * MIN), at)
    calls = {"A": 0, "B": 0}
    for line in calls:
        e.configure_line(LineConfig(line, MIN, 24 * HOUR, T0), at)
    vehicles: dict[str, list[str]] = {"A": [], "B": []}
    racks = 0
    check(e, at)
    for step in range(400):
        at += rng.randrange(0, 3) * MIN
        line = rng.choice("AB")
        kind = rng.random()
        try:
            if kind < 0.4 or not vehicles[line]:
                calls[line] += 1
                v = f"{line}-{calls[line]}"
                parts = tuple(PartDemand(g, f"{g}-{rng.randrange(3)}", s, 1) for g, s in GROUPS.items())
                e.publish(
                    Broadcast(line, calls[line], Action.ADD, v, calls[line] + 10 * step, parts=parts), at
                )
                vehicles[line].append(v)
            elif kind < 0.6:
                g = rng.choice(list(GROUPS))
                v = rng.choice(vehicles[line])
                e.report_build(BuildReport(GROUPS[g], g, line, v, f"{g}-{rng.randrange(3)}"), at)
            elif kind < 0.7:
                g = rng.choice(list(GROUPS))
                racks += 1
                slots = tuple(
                    (v, f"{g}-{rng.randrange(3)}")
                    for v in rng.sample(vehicles[line], min(3, len(vehicles[line])))
                )
                e.dispatch_rack(
                    RackDispatch(f"R{racks}", GROUPS[g], g, line, 4, slots, at + rng.randrange(10, 90) * MIN),
                    at,
                )
            elif kind < 0.8 and racks:
                e.move_rack(f"R{rng.randrange(1, racks + 1)}", rng.choice([2, 3]), None, at)
            elif kind < 0.9:
                calls[line] += 1
                action = rng.choice([Action.PULL, Action.INSTALLED, Action.CANCEL])
                e.publish(Broadcast(line, calls[line], action, rng.choice(vehicles[line]), None), at)
            elif kind < 0.93:  # a new takt changes every coverage of the line
                e.configure_line(LineConfig(line, rng.choice([MIN, 2 * MIN]), 24 * HOUR, T0), at)
            elif kind < 0.96:
                e.retain(at)
            else:
                e.advance(at)
        except Exception as exc:  # a refused input changes nothing; the check still holds
            assert type(exc).__module__ == "jis.errors", exc
        e.book.drain()
        e.feed.drain()
        check(e, at)
        if step % 100 == 99:  # a snapshot restored reads afresh
            restored = Engine()
            assert restored._restore(io.BytesIO(e.snapshot()))
            assert restored.stats(at=at).coverage == e.stats(at=at).coverage
            assert restored.stats(at=at).earliest_need == e.stats(at=at).earliest_need
    assert len(e.book.open) > 10, "the walk left breaks open"
    assert any(o is not None for o, _ in e.stats(at=at).supplier_kpis.values()), "racks were delivered"
    # and a takt change on a line with coverage, read right after
    e.configure_line(LineConfig("C", MIN, 24 * HOUR, T0), at)
    for k in range(1, 4):
        seat = PartDemand("SEAT", "SEAT-0", "S1", 1)
        e.publish(Broadcast("C", k, Action.ADD, f"C-{k}", 10**6 + k, parts=(seat,)), at)
        e.report_build(BuildReport("S1", "SEAT", "C", f"C-{k}", "SEAT-0"), at)
    check(e, at)
    assert e.stats(at=at).coverage[("C", "S1", "SEAT")][1] == 3 * 60
    e.configure_line(LineConfig("C", 2 * MIN, 24 * HOUR, T0), at)
    check(e, at)
