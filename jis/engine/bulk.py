"""Runs of packed broadcast messages applied as array operations.

``PublishColumns`` must mean exactly what the same messages mean one by one. Most of
a bulk feed is plain: new vehicles added at free seq_nos, vehicles pulled, cancelled
or installed, consecutive call numbers on one line, each vehicle once. For such a
**run** nothing a message does can change whether or how a later message of the run
applies, so the run can be checked against the state before it and applied in one
go. :func:`plan_run` finds the longest run starting at a message: every check of the
per-message path is repeated here as a vectorised condition, and anything it does not
prove (another action, a repeated vehicle, a held seq_no, a late or duplicate
call_no, any content the per-message path would refuse) ends the run; the engine
applies that message on the per-message path (which accepts or refuses it with its
usual error) and then looks for the next run. :func:`apply_run` makes the same
changes, in the same order where order is visible (interned codes, table rows, break
ids, dict order), as applying the run's messages one by one; a differential test
checks it against the per-message path on random feeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jis.columns import Interner, RowList
from jis.engine.limits import DAY_NS, MAX_ID_LEN, MAX_TEXT_LEN, TIME_MAX_NS, TIME_MIN_NS, has_control
from jis.engine.lines import MAX_CALL_JUMP, LineState
from jis.engine.model import NO_TIME, Action, VehicleState
from jis.engine.packed import PackedBroadcasts
from jis.engine.sequence import INT64_MAX, MAX_PARTS, UNSEEN, SequenceState

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

WINDOW = 4096
"""Most messages checked for one run."""
MIN_RUN = 16
"""A run shorter than this is not worth its fixed cost: the engine then takes the next
messages one by one (1, 2, 4 … up to MAX_BACKOFF of them) before looking for a run again,
so a feed with few plain runs costs about what the per-message path costs."""
MAX_BACKOFF = 256
MIN_WINDOW = 64
"""Fewest messages checked for one run: after a short run the next window shrinks to
twice its length (not below this), so a feed that alternates plain and other messages
costs O(MIN_WINDOW) array work per message, not O(WINDOW)."""

_FAST = np.zeros(8, np.bool_)
"""Whether a run may hold an action, by action value (values outside 0..7: no)."""
_FAST[[Action.ADD, Action.PULL, Action.CANCEL, Action.INSTALLED]] = True
_LEFT = np.zeros(8, np.int8)
_LEFT[Action.PULL], _LEFT[Action.CANCEL], _LEFT[Action.INSTALLED] = (
    VehicleState.PULLED,
    VehicleState.CANCELLED,
    VehicleState.INSTALLED,
)


def ranges(starts: I64, lengths: I64) -> I64:
    """The concatenation of ``arange(s, s + n)`` for each (s, n)."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def _ids_ok(names: list[str]) -> B:
    """Each name passes ``require_id`` (non-empty, not only blanks, not too long, no control
    characters)."""
    n = len(names)
    lens = np.fromiter(map(len, names), np.int64, count=n)
    blank = np.fromiter(map(str.isspace, names), np.bool_, count=n)
    control = np.fromiter(map(has_control, names), np.bool_, count=n)
    return (lens > 0) & (lens <= MAX_ID_LEN) & ~blank & ~control


def _canonical(names: list[str]) -> I64:
    """For each dictionary entry, the index of the first entry with the same string."""
    first: dict[str, int] = {}
    return np.fromiter((first.setdefault(s, i) for i, s in enumerate(names)), np.int64, count=len(names))


def _first_of_each(keys: I64) -> B:
    """bool[n]: keys[i] did not occur before i."""
    out = np.ones(len(keys), np.bool_)
    if len(keys) > 1:
        order = np.argsort(keys, kind="stable")  # equal keys keep their order: the first leads
        ranked = keys[order]
        out[order[1:][ranked[1:] == ranked[:-1]]] = False
    return out


