"""Crash safety: kill -9 at 20 seeded random moments under load; nothing acknowledged is lost."""

from __future__ import annotations

import os
from pathlib import Path

from tests import crash_harness

KILL_POINTS = int(os.environ.get("JIS_CRASH_POINTS", "20"))


def test_kill_9_at_random_moments_loses_nothing_acknowledged_and_half_applies_nothing(tmp_path: Path) -> None:
    # Frequent snapshots, so that kills land before, between and after them: recovery is a
    # snapshot plus the log after it, and must still equal the replay of what was acknowledged.
    stats = crash_harness.run(
        tmp_path / "data", int(os.environ.get("JIS_CRASH_SEED", "1")), KILL_POINTS, "--snapshot-every", "25"
    )
    print(f"\ncrash harness: {stats}")
    assert stats["kills"] == KILL_POINTS
    assert stats["acked_ops"] > 10 * KILL_POINTS  # the kills landed under real load
