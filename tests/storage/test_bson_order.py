"""server.storage.bson_order decides `$max` as the database does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from server.storage.bson_order import Unsupported, compare

T = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
VALUES: list[Any] = [
    None,
    -1,
    0,
    2.5,
    3,
    10,
    "",
    "a",
    "b",
    "ä",
    "Z",
    {"seq": 2, "kind": "text", "text": "b"},
    {"seq": 10, "kind": "text", "text": "a"},
    {"seq": 10, "kind": "text", "text": "b"},
    {"seq": 10, "kind": "note"},
    {"seq": "10"},
    {"last_staff_at": T, "seq": 4, "warned": False},
    {"last_staff_at": T, "seq": 4, "warned": True},
    {"last_staff_at": T + timedelta(seconds=1), "seq": 1},
    {},
    [1, 2],
    [1],
    ObjectId("6b0c44d78612e2b94dffbe3d"),
    False,
    True,
    T,
    T + timedelta(milliseconds=1),
]


async def test_max_agrees_with_the_database(db: Any) -> None:
    """For every pair, `$max` in the database keeps the value `compare` calls greater (or equal)."""
    await db.bson_order.delete_many({})
    pairs = [(a, b) for a in VALUES for b in VALUES]
    await db.bson_order.insert_many([{"_id": i, "v": a} for i, (a, _) in enumerate(pairs)])
    for i, (_, b) in enumerate(pairs):
        await db.bson_order.update_one({"_id": i}, {"$max": {"v": b}})
    kept = {d["_id"]: d["v"] async for d in db.bson_order.find({})}
    for i, (a, b) in enumerate(pairs):
        expected = b if compare(b, a) > 0 else a
        assert compare(kept[i], expected) == 0, (a, b, kept[i])


def test_what_it_cannot_decide_it_says() -> None:
    for a, b in ((b"x", b"y"), (T, T.replace(tzinfo=None))):
        try:
            compare(a, b)
        except Unsupported:
            continue
        raise AssertionError(f"compared {a!r} and {b!r}")
