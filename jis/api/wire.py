"""PublishBatch at column speed: a nested batch's wire bytes into PackedBroadcasts.

:func:`batch_columns` gives the same columns the object path (``convert.broadcast_in``
per message, then ``PackedBroadcasts.of``) gives, or None whenever that path must decide:
the kernels met something they do not handle, a time or seq_no the object path refuses
or keeps out of columns, or a batch too small to be packed at all. A property test holds
both paths to the same messages on random batches, unknown fields and odd encodings
included (tests/test_wire.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from jis.api.convert import MAX_SECONDS
from jis.engine import bulk
from jis.engine.limits import TIME_MAX_NS, TIME_MIN_NS
from jis.engine.model import NO_TIME, Action
from jis.engine.packed import PackedBroadcasts
from jis.kernels import wire

I64 = npt.NDArray[np.int64]
NS = 10**9
MIN_SECONDS = -62_135_596_800
_LEAVES = np.array([Action.PULL, Action.CANCEL, Action.INSTALLED], np.int64)


def batch_columns(raw: bytes) -> PackedBroadcasts | None:
    """The messages of a serialized PublishBatchRequest as columns, or None (see above)."""
    buf = np.frombuffer(raw, np.uint8)
    status, msg, parts = wire.decode_batch(buf)
    n = len(msg)
    if status != 0 or n < bulk.MIN_RUN:
        return None
    event = _times(msg[:, 10], msg[:, 11], msg[:, 12])
    need = _times(msg[:, 13], msg[:, 14], msg[:, 16])
    if event is None or need is None:
        return None
    seq_no, has_seq = msg[:, 6], msg[:, 7].astype(np.bool_)
    if np.any(has_seq & (seq_no == np.iinfo(np.int64).min)):  # outside the symmetric range
        return None
    action = msg[:, 3]
    has_seq &= ~np.isin(action, _LEAVES)
    line = _codes(raw, buf, msg[:, 0], msg[:, 1])
    checkpoint = _codes(raw, buf, msg[:, 8], msg[:, 9], none_if_empty=True)
    group = _codes(raw, buf, parts[:, 0], parts[:, 1])
    number = _codes(raw, buf, parts[:, 2], parts[:, 3])
    supplier = _codes(raw, buf, parts[:, 4], parts[:, 5])
    if line is None or checkpoint is None or group is None or number is None or supplier is None:
        return None
    part_off = np.empty(n + 1, np.int64)
    part_off[:n] = msg[:, 15]
    part_off[n] = len(parts)
    return PackedBroadcasts(
        line_ids=line[0],
        line=line[1],
        call_no=msg[:, 2].view(np.uint64).copy(),
        action=action.copy(),
        vehicle_id=[
            raw[o : o + k].decode() for o, k in zip(msg[:, 4].tolist(), msg[:, 5].tolist(), strict=True)
        ],
        seq_no=np.where(has_seq, seq_no, 0),
        has_seq=has_seq,
        checkpoints=checkpoint[0],
        checkpoint=checkpoint[1],
        event_time=event,
        need_time=need,
        part_off=part_off,
        groups=group[0],
        part_numbers=number[0],
        supplier_ids=supplier[0],
        part_group=group[1],
        part_number=number[1],
        part_supplier=supplier[1],
        quantity=parts[:, 6].copy(),
    )


def _times(has: I64, seconds: I64, nanos: I64) -> I64 | None:
    """Nanoseconds (NO_TIME where absent), or None if one is a time the object path refuses
    per message (an invalid Timestamp, or one outside the accepted range) or NO_TIME itself."""
    present = has != 0
    lo, hi = max(MIN_SECONDS, TIME_MIN_NS // NS - 1), min(MAX_SECONDS, TIME_MAX_NS // NS + 1)
    ok = (seconds >= lo) & (seconds <= hi) & (nanos >= 0) & (nanos < NS)
    if np.any(present & ~ok):
        return None
    ns = np.where(present, np.where(ok, seconds, 0) * NS + nanos, NO_TIME)
    if np.any(present & ((ns < TIME_MIN_NS) | (ns > TIME_MAX_NS) | (ns == NO_TIME))):
        return None
    return ns


def _codes(
    raw: bytes, buf: npt.NDArray[np.uint8], offsets: I64, lengths: I64, none_if_empty: bool = False
) -> tuple[list[str], I64] | None:
    """The strings' dictionary in order of first use, and each slice's index into it (-1
    for an empty one with ``none_if_empty``); None on a hash collision."""
    if not len(offsets):
        return [], np.zeros(0, np.int64)
    hashes = wire.slice_hashes(buf, offsets, lengths)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    if not wire.slices_equal(buf, offsets, lengths, first[inverse]):
        return None
    order = np.argsort(first, kind="stable")  # first use first
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[inverse.reshape(-1)]
    names = [
        raw[o : o + k].decode()
        for o, k in zip(offsets[first[order]].tolist(), lengths[first[order]].tolist(), strict=True)
    ]
    if none_if_empty:
        empty = lengths == 0
        if np.any(empty):
            gone = int(rank[inverse.reshape(-1)[np.flatnonzero(empty)[0]]])
            names.pop(gone)
            codes = np.where(codes > gone, codes - 1, codes)
            codes[empty] = -1
    return names, codes.astype(np.int64)
