"""Packed columns mean exactly what the same messages mean one by one.

The differential test drives two engines with the same random feeds: one applies each
packed call through ``publish_columns`` (array runs + per-message fallback), the other
the same messages through ``publish_batch`` (per-message only). Feeds are built to hit
every reason a run must end: repeated vehicles, held and repeated seq_nos, late,
duplicate, conflicting and far-off call numbers, unknown lines and actions, bad ids,
quantities and part lists, CHANGE and REINSERT; builds make INSTALLED consume slots.
Every outcome and every piece of state (tables, interned codes, dict orders, ledger,
breaks, feed) must be equal, and a third engine replaying the packed engine's log must
reach the same state.
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jis.columns import Interner, RowList, Table
from jis.engine import bulk
from jis.engine import packed as packed_mod
from jis.engine.engine import Engine
from jis.engine.model import Action, Broadcast, BuildReport, Disposition, LineConfig, PartDemand
from jis.engine.packed import PackedBroadcasts, broadcast_digest
from jis.errors import DomainError, InvalidArgument
from jis.store import SqliteStore
from tests.factories import packed_columns

MIN = 60 * 10**9
T0 = 1_800_000_000 * 10**9


def pack(msgs: list[Broadcast], rng: random.Random) -> PackedBroadcasts:
    """``msgs`` as columns, with dictionaries in a shuffled order and some strings twice."""

    def dictionary(values: list[str]) -> tuple[list[str], dict[str, list[int]]]:
        names = sorted(set(values))
        rng.shuffle(names)
        if names and rng.random() < 0.3:
            names.append(rng.choice(names))  # the same string under two indexes
        where: dict[str, list[int]] = {}
        for i, s in enumerate(names):
            where.setdefault(s, []).append(i)
        return names, where

    def ref(where: dict[str, list[int]], s: str) -> int:
        return rng.choice(where[s])

    parts = [p for m in msgs for p in m.parts]
    lines, lw = dictionary([m.line_id for m in msgs])
    cps, cw = dictionary([m.checkpoint for m in msgs])
    groups, gw = dictionary([p.group for p in parts])
    numbers, nw = dictionary([p.part_number for p in parts])
    sups, sw = dictionary([p.supplier_id for p in parts])
    return PackedBroadcasts.build(
        line_ids=lines,
        line=[ref(lw, m.line_id) for m in msgs],
        call_no=[m.call_no for m in msgs],
        action=[m.action for m in msgs],
        vehicle_id=[m.vehicle_id for m in msgs],
        seq_no=[m.seq_no or 0 for m in msgs],
        seq_no_absent=[i for i, m in enumerate(msgs) if m.seq_no is None],
        checkpoints=cps,
        checkpoint=[ref(cw, m.checkpoint) for m in msgs],
        event_time_ns=[m.event_time or 0 for m in msgs],
        need_time_ns=[m.need_time or 0 for m in msgs],
        part_count=[len(m.parts) for m in msgs],
        groups=groups,
        part_numbers=numbers,
        supplier_ids=sups,
        part_group=[ref(gw, p.group) for p in parts],
        part_number=[ref(nw, p.part_number) for p in parts],
        part_supplier=[ref(sw, p.supplier_id) for p in parts],
        part_quantity=[p.quantity for p in parts],
        max_messages=10_000,
    )


class Feed:
    """A random MES feed on lines A and B (and an unknown line X), mostly plain."""

    def __init__(self, rng: random.Random, plain: float, rare: float = 1.0) -> None:
        self.rng = rng
        self.plain = plain
        self.rare = rare
        """Scales the odds of every anomaly other than the action."""
        self.call = {"A": 0, "B": 0, "X": 0}
        self.next_vehicle = 0
        self.next_seq = {"A": 0, "B": 0, "X": 0}
        self.sent: list[Broadcast] = []
        self.line = "A"
        self.active: dict[str, list[str]] = {"A": [], "B": [], "X": []}

    def parts(self, v: int) -> tuple[PartDemand, ...]:
        r = self.rng
        out = [PartDemand(f"G{g}", f"P{(v + g) % 3}", f"S{g % 2}", 1) for g in range(r.randint(0, 4))]
        if r.random() < 0.05 * self.rare and out:
            out.append(out[0])  # (supplier, group) twice
        if r.random() < 0.05 * self.rare and out:
            out[0] = PartDemand(out[0].group, out[0].part_number, out[0].supplier_id, 0)
        if r.random() < 0.03 * self.rare and out:
            out[0] = PartDemand(" ", out[0].part_number, out[0].supplier_id, 1)
        return tuple(out)

    def message(self, t: int) -> Broadcast:
        r = self.rng
        if r.random() < 0.3 * self.rare:  # lines come in stretches (a run is one line's)
            self.line = r.choice("AAB")
        line = "X" if r.random() < 0.02 * self.rare else self.line
        self.call[line] += 1
        call = self.call[line]
        if r.random() < 0.04 * self.rare:
            call += r.randint(1, 3)  # a gap
            self.call[line] = call
        elif r.random() < 0.04 * self.rare and call > 3:
            call -= r.randint(1, 3)  # late, duplicate or conflicting
        elif r.random() < 0.01 * self.rare:
            call += 200_000  # too far ahead
        event = None if r.random() < 0.3 else t - r.randint(0, 5) * 10**9
        cp = r.choice(["", "", "PAINT_OUT", "x" * 300 if r.random() < 0.05 * self.rare else "BODY"])
        if r.random() < self.plain or not self.sent:
            action = r.choice(
                [Action.ADD, Action.ADD, Action.ADD, Action.INSTALLED, Action.PULL, Action.CANCEL]
            )
        else:
            action = r.choice([*Action, 99])
        if action == Action.ADD or not self.sent:
            if r.random() < 0.05 * self.rare and self.sent:
                v = int(r.choice(self.sent).vehicle_id[1:])  # already known
            else:
                v = self.next_vehicle
                self.next_vehicle += 1
            vid = "" if r.random() < 0.01 * self.rare else f"V{v}"
        elif self.active[line] and r.random() > 0.5 * self.rare:  # the oldest active one leaves
            vid = self.active[line].pop(0)
            v = int(vid[1:])
        else:
            v = int(r.choice(self.sent[-40:]).vehicle_id[1:] or 0)
            vid = f"V{v}"
        self.next_seq[line] += 1
        seq = (
            self.next_seq[line]
            if r.random() < 1 - 0.1 * self.rare
            else r.randint(max(0, self.next_seq[line] - 10), self.next_seq[line])
        )
        missing = {Action.CHANGE: 0.5, Action.ADD: 0.02 * self.rare}.get(
            Action(action) if action != 99 else Action.PULL, 0.0
        )
        seq_no = None if r.random() < missing else seq
        need = None if r.random() < 0.5 else T0 + seq * MIN
        b = Broadcast(line, call, int(action), vid, seq_no, cp, event, need, self.parts(v))
        if vid:
            self.sent.append(b)
            if action == Action.ADD:
                self.active[line].append(vid)
        return b

    def batch(self, t: int) -> list[Broadcast]:
        return [self.message(t) for _ in range(self.rng.randint(1, 120))]


def table_state(t: Table) -> dict[str, list[Any]]:
    return {k: v.tolist() for k, v in t.to_arrays().items()}


def engine_state(e: Engine) -> list[Any]:
    """Everything the engine keeps that a packed publish can touch, orders included."""
    s = e.seq
    lines = []
    for lid, ln in s.lines.items():
        led = ln.ledger
        lines.append(
            (
                lid,
                led.applied[: led.highest].tolist(),
                led.digests[: led.highest].tolist(),
                led.highest,
                list(led.gap_starts),
                list(led.gap_ends.items()),
                list(ln.seq_index.items()),
                ln.duplicates,
                ln.last_broadcast_at,
                ln.last_lag_ns,
                ln.heard_from,
            )
        )

    def names(i: Interner) -> list[str]:
        return i.names()

    def rowlists(d: dict[Any, RowList]) -> list[Any]:
        return [(k, v.view().tolist()) for k, v in d.items()]

    book = e.book
    return [
        lines,
        [
            names(i)
            for i in (s.line_ids, s.vehicle_ids, s.supplier_ids, s.group_ids, s.part_numbers, s.checkpoints)
        ],
        table_state(s.vehicles),
        table_state(s.demand),
        rowlists(s.scope_demand),
        table_state(e.feed.events),
        table_state(e.feed.messages),
        list(e.feed.scope_keys),
        [(k, pickle.dumps(b)) for k, b in book.open.items()],
        [pickle.dumps(b) for b in book.resolved],
        table_state(book.history),
        book.next_id,
        table_state(e.supply.slots),
        list(e.supply.consumed.items()),
        e.inputs,
    ]


def outcome_of(results: list[Any]) -> list[Any]:
    return [
        (Disposition.REJECTED, type(r).__name__, r.field, str(r))
        if isinstance(r, DomainError)
        else (r.disposition, "", "", "")
        for r in results
    ]


def setup(e: Engine) -> None:
    for line in "AB":
        e.configure_line(LineConfig(line, MIN, 3600 * 10**9, T0), T0 - 3600 * 10**9)


def builds(e: Engine, rng: random.Random, t: int) -> list[str]:
    """Build a few slots for recent vehicles (same choices on every engine)."""
    out = []
    for _ in range(rng.randint(0, 3)):
        g = rng.randint(0, 3)
        report = BuildReport(
            f"S{g % 2}", f"G{g}", rng.choice("AB"), f"V{rng.randint(0, 200)}", f"P{rng.randint(0, 2)}"
        )
        try:
            e.report_build(report, t)
            out.append("ok")
        except DomainError as exc:
            out.append(str(exc))
    return out


def drive(
    seed: int, calls: int, plain: float, rare: float = 1.0, data: Path | None = None
) -> tuple[Engine, Engine, list[Any]]:
    rng = random.Random(seed)
    feed = Feed(rng, plain, rare)
    one = Engine()
    packed = Engine(SqliteStore(data, synchronous="OFF") if data else None)
    setup(one)
    setup(packed)
    outcomes = []
    t = T0
    for _ in range(calls):
        t += rng.randint(0, 90) * 10**9
        msgs = feed.batch(t)
        p = pack(msgs, rng)
        assert [p.message(i) for i in range(len(p))] == [
            m if m.action not in (Action.PULL, Action.CANCEL, Action.INSTALLED) else _no_seq(m) for m in msgs
        ]
        expected = outcome_of(one.publish_batch([p.message(i) for i in range(len(p))], t))
        got = packed.publish_columns(p, t)
        actual = [
            (Disposition.REJECTED, type(got.errors[i]).__name__, got.errors[i].field, str(got.errors[i]))
            if i in got.errors
            else (Disposition(int(got.disposition[i])), "", "", "")
            for i in range(len(p))
        ]
        assert actual == expected
        outcomes.append(actual)
        if packed.store is not None:
            packed.store.commit()
        seed_builds = rng.random()
        assert builds(one, random.Random(seed_builds), t) == builds(packed, random.Random(seed_builds), t)
        if packed.store is not None:
            packed.store.commit()
    return one, packed, outcomes


def _no_seq(m: Broadcast) -> Broadcast:
    return Broadcast(
        m.line_id, m.call_no, m.action, m.vehicle_id, None, m.checkpoint, m.event_time, m.need_time, m.parts
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    plain=st.sampled_from([0.6, 0.9, 0.99, 1.0]),
    rare=st.sampled_from([1.0, 0.2, 0.03]),
    min_run=st.sampled_from([1, bulk.MIN_RUN]),
)
def test_packed_equals_one_by_one(seed: int, plain: float, rare: float, min_run: int) -> None:
    """min_run 1: every run, however short, goes through the array path (the most of it
    to check); the default: short runs back off to the per-message path."""
    with mock.patch.object(bulk, "MIN_RUN", min_run):
        one, packed, outcomes = drive(seed, calls=8, plain=plain, rare=rare)
    assert engine_state(packed) == engine_state(one)
    assert any(d[0] == Disposition.APPLIED for o in outcomes for d in o)


def count_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every array run applied from now on, in order."""
    in_runs: list[int] = []
    apply_run = bulk.apply_run

    def counting(seq: Any, p: PackedBroadcasts, plan: bulk.Plan, digests: Any, at: int) -> bulk.RunTouched:
        in_runs.append(plan.hi - plan.lo)
        return apply_run(seq, p, plan, digests, at)

    monkeypatch.setattr(bulk, "apply_run", counting)
    return in_runs


