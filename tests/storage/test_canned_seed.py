"""The starter canned responses (mongo-init): every office gets the set once; what supervisors changed stays."""

from __future__ import annotations

from typing import Any

from mongo_init.canned import seed_canned_responses, starter_set
from mongo_init.schema import seed_offices


async def test_every_office_gets_the_starter_set_once(db: Any) -> None:
    # The db fixture seeded the offices, and with them their canned responses.
    offices = [o["code"] async for o in db.offices.find({}, {"code": 1})]
    shortcuts = sorted(item["shortcut"] for item in starter_set())
    assert shortcuts == ["klarifikasi", "penutup", "publikasi", "salam"]
    for code in offices:
        got = sorted([c["shortcut"] async for c in db.canned_responses.find({"office": code})])
        assert got == shortcuts, code
    greeting = await db.canned_responses.find_one({"office": "7406", "shortcut": "salam"})
    assert greeting["answer"] is False and "{nama}" in greeting["text"] and "{batas}" in greeting["text"]
    # A supervisor deletes one and edits another; starting again seeds nothing more.
    await db.canned_responses.delete_one({"office": "7406", "shortcut": "penutup"})
    await db.canned_responses.update_one({"office": "7406", "shortcut": "salam"}, {"$set": {"text": "Halo!"}})
    assert await seed_canned_responses(db) == 0
    await seed_offices(db)
    assert await db.canned_responses.count_documents({"office": "7406"}) == 3
    assert (await db.canned_responses.find_one({"office": "7406", "shortcut": "salam"}))["text"] == "Halo!"
    assert await db.canned_responses.count_documents({}) == 4 * len(offices) - 1


async def test_an_office_added_later_gets_its_set(db: Any) -> None:
    office = {**(await db.offices.find_one({"code": "7406"}, {"_id": 0})), "code": "9999", "name": "BPS Uji"}
    await db.offices.insert_one(office)
    assert await seed_canned_responses(db) == 1
    assert await db.canned_responses.count_documents({"office": "9999"}) == 4
