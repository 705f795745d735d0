"""Matching a scope's supplied slots (S) against its expected sequence (E).

A scope is one (line, supplier, group). E is its active vehicles needing that part,
by seq_no; S is its slots in delivery order (line side, dock, in transit, built).
Vehicles are dense int32 row codes, so "where is vehicle v in E" is one array lookup
in caller-owned working memory (``MatchScratch.pos``, all -1 again on return).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

ACTIVE = 1
PULLED = 2
SLOT_BUILT = 1  # slot states; consumed and returned slots have left S
RACK_IN_TRANSIT, RACK_AT_DOCK, RACK_LINE_SIDE = 1, 2, 3
NO_NEED = np.iinfo(np.int64).max

ORPHAN = 1
WRONG_VARIANT = 2
DUPLICATE = 4
OUT_OF_SEQUENCE = 8

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
U8 = npt.NDArray[np.uint8]
B = npt.NDArray[np.bool_]


@njit(cache=True, nogil=True)
def _expected(cand, dem_vehicle, dem_part, v_off, v_len, v_state, v_seq, v_need):  # type: ignore[no-untyped-def]
    n = cand.shape[0]
    keep = np.zeros(n, np.bool_)
    sel = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    vehicle = np.empty(n, np.int32)
    part = np.empty(n, np.int32)
    need = np.empty(n, np.int64)
    k = 0
    in_order = True
    last = np.iinfo(np.int64).min
    for i in range(n):
        r = cand[i]
        v = dem_vehicle[r]
        if v_off[v] <= r < v_off[v] + v_len[v]:
            st = v_state[v]
            if st == ACTIVE:
                keep[i] = True
                key = v_seq[v]
                sel[k] = r
                keys[k] = key
                vehicle[k] = v
                part[k] = dem_part[r]
                need[k] = v_need[v]
                if key < last:
                    in_order = False
                last = key
                k += 1
            elif st == PULLED:
                keep[i] = True  # may come back by REINSERT with this part list
    return sel[:k], keys[:k], vehicle[:k], part[:k], need[:k], in_order, keep


def select_expected(
    cand: I64, dem_vehicle: I32, dem_part: I32, v_off: I64, v_len: I32, v_state: I8, v_seq: I64, v_need: I64
) -> tuple[I64, I64, I32, I32, I64, bool, B]:
    """The rows of ``cand`` that are in E, in candidate order, before sorting: (demand
    row, seq_no, vehicle, part, need_time) per entry, whether their seq_nos ascend, and
    bool[n] rows still worth keeping (see :func:`expected`)."""
    sel, keys, vehicle, part, need, in_order, keep = _expected(
        cand, dem_vehicle, dem_part, v_off, v_len, v_state, v_seq, v_need
    )
    return sel, keys, vehicle, part, need, bool(in_order), keep


def expected(
    cand: I64, dem_vehicle: I32, dem_part: I32, v_off: I64, v_len: I32, v_state: I8, v_seq: I64, v_need: I64
) -> tuple[I32, I32, I64, B, I64]:
    """E of a scope from its candidate demand rows.

    cand: int64[n] demand rows ever listed for the scope. dem_*: demand columns;
    v_*: vehicle columns (dem_off/dem_len delimit each vehicle's current part list).
    Returns (vehicle int32[k], part int32[k], need_time int64[k]) of the active
    vehicles whose current list has the row, by seq_no, bool[n]: rows still worth
    keeping in the candidate list (current rows of active or pulled vehicles), and the
    demand row of each E entry (int64[k]). The kernel gathers E's columns as it selects
    them; candidate lists are mostly in seq_no order already, and only when they are not
    is E put in order (numpy's stable argsort is adaptive: about a pass on nearly sorted
    keys, where a merge sort costs its full n log n every time).
    """
    sel, keys, vehicle, part, need, in_order, keep = select_expected(
        cand, dem_vehicle, dem_part, v_off, v_len, v_state, v_seq, v_need
    )
    if not in_order:
        order = np.argsort(keys, kind="stable")
        sel, vehicle, part, need = sel[order], vehicle[order], part[order], need[order]
    return vehicle, part, need, keep, sel


def _in_key_order(rows: I64, keys: I64, in_order: bool) -> I64:
    """``rows`` by ``keys`` (stable), sorting only if they are not in order already."""
    return rows if in_order else rows[np.argsort(keys, kind="stable")]


@njit(cache=True, nogil=True)
def _supplied(cand, slot_state, slot_rack, slot_pos, rack_stage, rack_order):  # type: ignore[no-untyped-def]
    n = cand.shape[0]
    keep = np.zeros(n, np.bool_)
    sel = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    k = 0
    in_order = True
    for i in range(n):
        s = cand[i]
        if slot_state[s] != SLOT_BUILT:
            continue
        keep[i] = True
        rk = slot_rack[s]
        if rk < 0:
            key = (np.int64(3) << 60) | s
        else:
            st = rack_stage[rk]
            rank = 0 if st == RACK_LINE_SIDE else (1 if st == RACK_AT_DOCK else 2)
            key = (np.int64(rank) << 60) | (np.int64(rack_order[rk]) << 16) | slot_pos[s]
        sel[k] = s
        keys[k] = key
        if k and key < keys[k - 1]:
            in_order = False
        k += 1
    return sel[:k], keys[:k], in_order, keep


def supplied(
    cand: I64, slot_state: I8, slot_rack: I32, slot_pos: I32, rack_stage: I8, rack_order: I64
) -> tuple[I64, B]:
    """S of a scope: its live slots in delivery order.

    cand: int64[n] slot rows ever listed for the scope; slot_state int8, slot_rack int32
    (-1: not on a rack), slot_pos int32 (< 65536) per slot row; rack_stage int8 and
    rack_order int64 (dispatch order) per rack row. Returns (slot rows int64[m] in S
    order: racks at line side, at the dock, in transit, each in dispatch order and rack
    order, then unracked slots in build order) and bool[n] rows still live.
    """
    sel, keys, in_order, keep = _supplied(cand, slot_state, slot_rack, slot_pos, rack_stage, rack_order)
    return _in_key_order(sel, keys, in_order), keep


SLOTTED = 1
"""E flag: the vehicle has a slot in S (else MISSING, once due)."""
RIGHT = 2
"""E flag: the vehicle has a slot in S with the right variant."""
_RUN = 64
"""Internal slot flag: the first right slot of its vehicle, not (yet) known to be on the kept run."""
_SEEN = -2
"""``MatchScratch.pos`` during a match: a vehicle not in E that has had a slot in S already."""


class MatchScratch:
    """Working memory of the match kernel, reused from call to call by one caller.

    ``pos`` maps a vehicle code to its E position and is all -1 between calls (during
    one, -2 marks a vehicle not in E whose first slot has been seen); the
    other arrays are per-E and per-S work space. Reuse matters at scale: fresh memory
    is paid for in page faults, a large part of a 1M-slot match when it was allocated
    per call. Not to be shared between threads.
    """

    def __init__(self) -> None:
        self.pos = np.full(1024, -1, np.int32)
        self.per_e = np.empty(1024 + 1, np.int32)
        self.per_s = np.empty(1024, np.int32)

    def __reduce__(self) -> tuple[type[MatchScratch], tuple[()]]:
        return (MatchScratch, ())  # working memory: a snapshot keeps none of it

    def reserve(self, codes: int, ne: int, ns: int) -> None:
        """Room for vehicle codes < ``codes``, ``ne`` E entries and ``ns`` slots."""
        if codes > self.pos.shape[0]:
            self.pos = np.full(max(codes, 2 * self.pos.shape[0]), -1, np.int32)
        if ne + 1 > self.per_e.shape[0]:
            self.per_e = np.empty(max(ne + 1, 2 * self.per_e.shape[0]), np.int32)
        if ns > self.per_s.shape[0]:
            self.per_s = np.empty(max(ns, 2 * self.per_s.shape[0]), np.int32)


class Matched(NamedTuple):
    """How the slots of S match E (see ``match``)."""

    flags: U8
    """uint8[ns] ORPHAN | WRONG_VARIANT | DUPLICATE | OUT_OF_SEQUENCE bits per slot. DUPLICATE
    is every slot of a vehicle after its first in S, whether the vehicle is in E or not (a
    second slot of a vehicle not in E is ORPHAN | DUPLICATE)."""
    e_flags: U8
    """uint8[ne] SLOTTED | RIGHT bits per E vehicle (no SLOTTED: no slot, MISSING once due)."""
    s_e: I32
    """int32[ns] E index of each slot's vehicle, -1: not in E (orphan)."""
    flagged: I64
    """int64[f] the S indexes of the flagged slots, ascending."""
    after: I64
    """int64[f] per flagged slot: if out of sequence, the S index of the in-sequence slot it
    belongs right after (-1: before all of them); -2 otherwise."""
    need: I64
    """int64[f] per flagged slot: the need time it affects (its vehicle's; for an orphan the
    nearest slot's of a vehicle in E, before it, else after it); NO_NEED if none."""


@njit(cache=True, nogil=True)
def _match(e_vehicle, e_part, e_need, s_vehicle, s_part, pos, codes, per_e, per_s):  # type: ignore[no-untyped-def]
    ne = e_vehicle.shape[0]
    ns = s_vehicle.shape[0]
    for i in range(ne):
        pos[e_vehicle[i]] = i
    s_e = np.empty(ns, np.int32)
    for j in range(ns):  # a loop of its own: many lookups in flight at once when S is large
        v = s_vehicle[j]
        s_e[j] = pos[v] if v >= 0 else -1
    if 8 * ne > codes:  # E covers much of the codes: one sequential fill beats scattered writes
        pos[:codes] = -1
    else:
        for i in range(ne):
            pos[e_vehicle[i]] = -1
    flags = np.zeros(ns, np.uint8)
    e_flags = np.zeros(ne, np.uint8)
    # OUT_OF_SEQUENCE needs one longest run of E's vehicles' first right slots that is in E
    # order (a longest increasing subsequence by E position); every other first right slot
    # is out of sequence. Patience sorting, in the same pass: tail[l] is the smallest E
    # position ending a run of length l+1 so far. S is mostly in order, so most slots extend
    # the longest run after one comparison, and a slot out of place usually lands near the
    # end (searched galloping back from it).
    tail = per_e[: ne + 1]
    run_len = per_s  # per first right slot: the length of the longest run it ends
    length = 0
    nflag = 0  # slots flagged so far (an upper bound once moved slots are added)
    m = 0  # first right slots
    for j in range(ns):
        p = s_e[j]
        if p < 0:  # DUPLICATE is for every vehicle: one not in E is marked seen by pos[v] = -2
            f = ORPHAN
            v = s_vehicle[j]
            if v >= 0:
                if pos[v] == _SEEN:
                    f |= DUPLICATE
                else:
                    pos[v] = _SEEN
            flags[j] = f
            nflag += 1
            continue
        ef = e_flags[p]
        f = DUPLICATE if ef & SLOTTED else 0
        if s_part[j] != e_part[p]:
            f |= WRONG_VARIANT
            e_flags[p] = ef | SLOTTED
        elif not ef & RIGHT:
            e_flags[p] = ef | SLOTTED | RIGHT
            m += 1
            if length == 0 or tail[length - 1] < p:
                lo = length
                length += 1
            else:
                hi = length - 1
                step = 1
                lo = hi - 1
                while lo > 0 and tail[lo] >= p:
                    hi = lo
                    step <<= 1
                    lo = hi - step
                if lo < 0:
                    lo = 0
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if tail[mid] < p:
                        lo = mid + 1
                    else:
                        hi = mid
            tail[lo] = p
            run_len[j] = lo + 1
            f |= _RUN
        if f:
            flags[j] = f
            if f != _RUN:
                nflag += 1
    # Backwards: the kept run is, for each length from the longest down, the last first right
    # slot of that length before the one kept after it; first right slots not on it are out
    # of sequence. The flagged slots are collected on the way, last first.
    run = tail[:length]  # tail[] is done with: it now holds the run's slots, in S order
    cap = nflag + m - length
    flagged = np.empty(cap, np.int64)
    k = cap
    want = length
    bound = ne
    for j in range(ns - 1, -1, -1):
        f = flags[j]
        if f == 0:
            continue
        if f & ORPHAN:  # pos back to all -1
            v = s_vehicle[j]
            if v >= 0:
                pos[v] = -1
        elif f & _RUN:
            f &= ~np.uint8(_RUN)
            if run_len[j] == want and s_e[j] < bound:
                want -= 1
                run[want] = j
                bound = s_e[j]
            else:
                f |= np.uint8(OUT_OF_SEQUENCE)
            flags[j] = f
            if f == 0:
                continue
        k -= 1
        flagged[k] = j
    flagged = flagged[k:]
    nf = cap - k
    after = np.empty(nf, np.int64)
    need = np.empty(nf, np.int64)
    prev_j, prev_before, first_need = -1, NO_NEED, NO_NEED - 1  # NO_NEED - 1: not looked up yet
    for t in range(nf):
        j = flagged[t]
        p = s_e[j]
        a = -2
        if flags[j] & OUT_OF_SEQUENCE:  # right after the run's slot with the largest smaller E position
            lo, hi = 0, length
            while lo < hi:
                mid = (lo + hi) >> 1
                if s_e[run[mid]] < p:
                    lo = mid + 1
                else:
                    hi = mid
            a = run[lo - 1] if lo > 0 else -1
        after[t] = a
        if p >= 0:
            before = e_need[p]
        else:  # an orphan: the need of the nearest slot of a vehicle in E before it, else after it
            q = j - 1
            while q > prev_j and s_e[q] < 0:
                q -= 1
            before = e_need[s_e[q]] if q > prev_j else prev_before
        if before == NO_NEED and first_need == NO_NEED - 1:
            first_need = NO_NEED
            for q in range(j + 1, ns):
                if s_e[q] >= 0:
                    first_need = e_need[s_e[q]]
                    break
        need[t] = before if before != NO_NEED else first_need
        prev_j, prev_before = j, before
    return flags, e_flags, s_e, flagged, after, need


def match(
    e_vehicle: I32, e_part: I32, e_need: I64, s_vehicle: I32, s_part: I32, scratch: MatchScratch
) -> Matched:
    """Flag every slot of S against E.

    e_*: E (int32 vehicle, int32 part, int64 need_time), by seq_no; s_*: S (int32
    vehicle code, -1: none; int32 part) in delivery order; scratch: the caller's
    working memory. Only flagged slots get an action target and a need time: an
    unflagged slot is its vehicle's, right variant, in sequence.
    """
    codes = 1 + max(int(v.max()) if v.size else 0 for v in (e_vehicle, s_vehicle))
    scratch.reserve(codes, e_vehicle.shape[0], s_vehicle.shape[0])
    sc = scratch
    return Matched(*_match(e_vehicle, e_part, e_need, s_vehicle, s_part, sc.pos, codes, sc.per_e, sc.per_s))


@njit(cache=True, nogil=True)
def _rack_needs(s_rack, s_e, e_need):  # type: ignore[no-untyped-def]
    n = s_rack.shape[0]
    racks = np.empty(n, np.int64)
    needs = np.empty(n, np.int64)
    k = 0
    for j in range(n):
        rk = s_rack[j]
        if rk < 0:
            continue
        if k == 0 or racks[k - 1] != rk:
            racks[k] = rk
            needs[k] = NO_NEED
            k += 1
        if s_e[j] >= 0 and e_need[s_e[j]] < needs[k - 1]:
            needs[k - 1] = e_need[s_e[j]]
    return racks[:k], needs[:k]


def rack_needs(s_rack: I32, s_e: I32, e_need: I64) -> tuple[I64, I64]:
    """Earliest need_time of the vehicles of E on each rack of S.

    s_rack: int32[ns] rack row per slot in S order (a rack's slots are contiguous);
    s_e: int32[ns] E index per slot (-1 none); e_need: int64[ne]. Returns rack rows
    int64[r] in S order and their earliest need int64[r] (NO_NEED: no vehicle of E).
    """
    return _rack_needs(s_rack, s_e, e_need)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _missing_due(e_flags, e_need, lead, now):  # type: ignore[no-untyped-def]
    n = e_flags.shape[0]
    due = np.empty(n, np.int64)
    k = 0
    later = NO_NEED
    for i in range(n):
        if e_flags[i] & SLOTTED:
            continue
        horizon = e_need[i] - lead
        if horizon <= now:
            due[k] = i
            k += 1
        elif horizon < later:
            later = horizon
    return due[:k], later


def missing_due(e_flags: U8, e_need: I64, lead: int, now: int) -> tuple[I64, int]:
    """The E entries without a slot whose need_time minus ``lead`` has come by ``now``
    (int64 indexes, in E order), and the earliest such moment still to come among the
    others (NO_NEED: none). One pass over E, for what MISSING needs of it."""
    due, later = _missing_due(e_flags, e_need, np.int64(lead), np.int64(now))
    return due, int(later)


@njit(cache=True, nogil=True)
def _missing_ahead(e_flags, e_need, lead, now, until):  # type: ignore[no-untyped-def]
    n = e_flags.shape[0]
    idx = np.empty(n, np.int64)
    when = np.empty(n, np.int64)
    k = 0
    in_order = True
    later = NO_NEED
    for i in range(n):
        if e_flags[i] & SLOTTED:
            continue
        horizon = e_need[i] - lead
        if horizon <= now:
            continue
        if horizon <= until:
            if k and horizon < when[k - 1]:
                in_order = False
            idx[k] = i
            when[k] = horizon
            k += 1
        elif horizon < later:
            later = horizon
    return idx[:k], when[:k], in_order, later


def missing_ahead(e_flags: U8, e_need: I64, lead: int, now: int, until: int) -> tuple[I64, I64, int]:
    """What the clock alone does to MISSING from ``now`` to ``until``: the E entries without
    a slot whose need_time minus ``lead`` comes after ``now`` and by ``until``, in the order
    it comes (by that moment, then E order), the moment of each (int64[k], ascending), and
    the earliest such moment after ``until`` (NO_NEED: none). One pass over E, then a sort
    of the k entries only if their moments do not ascend in E order already (need times
    mostly follow seq_no; numpy's stable argsort is adaptive)."""
    idx, when, in_order, later = _missing_ahead(
        e_flags, e_need, np.int64(lead), np.int64(now), np.int64(until)
    )
    if not in_order:
        order = np.argsort(when, kind="stable")
        idx, when = idx[order], when[order]
    return idx, when, int(later)
