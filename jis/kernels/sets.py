"""Differences of two sorted sets in one linear merge."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True, nogil=True)
def _only(a, b):  # type: ignore[no-untyped-def]
    na, nb = a.shape[0], b.shape[0]
    a_only = np.ones(na, np.bool_)
    b_only = np.ones(nb, np.bool_)
    i = j = 0
    while i < na and j < nb:
        if a[i] < b[j]:
            i += 1
        elif b[j] < a[i]:
            j += 1
        else:
            a_only[i] = False
            b_only[j] = False
            i += 1
            j += 1
    return a_only, b_only


def only(
    a: npt.NDArray[np.integer], b: npt.NDArray[np.integer]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(bool[len(a)]: a's values not in b, bool[len(b)]: b's values not in a), for a and b
    sorted ascending without repeats; O(len(a) + len(b))."""
    return _only(a, b)  # type: ignore[no-any-return]
