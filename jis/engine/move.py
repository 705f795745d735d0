"""Moving a line between engine groups: the line's own records out of a group's log.

A line's state is what replay of its inputs makes: its configuration, its broadcasts (the
line's rows of batches and columns records too, with the batch's cause), the builds and
rack dispatches for it, its racks' moves and ETA updates, the appointments that carry its
racks, and the clock steps (test mode) and evaluation-group marks around them, each at the
engine time it was applied. The receiving group journals them as one "import" record and
applies them at their own times (see Engine.import_line): every time-driven deadline of
its own lines is later than anything in the record, so replaying an earlier moment
touches only the moved line.

Left out: supplier configuration (plant-wide: the receiving group must already hold the
same, see :func:`conflicts`), retention steps (the receiving group's own retention
archives the line's history at its next step), DESADV numbering, takeover marks.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from jis.engine import codec
from jis.engine.model import NO_TIME, Broadcast, SupplierConfig
from jis.engine.packed import PackedBroadcasts
from jis.store.base import LogRecord

if TYPE_CHECKING:
    from jis.engine.engine import Engine

KEEP_ALWAYS = ("clock", "group", "eval")
"""Kinds kept whatever they name (time and evaluation grouping)."""


class LineHistory:
    """The records of one line in a group's log, taken in as the log is read (see
    :func:`line_records`); ``seq``: the last log position read."""

    def __init__(self, line_id: str) -> None:
        self.line_id = line_id
        self.records: list[LogRecord] = []
        self.released_to: str | None = None
        """The group the line was released to, if that is the last thing that happened to it."""
        self.released_head = 0
        """The newest build-sequence cursor that group had issued then."""
        self.seq = 0
        self.racks: set[str] = set()
        """Racks dispatched for the line (their moves, ETAs and appointments are its)."""
        self.appointments: set[str] = set()
        self.configs: dict[str, SupplierConfig] = {}
        """Every supplier's configuration in that group's log, as it is now."""
        self.vehicles: set[str] = set()
        self.suppliers: set[str] = set()
        """The ids of the line's vehicles, and of the suppliers its records name (noted
        here, off the engine's thread, for :func:`conflicts`)."""
        self._here = False

    def add(self, r: LogRecord) -> None:
        self.seq = max(self.seq, r.seq)
        line_id = self.line_id
        if r.kind == "supplier":
            cfg = codec.decode_supplier(r.body)
            self.configs[cfg.supplier_id] = cfg
            return
        if r.kind == "release":
            moved, group, head = codec.loads(r.body)
            if moved == line_id:
                self._here, self.released_to, self.released_head = False, group, head
            return
        if r.kind == "import":
            moved, _, theirs, _ = decode_import(r.body)
            if moved == line_id:
                self.records, self.racks, self.appointments = [], set(), set()
                self.vehicles, self.suppliers = set(), set()
                self._here, self.released_to = True, None
                for x in theirs:
                    _trim(x, line_id, self.racks, self.appointments)  # their racks and appointments
                    self._note(x)
                    self.records.append(x)
            return
        if r.kind == "clock" and not self._here:
            return
        kept = _trim(r, line_id, self.racks, self.appointments)
        if kept is None:
            return
        if kept.kind == "line":
            self._here, self.released_to = True, None
        out = self.records
        if kept.kind == "eval" and out and out[-1].kind == "group":
            out.pop()  # an evaluation group with nothing of the line in it
            return
        self._note(kept)
        out.append(kept)

    def _note(self, r: LogRecord) -> None:
        if r.kind in ("broadcast", "batch", "batch-from", "columns"):
            for b in _broadcasts(r):
                self.vehicles.add(b.vehicle_id)
                self.suppliers.update(p.supplier_id for p in b.parts)
        elif r.kind == "build":
            self.suppliers.add(codec.decode_build(r.body).supplier_id)
        elif r.kind == "dispatch":
            self.suppliers.add(codec.decode_dispatch(r.body).supplier_id)


