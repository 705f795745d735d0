"""Retention's state half: vehicles, slots, racks and appointments that are history leave memory.

A rack at line side or returned whose last move was before the cutoff and whose slots have
all left S is history, with its slots, unless an appointment in memory names it; an
appointment unloaded or cancelled before the cutoff is history once all its racks are. A
slot out of S on no rack is history once built before the cutoff. A vehicle that left the
sequence for good (INSTALLED or CANCELLED) before the cutoff is history once all its slots
are (a rack's view names the vehicles of its slots, so a slot kept keeps its vehicle); so
is a vehicle never broadcast (a build or rack named it). Pulled vehicles stay: they may
come back. A vehicle kept loses the slots that went from its chain: only slots in S are
ever looked for there.

Rows are dense codes that every column, list and break key points with, so dropping rows
is one renumbering of all of them: ``keep`` masks become maps old row -> new row (-1:
dropped), and every structure is rebuilt from its kept rows in their order, in new memory
(the event loop may still be reading drained feed rows and the interners they name). The
order of kept rows never changes, so every ordering that ties on rows stays as it was.
Deterministic in the state and the cutoff: replay of a "retain" record does the same.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from jis.alerts.breaks import BreakType
from jis.columns import Interner, RowList
from jis.engine.bulk import ranges
from jis.engine.kpis import Facts, appointment_facts
from jis.engine.model import (
    NO_TIME,
    AppointmentState,
    AppointmentView,
    RackStage,
    RackView,
    SlotState,
    VehicleState,
    VehicleView,
)
from jis.engine.sequence import UNSEEN
from jis.errors import FailedPrecondition

if TYPE_CHECKING:
    from jis.engine.engine import Engine

B = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Dropped:
    """What a compaction took out of memory, for the store's archive."""

    vehicles: list[VehicleView]
    racks: list[RackView]
    appointments: list[AppointmentView]
    facts: Facts


def _any_by(owner: I64, flag: B, n: int) -> B:
    """bool[n]: whether any item with ``flag`` has that owner (owner < 0: none)."""
    hit = owner[flag & (owner >= 0)]
    out = np.zeros(n, np.bool_)
    out[hit] = True
    return out


