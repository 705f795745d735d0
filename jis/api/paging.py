"""Opaque page tokens: where the next page starts, bound to the query that issued it.

A token is the position after which the next page starts (an int64) and a digest of the
query, base64url-encoded. A client cannot read meaning into it, and a token that this
server did not issue for this query (edited, truncated, from another query, random text)
is refused with INVALID_ARGUMENT, not silently read as some other position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from jis.engine.errors import InvalidArgument

VERSION = 1
_LAYOUT = struct.Struct("<Bq8s")
"""version, position, digest of (version, position, query)."""
MAX_TOKEN_LEN = 64


def _digest(position: int, query: tuple[object, ...]) -> bytes:
    return hashlib.blake2b(repr((VERSION, position, query)).encode(), digest_size=8).digest()


def token(position: int, query: tuple[object, ...]) -> str:
    """The token of the page that starts after ``position`` for ``query``."""
    raw = _LAYOUT.pack(VERSION, position, _digest(position, query))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(field: str, text: str, query: tuple[object, ...]) -> int:
    """The position ``text`` stands for; InvalidArgument unless issued for ``query``."""
    refused = InvalidArgument(field, "not a page token this server issued for this query")
    if len(text) > MAX_TOKEN_LEN:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, position, digest = _LAYOUT.unpack(raw)
    except (binascii.Error, ValueError, struct.error):
        raise refused from None
    if version != VERSION or digest != _digest(position, query):
        raise refused
    return int(position)
