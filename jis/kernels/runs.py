"""Build-sequence feed events of a run of plain messages (see :mod:`jis.engine.bulk`).

One pass over the run's messages writes every per-event column that the feed takes
from the message and its demand rows, each message's parts ordered by (supplier,
group) as the per-message path orders them. What needs the engine's dictionaries
(the scope code of each event) is left to the caller, which gets the scope key of
every event for that.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
B = npt.NDArray[np.bool_]

_COLUMNS = ("kind", "part", "quantity", "prev_part", "message")
_INSERTION = 16
"""Messages with at most this many parts are ordered by insertion sort, longer ones by
a merge sort (both stable)."""


@njit(cache=True, nogil=True)
def _run_rows(rows, dem_off, dem_len, d_sup, d_grp, d_part, d_qty, kind, add, first_message):  # type: ignore[no-untyped-def]
    k = rows.shape[0]
    n = 0
    n_grp = 0
    for i in range(k):
        r = rows[i]
        n += dem_len[r]
        for j in range(dem_off[r], dem_off[r] + dem_len[r]):
            if d_grp[j] + 1 > n_grp:
                n_grp = d_grp[j] + 1
    drow = np.empty(n, np.int64)
    key = np.empty(n, np.int64)
    o_kind = np.empty(n, np.int8)
    o_part = np.empty(n, np.int32)
    o_qty = np.empty(n, np.int32)
    o_prev_part = np.empty(n, np.int32)
    o_message = np.empty(n, np.int64)
    pos = 0
    message = first_message
    for i in range(k):
        r = rows[i]
        off = dem_off[r]
        m = dem_len[r]
        if m == 0:
            continue
        if m <= _INSERTION:
            for j in range(m):
                d = off + j
                kk = np.int64(d_sup[d]) * n_grp + d_grp[d]
                t = pos + j
                while t > pos and key[t - 1] > kk:
                    key[t] = key[t - 1]
                    drow[t] = drow[t - 1]
                    t -= 1
                key[t] = kk
                drow[t] = d
        else:
            keys = np.empty(m, np.int64)
            for j in range(m):
                keys[j] = np.int64(d_sup[off + j]) * n_grp + d_grp[off + j]
            order = np.argsort(keys, kind="mergesort")
            for j in range(m):
                key[pos + j] = keys[order[j]]
                drow[pos + j] = off + order[j]
        for j in range(pos, pos + m):
            d = drow[j]
            o_kind[j] = kind[i]
            o_part[j] = d_part[d]
            o_qty[j] = d_qty[d]
            o_prev_part[j] = -1 if add[i] else d_part[d]
            o_message[j] = message
        pos += m
        message += 1
    return n_grp, key, o_kind, o_part, o_qty, o_prev_part, o_message


def run_rows(
    rows: I64,
    dem_off: I64,
    dem_len: I32,
    d_sup: I32,
    d_grp: I32,
    d_part: I32,
    d_qty: I32,
    kind: I8,
    add: B,
    first_message: int,
) -> tuple[int, I64, dict[str, npt.NDArray[np.generic]]]:
    """The feed events of a run's messages, in message order and, within a message, by
    (supplier, group) code.

    rows: int64[k] each message's vehicle row; dem_off/dem_len: the vehicles' current
    part lists (demand rows); d_*: demand columns; kind int8[k] and add bool[k] (an
    event's prev_part is -1 for an ADD, else its part): per message. The messages that
    make events (a non-empty part list) are numbered from ``first_message`` on.
    Returns the number of group codes the keys use (n_grp), each event's scope key
    (supplier * n_grp + group) and its columns kind, part, quantity, prev_part and
    message.
    """
    n_grp, key, *cols = _run_rows(
        rows, dem_off, dem_len, d_sup, d_grp, d_part, d_qty, kind, add, first_message
    )
    return int(n_grp), key, dict(zip(_COLUMNS, cols, strict=True))
