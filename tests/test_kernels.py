"""Every kernel against the plain reference in tests/naive.py, on random inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jis.kernels import matching, runs
from jis.kernels.sequence import sequence_window
from tests import naive
from tests.factories import packed_columns


@st.composite
def scopes(draw):  # type: ignore[no-untyped-def]
    """E over vehicles 0..n-1 (a random subset, random order); S with repeats, strangers, wrong parts."""
    n_vehicles = draw(st.integers(0, 12))
    e_vehicle = draw(st.permutations(list(range(n_vehicles))))
    e_vehicle = e_vehicle[: draw(st.integers(0, n_vehicles))]
    e_part = [draw(st.integers(0, 2)) for _ in e_vehicle]
    e_need = [draw(st.integers(0, 10**6)) for _ in e_vehicle]
    ns = draw(st.integers(0, 20))
    # codes >= n: never broadcast; -1: no vehicle; repeats of vehicles in E and not in E alike
    s_vehicle = [draw(st.integers(-1, n_vehicles + 2)) for _ in range(ns)]
    s_part = [draw(st.integers(0, 2)) for _ in range(ns)]
    return e_vehicle, e_part, e_need, s_vehicle, s_part


@settings(max_examples=300)
@given(scopes())
def test_match_flags_every_slot_like_the_reference(scope) -> None:  # type: ignore[no-untyped-def]
    e_vehicle, e_part, e_need, s_vehicle, s_part = scope
    scratch = matching.MatchScratch()
    m = matching.match(
        np.array(e_vehicle, np.int32),
        np.array(e_part, np.int32),
        np.array(e_need, np.int64),
        np.array(s_vehicle, np.int32),
        np.array(s_part, np.int32),
        scratch,
    )
    flags, s_e = m.flags, m.s_e
    orphan, wrong, dup, ref_first, oos_count, keys = naive.match(e_vehicle, e_part, e_need, s_vehicle, s_part)
    assert np.flatnonzero(flags & matching.ORPHAN).tolist() == orphan
    assert np.flatnonzero(flags & matching.WRONG_VARIANT).tolist() == wrong
    assert np.flatnonzero(flags & matching.DUPLICATE).tolist() == dup
    assert ((m.e_flags & matching.SLOTTED) > 0).tolist() == [f >= 0 for f in ref_first]
    assert ((m.e_flags & matching.RIGHT) > 0).tolist() == [i in keys for i in range(len(e_vehicle))]
    assert m.flagged.tolist() == np.flatnonzero(flags).tolist()
    oos = np.flatnonzero(flags & matching.OUT_OF_SEQUENCE)
    assert len(oos) == oos_count
    # The slots left in place are in E order, and each moved slot's target keeps them so.
    kept_slots = [
        j
        for j in range(len(s_vehicle))
        if s_e[j] >= 0
        and int(s_e[j]) in keys
        and not flags[j] & matching.OUT_OF_SEQUENCE
        and j == _first_right(s_e, s_part, e_part, j)
    ]
    kept = [int(s_e[j]) for j in kept_slots]
    assert kept == sorted(kept) and len(set(kept)) == len(kept)
    after = dict(zip(m.flagged.tolist(), m.after.tolist(), strict=True))
    need = dict(zip(m.flagged.tolist(), m.need.tolist(), strict=True))
    for j in m.flagged.tolist():
        t = after[j]
        if flags[j] & matching.OUT_OF_SEQUENCE:
            assert t == -1 or (s_e[t] < s_e[j] and not flags[t] & matching.OUT_OF_SEQUENCE)
            assert t == naive.after_target_slot(s_e.tolist(), kept_slots, j)
        else:
            assert t == -2
        assert need[j] == naive.affected_need(s_e.tolist(), e_need, j)
    assert (scratch.pos == -1).all()  # scratch restored


def _first_right(s_e, s_part, e_part, j):  # type: ignore[no-untyped-def]
    p = s_e[j]
    for k in range(len(s_e)):
        if s_e[k] == p and s_part[k] == e_part[p]:
            return k
    return -1


def test_match_on_empty_inputs() -> None:
    z32, z64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
    m = matching.match(z32, z32, z64, z32, z32, matching.MatchScratch())
    assert all(a.size == 0 for a in m)


@settings(max_examples=200)
@given(
    st.lists(st.integers(-1, 6), max_size=25),
    st.lists(st.integers(0, 6), unique=True, max_size=7),
    st.integers(0, 2),
)
def test_duplicate_is_every_slot_after_the_first_of_any_vehicle_in_e_or_not(  # type: ignore[no-untyped-def]
    s_vehicle, e_vehicle, spread
) -> None:
    """Vehicles not in E (pulled, cancelled, never broadcast) get DUPLICATE like those in E,
    with ORPHAN on every slot; E empty, S empty, S all strangers, codes far beyond E's (the
    kernel's sparse reset of its scratch) and -1 (no vehicle) included. One scratch serves
    every call and is all -1 after each."""
    s_vehicle = [v * 100**spread if v > 3 else v for v in s_vehicle]  # spread the strangers' codes
    scratch = matching.MatchScratch()
    for ev in (e_vehicle, [], e_vehicle[:1]):
        ne, ns = len(ev), len(s_vehicle)
        m = matching.match(
            np.array(ev, np.int32),
            np.zeros(ne, np.int32),
            np.arange(ne, dtype=np.int64),
            np.array(s_vehicle, np.int32),
            np.zeros(ns, np.int32),
            scratch,
        )
        dup = naive.match(ev, [0] * ne, list(range(ne)), s_vehicle, [0] * ns)[2]
        assert np.flatnonzero(m.flags & matching.DUPLICATE).tolist() == dup
        assert np.flatnonzero(m.flags & matching.ORPHAN).tolist() == [
            j for j, v in enumerate(s_vehicle) if v not in ev
        ]
        assert m.flagged.tolist() == np.flatnonzero(m.flags).tolist()
        assert (scratch.pos == -1).all()


def test_two_slots_of_a_vehicle_not_in_e_are_two_orphans_and_one_duplicate() -> None:
    z32, z64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
    o, d = matching.ORPHAN, matching.DUPLICATE
    m = matching.match(
        z32, z32, z64, np.array([7, 7], np.int32), np.zeros(2, np.int32), matching.MatchScratch()
    )
    assert m.flags.tolist() == [o, o | d] and m.flagged.tolist() == [0, 1]
    assert m.need.tolist() == [matching.NO_NEED] * 2 and m.after.tolist() == [-2, -2]
    # Beside E: the stranger's second slot is a DUPLICATE wherever it is, E's vehicle's too.
    m = matching.match(
        np.array([0], np.int32),
        np.zeros(1, np.int32),
        np.array([50], np.int64),
        np.array([7, 0, 7, 0, -1, -1], np.int32),
        np.zeros(6, np.int32),
        matching.MatchScratch(),
    )
    assert m.flags.tolist() == [o, 0, o | d, d, o, o]
    assert m.need.tolist() == [50] * 5


def test_one_scratch_serves_scopes_of_any_size_in_turn() -> None:
    """The scratch grows for a bigger scope and is reused for smaller ones, same answers."""
    rng = np.random.default_rng(7)
    shared = matching.MatchScratch()
    for n in [3, 5000, 0, 40, 20000, 7]:
        e_vehicle = rng.permutation(2 * n + 1).astype(np.int32)[:n]
        e_part = rng.integers(0, 3, n).astype(np.int32)
        e_need = np.sort(rng.integers(0, 10**9, n))
        s_vehicle = np.where(rng.random(n) < 0.1, 2 * n + 5, rng.permutation(e_vehicle)).astype(np.int32)
        s_part = np.where(rng.random(n) < 0.1, 3, e_part).astype(np.int32)
        args = (e_vehicle, e_part, e_need, s_vehicle, s_part)
        got, fresh = matching.match(*args, shared), matching.match(*args, matching.MatchScratch())
        assert all(np.array_equal(a, b) for a, b in zip(got, fresh, strict=True))
        assert (shared.pos == -1).all()


def test_every_orphan_in_a_long_run_gets_the_nearest_need() -> None:
    """Orphans take the need of the nearest slot of a vehicle in E before them, else after."""
    n = 3000
    s_vehicle = np.full(3 * n + 2, 9, np.int32)  # orphans, vehicle 0, orphans, vehicle 1, orphans
    s_vehicle[n], s_vehicle[2 * n + 1] = 0, 1
    m = matching.match(
        np.arange(2, dtype=np.int32),
        np.zeros(2, np.int32),
        np.array([100, 200], np.int64),
        s_vehicle,
        np.zeros(3 * n + 2, np.int32),
        matching.MatchScratch(),
    )
    assert m.flagged.tolist() == [*range(n), *range(n + 1, 2 * n + 1), *range(2 * n + 2, 3 * n + 2)]
    assert m.need.tolist() == [100] * (2 * n) + [200] * n
    assert set(m.after.tolist()) == {-2}


@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(-3, 3)), max_size=30),
    st.integers(0, 2),
    st.integers(-4, 4),
    st.integers(-4, 4),
    st.integers(0, 5),
)
def test_sequence_window_like_a_sorted_filter(rows, line_code, lo, hi, limit) -> None:  # type: ignore[no-untyped-def]
    line = np.array([r[0] for r in rows], np.int32)
    state = np.array([r[1] for r in rows], np.int8)
    seq = np.array([r[2] for r in rows], np.int64)
    got = sequence_window(line, state, seq, line_code, lo, hi, limit).tolist()
    want = sorted(
        (i for i, r in enumerate(rows) if r[0] == line_code and r[1] == 1 and lo <= r[2] <= hi),
        key=lambda i: (rows[i][2], i),
    )[:limit]
    assert got == want


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(-1, 3), st.integers(0, 50)), max_size=30))
def test_supplied_orders_line_side_dock_transit_then_build_order(slots) -> None:  # type: ignore[no-untyped-def]
    rack_stage = np.array([3, 2, 1, 1], np.int8)  # rack 0 line side, 1 dock, 2 and 3 in transit
    rack_order = np.array([2, 3, 1, 0], np.int64)  # dispatch order
    state = np.array([s[0] for s in slots], np.int8)
    rack = np.array([s[1] for s in slots], np.int32)
    spos = np.array([s[2] for s in slots], np.int32)
    cand = np.arange(len(slots), dtype=np.int64)
    rows, keep = matching.supplied(cand, state, rack, spos, rack_stage, rack_order)
    live = [i for i, s in enumerate(slots) if s[0] == 1]
    rank = {0: 0, 1: 1, 2: 2, 3: 2}

    def key(i):  # type: ignore[no-untyped-def]
        r = slots[i][1]
        return (3, 0, i) if r < 0 else (rank[r], int(rack_order[r]), slots[i][2], i)

    assert rows.tolist() == sorted(live, key=key)
    assert keep.tolist() == [s[0] == 1 for s in slots]


@given(st.lists(st.integers(0, 9), max_size=20), st.integers(1, 6))
def test_expected_keeps_current_rows_of_active_and_pulled_vehicles(states_seed, nveh) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(len(states_seed) * 31 + nveh)
    ndem = 3 * nveh
    dem_vehicle = rng.integers(0, nveh, ndem).astype(np.int32)
    dem_part = rng.integers(0, 3, ndem).astype(np.int32)
    v_off = rng.integers(0, ndem, nveh).astype(np.int64)
    v_len = rng.integers(0, 3, nveh).astype(np.int32)
    v_state = rng.integers(1, 5, nveh).astype(np.int8)
    v_seq = rng.permutation(nveh).astype(np.int64)
    v_need = rng.integers(0, 100, nveh).astype(np.int64)
    cand = np.arange(ndem, dtype=np.int64)
    ev, ep, en, keep, erow = matching.expected(
        cand, dem_vehicle, dem_part, v_off, v_len, v_state, v_seq, v_need
    )
    current = [
        r for r in range(ndem) if v_off[dem_vehicle[r]] <= r < v_off[dem_vehicle[r]] + v_len[dem_vehicle[r]]
    ]
    active = sorted(
        (r for r in current if v_state[dem_vehicle[r]] == 1), key=lambda r: (v_seq[dem_vehicle[r]], r)
    )
    assert ev.tolist() == [int(dem_vehicle[r]) for r in active]
    assert ep.tolist() == [int(dem_part[r]) for r in active]
    assert en.tolist() == [int(v_need[dem_vehicle[r]]) for r in active]
    assert erow.tolist() == active
    assert keep.tolist() == [r in current and v_state[dem_vehicle[r]] in (1, 2) for r in range(ndem)]


@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 4)), max_size=25))
def test_rack_needs_is_the_earliest_need_per_rack(slots) -> None:  # type: ignore[no-untyped-def]
    slots = sorted(slots, key=lambda s: (s[0] < 0, s[0]))  # racks contiguous, unracked last
    e_need = np.array([50, 10, 40, 30, 20], np.int64)
    s_rack = np.array([s[0] for s in slots], np.int32)
    s_e = np.array([s[1] for s in slots], np.int32)
    racks, needs = matching.rack_needs(s_rack, s_e, e_need)
    want: dict[int, int] = {}
    for r, e in slots:
        if r >= 0:
            want.setdefault(r, matching.NO_NEED)
            if e >= 0:
                want[r] = min(want[r], int(e_need[e]))
    assert dict(zip(racks.tolist(), needs.tolist(), strict=True)) == want
    assert racks.tolist() == list(want)


def test_the_engine_calls_kernels_with_the_signatures_warmed_before_serving() -> None:
    """A request must never pay the JIT: the dtypes the engine passes are the warm-up's."""
    from jis.engine.engine import Engine
    from jis.engine.model import Broadcast, BuildReport, LineConfig, PartDemand, RackDispatch, SupplierConfig
    from jis.engine.packed import PackedBroadcasts
    from jis.kernels import inventory, sequence, sets
    from jis.kernels.warmup import compile_all

    kernels = [
        matching._expected,
        matching._supplied,
        matching._match,
        matching._rack_needs,
        matching._missing_due,
        matching._missing_ahead,
        sequence._sequence_window,
        inventory._scope_counts,
        sets._only,
        runs._run_rows,
    ]
    compile_all()
    warmed = [len(k.signatures) for k in kernels]
    e = Engine()
    e.configure_line(LineConfig("L", 60 * 10**9, 3600 * 10**9, 0), 0)
    e.configure_supplier(SupplierConfig("S", 3600 * 10**9, 0), 0)
    for i in range(5):
        e.publish(Broadcast("L", i + 1, 1, f"V{i}", i, parts=(PartDemand("G", "P", "S", 1),)), 0)
    e.publish_columns(  # a run of plain messages: its feed rows come from a kernel
        PackedBroadcasts.build(
            **packed_columns(line_ids=["L"], call_no=[6, 7], vehicle_id=["V5", "V6"], seq_no=[5, 6])
        ),
        0,
    )
    e.report_build(BuildReport("S", "G", "L", "V0", "P"), 0)
    e.dispatch_rack(RackDispatch("R", "S", "G", "L", 6, (("V2", "P"), ("V1", "P")), 10**9), 0)
    e.sequence("L", -10, 10, 10)
    assert len(e.open_breaks()) > 0
    assert e.inventory("L")[0].expected == 7
    assert e.feed.head == 7
    assert [len(k.signatures) for k in kernels] == warmed


