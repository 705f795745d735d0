"""Selecting and ordering a line's active vehicles."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

ACTIVE = 1  # VehicleState.ACTIVE; kernels do not import the engine


@njit(cache=True, nogil=True)
def _sequence_window(
    line: npt.NDArray[np.int32],
    state: npt.NDArray[np.int8],
    seq_no: npt.NDArray[np.int64],
    line_code: int,
    lo: int,
    hi: int,
    limit: int,
) -> npt.NDArray[np.int64]:
    n = line.shape[0]
    rows = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        if line[i] == line_code and state[i] == ACTIVE and lo <= seq_no[i] <= hi:
            rows[k] = i
            k += 1
    rows = rows[:k]
    keys = np.empty(k, np.int64)
    for j in range(k):
        keys[j] = seq_no[rows[j]]
    order = np.argsort(keys, kind="mergesort")
    m = min(k, limit)
    out = np.empty(m, np.int64)
    for j in range(m):
        out[j] = rows[order[j]]
    return out


def sequence_window(
    line: npt.NDArray[np.int32],
    state: npt.NDArray[np.int8],
    seq_no: npt.NDArray[np.int64],
    line_code: int,
    lo: int,
    hi: int,
    limit: int,
) -> npt.NDArray[np.int64]:
    """Rows of the active vehicles of ``line_code`` with ``lo <= seq_no <= hi``, by seq_no.

    line: int32[n] line code per vehicle row; state: int8[n] VehicleState;
    seq_no: int64[n]. Returns int64[<= limit] row indices ordered by seq_no.
    """
    if not (line.shape == state.shape == seq_no.shape):
        raise ValueError("columns of different lengths")
    if limit < 0:
        raise ValueError("limit must be >= 0")
    return _sequence_window(
        np.ascontiguousarray(line, np.int32),
        np.ascontiguousarray(state, np.int8),
        np.ascontiguousarray(seq_no, np.int64),
        line_code,
        lo,
        hi,
        limit,
    )
