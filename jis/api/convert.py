"""Protobuf messages <-> engine values. The only module that knows both."""

from __future__ import annotations

import numpy as np
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from jis.alerts.breaks import SequenceBreak
from jis.engine.feed import FeedEntry, FeedEvent
from jis.engine.kpis import Kpis
from jis.engine.limits import NS, require_time
from jis.engine.model import (
    AppointmentSpec,
    AppointmentView,
    Broadcast,
    BuildReport,
    DemandTable,
    LineConfig,
    LineView,
    PartDemand,
    RackDispatch,
    RackView,
    ScopeInventory,
    SlotView,
    SupplierConfig,
    VehicleView,
    YardView,
)
from jis.engine.packed import PackedBroadcasts
from jis.errors import InvalidArgument
from jis.v1 import (
    breaks_pb2,
    broadcast_pb2,
    build_sequence_pb2,
    common_pb2,
    dock_pb2,
    lines_pb2,
    reports_pb2,
    sequence_pb2,
    supply_pb2,
)

MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the Timestamp range limit


def ts_to_ns(ts: Timestamp, field: str) -> int:
    """Nanoseconds since the epoch; InvalidArgument unless valid and in the accepted range
    (jis.engine.limits)."""
    if not (-62_135_596_800 <= ts.seconds <= MAX_SECONDS) or not 0 <= ts.nanos < NS:
        raise InvalidArgument(field, "not a valid timestamp")
    return require_time(field, ts.seconds * NS + ts.nanos)


def ns_to_ts(ns: int) -> Timestamp:
    seconds, nanos = divmod(ns, NS)
    return Timestamp(seconds=seconds, nanos=nanos)


def duration_to_ns(d: Duration, field: str) -> int:
    if abs(d.seconds) > 315_576_000_000 or abs(d.nanos) >= NS:
        raise InvalidArgument(field, "not a valid duration")
    return d.seconds * NS + d.nanos


def ns_to_duration(ns: int) -> Duration:
    sign = -1 if ns < 0 else 1
    seconds, nanos = divmod(abs(ns), NS)
    return Duration(seconds=sign * seconds, nanos=sign * nanos)


def broadcast_in(m: broadcast_pb2.Broadcast) -> Broadcast:
    return Broadcast(
        line_id=m.line_id,
        call_no=m.call_no,
        action=int(m.action),
        vehicle_id=m.vehicle_id,
        seq_no=m.seq_no if m.HasField("seq_no") else None,
        checkpoint=m.checkpoint,
        event_time=ts_to_ns(m.event_time, "event_time") if m.HasField("event_time") else None,
        need_time=ts_to_ns(m.need_time, "need_time") if m.HasField("need_time") else None,
        parts=tuple(PartDemand(p.group, p.part_number, p.supplier_id, p.quantity) for p in m.parts),
    )


def _set_ts(m: Message, name: str, ns: int | None) -> None:
    if ns is not None:
        getattr(m, name).CopyFrom(ns_to_ts(ns))


def broadcast_out(b: Broadcast) -> broadcast_pb2.Broadcast:
    """The message :func:`broadcast_in` reads as ``b`` (what a client sends for it)."""
    m = broadcast_pb2.Broadcast(
        line_id=b.line_id,
        call_no=b.call_no,
        action=b.action,  # type: ignore[arg-type]
        vehicle_id=b.vehicle_id,
        checkpoint=b.checkpoint,
        parts=parts_out(b.parts),
    )
    if b.seq_no is not None:
        m.seq_no = b.seq_no
    _set_ts(m, "event_time", b.event_time)
    _set_ts(m, "need_time", b.need_time)
    return m


