"""What the database decides about a document, decided the same way in this process.

The message path applies its own updates to the copy it keeps instead of reading it back, and merges
a room's updates before sending them (server.storage.batching): both need `$max` to compare values as
MongoDB does (BSON order, embedded documents too). Only the types those updates use are here; anything
else raises Unsupported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

Doc = dict[str, Any]


class Unsupported(TypeError):
    """A value or an operator this module does not decide: the caller must not guess."""


def _rank(value: Any) -> int:
    """MongoDB's order of BSON types: null < numbers < strings < objects < arrays < ObjectId < bool < date."""
    if value is None:
        return 2
    if isinstance(value, bool):
        return 9
    if isinstance(value, (int, float)):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, dict):
        return 5
    if isinstance(value, (list, tuple)):
        return 6
    if isinstance(value, ObjectId):
        return 8
    if isinstance(value, datetime):
        return 10
    raise Unsupported(f"no BSON order for {type(value).__name__}")


# Types whose Python order is MongoDB's when both values are of the same one: numbers, ObjectIds, booleans, and
# strings (code point order is the binary order of their UTF-8, the server's default collation).
_SAME_TYPE_ORDERED = frozenset({int, float, str, ObjectId, bool})


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as MongoDB orders `a` and `b` (objects: field by field in their order, type, name, value)."""
    kind = type(a)
    if kind is type(b) and (
        kind in _SAME_TYPE_ORDERED or (kind is datetime and (a.tzinfo is None) == (b.tzinfo is None))
    ):  # the message path's common case, decided at once
        return -1 if a < b else (1 if a > b else 0)
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 2:
        return 0
    if ra == 5:
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=False):
            c = compare(_rank(va), _rank(vb)) or compare(ka, kb) or compare(va, vb)
            if c:
                return c
        return compare(len(a), len(b))
    if ra == 6:
        for va, vb in zip(a, b, strict=False):
            c = compare(va, vb)
            if c:
                return c
        return compare(len(a), len(b))
    if ra == 4:
        a, b = a.encode("utf-8"), b.encode("utf-8")  # binary order of UTF-8, as the server's default collation
    if ra == 10 and (a.tzinfo is None) != (b.tzinfo is None):
        raise Unsupported("an aware and a naive datetime")
    return -1 if a < b else (1 if a > b else 0)


def greater(a: Any, b: Any) -> bool:
    return compare(a, b) > 0
