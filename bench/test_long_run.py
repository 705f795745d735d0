"""Long run: 30 plant-days of a 3-line plant on the test clock, as fast as the engine goes.

The plant (bench/plant.py) is 3 lines at takt 60 s, 10 JIS groups per vehicle from 4
suppliers: broadcasts 4 h ahead, builds 3 h ahead, racks of 12 dispatched, moved AT_DOCK,
LINE_SIDE and RETURNED, INSTALLED at the need time, and some disruption (pulls and
re-inserts, cancels, late variant changes with hot-shot racks, repeated and late
messages, duplicate builds, late trucks). Its inputs reach an in-process Engine on a
SqliteStore exactly as the server applies them: in commit groups (the clock tick and the
step's broadcasts, then the supplier inputs in groups of up to 256), each closed,
evaluated, drained and committed as ``jis.engine.runner`` does, so the log replays; plant
time moves in steps of 15 minutes (SetClock, journaled by ``tick``).

The engine keeps 3 days of history (``--retain 3d``, what the runner's retain call at the
start of each group drops) and the servers of the restarts run with the same setting.

Per simulated day: resident memory of this process, snapshot bytes (a snapshot is saved to
the store at the end of every day, about 70,000 inputs, close to the server's default
--snapshot-every of 100,000), vehicles in memory and active, and engine seconds (the engine
calls and the commits only, not the plant generator nor the daily snapshot, which is
timed apart; the target is on the engine thread's CPU seconds, steadier than wall time
on a shared machine, and the wall seconds are reported beside it). At days 10, 20 and 30
the store is closed and a real server (``jis serve --test-clock``) starts on it: its time
to SERVING is the restart time (snapshot load, no replay: the day's snapshot is the last
thing written, as after a graceful stop); then the run continues on a fresh Engine
recovered in-process. The length of every table of the state is taken each day: the
figures show what still grows per day.

The targets are those of retention (issue 17): from day 5 to day 30 RSS and snapshot size
within +-15 % of day 5, restart at day 30 <= 1.5 x restart at day 10, engine time per
day within +-20 % of day 5. Retention bounds the state by what is live (vehicles, slots,
racks and appointments that are history, resolved breaks, KPI facts and build-sequence
changes go to the archive; the call ledger forgets old numbers); what is left to grow
shows in ``growth_per_day_after_day_5``. A missed target is reported, never a failure; the
bench fails only if something breaks (an exception, a refused input the plant meant as
valid, a server that does not reach SERVING or exits with an error).

JIS_BENCH_SMOKE=1: 3 days of a small plant (takt 600 s, 3 groups), --retain 1d, restarts
at days 2 and 3, reference day 2. JIS_BENCH_LONG_RUN_DAYS overrides the number of days.
"""

from __future__ import annotations

import gc
import os
import pickle
import re
import statistics
import time
from pathlib import Path
from typing import Any

from bench.conftest import Report
from bench.plant import MIN, Plant, PlantConfig, StepInputs
from jis import sysmem
from jis.columns import Interner, RowList, Table
from jis.config import duration_ns
from jis.engine.engine import Engine
from jis.engine.model import Disposition, PublishResult
from jis.errors import DomainError
from jis.kernels.warmup import compile_all
from jis.store import SqliteStore
from tests.serverproc import ServerProcess

DAY = 24 * 60 * MIN
STEP = 15 * MIN
MAX_GROUP = 256
"""Supplier inputs per commit group (the runner's default max_group)."""
RECOVERED = re.compile(r"recovered (\d+) log records")


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def store_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob(f"{SqliteStore.FILENAME}*"))


def open_engine(data_dir: Path, retain: str) -> tuple[SqliteStore, Engine, float]:
    """A store and an engine recovered from it (as the server starts); the recovery seconds."""
    store = SqliteStore(data_dir, synchronous="NORMAL")
    engine = Engine(store, retain_ns=duration_ns(retain))
    t = time.perf_counter()
    engine.recover()
    elapsed = time.perf_counter() - t
    gc.collect()
    gc.freeze()  # as the server does once recovered
    return store, engine, elapsed