def columns_in(m: broadcast_pb2.BroadcastColumns, max_messages: int) -> PackedBroadcasts:
    """The packed columns, shape-checked (InvalidArgument naming the column). Packed
    repeated fields copy into numpy arrays without a per-element Python step."""
    return PackedBroadcasts.build(
        line_ids=m.line_ids,
        line=np.array(m.line, np.uint32),
        call_no=np.array(m.call_no, np.uint64),
        action=np.array(m.action, np.int64),
        vehicle_id=m.vehicle_id,
        seq_no=np.array(m.seq_no, np.int64),
        seq_no_absent=np.array(m.seq_no_absent, np.uint32),
        checkpoints=m.checkpoints,
        checkpoint=np.array(m.checkpoint, np.uint32),
        event_time_ns=np.array(m.event_time_ns, np.int64),
        need_time_ns=np.array(m.need_time_ns, np.int64),
        part_count=np.array(m.part_count, np.int64),
        groups=m.groups,
        part_numbers=m.part_numbers,
        supplier_ids=m.supplier_ids,
        part_group=np.array(m.part_group, np.uint32),
        part_number=np.array(m.part_number, np.uint32),
        part_supplier=np.array(m.part_supplier, np.uint32),
        part_quantity=np.array(m.part_quantity, np.uint32),
        max_messages=max_messages,
    )


def parts_out(parts: tuple[PartDemand, ...]) -> list[common_pb2.Part]:
    return [
        common_pb2.Part(
            group=p.group, part_number=p.part_number, supplier_id=p.supplier_id, quantity=p.quantity
        )
        for p in parts
    ]


def vehicle_out(v: VehicleView) -> sequence_pb2.Vehicle:
    out = sequence_pb2.Vehicle(
        vehicle_id=v.vehicle_id,
        line_id=v.line_id,
        state=int(v.state),  # type: ignore[arg-type]
        checkpoint=v.checkpoint,
        parts=parts_out(v.parts),
        last_call_no=v.last_call_no,
    )
    if v.seq_no is not None:
        out.seq_no = v.seq_no
    if v.need_time is not None:
        out.need_time.CopyFrom(ns_to_ts(v.need_time))
    if v.event_time is not None:
        out.event_time.CopyFrom(ns_to_ts(v.event_time))
    return out


def line_config_in(m: lines_pb2.ConfigureLineRequest) -> LineConfig:
    if not m.HasField("takt"):
        raise InvalidArgument("takt", "required")
    if not m.HasField("heartbeat"):
        raise InvalidArgument("heartbeat", "required")
    return LineConfig(
        line_id=m.line_id,
        takt_ns=duration_to_ns(m.takt, "takt"),
        heartbeat_ns=duration_to_ns(m.heartbeat, "heartbeat"),
        epoch_ns=ts_to_ns(m.epoch, "epoch") if m.HasField("epoch") else None,
        **({"frozen_ns": duration_to_ns(m.frozen, "frozen")} if m.HasField("frozen") else {}),
    )


def line_out(v: LineView) -> lines_pb2.Line:
    cfg = v.config
    out = lines_pb2.Line(
        line_id=cfg.line_id,
        takt=ns_to_duration(cfg.takt_ns),
        heartbeat=ns_to_duration(cfg.heartbeat_ns),
        frozen=ns_to_duration(cfg.frozen_ns),
        configured_at=ns_to_ts(v.configured_at),
        highest_call_no=v.highest_call_no,
        missing_calls=v.missing_calls,
        duplicates=v.duplicates,
        active_vehicles=v.active_vehicles,
    )
    if cfg.epoch_ns is not None:
        out.epoch.CopyFrom(ns_to_ts(cfg.epoch_ns))
    if v.last_broadcast_at is not None:
        out.last_broadcast_at.CopyFrom(ns_to_ts(v.last_broadcast_at))
    return out


def break_out(b: SequenceBreak, now: int | None = None) -> breaks_pb2.SequenceBreak:
    """``now``: the engine time the slack of an open break is read at (None: at its
    detection, for a raise event)."""
    a = b.action
    out = breaks_pb2.SequenceBreak(
        break_id=b.break_id,
        type=int(b.type),  # type: ignore[arg-type]
        line_id=b.line_id,
        supplier_id=b.supplier_id,
        group=b.group,
        vehicle_id=b.vehicle_id,
        rack_id=b.rack_id,
        position=b.position,
        first_call_no=b.first_call_no,
        last_call_no=b.last_call_no,
        detected_at=ns_to_ts(b.detected_at),
        action=breaks_pb2.RecoveryAction(
            kind=int(a.kind),  # type: ignore[arg-type]
            description=a.description,
            vehicle_id=a.vehicle_id,
            part_number=a.part_number,
            replacement_part_number=a.replacement_part_number,
            rack_id=a.rack_id,
            from_position=a.from_position,
            to_rack_id=a.to_rack_id,
            to_position=a.to_position,
            first_call_no=a.first_call_no,
            last_call_no=a.last_call_no,
        ),
    )
    slack = b.slack(b.detected_at if now is None else now)
    if slack is not None:
        out.slack.CopyFrom(ns_to_duration(slack))
    if b.need_time is not None:
        out.need_time.CopyFrom(ns_to_ts(b.need_time))
    if b.resolved_at is not None:
        out.resolved_at.CopyFrom(ns_to_ts(b.resolved_at))
    return out