def test_runs_are_taken_and_the_log_replays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mostly plain feeds go through array runs (the engines agree), and a restart from the
    packed records rebuilds the same state."""
    in_runs = count_runs(monkeypatch)
    one, packed, outcomes = drive(7, calls=30, plain=0.995, rare=0.03, data=tmp_path)
    assert engine_state(packed) == engine_state(one)
    flat = [d for o in outcomes for d in o]
    applied = sum(d[0] == Disposition.APPLIED for d in flat)
    assert applied > 800
    assert sum(in_runs) > applied * 0.6, (sum(in_runs), applied)
    assert {d[1] for d in flat} >= {"", "InvalidArgument", "FailedPrecondition", "AlreadyExists"}
    assert packed.store is not None
    packed.store.close()
    monkeypatch.undo()
    again = Engine(SqliteStore(tmp_path))
    again.recover()
    assert engine_state(again) == engine_state(packed)


def test_batches_take_runs_and_mean_what_their_messages_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``publish_batch`` packs a batch of nested messages and applies it as columns: the
    same outcomes and state as its messages one by one (leaves carrying a seq_no,
    conversion errors in between, short batches included), and a restart from its log
    rebuilds that state."""
    in_runs = count_runs(monkeypatch)
    for seed, plain, rare in ((11, 0.995, 0.03), (12, 0.9, 1.0), (13, 0.6, 0.2)):
        rng = random.Random(seed)
        feed = Feed(rng, plain, rare)
        one, runs = Engine(), Engine(SqliteStore(tmp_path / str(seed), synchronous="OFF"))
        setup(one)
        setup(runs)
        t = T0
        leaves_with_seq = 0
        for _ in range(12):
            t += rng.randint(0, 90) * 10**9
            batch: list[Broadcast | DomainError] = list(feed.batch(t))
            leaves_with_seq += sum(
                b.seq_no is not None and b.action in (Action.PULL, Action.CANCEL, Action.INSTALLED)
                for b in batch
                if isinstance(b, Broadcast)
            )
            if rng.random() < 0.5:  # refused at conversion (the servicer passes those on)
                batch.insert(
                    rng.randint(0, len(batch)), InvalidArgument("event_time", "not a valid timestamp")
                )
            expected = outcome_of(one.publish_batch(batch, t, runs=False))
            assert outcome_of(runs.publish_batch(batch, t)) == expected
            assert runs.store is not None
            runs.store.commit()
            seed_builds = rng.random()
            assert builds(one, random.Random(seed_builds), t) == builds(runs, random.Random(seed_builds), t)
            runs.store.commit()
        assert engine_state(runs) == engine_state(one)
        assert leaves_with_seq > 0
        runs.store.close()
        again = Engine(SqliteStore(tmp_path / str(seed)))
        again.recover()
        assert engine_state(again) == engine_state(one)
    assert sum(in_runs) > 500, sum(in_runs)


