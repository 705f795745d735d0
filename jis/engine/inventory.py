"""Inventory per (line, supplier, group): slots per stage and coverage."""

from __future__ import annotations

import numpy as np

from jis.engine.evaluate import Evaluator
from jis.engine.model import RackStage, ScopeInventory
from jis.engine.supply import Scope
from jis.kernels import inventory as kernels
from jis.kernels import matching

_RANK_OF_STAGE = np.full(8, kernels.RANK_BUILT, np.int8)
_RANK_OF_STAGE[RackStage.LINE_SIDE] = kernels.RANK_LINE_SIDE
_RANK_OF_STAGE[RackStage.AT_DOCK] = kernels.RANK_AT_DOCK
_RANK_OF_STAGE[RackStage.IN_TRANSIT] = kernels.RANK_IN_TRANSIT


def scopes_of_line(ev: Evaluator, line: int, supplier: int = -1, group: int = -1) -> list[Scope]:
    """The line's scopes (those with demand or slots), optionally one supplier's or group's."""
    keys = set(ev.seq.scope_demand) | set(ev.supply.scope_slots)
    return sorted(k for k in keys if k[0] == line and supplier in (-1, k[1]) and group in (-1, k[2]))


def scope_inventory(ev: Evaluator, scope: Scope, takt_ns: int) -> ScopeInventory:
    seq, sup = ev.seq, ev.supply
    m = ev.match(scope)
    rack = sup.slots.col("rack")[m.s_rows]
    stage = sup.racks.col("stage")[np.maximum(rack, 0)] if len(sup.racks) else np.zeros(len(rack), np.int8)
    rank = np.where(rack < 0, kernels.RANK_BUILT, _RANK_OF_STAGE[stage]).astype(np.int8)
    per_rank = np.bincount(rank, minlength=4)
    covered, at_plant = kernels.coverage(m.s_e, m.flags, rank)
    return ScopeInventory(
        line_id=seq.line_ids.name(scope[0]),
        supplier_id=seq.supplier_ids.name(scope[1]),
        group=seq.group_ids.name(scope[2]),
        expected=len(m.e_vehicle),
        planned=int(np.count_nonzero((m.e_flags & matching.SLOTTED) == 0)),
        built=int(per_rank[kernels.RANK_BUILT]),
        in_transit=int(per_rank[kernels.RANK_IN_TRANSIT]),
        at_dock=int(per_rank[kernels.RANK_AT_DOCK]),
        line_side=int(per_rank[kernels.RANK_LINE_SIDE]),
        consumed=sup.consumed.get(scope, 0),
        covered=covered,
        covered_at_plant=at_plant,
        coverage_ns=covered * takt_ns,
        plant_coverage_ns=at_plant * takt_ns,
    )
