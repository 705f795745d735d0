"""Summarized demand (issue 24, part 1): the full demand of one supplier over 1,000 scopes
(50 lines x 20 component groups), a day of need times ahead in hourly buckets, answered in
at most 50 ms on the engine thread. Measured in-process through ``Engine.demand`` as
GetDemand calls it, after one call (kernels loaded, E cached as the evaluations leave it).

Baselines from the same run: ``Engine.inventory`` of every line for the same scopes (the
view that matches E against S per scope as well, without the bucketing), and one numpy
bincount over all the scopes' demand rows at once (the floor for summing them). Reported
beside: turning the answer into the reply's protobuf bytes (on the event loop, not the
engine thread).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.conftest import Report
from jis.api import convert
from jis.engine.engine import Engine
from jis.engine.model import (
    Action,
    Broadcast,
    BuildReport,
    DemandTable,
    LineConfig,
    PartDemand,
    SupplierConfig,
)

MIN = 60 * 10**9
HOUR = 60 * MIN
T0 = 1_800_000_000 * 10**9


def plant(lines: int, groups: int, vehicles: int) -> Engine:
    """``lines`` lines of ``vehicles`` active vehicles each (takt 2 min, from T0 + 1 h on),
    each needing one part of each of ``groups`` groups from supplier S (3 variants); a
    third of them built, one in ten of those of the wrong variant."""
    e = Engine()
    e.configure_supplier(SupplierConfig("S", 4 * HOUR, 10 * MIN), T0)
    rng = np.random.default_rng(7)
    for k in range(lines):
        line = f"L{k:02d}"
        e.configure_line(LineConfig(line, 2 * MIN, 24 * HOUR, None), T0)
        variants = rng.integers(0, 3, (vehicles, groups))
        msgs = [
            Broadcast(line, i + 1, Action.ADD, f"{line}-V{i}", i, need_time=T0 + HOUR + i * 2 * MIN,
                      parts=tuple(PartDemand(f"G{g:02d}", f"G{g:02d}-P{variants[i, g]}", "S", 1)
                                  for g in range(groups)))
            for i in range(vehicles)
        ]  # fmt: skip
        e.begin_group()
        e.publish_batch(msgs, T0)
        for i in range(0, vehicles, 3):
            g = int(rng.integers(0, groups))
            p = variants[i, g] if rng.random() > 0.1 else (variants[i, g] + 1) % 3
            e.report_build(BuildReport("S", f"G{g:02d}", line, f"{line}-V{i}", f"G{g:02d}-P{p}", T0), T0)
        e.end_group()
    e.book.drain()
    e.feed.drain()
    return e


def timed(fn: object, rounds: int) -> float:
    """The median of ``rounds`` calls, in seconds."""
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def test_the_full_demand_of_a_supplier_over_1000_scopes(smoke: bool, report: Report) -> None:
    lines, groups, vehicles = (10, 10, 100) if smoke else (50, 20, 400)
    e = plant(lines, groups, vehicles)
    now = T0
    start, stop = now, now + 24 * HOUR

    def demand() -> DemandTable:
        return e.demand("S", "", "", start, stop, HOUR, now)

    found = demand()
    assert int(found.quantity.sum()) == lines * groups * min(vehicles, 23 * 30)  # every vehicle of the day
    assert 0 < int(found.covered.sum()) < int(found.quantity.sum())
    rounds = 5 if smoke else 15
    demand_s = timed(demand, rounds)
    inventory_s = timed(lambda: [e.inventory(f"L{k:02d}", "S") for k in range(lines)], rounds)
    scopes = sorted(e.seq.scope_demand)
    rows = np.concatenate([e.evaluator.match(s).e_row for s in scopes])
    need = e.seq.vehicles.col("need_time")[e.seq.demand.col("vehicle")[rows]]
    part = e.seq.demand.col("part")[rows].astype(np.int64)
    floor_s = timed(lambda: np.bincount(part * 25 + (need - start) // HOUR), rounds)
    reply_s = timed(
        lambda: convert.demand_out("S", now, start, stop, HOUR, found).SerializeToString(), rounds
    )
    answer_s = demand_s + reply_s
    result = {
        "scopes": len(scopes),
        "demand_rows": len(rows),
        "part_rows": len(found),
        "buckets_with_demand": int(np.count_nonzero(found.quantity)),
        "demand_ms": round(demand_s * 1e3, 2),
        "inventory_of_the_same_scopes_ms": round(inventory_s * 1e3, 2),
        "demand_over_inventory": round(demand_s / inventory_s, 2),
        "one_bincount_ms": round(floor_s * 1e3, 3),
        "reply_to_protobuf_bytes_ms": round(reply_s * 1e3, 2),
        "answer_ms": round(answer_s * 1e3, 2),
    }
    report(
        f"GetDemand of one supplier over {len(scopes):,} scopes",
        result,
        [
            (
                "full demand of a supplier over 1,000 scopes, answered (engine + reply bytes), ms",
                result["answer_ms"],
                "<=",
                50.0,
            ),
            ("demand / inventory of the same scopes", result["demand_over_inventory"], "<=", 2.0),
        ]
        if not smoke
        else [("demand / inventory of the same scopes", result["demand_over_inventory"], "<=", 2.0)],
    )