def test_nested_messages_pack_as_the_columns_would() -> None:
    """``PackedBroadcasts.of`` gives each message back (a leave without its seq_no), with
    its ``broadcast_digest``; a value with no exact column form gives None."""
    rng = random.Random(5)
    feed = Feed(rng, 0.5)
    msgs = feed.batch(T0) + feed.batch(T0) + [Broadcast("A", 7, 1, "E", 3, "", 0, 0, ())]
    p = PackedBroadcasts.of(msgs)
    assert p is not None
    assert [p.message(i) for i in range(len(p))] == [
        m if m.action not in (Action.PULL, Action.CANCEL, Action.INSTALLED) else _no_seq(m) for m in msgs
    ]
    assert p.digests().tolist() == [broadcast_digest(m) for m in msgs]
    assert PackedBroadcasts.decode(p.encode()).digests().tolist() == p.digests().tolist()
    for odd in (
        Broadcast("A", 1, int(Action.PULL), "V", -(2**63)),  # refused one by one: out of range
        Broadcast("A", 1, int(Action.ADD), "V", 2**63),
        Broadcast("A", 1, int(Action.ADD), "V", 1, event_time=-(2**63)),
        Broadcast("A", -1, int(Action.ADD), "V", 1),
        Broadcast("A", 1, int(Action.ADD), "V", 1, parts=(PartDemand("G", "P", "S", 2**63),)),
    ):
        assert PackedBroadcasts.of([*msgs, odd]) is None


