"""Domain values: what crosses the boundary between the API and the engine.

Times are int64 nanoseconds since the Unix epoch (UTC) everywhere in the engine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from jis.errors import DomainError

NO_TIME = -(2**63)
"""Sentinel for "no time" in int64 time columns."""

SECOND_NS = 1_000_000_000


class Action(enum.IntEnum):
    """Broadcast actions; values match ``jis.v1.Action``."""

    ADD = 1
    CHANGE = 2
    PULL = 3
    REINSERT = 4
    CANCEL = 5
    INSTALLED = 6


class VehicleState(enum.IntEnum):
    """Vehicle lifecycle; values match ``jis.v1.VehicleState``."""

    ACTIVE = 1
    PULLED = 2
    CANCELLED = 3
    INSTALLED = 4


class Disposition(enum.IntEnum):
    """What happened to an accepted broadcast; values match ``jis.v1.Disposition``."""

    APPLIED = 1
    DUPLICATE = 2
    REJECTED = 3
    """Only in batch outcomes: the message was refused; nothing changed."""


@dataclass(frozen=True, slots=True)
class PartDemand:
    """One part a vehicle needs from one supplier."""

    group: str
    part_number: str
    supplier_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Broadcast:
    """One message of a line's broadcast stream."""

    line_id: str
    call_no: int
    action: int
    """An :class:`Action` value; kept as int so unknown values can be rejected by the engine."""
    vehicle_id: str
    seq_no: int | None
    checkpoint: str = ""
    event_time: int | None = None
    need_time: int | None = None
    parts: tuple[PartDemand, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ColumnsOutcome:
    """What happened to each message of a packed publish."""

    disposition: npt.NDArray[np.int8]
    """int8[n]: a :class:`Disposition` per message."""
    errors: dict[int, DomainError]
    """Message index -> why it was refused (the REJECTED ones)."""


@dataclass(frozen=True, slots=True)
class LineConfig:
    """How a line runs; set by ``ConfigureLine`` before its first broadcast."""

    line_id: str
    takt_ns: int
    """Time between two vehicles at a station, > 0."""
    heartbeat_ns: int
    """Longest allowed silence of the broadcast feed before BROADCAST_SILENT, > 0."""
    epoch_ns: int | None = None
    """need_time of seq_no 0, for messages without a need_time; None: such messages are refused."""
    frozen_ns: int = 3600 * 10**9
    """The frozen window before need time: demand that close is fixed for the supplier
    (summarized demand, ReportService.GetDemand). Default 1 h."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The engine's answer to one accepted broadcast."""

    disposition: Disposition
    line_id: str
    call_no: int
    highest_call_no: int


@dataclass(frozen=True, slots=True)
class VehicleView:
    """A vehicle as queries return it."""

    vehicle_id: str
    line_id: str
    state: VehicleState
    seq_no: int | None
    checkpoint: str
    need_time: int | None
    event_time: int | None
    parts: tuple[PartDemand, ...]
    last_call_no: int


@dataclass(frozen=True, slots=True)
class LineView:
    """A line's configuration and ingest position."""

    config: LineConfig
    configured_at: int
    highest_call_no: int
    missing_calls: int
    duplicates: int
    last_broadcast_at: int | None
    active_vehicles: int


class RackStage(enum.IntEnum):
    """Values match ``jis.v1.RackStage``; forward only."""

    IN_TRANSIT = 1
    AT_DOCK = 2
    LINE_SIDE = 3
    RETURNED = 4


class SlotState(enum.IntEnum):
    BUILT = 1
    """In S: unracked, or on a rack that has not been returned."""
    CONSUMED = 2
    """Its vehicle was INSTALLED."""
    RETURNED = 3
    """Its rack was returned."""


@dataclass(frozen=True, slots=True)
class SupplierConfig:
    supplier_id: str
    lead_time_ns: int
    """A vehicle needing this supplier's part is MISSING from need_time - lead_time on, with no slot."""
    unload_to_line_ns: int
    """Time from the dock to line side, added to a rack's arrival for LATE."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    supplier_id: str
    group: str
    line_id: str
    vehicle_id: str
    part_number: str
    built_at: int | None = None


@dataclass(frozen=True, slots=True)
class RackDispatch:
    rack_id: str
    supplier_id: str
    group: str
    line_id: str
    capacity: int
    slots: tuple[tuple[str, str], ...]
    """(vehicle_id, part_number) in rack order."""
    eta: int | None
    dispatched_at: int | None = None


@dataclass(frozen=True, slots=True)
class SlotView:
    slot_id: int
    supplier_id: str
    group: str
    line_id: str
    vehicle_id: str
    part_number: str
    built_at: int
    stage: str
    """BUILT, IN_TRANSIT, AT_DOCK, LINE_SIDE, CONSUMED or RETURNED."""
    rack_id: str
    position: int


@dataclass(frozen=True, slots=True)
class RackView:
    rack_id: str
    supplier_id: str
    group: str
    line_id: str
    capacity: int
    stage: RackStage
    slots: tuple[SlotView, ...]
    dispatched_at: int
    eta: int
    arrived_at: int | None
    line_side_at: int | None
    unloaded_at: int | None = None


@dataclass(frozen=True, slots=True)
class DemandTable:
    """A supplier's demand: one row per (line, group, part number) with demand in the
    window, and per row an int64 count per bucket of need time (every bucket, in order)."""

    line_ids: list[str]
    groups: list[str]
    part_numbers: list[str]
    quantity: npt.NDArray[np.int64]
    """int64[rows, buckets]."""
    covered: npt.NDArray[np.int64]
    """Of ``quantity``: parts whose vehicle has a slot of the right part already."""
    frozen: npt.NDArray[np.int64]
    """Of ``quantity``: parts inside the line's frozen window now."""
    up: npt.NDArray[np.int64] | None = None
    """With changes since a point in time: parts that came into the bucket by a change of
    variant, a re-insert (int64[rows, buckets]); None without."""
    down: npt.NDArray[np.int64] | None = None
    """Parts that left it by a change of variant, a pull, a cancel, a removal."""

    def __len__(self) -> int:
        return len(self.line_ids)

    @classmethod
    def empty(cls, buckets: int, changes: bool = False) -> DemandTable:
        none = np.zeros((0, buckets), np.int64)
        return cls([], [], [], none, none, none, *((none, none) if changes else ()))


@dataclass(frozen=True, slots=True)
class ScopeInventory:
    """Slots of one (line, supplier, group) per stage, and its coverage."""

    line_id: str
    supplier_id: str
    group: str
    expected: int
    """Vehicles in E."""
    planned: int
    """Vehicles in E with no slot yet."""
    built: int
    """Slots built, not on a rack."""
    in_transit: int
    at_dock: int
    line_side: int
    consumed: int
    """Slots consumed by INSTALLED vehicles, since the start."""
    covered: int
    """E's first vehicles whose slots come first in S, in order, right variant."""
    covered_at_plant: int
    """Of those, the ones whose slots are at line side or the dock."""
    coverage_ns: int
    """covered x takt: production time the supply chain covers in sequence."""
    plant_coverage_ns: int
    """covered_at_plant x takt."""


class AppointmentState(enum.IntEnum):
    """Values match ``jis.v1.AppointmentState``."""

    BOOKED = 1
    IN_YARD = 2
    AT_DOOR = 3
    UNLOADED = 4
    CANCELLED = 5


class YardEvent(enum.IntEnum):
    """Values match ``jis.v1.YardEventKind``; each moves an appointment one state on."""

    GATE_IN = 1
    AT_DOOR = 2
    UNLOADED = 3


@dataclass(frozen=True, slots=True)
class AppointmentSpec:
    appointment_id: str
    door: str
    window_start: int
    window_end: int
    carrier: str
    trailer: str
    supplier_id: str
    rack_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AppointmentView:
    spec: AppointmentSpec
    state: AppointmentState
    booked_at: int
    gate_in_at: int | None
    at_door_at: int | None
    unloaded_at: int | None
    cancelled_at: int | None
    gate_wait_ns: int | None
    """Gate-in to door (to now while waiting)."""
    door_dwell_ns: int | None
    """Door to unloaded (to now while at the door)."""
    punctuality_ns: int | None
    """Gate-in minus window start."""
    on_time: bool


@dataclass(frozen=True, slots=True)
class YardView:
    at: int
    waiting: list[AppointmentView]
    at_door: list[AppointmentView]
    doors: dict[str, list[AppointmentView]]
