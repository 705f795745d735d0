"""Content digests of broadcast messages, whichever transport carried them.

A line's ledger keeps a 64-bit digest per applied call_no, so a re-sent message can
be told apart from a conflicting one. The digest is defined on the
message's content, not on any encoding of it: a message published alone, in a batch
or packed as columns digests the same. Strings are hashed by their code points
(FNV-1a, 64 bit); a message's fields are then mixed in a fixed order with a
splitmix64 finaliser. Not cryptographic: the publisher is an authenticated MES, and
this only distinguishes an honest re-send from an honest correction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numba import njit

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True)
def _fnv(codepoints, offsets):  # type: ignore[no-untyped-def]
    n = offsets.shape[0] - 1
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = _FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(codepoints[j])) * _FNV_PRIME
        out[i] = h ^ np.uint64(offsets[i + 1] - offsets[i])
    return out


def string_hashes(strings: Sequence[str]) -> U64:
    """uint64[len(strings)]: the hash of each string's code points."""
    n = len(strings)
    offsets = np.zeros(n + 1, np.int64)
    if n:
        np.cumsum(np.fromiter(map(len, strings), np.int64, count=n), out=offsets[1:])
    cp = np.frombuffer("".join(strings).encode("utf-32-le", "surrogatepass"), np.uint32)
    return _fnv(cp, offsets)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, inline="always")
def _mix(h, x):  # type: ignore[no-untyped-def]
    h = (h ^ x) * np.uint64(0x9E3779B97F4A7C15)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True, inline="always")
def _finish(z):  # type: ignore[no-untyped-def]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def message_digests(  # type: ignore[no-untyped-def]
    line, call_no, action, vehicle, has_seq, seq_no, checkpoint, event_time, need_time,
    part_off, group, part_number, supplier, quantity,
):  # fmt: skip
    """uint64[n]: one digest per message. Strings are given as their hashes; times as
    int64 with a sentinel for absent; message i's parts are [part_off[i], part_off[i+1])."""
    n = call_no.shape[0]
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = np.uint64(0x6A09E667F3BCC908)
        h = _mix(h, line[i])
        h = _mix(h, np.uint64(call_no[i]))
        h = _mix(h, np.uint64(action[i]))
        h = _mix(h, vehicle[i])
        h = _mix(h, np.uint64(1) if has_seq[i] else np.uint64(0))
        h = _mix(h, np.uint64(seq_no[i]) if has_seq[i] else np.uint64(0))
        h = _mix(h, checkpoint[i])
        h = _mix(h, np.uint64(event_time[i]))
        h = _mix(h, np.uint64(need_time[i]))
        h = _mix(h, np.uint64(part_off[i + 1] - part_off[i]))
        for j in range(part_off[i], part_off[i + 1]):
            h = _mix(h, group[j])
            h = _mix(h, part_number[j])
            h = _mix(h, supplier[j])
            h = _mix(h, np.uint64(quantity[j]))
        out[i] = _finish(h)
    return out


@njit(cache=True, nogil=True)
def one_digest(ints, codepoints, offsets):  # type: ignore[no-untyped-def]
    """The digest of one message, as :func:`message_digests` computes it, from flat inputs
    (one call, three arrays: cheaper for a single message). ``ints``: call_no, action,
    has_seq, seq_no, event_time, need_time, then each part's quantity; strings, by
    ``offsets`` into ``codepoints``: line, vehicle, checkpoint, then the parts' groups,
    part numbers and suppliers."""
    hashes = _fnv(codepoints, offsets)
    k = ints.shape[0] - 6
    h = np.uint64(0x6A09E667F3BCC908)
    h = _mix(h, hashes[0])
    h = _mix(h, np.uint64(ints[0]))
    h = _mix(h, np.uint64(ints[1]))
    h = _mix(h, hashes[1])
    h = _mix(h, np.uint64(1) if ints[2] else np.uint64(0))
    h = _mix(h, np.uint64(ints[3]) if ints[2] else np.uint64(0))
    h = _mix(h, hashes[2])
    h = _mix(h, np.uint64(ints[4]))
    h = _mix(h, np.uint64(ints[5]))
    h = _mix(h, np.uint64(k))
    for j in range(k):
        h = _mix(h, hashes[3 + j])
        h = _mix(h, hashes[3 + k + j])
        h = _mix(h, hashes[3 + 2 * k + j])
        h = _mix(h, np.uint64(ints[6 + j]))
    return _finish(h)
