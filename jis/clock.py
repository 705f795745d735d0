"""The engine clock: the wall clock, or a test clock moved by clients.

In test mode the clock stands still until a client sets it forward (``SetClock``), so
a recorded day replays faster than real time and every time-driven break is raised
exactly when the clock passes its moment. Either way the clock never runs backwards:
after a restart it resumes no earlier than the last time recorded in the log.
"""

from __future__ import annotations

import threading
import time

from jis.errors import FailedPrecondition, InvalidArgument


class Clock:
    def __init__(self, test_mode: bool = False, start_ns: int | None = None) -> None:
        self.test_mode = test_mode
        self._lock = threading.Lock()
        self._floor = start_ns if start_ns is not None else time.time_ns()

    def now(self) -> int:
        """Engine time, int64 ns since the Unix epoch."""
        with self._lock:
            if not self.test_mode:
                self._floor = max(self._floor, time.time_ns())
            return self._floor

    def advance_to(self, at: int) -> None:
        """Never read earlier than ``at`` (used when recovering from the log)."""
        with self._lock:
            self._floor = max(self._floor, at)

    def set(self, at: int) -> int:
        """Test mode only: move the clock forward to ``at``."""
        if not self.test_mode:
            raise FailedPrecondition("now", "the engine clock can only be set in test mode (--test-clock)")
        with self._lock:
            if at < self._floor:
                raise InvalidArgument("now", f"{at} ns is before the engine clock ({self._floor} ns)")
            self._floor = at
            return at
