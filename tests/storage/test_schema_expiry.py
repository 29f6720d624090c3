"""TTL indexes: real expiry in production; none under the test clock, whose time the database cannot see."""

from __future__ import annotations

import uuid
from typing import Any

from mongo_init.schema import apply


async def _ttl(db: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("sessions", "tokens", "channel_rates"):
        async for index in await db[name].list_indexes():
            if index["name"] == "expiry_ttl":
                out[name] = index.get("expireAfterSeconds")
    return out


async def test_ttl_indexes_expire_in_production_and_not_under_the_test_clock(mongo_client: Any) -> None:
    db = mongo_client[f"t_{uuid.uuid4().hex[:16]}"]
    try:
        await apply(db)
        assert await _ttl(db) == {"sessions": 86400, "tokens": 7 * 86400, "channel_rates": 0}
        # The same database started under the test clock: the indexes stay (by name), the expiry goes.
        await apply(db, wall_clock_expiry=False)
        assert await _ttl(db) == {"sessions": None, "tokens": None, "channel_rates": None}
        # And back: production start-up restores the expiry.
        await apply(db)
        assert await _ttl(db) == {"sessions": 86400, "tokens": 7 * 86400, "channel_rates": 0}
    finally:
        await mongo_client.drop_database(db.name)


async def test_the_test_database_keeps_a_session_from_a_clock_set_in_the_past(db: Any) -> None:
    # The db fixture is what every test runs on: a sweep on the wall clock must have nothing to delete.
    async for index in await db.sessions.list_indexes():
        assert "expireAfterSeconds" not in index, index
