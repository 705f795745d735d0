"""Break evaluation: re-match a scope when something in it changes, and when time says so.

A scope is (line, supplier, group). Any input re-evaluates exactly the scopes it
touches, at once; the kernels return flags, and only the flagged slots, missing
vehicles and late racks become Python break records (breaks are the exception, slots
are not). Time-driven breaks (MISSING entering the lead-time horizon, LATE as a rack in
transit runs out of time, BROADCAST_SILENT) come from a deadline heap: each evaluation
schedules its scope's next moment, and :meth:`Evaluator.advance` re-evaluates a scope
exactly at that moment, so detection times do not depend on when anybody looked.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from jis.alerts.breaks import BreakBook, BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.engine.inventory import Gauges, gauges_of_match
from jis.engine.model import RackStage
from jis.engine.sequence import EColumns, ScopeE, SequenceState
from jis.engine.supply import Scope, SupplyState
from jis.kernels import matching, sets

NEVER = np.iinfo(np.int64).max
INT64_MIN = int(np.iinfo(np.int64).min)
Make = Callable[[str], SequenceBreak]
I64 = npt.NDArray[np.int64]
_NO_E: EColumns = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64))
"""E of a scope no vehicle ever needed."""


@dataclass(frozen=True, slots=True)
class ScopeMatch:
    """A scope's E (k entries, by seq_no) and S (m slots, in delivery order), matched."""

    e_vehicle: npt.NDArray[np.int32]
    """int32[k] vehicle rows."""
    e_part: npt.NDArray[np.int32]
    """int32[k] demanded part codes."""
    e_need: I64
    """int64[k] need times."""
    e_row: I64
    """int64[k] demand rows."""
    s_rows: I64
    """int64[m] slot rows."""
    flags: npt.NDArray[np.uint8]
    """uint8[m] ORPHAN | WRONG_VARIANT | DUPLICATE | OUT_OF_SEQUENCE bits."""
    e_flags: npt.NDArray[np.uint8]
    """uint8[k] SLOTTED | RIGHT bits per E vehicle (no SLOTTED: no slot at all)."""
    s_e: npt.NDArray[np.int32]
    """int32[m] position in E of each slot's vehicle, -1: not in E."""
    flagged: I64
    """int64[f] positions in S of the flagged slots, ascending."""
    after: I64
    """int64[f] for an out-of-sequence flagged slot, the S position it belongs after (-1: first)."""
    need: I64
    """int64[f] need time each flagged slot affects (NO_NEED if none)."""


