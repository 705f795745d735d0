"""A ``PublishBatchRequest``'s protobuf wire bytes decoded straight into columns.

Converting 1,000 nested ``Broadcast`` messages object by object costs about 16 ms of
Python; these kernels walk the same bytes once (varints, length-delimited fields, the
known field numbers of jis/v1/broadcast.proto and common.proto) and leave, per message
and per part, numbers and the (offset, length) of each string in the buffer.

Anything they do not handle (a known field with another wire type, a group, a truncated
field) makes them answer "not handled" (status 1) and the caller takes the object path,
so the columns are only ever made from bytes the kernels understood. Unknown fields are
skipped, as protobuf does. A singular field sent twice takes its last value, and a
Timestamp sent twice merges field by field, as protobuf parsing does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

U8 = npt.NDArray[np.uint8]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _varint(buf, pos, end):  # type: ignore[no-untyped-def]
    """(value, next position); next position -1 when truncated or longer than 10 bytes."""
    out = np.uint64(0)
    shift = 0
    while pos < end and shift < 70:
        b = buf[pos]
        pos += 1
        out |= np.uint64(b & 0x7F) << np.uint64(shift)
        if b < 0x80:
            return out, pos
        shift += 7
    return out, -1


@njit(cache=True, nogil=True, inline="always")
def _skip(buf, pos, end, wire):  # type: ignore[no-untyped-def]
    """The position after a field of wire type ``wire`` starting at ``pos``; -1 if not handled."""
    if wire == 0:
        _, pos = _varint(buf, pos, end)
        return pos
    if wire == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wire == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wire == 2:
        n, pos = _varint(buf, pos, end)
        if pos < 0 or n > np.uint64(end - pos):
            return -1
        return pos + np.int64(n)
    return -1  # groups (3, 4) and reserved wire types


@njit(cache=True, nogil=True, inline="always")
def _int32(v):  # type: ignore[no-untyped-def]
    """An int32 field's value (its low 32 bits, signed), as protobuf reads it."""
    low = np.int64(v & np.uint64(0xFFFFFFFF))
    return low - (np.int64(1) << 32) if low >= (np.int64(1) << 31) else low


