"""Broadcast messages packed as columns (``BroadcastService.PublishColumns``).

A bulk feed (a day's plan, a catch-up after an outage) is thousands of messages whose
strings mostly repeat. As columns it parses in a few array copies, and runs of plain
messages can be applied as array operations (see :mod:`jis.engine.bulk`). Message i
is element i of every per-message column; its parts are rows
``[part_off[i], part_off[i + 1])`` of the part columns; repeated strings are
dictionaries indexed by the columns.

:meth:`PackedBroadcasts.build` checks the columns' shape (lengths, dictionary indexes,
ranges) and raises InvalidArgument naming the column: such a request is refused as a
whole. Everything about one message's content is left to the engine's per-message
checks, exactly as for a batch of nested messages.

The log stores a packed call as one record (:meth:`encode`): a JSON header with the
dictionaries and the columns' layout, then the columns' raw little-endian bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import numpy.typing as npt

from jis.engine.limits import TIME_MAX_NS, TIME_MIN_NS, require_time
from jis.engine.model import NO_TIME, Action, Broadcast, PartDemand
from jis.errors import InvalidArgument
from jis.kernels.digest import message_digests, one_digest, string_hashes

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
_LEAVES = (Action.PULL, Action.CANCEL, Action.INSTALLED)

_ARRAYS = (
    ("line", np.int64),
    ("call_no", np.uint64),
    ("action", np.int64),
    ("seq_no", np.int64),
    ("has_seq", np.bool_),
    ("checkpoint", np.int64),
    ("event_time", np.int64),
    ("need_time", np.int64),
    ("part_off", np.int64),
    ("part_group", np.int64),
    ("part_number", np.int64),
    ("part_supplier", np.int64),
    ("quantity", np.int64),
)
_STRINGS = ("line_ids", "vehicle_id", "checkpoints", "groups", "part_numbers", "supplier_ids")


@dataclass(frozen=True, slots=True, eq=False)
class PackedBroadcasts:
    """Messages as columns, shape-checked. Build with :meth:`build` or :meth:`decode`."""

    line_ids: list[str]
    line: I64
    """int64[n]: index into line_ids."""
    call_no: U64
    action: I64
    vehicle_id: list[str]
    seq_no: I64
    has_seq: B
    """bool[n]: the message carries a seq_no (never for PULL, CANCEL, INSTALLED)."""
    checkpoints: list[str]
    checkpoint: I64
    """int64[n]: index into checkpoints, -1: none."""
    event_time: I64
    """int64[n]: NO_TIME if absent."""
    need_time: I64
    part_off: I64
    """int64[n + 1]: message i's parts are rows [part_off[i], part_off[i + 1])."""
    groups: list[str]
    part_numbers: list[str]
    supplier_ids: list[str]
    part_group: I64
    part_number: I64
    part_supplier: I64
    quantity: I64

    def __len__(self) -> int:
        return len(self.call_no)

    @classmethod
    def build(
        cls,
        *,
        line_ids: Sequence[str],
        line: npt.ArrayLike,
        call_no: npt.ArrayLike,
        action: npt.ArrayLike,
        vehicle_id: Sequence[str],
        seq_no: npt.ArrayLike,
        seq_no_absent: npt.ArrayLike,
        checkpoints: Sequence[str],
        checkpoint: npt.ArrayLike,
        event_time_ns: npt.ArrayLike,
        need_time_ns: npt.ArrayLike,
        part_count: npt.ArrayLike,
        groups: Sequence[str],
        part_numbers: Sequence[str],
        supplier_ids: Sequence[str],
        part_group: npt.ArrayLike,
        part_number: npt.ArrayLike,
        part_supplier: npt.ArrayLike,
        part_quantity: npt.ArrayLike,
        max_messages: int,
    ) -> PackedBroadcasts:
        """Check the columns' shape (InvalidArgument naming the column) and expand the
        optional ones; the wire form is described in ``proto/jis/v1/broadcast.proto``."""
        calls = np.asarray(call_no, np.uint64).reshape(-1)
        acts = np.asarray(action, np.int64).reshape(-1)
        # The message count is the longest of the three columns every message fills, so
        # that a short column is the one named, whichever it is.
        n = max(len(calls), len(acts), len(vehicle_id))
        if n > max_messages:
            raise InvalidArgument("call_no", f"{n} messages; at most {max_messages}")

        def per_message(name: str, values: npt.ArrayLike, dtype: type, optional: bool) -> npt.NDArray:  # type: ignore[type-arg]
            arr: npt.NDArray = np.asarray(values, dtype).reshape(-1)  # type: ignore[type-arg]
            if len(arr) != n and not (optional and len(arr) == 0):
                want = f"{n} (one per message)" + (" or 0" if optional else "")
                raise InvalidArgument(name, f"has {len(arr)} elements; expected {want}")
            return arr

        def index(name: str, values: npt.NDArray, size: int, dictionary: str) -> I64:  # type: ignore[type-arg]
            bad = np.flatnonzero(values >= size)
            if len(bad):
                raise InvalidArgument(
                    f"{name}[{bad[0]}]", f"index {values[bad[0]]} outside {dictionary} ({size} entries)"
                )
            return values.astype(np.int64)

        per_message("call_no", calls, np.uint64, False)
        per_message("action", acts, np.int64, False)
        if len(vehicle_id) != n:
            raise InvalidArgument(
                "vehicle_id", f"has {len(vehicle_id)} elements; expected {n} (one per message)"
            )
        lines = per_message("line", line, np.uint32, True)
        if len(lines) == 0 and n:
            if len(line_ids) != 1:
                raise InvalidArgument(
                    "line", f"empty, but line_ids has {len(line_ids)} entries (needs exactly 1)"
                )
            lines = np.zeros(n, np.uint32)
        lines64 = index("line", lines, len(line_ids), "line_ids")
        seqs = per_message("seq_no", seq_no, np.int64, True)
        has_seq = np.full(n, len(seqs) == n, np.bool_)
        if len(seqs) == 0:
            seqs = np.zeros(n, np.int64)
        absent = np.asarray(seq_no_absent, np.uint32).reshape(-1)
        bad = np.flatnonzero(absent >= n)
        if len(bad):
            raise InvalidArgument(f"seq_no_absent[{bad[0]}]", f"message index {absent[bad[0]]} >= {n}")
        has_seq[absent] = False
        for leave in _LEAVES:  # these carry no seq_no (three compares: np.isin's fixed cost is more)
            has_seq &= acts != leave
        cps = per_message("checkpoint", checkpoint, np.uint32, True)
        cps64 = (
            index("checkpoint", cps, len(checkpoints), "checkpoints")
            if len(cps)
            else np.full(n, -1, np.int64)
        )

        def times(name: str, values: npt.ArrayLike) -> I64:
            arr = per_message(name, values, np.int64, True)
            if len(arr) == 0:
                return np.full(n, NO_TIME, np.int64)
            bad = np.flatnonzero((arr != 0) & ((arr < TIME_MIN_NS) | (arr > TIME_MAX_NS)))
            if len(bad):
                require_time(f"{name}[{bad[0]}]", int(arr[bad[0]]))
            return np.where(arr == 0, NO_TIME, arr)

        counts = per_message("part_count", part_count, np.int64, True)
        part_off = np.zeros(n + 1, np.int64)
        if len(counts):
            np.cumsum(counts, out=part_off[1:])
        m = int(part_off[-1])

        def per_part(name: str, values: npt.ArrayLike, optional: bool = False) -> npt.NDArray:  # type: ignore[type-arg]
            arr = np.asarray(values, np.uint32).reshape(-1)
            if len(arr) != m and not (optional and len(arr) == 0):
                raise InvalidArgument(name, f"has {len(arr)} elements; part_count adds up to {m}")
            return arr

        qty = per_part("part_quantity", part_quantity, optional=True).astype(np.int64)
        if len(qty) == 0:
            qty = np.ones(m, np.int64)
        bad = np.flatnonzero(qty > INT32_MAX)
        if len(bad):
            raise InvalidArgument(f"part_quantity[{bad[0]}]", f"{qty[bad[0]]} is above {INT32_MAX}")
        return cls(
            line_ids=list(line_ids),
            line=lines64,
            call_no=calls,
            action=acts,
            vehicle_id=list(vehicle_id),
            seq_no=seqs,
            has_seq=has_seq,
            checkpoints=list(checkpoints),
            checkpoint=cps64,
            event_time=times("event_time_ns", event_time_ns),
            need_time=times("need_time_ns", need_time_ns),
            part_off=part_off,
            groups=list(groups),
            part_numbers=list(part_numbers),
            supplier_ids=list(supplier_ids),
            part_group=index("part_group", per_part("part_group", part_group), len(groups), "groups"),
            part_number=index(
                "part_number", per_part("part_number", part_number), len(part_numbers), "part_numbers"
            ),
            part_supplier=index(
                "part_supplier", per_part("part_supplier", part_supplier), len(supplier_ids), "supplier_ids"
            ),
            quantity=qty,
        )

    @classmethod
    def of(cls, messages: Sequence[Broadcast]) -> PackedBroadcasts | None:
        """``messages`` (a nested batch, already converted) as columns, as :meth:`build`
        makes them: :meth:`message` gives each one back, except that PULL, CANCEL and
        INSTALLED carry no seq_no (the engine ignores it there once it is in range, and
        :func:`broadcast_digest` leaves it out). None when a value has no exact column
        form (a seq_no outside int64's symmetric range, which is refused one by one; a
        time at ``NO_TIME``; a number beyond its column's type): the caller then applies
        the messages one by one."""
        n = len(messages)
        seq = [b.seq_no for b in messages]
        if any(s is not None and not -INT64_MAX <= s <= INT64_MAX for s in seq):
            return None
        if any(t == NO_TIME for b in messages for t in (b.event_time, b.need_time)):
            return None
        parts = [p for b in messages for p in b.parts]
        m = len(parts)
        try:
            action = np.fromiter((b.action for b in messages), np.int64, n)
            event = np.fromiter(
                (NO_TIME if b.event_time is None else b.event_time for b in messages), np.int64, n
            )
            need = np.fromiter(
                (NO_TIME if b.need_time is None else b.need_time for b in messages), np.int64, n
            )
            call_no = np.fromiter((b.call_no for b in messages), np.uint64, n)
            quantity = np.fromiter((p.quantity for p in parts), np.int64, m)
        except OverflowError:
            return None
        has_seq = np.fromiter((s is not None for s in seq), np.bool_, n)
        for leave in _LEAVES:
            has_seq &= action != leave
        part_off = np.zeros(n + 1, np.int64)
        np.cumsum(np.fromiter((len(b.parts) for b in messages), np.int64, n), out=part_off[1:])
        # Dictionaries in order of first use (checkpoint "": none, -1). Plain dicts, not
        # Interner: setdefault in a generator costs half of a method call per name.
        lines: dict[str, int] = {}
        cps: dict[str, int] = {}
        groups: dict[str, int] = {}
        numbers: dict[str, int] = {}
        suppliers: dict[str, int] = {}

        def codes(index: dict[str, int], names: Iterable[str], size: int) -> I64:
            return np.fromiter((index.setdefault(s, len(index)) for s in names), np.int64, size)

        line = codes(lines, (b.line_id for b in messages), n)
        checkpoint = np.fromiter(
            (cps.setdefault(b.checkpoint, len(cps)) if b.checkpoint else -1 for b in messages), np.int64, n
        )
        part_group = codes(groups, (p.group for p in parts), m)
        part_number = codes(numbers, (p.part_number for p in parts), m)
        part_supplier = codes(suppliers, (p.supplier_id for p in parts), m)
        return cls(  # the dictionaries are complete only now
            line_ids=list(lines),
            line=line,
            call_no=call_no,
            action=action,
            vehicle_id=[b.vehicle_id for b in messages],
            seq_no=np.fromiter((0 if s is None else s for s in seq), np.int64, n),
            has_seq=has_seq,
            checkpoints=list(cps),
            checkpoint=checkpoint,
            event_time=event,
            need_time=need,
            part_off=part_off,
            groups=list(groups),
            part_numbers=list(numbers),
            supplier_ids=list(suppliers),
            part_group=part_group,
            part_number=part_number,
            part_supplier=part_supplier,
            quantity=quantity,
        )

    def message(self, i: int) -> Broadcast:
        """Message ``i`` as a :class:`Broadcast` (for the engine's per-message path)."""
        lo, hi = int(self.part_off[i]), int(self.part_off[i + 1])
        grp, num, sup = self.part_group, self.part_number, self.part_supplier
        event, need, cp = int(self.event_time[i]), int(self.need_time[i]), int(self.checkpoint[i])
        return Broadcast(
            line_id=self.line_ids[self.line[i]],
            call_no=int(self.call_no[i]),
            action=int(self.action[i]),
            vehicle_id=self.vehicle_id[i],
            seq_no=int(self.seq_no[i]) if self.has_seq[i] else None,
            checkpoint="" if cp < 0 else self.checkpoints[cp],
            event_time=None if event == NO_TIME else event,
            need_time=None if need == NO_TIME else need,
            parts=tuple(
                PartDemand(
                    self.groups[grp[j]],
                    self.part_numbers[num[j]],
                    self.supplier_ids[sup[j]],
                    int(self.quantity[j]),
                )
                for j in range(lo, hi)
            ),
        )

    def digests(self) -> U64:
        """uint64[n]: each message's content digest (the same as :func:`broadcast_digest`'s)."""
        checkpoint_h = string_hashes([*self.checkpoints, ""])[self.checkpoint]  # -1: the last, ""
        return message_digests(  # type: ignore[no-any-return]
            string_hashes(self.line_ids)[self.line],
            self.call_no,
            self.action,
            string_hashes(self.vehicle_id),
            self.has_seq,
            self.seq_no,
            checkpoint_h,
            self.event_time,
            self.need_time,
            self.part_off,
            string_hashes(self.groups)[self.part_group],
            string_hashes(self.part_numbers)[self.part_number],
            string_hashes(self.supplier_ids)[self.part_supplier],
            self.quantity,
        )

    # -- the log record ------------------------------------------------------------------

    def encode(self) -> bytes:
        """The log record. Each column is stored in the narrowest little-endian integer
        type that holds its values, or as one value when all are equal (header entry
        ``[name, n, dtype]`` or ``[name, n, dtype, value]``): most columns are small
        dictionary indexes, counts or repeated times, and the record is written and
        fsynced on every call (a quarter of the int64 form's bytes on a typical feed)."""
        layout: list[list[object]] = []
        body: list[bytes] = []
        for k, _ in _ARRAYS:
            arr: npt.NDArray = getattr(self, k)  # type: ignore[type-arg]
            lo, hi = (arr.min().item(), arr.max().item()) if len(arr) else (0, 0)
            dtype = _narrowest(arr.dtype, lo, hi)
            if len(arr) > 1 and lo == hi:
                layout.append([k, len(arr), dtype.str, lo])
                continue
            layout.append([k, len(arr), dtype.str])
            body.append(arr.astype(dtype, copy=False).tobytes())
        header = {"strings": {k: getattr(self, k) for k in _STRINGS}, "arrays": layout}
        head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        return b"".join([len(head).to_bytes(4, "little"), head, *body])

    @classmethod
    def decode(cls, data: bytes) -> PackedBroadcasts:
        """A record of :meth:`encode`, or of its first form (every column in full, as
        little-endian int64 / uint64 / bool: header entries ``[name, n]``)."""
        size = int.from_bytes(data[:4], "little")
        header = json.loads(data[4 : 4 + size])
        pos = 4 + size
        arrays: dict[str, npt.NDArray] = {}  # type: ignore[type-arg]
        for (name, dt), (stored, n, *how) in zip(_ARRAYS, header["arrays"], strict=True):
            if stored != name:
                raise ValueError(f"packed record: column {stored!r} where {name!r} was expected")
            dtype = np.dtype(how[0]) if how else np.dtype(dt).newbyteorder("<")
            if dtype.kind not in "biu" or dtype.byteorder == ">":
                raise ValueError(f"packed record: column {name!r} stored as {dtype.str!r}")
            if len(how) > 1:
                arrays[name] = np.full(n, how[1], dt)
                continue
            arrays[name] = np.frombuffer(data, dtype, n, pos).astype(dt)
            pos += n * dtype.itemsize
        return cls(**header["strings"], **arrays)  # type: ignore[arg-type]


