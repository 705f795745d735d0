"""The line sequences: lines, vehicles and their part demand, as columns.

Applying a broadcast is two steps: ``_check`` raises a DomainError for anything
malformed or impossible, touching nothing; ``_apply`` then mutates and cannot fail.
That is what makes every message all-or-nothing, alone or inside a batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from jis.alerts.breaks import BreakBook, BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.columns import Interner, RowList, Table
from jis.engine import codec
from jis.engine.limits import (
    MAX_DURATION_NS,
    MAX_TAKT_NS,
    TIME_MAX_NS,
    TIME_MIN_NS,
    require_duration,
    require_id,
    require_text,
    require_time,
)
from jis.engine.lines import LineState
from jis.engine.model import (
    NO_TIME,
    Action,
    Broadcast,
    Disposition,
    LineConfig,
    LineView,
    PartDemand,
    PublishResult,
    VehicleState,
    VehicleView,
)
from jis.engine.packed import broadcast_digest
from jis.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from jis.kernels.sequence import sequence_window

MAX_PARTS = 256
"""Most parts in one broadcast."""
INT64_MAX = 2**63 - 1
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

UNSEEN = 0
"""Vehicle state of a row interned before any broadcast named it (e.g. by a build report)."""
# Plain ints for the per-message path: comparing a numpy scalar with an IntEnum member
# costs microseconds, with an int tens of nanoseconds.
_ACTIVE, _PULLED = int(VehicleState.ACTIVE), int(VehicleState.PULLED)
_ADD, _REINSERT = int(Action.ADD), int(Action.REINSERT)
_PLACES = frozenset({int(Action.ADD), int(Action.REINSERT), int(Action.CHANGE)})
"""Actions that put a vehicle in the sequence (with its seq_no, need_time and parts)."""
_ALLOWED = {
    int(Action.CHANGE): (_ACTIVE,),
    int(Action.PULL): (_ACTIVE,),
    int(Action.INSTALLED): (_ACTIVE,),
    int(Action.REINSERT): (_PULLED,),
    int(Action.CANCEL): (_ACTIVE, _PULLED),
}
"""The vehicle states each action other than ADD applies to."""
_LEAVES = {
    int(Action.PULL): _PULLED,
    int(Action.CANCEL): int(VehicleState.CANCELLED),
    int(Action.INSTALLED): int(VehicleState.INSTALLED),
}
"""The state a vehicle is left in by an action that takes it out of the sequence."""

VEHICLE_COLUMNS = {
    "line": np.int32,  # line code, -1 while unseen
    "seq_no": np.int64,  # valid while active
    "state": np.int8,  # VehicleState, or UNSEEN
    "need_time": np.int64,
    "event_time": np.int64,  # of the last applied message, NO_TIME if none
    "first_event_time": np.int64,  # of the first applied message (lead time KPIs)
    "added_at": np.int64,  # engine time of its ADD (lead time KPIs when messages carry no event_time)
    "checkpoint": np.int32,
    "dem_off": np.int64,  # current part list: demand rows [dem_off, dem_off + dem_len)
    "dem_len": np.int32,
    "last_call": np.int64,
    "first_slot": np.int64,  # newest slot built for the vehicle, -1: none (chain in the slot table)
    "left_at": np.int64,  # engine time of the message that took it out of the sequence (retention)
}
DEMAND_COLUMNS = {
    "vehicle": np.int32,
    "supplier": np.int32,
    "group": np.int32,
    "part": np.int32,
    "quantity": np.int32,
}


@dataclass(frozen=True, slots=True)
class Touched:
    """What an applied broadcast changed, for break evaluation."""

    line: int
    vehicle: int
    action: Action
    scopes: frozenset[tuple[int, int]]
    """(supplier code, group code) pairs whose expected sequence may have changed."""
    before: Before
    """The vehicle's row as it was before the message (for the build-sequence feed)."""
    call_no: int


@dataclass(frozen=True, slots=True)
class Before:
    """A vehicle's state, seq_no, need_time and part list rows before a message applied."""

    state: int
    seq_no: int
    need_time: int
    dem_off: int
    dem_len: int


EColumns = tuple[I32, I32, I64, I64]
"""E of a scope, one entry per vehicle by seq_no: (vehicle, part, need_time, demand row)."""


