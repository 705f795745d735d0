"""Opaque page tokens: where the next page starts, bound to the query that issued it.

A token is the sort key of the last item of a page (a few int64) and a digest of the query,
base64url-encoded. A client cannot read meaning into it, and a token that this server did
not issue for this query (edited, truncated, from another query, random text) is refused
with INVALID_ARGUMENT, not silently read as some other position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from jis.errors import InvalidArgument

VERSION = 1
MAX_TOKEN_LEN = 96
DIGEST = 8


def _digest(head: bytes, query: tuple[object, ...]) -> bytes:
    return hashlib.blake2b(head + repr(query).encode(), digest_size=DIGEST).digest()


def token(key: tuple[int, ...], query: tuple[object, ...]) -> str:
    """The token of the page that starts after the item whose sort key is ``key``."""
    head = struct.pack(f"<BB{len(key)}q", VERSION, len(key), *key)
    return base64.urlsafe_b64encode(head + _digest(head, query)).decode().rstrip("=")


def read_token(field: str, text: str, query: tuple[object, ...], arity: int) -> tuple[int, ...]:
    """The sort key ``text`` stands for; InvalidArgument unless issued for ``query``."""
    refused = InvalidArgument(field, "not a page token this server issued for this query")
    if len(text) > MAX_TOKEN_LEN:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    size = 2 + 8 * arity
    if len(raw) != size + DIGEST or raw[:2] != bytes([VERSION, arity]):
        raise refused
    head, digest = raw[:size], raw[size:]
    if digest != _digest(head, query):
        raise refused
    return struct.unpack(f"<{arity}q", head[2:])
