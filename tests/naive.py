"""Plain-Python reference implementations of the kernels, written for clarity only."""

from __future__ import annotations

import itertools

NO_NEED = 2**63 - 1


def lis_length(keys: list[int]) -> int:
    """Longest strictly increasing subsequence by O(n^2) dynamic programming."""
    best = [1] * len(keys)
    for i in range(len(keys)):
        for j in range(i):
            if keys[j] < keys[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


def match(e_vehicle, e_part, e_need, s_vehicle, s_part):  # type: ignore[no-untyped-def]
    """Per SPEC.md 3 and 3.1, slot by slot. Returns (orphan, wrong, dup, first_slot, oos_count)."""
    where = {v: i for i, v in enumerate(e_vehicle)}
    orphan, wrong, dup = [], [], []
    seen: set[int] = set()
    first_slot = [-1] * len(e_vehicle)
    first_right: dict[int, int] = {}
    for j, (v, part) in enumerate(zip(s_vehicle, s_part, strict=True)):
        # DUPLICATE: every slot of a vehicle after its first in S, in E or not (-1: no vehicle)
        if v >= 0 and v in seen:
            dup.append(j)
        first = v not in seen
        seen.add(v)
        if v not in where:
            orphan.append(j)
            continue
        i = where[v]
        if first:
            first_slot[i] = j
        if part != e_part[i]:
            wrong.append(j)
        elif i not in first_right:
            first_right[i] = j
    keys = [i for i, _ in sorted(first_right.items(), key=lambda kv: kv[1])]
    return orphan, wrong, dup, first_slot, len(keys) - lis_length(keys), keys


def is_strictly_increasing_subsequence(keys: list[int], idx: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(idx)) and all(
        keys[a] < keys[b] for a, b in itertools.pairwise(idx)
    )


def after_target_slot(s_e: list[int], kept: list[int], j: int) -> int:
    """The in-sequence slot an out-of-sequence slot j should follow: of the slots kept in
    place (``kept``, S indexes), the one with the largest E position below j's; -1: none."""
    below = [k for k in kept if s_e[k] < s_e[j]]
    return max(below, key=lambda k: s_e[k]) if below else -1


def affected_need(s_e: list[int], e_need: list[int], j: int) -> int:
    """The need time slot j affects: its vehicle's, else the nearest slot's of a vehicle in
    E before it, else after it, else none."""
    for t in [*range(j, -1, -1), *range(j + 1, len(s_e))]:
        if s_e[t] >= 0:
            return e_need[s_e[t]]
    return NO_NEED


def missing_ahead(
    slotted: list[bool], e_need: list[int], lead: int, now: int, until: int
) -> tuple[list[int], list[int], int]:
    """The E entries without a slot whose horizon (need - lead) comes after ``now`` and by
    ``until``, by horizon then E position; their horizons; the first horizon after ``until``."""
    ahead = [(e_need[i] - lead, i) for i in range(len(e_need)) if not slotted[i]]
    inside = sorted((h, i) for h, i in ahead if now < h <= until)
    after = [h for h, _ in ahead if h > until]
    return [i for _, i in inside], [h for h, _ in inside], min(after) if after else NO_NEED