def counts(s_e: np.ndarray, flags: np.ndarray, rank: np.ndarray, e_flags: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    """inventory.scope_counts of slots whose stage ranks are ``rank``: racks 0, 1, 2 at
    line side, the dock and in transit; a slot of rank RANK_BUILT on none."""
    from jis.engine.inventory import _RANK_OF_STAGE
    from jis.engine.model import RackStage
    from jis.kernels import inventory

    racks = np.array([RackStage.LINE_SIDE, RackStage.AT_DOCK, RackStage.IN_TRANSIT], np.int8)
    slot_rack = np.where(rank == inventory.RANK_BUILT, -1, rank).astype(np.int32)[::-1].copy()
    s_rows = np.arange(len(rank), dtype=np.int64)[::-1].copy()  # rows need not be S's order
    e_flags = np.zeros(0, np.uint8) if e_flags is None else e_flags
    return inventory.scope_counts(s_rows, slot_rack, racks, _RANK_OF_STAGE, s_e, flags, e_flags)


@given(
    st.lists(st.tuples(st.integers(-1, 6), st.booleans(), st.integers(0, 3)), max_size=12),
    st.lists(st.sampled_from([0, matching.SLOTTED, matching.SLOTTED | matching.RIGHT]), max_size=8),
)
def test_scope_counts_are_the_stages_the_unslotted_and_the_in_order_right_variant_run(slots, e_flags) -> None:  # type: ignore[no-untyped-def]
    from jis.kernels import inventory

    slots = sorted(slots, key=lambda s: s[2])  # S is ordered by stage rank
    s_e = np.array([s[0] for s in slots], np.int32)
    flags = np.array([0 if s[1] else matching.WRONG_VARIANT for s in slots], np.uint8)
    rank = np.array([s[2] for s in slots], np.int8)
    covering: list[int] = []  # S indexes of the slots that cover E[0], E[1], ...
    for j, (e, right, _) in enumerate(slots):
        if e == -1 or e < len(covering):
            continue  # an orphan, or a further slot of a covered vehicle: set aside
        if e > len(covering) or not right:
            break
        covering.append(j)
    at_plant = sum(1 for j in covering if slots[j][2] <= inventory.RANK_AT_DOCK)
    per_rank, planned, covered, plant = counts(s_e, flags, rank, np.array(e_flags, np.uint8))
    assert (covered, plant) == (len(covering), at_plant)
    assert per_rank.tolist() == np.bincount(rank, minlength=4).tolist()
    assert planned == sum(1 for f in e_flags if not f & matching.SLOTTED)


def test_orphans_and_duplicates_ahead_do_not_reset_the_coverage() -> None:
    w = matching.WRONG_VARIANT
    s_e = np.array([-1, -1, 0, 0, 1, -1, 2, 4, 3], np.int32)  # old orphans at the front, V0 twice
    rank = np.zeros(len(s_e), np.int8)
    assert counts(s_e, np.zeros(len(s_e), np.uint8), rank)[2:] == (3, 3)  # V3 after V4: stop
    flags = np.array([0, 0, 0, 0, w, 0, 0, 0, 0], np.uint8)
    assert counts(s_e, flags, rank)[2:] == (1, 1)  # the wrong part for V1 stops the line


@settings(max_examples=60, deadline=None)
@given(
    lists=st.lists(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), max_size=3 * runs._INSERTION), max_size=12
    ),
    data=st.data(),
)
def test_run_rows_orders_each_message_by_scope_key(
    lists: list[list[tuple[int, int]]], data: st.DataObject
) -> None:
    """Each message's demand rows in (supplier, group) order, stably (insertion sort for
    short part lists, merge sort for long ones); messages without parts make no events
    and take no message number."""
    k = len(lists)
    lengths = np.array([len(x) for x in lists], np.int32)
    offsets = np.zeros(k, np.int64)
    offsets[1:] = np.cumsum(lengths)[:-1]
    flat = [p for x in lists for p in x]
    sup = np.array([s for s, _ in flat], np.int32)
    grp = np.array([g for _, g in flat], np.int32)
    part = np.arange(len(flat), dtype=np.int32) + 100
    qty = np.arange(len(flat), dtype=np.int32) + 1
    rows = np.array(data.draw(st.permutations(range(k))), np.int64)  # message i: vehicle rows[i]
    kind, add = np.arange(k, dtype=np.int8), np.arange(k) % 2 == 0
    n_grp, key, cols = runs.run_rows(rows, offsets, lengths, sup, grp, part, qty, kind, add, 7)
    assert n_grp == (int(grp.max()) + 1 if len(flat) else 0)
    want: list[tuple[int, ...]] = []
    message = 7
    for i, r in enumerate(rows.tolist()):
        d = sorted(range(offsets[r], offsets[r] + lengths[r]), key=lambda j: (sup[j], grp[j]))
        for j in d:
            want.append(
                (sup[j] * n_grp + grp[j], kind[i], part[j], qty[j], -1 if add[i] else part[j], message)
            )
        message += 1 if d else 0
    got = list(zip(key.tolist(), *(cols[c].tolist() for c in runs._COLUMNS), strict=True))
    assert got == [tuple(int(x) for x in w) for w in want]


