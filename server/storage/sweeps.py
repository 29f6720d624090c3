"""Scheduler sweeps: the due range of a partial index, and claims by compare-and-set onto a lease.

Every job walks its items the same way:
1. one indexed range query (`due_query`) over a partial sweep index finds the items whose timestamp
   has passed;
2. a pure decision says what is due for each;
3. the item is claimed by a compare-and-set (`cas`) on the very timestamp that made it due, moving
   it to a short lease (`lease_until`), so of two runners exactly one gets it;
4. the effects follow, each idempotent (room messages carry a client_id, e-mails a dedupe_key);
5. a final write, conditional on the lease, records the outcome and the next check.

A runner that dies between 3 and 5 leaves the lease behind; when it runs out the item is due again,
another runner redoes it and the idempotent effects make the redo harmless: a crash loses nothing
and sends nothing twice. Due-ness is only ever "stored timestamp <= now" and claims only move
timestamps forward or remove them, so a clock set backwards re-fires nothing.

Claims use update_one, not find_one_and_update: SecantusDB (the embedded database) runs
findAndModify as a scan of the whole collection (measured 1.2 s per call at 100,000 consultations)
while update_one by _id takes ~3 ms; MongoDB is fast either way. bench/scheduler_sweep.py has the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# Earlier than any timestamp the product stores: the lower bound of the scheduler sweep indexes
# (mongo-init/schema.py), whose filters are this date range because SecantusDB's planner can match a
# range but not a $type filter.
SWEEP_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
# Documents per round trip of the sweep cursor.
BATCH_SIZE = 100
# How long a claimed item stays with its runner; past it, another runner takes the item over.
CLAIM_LEASE = timedelta(minutes=5)


def due_query(field: str, now: datetime) -> Doc:
    """The sweep's filter: inside the partial sweep index's own filter, so the planner can use the index."""
    return {field: {"$gte": SWEEP_FLOOR, "$lte": now}}


def lease_until(now: datetime) -> datetime:
    """The end of a claim's lease, at the database's precision (milliseconds), so it compares equal later."""
    until = now + CLAIM_LEASE
    return until.replace(microsecond=until.microsecond // 1000 * 1000)


async def cas(coll: AsyncCollection[Doc], doc_id: Any, field: str, observed: Any, update: Doc) -> bool:
    """Apply `update` only if `field` still holds `observed`: exactly one of racing runners succeeds."""
    res = await coll.update_one({"_id": doc_id, field: observed}, update)
    return res.modified_count == 1


async def sweep(
    coll: AsyncCollection[Doc],
    name: str,
    field: str,
    now: datetime,
    projection: Doc,
    handle: Callable[[Doc], Awaitable[bool]],
    *,
    logger: logging.Logger = log,
) -> int:
    """One pass over everything due at `now`; the number of items this runner claimed (0: nothing left for it).

    One query, read through a cursor, rather than repeated limited queries: a database that does not
    push the limit into the index scan (SecantusDB) would re-read the whole due range for every batch.
    Handled items move out of the range (their timestamp goes past `now` or away), so none comes twice.
    """
    claimed = 0
    cursor = coll.find(due_query(field, now), projection).sort(field, 1).batch_size(BATCH_SIZE)
    try:
        async for cand in cursor:
            try:
                if await handle(cand):
                    claimed += 1
            except Exception:
                # Not counted, so a runner does not spin on it. Failed after its claim, the item's lease
                # keeps it aside until it runs out and a runner redoes it; failed before, the next pass does.
                logger.exception("scheduler %s: %s %s failed; skipped", name, coll.name, cand.get("_id"))
    finally:
        await cursor.close()
    return claimed
