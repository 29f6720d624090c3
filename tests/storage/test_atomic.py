"""update_and_get keeps find_one_and_update's guard semantics (one winner), without findAndModify."""

from __future__ import annotations

import asyncio
from typing import Any

from server.storage.atomic import update_and_get


async def test_guarded_update_has_one_winner(db: Any) -> None:
    await db.items.insert_one({"_id": 1, "state": "queued"})
    results = await asyncio.gather(*[
        update_and_get(db.items, {"_id": 1, "state": "queued"}, {"$set": {"state": "taken", "by": i}})
        for i in range(8)])
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0]["state"] == "taken"
    assert (await db.items.find_one({"_id": 1}))["by"] == winners[0]["by"]


async def test_claims_by_filter_and_sort_hand_out_each_item_once(db: Any) -> None:
    await db.jobs.insert_many([{"n": i, "status": "pending"} for i in range(10)])

    async def worker() -> list[int]:
        got = []
        while True:
            doc = await update_and_get(db.jobs, {"status": "pending"}, {"$set": {"status": "leased"}},
                                       sort=[("n", 1)], after=False)
            if doc is None:
                return got
            got.append(doc["n"])

    a, b, c = await asyncio.gather(worker(), worker(), worker())
    assert sorted(a + b + c) == list(range(10))


async def test_before_and_after_documents(db: Any) -> None:
    await db.c.insert_one({"_id": "x", "v": 1})
    before = await update_and_get(db.c, {"_id": "x"}, {"$inc": {"v": 1}}, after=False)
    after = await update_and_get(db.c, {"_id": "x"}, {"$inc": {"v": 1}})
    assert before["v"] == 1 and after["v"] == 3
    assert await update_and_get(db.c, {"_id": "missing"}, {"$inc": {"v": 1}}) is None
