"""Matching a scope's supplied slots (S) against its expected sequence (E).

A scope is one (line, supplier, group). E is its active vehicles needing that part,
by seq_no; S is its slots in delivery order (line side, dock, in transit, built).
Vehicles are dense int32 row codes, so "where is vehicle v in E" is one array lookup
in a caller-owned scratch array (``pos``, all -1, restored before returning).
"""

from __future__ import annotations

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
    k = 0
    for i in range(n):
        r = cand[i]
        v = dem_vehicle[r]
        if v_off[v] <= r < v_off[v] + v_len[v]:
            st = v_state[v]
            if st == ACTIVE:
                keep[i] = True
                sel[k] = r
                k += 1
            elif st == PULLED:
                keep[i] = True  # may come back by REINSERT with this part list
    sel = sel[:k]
    keys = np.empty(k, np.int64)
    for j in range(k):
        keys[j] = v_seq[dem_vehicle[sel[j]]]
    order = np.argsort(keys, kind="mergesort")
    e_vehicle = np.empty(k, np.int32)
    e_part = np.empty(k, np.int32)
    e_need = np.empty(k, np.int64)
    e_row = np.empty(k, np.int64)
    for j in range(k):
        r = sel[order[j]]
        e_vehicle[j] = dem_vehicle[r]
        e_part[j] = dem_part[r]
        e_need[j] = v_need[dem_vehicle[r]]
        e_row[j] = r
    return e_vehicle, e_part, e_need, keep, e_row


def expected(
    cand: I64, dem_vehicle: I32, dem_part: I32, v_off: I64, v_len: I32, v_state: I8, v_seq: I64, v_need: I64
) -> tuple[I32, I32, I64, B, I64]:
    """E of a scope from its candidate demand rows.

    cand: int64[n] demand rows ever listed for the scope. dem_*: demand columns;
    v_*: vehicle columns (dem_off/dem_len delimit each vehicle's current part list).
    Returns (vehicle int32[k], part int32[k], need_time int64[k]) of the active
    vehicles whose current list has the row, by seq_no, bool[n]: rows still worth
    keeping in the candidate list (current rows of active or pulled vehicles), and the
    demand row of each E entry (int64[k]).
    """
    return _expected(cand, dem_vehicle, dem_part, v_off, v_len, v_state, v_seq, v_need)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _supplied(cand, slot_state, slot_rack, slot_pos, rack_stage, rack_order):  # type: ignore[no-untyped-def]
    n = cand.shape[0]
    keep = np.zeros(n, np.bool_)
    sel = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    k = 0
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
        k += 1
    order = np.argsort(keys[:k], kind="mergesort")
    out = np.empty(k, np.int64)
    for j in range(k):
        out[j] = sel[order[j]]
    return out, keep


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
    return _supplied(cand, slot_state, slot_rack, slot_pos, rack_stage, rack_order)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _lis_members(keys):  # type: ignore[no-untyped-def]
    """Indices of one longest strictly increasing subsequence of keys (O(n log n))."""
    n = keys.shape[0]
    tails = np.empty(n, np.int64)  # tails[l]: index ending the best run of length l+1
    prev = np.full(n, -1, np.int64)
    length = 0
    for i in range(n):
        lo, hi = 0, length
        while lo < hi:  # first tail with key >= keys[i]
            mid = (lo + hi) // 2
            if keys[tails[mid]] < keys[i]:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            prev[i] = tails[lo - 1]
        tails[lo] = i
        if lo == length:
            length += 1
    out = np.empty(length, np.int64)
    j = tails[length - 1] if length > 0 else -1
    for t in range(length - 1, -1, -1):
        out[t] = j
        j = prev[j]
    return out