class Evaluator:
    def __init__(self, seq: SequenceState, supply: SupplyState, book: BreakBook) -> None:
        self.seq = seq
        self.supply = supply
        self.book = book
        self._scratch = matching.MatchScratch()
        self._due: dict[Hashable, int] = {}
        self._heap: list[tuple[int, int, Hashable]] = []
        self._tie = 0
        self._missing: dict[Scope, npt.NDArray[np.integer]] = {}
        self._gauges: dict[Scope, Gauges] = {}
        """Each scope's coverage gauges, kept from its last evaluation (every change to a
        scope's E or S is evaluated, and the evaluation has the match they are counted
        from), or read afresh by the first scrape after :meth:`forget_gauges`: a scrape
        copies figures, it computes none. Not part of the state (not pickled)."""
        self._gauges_complete = False
        """Every scope of a configured line has its entry in ``_gauges``."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_gauges"], state["_gauges_complete"] = {}, False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._gauges, self._gauges_complete = {}, False

    def forget_gauges(self) -> None:
        """After a change that is not a scope's evaluation (retention, a line configured,
        released or imported): count every scope's gauges afresh at the next scrape."""
        self._gauges.clear()
        self._gauges_complete = False

    def coverage_gauges(
        self, takt_of_line: dict[int, int]
    ) -> dict[tuple[str, str, str], tuple[int, float, float]]:
        """The coverage gauges of every scope of the lines in ``takt_of_line`` (every
        configured line), by (line, supplier, group) (see ``_gauges``)."""
        if not self._gauges_complete:
            for scope in set(self.seq.scope_demand) | set(self.supply.scope_slots):
                takt = takt_of_line.get(scope[0])
                if takt is not None and scope not in self._gauges:
                    self._gauges[scope] = gauges_of_match(self, scope, self.match(scope), takt)
            self._gauges_complete = True
        return dict(self._gauges.values())

    # -- scheduling --------------------------------------------------------------------

    def _schedule(self, key: Hashable, when: int) -> None:
        if when >= NEVER:
            self._due.pop(key, None)
        elif self._due.get(key) != when:
            self._due[key] = when
            self._tie += 1
            heapq.heappush(self._heap, (when, self._tie, key))

    def forget_line(self, code: int) -> None:
        self.forget_gauges()
        """Drop everything scheduled or tracked for line ``code`` (its state left the engine):
        its silence check, its scopes' deadlines and MISSING sets."""
        self._due = {k: w for k, w in self._due.items() if k[1] != code}  # type: ignore[index]
        self._heap = [x for x in self._heap if x[2] in self._due]
        heapq.heapify(self._heap)
        self._missing = {scope: rows for scope, rows in self._missing.items() if scope[0] != code}

    def remap_vehicles(self, vm: npt.NDArray[np.int64]) -> None:
        self.forget_gauges()
        """After vehicle rows were renumbered (old row -> new row, -1: dropped)."""
        self._missing = {scope: vm[rows] for scope, rows in self._missing.items()}

    def next_deadline(self) -> int:
        """The earliest moment something time-driven is due (NEVER if nothing is)."""
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else int(NEVER)

    def advance(self, now: int) -> None:
        """Evaluate everything due up to ``now``, each at its own moment, in time order.

        Nothing but the clock changes while this runs, so a scope is matched once: when its
        first deadline comes, the full evaluation also works out every moment the clock
        alone will raise something in it by ``now`` (a :class:`_Plan`), and each later
        deadline of the scope raises just what that moment brings, as a full evaluation
        then would. A jump past n horizons of one scope costs one match and one sort of
        the n, not n matches (which made a large jump quadratic)."""
        plans: dict[Scope, _Plan] = {}
        # A plan may raise a whole outage's breaks at once: hundreds of thousands of objects that
        # live on, over which the collector's full passes would run again and again as they pile
        # up (at 200,000 breaks, six passes, a third of the jump). It is paused while plans run;
        # after, it meets them once per generation (about 0.6 s of passes instead of 1.3 s).
        collecting: bool | None = None
        try:
            while self.next_deadline() <= now:
                when, _, key = heapq.heappop(self._heap)
                del self._due[key]
                self.book.cause_at = when  # a time-driven break is caused by the clock reaching it
                if key[0] == "silent":  # type: ignore[index]
                    self.check_silence(key[1], when)  # type: ignore[index]
                    continue
                scope: Scope = key[1:]  # type: ignore[index]
                plan = plans.get(scope)
                if plan is None:
                    plan = self.evaluate(scope, when, until=now)
                    if plan is not None:
                        plans[scope] = plan
                        if collecting is None:
                            collecting = gc.isenabled()
                            gc.disable()
                else:
                    then = plan.step(self.book, when)
                    # While the scope's next moment comes before anything else is due, the heap
                    # would hand it straight back: step on here (counting the push it saves).
                    while then <= now and then < self.next_deadline():
                        self._tie += 1
                        self.book.cause_at = then
                        then = plan.step(self.book, then)
                    self._schedule(key, then)
                    if scope not in self._missing and plan.raised():
                        self._missing[scope] = plan.missing()  # where a full evaluation adds it
        finally:
            for scope, plan in plans.items():
                if scope in self._missing:
                    self._missing[scope] = plan.missing()
            if collecting:
                gc.enable()

    # -- BROADCAST_SILENT --------------------------------------------------------------

    def heard(self, line: int, at: int) -> None:
        """A message (applied or duplicate) arrived for ``line`` at ``at``, or it was configured."""
        self.book.resolve((BreakType.BROADCAST_SILENT, line), at)
        self.check_silence(line, at)

    def check_silence(self, line: int, now: int) -> None:
        state = self.seq.lines[self.seq.line_ids.name(line)]
        heartbeat = state.config.heartbeat_ns
        if now - state.heard_from > heartbeat:
            line_id = state.config.line_id
            silent_for = (now - state.heard_from) / 1e9
            self.book.raise_break(
                (BreakType.BROADCAST_SILENT, line),
                lambda bid: SequenceBreak(
                    break_id=bid,
                    type=BreakType.BROADCAST_SILENT,
                    line_id=line_id,
                    detected_at=now,
                    action=RecoveryAction(
                        RecoveryKind.CHECK_FEED,
                        f"no broadcast for line {line_id} for {silent_for:.0f} s "
                        f"(heartbeat {heartbeat / 1e9:.0f} s): check the MES feed",
                    ),
                ),
            )
        else:
            self._schedule(("silent", line), state.heard_from + heartbeat + 1)

    # -- scopes ------------------------------------------------------------------------

    def scopes_of_supplier(self, supplier: int) -> list[Scope]:
        keys = set(self.seq.scope_demand) | set(self.supply.scope_slots)
        return sorted(k for k in keys if k[1] == supplier)

    def match(self, scope: Scope) -> ScopeMatch:
        """E and S of a scope and how they match (the kernels' output, codes only)."""
        sup = self.supply
        s, r = sup.slots.col, sup.racks.col
        slot_rows = sup.scope_slots.get(scope)
        empty = np.zeros(0, np.int64)
        e_vehicle, e_part, e_need, e_row = self._expected(scope)
        s_rows, keep_slots = matching.supplied(
            slot_rows.view() if slot_rows is not None else empty,
            s("state"),
            s("rack"),
            s("pos"),
            r("stage"),
            r("order"),
        )
        # Stale candidates are dropped once they outnumber the live ones (amortised O(1)).
        if slot_rows is not None and 2 * int(keep_slots.sum()) < len(slot_rows):
            slot_rows.keep(keep_slots)
        m = matching.match(e_vehicle, e_part, e_need, s("vehicle")[s_rows], s("part")[s_rows], self._scratch)
        return ScopeMatch(
            e_vehicle, e_part, e_need, e_row, s_rows, m.flags, m.e_flags, m.s_e, m.flagged, m.after, m.need
        )

    def _expected(self, scope: Scope) -> EColumns:
        """E of ``scope``: (vehicle, part, need_time, demand row) by seq_no. Extends the
        E the last evaluation built when all that changed since is candidate rows appended
        after its last seq_no (see :class:`ExpectedCache`); else builds it whole."""
        seq = self.seq
        dem = seq.scope_demand.get(scope)
        cache = seq.expected_cache.entries
        if dem is None:
            cache.pop(scope, None)
            return _NO_E
        v, d = seq.vehicles.col, seq.demand.col
        columns = (
            d("vehicle"), d("part"), v("dem_off"), v("dem_len"), v("state"), v("seq_no"), v("need_time"),
        )  # fmt: skip
        cand = dem.view()
        known = cache.get(scope)
        if known is not None and known.cand_len == len(cand):
            return known.columns()
        if known is not None and known.cand_len < len(cand):
            tail = cand[known.cand_len :]
            sel, keys, vehicle, part, need, in_order, _ = matching.select_expected(tail, *columns)
            if len(sel) == len(tail) and in_order and int(keys[0]) >= known.last_key:
                known.append((vehicle, part, need, sel), len(cand), int(keys[-1]))
                return known.columns()
        e_vehicle, e_part, e_need, keep, e_row = matching.expected(cand, *columns)
        # Stale candidates are dropped once they outnumber the live ones (amortised O(1)).
        if 2 * int(keep.sum()) < len(dem):
            dem.keep(keep)
        last = int(v("seq_no")[e_vehicle[-1]]) if len(e_vehicle) else INT64_MIN
        cache[scope] = ScopeE((e_vehicle, e_part, e_need, e_row), len(dem), last)
        return e_vehicle, e_part, e_need, e_row

    def evaluate(self, scope: Scope, now: int, until: int | None = None) -> _Plan | None:
        """Re-match one scope at time ``now`` and bring its open breaks in line. With
        ``until``, if the clock alone brings more breaks by then, return the plan of them
        (:meth:`advance`)."""
        sup = self.supply
        s, r = sup.slots.col, sup.racks.col
        m = self.match(scope)
        line = self.seq.lines.get(self.seq.line_ids.name(scope[0]))
        if line is None:
            self._gauges.pop(scope, None)
        else:
            self._gauges[scope] = gauges_of_match(self, scope, m, line.config.takt_ns)
        e_vehicle, e_part, e_need = m.e_vehicle, m.e_part, m.e_need
        s_rows, flags, s_e = m.s_rows, m.flags, m.s_e
        lead = sup.lead_time(scope[1])
        unload = sup.unload_time(scope[1])
        wanted: dict[Hashable, Make] = {}
        names = _Names(self, scope)

        # MISSING: in E, no slot at all, need_time within the lead time from now.
        due_now, due = matching.missing_due(m.e_flags, e_need, lead, now)
        self._sync_missing(scope, e_vehicle[due_now], e_part[due_now], e_need[due_now], names, now)

        # Slot breaks: only the flagged slots leave the kernel's arrays. An unflagged slot is
        # in sequence; the first one is where a slot that belongs before all of them goes.
        clean = np.flatnonzero(flags == 0)
        first_in_sequence = int(s_rows[clean[0]]) if clean.size else -1
        # A slot-scoped break is keyed by where the slot is (and, for a wrong variant, by what is
        # wanted): when either changes, the old action is void, so the break resolves and a new
        # one with the right action is raised.
        rack_col, pos_col = s("rack"), s("pos")
        for j, need, t in zip(m.flagged.tolist(), m.need.tolist(), m.after.tolist(), strict=True):
            row = int(s_rows[j])
            f = int(flags[j])
            at_ = (int(rack_col[row]), int(pos_col[row]))
            if f & matching.ORPHAN:
                wanted[(BreakType.ORPHAN, row, *at_)] = names.slot_break(BreakType.ORPHAN, row, need, now)
            if f & matching.DUPLICATE:
                wanted[(BreakType.DUPLICATE, row, *at_)] = names.slot_break(
                    BreakType.DUPLICATE, row, need, now
                )
            if f & matching.WRONG_VARIANT:
                want = int(e_part[s_e[j]])
                wanted[(BreakType.WRONG_VARIANT, row, *at_, want)] = names.slot_break(
                    BreakType.WRONG_VARIANT, row, need, now, want_part=want
                )
            if f & matching.OUT_OF_SEQUENCE:
                wanted[(BreakType.OUT_OF_SEQUENCE, row, *at_)] = names.slot_break(
                    BreakType.OUT_OF_SEQUENCE,
                    row,
                    need,
                    now,
                    after=int(s_rows[t]) if t >= 0 else -1,
                    first=first_in_sequence,
                    successor=int(s_rows[t + 1]) if 0 <= t < len(s_rows) - 1 else -1,
                )

        # LATE: racks in transit (ETA, or now once the ETA has passed) or at the dock (arrival).
        slot_wanted = dict(wanted) if until is not None else {}
        racks, needs = matching.rack_needs(s("rack")[s_rows], s_e, e_need)
        late_k: list[int] = []
        pending_k: I64 = np.zeros(0, np.int64)
        if racks.size:
            stage = r("stage")[racks]
            eff = np.where(
                stage == RackStage.AT_DOCK, r("arrived_at")[racks], np.maximum(r("eta")[racks], now)
            )
            open_stage = (stage == RackStage.IN_TRANSIT) | (stage == RackStage.AT_DOCK)
            has_need = needs != matching.NO_NEED
            late = open_stage & has_need & (eff > needs - unload)
            late_k = np.flatnonzero(late).tolist()
            for k in late_k:
                wanted[(BreakType.LATE, int(racks[k]))] = names.late(
                    int(racks[k]), int(needs[k]), int(eff[k]), now
                )
            pending = (stage == RackStage.IN_TRANSIT) & has_need & ~late
            pending_k = np.flatnonzero(pending)
            if pending_k.size:
                due = min(due, int((needs[pending_k] - unload + 1).min()))

        self.book.sync(("scope", *scope), wanted, now)
        self._schedule(("scope", *scope), due)
        if until is None or due > until:
            return None
        # The clock alone, from now to ``until``: MISSING as the horizons of the vehicles without
        # a slot come; LATE as the need minus unload time of each rack still in time passes.
        ahead, m_when, later = matching.missing_ahead(m.e_flags, e_need, lead, now, until)
        late_at = needs[pending_k] - unload + 1
        soon = late_at <= until
        if not soon.all():
            later = min(later, int(late_at[~soon].min()))
        order = np.argsort(late_at[soon], kind="stable")  # in S order at the same moment
        stage = r("stage")[racks]
        racks_late = _RacksLate(
            slot_wanted,
            racks.tolist(),
            needs.tolist(),
            stage.tolist(),
            np.where(stage == RackStage.AT_DOCK, r("arrived_at")[racks], r("eta")[racks]).tolist(),
            late_k,
            late_at[soon][order].tolist(),
            pending_k[soon][order].tolist(),
        )
        return _Plan(
            scope,
            names,
            self._missing.get(scope, e_vehicle[:0]),
            e_vehicle[ahead],
            m_when.tolist(),
            e_part[ahead].tolist(),
            e_need[ahead].tolist(),
            racks_late,
            later,
        )

    def _sync_missing(
        self, scope: Scope, vehicles: npt.NDArray[np.integer], parts: npt.NDArray[np.integer],
        needs: npt.NDArray[np.int64], names: _Names, now: int,
    ) -> None:  # fmt: skip
        """Make the scope's open MISSING breaks exactly those of ``vehicles`` (in E order).
        A scope can have thousands open while nothing is built (a supplier outage), and
        every evaluation sees them all: the open set is kept as a sorted array, so an
        evaluation costs one merge of two sorted arrays plus Python only for what changed."""
        order = np.argsort(vehicles, kind="stable")  # E is in seq_no order, codes mostly too: adaptive
        due = vehicles[order]
        open_now = self._missing.get(scope, due[:0])
        if len(due) != len(open_now) or not np.array_equal(due, open_now):  # else nothing changed
            gone, fresh = sets.only(open_now, due)
            for v in open_now[gone].tolist():
                self.book.resolve((BreakType.MISSING, v, scope[1], scope[2]), now)
            new = np.sort(order[fresh])  # raised in E order
            for v, p, n in zip(vehicles[new].tolist(), parts[new].tolist(), needs[new].tolist(), strict=True):
                self.book.raise_break((BreakType.MISSING, v, scope[1], scope[2]), names.missing(v, p, n, now))
        if len(due):
            self._missing[scope] = due
        else:
            self._missing.pop(scope, None)