def supplier_in(m: supply_pb2.ConfigureSupplierRequest) -> SupplierConfig:
    if not m.HasField("lead_time"):
        raise InvalidArgument("lead_time", "required")
    return SupplierConfig(
        supplier_id=m.supplier_id,
        lead_time_ns=duration_to_ns(m.lead_time, "lead_time"),
        unload_to_line_ns=duration_to_ns(m.unload_to_line, "unload_to_line"),
    )


def supplier_out(cfg: SupplierConfig) -> supply_pb2.Supplier:
    return supply_pb2.Supplier(
        supplier_id=cfg.supplier_id,
        lead_time=ns_to_duration(cfg.lead_time_ns),
        unload_to_line=ns_to_duration(cfg.unload_to_line_ns),
    )


def opt_ts(m: Message, name: str) -> int | None:
    return ts_to_ns(getattr(m, name), name) if m.HasField(name) else None


def build_in(m: supply_pb2.ReportBuildRequest) -> BuildReport:
    return BuildReport(m.supplier_id, m.group, m.line_id, m.vehicle_id, m.part_number, opt_ts(m, "built_at"))


def build_out(b: BuildReport) -> supply_pb2.ReportBuildRequest:
    """The request :func:`build_in` reads as ``b``."""
    m = supply_pb2.ReportBuildRequest(
        supplier_id=b.supplier_id,
        group=b.group,
        line_id=b.line_id,
        vehicle_id=b.vehicle_id,
        part_number=b.part_number,
    )
    _set_ts(m, "built_at", b.built_at)
    return m


def dispatch_out(d: RackDispatch) -> supply_pb2.DispatchRackRequest:
    """The request :func:`dispatch_in` reads as ``d``."""
    m = supply_pb2.DispatchRackRequest(
        rack_id=d.rack_id,
        supplier_id=d.supplier_id,
        group=d.group,
        line_id=d.line_id,
        capacity=d.capacity,
        slots=[supply_pb2.RackSlot(vehicle_id=v, part_number=p) for v, p in d.slots],
    )
    _set_ts(m, "eta", d.eta)
    _set_ts(m, "dispatched_at", d.dispatched_at)
    return m


def dispatch_in(m: supply_pb2.DispatchRackRequest) -> RackDispatch:
    return RackDispatch(
        rack_id=m.rack_id,
        supplier_id=m.supplier_id,
        group=m.group,
        line_id=m.line_id,
        capacity=m.capacity,
        slots=tuple((s.vehicle_id, s.part_number) for s in m.slots),
        eta=opt_ts(m, "eta"),
        dispatched_at=opt_ts(m, "dispatched_at"),
    )


SLOT_STAGES = {
    "BUILT": supply_pb2.SLOT_STAGE_BUILT,
    "IN_TRANSIT": supply_pb2.SLOT_STAGE_IN_TRANSIT,
    "AT_DOCK": supply_pb2.SLOT_STAGE_AT_DOCK,
    "LINE_SIDE": supply_pb2.SLOT_STAGE_LINE_SIDE,
    "CONSUMED": supply_pb2.SLOT_STAGE_CONSUMED,
    "RETURNED": supply_pb2.SLOT_STAGE_RETURNED,
}


def slot_out(s: SlotView) -> supply_pb2.Slot:
    return supply_pb2.Slot(
        slot_id=s.slot_id,
        supplier_id=s.supplier_id,
        group=s.group,
        line_id=s.line_id,
        vehicle_id=s.vehicle_id,
        part_number=s.part_number,
        built_at=ns_to_ts(s.built_at),
        stage=SLOT_STAGES[s.stage],
        rack_id=s.rack_id,
        position=s.position,
    )


