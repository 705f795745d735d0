"""How a what-if pairs the breaks of its two runs (jis.engine.whatif.compare): by id for
the breaks open at the fork, by type and scope for the ones raised in a run, identical
occurrences first, the rest in the order raised."""

from __future__ import annotations

import dataclasses

from jis.alerts.breaks import BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.engine.whatif import AVOIDED, CHANGES, LONGER, SAME, SHORTER, Run, compare

ACTION = RecoveryAction(RecoveryKind.CHECK_FEED, "check the feed")


def brk(bid: str, detected: int, resolved: int | None = None, line: str = "L1") -> SequenceBreak:
    return SequenceBreak(bid, BreakType.BROADCAST_SILENT, line, detected, ACTION, resolved_at=resolved)


def run(raised: list[SequenceBreak], fork_resolved: list[SequenceBreak] = ()) -> Run:  # type: ignore[assignment]
    r = Run()
    for b in fork_resolved:
        r.breaks[b.break_id] = b
    for b in raised:
        r.breaks[b.break_id] = b
        r.raised.append(b.break_id)
    return r


def changes(scenario: Run, baseline: Run) -> list[tuple[str, int, int | None]]:
    return sorted(
        (CHANGES[c.change], c.sequence_break.detected_at, c.sequence_break.resolved_at)
        for c in compare(scenario, baseline)
    )


def test_an_extra_early_occurrence_is_new_and_the_shared_one_the_same() -> None:
    # ids differ between runs: pairing is by type and scope, not by id
    scenario = run([brk("B1", 10, 20), brk("B2", 100, 120)])
    baseline = run([brk("B7", 100, 120)])
    assert changes(scenario, baseline) == [("NEW", 10, 20), ("SAME", 100, 120)]


def test_occurrences_that_moved_pair_in_order() -> None:
    scenario = run([brk("B1", 50, 60), brk("B2", 200, None)])
    baseline = run([brk("B1", 70, 80), brk("B2", 200, 210)])
    assert changes(scenario, baseline) == [("LONGER", 200, None), ("SOONER", 50, 60)]
    assert changes(baseline, scenario) == [("LATER", 70, 80), ("SHORTER", 200, 210)]


def test_a_break_only_the_baseline_raises_is_avoided() -> None:
    scenario = run([])
    baseline = run([brk("B1", 5, None, line="L2")])
    (c,) = compare(scenario, baseline)
    assert (c.change, c.sequence_break.line_id, c.baseline) == (AVOIDED, "L2", c.sequence_break)


def test_breaks_open_at_the_fork_pair_by_id() -> None:
    open_a, open_b, open_c = brk("B1", 1), brk("B2", 2), brk("B3", 3)
    scenario = run([], [_r(open_a, 40), _r(open_b, 90), _r(open_c, 30)])
    baseline = run([], [_r(open_a, 40), _r(open_b, 50)])
    found = {c.sequence_break.break_id: (c.change, c.baseline) for c in compare(scenario, baseline)}
    assert found["B1"][0] == SAME
    assert found["B2"][0] == LONGER and found["B2"][1].resolved_at == 50  # type: ignore[union-attr]
    assert found["B3"][0] == SHORTER and found["B3"][1].resolved_at is None  # type: ignore[union-attr]
    # resolved in the baseline only: the scenario keeps it open
    (c,) = compare(run([]), run([], [_r(open_a, 40)]))
    assert (c.change, c.sequence_break.resolved_at, c.baseline.resolved_at) == (LONGER, None, 40)  # type: ignore[union-attr]


def _r(b: SequenceBreak, at: int) -> SequenceBreak:
    return dataclasses.replace(b, resolved_at=at)
