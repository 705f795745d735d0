"""Canonical encoding of accepted inputs, for the durable log.

One compact JSON array per record: stable across versions, readable with sqlite3,
and the same bytes for the same content (digests: :mod:`jis.kernels.digest`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from jis.alerts.breaks import BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.engine.model import (
    AppointmentSpec,
    AppointmentState,
    AppointmentView,
    Broadcast,
    BuildReport,
    LineConfig,
    PartDemand,
    RackDispatch,
    RackStage,
    RackView,
    SlotView,
    SupplierConfig,
    VehicleState,
    VehicleView,
)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> bytes:
    return _dumps(value).encode()


def loads(data: bytes) -> Any:
    return json.loads(data)


def encode_broadcast(b: Broadcast) -> bytes:
    parts = [[p.group, p.part_number, p.supplier_id, p.quantity] for p in b.parts]
    return dumps(
        [
            b.line_id,
            b.call_no,
            b.action,
            b.vehicle_id,
            b.seq_no,
            b.checkpoint,
            b.event_time,
            b.need_time,
            parts,
        ]
    )


def decode_broadcast(data: bytes) -> Broadcast:
    line_id, call_no, action, vehicle_id, seq_no, checkpoint, event_time, need_time, parts = loads(data)
    return Broadcast(
        line_id,
        call_no,
        action,
        vehicle_id,
        seq_no,
        checkpoint,
        event_time,
        need_time,
        tuple(PartDemand(g, pn, s, q) for g, pn, s, q in parts),
    )


def encode_line(cfg: LineConfig) -> bytes:
    return dumps([cfg.line_id, cfg.takt_ns, cfg.heartbeat_ns, cfg.epoch_ns, cfg.frozen_ns])


def decode_line(data: bytes) -> LineConfig:
    """A line record; one written before the frozen window existed has the default one."""
    line_id, takt, heartbeat, epoch, *frozen = loads(data)
    return LineConfig(line_id, takt, heartbeat, epoch, *frozen)


def encode_supplier(cfg: SupplierConfig) -> bytes:
    return dumps([cfg.supplier_id, cfg.lead_time_ns, cfg.unload_to_line_ns])


def decode_supplier(data: bytes) -> SupplierConfig:
    return SupplierConfig(*loads(data))


def encode_build(b: BuildReport) -> bytes:
    return dumps([b.supplier_id, b.group, b.line_id, b.vehicle_id, b.part_number, b.built_at])


def decode_build(data: bytes) -> BuildReport:
    return BuildReport(*loads(data))


def encode_dispatch(d: RackDispatch) -> bytes:
    slots = [list(s) for s in d.slots]
    return dumps([d.rack_id, d.supplier_id, d.group, d.line_id, d.capacity, slots, d.eta, d.dispatched_at])


def decode_dispatch(data: bytes) -> RackDispatch:
    rack_id, supplier_id, group, line_id, capacity, slots, eta, dispatched_at = loads(data)
    return RackDispatch(
        rack_id, supplier_id, group, line_id, capacity, tuple((v, p) for v, p in slots), eta, dispatched_at
    )


def encode_appointment(a: AppointmentSpec) -> bytes:
    return dumps(
        [
            a.appointment_id,
            a.door,
            a.window_start,
            a.window_end,
            a.carrier,
            a.trailer,
            a.supplier_id,
            list(a.rack_ids),
        ]
    )


def decode_appointment(body: bytes) -> AppointmentSpec:
    appointment_id, door, start, end, carrier, trailer, supplier_id, racks = loads(body)
    return AppointmentSpec(appointment_id, door, start, end, carrier, trailer, supplier_id, tuple(racks))


def encode_break(b: SequenceBreak) -> bytes:
    """A break as a JSON object of its fields (the archive's rows: readable with sqlite3)."""
    return dumps(dataclasses.asdict(b))


def decode_break(data: bytes) -> SequenceBreak:
    fields = loads(data)
    action = fields.pop("action")
    return SequenceBreak(
        **{**fields, "type": BreakType(fields["type"])},
        action=RecoveryAction(**{**action, "kind": RecoveryKind(action["kind"])}),
    )


def encode_vehicle(v: VehicleView) -> bytes:
    """A vehicle's view as a JSON object (the archive's rows, like breaks)."""
    return dumps(dataclasses.asdict(v))


def decode_vehicle(data: bytes) -> VehicleView:
    f = loads(data)
    return VehicleView(
        **{**f, "state": VehicleState(f["state"]), "parts": tuple(PartDemand(**p) for p in f["parts"])}
    )


def encode_rack(r: RackView) -> bytes:
    return dumps(dataclasses.asdict(r))


def decode_rack(data: bytes) -> RackView:
    f = loads(data)
    return RackView(
        **{**f, "stage": RackStage(f["stage"]), "slots": tuple(SlotView(**s) for s in f["slots"])}
    )


def encode_appointment_view(a: AppointmentView) -> bytes:
    return dumps(dataclasses.asdict(a))


def decode_appointment_view(data: bytes) -> AppointmentView:
    f = loads(data)
    spec = f.pop("spec")
    return AppointmentView(
        **{**f, "state": AppointmentState(f["state"])},
        spec=AppointmentSpec(**{**spec, "rack_ids": tuple(spec["rack_ids"])}),
    )
