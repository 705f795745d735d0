"""The durable log of accepted inputs plus snapshots: the only code that touches disk."""

from jis.store.base import LogRecord, Store, StoreBusy, StoreCorrupt
from jis.store.sqlite import SqliteStore, lock_dir

__all__ = ["LogRecord", "SqliteStore", "Store", "StoreBusy", "StoreCorrupt", "lock_dir"]