class Applier:
    """Applies a step's inputs in commit groups, as the runner does; counts what happened."""

    def __init__(self, engine: Engine, store: SqliteStore) -> None:
        self.engine = engine
        self.store = store
        self.now = engine.last_at
        """The engine clock (SetClock moves it)."""
        self.groups = 0
        self.events = 0
        self.duplicates = 0

    def _group(self, ops: list[Any]) -> None:
        e = self.engine
        e.begin_group()
        e.retain(self.now)  # as the runner does at the start of a group
        for op in ops:
            op()
        sealed = e.close_group()
        e.evaluate_group(sealed)
        self.events += len(e.book.drain())
        e.feed.drain()
        self.store.commit()
        self.groups += 1

    def _publish(self, step: StepInputs, at: int) -> None:
        results = self.engine.publish_batch(step.broadcasts, at)
        refused = [
            (b, r) for b, r in zip(step.broadcasts, results, strict=True) if isinstance(r, DomainError)
        ]
        if refused:
            raise AssertionError(
                f"the engine refused {len(refused)} plant broadcasts, the first: {refused[0]}"
            )
        self.duplicates += sum(
            1 for r in results if isinstance(r, PublishResult) and r.disposition == Disposition.DUPLICATE
        )

    def apply(self, step: StepInputs, at: int) -> None:
        e = self.engine

        def set_clock() -> None:
            e.tick(at)
            self.now = at

        first: list[Any] = [set_clock]
        if step.broadcasts:
            first.append(lambda: self._publish(step, at))
        self._group(first)
        ops: list[Any] = []
        ops += [lambda b=b: e.report_build(b, at) for b in step.builds]
        ops += [lambda d=d: e.dispatch_rack(d, at) for d in step.dispatches]
        ops += [lambda r=r, eta=eta: e.update_rack_eta(r, eta, at) for r, eta in step.etas]
        ops += [lambda r=r, s=s, w=w: e.move_rack(r, s, w, at) for r, s, w in step.moves]
        for k in range(0, len(ops), MAX_GROUP):
            self._group(ops[k : k + MAX_GROUP])


def lengths(engine: Engine) -> dict[str, int]:
    """The length of every table, row list, interner, list and dict of the engine's state
    (dicts of row lists also as the sum of their lengths): what grows with the days."""
    out: dict[str, int] = {}
    parts = {
        "seq": engine.seq,
        "supply": engine.supply,
        "book": engine.book,
        "evaluator": engine.evaluator,
        "feed": engine.feed,
        "dock": engine.dock,
        "kpis": engine.kpis,
    }
    for owner, obj in parts.items():
        names = list(getattr(obj, "__dict__", {})) or [
            s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ())
        ]
        for name in names:
            val = getattr(obj, name, None)
            if isinstance(val, Table | RowList | Interner | list | dict):
                out[f"{owner}.{name}"] = len(val)
            if isinstance(val, dict) and val and all(isinstance(x, RowList) for x in val.values()):
                out[f"{owner}.{name}[rows]"] = sum(len(x) for x in val.values())
    for line_id, ls in engine.seq.lines.items():
        out[f"line {line_id}.seq_index"] = len(ls.seq_index)
    return out


def state_bytes(engine: Engine) -> dict[str, int]:
    """Snapshot bytes (pickle protocol 5 with its buffers, as :meth:`Engine.snapshot`) of
    each table, row list, interner, list and dict of the state."""
    out: dict[str, int] = {}
    for owner in ("seq", "supply", "book", "evaluator", "feed", "dock", "kpis"):
        obj = getattr(engine, owner)
        names = list(getattr(obj, "__dict__", {})) or [
            s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ())
        ]
        for name in names:
            val = getattr(obj, name, None)
            if not isinstance(val, Table | RowList | Interner | list | dict):
                continue
            buffers: list[pickle.PickleBuffer] = []
            skeleton = pickle.dumps(val, protocol=5, buffer_callback=buffers.append)
            out[f"{owner}.{name}"] = len(skeleton) + sum(b.raw().nbytes for b in buffers)
    return out


def restart(data_dir: Path, retain: str) -> dict[str, float]:
    """Start a real server on the store, to SERVING: seconds, its RSS, records replayed."""
    proc = ServerProcess(data_dir, "--test-clock", "--retain", retain)
    t = time.perf_counter()
    proc.start(timeout=900)
    elapsed = time.perf_counter() - t
    assert proc.proc is not None
    server_rss = rss_kib(proc.proc.pid)
    code = proc.stop()
    assert code == 0, f"the server exited with {code}:\n{proc.log_text()[-4000:]}"
    replayed = [int(n) for n in RECOVERED.findall(proc.log_text())]
    return {
        "s": round(elapsed, 2),
        "server_rss_mib": round(server_rss / 1024, 1),
        "replayed": replayed[-1] if replayed else -1,
    }


def ratio(x: float, ref: float) -> float:
    return round(x / ref, 3) if ref else float("inf")