def _map(keep: B) -> I64:
    """Old row -> new row for the rows kept, -1 for the others; one extra entry at the
    end maps -1 to -1 (index with ``m[x]`` where x may be -1)."""
    m = np.full(len(keep) + 1, -1, np.int64)
    m[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
    return m


def appointment_racks(engine: Engine) -> tuple[I64, I64]:
    """Each (appointment, rack) pair the dock holds: the racks' rows, and their
    appointments' rows (int64[k] each, by appointment)."""
    dock = engine.dock
    a = dock.appointments.col
    counts = a("n_racks").astype(np.int64)
    racks = dock.appointment_racks.view()[ranges(a("racks_off"), counts)].astype(np.int64)
    return racks, np.repeat(np.arange(len(dock.appointments), dtype=np.int64), counts)


def history(engine: Engine, cutoff: int) -> tuple[B, B, B, B]:
    """keep masks (vehicles, slots, racks, appointments): False for what is history."""
    seq, sup, dock = engine.seq, engine.supply, engine.dock
    v, s, r, a = seq.vehicles.col, sup.slots.col, sup.racks.col, dock.appointments.col
    n_v, n_r, n_a = len(seq.vehicles), len(sup.racks), len(dock.appointments)
    slot_vehicle, slot_rack = s("vehicle").astype(np.int64), s("rack").astype(np.int64)
    in_s = s("state") == SlotState.BUILT

    last_move = np.maximum.reduce([r("dispatched_at"), r("arrived_at"), r("line_side_at"), r("unloaded_at")])
    stage = r("stage")
    rack = ((stage == RackStage.LINE_SIDE) | (stage == RackStage.RETURNED)) & (last_move < cutoff)
    rack &= ~_any_by(slot_rack, in_s, n_r)

    a_state = a("state")
    finished = np.where(a_state == AppointmentState.CANCELLED, a("cancelled_at"), a("unloaded_at"))
    appt = ((a_state == AppointmentState.UNLOADED) | (a_state == AppointmentState.CANCELLED)) & (
        finished < cutoff
    )
    a_racks, a_owner = appointment_racks(engine)
    while True:  # the sets only shrink: a few rounds at most
        a_next = appt & ~_any_by(a_owner, ~rack[a_racks], n_a)
        r_next = rack & ~_any_by(a_racks, ~a_next[a_owner], n_r)
        if (a_next == appt).all() and (r_next == rack).all():
            break
        rack, appt = r_next, a_next

    # A slot out of S goes with its rack (unracked: once built before the cutoff); its vehicle may stay.
    slot = ~in_s & np.where(slot_rack >= 0, np.append(rack, False)[slot_rack], s("built_at") < cutoff)
    state = v("state")
    gone = (state == VehicleState.INSTALLED) | (state == VehicleState.CANCELLED)
    vehicle = ((gone & (v("left_at") < cutoff)) | (state == UNSEEN)) & ~_any_by(slot_vehicle, ~slot, n_v)
    return ~vehicle, ~slot, ~rack, ~appt


def _rows(lists: dict[Any, RowList], m: I64) -> dict[Any, RowList]:
    """Each list's rows renumbered, the dropped ones left out (every key stays)."""
    out = {}
    for key, rows in lists.items():
        new = m[rows.view()]
        kept = RowList(max(64, 2 * len(new)))
        kept.extend(new[new >= 0])
        out[key] = kept
    return out


def _key(key: Hashable, vm: I64, sm: I64, rm: I64) -> Hashable:
    """A break key with its vehicle, slot and rack rows renumbered (see jis.engine.evaluate)."""
    if not isinstance(key, tuple) or not key or not isinstance(key[0], BreakType):
        return key
    t = key[0]
    if t == BreakType.MISSING:
        return (t, int(vm[key[1]]), *key[2:])
    if t == BreakType.LATE:
        return (t, int(rm[key[1]]))
    if t in (BreakType.ORPHAN, BreakType.DUPLICATE, BreakType.WRONG_VARIANT, BreakType.OUT_OF_SEQUENCE):
        return (t, int(sm[key[1]]), int(rm[key[2]]), *key[3:])
    return key


def compact(engine: Engine, cutoff: int, collect: bool) -> Dropped | None:
    """Drop the history before ``cutoff`` from memory; what went (with its views and KPI
    facts if ``collect``), or None if nothing was that old."""
    keep_v, keep_s, keep_r, keep_a = history(engine, cutoff)
    if keep_v.all() and keep_r.all() and keep_a.all():
        return None
    return drop(engine, keep_v, keep_s, keep_r, keep_a, collect)


def line_masks(engine: Engine, line: int) -> tuple[B, B, B, B]:
    """masks (vehicles, slots, racks, appointments) of line code ``line``: its vehicles,
    their slots and the slots of its racks, its racks, the appointments carrying them."""
    seq, sup = engine.seq, engine.supply
    vehicle = seq.vehicles.col("line") == line
    rack = sup.racks.col("line") == line
    slot = (sup.slots.col("line") == line) | np.append(vehicle, False)[sup.slots.col("vehicle")]
    a_racks, a_owner = appointment_racks(engine)
    return vehicle, slot, rack, _any_by(a_owner, rack[a_racks], len(engine.dock.appointments))


def forget_line_history(engine: Engine, line_id: str, cutoff: int) -> None:
    """Drop from memory, without archiving it, the history of ``line_id`` before ``cutoff``
    (rows, KPI facts, resolved breaks): what this engine's archive holds already, because it
    archived it before the line moved away, and replay brought it back when it returned.
    The same rows a retention step at ``cutoff`` takes of the line."""
    state = engine.seq.lines.get(line_id)
    if state is None:
        return
    code, book, kpis = state.code, engine.book, engine.kpis
    (kv, ks, kr, ka), (mv, ms, mr, ma) = history(engine, cutoff), line_masks(engine, code)
    keep_v, keep_s, keep_r, keep_a = kv | ~mv, ks | ~ms, kr | ~mr, ka | ~ma  # only the line's history goes
    if not (keep_v.all() and keep_s.all() and keep_r.all() and keep_a.all()):
        drop(engine, keep_v, keep_s, keep_r, keep_a, collect=False)
    for name in ("deliveries", "leads"):
        table = getattr(kpis, name)
        setattr(kpis, name, table.subset(~((table.col("line") == code) & (table.col("at") < cutoff))))
    book.resolved = [
        b for b in book.resolved if b.line_id != line_id or b.resolved_at is None or b.resolved_at >= cutoff
    ]
    h = book.history
    resolved = h.col("resolved_at")
    old = (h.col("line") == book.line_ids.get(line_id)) & (resolved != NO_TIME) & (resolved < cutoff)
    book.history = h.subset(~old)


def release_line(engine: Engine, line_id: str) -> None:
    """Take everything of ``line_id`` out of this engine (its state moved to another group):
    vehicles, demand, slots, racks, appointments, open breaks, break history and KPI facts,
    deadlines, and the line itself. Its build-sequence changes stay in the feed (their
    cursors are this group's) until retention drops them. Deterministic: replay of a
    "release" record does the same.

    FAILED_PRECONDITION, changing nothing, if the line is tied to another: an appointment
    carries racks of both, or another line's rack carries a slot of one of its vehicles;
    """
    seq, sup, ev, book, kpis = engine.seq, engine.supply, engine.evaluator, engine.book, engine.kpis
    state = seq.lines.get(line_id)
    if state is None:
        return
    code = state.code
    vehicle, slot, rack, appt = line_masks(engine, code)
    a_racks, a_owner = appointment_racks(engine)
    shared = appt & _any_by(a_owner, ~rack[a_racks], len(appt))
    if shared.any():
        names = ", ".join(engine.dock.ids.name(int(x)) for x in np.flatnonzero(shared)[:5])
        raise FailedPrecondition(
            "line_id",
            f"line {line_id!r} shares appointments with other lines ({names}): it cannot move on its own",
        )
    held = ~rack & _any_by(sup.slots.col("rack").astype(np.int64), slot, len(rack))
    if held.any():
        names = ", ".join(sup.rack_ids.name(int(x)) for x in np.flatnonzero(held)[:5])
        raise FailedPrecondition(
            "line_id",
            f"racks of other lines carry parts of line {line_id!r} ({names}): it cannot move on its own",
        )
    drop(engine, ~vehicle, ~slot, ~rack, ~appt, collect=False)
    del seq.lines[line_id]
    for scopes in (seq.scope_demand, sup.scope_slots, sup.consumed):
        for scope in [k for k in scopes if k[0] == code]:
            del scopes[scope]
    # open keys per evaluation scope, keyed ("scope", line, supplier, group)
    book.scoped = {k: v for k, v in book.scoped.items() if k[1] != code}  # type: ignore[index]
    book.forget_line(line_id)
    kpis.deliveries = kpis.deliveries.subset(kpis.deliveries.col("line") != code)
    kpis.leads = kpis.leads.subset(kpis.leads.col("line") != code)
    ev.forget_line(code)


def drop(engine: Engine, keep_v: B, keep_s: B, keep_r: B, keep_a: B, collect: bool) -> Dropped:
    """Keep only the rows masked True (vehicles, slots, racks, appointments), renumbering
    everything that points at them; what went (views and facts if ``collect``)."""
    seq, sup, dock, ev = engine.seq, engine.supply, engine.dock, engine.evaluator
    dropped = Dropped([], [], [], {})
    if collect:
        dropped.vehicles = [
            seq._view(int(x)) for x in np.flatnonzero(~keep_v & (seq.vehicles.col("state") != UNSEEN))
        ]
        dropped.racks = [sup.rack_view(sup.rack_ids.name(int(x))) for x in np.flatnonzero(~keep_r)]
        old_a = np.flatnonzero(~keep_a)
        dropped.appointments = [dock.view(int(x), engine.last_at) for x in old_a]
        facts = appointment_facts(dock, old_a)
        dropped.facts["appointments"] = {
            k: c[facts["state"] == AppointmentState.UNLOADED] for k, c in facts.items()
        }

    vm, sm, rm, am = _map(keep_v), _map(keep_s), _map(keep_r), _map(keep_a)

    # demand: the current part list of each vehicle kept (older lists are stale candidates)
    v = seq.vehicles.col
    kept_rows = np.flatnonzero(keep_v)
    lens = v("dem_len")[kept_rows].astype(np.int64)
    live_d = ranges(v("dem_off")[kept_rows], lens)
    keep_d = np.zeros(len(seq.demand), np.bool_)
    keep_d[live_d] = True
    dm = _map(keep_d)
    new_off = np.where(lens > 0, dm[np.where(lens > 0, v("dem_off")[kept_rows], -1)], 0)
    # each vehicle's chain of slots (newest first, so by falling row), without the dropped ones
    slot_vehicle = vm[sup.slots.col("vehicle")[keep_s]]
    order = np.argsort(slot_vehicle, kind="stable")  # by vehicle, rows rising within one
    by_vehicle = slot_vehicle[order]
    next_of = np.full(len(order), -1, np.int64)
    same = np.flatnonzero(by_vehicle[1:] == by_vehicle[:-1])
    next_of[order[same + 1]] = order[same]
    first_slot = np.full(len(kept_rows), -1, np.int64)
    first_slot[by_vehicle] = order  # the last write per vehicle: its newest slot

    vehicles = seq.vehicles.subset(keep_v)
    vehicles.col("dem_off")[:] = new_off
    vehicles.col("first_slot")[:] = first_slot
    names = seq.vehicle_ids.names()
    seq.vehicle_ids = Interner([names[i] for i in kept_rows.tolist()])
    seq.vehicles = vehicles
    seq.demand = seq.demand.subset(keep_d, {"vehicle": vm})
    seq.scope_demand = _rows(seq.scope_demand, dm)
    seq.expected_cache.entries.clear()
    for line in seq.lines.values():
        line.seq_index = {k: int(vm[x]) for k, x in line.seq_index.items()}

    # slots and racks
    r = sup.racks.col
    kept_racks = np.flatnonzero(keep_r)
    n_slots = r("n_slots")[kept_racks].astype(np.int64)
    rack_slots = sm[sup.rack_slots.view()[ranges(r("slots_off")[kept_racks], n_slots)]]
    sup.slots = sup.slots.subset(keep_s, {"vehicle": vm, "rack": rm})
    sup.slots.col("next_of_vehicle")[:] = next_of
    racks = sup.racks.subset(keep_r)
    racks.col("slots_off")[:] = np.cumsum(n_slots) - n_slots
    sup.racks = racks
    sup.rack_slots = RowList(max(64, 2 * len(rack_slots)))
    sup.rack_slots.extend(rack_slots)
    rack_names = sup.rack_ids.names()
    sup.rack_ids = Interner([rack_names[i] for i in kept_racks.tolist()])
    sup.scope_slots = _rows(sup.scope_slots, sm)

    # appointments
    a = dock.appointments.col
    kept_appts = np.flatnonzero(keep_a)
    n_racks = a("n_racks")[kept_appts].astype(np.int64)
    appt_racks = rm[dock.appointment_racks.view()[ranges(a("racks_off")[kept_appts], n_racks)]]
    appts = dock.appointments.subset(keep_a)
    appts.col("racks_off")[:] = np.cumsum(n_racks) - n_racks
    dock.appointments = appts
    dock.appointment_racks = RowList(max(64, 2 * len(appt_racks)))
    dock.appointment_racks.extend(appt_racks)
    dock.rack_appointment = {
        int(rm[k]): int(am[x]) for k, x in dock.rack_appointment.items() if rm[k] >= 0 and am[x] >= 0
    }
    appt_names = dock.ids.names()
    dock.ids = Interner([appt_names[i] for i in kept_appts.tolist()])

    # what points at those rows: the feed, KPI deliveries, open breaks, MISSING sets
    feed = engine.feed
    feed.messages = feed.messages.subset(np.ones(len(feed.messages), np.bool_), {"vehicle": vm})
    book = engine.book
    book.open = {_key(k, vm, sm, rm): b for k, b in book.open.items()}
    book.scoped = {scope: {_key(k, vm, sm, rm) for k in keys} for scope, keys in book.scoped.items()}
    ev.remap_vehicles(vm)
    return dropped