def lis_members(keys: I64) -> I64:
    """Indices (increasing) of one longest strictly increasing subsequence of ``keys`` (int64[n])."""
    return _lis_members(np.ascontiguousarray(keys, np.int64))  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def _match(e_vehicle, e_part, e_need, s_vehicle, s_part, pos):  # type: ignore[no-untyped-def]
    ne = e_vehicle.shape[0]
    ns = s_vehicle.shape[0]
    for i in range(ne):
        pos[e_vehicle[i]] = i
    flags = np.zeros(ns, np.uint8)
    first_slot = np.full(ne, -1, np.int64)
    first_right = np.full(ne, -1, np.int64)
    s_e = np.full(ns, -1, np.int64)
    for j in range(ns):
        v = s_vehicle[j]
        p = pos[v] if v >= 0 else -1
        s_e[j] = p
        if p < 0:
            flags[j] |= ORPHAN
            continue
        if first_slot[p] >= 0:
            flags[j] |= DUPLICATE
        else:
            first_slot[p] = j
        if s_part[j] != e_part[p]:
            flags[j] |= WRONG_VARIANT
        elif first_right[p] < 0:
            first_right[p] = j
    for i in range(ne):
        pos[e_vehicle[i]] = -1
    # OUT_OF_SEQUENCE: the first right slots of E's vehicles, in S order, keyed by E position.
    m = 0
    cand = np.empty(ns, np.int64)
    for j in range(ns):
        p = s_e[j]
        if p >= 0 and first_right[p] == j:
            cand[m] = j
            m += 1
    cand = cand[:m]
    keys = np.empty(m, np.int64)
    for t in range(m):
        keys[t] = s_e[cand[t]]
    members = _lis_members(keys)
    in_lis = np.zeros(m, np.bool_)
    for t in range(members.shape[0]):
        in_lis[members[t]] = True
    # Where an out-of-sequence slot belongs: right after the LIS slot with the largest
    # smaller E position (-1: before the first LIS slot).
    lis_keys = np.empty(members.shape[0], np.int64)
    for t in range(members.shape[0]):
        lis_keys[t] = keys[members[t]]
    after = np.full(ns, -2, np.int64)
    for t in range(m):
        if not in_lis[t]:
            j = cand[t]
            flags[j] |= OUT_OF_SEQUENCE
            r = np.searchsorted(lis_keys, keys[t]) - 1
            after[j] = cand[members[r]] if r >= 0 else -1
    # Need time each slot affects: its vehicle's, else the nearest matched slot's around it.
    s_need = np.full(ns, NO_NEED, np.int64)
    last = NO_NEED
    for j in range(ns):
        if s_e[j] >= 0:
            last = e_need[s_e[j]]
            s_need[j] = last
        else:
            s_need[j] = last
    nxt = NO_NEED
    for j in range(ns - 1, -1, -1):
        if s_e[j] >= 0:
            nxt = e_need[s_e[j]]
        elif s_need[j] == NO_NEED:
            s_need[j] = nxt
    return flags, first_slot, s_e, after, s_need


def match(
    e_vehicle: I32, e_part: I32, e_need: I64, s_vehicle: I32, s_part: I32, pos: I64
) -> tuple[U8, I64, I64, I64, I64]:
    """Flag every slot of S against E.

    e_*: E (int32 vehicle, int32 part, int64 need_time), by seq_no; s_*: S (int32
    vehicle, int32 part) in delivery order; pos: int64 scratch of size > max vehicle
    code, all -1 (restored on return). Returns:
    flags uint8[ns] (ORPHAN | WRONG_VARIANT | DUPLICATE | OUT_OF_SEQUENCE bits);
    first_slot int64[ne] (S index of each E vehicle's first slot, -1: none -> MISSING);
    s_e int64[ns] (E index of each slot's vehicle, -1: orphan);
    after int64[ns] (for out-of-sequence slots, the S index of the in-sequence slot to
    follow, -1 to go first; -2 otherwise);
    s_need int64[ns] (need_time the slot affects; NO_NEED if none).
    """
    if pos.shape[0] and (e_vehicle.size and e_vehicle.max() >= pos.shape[0]):
        raise ValueError("pos scratch smaller than the vehicle codes")
    return _match(e_vehicle, e_part, e_need, s_vehicle, s_part, pos)  # type: ignore[no-any-return]


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


def rack_needs(s_rack: I32, s_e: I64, e_need: I64) -> tuple[I64, I64]:
    """Earliest need_time of the vehicles of E on each rack of S.

    s_rack: int32[ns] rack row per slot in S order (a rack's slots are contiguous);
    s_e: int64[ns] E index per slot (-1 none); e_need: int64[ne]. Returns rack rows
    int64[r] in S order and their earliest need int64[r] (NO_NEED: no vehicle of E).
    """
    return _rack_needs(s_rack, s_e, e_need)  # type: ignore[no-any-return]
