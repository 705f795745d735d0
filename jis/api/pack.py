"""Client side of ``PublishColumns``: broadcast messages packed as columns.

A Python client (the simulator, a bridge from an MES export, a test) builds its
messages as ``jis.v1.Broadcast`` and packs them here; the server unpacks nothing per
message. Other languages build ``BroadcastColumns`` directly (its proto comments say
what each column holds).
"""

from __future__ import annotations

from collections.abc import Iterable

from jis.v1 import broadcast_pb2, common_pb2

NS = 1_000_000_000
_NO_SEQ = (common_pb2.ACTION_PULL, common_pb2.ACTION_CANCEL, common_pb2.ACTION_INSTALLED)


class _Dictionary:
    def __init__(self, names: object) -> None:
        self.names = names  # a repeated string field of the message being built
        self.index: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.index)
            self.names.append(name)  # type: ignore[attr-defined]
        return i


def pack(broadcasts: Iterable[broadcast_pb2.Broadcast]) -> broadcast_pb2.BroadcastColumns:
    """The messages as one ``BroadcastColumns``, in order. A Timestamp at exactly the Unix
    epoch cannot be told from an absent one in the columns (0 means absent)."""
    out = broadcast_pb2.BroadcastColumns()
    line, checkpoint = _Dictionary(out.line_ids), _Dictionary(out.checkpoints)
    group, number, supplier = (
        _Dictionary(out.groups),
        _Dictionary(out.part_numbers),
        _Dictionary(out.supplier_ids),
    )
    lines, calls, actions, vehicles, seqs, absent, cps, events, needs, counts = ([] for _ in range(10))
    pg: list[int] = []
    pn: list[int] = []
    ps: list[int] = []
    pq: list[int] = []
    for i, b in enumerate(broadcasts):
        lines.append(line(b.line_id))
        calls.append(b.call_no)
        actions.append(b.action)
        vehicles.append(b.vehicle_id)
        seqs.append(b.seq_no)
        if not b.HasField("seq_no") and b.action not in _NO_SEQ:
            absent.append(i)
        cps.append(checkpoint(b.checkpoint))
        events.append(b.event_time.seconds * NS + b.event_time.nanos if b.HasField("event_time") else 0)
        needs.append(b.need_time.seconds * NS + b.need_time.nanos if b.HasField("need_time") else 0)
        counts.append(len(b.parts))
        for p in b.parts:
            pg.append(group(p.group))
            pn.append(number(p.part_number))
            ps.append(supplier(p.supplier_id))
            pq.append(p.quantity)
    out.line.extend(lines)
    out.call_no.extend(calls)
    out.action.extend(actions)
    out.vehicle_id.extend(vehicles)
    out.seq_no.extend(seqs)
    out.seq_no_absent.extend(absent)
    out.checkpoint.extend(cps)
    out.event_time_ns.extend(events)
    out.need_time_ns.extend(needs)
    out.part_count.extend(counts)
    out.part_group.extend(pg)
    out.part_number.extend(pn)
    out.part_supplier.extend(ps)
    out.part_quantity.extend(pq)
    return out