def first_use(keys: I64) -> tuple[I64, I64]:
    """The distinct values of ``keys`` (int64[n], >= 0) in order of first occurrence, and
    for each element the index of its value among them."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    span = int(keys.max()) + 1
    if span <= 4 * n + 1024:  # few distinct values (scope keys, dictionary codes): no sort of n
        first = np.full(span, n, np.int64)
        np.minimum.at(first, keys, np.arange(n))
        present = np.flatnonzero(first < n)
        distinct = present[np.argsort(first[present], kind="stable")]
        rank = np.empty(span, np.int64)
        rank[distinct] = np.arange(len(distinct))
        return distinct, rank[keys]
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    return uniq[order], rank[inverse.reshape(-1)]


def grouped(which: I64, groups: int) -> I64:
    """The stable order that sorts ``which`` (int64[n], values in [0, groups)): a radix
    sort when the values fit in 16 bits (a few scopes), not a merge sort of int64."""
    if groups <= np.iinfo(np.int16).max:
        return np.argsort(which.astype(np.int16), kind="stable")
    return np.argsort(which, kind="stable")


@dataclass(frozen=True, slots=True)
class Plan:
    """A run of messages [lo, hi) of one line, and what its checks already looked up."""

    lo: int
    hi: int
    line: LineState
    rows: I64
    """int64[hi - lo]: each message's vehicle row, -1 for a vehicle never seen."""
    need_time: I64
    """int64[hi - lo]: the need_time an ADD sets (unused for the other actions)."""


def plan_run(seq: SequenceState, p: PackedBroadcasts, lo: int, window: int = WINDOW) -> Plan | None:
    """The longest run of at most ``window`` messages from ``lo`` on that :func:`apply_run`
    may apply, or None if message ``lo`` itself must take the per-message path."""
    hi = min(len(p), lo + window)
    line = seq.lines.get(p.line_ids[p.line[lo]])
    if line is None:
        return None
    act = p.action[lo:hi]
    k = hi - lo
    lines = _canonical(p.line_ids)[p.line[lo:hi]]  # the same line may sit at two indexes
    ok = (lines == lines[0]) & (act >= 0) & (act < len(_FAST)) & _FAST[act & (len(_FAST) - 1)]

    calls = p.call_no[lo:hi]
    first = int(calls[0])
    highest = line.ledger.highest
    consecutive = np.empty(k, np.bool_)
    consecutive[0] = highest < first <= highest + MAX_CALL_JUMP
    consecutive[1:] = calls[1:] == calls[:-1] + np.uint64(1)
    ok &= consecutive & (calls <= np.uint64(INT64_MAX))

    ids = p.vehicle_id[lo:hi]
    ok &= _ids_ok(ids)
    if len(set(ids)) < k:  # some vehicle twice: the run ends before its second message
        first_index = dict(zip(reversed(ids), range(k - 1, -1, -1), strict=True))
        ok &= np.fromiter(map(first_index.__getitem__, ids), np.int64, count=k) == np.arange(k)

    cp = p.checkpoint[lo:hi]
    cp_ok = np.fromiter(
        (len(c) <= MAX_TEXT_LEN and not has_control(c) for c in p.checkpoints),
        np.bool_,
        count=len(p.checkpoints),
    )
    ok &= (cp < 0) | np.append(cp_ok, True)[cp]
    for times in (p.event_time[lo:hi], p.need_time[lo:hi]):
        ok &= (times == NO_TIME) | ((times >= TIME_MIN_NS) & (times <= TIME_MAX_NS))

    # parts: count, valid ids, quantity, no (supplier, group) twice in one message
    counts = np.diff(p.part_off[lo : hi + 1])
    ok &= counts <= MAX_PARTS
    prow = ranges(p.part_off[lo:hi], counts)
    msg = np.repeat(np.arange(k), counts)
    grp, sup = p.part_group[prow], p.part_supplier[prow]
    part_ok = (
        _ids_ok(p.groups)[grp]
        & _ids_ok(p.part_numbers)[p.part_number[prow]]
        & _ids_ok(p.supplier_ids)[sup]
        & (p.quantity[prow] >= 1)
    )
    key = _canonical(p.supplier_ids)[sup] * max(len(p.groups), 1) + _canonical(p.groups)[grp]
    part_ok &= _first_of_each(msg * (max(len(p.supplier_ids), 1) * max(len(p.groups), 1)) + key)
    ok &= np.bincount(msg[~part_ok], minlength=k) == 0

    # the vehicle's state, and the transition each action needs
    rows = seq.vehicle_ids.codes(ids)
    v = seq.vehicles
    known = rows >= 0
    state = np.full(k, UNSEEN, np.int8)
    state[known] = v.col("state")[rows[known]]
    vline = np.full(k, -1, np.int64)
    vline[known] = v.col("line")[rows[known]]
    add = act == Action.ADD
    active = state == VehicleState.ACTIVE
    ok &= np.where(
        add,
        state == UNSEEN,
        (vline == line.code)
        & np.where(act == Action.CANCEL, active | (state == VehicleState.PULLED), active),
    )

    # ADD: a seq_no free before the run and not taken twice in it; a need_time
    seqs = p.seq_no[lo:hi]
    add_seqs = seqs[add]
    free = np.ones(k, np.bool_)
    free[add] = _first_of_each(add_seqs) & ~np.fromiter(
        map(line.seq_index.__contains__, add_seqs.tolist()), np.bool_, count=len(add_seqs)
    )
    ok &= ~add | (p.has_seq[lo:hi] & (seqs != np.iinfo(np.int64).min) & free)
    need = p.need_time[lo:hi].copy()
    derive = add & (need == NO_TIME)
    if derive.any():
        cfg = line.config
        if cfg.epoch_ns is None:
            ok &= ~derive
        else:
            # float first: the int64 product may overflow; the margin (a day, far more than
            # float64's rounding here) leaves the exact check to the per-message path
            approx = cfg.epoch_ns + seqs.astype(np.float64) * cfg.takt_ns
            fits = (approx >= TIME_MIN_NS + DAY_NS) & (approx <= TIME_MAX_NS - DAY_NS)
            ok &= ~derive | fits
            safe = derive & fits
            need[safe] = cfg.epoch_ns + seqs[safe] * cfg.takt_ns

    bad = np.flatnonzero(~ok)
    end = k if len(bad) == 0 else int(bad[0])
    if end == 0:
        return None
    return Plan(lo, lo + end, line, rows[:end], need[:end])


