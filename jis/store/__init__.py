"""The durable log of accepted inputs plus snapshots: the only code that touches disk."""

from jis.store.base import ArchivedBreak, BreakQuery, LogRecord, Store, StoreBusy, StoreCorrupt
from jis.store.sqlite import SqliteStore, lock_dir

__all__ = [
    "ArchivedBreak",
    "BreakQuery",
    "LogRecord",
    "SqliteStore",
    "Store",
    "StoreBusy",
    "StoreCorrupt",
    "lock_dir",
]