def test_digest_does_not_depend_on_the_transport() -> None:
    rng = random.Random(3)
    feed = Feed(rng, 0.5)
    msgs = feed.batch(T0) + feed.batch(T0)
    p = pack(msgs, rng)
    assert p.digests().tolist() == [broadcast_digest(m) for m in msgs]
    changed = [
        Broadcast(m.line_id, m.call_no, m.action, m.vehicle_id + "x", m.seq_no, m.checkpoint) for m in msgs
    ]
    assert all(
        a != b for a, b in zip(pack(changed, rng).digests().tolist(), p.digests().tolist(), strict=True)
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action": [1]}, "action"),
        ({"vehicle_id": ["V1"]}, "vehicle_id"),
        ({"line_ids": ["A", "B"]}, "line"),
        ({"line": [0, 2]}, "line[1]"),
        ({"seq_no": [1]}, "seq_no"),
        ({"seq_no_absent": [5]}, "seq_no_absent[0]"),
        ({"checkpoint": [0, 0]}, "checkpoint[0]"),
        ({"event_time_ns": [1]}, "event_time_ns"),
        ({"need_time_ns": [-(2**63), 0]}, "need_time_ns[0]"),
        ({"part_count": [1, 2]}, "part_group"),
        ({"part_group": [0, 1]}, "part_group[1]"),
        ({"part_supplier": [3, 0]}, "part_supplier[0]"),
        ({"part_quantity": [1, 2**31]}, "part_quantity[1]"),
        ({"call_no": list(range(1, 12)), "action": [1] * 11}, "call_no"),
    ],
)
def test_malformed_columns_name_the_column(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        PackedBroadcasts.build(**packed_columns(**changes))
    assert exc.value.field == field


def test_encoding_round_trip() -> None:
    p = PackedBroadcasts.build(
        **packed_columns(checkpoints=["PAINT"], checkpoint=[0, 0], event_time_ns=[5, 0])
    )
    q = PackedBroadcasts.decode(p.encode())
    assert [q.message(i) for i in range(2)] == [p.message(i) for i in range(2)]
    assert np.array_equal(q.digests(), p.digests())


def _first_form(p: PackedBroadcasts) -> bytes:
    """A record as the first encoder wrote it: every column in full, int64 / uint64 / bool."""
    header = {
        "strings": {k: getattr(p, k) for k in packed_mod._STRINGS},
        "arrays": [[k, len(getattr(p, k))] for k, _ in packed_mod._ARRAYS],
    }
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    body = b"".join(
        np.ascontiguousarray(getattr(p, k), dt).astype(np.dtype(dt).newbyteorder("<")).tobytes()
        for k, dt in packed_mod._ARRAYS
    )
    return len(head).to_bytes(4, "little") + head + body


@pytest.mark.parametrize("seed", range(6))
def test_records_narrow_columns_and_old_records_still_decode(seed: int) -> None:
    """The log stores each column in its narrowest type (or as one value when all are
    equal); a record of the first, all-int64 form still replays to the same columns."""
    rng = random.Random(seed)
    p = pack(Feed(rng, 0.9, 0.2).batch(T0), rng)
    record = p.encode()
    assert len(record) < len(_first_form(p))
    for q in (PackedBroadcasts.decode(record), PackedBroadcasts.decode(_first_form(p))):
        for name in p.__dataclass_fields__:
            a, b = getattr(p, name), getattr(q, name)
            if isinstance(a, list):
                assert a == b, name
            else:
                assert a.dtype == b.dtype and np.array_equal(a, b), name
