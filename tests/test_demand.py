"""Summarized demand (ReportService.GetDemand) against a plain reference: random feeds of
broadcasts (adds, variant changes, pulls, re-inserts, cancels, installs) and builds (some of
the wrong variant) go to a real test-clock server over gRPC; the reference keeps, from the
same inputs, what each vehicle needs now and which (vehicle, group, part) slots exist, and
sums quantity, covered and frozen per line, group, part and bucket of need time."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.v1 import lines_pb2, reports_pb2, supply_pb2
from tests.conftest import Client, connect
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part, pub
from tests.serverproc import ServerProcess

NS = 10**9
MIN = 60 * NS
T0 = 1_900_000_000 * NS
GROUPS = {"SEAT": "DS1", "DOOR": "DS2"}
"""group -> its supplier."""
VARIANTS = {"SEAT": ["S-BLK", "S-GRY", "S-RED"], "DOOR": ["D-L", "D-R"]}
CHANGES_FROM = -60 * 60 * 10**9
"""Where, from a feed's base, its changes start (after its adds and builds)."""


def ts(ns: int) -> Timestamp:
    return Timestamp(seconds=ns // NS, nanos=ns % NS)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("demand") / "data", "--test-clock").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def c(srv: ServerProcess) -> Iterator[Client]:
    client = connect(srv.address)
    client.clock.SetClock(lines_pb2.SetClockRequest(now=ts(T0)), timeout=10)
    for supplier in GROUPS.values():
        client.supply.ConfigureSupplier(
            supply_pb2.ConfigureSupplierRequest(supplier_id=supplier, lead_time=Duration(seconds=3600)),
            timeout=10,
        )
    yield client
    client.channel.close()


@dataclass
class Reference:
    line: str
    frozen_ns: int
    parts: dict[str, dict[str, str]] = field(default_factory=dict)
    """vehicle -> group -> part it needs now (active vehicles only)."""
    need: dict[str, int] = field(default_factory=dict)
    slots: set[tuple[str, str, str]] = field(default_factory=set)
    """(vehicle, group, part) built."""
    churn: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    """(group, part, need time, up, down) per change since CHANGES_FROM."""

    def changes(self, supplier: str, start: int, stop: int, bucket: int) -> list[tuple]:
        sums: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0])
        for group, p, need, up, down in self.churn:
            if GROUPS[group] == supplier and start <= need < stop:
                s = sums[(self.line, group, p, start + (need - start) // bucket * bucket)]
                s[0] += up
                s[1] += down
        return sorted((*k, *v) for k, v in sums.items())

    def demand(self, supplier: str, start: int, stop: int, bucket: int, now: int) -> list[tuple]:
        sums: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
        for v, parts in self.parts.items():
            need = self.need[v]
            if not start <= need < stop:
                continue
            for group, p in parts.items():
                if GROUPS[group] != supplier:
                    continue
                s = sums[(self.line, group, p, start + (need - start) // bucket * bucket)]
                s[0] += 1
                s[1] += (v, group, p) in self.slots
                s[2] += need - self.frozen_ns <= now
        return sorted((*k, *v) for k, v in sums.items())


def feed(c: Client, line: str, seed: int, base: int, n: int = 120) -> Reference:
    """A random feed for ``line`` (need times over 8 hours from ``base``); its reference."""
    rng = random.Random(seed)
    frozen = rng.choice([0, 20, 45, 90]) * MIN
    req = lines_pb2.ConfigureLineRequest(
        line_id=line,
        takt=Duration(seconds=240),
        heartbeat=Duration(seconds=86_400),
        frozen=Duration(seconds=frozen // NS),
    )
    c.lines.ConfigureLine(req, timeout=10)
    ref = Reference(line, frozen)
    call, pulled = 0, {}

    def send(action: int, v: str, seq: int | None = None, parts: dict[str, str] | None = None) -> None:
        nonlocal call
        call += 1
        m = bc(line, call, action, v, seq, [part(g, p, GROUPS[g]) for g, p in (parts or {}).items()])
        if action in (ADD, CHANGE, REINSERT):
            m.need_time.CopyFrom(ts(ref.need[v]))
        c.broadcast.Publish(pub(m), timeout=10)

    for k in range(1, n + 1):
        v = f"{line}-V{k}"
        ref.need[v] = base + rng.randrange(0, 8 * 60) * MIN
        parts = {g: rng.choice(ps) for g, ps in VARIANTS.items() if rng.random() < 0.9}
        send(ADD, v, k, parts)
        ref.parts[v] = parts
        if rng.random() < 0.5:  # built, of the right variant mostly
            g = rng.choice(list(parts) or ["SEAT"])
            p = parts.get(g, VARIANTS[g][0]) if rng.random() < 0.8 else rng.choice(VARIANTS[g])
            c.supply.ReportBuild(
                supply_pb2.ReportBuildRequest(
                    supplier_id=GROUPS[g], group=g, line_id=line, vehicle_id=v, part_number=p
                ),
                timeout=10,
            )
            ref.slots.add((v, g, p))
    # the changes after the plan: an hour later on the engine clock (GetDemand changes_since)
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(base + CHANGES_FROM)), timeout=10)

    def down_all(v: str) -> None:
        ref.churn.extend((g, p, ref.need[v], 0, 1) for g, p in ref.parts[v].items())

    for k in rng.choices(range(1, n + 1), k=n // 2):  # a vehicle may change more than once
        v = f"{line}-V{k}"
        what = rng.random()
        if what < 0.4 and v in ref.parts and ref.parts[v]:  # a variant change
            g = rng.choice(list(ref.parts[v]))
            old, new = ref.parts[v][g], rng.choice(VARIANTS[g])
            ref.parts[v] = {**ref.parts[v], g: new}
            send(CHANGE, v, k, ref.parts[v])
            if new != old:
                ref.churn += [(g, old, ref.need[v], 0, 1), (g, new, ref.need[v], 1, 0)]
        elif what < 0.6 and v in ref.parts:
            send(PULL, v)
            down_all(v)
            pulled[v] = ref.parts.pop(v)
        elif what < 0.65 and v in pulled:
            send(REINSERT, v, k, {})  # back in the sequence with the parts it had: they come up
            ref.parts[v] = pulled.pop(v)
            ref.churn.extend((g, p, ref.need[v], 1, 0) for g, p in ref.parts[v].items())
        elif what < 0.7 and v in pulled:
            send(CANCEL, v)  # a pulled vehicle cancelled: its parts left with the pull already
            del pulled[v]
        elif what < 0.85 and v in ref.parts:
            send(CANCEL, v)
            down_all(v)
            ref.parts.pop(v)
        elif v in ref.parts:
            send(INSTALLED, v)
            ref.parts.pop(v)
    return ref


def served(c: Client, **request: object) -> list[tuple]:
    """GetDemand's rows as the reference's tuples: one per bucket with demand."""
    d = c.reports.GetDemand(reports_pb2.GetDemandRequest(**request), timeout=10)  # type: ignore[arg-type]
    start, step = getattr(d, "from").ToNanoseconds(), d.bucket.ToNanoseconds()
    n = -(-(d.to.ToNanoseconds() - start) // step)
    out = []
    for r in d.rows:
        assert len(r.quantity) == len(r.covered) == len(r.frozen) == n  # every bucket of the window
        assert any(r.quantity)  # a row has demand
        out += [
            (r.line_id, r.group, r.part_number, start + k * step, q, cov, fr)
            for k, (q, cov, fr) in enumerate(zip(r.quantity, r.covered, r.frozen, strict=True))
            if q
        ]
    return out


def served_changes(c: Client, **request: object) -> list[tuple]:
    """GetDemand's up and down per bucket (with changes_since), where there are any."""
    d = c.reports.GetDemand(reports_pb2.GetDemandRequest(**request), timeout=10)  # type: ignore[arg-type]
    start, step = getattr(d, "from").ToNanoseconds(), d.bucket.ToNanoseconds()
    return sorted(
        (r.line_id, r.group, r.part_number, start + k * step, u, dn)
        for r in d.rows
        for k, (u, dn) in enumerate(zip(r.up, r.down, strict=True))
        if u or dn
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_demand_per_part_and_bucket_equals_a_plain_reference(c: Client, seed: int) -> None:
    line = f"DM{seed}"
    base = T0 + seed * 1440 * MIN  # a day of its own: the test clock only moves forward
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(base - 120 * MIN)), timeout=10)
    ref = feed(c, line, seed, base)
    rng = random.Random(seed)
    now = base + rng.randrange(0, 120) * MIN
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(now)), timeout=10)
    checked = churned = 0
    for supplier in GROUPS.values():
        for start, hours, bucket in (
            (base, 8, 60 * MIN),
            (base + 37 * MIN, 3, 15 * MIN),
            (base - 60 * MIN, 10, 180 * MIN),
        ):
            stop = start + hours * 60 * MIN
            want = ref.demand(supplier, start, stop, bucket, now)
            got = served(
                c,
                supplier_id=supplier,
                line_id=line,
                to=ts(stop),
                bucket=Duration(seconds=bucket // NS),
                **{"from": ts(start)},
            )
            assert got == want, (supplier, start, hours, bucket)
            checked += sum(q for *_, q, _, _ in want)
            changes = served_changes(
                c,
                supplier_id=supplier,
                line_id=line,
                to=ts(stop),
                bucket=Duration(seconds=bucket // NS),
                changes_since=ts(base + CHANGES_FROM),
                **{"from": ts(start)},
            )
            assert changes == ref.changes(supplier, start, stop, bucket), (supplier, start, hours, bucket)
            churned += len(changes)
    assert checked > 100 and churned > 10  # the windows hold demand and changes: not empty lists


def test_demand_is_refused_clearly(c: Client) -> None:
    for request, field_name in (
        (reports_pb2.GetDemandRequest(), "supplier_id"),
        (reports_pb2.GetDemandRequest(supplier_id="DS1", bucket=Duration(seconds=10)), "bucket"),
        (reports_pb2.GetDemandRequest(supplier_id="DS1", to=ts(T0), **{"from": ts(T0 + NS)}), "to"),
        (reports_pb2.GetDemandRequest(supplier_id="DS1", line_id="NO-SUCH-LINE"), "line_id"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            c.reports.GetDemand(request, timeout=10)
        assert err.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
        assert field_name in (err.value.details() or "")
    # a supplier with no demand (or unknown) has an empty answer, not an error
    assert served(c, supplier_id="NOBODY") == []


def test_the_cli_prints_parts_by_hour_and_writes_csv(srv: ServerProcess, c: Client, tmp_path: Path) -> None:
    """`jis demand`: a table of part numbers by hour with the totals, and the same buckets as
    CSV, as GetDemand gives them."""
    base = T0 + 9 * 1440 * MIN
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(base - 120 * MIN)), timeout=10)
    ref = feed(c, "DMC", 9, base)
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(base)), timeout=10)
    want = ref.demand("DS1", base, base + 8 * 60 * MIN, 60 * MIN, base)
    args = ["DS1", "--line", "DMC", "--hours", "8", "--server", srv.address]
    shown = subprocess.run(
        [sys.executable, "-m", "jis", "demand", *args], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    head, *rows = shown.stdout.splitlines()
    hours = [
        dt.datetime.fromtimestamp((base + k * 60 * MIN) / 1e9, dt.UTC).strftime("%H:%M") for k in range(8)
    ]
    assert head.split() == ["LINE", "GROUP", "PART", *hours, "TOTAL", "COVERED", "FROZEN"]
    totals: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for _, group, p, _, q, covered, frozen in want:
        t = totals[(group, p)]
        t[0], t[1], t[2] = t[0] + q, t[1] + covered, t[2] + frozen
    for (group, p), t in totals.items():
        row = next(r for r in rows if r.split()[1:3] == [group, p])
        assert [int(x) for x in row.split()[-3:]] == t  # TOTAL, COVERED, FROZEN
    out = tmp_path / "demand.csv"
    written = subprocess.run(
        [sys.executable, "-m", "jis", "demand", *args, "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert written.returncode == 0, written.stderr
    with out.open(newline="") as f:
        got = [
            (
                r["line_id"],
                r["group"],
                r["part_number"],
                ns_of(r["bucket_start"]),
                int(r["quantity"]),
                int(r["covered"]),
                int(r["frozen"]),
            )
            for r in csv.DictReader(f)
        ]
    assert got == want and len(got) > 5
    # what changed since the plan, per part: the UP and DOWN totals and, as CSV, per bucket
    since = ts(base + CHANGES_FROM).ToJsonString()
    churn = subprocess.run(
        [sys.executable, "-m", "jis", "demand", *args, "--changes-since", since, "--csv", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert churn.returncode == 0, churn.stderr
    changed = [
        (r["line_id"], r["group"], r["part_number"], ns_of(r["bucket_start"]), int(r["up"]), int(r["down"]))
        for r in csv.DictReader(churn.stdout.splitlines())
        if int(r["up"]) or int(r["down"])
    ]
    assert changed == ref.changes("DS1", base, base + 8 * 60 * MIN, 60 * MIN) and len(changed) > 3


def ns_of(text: str) -> int:
    t = Timestamp()
    t.FromJsonString(text)
    return t.ToNanoseconds()


def test_demand_sums_alike_counted_in_place_or_by_sorting_the_keys() -> None:
    """The two ways demand is summed (an array of every possible key, or the keys present
    sorted, for a key space too large) give the same keys in the same order and the same sums."""
    import numpy as np

    from jis.columns import sum_by_key

    rng = np.random.default_rng(5)
    for size in (1, 50, 10_000):
        key = rng.integers(0, size, 3_000)
        weights = [rng.integers(0, 4, 3_000), rng.integers(0, 2, 3_000)]
        dense_keys, dense = sum_by_key(key, size, weights, dense=True)
        sorted_keys, by_sort = sum_by_key(key, size, weights, dense=False)
        assert dense_keys.tolist() == sorted_keys.tolist() == sorted(set(key.tolist()))
        for a, b, w in zip(dense, by_sort, weights, strict=True):
            assert a.tolist() == b.tolist()
            assert int(a.sum()) == int(w.sum())


def test_a_demand_watch_gets_the_rows_that_changed(c: Client) -> None:
    """WatchDemand: the demand as a snapshot, then after inputs the rows that changed
    (whole), so that the watcher's rows always equal a GetDemand of the same window."""
    base = T0 + 12 * 1440 * MIN
    c.clock.SetClock(lines_pb2.SetClockRequest(now=ts(base - 120 * MIN)), timeout=10)
    feed(c, "DMW", 12, base, n=40)
    window = {"supplier_id": "DS1", "line_id": "DMW", "to": ts(base + 8 * 60 * MIN), "from": ts(base)}
    watch = c.reports.WatchDemand(
        reports_pb2.WatchDemandRequest(**window, interval=Duration(seconds=1)),  # type: ignore[arg-type]
        timeout=30,
    )
    it = iter(watch)
    first = next(it)
    assert first.WhichOneof("update") == "snapshot"
    rows = {(r.line_id, r.group, r.part_number): r for r in first.snapshot.rows}

    def demand_now() -> dict[tuple[str, str, str], reports_pb2.DemandRow]:
        d = c.reports.GetDemand(reports_pb2.GetDemandRequest(**window), timeout=10)  # type: ignore[arg-type]
        return {(r.line_id, r.group, r.part_number): r for r in d.rows}

    assert rows == demand_now()
    # a new vehicle needing a part no row had yet, and a build covering another's part
    m = bc("DMW", 10_001, ADD, "DMW-NEW", 10_001, [part("SEAT", "S-NEW", "DS1")])
    m.need_time.CopyFrom(ts(base + 30 * MIN))
    c.broadcast.Publish(pub(m), timeout=10)
    update = next(it)
    assert update.WhichOneof("update") == "changes"
    changed = {(r.line_id, r.group, r.part_number) for r in update.changes.rows}
    assert ("DMW", "SEAT", "S-NEW") in changed
    for r in update.changes.rows:
        rows[(r.line_id, r.group, r.part_number)] = r
    rows = {k: r for k, r in rows.items() if any(r.quantity)}
    assert rows == demand_now()
    watch.cancel()
