"""Builders for request messages, so tests read like the spec."""

from __future__ import annotations

from typing import Any

from jis.v1 import broadcast_pb2, common_pb2

A = common_pb2
ADD, CHANGE, PULL = A.ACTION_ADD, A.ACTION_CHANGE, A.ACTION_PULL
REINSERT, CANCEL, INSTALLED = A.ACTION_REINSERT, A.ACTION_CANCEL, A.ACTION_INSTALLED


def part(
    group: str = "SEAT", part_number: str = "S-BLK", supplier_id: str = "SUP1", quantity: int = 1
) -> common_pb2.Part:
    return common_pb2.Part(group=group, part_number=part_number, supplier_id=supplier_id, quantity=quantity)


def bc(
    line_id: str,
    call_no: int,
    action: int,
    vehicle_id: str,
    seq_no: int | None = None,
    parts: list[common_pb2.Part] | None = None,
    need_time: str | None = None,
    checkpoint: str = "",
) -> broadcast_pb2.Broadcast:
    m = broadcast_pb2.Broadcast(
        line_id=line_id,
        call_no=call_no,
        action=action,
        vehicle_id=vehicle_id,
        checkpoint=checkpoint,
        parts=parts or [],
    )
    if seq_no is not None:
        m.seq_no = seq_no
    if need_time is not None:
        m.need_time.FromJsonString(need_time)
    return m


def pub(b: broadcast_pb2.Broadcast) -> broadcast_pb2.PublishRequest:
    return broadcast_pb2.PublishRequest(broadcast=b)


def packed_columns(**changes: Any) -> dict[str, Any]:
    """Arguments of ``PackedBroadcasts.build`` for two plain ADDs on line "A", with ``changes``."""
    base: dict[str, Any] = dict(
        line_ids=["A"],
        line=[],
        call_no=[1, 2],
        action=[1, 1],
        vehicle_id=["V1", "V2"],
        seq_no=[1, 2],
        seq_no_absent=[],
        checkpoints=[],
        checkpoint=[],
        event_time_ns=[],
        need_time_ns=[],
        part_count=[1, 1],
        groups=["G"],
        part_numbers=["P"],
        supplier_ids=["S"],
        part_group=[0, 0],
        part_number=[0, 0],
        part_supplier=[0, 0],
        part_quantity=[],
        max_messages=10,
    )
    base.update(changes)
    return base