class _RacksLate:
    """A plan's LATE part (see :class:`_Plan`): the scope's racks (S order) and which of them
    turn late when. At such a moment the scope's wanted slot and LATE breaks are what a full
    evaluation would want, and are synced as it would sync them (so the book keeps the same
    sets, in the same order): Python for each open slot and LATE break, as a full evaluation
    spends, but no re-match of the scope."""

    __slots__ = ("eff", "i", "late", "need", "rack", "slot_wanted", "stage", "turns", "when")

    def __init__(
        self, slot_wanted: dict[Hashable, Make], rack: list[int], need: list[int], stage: list[int],
        eff: list[int], late: list[int], when: list[int], turns: list[int],
    ) -> None:  # fmt: skip
        self.slot_wanted = slot_wanted
        """The scope's wanted slot breaks (all open: no slot changes while a plan runs)."""
        self.rack, self.need, self.stage, self.eff = rack, need, stage, eff
        """Per rack: row, earliest need, stage, arrival (at the dock) or ETA (in transit)."""
        self.late = late
        """Indexes of the racks late so far, ascending."""
        self.when, self.turns = when, turns
        """When each rack still in time turns late (ascending), and its index."""
        self.i = 0

    def next(self, default: int) -> int:
        return self.when[self.i] if self.i < len(self.when) else default

    def step(self, book: BreakBook, names: _Names, scope: Hashable, now: int) -> None:
        i, when = self.i, self.when
        if i == len(when) or when[i] > now:
            return
        while i < len(when) and when[i] <= now:
            self.late.append(self.turns[i])
            i += 1
        self.i = i
        self.late.sort()
        wanted = dict(self.slot_wanted)
        for k in self.late:
            eff = self.eff[k] if self.stage[k] == RackStage.AT_DOCK else max(self.eff[k], now)
            wanted[(BreakType.LATE, self.rack[k])] = names.late(self.rack[k], self.need[k], eff, now)
        book.sync(scope, wanted, now)


