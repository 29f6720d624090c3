"""The starter canned responses: each office gets the set in canned_responses.json once.

Once per office, not per response: a response the office's supervisors edited or deleted stays as they
left it. A `job_state` document per office ("canned_seeded:<code>") remembers the seeding; its
unique _id makes two processes starting together seed an office once.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)

Doc = dict[str, Any]


def starter_set() -> list[Doc]:
    """The starter canned responses shipped in mongo-init/."""
    text = resources.files("mongo_init").joinpath("canned_responses.json").read_text(encoding="utf-8")
    items: list[Doc] = json.loads(text)["canned_responses"]
    return items


async def seed_canned_responses(db: AsyncDatabase[Doc], now: datetime | None = None) -> int:
    """Give every office not seeded yet the starter set; the number of offices seeded."""
    when = now or datetime.now(UTC)
    items = starter_set()
    seeded = 0
    async for office in db.offices.find({}, {"code": 1}):
        try:
            await db.job_state.insert_one({"_id": f"canned_seeded:{office['code']}", "at": when})
        except DuplicateKeyError:
            continue  # seeded before (or by another process right now)
        await db.canned_responses.insert_many(
            [
                {
                    "office": office["code"],
                    **item,
                    "created_at": when,
                    "updated_at": when,
                    "updated_by": None,
                    "updated_by_name": "PST",
                }
                for item in items
            ]
        )
        seeded += 1
    if seeded:
        log.info("seeded the starter canned responses of %d offices", seeded)
    return seeded
