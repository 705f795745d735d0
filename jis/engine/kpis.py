"""KPIs over recorded history: what each rack delivery looked like when it
reached the dock, per-slot lead times, and (from the break book and the dock) breaks,
detection and resolution times, gate wait and door dwell.

Every delivery is recorded once, as columns, at the moment its rack arrives; a KPI
query is a handful of numpy masks and reductions over those columns.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from jis.alerts.breaks import HISTORY_COLUMNS, BreakBook, BreakType
from jis.alerts.breaks import NO_TIME as OPEN
from jis.columns import Table
from jis.engine.dock import DockState
from jis.engine.evaluate import Evaluator
from jis.engine.model import NO_TIME, AppointmentState
from jis.engine.sequence import UNSEEN
from jis.engine.supply import Scope
from jis.kernels import matching

DELIVERY_COLUMNS = {
    "line": np.int32,
    "supplier": np.int32,
    "at": np.int64,  # arrival at the dock
    "on_time": np.bool_,
    "in_full": np.bool_,
    "right_variants": np.bool_,
    "right_order": np.bool_,
    "slots": np.int32,
    "in_sequence": np.int32,
}
LEAD_COLUMNS = {
    "line": np.int32,
    "supplier": np.int32,
    "at": np.int64,  # arrival at the dock
    "lead_ns": np.int64,  # broadcast to arrival
}


@dataclass(frozen=True, slots=True)
class Kpis:
    racks_delivered: int
    racks_on_time: int
    racks_in_full: int
    racks_right_variants: int
    racks_right_order: int
    racks_otif: int
    slots_delivered: int
    slots_in_sequence: int
    lead_time_mean_ns: float
    lead_time_stddev_ns: float
    lead_time_samples: int
    breaks_raised: dict[BreakType, int]
    breaks_resolved: dict[BreakType, int]
    mean_time_to_detect_ns: float
    mean_time_to_resolve_ns: float
    appointments: int
    gate_wait_mean_ns: float
    door_dwell_mean_ns: float

    @property
    def otif(self) -> float | None:
        return self.racks_otif / self.racks_delivered if self.racks_delivered else None

    @property
    def sequence_accuracy(self) -> float | None:
        return self.slots_in_sequence / self.slots_delivered if self.slots_delivered else None


def _mean(x: np.ndarray) -> float:
    """The mean, summed in sorted order: the same whatever the order of the rows (archived
    rows come back in another order than memory held them), at numpy's speed (a metrics
    scrape computes these on the engine thread)."""
    return float(np.sort(x).sum() / x.size) if x.size else 0.0


def _stddev(x: np.ndarray, mean: float) -> float:
    return math.sqrt(_mean((x - mean) ** 2)) if x.size else 0.0


Facts = dict[str, dict[str, np.ndarray]]
"""KPI facts by kind (FACT_COLUMNS), as columns."""

APPOINTMENT_FACTS = {
    "supplier": np.int32,
    "line": np.int32,  # line of its first rack, -1: none
    "state": np.int8,
    "gate_in_at": np.int64,
    "at_door_at": np.int64,
    "unloaded_at": np.int64,
}
FACT_COLUMNS: dict[str, dict[str, Any]] = {
    "deliveries": DELIVERY_COLUMNS,
    "leads": LEAD_COLUMNS,
    "breaks": HISTORY_COLUMNS,
    "appointments": APPOINTMENT_FACTS,
}
"""What KPIs are computed from. Codes are the engine's (lines, suppliers) or, for breaks,
the break book's: interners that only grow, so archived facts keep their meaning."""


def fact_span(kind: str, cols: dict[str, np.ndarray]) -> tuple[int, int]:
    """The earliest and latest time of ``cols`` that a KPI window selects on."""
    if kind == "breaks":
        return int(cols["detected_at"].min()), int(cols["resolved_at"].max())
    if kind == "appointments":
        times = np.concatenate([cols["at_door_at"], cols["unloaded_at"]])
        times = times[times != NO_TIME]
        return (int(times.min()), int(times.max())) if times.size else (0, 0)
    return int(cols["at"].min()), int(cols["at"].max())


def encode_facts(kind: str, cols: dict[str, np.ndarray]) -> bytes:
    """Facts as the store keeps them: the row count (u64), then each column's bytes."""
    names = FACT_COLUMNS[kind]
    n = len(cols[next(iter(names))])
    return struct.pack("<Q", n) + b"".join(
        np.ascontiguousarray(cols[k], dtype=np.dtype(dt).newbyteorder("<")).tobytes()
        for k, dt in names.items()
    )


