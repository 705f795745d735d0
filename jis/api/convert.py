"""Protobuf messages <-> engine values. The only module that knows both."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from jis.alerts.breaks import SequenceBreak
from jis.engine.errors import InvalidArgument
from jis.engine.model import Broadcast, LineConfig, LineView, PartDemand, VehicleView
from jis.v1 import breaks_pb2, broadcast_pb2, common_pb2, lines_pb2, sequence_pb2

NS = 1_000_000_000
MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the Timestamp range limit


def ts_to_ns(ts: Timestamp, field: str) -> int:
    if not (-62_135_596_800 <= ts.seconds <= MAX_SECONDS) or not 0 <= ts.nanos < NS:
        raise InvalidArgument(field, "not a valid timestamp")
    ns = ts.seconds * NS + ts.nanos
    if not -(2**63) < ns < 2**63:
        raise InvalidArgument(field, "outside the engine's time range (years 1678-2262)")
    return ns


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
    )


def line_out(v: LineView) -> lines_pb2.Line:
    cfg = v.config
    out = lines_pb2.Line(
        line_id=cfg.line_id,
        takt=ns_to_duration(cfg.takt_ns),
        heartbeat=ns_to_duration(cfg.heartbeat_ns),
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


def break_out(b: SequenceBreak) -> breaks_pb2.SequenceBreak:
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
    if b.slack is not None:
        out.slack.CopyFrom(ns_to_duration(b.slack))
    if b.need_time is not None:
        out.need_time.CopyFrom(ns_to_ts(b.need_time))
    if b.resolved_at is not None:
        out.resolved_at.CopyFrom(ns_to_ts(b.resolved_at))
    return out