def _broadcasts(r: LogRecord) -> list[Broadcast]:
    if r.kind == "columns":
        p = PackedBroadcasts.decode(r.body)
        return [p.message(i) for i in range(len(p))]
    bodies = r.body.split(b"\n")
    if r.kind == "batch-from":
        bodies = bodies[1:]
    return [codec.decode_broadcast(x) for x in bodies]


def line_records(records: Iterable[LogRecord], line_id: str) -> list[LogRecord]:
    """The records of ``line_id`` among ``records`` (a group's log in order), each trimmed
    to that line: its history up to the end of that log (the last "release" of it, when it
    left). An "import" of the line replaces what came before with the records it carried
    (the line's whole history when it came in). Clock steps count only while the line is
    in the group; evaluation marks with nothing of the line between them are dropped."""
    history = LineHistory(line_id)
    for r in records:
        history.add(r)
    return history.records


def _trim(r: LogRecord, line_id: str, racks: set[str], appointments: set[str]) -> LogRecord | None:
    kind = r.kind
    if kind in KEEP_ALWAYS:
        return r
    if kind == "line":
        return r if codec.decode_line(r.body).line_id == line_id else None
    if kind == "broadcast":
        return r if codec.decode_broadcast(r.body).line_id == line_id else None
    if kind in ("batch", "batch-from", "columns"):
        return _trim_batch(r, line_id)
    if kind == "build":
        return r if codec.decode_build(r.body).line_id == line_id else None
    if kind == "dispatch":
        d = codec.decode_dispatch(r.body)
        if d.line_id != line_id:
            return None
        racks.add(d.rack_id)
        return r
    if kind in ("move", "eta"):
        return r if codec.loads(r.body)[0] in racks else None
    if kind in ("appointment", "appointment_change"):
        spec = codec.decode_appointment(r.body)
        if spec.appointment_id in appointments or racks.intersection(spec.rack_ids):
            appointments.add(spec.appointment_id)
            return r
        return None
    if kind == "appointment_cancel":
        return r if codec.loads(r.body) in appointments else None
    if kind == "yard":
        return r if codec.loads(r.body)[0] in appointments else None
    return None  # supplier, retain, desadv, leader, release, import: not the line's


def _trim_batch(r: LogRecord, line_id: str) -> LogRecord | None:
    """A batch's messages of ``line_id``, as a "batch-from" record with the whole batch's
    cause (what its breaks are detected from); the record itself when all are the line's."""
    if r.kind == "columns":
        p = PackedBroadcasts.decode(r.body)
        code = p.line_ids.index(line_id) if line_id in p.line_ids else -1
        rows = np.flatnonzero(p.line == code)
        if len(rows) in (0, len(p)):
            return r if len(rows) else None
        times = p.event_time[p.event_time != NO_TIME]
        cause = int(times.min()) if len(times) else r.at
        mine = [codec.encode_broadcast(p.message(int(i))) for i in rows]
    else:
        bodies = r.body.split(b"\n")
        if r.kind == "batch-from":
            cause_s, *bodies = bodies
        messages = [codec.decode_broadcast(x) for x in bodies]
        mine = [x for x, b in zip(bodies, messages, strict=True) if b.line_id == line_id]
        if len(mine) in (0, len(bodies)):
            return r if mine else None
        if r.kind == "batch-from":
            cause = int(cause_s)
        else:
            cause = min((b.event_time for b in messages if b.event_time is not None), default=r.at)
    return LogRecord(r.seq, "batch-from", r.at, b"\n".join([b"%d" % cause, *mine]))


_HEAD = struct.Struct("<QqBI")


def encode_records(records: list[LogRecord]) -> bytes:
    """The body of an "import" record: per record its log position, engine time, kind and
    body (u64, i64, u8 + kind, u32 + body), in order."""
    out: list[bytes] = []
    for r in records:
        kind = r.kind.encode()
        out += [_HEAD.pack(r.seq, r.at, len(kind), len(r.body)), kind, r.body]
    return b"".join(out)


