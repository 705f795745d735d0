"""WatchBreaks fan-out: filters, and a slow subscriber is cut off without blocking others."""

from __future__ import annotations

import asyncio

from jis.alerts.breaks import BreakEvent, BreakType, RecoveryAction, RecoveryKind, SequenceBreak
from jis.alerts.fanout import CUT_OFF, Fanout


def event(seq: int, line_id: str = "L1", kind: BreakType = BreakType.MISSING) -> BreakEvent:
    brk = SequenceBreak(
        f"B{seq}", kind, line_id, detected_at=seq, action=RecoveryAction(RecoveryKind.BUILD_PART, "build")
    )
    return BreakEvent(seq, True, brk)


def test_slow_subscriber_is_cut_off_and_others_keep_receiving() -> None:
    async def run() -> None:
        fan = Fanout(max_queue=3)
        slow = fan.subscribe("", "", frozenset())
        fast = fan.subscribe("", "", frozenset())
        received = []
        for i in range(1, 6):
            fan.publish([event(i)])
            received.append((await fast.queue.get()).seq)  # type: ignore[union-attr]
        assert received == [1, 2, 3, 4, 5]
        assert slow.queue.qsize() == 1 and await slow.queue.get() is CUT_OFF  # bounded: dropped, told so
        assert len(fan) == 1
        fan.publish([event(6)])
        assert slow.queue.empty() and (await fast.queue.get()).seq == 6  # type: ignore[union-attr]

    asyncio.run(run())


def test_subscriber_filters_by_line_and_type() -> None:
    async def run() -> None:
        fan = Fanout()
        sub = fan.subscribe("L2", "", frozenset({BreakType.LATE}))
        fan.publish(
            [
                event(1, "L1", BreakType.LATE),
                event(2, "L2", BreakType.MISSING),
                event(3, "L2", BreakType.LATE),
            ]
        )
        assert sub.queue.qsize() == 1 and (await sub.queue.get()).seq == 3  # type: ignore[union-attr]

    asyncio.run(run())