class ScopeE:
    """A scope's E as an evaluation built it, in arrays that grow by doubling, and the
    candidate list length and last seq_no it was built from."""

    __slots__ = ("cand_len", "cols", "last_key", "n")

    def __init__(self, cols: EColumns, cand_len: int, last_key: int) -> None:
        self.cols = cols
        self.n = len(cols[0])
        self.cand_len = cand_len
        self.last_key = last_key

    def columns(self) -> EColumns:
        """E's columns. Appends write past these views only, so a caller may keep them."""
        n = self.n
        vehicle, part, need, row = self.cols
        return vehicle[:n], part[:n], need[:n], row[:n]

    def append(self, cols: EColumns, cand_len: int, last_key: int) -> None:
        """Entries that follow the last one in seq_no order."""
        n, k = self.n, len(cols[0])
        if n + k > len(self.cols[0]):
            cap = max(16, 2 * (n + k))
            self.cols = tuple(_grown(a, n, cap) for a in self.cols)  # type: ignore[assignment]
        for mine, more in zip(self.cols, cols, strict=True):
            mine[n : n + k] = more  # type: ignore[index]
        self.n = n + k
        self.cand_len = cand_len
        self.last_key = last_key


def _grown(a: npt.NDArray[Any], n: int, cap: int) -> npt.NDArray[Any]:
    out = np.empty(cap, a.dtype)
    out[:n] = a[:n]
    return out