@njit(cache=True, nogil=True)
def _timestamp(buf, pos, end, out, k):  # type: ignore[no-untyped-def]
    """Merge a Timestamp's seconds and nanos into out[k, 0:2]; False if not handled."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return False
        field, wire = np.int64(key >> np.uint64(3)), np.int64(key & np.uint64(7))
        if (field == 1 or field == 2) and wire == 0:
            v, pos = _varint(buf, pos, end)
            if pos < 0:
                return False
            out[k, field - 1] = np.int64(v) if field == 1 else _int32(v)
        elif field == 1 or field == 2:
            return False
        else:
            pos = _skip(buf, pos, end, wire)
            if pos < 0:
                return False
    return pos == end


@njit(cache=True, nogil=True)
def _string(buf, pos, end, strings, k):  # type: ignore[no-untyped-def]
    """strings[k] = (offset, length) of the length-delimited field at ``pos``; the next
    position, or -1."""
    n, pos = _varint(buf, pos, end)
    if pos < 0 or n > np.uint64(end - pos):
        return -1
    strings[k, 0] = pos
    strings[k, 1] = np.int64(n)
    return pos + np.int64(n)


@njit(cache=True, nogil=True)
def decode_batch(buf):  # type: ignore[no-untyped-def]
    """Decode a PublishBatchRequest. Returns (status, per-message int64[n, 17], per-part
    int64[m, 7]); status 0: decoded, 1: not handled (take the object path).

    Message columns: 0-1 line (offset, length in ``buf``), 2 call_no (its uint64 bits),
    3 action, 4-5 vehicle, 6 seq_no, 7 has a seq_no, 8-9 checkpoint, 10 has an
    event_time, 11-12 its seconds and nanos, 13 has a need_time, 14 its seconds, 15 the
    message's first part row, 16 the need_time's nanos. Part columns: 0-1 group, 2-3 part
    number, 4-5 supplier (offset, length), 6 quantity.
    """
    end = buf.shape[0]
    # pass 1: how many messages and parts
    n = 0
    m = 0
    pos = 0
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
        field, wire = key >> np.uint64(3), key & np.uint64(7)
        if field == 1 and wire == 2:
            size, pos = _varint(buf, pos, end)
            if pos < 0 or size > np.uint64(end - pos):
                return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
            stop = pos + np.int64(size)
            n += 1
            while pos < stop:
                k2, pos = _varint(buf, pos, stop)
                if pos < 0:
                    return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
                if k2 >> np.uint64(3) == 9 and k2 & np.uint64(7) == 2:
                    m += 1
                pos = _skip(buf, pos, stop, np.int64(k2 & np.uint64(7)))
                if pos < 0:
                    return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
        elif field == 1:
            return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
        else:
            pos = _skip(buf, pos, end, np.int64(wire))
            if pos < 0:
                return 1, np.zeros((0, 17), np.int64), np.zeros((0, 7), np.int64)
    # pass 2: the columns
    msg = np.zeros((n, 17), np.int64)
    parts = np.zeros((m, 7), np.int64)
    times = np.zeros((2, 2), np.int64)
    strings = np.zeros((1, 2), np.int64)
    i = -1
    j = 0
    pos = 0
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if key >> np.uint64(3) != 1:
            pos = _skip(buf, pos, end, np.int64(key & np.uint64(7)))
            continue
        size, pos = _varint(buf, pos, end)
        stop = pos + np.int64(size)
        i += 1
        msg[i, 15] = j  # first part
        times[:, :] = 0
        while pos < stop:
            k2, pos = _varint(buf, pos, stop)
            field, wire = np.int64(k2 >> np.uint64(3)), np.int64(k2 & np.uint64(7))
            if field in (1, 4, 6, 7, 8, 9) and wire != 2:
                return 1, msg[:0], parts[:0]
            if field in (2, 3, 5) and wire != 0:
                return 1, msg[:0], parts[:0]
            if field == 1 or field == 4 or field == 6:
                pos = _string(buf, pos, stop, strings, 0)
                col = 0 if field == 1 else (4 if field == 4 else 8)
                msg[i, col] = strings[0, 0]
                msg[i, col + 1] = strings[0, 1]
            elif field == 2 or field == 3 or field == 5:
                v, pos = _varint(buf, pos, stop)
                if field == 2:
                    msg[i, 2] = np.int64(v)
                elif field == 3:
                    msg[i, 3] = _int32(v)
                else:
                    msg[i, 6] = np.int64(v)
                    msg[i, 7] = 1
            elif field == 7 or field == 8:
                size2, pos = _varint(buf, pos, stop)
                if pos < 0 or size2 > np.uint64(stop - pos):
                    return 1, msg[:0], parts[:0]
                sub = pos + np.int64(size2)
                if not _timestamp(buf, pos, sub, times, field - 7):
                    return 1, msg[:0], parts[:0]
                msg[i, 10 if field == 7 else 13] = 1
                pos = sub
            elif field == 9:
                size2, pos = _varint(buf, pos, stop)
                if pos < 0 or size2 > np.uint64(stop - pos):
                    return 1, msg[:0], parts[:0]
                sub = pos + np.int64(size2)
                while pos < sub:
                    k3, pos = _varint(buf, pos, sub)
                    if pos < 0:
                        return 1, msg[:0], parts[:0]
                    f3, w3 = np.int64(k3 >> np.uint64(3)), np.int64(k3 & np.uint64(7))
                    if 1 <= f3 <= 3:
                        if w3 != 2:
                            return 1, msg[:0], parts[:0]
                        pos = _string(buf, pos, sub, strings, 0)
                        parts[j, 2 * (f3 - 1)] = strings[0, 0]
                        parts[j, 2 * (f3 - 1) + 1] = strings[0, 1]
                    elif f3 == 4:
                        if w3 != 0:
                            return 1, msg[:0], parts[:0]
                        v, pos = _varint(buf, pos, sub)
                        parts[j, 6] = _int32(v)
                    else:
                        pos = _skip(buf, pos, sub, w3)
                    if pos < 0:
                        return 1, msg[:0], parts[:0]
                if pos != sub:
                    return 1, msg[:0], parts[:0]
                j += 1
            else:
                pos = _skip(buf, pos, stop, wire)
            if pos < 0:
                return 1, msg[:0], parts[:0]
        if pos != stop:
            return 1, msg[:0], parts[:0]
        msg[i, 11] = times[0, 0]
        msg[i, 12] = times[0, 1]
        msg[i, 14] = times[1, 0]
        msg[i, 16] = times[1, 1]
    return 0, msg, parts


@njit(cache=True, nogil=True)
def slice_hashes(buf, offsets, lengths):  # type: ignore[no-untyped-def]
    """uint64 FNV-1a of each byte slice, mixed with its length."""
    out = np.empty(offsets.shape[0], np.uint64)
    for k in range(offsets.shape[0]):
        h = _FNV_OFFSET
        for p in range(offsets[k], offsets[k] + lengths[k]):
            h = (h ^ np.uint64(buf[p])) * _FNV_PRIME
        out[k] = h ^ np.uint64(lengths[k])
    return out


@njit(cache=True, nogil=True)
def slices_equal(buf, offsets, lengths, rep):  # type: ignore[no-untyped-def]
    """True if every slice equals the slice ``rep[k]`` stands for (no hash collision)."""
    for k in range(offsets.shape[0]):
        r = rep[k]
        if lengths[k] != lengths[r]:
            return False
        a, b = offsets[k], offsets[r]
        for p in range(lengths[k]):
            if buf[a + p] != buf[b + p]:
                return False
    return True
