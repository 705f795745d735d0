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

from jis.kernels.matching import SLOTTED, WRONG_VARIANT

RANK_LINE_SIDE, RANK_AT_DOCK, RANK_IN_TRANSIT, RANK_BUILT = 0, 1, 2, 3
"""Where a slot of S is, in S order."""


@njit(cache=True, nogil=True)
def _scope_counts(s_rows, slot_rack, rack_stage, rank_of_stage, s_e, flags, e_flags):  # type: ignore[no-untyped-def]
    per_rank = np.zeros(4, np.int64)
    k = 0
    at_plant = 0
    covering = True
    for j in range(s_rows.shape[0]):
        rk = slot_rack[s_rows[j]]
        rank = RANK_BUILT if rk < 0 else rank_of_stage[rack_stage[rk]]
        per_rank[rank] += 1
        if not covering:
            continue
        e = s_e[j]  # coverage (module docstring)
        if e < 0 or e < k:
            continue
        if e != k or (flags[j] & WRONG_VARIANT) != 0:
            covering = False
            continue
        k += 1
        if rank <= RANK_AT_DOCK:
            at_plant += 1
    planned = 0
    for i in range(e_flags.shape[0]):
        if (e_flags[i] & SLOTTED) == 0:
            planned += 1
    return per_rank, planned, k, at_plant


def scope_counts(
    s_rows: npt.NDArray[np.int64],
    slot_rack: npt.NDArray[np.int32],
    rack_stage: npt.NDArray[np.int8],
    rank_of_stage: npt.NDArray[np.int8],
    s_e: npt.NDArray[np.int32],
    flags: npt.NDArray[np.uint8],
    e_flags: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.int64], int, int, int]:
    """A scope's whole inventory in one pass over its match: (slots per RANK_*, vehicles of
    E with no slot, vehicles covered in sequence (module docstring), those of them whose
    slots are at line side or the dock).

    s_rows: S's slot rows, in S order; slot_rack: the slots' rack row (-1: none);
    rack_stage: the racks' RackStage; rank_of_stage: RANK_* per RackStage; s_e, flags,
    e_flags: the match of the scope (``matching.match``)."""
    per_rank, planned, k, at_plant = _scope_counts(
        s_rows, slot_rack, rack_stage, rank_of_stage, s_e, flags, e_flags
    )
    return per_rank, int(planned), int(k), int(at_plant)
