"""The harness itself: the database is real and each test gets its own."""

from typing import Any


async def test_each_test_has_its_own_database_with_seeded_offices(db: Any, db_name: str) -> None:
    codes = sorted([o["code"] async for o in db.offices.find({}, {"code": 1})])
    assert codes == ["1600", "1808", "7406", "7411", "7501"]
    await db.scratch.insert_one({"owner": db_name})


async def test_no_leak_from_the_previous_test(db: Any, db_name: str) -> None:
    assert await db.scratch.count_documents({}) == 0