def _intern_in_order(interner: Interner, names: list[str], used: I64) -> I64:
    """Codes for dictionary ``names``: the entries ``used`` (in order of use) are interned
    in order of first use, as one-by-one application would; returns code per entry (-1:
    not interned, for an entry not used)."""
    codes = interner.codes(names)
    fresh = used[codes[used] < 0]
    if len(fresh):  # only the order of new names is visible (interning a known one changes nothing)
        for i in first_use(fresh)[0].tolist():
            interner.intern(names[i])
        codes = interner.codes(names)
    return codes


@dataclass(frozen=True, slots=True)
class RunTouched:
    """What an applied run changed, for the feed and the evaluation."""

    line: int
    rows: I64
    action: I64
    before_state: npt.NDArray[np.int8]
    before_seq: I64
    call_no: I64


def apply_run(
    seq: SequenceState, p: PackedBroadcasts, plan: Plan, digests: npt.NDArray[np.uint64], at: int
) -> RunTouched:
    """Apply the messages of ``plan`` (all of which apply) as one-by-one application would."""
    lo, hi, line = plan.lo, plan.hi, plan.line
    act = p.action[lo:hi]
    rows = plan.rows.copy()
    add = act == Action.ADD
    v = seq.vehicles

    new = np.flatnonzero(rows < 0)  # ADDs of vehicles never seen: rows in message order
    if len(new):
        start = len(v)
        seq.vehicle_ids.add_new([p.vehicle_id[lo + j] for j in new.tolist()])
        n_new = len(new)
        rows[new] = np.arange(start, start + n_new)
        v.extend(
            {
                "line": np.full(n_new, -1, np.int32),
                "state": np.full(n_new, UNSEEN, np.int8),
                "need_time": np.full(n_new, NO_TIME, np.int64),
                "event_time": np.full(n_new, NO_TIME, np.int64),
                "first_event_time": np.full(n_new, NO_TIME, np.int64),
                "first_slot": np.full(n_new, -1, np.int64),
            }
        )
    state, seq_col = v.col("state"), v.col("seq_no")
    before_state = state[rows].copy()
    before_seq = seq_col[rows].copy()
    seqs = p.seq_no[lo:hi]

    # the seq_no index: leaving vehicles out, added ones in (their seq_nos were free)
    index = line.seq_index
    for s in before_seq[~add & (before_state == VehicleState.ACTIVE)].tolist():
        del index[s]
    a_rows = rows[add]
    index.update(zip(seqs[add].tolist(), a_rows.tolist(), strict=True))

    # ADD: the vehicle enters with its parts
    state[a_rows] = VehicleState.ACTIVE
    v.col("line")[a_rows] = line.code
    seq_col[a_rows] = seqs[add]
    v.col("need_time")[a_rows] = plan.need_time[add]
    v.col("added_at")[a_rows] = at
    counts = np.diff(p.part_off[lo : hi + 1])[add]
    prow = ranges(p.part_off[lo:hi][add], counts)
    sup_d, grp_d, part_d = p.part_supplier[prow], p.part_group[prow], p.part_number[prow]
    sup = _intern_in_order(seq.supplier_ids, p.supplier_ids, sup_d)[sup_d]
    grp = _intern_in_order(seq.group_ids, p.groups, grp_d)[grp_d]
    part = _intern_in_order(seq.part_numbers, p.part_numbers, part_d)[part_d]
    d_start, d_stop = seq.demand.extend(
        {
            "vehicle": np.repeat(a_rows, counts),
            "supplier": sup,
            "group": grp,
            "part": part,
            "quantity": p.quantity[prow],
        }
    )
    v.col("dem_off")[a_rows] = d_start + np.cumsum(counts) - counts
    v.col("dem_len")[a_rows] = counts
    if d_stop > d_start:
        n_grp = int(grp.max()) + 1
        distinct, which = first_use(sup * n_grp + grp)
        order = grouped(which, len(distinct))  # demand rows by scope, in row order within one
        bounds = np.zeros(len(distinct) + 1, np.int64)
        np.cumsum(np.bincount(which, minlength=len(distinct)), out=bounds[1:])
        demand_rows = np.arange(d_start, d_stop, dtype=np.int64)[order]
        for u, key in enumerate(distinct.tolist()):  # new scopes in order of first use
            scope = (line.code, key // n_grp, key % n_grp)
            lst = seq.scope_demand.get(scope)
            if lst is None:
                lst = seq.scope_demand[scope] = RowList()
            lst.extend(demand_rows[bounds[u] : bounds[u + 1]])

    # PULL, CANCEL, INSTALLED: the vehicle leaves
    leave = ~add
    if leave.any():  # vehicles leave E: its scopes' cached E no longer holds
        seq.expected_cache.forget_line(line.code)
    state[rows[leave]] = _LEFT[act[leave]]
    v.col("left_at")[rows[leave]] = at

    # every message: event time, checkpoint, last call
    ev = p.event_time[lo:hi]
    has_ev = ev != NO_TIME
    if has_ev.any():
        e_rows = rows[has_ev]
        v.col("event_time")[e_rows] = ev[has_ev]
        first_ev = v.col("first_event_time")
        unset = first_ev[e_rows] == NO_TIME
        first_ev[e_rows[unset]] = ev[has_ev][unset]
        line.last_lag_ns = at - int(ev[has_ev][-1])
    cp = p.checkpoint[lo:hi]
    has_cp = cp >= 0
    if has_cp.any():
        nonempty = np.fromiter((bool(c) for c in p.checkpoints), np.bool_, count=len(p.checkpoints))
        has_cp[has_cp] = nonempty[cp[has_cp]]
        cp_codes = _intern_in_order(seq.checkpoints, p.checkpoints, cp[has_cp])
        v.col("checkpoint")[rows[has_cp]] = cp_codes[cp[has_cp]]
    calls = p.call_no[lo:hi].astype(np.int64)
    v.col("last_call")[rows] = calls

    # the ledger: the first call may open a gap; the rest follow it one by one
    _, opened = line.ledger.record(int(calls[0]), int(digests[lo]))
    for start, end in opened:
        seq._raise_gap(line, start, end, at)
    line.ledger.record_following(calls[1:], digests[lo + 1 : hi])
    line.last_broadcast_at = line.heard_from = at
    return RunTouched(line.code, rows, act, before_state, before_seq, calls)
