"""`jis` with a gate on the store's commits, for tests that must hold a group between its
apply and its commit: ``python -m tests.gated_server GATE serve ...``. While the file GATE
exists, every commit waits (the engine thread stands still after applying its group), so a
test can look at the server in that moment, or kill -9 it there."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from jis.cli.main import main
from jis.store import sqlite

GATE = Path(sys.argv[1])
_commit = sqlite.SqliteStore.commit


def _gated_commit(self: sqlite.SqliteStore, overlap: Callable[[], object] | None = None) -> None:
    while GATE.exists():
        time.sleep(0.005)
    _commit(self, overlap)


if __name__ == "__main__":
    sqlite.SqliteStore.commit = _gated_commit  # type: ignore[method-assign]
    sys.exit(main(sys.argv[2:]))
