"""The bounds every input is held to, in one place.

Times and durations are int64 nanoseconds inside the engine. The bounds below keep every
sum the engine forms (a need time minus a lead time, an ETA plus the unload-to-line time,
the last message plus the heartbeat, a slack) inside int64, so no value a client can send
overflows anywhere later: an input outside them is refused with InvalidArgument naming
its field, before anything is journaled.
"""

from __future__ import annotations

import re

from jis.errors import InvalidArgument

NS = 1_000_000_000
MINUTE_NS = 60 * NS
DAY_NS = 86_400 * NS

TIME_MIN_NS = 0
"""Earliest accepted time: 1970-01-01T00:00:00Z (the test clock starts there)."""
TIME_MAX_NS = 7_258_118_400 * NS
"""Latest accepted time: 2200-01-01T00:00:00Z. int64 nanoseconds end in 2262; the 62 years
between are the headroom for sums of a time and the durations below."""
MAX_TAKT_NS = DAY_NS
"""Longest takt of a line."""
MAX_DURATION_NS = 30 * DAY_NS
"""Longest heartbeat, supplier lead time and unload-to-line time."""

MAX_ID_LEN = 128
"""Longest accepted id (line, vehicle, supplier, group, part number, rack, door ...)."""
MAX_TEXT_LEN = 256
"""Longest accepted free text (checkpoint)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL: never part of an id or a checkpoint."""


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def require_id(field: str, value: str) -> None:
    """InvalidArgument unless ``value`` is a non-empty id of sane length without control
    characters."""
    if not value or not value.strip():
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_ID_LEN:
        raise InvalidArgument(field, f"longer than {MAX_ID_LEN} characters")
    if has_control(value):
        raise InvalidArgument(field, "contains a control character")


def require_optional_id(field: str, value: str) -> None:
    """As ``require_id`` for a filter or optional id: empty passes."""
    if value:
        require_id(field, value)


def require_text(field: str, value: str) -> None:
    """InvalidArgument unless ``value`` is free text of sane length without control characters."""
    if len(value) > MAX_TEXT_LEN:
        raise InvalidArgument(field, f"longer than {MAX_TEXT_LEN} characters")
    if has_control(value):
        raise InvalidArgument(field, "contains a control character")


def require_time(field: str, ns: int) -> int:
    """``ns`` unless it is outside [1970-01-01, 2200-01-01] (InvalidArgument)."""
    if not TIME_MIN_NS <= ns <= TIME_MAX_NS:
        raise InvalidArgument(field, "outside the accepted time range (1970-01-01 to 2200-01-01 UTC)")
    return ns


def require_duration(field: str, ns: int, most: int, positive: bool = True) -> int:
    """``ns`` unless it is negative (or zero, if ``positive``) or longer than ``most``."""
    if positive and ns <= 0:
        raise InvalidArgument(field, "must be positive")
    if ns < 0:
        raise InvalidArgument(field, "must not be negative")
    if ns > most:
        raise InvalidArgument(field, f"at most {_days(most)}")
    return ns


def _days(ns: int) -> str:
    days = ns / DAY_NS
    return f"{days:g} day" + ("" if days == 1 else "s")
