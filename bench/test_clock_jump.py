"""One clock jump past the MISSING horizons of every vehicle of one scope (issue 17, item 4).

A supplier outage, then the test clock is set hours ahead: n vehicles of one (line,
supplier, group) scope, none with a slot, their need times spread over four hours, all
enter their lead time during one jump, and each MISSING break must be raised at its own
moment (need time minus lead time), in time order. Measured in-process, through
``Engine.tick`` as ``SetClock`` calls it, at n/4 and n. Baselines from the same run: one
full evaluation of the scope (what each horizon cost before, when the jump was n of them)
and a numpy argsort of the n need times (the order the breaks must come in).
"""

from __future__ import annotations

import time

import numpy as np

from bench.conftest import Report
from jis.engine.engine import Engine
from jis.engine.model import Action, Broadcast, LineConfig, PartDemand, SupplierConfig

MIN = 60 * 10**9
HOUR = 60 * MIN
T0 = 1_800_000_000 * 10**9
BATCH = 10_000


def outage(n: int) -> Engine:
    """An engine at T0: one line, one supplier (lead 1 h), n vehicles of one scope needed from
    T0 + 2 h over four hours, none built."""
    e = Engine()
    e.configure_line(LineConfig("L", MIN, 24 * HOUR, None), T0)
    e.configure_supplier(SupplierConfig("S", HOUR, 10 * MIN), T0)
    msgs = [
        Broadcast("L", i + 1, Action.ADD, f"V{i}", i, need_time=T0 + 2 * HOUR + i * 4 * HOUR // n,
                  parts=(PartDemand("SEAT", f"P{i % 7}", "S", 1),))
        for i in range(n)
    ]  # fmt: skip
    e.begin_group()
    for k in range(0, n, BATCH):
        e.publish_batch(msgs[k : k + BATCH], T0)
    e.end_group()
    assert not e.book.drain()  # nothing within the lead time yet
    return e


def jump(n: int) -> tuple[float, float, float]:
    """(seconds of the jump, seconds of one full evaluation of the scope, seconds of an argsort
    of the need times, shuffled), the jump checked: n MISSING, each detected at its own horizon, in order."""
    e = outage(n)
    scope = next(iter(e.seq.scope_demand))
    t = time.perf_counter()
    e.tick(T0 + 12 * HOUR)
    elapsed = time.perf_counter() - t
    events = e.book.drain()
    assert len(events) == n and all(ev.raised for ev in events)
    detected = np.array([ev.sequence_break.detected_at for ev in events])
    needs = np.array([ev.sequence_break.need_time for ev in events])
    assert (detected == needs - HOUR).all() and (np.diff(detected) >= 0).all()
    t = time.perf_counter()
    e.evaluator.evaluate(scope, T0 + 12 * HOUR)  # nothing changed: raises nothing
    eval_s = time.perf_counter() - t
    assert not e.book.drain()
    need = np.random.default_rng(1).permutation(e.seq.vehicles.col("need_time")[:n])
    t = time.perf_counter()
    np.argsort(need, kind="stable")
    argsort_s = time.perf_counter() - t
    return elapsed, eval_s, argsort_s


def test_one_clock_jump_past_every_horizon_of_a_large_scope(smoke: bool, report: Report) -> None:
    n = 5_000 if smoke else 200_000
    jump(1_000)  # kernels loaded
    small, _, _ = jump(n // 4)
    elapsed, eval_s, argsort_s = jump(n)
    result = {
        "vehicles": n,
        "jump_s": round(elapsed, 3),
        "us_per_vehicle": round(elapsed / n * 1e6, 2),
        f"jump_s_at_{n // 4}": round(small, 3),
        "growth_for_4x_vehicles": round(elapsed / small, 2),
        "one_full_evaluation_s": round(eval_s, 4),
        "jump_over_one_evaluation": round(elapsed / eval_s, 1),
        "evaluations_per_vehicle": round(elapsed / eval_s / n, 4),
        "argsort_of_needs_s": round(argsort_s, 4),
        "jump_over_argsort": round(elapsed / argsort_s, 1),
    }
    report(
        f"clock jump past the MISSING horizons of {n:,} vehicles of one scope",
        result,
        [
            (f"one jump, {n:,} vehicles of one scope, s", result["jump_s"], "<=", 2.0 if not smoke else 0.5),
            ("growth for 4x vehicles (linear 4, quadratic 16)", result["growth_for_4x_vehicles"], "<=", 6),
            # before, every horizon re-evaluated the whole scope: one full evaluation per vehicle
            ("full evaluations of the scope per vehicle", result["evaluations_per_vehicle"], "<=", 0.1),
        ],
    )
    assert elapsed > 0