def rack_out(r: RackView) -> supply_pb2.Rack:
    out = supply_pb2.Rack(
        rack_id=r.rack_id,
        supplier_id=r.supplier_id,
        group=r.group,
        line_id=r.line_id,
        capacity=r.capacity,
        stage=int(r.stage),  # type: ignore[arg-type]
        slots=[slot_out(s) for s in r.slots],
        dispatched_at=ns_to_ts(r.dispatched_at),
        eta=ns_to_ts(r.eta),
    )
    if r.arrived_at is not None:
        out.arrived_at.CopyFrom(ns_to_ts(r.arrived_at))
    if r.line_side_at is not None:
        out.line_side_at.CopyFrom(ns_to_ts(r.line_side_at))
    if r.unloaded_at is not None:
        out.unloaded_at.CopyFrom(ns_to_ts(r.unloaded_at))
    return out


def feed_entry_out(e: FeedEntry) -> build_sequence_pb2.BuildSequenceEntry:
    out = build_sequence_pb2.BuildSequenceEntry(
        vehicle_id=e.vehicle_id, seq_no=e.seq_no, part_number=e.part_number, quantity=e.quantity
    )
    if e.need_time is not None:
        out.need_time.CopyFrom(ns_to_ts(e.need_time))
    return out


def build_sequence_out(
    line_id: str, supplier_id: str, group: str, entries: list[FeedEntry], cursor: int
) -> build_sequence_pb2.BuildSequence:
    return build_sequence_pb2.BuildSequence(
        line_id=line_id,
        supplier_id=supplier_id,
        group=group,
        cursor=cursor,
        entries=[feed_entry_out(e) for e in entries],
    )


def feed_changes_out(events: list[FeedEvent]) -> build_sequence_pb2.BuildSequenceUpdate:
    return build_sequence_pb2.BuildSequenceUpdate(
        changes=build_sequence_pb2.BuildSequenceChanges(changes=[feed_change_out(ev) for ev in events])
    )


def feed_change_out(ev: FeedEvent) -> build_sequence_pb2.BuildSequenceChange:
    change = build_sequence_pb2.BuildSequenceChange(
        cursor=ev.cursor,
        kind=int(ev.kind),  # type: ignore[arg-type]
        entry=feed_entry_out(ev.entry),
        previous_part_number=ev.prev_part_number,
        call_no=ev.call_no,
        applied_at=ns_to_ts(ev.at),
    )
    if ev.prev_seq_no is not None:
        change.previous_seq_no = ev.prev_seq_no
    return change


def inventory_out(at: int, scopes: list[ScopeInventory]) -> reports_pb2.Inventory:
    return reports_pb2.Inventory(
        at=ns_to_ts(at),
        scopes=[
            reports_pb2.ScopeInventory(
                line_id=i.line_id,
                supplier_id=i.supplier_id,
                group=i.group,
                expected=i.expected,
                planned=i.planned,
                built=i.built,
                in_transit=i.in_transit,
                at_dock=i.at_dock,
                line_side=i.line_side,
                consumed=i.consumed,
                covered_vehicles=i.covered,
                covered_vehicles_at_plant=i.covered_at_plant,
                coverage=ns_to_duration(i.coverage_ns),
                plant_coverage=ns_to_duration(i.plant_coverage_ns),
            )
            for i in scopes
        ],
    )


def appointment_in(m: dock_pb2.AppointmentSpec) -> AppointmentSpec:
    for name in ("window_start", "window_end"):
        if not m.HasField(name):
            raise InvalidArgument(name, "required")
    return AppointmentSpec(
        appointment_id=m.appointment_id,
        door=m.door,
        window_start=ts_to_ns(m.window_start, "window_start"),
        window_end=ts_to_ns(m.window_end, "window_end"),
        carrier=m.carrier,
        trailer=m.trailer,
        supplier_id=m.supplier_id,
        rack_ids=tuple(m.rack_ids),
    )