def decode_facts(kind: str, body: bytes) -> dict[str, np.ndarray]:
    (n,) = struct.unpack_from("<Q", body)
    off = 8
    out: dict[str, np.ndarray] = {}
    for k, dt in FACT_COLUMNS[kind].items():
        t = np.dtype(dt).newbyteorder("<")
        out[k] = np.frombuffer(body, t, n, off).astype(dt)
        off += n * t.itemsize
    if off != len(body):
        raise ValueError(f"archived {kind} facts: {len(body)} bytes, expected {off}")
    return out


def joined(parts: list[dict[str, np.ndarray]], kind: str) -> dict[str, np.ndarray]:
    names = FACT_COLUMNS[kind]
    if not parts:
        return {k: np.zeros(0, dt) for k, dt in names.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in names}


def appointment_facts(dock: DockState, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """APPOINTMENT_FACTS of the dock's appointments (``rows``, or all)."""
    a = dock.appointments.col
    if rows is None:
        rows = np.arange(len(dock.appointments))
    has = a("n_racks")[rows] > 0
    first = np.zeros(len(rows), np.int64)
    first[has] = dock.appointment_racks.view()[a("racks_off")[rows][has]]
    line = np.full(len(rows), -1, np.int32)
    line[has] = dock.supply.racks.col("line")[first[has]]
    out = {k: a(k)[rows].copy() for k in APPOINTMENT_FACTS if k != "line"}
    out["line"] = line
    return {k: out[k] for k in APPOINTMENT_FACTS}


class KpiHistory:
    def __init__(self, ev: Evaluator) -> None:
        self.ev = ev
        self.deliveries = Table(DELIVERY_COLUMNS)
        self.leads = Table(LEAD_COLUMNS)

    def delivered(self, rack: int, scope: Scope, at: int) -> None:
        """Record rack ``rack`` of ``scope`` reaching the dock at ``at`` (after the scope
        was evaluated with it there)."""
        sup, seq = self.ev.supply, self.ev.seq
        m = self.ev.match(scope)
        idx = np.flatnonzero(sup.slots.col("rack")[m.s_rows] == rack)  # the rack's live slots, in rack order
        flags, s_e = m.flags[idx], m.s_e[idx]
        matched = s_e[s_e >= 0]
        bad = matching.ORPHAN | matching.DUPLICATE
        right_variants = not np.any(flags & (matching.ORPHAN | matching.WRONG_VARIANT))
        in_full = bool(
            idx.size
            and matched.size == idx.size
            and not np.any(flags & bad)
            and int(matched.max() - matched.min()) + 1 == np.unique(matched).size
        )
        right_order = bool(np.all(np.diff(matched) > 0))
        on_time = bool(matched.size and at + sup.unload_time(scope[1]) <= int(m.e_need[matched].min()))
        self.deliveries.append(
            line=scope[0],
            supplier=scope[1],
            at=at,
            on_time=on_time,
            in_full=in_full,
            right_variants=right_variants,
            right_order=right_order,
            slots=idx.size,
            in_sequence=int((flags == 0).sum()),
        )
        v = seq.vehicles.col
        vehicles = sup.slots.col("vehicle")[m.s_rows[idx]]
        vehicles = vehicles[v("state")[vehicles] != UNSEEN]
        first = v("first_event_time")[vehicles]
        broadcast = np.where(first == NO_TIME, v("added_at")[vehicles], first)
        n = vehicles.size
        if n:
            self.leads.extend(
                {
                    "line": np.full(n, scope[0], np.int32),
                    "supplier": np.full(n, scope[1], np.int32),
                    "at": np.full(n, at, np.int64),
                    "lead_ns": at - broadcast,
                }
            )

    def facts(self, book: BreakBook, dock: DockState) -> Facts:
        """The facts held in memory, by kind."""
        return {
            "deliveries": {k: self.deliveries.col(k) for k in FACT_COLUMNS["deliveries"]},
            "leads": {k: self.leads.col(k) for k in LEAD_COLUMNS},
            "breaks": {k: book.history.col(k) for k in HISTORY_COLUMNS},
            "appointments": appointment_facts(dock),
        }

    def take_older(self, before: int) -> Facts:
        """Take deliveries and lead times at the dock before ``before`` out of memory;
        returns them (the other kinds leave with their break book and dock rows)."""
        out: Facts = {}
        for kind, name in (("deliveries", "deliveries"), ("leads", "leads")):
            table: Table = getattr(self, name)
            out[kind], rest = table.take(table.col("at") < before, FACT_COLUMNS[kind])
            setattr(self, name, rest)
        return out


def supplier_delivery_ratios(
    deliveries: dict[str, np.ndarray], start: int, stop: int
) -> dict[int, tuple[float | None, float | None]]:
    """Per supplier code with a delivery in [start, stop): (OTIF, sequence accuracy), as
    :func:`kpis` gives them, for every supplier in one pass (the metrics' gauges)."""
    d = deliveries
    dm = (d["at"] >= start) & (d["at"] < stop)
    if not dm.any():
        return {}
    sup = d["supplier"][dm].astype(np.int64)
    otif = (d["on_time"] & d["in_full"] & d["right_variants"] & d["right_order"])[dm]
    racks = np.bincount(sup)
    racks_otif = np.bincount(sup, weights=otif.astype(np.float64))
    slots = np.bincount(sup, weights=d["slots"][dm].astype(np.float64))
    in_seq = np.bincount(sup, weights=d["in_sequence"][dm].astype(np.float64))
    return {
        code: (racks_otif[code] / racks[code], in_seq[code] / slots[code] if slots[code] else None)
        for code in np.flatnonzero(racks).tolist()
    }


def kpis(
    facts: Facts,
    line: int,
    supplier: int,
    start: int,
    stop: int,
    book_line: int,
    book_supplier: int,
) -> Kpis:
    """KPIs in [start, stop) for a line and supplier (codes; -1: all; -2: none known) over
    ``facts`` (in memory and archived alike). ``book_line``/``book_supplier`` are the same
    in the break book's codes."""

    def sel(c: dict[str, np.ndarray], time_col: str) -> np.ndarray:
        mask = (c[time_col] >= start) & (c[time_col] < stop)
        if line != -1:
            mask &= c["line"] == line
        if supplier != -1:
            mask &= c["supplier"] == supplier
        return mask

    d = facts["deliveries"]
    dm = sel(d, "at")
    otif = d["on_time"] & d["in_full"] & d["right_variants"] & d["right_order"]
    lead = facts["leads"]["lead_ns"][sel(facts["leads"], "at")].astype(np.float64)
    lead_mean = _mean(lead)

    h = facts["breaks"]
    who = np.ones(len(h["type"]), np.bool_)
    if book_line != -1:
        who &= h["line"] == book_line
    if book_supplier != -1:
        who &= h["supplier"] == book_supplier
    detected = who & (h["detected_at"] >= start) & (h["detected_at"] < stop)
    resolved = who & (h["resolved_at"] != OPEN) & (h["resolved_at"] >= start) & (h["resolved_at"] < stop)
    raised_n = np.bincount(h["type"][detected], minlength=len(BreakType) + 1)
    resolved_n = np.bincount(h["type"][resolved], minlength=len(BreakType) + 1)
    ttd = (h["detected_at"][detected] - h["caused_at"][detected]).astype(np.float64)
    ttr = (h["resolved_at"][resolved] - h["detected_at"][resolved]).astype(np.float64)

    a = facts["appointments"]
    mine = np.ones(len(a["state"]), np.bool_)
    if supplier != -1:
        mine &= a["supplier"] == supplier
    if line != -1:  # an appointment counts for the line of its first rack
        mine &= a["line"] == line
    state = a["state"]
    reached = mine & (state >= AppointmentState.AT_DOOR) & (state != AppointmentState.CANCELLED)
    waited = reached & (a["at_door_at"] >= start) & (a["at_door_at"] < stop)
    unloaded = (
        mine & (state == AppointmentState.UNLOADED) & (a["unloaded_at"] >= start) & (a["unloaded_at"] < stop)
    )
    wait = (a["at_door_at"][waited] - a["gate_in_at"][waited]).astype(np.float64)
    dwell = (a["unloaded_at"][unloaded] - a["at_door_at"][unloaded]).astype(np.float64)

    return Kpis(
        racks_delivered=int(dm.sum()),
        racks_on_time=int((dm & d["on_time"]).sum()),
        racks_in_full=int((dm & d["in_full"]).sum()),
        racks_right_variants=int((dm & d["right_variants"]).sum()),
        racks_right_order=int((dm & d["right_order"]).sum()),
        racks_otif=int((dm & otif).sum()),
        slots_delivered=int(d["slots"][dm].sum()),
        slots_in_sequence=int(d["in_sequence"][dm].sum()),
        lead_time_mean_ns=lead_mean,
        lead_time_stddev_ns=_stddev(lead, lead_mean),
        lead_time_samples=int(lead.size),
        breaks_raised={t: int(raised_n[t]) for t in BreakType},
        breaks_resolved={t: int(resolved_n[t]) for t in BreakType},
        mean_time_to_detect_ns=_mean(ttd),
        mean_time_to_resolve_ns=_mean(ttr),
        appointments=int((waited | unloaded).sum()),
        gate_wait_mean_ns=_mean(wait),
        door_dwell_mean_ns=_mean(dwell),
    )
