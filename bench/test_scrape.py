"""A Prometheus scrape on the engine thread (issue 23: at most 1 ms at plant size).

The plant of GetDemand's benchmark: 1,000 scopes (50 lines x 20 groups, 400 vehicles
each), with about 90,000 MISSING breaks open. Measured: ``Engine.stats`` as the scrape
calls it, after one build (one scope evaluated since the last scrape). Baseline in the
same run: the same figures computed afresh (every scope's inventory, a pass over every
open break), as the scrape did before it kept them.
"""

from __future__ import annotations

import statistics
import time

from bench.conftest import Report
from bench.test_demand import T0, plant
from jis.engine.engine import Engine
from jis.engine.model import BuildReport


def afresh(e: Engine) -> None:
    for line_id in e.seq.lines:
        e.inventory(line_id)
    earliest: dict[tuple[str, str], float] = {}
    for b in e.book.open.values():
        if b.need_time is not None:
            key = (b.line_id, b.type.name)
            earliest[key] = min(earliest.get(key, float("inf")), b.need_time / 1e9)


def test_a_scrape_on_the_engine_thread(smoke: bool, report: Report) -> None:
    lines, groups, vehicles = (10, 10, 100) if smoke else (50, 20, 400)
    e = plant(lines, groups, vehicles)
    e.stats(at=T0)  # the first scrape reads every scope
    scrapes, fresh = [], []
    for k in range(5 if smoke else 21):  # ingest between scrapes, as a server has
        line = f"L{k % lines:02d}"
        e.report_build(BuildReport("S", "G00", line, f"{line}-V{1 + k // lines}", "G00-P0"), T0)
        e.book.drain()
        t = time.perf_counter()
        e.stats(at=T0)
        scrapes.append(time.perf_counter() - t)
    # Between two scrapes of a busy plant every scope changes: one build in each, as a
    # supplier's unary ReportBuild (each scope evaluated as it changes), then the scrape.
    busy = []
    for k in range(3 if smoke else 5):
        for line in range(lines):
            for g in range(groups):
                vehicle = f"L{line:02d}-V{vehicles - 2 - 3 * k}"  # none built yet
                e.report_build(BuildReport("S", f"G{g:02d}", f"L{line:02d}", vehicle, f"G{g:02d}-P0"), T0)
        e.book.drain()
        t = time.perf_counter()
        e.stats(at=T0)
        busy.append(time.perf_counter() - t)
    for _ in range(3 if smoke else 5):
        t = time.perf_counter()
        afresh(e)
        fresh.append(time.perf_counter() - t)
    scrape_ms = statistics.median(scrapes) * 1e3
    fresh_ms = statistics.median(fresh) * 1e3
    result = {
        "scopes": len(e.seq.scope_demand),
        "open_breaks": len(e.book.open),
        "scrape_after_one_input_ms": round(scrape_ms, 2),
        "scrape_after_every_scope_changed_ms": round(statistics.median(busy) * 1e3, 2),
        "computed_afresh_ms": round(fresh_ms, 1),
        "scrape_over_afresh": round(scrape_ms / fresh_ms, 3),
    }
    targets = [("scrape / the same figures computed afresh", result["scrape_over_afresh"], "<=", 0.1)]
    if not smoke:
        targets.append(
            (
                "scrape on the engine thread at 1,000 scopes, ms",
                result["scrape_after_one_input_ms"],
                "<=",
                1.0,
            )
        )
        targets.append(
            (
                "the same, every scope changed since the last scrape, ms",
                result["scrape_after_every_scope_changed_ms"],
                "<=",
                1.0,
            )
        )
    report(f"Metrics scrape at {result['scopes']:,} scopes", result, targets)