def test_long_run(tmp_path: Path, smoke: bool, report: Report) -> None:
    restart_days: tuple[int, ...]
    if smoke:
        cfg = PlantConfig(takt_s=600, groups=3, suppliers=2, rack_capacity=4)
        days, restart_days, ref_day, budget_s, retain = 3, (2, 3), 2, 300.0, "1d"
    else:
        cfg = PlantConfig()
        days, restart_days, ref_day, budget_s, retain = 30, (10, 20, 30), 5, 5400.0, "3d"
    days = int(os.environ.get("JIS_BENCH_LONG_RUN_DAYS", days))
    restart_days = tuple(d for d in restart_days if d <= days) or (days,)
    ref_day = min(ref_day, days)
    wall = time.perf_counter()

    compile_all()
    sysmem.fix_mmap_threshold()  # as the server does at start
    empty = restart(tmp_path / "empty", retain)  # also fills the kernels' on-disk cache for the restarts

    data_dir = tmp_path / "plant"
    plant = Plant(cfg)
    store, engine, _ = open_engine(data_dir, retain)
    applier = Applier(engine, store)
    t = cfg.start_ns
    applier._group(
        [lambda c=c: engine.configure_line(c, t) for c in plant.line_configs()]
        + [lambda c=c: engine.configure_supplier(c, t) for c in plant.supplier_configs()]
    )

    per_day: dict[str, list[Any]] = {
        k: []
        for k in (
            "rss_mib",
            "snapshot_mib",
            "vehicles_in_memory",
            "active_vehicles",
            "open_breaks",
            "engine_s",
            "engine_cpu_s",
            "generator_s",
            "snapshot_s",
            "inputs",
            "store_mib",
        )
    }
    table_lengths: list[dict[str, int]] = []
    bytes_ref: dict[str, int] = {}
    bytes_last: dict[str, int] = {}
    restarts: dict[int, dict[str, float]] = {}
    recover_s: dict[int, float] = {}
    days_run = 0
    groups = duplicates = 0
    inputs_before = 0
    steps_per_day = DAY // STEP
    for day in range(1, days + 1):
        engine_s = engine_cpu_s = generator_s = 0.0
        for _ in range(steps_per_day):
            until = t + STEP
            g0 = time.perf_counter()
            step = plant.step(until)
            g1, c1 = time.perf_counter(), time.thread_time()
            applier.apply(step, until)
            engine_s += time.perf_counter() - g1
            engine_cpu_s += time.thread_time() - c1
            generator_s += g1 - g0
            t = until
        days_run = day
        per_day["rss_mib"].append(round(rss_kib() / 1024, 1))
        s0 = time.perf_counter()
        snap = engine.snapshot()
        snapshot_bytes = len(snap)
        store.save_snapshot(store.last_seq(), snap)
        del snap
        sysmem.trim()  # as the runner does after a snapshot
        per_day["snapshot_s"].append(round(time.perf_counter() - s0, 2))
        per_day["snapshot_mib"].append(round(snapshot_bytes / 2**20, 2))
        per_day["vehicles_in_memory"].append(len(engine.seq.vehicles))
        per_day["active_vehicles"].append(sum(len(ls.seq_index) for ls in engine.seq.lines.values()))
        per_day["open_breaks"].append(len(engine.book.open))
        per_day["engine_s"].append(round(engine_s, 2))
        per_day["engine_cpu_s"].append(round(engine_cpu_s, 2))
        per_day["generator_s"].append(round(generator_s, 2))
        per_day["inputs"].append(engine.inputs - inputs_before)
        inputs_before = engine.inputs
        per_day["store_mib"].append(round(store_bytes(data_dir) / 2**20, 1))
        table_lengths.append(lengths(engine))
        if day == ref_day:
            bytes_ref = state_bytes(engine)
        print(
            f"day {day}: engine {engine_s:.1f}s ({engine_cpu_s:.1f}s CPU), rss {per_day['rss_mib'][-1]} MiB, "
            f"snapshot {per_day['snapshot_mib'][-1]} MiB, vehicles {per_day['vehicles_in_memory'][-1]} "
            f"({per_day['active_vehicles'][-1]} active), open breaks {per_day['open_breaks'][-1]}, "
            f"wall {time.perf_counter() - wall:.0f}s",
            flush=True,
        )
        over_budget = time.perf_counter() - wall > budget_s
        if day == days or over_budget:
            bytes_last = state_bytes(engine)
        if day in restart_days or day == days or over_budget:
            store.close()
            groups += applier.groups
            duplicates += applier.duplicates
            del applier, engine
            gc.unfreeze()
            gc.collect()
            restarts[day] = restart(data_dir, retain)
            if day == days or over_budget:
                break
            store, engine, recover_s[day] = open_engine(data_dir, retain)
            applier = Applier(engine, store)
            inputs_before = 0
    gc.unfreeze()

    ref = ref_day - 1
    tail = slice(ref, days_run)

    def spread(key: str) -> tuple[float, float]:
        vals = per_day[key][tail]
        return ratio(max(vals), per_day[key][ref]), ratio(min(vals), per_day[key][ref])

    rss_hi, rss_lo = spread("rss_mib")
    snap_hi, snap_lo = spread("snapshot_mib")
    # Engine time: a day's figure moves with whatever else the machine runs, so the drift is
    # the median of the last 5 days over that of the 5 days from the reference day (CPU
    # seconds of the engine thread; the wall seconds beside it as a figure).
    window = min(5, days_run - ref)
    first_days = slice(ref, ref + window)
    last_days = slice(days_run - window, days_run)

    def drift(key: str) -> float:
        return ratio(statistics.median(per_day[key][last_days]), statistics.median(per_day[key][first_days]))

    eng_drift, wall_drift = drift("engine_cpu_s"), drift("engine_s")
    cpu_hi, cpu_lo = spread("engine_cpu_s")
    wall_hi, wall_lo = spread("engine_s")
    first_r, last_r = min(restarts), max(restarts)
    restart_ratio = ratio(restarts[last_r]["s"], restarts[first_r]["s"])
    growth = {
        k: round((v - table_lengths[ref].get(k, 0)) / max(1, days_run - ref_day))
        for k, v in table_lengths[-1].items()
        if v != table_lengths[ref].get(k, 0)
    }
    figures: dict[str, Any] = {
        "plant": f"{cfg.lines} lines, takt {cfg.takt_s}s, {cfg.groups} groups/vehicle from "
        f"{cfg.suppliers} suppliers, racks of {cfg.rack_capacity}, steps of {STEP // MIN} min",
        "days": days_run,
        "retain": retain,
        "reference_day": ref_day,
        "wall_s": round(time.perf_counter() - wall),
        **{f"per_day_{k}": v for k, v in per_day.items()},
        "restart_to_serving_s": {d: r["s"] for d, r in restarts.items()},
        "restart_server_rss_mib": {d: r["server_rss_mib"] for d, r in restarts.items()},
        "restart_replayed_records": {d: r["replayed"] for d, r in restarts.items()},
        "empty_store_to_serving_s": empty["s"],
        "in_process_recover_s": {d: round(s, 2) for d, s in recover_s.items()},
        "commit_groups": groups,
        "duplicate_dispositions": duplicates,
        "engine_cpu_s_day_max_min_over_reference_day": [cpu_hi, cpu_lo],
        "engine_wall_s_day_max_min_over_reference_day": [wall_hi, wall_lo],
        "engine_wall_s_median_drift": wall_drift,
        "disruption": dict(sorted(plant.counts.items())),
        f"growth_per_day_after_day_{ref_day}": growth,
        f"lengths_day_{days_run}": table_lengths[-1],
        f"snapshot_mib_by_part_day_{days_run}": {
            k: round(v / 2**20, 2) for k, v in bytes_last.items() if v >= 64 * 1024
        },
        f"snapshot_mib_per_day_by_part_after_day_{ref_day}": {
            k: round((v - bytes_ref.get(k, 0)) / 2**20 / max(1, days_run - ref_day), 3)
            for k, v in bytes_last.items()
            if abs(v - bytes_ref.get(k, 0)) >= 1024
        },
    }
    report(
        f"long run: {days_run} plant-days, {cfg.lines} lines at takt {cfg.takt_s}s, "
        f"{cfg.groups} JIS groups, --retain {retain}",
        figures,
        [
            (f"RSS max day {ref_day}-{days_run} / day {ref_day}", rss_hi, "<=", 1.15),
            (f"RSS min day {ref_day}-{days_run} / day {ref_day}", rss_lo, ">=", 0.85),
            (f"snapshot bytes max day {ref_day}-{days_run} / day {ref_day}", snap_hi, "<=", 1.15),
            (f"snapshot bytes min day {ref_day}-{days_run} / day {ref_day}", snap_lo, ">=", 0.85),
            (f"restart to SERVING day {last_r} / day {first_r}", restart_ratio, "<=", 1.5),
            (
                f"engine CPU s per day, median days {last_days.start + 1}-{days_run} / "
                f"median days {ref_day}-{ref + window}",
                eng_drift,
                "<=",
                1.2,
            ),
            (
                f"engine CPU s per day, median days {last_days.start + 1}-{days_run} / "
                f"median days {ref_day}-{ref + window}",
                eng_drift,
                ">=",
                0.8,
            ),
        ],
    )
    assert days_run >= 1 and all(r["s"] > 0 for r in restarts.values())