class _Plan:
    """What the clock alone does to one scope from one evaluation up to a moment, nothing
    else changing meanwhile (:meth:`Evaluator.advance`): MISSING for the vehicles without a
    slot as their horizons (need_time - lead_time) come, by that moment and then in E
    order, and LATE for the racks in transit as their need minus unload time passes, in S
    order. :meth:`step` does at each such moment exactly what a full evaluation would:
    E and S do not change, so no MISSING resolves and only the new ones are raised."""

    __slots__ = (
        "_late",
        "_later",
        "_m",
        "_m_need",
        "_m_part",
        "_m_vehicle",
        "_m_when",
        "_names",
        "_open",
        "_scope",
    )

    def __init__(
        self, scope: Scope, names: _Names, open_: npt.NDArray[np.integer], m_vehicle: npt.NDArray[np.integer],
        m_when: list[int], m_part: list[int], m_need: list[int], late: _RacksLate, later: int,
    ) -> None:  # fmt: skip
        self._scope, self._names, self._open = scope, names, open_
        self._m_vehicle, self._m_when, self._m_part, self._m_need = m_vehicle, m_when, m_part, m_need
        self._m = 0
        self._late = late
        self._later = later
        """The scope's first moment after the plan's end (NEVER: none)."""

    def step(self, book: BreakBook, now: int) -> int:
        """Raise what the moment ``now`` (the plan's next) brings; return the next moment."""
        scope, names = self._scope, self._names
        i, m_when = self._m, self._m_when
        if i < len(m_when) and m_when[i] <= now:
            vehicles = self._m_vehicle
            while i < len(m_when) and m_when[i] <= now:
                v = int(vehicles[i])
                make = names.missing(v, self._m_part[i], self._m_need[i], now)
                book.raise_break((BreakType.MISSING, v, scope[1], scope[2]), make)
                i += 1
            self._m = i
        self._late.step(book, names, ("scope", *scope), now)
        later = self._later
        return min(m_when[i] if i < len(m_when) else later, self._late.next(later), later)

    def raised(self) -> bool:
        """Whether a step raised a MISSING break."""
        return self._m > 0

    def missing(self) -> npt.NDArray[np.integer]:
        """The scope's vehicles with an open MISSING break after the steps so far, sorted."""
        raised = self._m_vehicle[: self._m]
        return np.sort(np.concatenate((self._open, raised))) if len(raised) else self._open