_NARROW = [
    (dtype, int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    for dtype in (np.dtype(t).newbyteorder("<") for t in ("u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"))
]


def _narrowest(own: np.dtype, lo: int, hi: int) -> np.dtype:
    """The smallest little-endian integer dtype that holds the values [lo, hi] of a column
    of dtype ``own`` (``own``, little-endian, for bool)."""
    if own != np.bool_:
        for dtype, least, most in _NARROW:
            if least <= lo and hi <= most:
                return dtype
    return own.newbyteorder("<")


def broadcast_digest(b: Broadcast) -> int:
    """The content digest of one message, equal to its digest packed as columns."""
    parts = b.parts
    has_seq = b.seq_no is not None and b.action not in _LEAVES
    strings = [b.line_id, b.vehicle_id, b.checkpoint]
    strings += [p.group for p in parts]
    strings += [p.part_number for p in parts]
    strings += [p.supplier_id for p in parts]
    # Plain Python up to one array per argument: numpy's per-call overhead (a ufunc with
    # out=, fromiter) cost more than the whole digest for a message of a few parts.
    offsets = np.array((0, *accumulate(map(len, strings))), np.int64)
    ints = np.array(
        [
            b.call_no,
            b.action,
            has_seq,
            b.seq_no if has_seq else 0,
            NO_TIME if b.event_time is None else b.event_time,
            NO_TIME if b.need_time is None else b.need_time,
            *(p.quantity for p in parts),
        ],
        np.int64,
    )
    cp = np.frombuffer("".join(strings).encode("utf-32-le", "surrogatepass"), np.uint32)
    return int(one_digest(ints, cp, offsets))