def appointment_out(v: AppointmentView) -> dock_pb2.Appointment:
    s = v.spec
    out = dock_pb2.Appointment(
        spec=dock_pb2.AppointmentSpec(
            appointment_id=s.appointment_id,
            door=s.door,
            window_start=ns_to_ts(s.window_start),
            window_end=ns_to_ts(s.window_end),
            carrier=s.carrier,
            trailer=s.trailer,
            supplier_id=s.supplier_id,
            rack_ids=list(s.rack_ids),
        ),
        state=int(v.state),  # type: ignore[arg-type]
        booked_at=ns_to_ts(v.booked_at),
        on_time=v.on_time,
    )
    for name in ("gate_in_at", "at_door_at", "unloaded_at", "cancelled_at"):
        t = getattr(v, name)
        if t is not None:
            getattr(out, name).CopyFrom(ns_to_ts(t))
    for name, d in (
        ("gate_wait", v.gate_wait_ns),
        ("door_dwell", v.door_dwell_ns),
        ("punctuality", v.punctuality_ns),
    ):
        if d is not None:
            getattr(out, name).CopyFrom(ns_to_duration(d))
    return out


def yard_out(y: YardView) -> dock_pb2.Yard:
    return dock_pb2.Yard(
        at=ns_to_ts(y.at),
        waiting=[appointment_out(a) for a in y.waiting],
        at_door=[appointment_out(a) for a in y.at_door],
        doors=[
            dock_pb2.DoorSchedule(door=door, appointments=[appointment_out(a) for a in appts])
            for door, appts in y.doors.items()
        ],
    )


def kpis_out(
    k: Kpis, line_id: str, supplier_id: str, start: int | None, stop: int | None
) -> reports_pb2.Kpis:
    out = reports_pb2.Kpis(
        line_id=line_id,
        supplier_id=supplier_id,
        racks_delivered=k.racks_delivered,
        racks_on_time=k.racks_on_time,
        racks_in_full=k.racks_in_full,
        racks_right_variants=k.racks_right_variants,
        racks_right_order=k.racks_right_order,
        racks_otif=k.racks_otif,
        slots_delivered=k.slots_delivered,
        slots_in_sequence=k.slots_in_sequence,
        lead_time_mean=ns_to_duration(round(k.lead_time_mean_ns)),
        lead_time_stddev=ns_to_duration(round(k.lead_time_stddev_ns)),
        lead_time_samples=k.lead_time_samples,
        breaks=[
            reports_pb2.BreakCount(
                type=int(t),  # type: ignore[arg-type]
                raised=k.breaks_raised[t],
                resolved=k.breaks_resolved[t],
            )
            for t in k.breaks_raised
        ],
        mean_time_to_detect=ns_to_duration(round(k.mean_time_to_detect_ns)),
        mean_time_to_resolve=ns_to_duration(round(k.mean_time_to_resolve_ns)),
        appointments=k.appointments,
        gate_wait_mean=ns_to_duration(round(k.gate_wait_mean_ns)),
        door_dwell_mean=ns_to_duration(round(k.door_dwell_mean_ns)),
    )
    if start is not None:
        getattr(out, "from").CopyFrom(ns_to_ts(start))
    if stop is not None:
        out.to.CopyFrom(ns_to_ts(stop))
    if k.otif is not None:
        out.otif = k.otif
    if k.sequence_accuracy is not None:
        out.sequence_accuracy = k.sequence_accuracy
    return out


def demand_out(
    supplier_id: str, at: int, start: int, stop: int, bucket: int, found: DemandTable
) -> reports_pb2.Demand:
    out = reports_pb2.Demand(
        at=ns_to_ts(at), supplier_id=supplier_id, to=ns_to_ts(stop), bucket=ns_to_duration(bucket)
    )
    getattr(out, "from").CopyFrom(ns_to_ts(start))
    n = len(found)
    up = found.up.tolist() if found.up is not None else [[]] * n
    down = found.down.tolist() if found.down is not None else [[]] * n
    out.rows.extend(
        reports_pb2.DemandRow(
            line_id=line_id, group=group, part_number=part, quantity=q, covered=c, frozen=f, up=u, down=d
        )
        for line_id, group, part, q, c, f, u, d in zip(
            found.line_ids,
            found.groups,
            found.part_numbers,
            found.quantity.tolist(),
            found.covered.tolist(),
            found.frozen.tolist(),
            up,
            down,
            strict=True,
        )
    )
    return out
