"""Inventory per (line, supplier, group): slots per stage and coverage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from jis.engine.model import RackStage, ScopeInventory
from jis.engine.supply import Scope
from jis.kernels import inventory as kernels

if TYPE_CHECKING:  # the evaluator keeps each scope's gauges from its evaluation
    from jis.engine.evaluate import Evaluator, ScopeMatch

Gauges = tuple[tuple[str, str, str], tuple[int, float, float]]
"""A scope's coverage gauges: ((line, supplier, group), (vehicles expected, coverage s,
plant coverage s))."""

_RANK_OF_STAGE = np.full(8, kernels.RANK_BUILT, np.int8)
_RANK_OF_STAGE[RackStage.LINE_SIDE] = kernels.RANK_LINE_SIDE
_RANK_OF_STAGE[RackStage.AT_DOCK] = kernels.RANK_AT_DOCK
_RANK_OF_STAGE[RackStage.IN_TRANSIT] = kernels.RANK_IN_TRANSIT
_NO_RACKS = np.zeros(0, np.int8)


def scopes_of_line(ev: Evaluator, line: int, supplier: int = -1, group: int = -1) -> list[Scope]:
    """The line's scopes (those with demand or slots), optionally one supplier's or group's."""
    keys = set(ev.seq.scope_demand) | set(ev.supply.scope_slots)
    return sorted(k for k in keys if k[0] == line and supplier in (-1, k[1]) and group in (-1, k[2]))


def scope_inventory(ev: Evaluator, scope: Scope, takt_ns: int) -> ScopeInventory:
    return inventory_of_match(ev, scope, ev.match(scope), takt_ns)


def _counts(ev: Evaluator, m: ScopeMatch) -> tuple[npt.NDArray[np.int64], int, int, int]:
    sup = ev.supply
    stage = sup.racks.col("stage") if len(sup.racks) else _NO_RACKS
    return kernels.scope_counts(
        m.s_rows, sup.slots.col("rack"), stage, _RANK_OF_STAGE, m.s_e, m.flags, m.e_flags
    )


def gauges_of_match(ev: Evaluator, scope: Scope, m: ScopeMatch, takt_ns: int) -> Gauges:
    """The scope's coverage gauges (what a metrics scrape shows of its inventory) from its
    match ``m`` (of the state now): ((line, supplier, group), (vehicles expected, coverage
    s, plant coverage s))."""
    seq = ev.seq
    _, _, covered, at_plant = _counts(ev, m)
    return (
        (seq.line_ids.name(scope[0]), seq.supplier_ids.name(scope[1]), seq.group_ids.name(scope[2])),
        (len(m.e_vehicle), covered * takt_ns / 1e9, at_plant * takt_ns / 1e9),
    )


def inventory_of_match(ev: Evaluator, scope: Scope, m: ScopeMatch, takt_ns: int) -> ScopeInventory:
    """The scope's inventory from its match ``m`` (of the state now)."""
    seq, sup = ev.seq, ev.supply
    per_rank, planned, covered, at_plant = _counts(ev, m)
    return ScopeInventory(
        line_id=seq.line_ids.name(scope[0]),
        supplier_id=seq.supplier_ids.name(scope[1]),
        group=seq.group_ids.name(scope[2]),
        expected=len(m.e_vehicle),
        planned=planned,
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
