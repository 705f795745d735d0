"""The durable log of accepted inputs plus snapshots: the only code that touches disk."""

from jis.store.base import LogRecord, Store, StoreCorrupt
from jis.store.sqlite import SqliteStore

__all__ = ["LogRecord", "SqliteStore", "Store", "StoreCorrupt"]
