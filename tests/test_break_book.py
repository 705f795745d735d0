"""The break book's earliest open need per (line, type): right after any raise and resolve,
and its heaps bounded by the open breaks even when nobody reads them (no scrape)."""

from __future__ import annotations

import random

from jis.alerts.breaks import BreakBook, BreakType, RecoveryAction, RecoveryKind, SequenceBreak


def make(line: str, kind: BreakType, need: int):  # type: ignore[no-untyped-def]
    def build(break_id: str) -> SequenceBreak:
        return SequenceBreak(
            break_id, kind, line, 0, RecoveryAction(RecoveryKind.BUILD_PART, "build it"), need_time=need
        )

    return build


def test_earliest_need_is_the_least_open_need_and_heaps_stay_bounded_unread() -> None:
    rng = random.Random(3)
    book = BreakBook()
    open_: dict[tuple[str, int], tuple[str, BreakType, int]] = {}
    for step in range(20_000):
        if open_ and rng.random() < 0.5:
            key = rng.choice(list(open_))
            assert book.resolve(key, step)
            del open_[key]
        else:
            line, kind, need = (
                rng.choice("AB"),
                rng.choice([BreakType.MISSING, BreakType.LATE]),
                rng.randrange(10**6),
            )
            assert book.raise_break((line, step), make(line, kind, need))
            open_[(line, step)] = (line, kind, need)
            # unread, closed entries are dropped once they outnumber the open ones
            n_open = sum(1 for ln, k, _ in open_.values() if (ln, k) == (line, kind))
            assert len(book.need_heaps[line, kind]) <= 2 * n_open + 65
        book.drain()
        if step % 997 == 0:  # read now and then, as a scrape would
            want: dict[tuple[str, BreakType], int] = {}
            for line, kind, need in open_.values():
                want[line, kind] = min(want.get((line, kind), need), need)
            assert book.earliest_need() == want
    assert sum(len(h) for h in book.need_heaps.values()) < 20_000 // 4  # raised: about 10,000