@given(st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)))
def test_only_is_the_two_set_differences(a: set[int], b: set[int]) -> None:
    from jis.kernels import sets

    xa, xb = np.array(sorted(a), np.int32), np.array(sorted(b), np.int32)
    a_only, b_only = sets.only(xa, xb)
    assert xa[a_only].tolist() == sorted(a - b)
    assert xb[b_only].tolist() == sorted(b - a)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(-50, 50)), max_size=30),
    st.integers(0, 20),
    st.integers(-30, 30),
)
def test_missing_due_is_the_unslotted_entries_due_by_now_and_the_next_moment(entries, lead, now) -> None:  # type: ignore[no-untyped-def]
    e_flags = np.array([f for f, _ in entries], np.uint8)
    e_need = np.array([n for _, n in entries], np.int64)
    due, later = matching.missing_due(e_flags, e_need, lead, now)
    unslotted = [i for i, (f, _) in enumerate(entries) if not f & matching.SLOTTED]
    assert due.tolist() == [i for i in unslotted if entries[i][1] - lead <= now]
    ahead = [entries[i][1] - lead for i in unslotted if entries[i][1] - lead > now]
    assert later == (min(ahead) if ahead else matching.NO_NEED)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(-50, 50)), max_size=30),
    st.integers(0, 20),
    st.integers(-30, 30),
    st.integers(0, 40),
)
def test_missing_ahead_is_what_the_clock_alone_raises_by_until_in_time_order(
    entries, lead, now, span
) -> None:  # type: ignore[no-untyped-def]
    e_flags = np.array([f for f, _ in entries], np.uint8)
    e_need = np.array([n for _, n in entries], np.int64)
    idx, when, later = matching.missing_ahead(e_flags, e_need, lead, now, now + span)
    want, want_when, want_later = naive.missing_ahead(
        [f & matching.SLOTTED > 0 for f, _ in entries], [n for _, n in entries], lead, now, now + span
    )
    assert (idx.tolist(), when.tolist(), later) == (want, want_when, want_later)
    # and the moments are those missing_due moves through: each entry is due from its own on
    for i, t in zip(idx.tolist(), when.tolist(), strict=True):
        assert i in matching.missing_due(e_flags, e_need, lead, t)[0].tolist()
        assert i not in matching.missing_due(e_flags, e_need, lead, t - 1)[0].tolist()