class ExpectedCache:
    """Each scope's E as its last evaluation built it, so that the next one only adds the
    candidate rows appended since, when that is all that changed: the ADD of a vehicle
    never seen, after the scope's last seq_no, is the common case of a live feed. Any
    other change to a vehicle of the scope forgets its entry, and the next evaluation
    builds E whole. Working memory: a snapshot keeps none of it."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[int, int, int], ScopeE] = {}

    def __reduce__(self) -> tuple[type[ExpectedCache], tuple[()]]:
        return (ExpectedCache, ())

    def forget(self, line: int, scopes: Iterable[tuple[int, int]]) -> None:
        """After a change to vehicles needing (supplier, group) ``scopes`` of ``line``."""
        for sup, grp in scopes:
            self.entries.pop((line, sup, grp), None)

    def forget_line(self, line: int) -> None:
        for key in [k for k in self.entries if k[0] == line]:
            del self.entries[key]


class SequenceState:
    """Lines, vehicles (one row each, columnar) and their current part lists."""

    def __init__(self, book: BreakBook) -> None:
        self.book = book
        self.lines: dict[str, LineState] = {}
        self.line_ids = Interner()
        self.vehicle_ids = Interner()
        self.supplier_ids = Interner()
        self.group_ids = Interner()
        self.part_numbers = Interner()
        self.checkpoints = Interner([""])
        self.vehicles = Table(VEHICLE_COLUMNS)
        self.demand = Table(DEMAND_COLUMNS)
        self.scope_demand: dict[tuple[int, int, int], RowList] = {}
        """(line, supplier, group) -> demand rows ever listed for it (stale ones are filtered
        by the kernels and dropped when they outnumber the live ones)."""
        self.expected_cache = ExpectedCache()
        self.moved_out: dict[str, str] = {}
        """line_id -> the group a line was moved to (its state left this engine): an input
        for it still on its way is refused as UNAVAILABLE, retryable where it lives now."""
        self.archived_to: dict[str, int] = {}
        """line_id -> the retention cutoff when the line left: this engine's archive holds
        its history before that (taken out again if the line comes back)."""

    # -- lines -------------------------------------------------------------------------

    def configure_line(self, cfg: LineConfig, at: int) -> LineView:
        require_id("line_id", cfg.line_id)
        require_duration("takt", cfg.takt_ns, MAX_TAKT_NS)
        require_duration("heartbeat", cfg.heartbeat_ns, MAX_DURATION_NS)
        require_duration("frozen", cfg.frozen_ns, MAX_DURATION_NS, positive=False)
        if cfg.epoch_ns is not None:
            require_time("epoch", cfg.epoch_ns)
        self.require_here(cfg.line_id)
        line = self.lines.get(cfg.line_id)
        if line is None:
            code = self.line_ids.intern(cfg.line_id)
            line = self.lines[cfg.line_id] = LineState(code, cfg, at, heard_from=at)
        else:
            line.config = cfg
        return self.line_view(cfg.line_id)

    def require_here(self, line_id: str) -> None:
        """UNAVAILABLE for a line whose state moved to another group."""
        group = self.moved_out.get(line_id)
        if group is not None:
            raise Unavailable("line_id", f"line {line_id!r} moved to group {group!r}; send it there")

    def line(self, line_id: str) -> LineState:
        line = self.lines.get(line_id)
        if line is None:
            self.require_here(line_id)
            raise FailedPrecondition("line_id", f"line {line_id!r} is not configured")
        return line

    def line_view(self, line_id: str) -> LineView:
        line = self.lines.get(line_id)
        if line is None:
            self.require_here(line_id)
            raise NotFound("line_id", f"line {line_id!r} is not configured")
        return LineView(
            config=line.config,
            configured_at=line.configured_at,
            highest_call_no=line.ledger.highest,
            missing_calls=line.ledger.missing,
            duplicates=line.duplicates,
            last_broadcast_at=line.last_broadcast_at,
            active_vehicles=len(line.seq_index),
        )

    # -- vehicles ----------------------------------------------------------------------

    def vehicle_row(self, vehicle_id: str) -> int:
        """The row of ``vehicle_id``, adding an UNSEEN row if it is new."""
        code = self.vehicle_ids.intern(vehicle_id)
        if code == len(self.vehicles):
            self.vehicles.append(
                line=-1,
                state=UNSEEN,
                need_time=NO_TIME,
                event_time=NO_TIME,
                first_event_time=NO_TIME,
                first_slot=-1,
            )
        return code

    def parts_of(self, row: int) -> tuple[PartDemand, ...]:
        off = int(self.vehicles.col("dem_off")[row])
        n = int(self.vehicles.col("dem_len")[row])
        d = self.demand
        sup, grp, part, qty = (d.col(c)[off : off + n] for c in ("supplier", "group", "part", "quantity"))
        return tuple(
            PartDemand(
                self.group_ids.name(int(grp[i])),
                self.part_numbers.name(int(part[i])),
                self.supplier_ids.name(int(sup[i])),
                int(qty[i]),
            )
            for i in range(n)
        )

    def vehicle_view(self, vehicle_id: str) -> VehicleView:
        row = self.vehicle_ids.get(vehicle_id)
        v = self.vehicles
        if row < 0 or v.col("state")[row] == UNSEEN:
            raise NotFound("vehicle_id", f"vehicle {vehicle_id!r} was never broadcast")
        return self._view(row)

    def _view(self, row: int) -> VehicleView:
        v = self.vehicles
        state = VehicleState(int(v.col("state")[row]))
        need = int(v.col("need_time")[row])
        event = int(v.col("event_time")[row])
        return VehicleView(
            vehicle_id=self.vehicle_ids.name(row),
            line_id=self.line_ids.name(int(v.col("line")[row])),
            state=state,
            seq_no=int(v.col("seq_no")[row]) if state == VehicleState.ACTIVE else None,
            checkpoint=self.checkpoints.name(int(v.col("checkpoint")[row])),
            need_time=None if need == NO_TIME else need,
            event_time=None if event == NO_TIME else event,
            parts=self.parts_of(row),
            last_call_no=int(v.col("last_call")[row]),
        )

    def sequence(self, line_id: str, lo: int, hi: int, limit: int) -> tuple[list[VehicleView], bool]:
        """Active vehicles of a line with lo <= seq_no <= hi, by seq_no: up to ``limit``,
        and whether there are more."""
        line = self.lines.get(line_id)
        if line is None:
            self.require_here(line_id)
            raise NotFound("line_id", f"line {line_id!r} is not configured")
        v = self.vehicles
        rows = sequence_window(v.col("line"), v.col("state"), v.col("seq_no"), line.code, lo, hi, limit + 1)
        return [self._view(int(r)) for r in rows[:limit]], len(rows) > limit

    # -- broadcasts --------------------------------------------------------------------

    def publish(
        self, b: Broadcast, at: int, digest: int | None = None, record: bool = True
    ) -> tuple[PublishResult, bytes, Touched | None]:
        """Apply one broadcast at engine time ``at``.

        Returns the result, the record to journal (duplicates too: they count as a
        heartbeat; empty if not ``record``: the caller journals the message otherwise)
        and what changed (None for a duplicate). ``digest``: the message's content
        digest if the caller has it already (packed messages are digested together).
        Raises DomainError, with nothing changed, if the message is refused.
        """
        require_id("line_id", b.line_id)
        if not 1 <= b.call_no <= INT64_MAX:
            raise InvalidArgument("call_no", f"must be between 1 and {INT64_MAX}, got {b.call_no}")
        line = self.line(b.line_id)
        body = codec.encode_broadcast(b) if record else b""
        if digest is None:
            digest = broadcast_digest(b)
        if line.ledger.classify(b.call_no, digest):
            line.duplicates += 1
            line.last_broadcast_at = line.heard_from = at
            return PublishResult(Disposition.DUPLICATE, b.line_id, b.call_no, line.ledger.highest), body, None
        row, need_time = self._check(b, line)
        touched = self._apply(b, line, row, need_time, at)
        closed, opened = line.ledger.record(b.call_no, digest)
        for start, _ in closed:
            self.book.resolve((BreakType.GAP, line.code, start), at)
        for start, end in opened:
            self._raise_gap(line, start, end, at)
        line.last_broadcast_at = line.heard_from = at
        if b.event_time is not None:
            line.last_lag_ns = at - b.event_time
        return PublishResult(Disposition.APPLIED, b.line_id, b.call_no, line.ledger.highest), body, touched

    def _raise_gap(self, line: LineState, start: int, end: int, at: int) -> None:
        line_id = line.config.line_id
        calls = str(start) if start == end else f"{start}..{end}"
        self.book.raise_break(
            (BreakType.GAP, line.code, start),
            lambda bid: SequenceBreak(
                break_id=bid,
                type=BreakType.GAP,
                line_id=line_id,
                detected_at=at,
                first_call_no=start,
                last_call_no=end,
                action=RecoveryAction(
                    RecoveryKind.RESEND_CALLS,
                    f"ask the MES to re-send call_no {calls} of line {line_id}",
                    first_call_no=start,
                    last_call_no=end,
                ),
            ),
        )

    def _check_malformed(self, b: Broadcast) -> None:
        if b.action not in Action._value2member_map_:
            raise InvalidArgument("action", f"unknown action {b.action}")
        require_id("vehicle_id", b.vehicle_id)
        require_text("checkpoint", b.checkpoint)
        if b.event_time is not None:
            require_time("event_time", b.event_time)
        if b.action in (Action.ADD, Action.REINSERT) and b.seq_no is None:
            raise InvalidArgument("seq_no", f"required on {Action(b.action).name}")
        if b.seq_no is not None and not -INT64_MAX <= b.seq_no <= INT64_MAX:
            raise InvalidArgument("seq_no", "out of the int64 range")
        if len(b.parts) > MAX_PARTS:
            raise InvalidArgument("parts", f"more than {MAX_PARTS} parts")
        seen: set[tuple[str, str]] = set()
        for i, p in enumerate(b.parts):
            require_id(f"parts[{i}].group", p.group)
            require_id(f"parts[{i}].part_number", p.part_number)
            require_id(f"parts[{i}].supplier_id", p.supplier_id)
            if p.quantity < 0:
                raise InvalidArgument(f"parts[{i}].quantity", f"must not be negative, got {p.quantity}")
            if p.quantity == 0:
                raise InvalidArgument(f"parts[{i}].quantity", "must be at least 1")
            if (p.supplier_id, p.group) in seen:
                raise InvalidArgument(
                    f"parts[{i}]", f"supplier {p.supplier_id!r} and group {p.group!r} appear twice"
                )
            seen.add((p.supplier_id, p.group))

    def _check(self, b: Broadcast, line: LineState) -> tuple[int, int]:
        """Raise unless ``b`` can be applied; returns (vehicle row or -1, need_time)."""
        self._check_malformed(b)
        action = b.action
        row = self.vehicle_ids.get(b.vehicle_id)
        v = self.vehicles
        state = v.item("state", row) if row >= 0 else UNSEEN
        if state != UNSEEN and v.item("line", row) != line.code:
            other = self.line_ids.name(v.item("line", row))
            raise FailedPrecondition("vehicle_id", f"vehicle {b.vehicle_id!r} belongs to line {other!r}")
        need_time = v.item("need_time", row) if state != UNSEEN else NO_TIME
        if action == _ADD:
            if state != UNSEEN:
                raise FailedPrecondition(
                    "vehicle_id", f"vehicle {b.vehicle_id!r} is already known ({VehicleState(state).name})"
                )
        elif state == UNSEEN:
            raise FailedPrecondition("vehicle_id", f"unknown vehicle {b.vehicle_id!r}")
        else:
            allowed = _ALLOWED[action]
            if state not in allowed:
                want = " or ".join(VehicleState(s).name for s in allowed)
                now = VehicleState(state).name
                raise FailedPrecondition(
                    "vehicle_id",
                    f"{Action(action).name} needs a vehicle that is {want}; {b.vehicle_id!r} is {now}",
                )
        if action in _PLACES:
            moves = b.seq_no is not None and not (state == _ACTIVE and v.item("seq_no", row) == b.seq_no)
            if moves:
                holder = line.seq_index.get(b.seq_no)  # type: ignore[arg-type]
                if holder is not None and holder != row:
                    raise FailedPrecondition(
                        "seq_no",
                        f"seq_no {b.seq_no} of line {line.config.line_id!r} is held by active vehicle "
                        f"{self.vehicle_ids.name(holder)!r}",
                    )
            need_time = self._need_time(b, line, need_time, moves)
        return row, need_time

    def _need_time(self, b: Broadcast, line: LineState, current: int, moves: bool) -> int:
        if b.need_time is not None:
            return require_time("need_time", b.need_time)
        if not moves:
            return current
        cfg = line.config
        if cfg.epoch_ns is None:
            raise FailedPrecondition(
                "need_time", f"absent, and line {cfg.line_id!r} has no epoch to derive it from seq_no"
            )
        derived = cfg.epoch_ns + int(b.seq_no or 0) * cfg.takt_ns
        if not TIME_MIN_NS <= derived <= TIME_MAX_NS:
            raise InvalidArgument(
                "seq_no",
                "the need_time it derives (epoch + seq_no * takt) is outside the accepted time range",
            )
        return derived

    def _apply(self, b: Broadcast, line: LineState, row: int, need_time: int, at: int) -> Touched:
        action = b.action
        if row < 0:
            row = self.vehicle_row(b.vehicle_id)
        v = self.vehicles
        old_scopes = self._scopes(row)
        state, seq = v.item("state", row), v.item("seq_no", row)
        before = Before(state, seq, v.item("need_time", row), v.item("dem_off", row), v.item("dem_len", row))
        if action in _PLACES:
            if b.seq_no is not None:
                if state == _ACTIVE:
                    del line.seq_index[seq]
                line.seq_index[b.seq_no] = row
                v.put(row, "seq_no", b.seq_no)
            v.put(row, "state", _ACTIVE)
            v.put(row, "line", line.code)
            v.put(row, "need_time", need_time)
            if b.parts or action != _REINSERT:
                self._set_parts(row, b.parts)
        else:
            if state == _ACTIVE:
                del line.seq_index[seq]
            v.put(row, "state", _LEAVES[action])
            v.put(row, "left_at", at)
        if action == _ADD:
            v.put(row, "added_at", at)
        if b.event_time is not None:
            v.put(row, "event_time", b.event_time)
            if v.item("first_event_time", row) == NO_TIME:
                v.put(row, "first_event_time", b.event_time)
        if b.checkpoint:
            v.put(row, "checkpoint", self.checkpoints.intern(b.checkpoint))
        v.put(row, "last_call", b.call_no)
        scopes = old_scopes | self._scopes(row)
        if action != _ADD:  # an ADD (of a vehicle not seen before) only appends candidate rows
            self.expected_cache.forget(line.code, scopes)
        return Touched(line.code, row, Action(action), scopes, before, b.call_no)

    def _set_parts(self, row: int, parts: tuple[PartDemand, ...]) -> None:
        line = self.vehicles.item("line", row)
        demand, scope_demand = self.demand, self.scope_demand
        start = len(demand)
        for p in parts:  # a part list is a few rows: one append each beats building columns
            sup, grp = self.supplier_ids.intern(p.supplier_id), self.group_ids.intern(p.group)
            part = self.part_numbers.intern(p.part_number)
            r = demand.append(vehicle=row, supplier=sup, group=grp, part=part, quantity=p.quantity)
            rows = scope_demand.get((line, sup, grp))
            if rows is None:
                rows = scope_demand[(line, sup, grp)] = RowList()
            rows.append(r)
        self.vehicles.put(row, "dem_off", start)
        self.vehicles.put(row, "dem_len", len(parts))

    def _scopes(self, row: int) -> frozenset[tuple[int, int]]:
        v = self.vehicles
        off = v.item("dem_off", row)
        n = v.item("dem_len", row)
        if n == 0:
            return frozenset()
        sup = self.demand.col("supplier")[off : off + n]
        grp = self.demand.col("group")[off : off + n]
        return frozenset(zip(sup.tolist(), grp.tolist(), strict=True))
