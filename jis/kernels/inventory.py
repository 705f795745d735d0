"""Inventory of a scope: slots per stage, and coverage.

Coverage is how much production the supply chain covers in the right order: the
longest run of E, from its first vehicle on, whose slots come first in S in exactly
that order with the right variant (S starts at line side, so the run is the parts a
line can consume one after another without a stop).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from jis.kernels.matching import WRONG_VARIANT

RANK_LINE_SIDE, RANK_AT_DOCK, RANK_IN_TRANSIT, RANK_BUILT = 0, 1, 2, 3
"""Where a slot of S is, in S order."""


@njit(cache=True, nogil=True)
def _coverage(s_e, flags, s_rank):  # type: ignore[no-untyped-def]
    n = s_e.shape[0]
    k = 0
    while k < n and s_e[k] == k and (flags[k] & WRONG_VARIANT) == 0:
        k += 1
    at_plant = 0
    while at_plant < k and s_rank[at_plant] <= RANK_AT_DOCK:
        at_plant += 1
    return k, at_plant


def coverage(
    s_e: npt.NDArray[np.int32], flags: npt.NDArray[np.uint8], s_rank: npt.NDArray[np.int8]
) -> tuple[int, int]:
    """Vehicles covered in sequence: (by all of S, by slots at line side or the dock).

    s_e: int32[m] position in E of each S slot's vehicle (-1: none); flags: uint8[m]
    match flags; s_rank: int8[m] RANK_* of each slot (non-decreasing, as S is ordered).
    """
    k, at_plant = _coverage(s_e, flags, s_rank)
    return int(k), int(at_plant)
