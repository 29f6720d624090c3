"""Idle plans written before they carried their message's seq get it, once, when the schema is applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from mongo_init.schema import IDLE_SEQ_MIGRATION, apply

T = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _room(_id: ObjectId, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "_id": _id,
        "number": f"7406-2026-{n:05}",
        "office": "7406",
        "user_id": ObjectId(),
        "status": "active",
        "channel": "online",
        "created_at": T,
        **fields,
    }


async def test_an_old_idle_plan_gets_its_seq_and_later_messages_still_win(db: Any) -> None:
    old_plan = {
        "last_staff_at": T,
        "warn_at": T + timedelta(days=6),
        "close_at": T + timedelta(days=7),
        "warned": False,
        "check_at": T + timedelta(days=6),
    }
    ids = [ObjectId(), ObjectId(), ObjectId()]
    await db.consultations.insert_many(
        [
            _room(ids[0], 1, last_seq=7, idle=old_plan),
            _room(ids[1], 2, last_seq=3),
            _room(ids[2], 3, last_seq=9, idle={"seq": 9, **old_plan}),
        ]
    )
    await db.counters.delete_one({"_id": IDLE_SEQ_MIGRATION})
    await apply(db)
    migrated = await db.consultations.find_one({"_id": ids[0]})
    assert migrated["idle"] == {"seq": 7, **old_plan} and next(iter(migrated["idle"])) == "seq"
    assert "idle" not in await db.consultations.find_one({"_id": ids[1]})
    assert (await db.consultations.find_one({"_id": ids[2]}))["idle"]["seq"] == 9
    # The room's next messages compare with it as with any plan: the user's reply at seq 8 ends it.
    await db.consultations.update_one({"_id": ids[0]}, {"$max": {"idle": {"seq": 8}}})
    assert (await db.consultations.find_one({"_id": ids[0]}))["idle"] == {"seq": 8}
    # Once: a plan without seq written later (by hand) is left alone by the next start.
    await db.consultations.update_one({"_id": ids[1]}, {"$set": {"idle": old_plan}})
    await apply(db)
    assert "seq" not in (await db.consultations.find_one({"_id": ids[1]}))["idle"]