class _Names:
    """Turns codes into the names and recovery actions of break records (flagged items only)."""

    def __init__(self, ev: Evaluator, scope: Scope) -> None:
        self.seq, self.sup = ev.seq, ev.supply
        self.scope = scope
        self.line_id = self.seq.line_ids.name(scope[0])
        self.supplier_id = self.seq.supplier_ids.name(scope[1])
        self.group = self.seq.group_ids.name(scope[2])

    def _where(self, row: int) -> tuple[str, int, str]:
        rack = int(self.sup.slots.col("rack")[row])
        pos = int(self.sup.slots.col("pos")[row])
        if rack < 0:
            return "", -1, "the built slots not yet on a rack"
        rack_id = self.sup.rack_ids.name(rack)
        return rack_id, pos, f"rack {rack_id} position {pos + 1}"  # people count from 1, as DESADV's LIN

    def _destination(self, row: int, after: int, first: int, successor: int) -> tuple[str, int]:
        """(rack id, position) an out-of-sequence slot moves to; ("", -1): the built slots.
        A position that exists: right after the slot it follows (``after``), where its
        rack has room; where that slot's successor in S is now, when the slot it follows
        ends a full rack; where the first slot in sequence is, when it goes ahead of all."""
        rack, pos = self.sup.slots.col("rack"), self.sup.slots.col("pos")
        if after < 0:
            anchor, shift = first, 0
        else:
            anchor, shift = after, 1
            same_rack = rack[after] >= 0 and rack[after] == rack[row]
            if same_rack and pos[row] < pos[after]:
                shift = 0  # taken out ahead of it in the same rack: the slots between close up
            elif rack[after] >= 0 and pos[after] + 1 >= self.sup.racks.col("capacity")[rack[after]]:
                anchor, shift = successor, 0  # it ends a full rack: before the next slot in S
        if anchor < 0 or rack[anchor] < 0:
            return "", -1
        return self.sup.rack_ids.name(int(rack[anchor])), int(pos[anchor]) + shift

    def _vehicle(self, vehicle: int) -> str:
        return self.seq.vehicle_ids.name(vehicle)

    def missing(self, vehicle: int, part: int, need: int, now: int) -> Make:
        # Called for every MISSING vehicle at every evaluation; the names are looked up only
        # when the break is new (raise_break calls the maker for unknown keys only).
        def make(bid: str) -> SequenceBreak:
            vid, pn = self._vehicle(vehicle), self.seq.part_numbers.name(part)
            seq_no = self.seq.vehicles.item("seq_no", vehicle)
            return SequenceBreak(
                break_id=bid,
                type=BreakType.MISSING,
                line_id=self.line_id,
                supplier_id=self.supplier_id,
                group=self.group,
                vehicle_id=vid,
                detected_at=now,
                need_time=need,
                action=RecoveryAction(
                    RecoveryKind.BUILD_PART,
                    f"build {self.group} {pn} for vehicle {vid} (seq_no {seq_no}, line {self.line_id})",
                    vehicle_id=vid,
                    part_number=pn,
                ),
            )

        return make

    def slot_break(
        self,
        kind: BreakType,
        row: int,
        need: int,
        now: int,
        want_part: int = -1,
        after: int = -1,
        first: int = -1,
        successor: int = -1,
    ) -> Make:
        c = self.sup.slots.col
        vid = self._vehicle(int(c("vehicle")[row]))
        pn = self.seq.part_numbers.name(int(c("part")[row]))
        rack_id, pos, where = self._where(row)
        if kind == BreakType.ORPHAN:
            action = RecoveryAction(
                RecoveryKind.PULL_SLOT,
                f"pull the slot of vehicle {vid} ({pn}) from {where}: the vehicle does not need it",
                vehicle_id=vid,
                part_number=pn,
                rack_id=rack_id,
                from_position=pos,
            )
        elif kind == BreakType.DUPLICATE:
            action = RecoveryAction(
                RecoveryKind.PULL_SLOT,
                f"pull the extra slot of vehicle {vid} ({pn}) from {where}",
                vehicle_id=vid,
                part_number=pn,
                rack_id=rack_id,
                from_position=pos,
            )
        elif kind == BreakType.WRONG_VARIANT:
            want = self.seq.part_numbers.name(want_part)
            action = RecoveryAction(
                RecoveryKind.REPLACE_VARIANT,
                f"replace {pn} by {want} in {where} for vehicle {vid}",
                vehicle_id=vid,
                part_number=pn,
                replacement_part_number=want,
                rack_id=rack_id,
                from_position=pos,
            )
        else:
            to_rack, to_pos = self._destination(row, after, first, successor)
            if after >= 0:
                target = f"right after vehicle {self._vehicle(int(c('vehicle')[after]))}"
            else:
                target = "ahead of every other slot"
            dest = f"rack {to_rack} position {to_pos + 1}" if to_rack else "the built slots"
            action = RecoveryAction(
                RecoveryKind.MOVE_SLOT,
                f"move the slot of vehicle {vid} from {where} to {dest} ({target})",
                vehicle_id=vid,
                part_number=pn,
                rack_id=rack_id,
                from_position=pos,
                to_rack_id=to_rack,
                to_position=to_pos,
            )
        need_time = None if need == matching.NO_NEED else need
        return lambda bid: SequenceBreak(
            break_id=bid,
            type=kind,
            line_id=self.line_id,
            supplier_id=self.supplier_id,
            group=self.group,
            vehicle_id=vid,
            rack_id=rack_id,
            position=pos,
            detected_at=now,
            need_time=need_time,
            action=action,
        )

    def late(self, rack: int, need: int, arrival: int, now: int) -> Make:
        rack_id = self.sup.rack_ids.name(rack)
        unload = self.sup.unload_time(self.scope[1])
        over = (arrival + unload - need) / 60e9
        return lambda bid: SequenceBreak(
            break_id=bid,
            type=BreakType.LATE,
            line_id=self.line_id,
            supplier_id=self.supplier_id,
            group=self.group,
            rack_id=rack_id,
            detected_at=now,
            need_time=need,
            action=RecoveryAction(
                RecoveryKind.EXPEDITE_RACK,
                f"expedite rack {rack_id}: it reaches line side {over:.1f} min after the need time "
                "of its first vehicle",
                rack_id=rack_id,
            ),
        )