def decode_records(data: bytes) -> list[LogRecord]:
    out: list[LogRecord] = []
    pos, view = 0, memoryview(data)
    while pos < len(data):
        seq, at, k, n = _HEAD.unpack_from(data, pos)
        pos += _HEAD.size
        kind = bytes(view[pos : pos + k]).decode()
        body = bytes(view[pos + k : pos + k + n])
        if len(body) != n:
            raise ValueError("import record: truncated")
        out.append(LogRecord(seq, kind, at, body))
        pos += k + n
    return out


def encode_import(line_id: str, source: str, records: list[LogRecord], source_head: int) -> bytes:
    """The body of an "import" record: the line, the group it comes from and the newest
    build-sequence cursor that group had issued, then the records."""
    head = codec.dumps([line_id, source, source_head])
    return b"".join([struct.pack("<I", len(head)), head, encode_records(records)])


def decode_import(data: bytes) -> tuple[str, str, list[LogRecord], int]:
    (n,) = struct.unpack_from("<I", data)
    line_id, source, source_head = codec.loads(data[4 : 4 + n])
    return line_id, source, decode_records(data[4 + n :]), source_head


def conflicts(history: LineHistory, engine: Engine) -> str | None:
    """Why ``engine`` cannot take the line of ``history`` in (None: it can): a vehicle,
    rack or appointment id it already holds, or a supplier of the line configured unlike
    in the group the line comes from (the line's history would replay otherwise). Run on
    the engine's thread: lookups only."""
    for kind, names, interner in (
        ("vehicle", history.vehicles, engine.seq.vehicle_ids),
        ("rack", history.racks, engine.supply.rack_ids),
        ("appointment", history.appointments, engine.dock.ids),
    ):
        taken = sorted(x for x in names if interner.get(x) >= 0)
        if taken:
            return f"{kind} ids already in this group: {', '.join(taken[:5])}"
    mine = {cfg.supplier_id: cfg for cfg in engine.supply.suppliers.values()}
    for s in sorted(history.suppliers):
        if mine.get(s) != history.configs.get(s):
            return (
                f"supplier {s!r} is configured differently here ({mine.get(s)}) than where the line "
                f"comes from ({history.configs.get(s)}): configure it the same in both groups"
            )
    return None


def replay_differs(history: LineHistory, engine: Engine, at: int) -> str | None:
    """Why the line's records in ``history`` would not rebuild the line as ``engine`` holds
    it (None: they would): replayed into an engine of their own, brought to ``at`` as
    ``engine`` is, the line's sequence, open breaks (break ids aside) and inventory must be
    the same. What the owning group checks before it releases a line, so that a move whose
    import would fail or differ is called off while the line is still whole. Run on the
    engine's thread (it advances ``engine`` to ``at``, as time would)."""
    from jis.engine.engine import Engine
    from jis.errors import DomainError
    from jis.store.base import StoreCorrupt

    scratch = Engine()
    try:
        at0 = history.records[0].at if history.records else at
        for cfg in history.configs.values():  # as the receiving group holds them (see conflicts)
            scratch.configure_supplier(cfg, at0)
        scratch.apply_records(history.records)
    except (DomainError, StoreCorrupt) as exc:
        return f"its records do not replay: {exc}"
    line_id = history.line_id
    for e in (engine, scratch):
        e.advance(at)
    here, there = _line_state(engine, line_id), _line_state(scratch, line_id)
    for what in here:
        if here[what] != there[what]:
            return f"its records replay to another {what} than it has here"
    return None


def _line_state(e: Engine, line_id: str) -> dict[str, object]:
    if line_id not in e.seq.lines:
        return {"configuration": None}
    return {
        "configuration": e.line(line_id).config,
        "sequence": e.sequence(line_id, -(2**62), 2**62, 2**31)[0],
        "open breaks": sorted(
            (dataclasses.replace(b, break_id="") for b in e.open_breaks(line_id=line_id)), key=repr
        ),
        "inventory": e.inventory(line_id),
    }
