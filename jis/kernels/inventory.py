"""Inventory of a scope: slots per stage, and coverage.

Coverage is how much of the line's production the supply covers in the right order, from
the next vehicle on: walking S from its front (line side first), the vehicles of E, from
the first, that each get a slot with the right variant, in E's order. Slots a line-side
worker sets aside without stopping the line are skipped: a slot of a vehicle not in E (an
orphan: pulled, cancelled, never broadcast) and a further slot of a vehicle already
covered (a duplicate). The run ends at the first slot that would stop the line: a wrong
variant for the next vehicle, or a slot of a later vehicle ahead of the next one's.
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
    k = 0
    at_plant = 0
    for j in range(s_e.shape[0]):
        e = s_e[j]
        if e < 0 or e < k:
            continue  # set aside: an orphan, or one more slot of a vehicle covered already
        if e != k or (flags[j] & WRONG_VARIANT) != 0:
            break  # a later vehicle's slot first, or the wrong part for the next one: a stop
        k += 1
        if s_rank[j] <= RANK_AT_DOCK:
            at_plant += 1
    return k, at_plant


def coverage(
    s_e: npt.NDArray[np.int32], flags: npt.NDArray[np.uint8], s_rank: npt.NDArray[np.int8]
) -> tuple[int, int]:
    """Vehicles covered in sequence (module docstring): (by all of S, by the slots at line
    side or the dock).

    s_e: int32[m] position in E of each S slot's vehicle (-1: none); flags: uint8[m]
    match flags; s_rank: int8[m] RANK_* of each slot (non-decreasing, as S is ordered).
    """
    k, at_plant = _coverage(s_e, flags, s_rank)
    return int(k), int(at_plant)
