"""Group commit (server.storage.batching): calls in flight go together, each caller gets its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import IndexModel
from pymongo.errors import AutoReconnect, DuplicateKeyError

from server.storage.batching import FindById, Inserts, Overloaded, Updates, merge_updates


async def test_inserts_in_flight_go_together_and_a_duplicate_fails_alone(db: Any) -> None:
    await db.items.create_indexes([IndexModel([("room", 1), ("seq", 1)], unique=True)])
    inserts = Inserts(db.items)
    docs = [{"room": r, "seq": 1} for r in range(40)] + [{"room": 7, "seq": 1}]
    outcomes = await asyncio.gather(*[inserts.insert(d) for d in docs], return_exceptions=True)
    # The first went alone; the rest queued behind it and went in far fewer calls than documents.
    assert inserts.items == 41 and inserts.calls < 10, (inserts.calls, inserts.items)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], DuplicateKeyError)
    assert isinstance(outcomes[7], type(outcomes[0])) and outcomes[7] == docs[7]["_id"]
    assert await db.items.count_documents({}) == 40
    # Each caller got its own document's id.
    for doc, outcome in zip(docs[:40], outcomes[:40], strict=True):
        assert (await db.items.find_one({"_id": outcome}))["room"] == doc["room"]


async def test_updates_of_one_document_apply_in_the_order_asked(db: Any) -> None:
    await db.rooms.insert_many([{"_id": i, "last": None, "n": 0} for i in range(10)])
    updates = Updates(db.rooms)
    calls = []
    for k in range(5):
        for i in range(10):
            calls.append(updates.update({"_id": i}, {"$set": {"last": k}, "$inc": {"n": 1}}))
    await asyncio.gather(*calls)
    assert updates.calls < 50
    async for doc in db.rooms.find({}):
        assert doc["last"] == 4 and doc["n"] == 5, doc


async def test_reads_in_flight_go_as_one_query_and_see_acknowledged_writes(db: Any) -> None:
    await db.things.insert_many([{"_id": i, "v": i} for i in range(20)])
    finds = FindById(db.things)
    got = await asyncio.gather(*[finds.get(i) for i in [*range(20), 3, 99]])
    assert [g["v"] if g else None for g in got] == [*range(20), 3, None]
    assert finds.calls < 5
    got[0]["v"] = "changed by its caller"  # each caller has its own copy
    await db.things.update_one({"_id": 0}, {"$set": {"v": "new"}})
    assert (await finds.get(0))["v"] == "new"


class _DownOnce:
    """A collection whose database is unreachable for the first call (what a failover looks like)."""

    def __init__(self, coll: Any) -> None:
        self.coll, self.failed = coll, False

    async def insert_one(self, doc: Any) -> Any:
        return await self._call("insert_one", doc)

    async def insert_many(self, docs: Any, ordered: bool = True) -> Any:
        return await self._call("insert_many", docs, ordered=ordered)

    async def _call(self, name: str, *args: Any, **kw: Any) -> Any:
        if not self.failed:
            self.failed = True
            await asyncio.sleep(0.05)  # in flight long enough for the others to queue behind it
            raise AutoReconnect("connection closed")
        return await getattr(self.coll, name)(*args, **kw)


async def test_a_failed_call_fails_its_callers_and_the_next_goes_on(db: Any) -> None:
    inserts = Inserts(_DownOnce(db.items))  # type: ignore[arg-type]
    first = asyncio.create_task(inserts.insert({"_id": 0}))
    await asyncio.sleep(0.01)
    rest = await asyncio.gather(*[inserts.insert({"_id": i}) for i in range(1, 4)], return_exceptions=True)
    with pytest.raises(AutoReconnect):
        await first
    # The first call failed alone; the three behind it went together and were stored.
    assert rest == [1, 2, 3] and inserts.calls == 2
    assert await db.items.count_documents({}) == 3


@pytest.mark.parametrize("n", [1, 2])
async def test_one_caller_alone_is_sent_at_once(db: Any, n: int) -> None:
    inserts = Inserts(db.items)
    for i in range(n):
        await inserts.insert({"_id": i})
    assert inserts.calls == n


async def test_past_saturation_new_items_are_refused_at_once_not_queued_for_ever(db: Any) -> None:
    slow = _Slow(db.items)
    inserts = Inserts(slow, max_wait=0.1)  # type: ignore[arg-type]
    first = asyncio.create_task(inserts.insert({"_id": 0}))  # in flight for 0.3 s
    await asyncio.sleep(0.01)
    queued = asyncio.create_task(inserts.insert({"_id": 1}))  # waits behind it
    await asyncio.sleep(0.15)  # the queued one has now waited longer than max_wait
    with pytest.raises(Overloaded):
        await inserts.insert({"_id": 2})
    assert inserts.refused == 1
    assert await first == 0 and await queued == 1  # what was taken is stored
    assert await inserts.insert({"_id": 3}) == 3  # caught up: taken again
    assert sorted(await db.items.distinct("_id")) == [0, 1, 3]


class _Slow:
    def __init__(self, coll: Any) -> None:
        self.coll = coll

    async def insert_one(self, doc: Any) -> Any:
        await asyncio.sleep(0.3)
        return await self.coll.insert_one(doc)

    async def insert_many(self, docs: Any, ordered: bool = True) -> Any:
        await asyncio.sleep(0.3)
        return await self.coll.insert_many(docs, ordered=ordered)


def _message_update(seq: int, who: str, staff: bool) -> dict[str, Any]:
    """The shape of a message's consultation update (server.domain.messages._after_message)."""
    last = {"seq": seq, "text": f"pesan {seq}"}
    update: dict[str, Any] = {
        "$set": {"last_message": last, "updated_at": seq, "last_visible_message": last},
        "$max": {"last_seq": seq, f"reads.{who}": seq},
    }
    if staff:
        update["$set"]["idle"] = {"check_at": seq, "stage": "warn"}
        update["$set"]["sla.state"] = "met"
        update["$unset"] = {"sla.check_at": ""}
    else:
        update["$set"]["last_user_message_at"] = seq
        update["$unset"] = {"idle": ""}
    return update


async def test_queued_updates_of_one_document_merge_into_what_they_do_one_after_another(db: Any) -> None:
    start = {"last_seq": 0, "reads": {"u": 0}, "sla": {"state": "on_track", "check_at": 5}, "idle": {"check_at": 1}}
    await db.one_by_one.insert_one({"_id": 1, **start})
    await db.merged.insert_one({"_id": 1, **start})
    updates = [_message_update(seq, "u" if seq % 3 else "o", staff=seq % 3 == 0) for seq in range(1, 13)]
    for u in updates:
        await db.one_by_one.update_one({"_id": 1}, u)
    batcher = Updates(db.merged)
    await asyncio.gather(*[batcher.update({"_id": 1}, u) for u in updates])
    # All twelve were queued before the first call left: they went as one merged update.
    assert batcher.calls == 1 and batcher.merged == 11, (batcher.calls, batcher.merged)
    assert await db.merged.find_one({"_id": 1}) == await db.one_by_one.find_one({"_id": 1})


def test_updates_that_cannot_be_said_as_one_are_not_merged() -> None:
    assert merge_updates({"$inc": {"n": 1}}, {"$set": {"a": 1}}) is None  # another operator
    assert merge_updates({"$set": {"sla": {"state": "x"}}}, {"$set": {"sla.state": "met"}}) is None  # a and a.b
    # Values this process cannot order as MongoDB does (server.storage.bson_order).
    assert merge_updates({"$max": {"at": b"\x01"}}, {"$max": {"at": b"\x02"}}) is None
    # Values of different BSON types merge in MongoDB's order (a string is above a number).
    assert merge_updates({"$max": {"at": 1}}, {"$max": {"at": "later"}}) == {"$max": {"at": "later"}}
    assert merge_updates({"$set": {"a": 1}, "$max": {"n": 3}}, {"$unset": {"a": ""}, "$max": {"n": 2}}) == {
        "$max": {"n": 3},
        "$unset": {"a": ""},
    }
    assert merge_updates({"$unset": {"n": ""}}, {"$max": {"n": 2}}) == {"$set": {"n": 2}}


async def test_a_flusher_busy_past_its_first_caller_s_deadline_still_serves_the_others(db: Any) -> None:
    """The flusher does not carry the request deadline of the caller that started it: under sustained load
    it once lived past that deadline and every grouped call after it failed with ExecutionTimeout."""
    import pymongo

    await db.items.insert_many([{"_id": i} for i in range(20)])

    class SlowReads(FindById):
        async def run(self, items: list[Any]) -> Any:
            await asyncio.sleep(0.03)  # a busy database: more calls queue meanwhile, the flusher never stops
            return await super().run(items)

    reads = SlowReads(db.items)
    with pymongo.timeout(0.2):  # the first caller's request deadline; it starts the flusher
        calls = [asyncio.create_task(reads.get(0))]
    await asyncio.sleep(0)
    flusher = reads._flusher
    assert flusher is not None
    for k in range(1, 120):  # a read every 5 ms for 0.6 s: never a moment with nothing queued
        await asyncio.sleep(0.005)
        calls.append(asyncio.create_task(reads.get(k % 20)))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert reads._flusher is flusher, "the test meant one flusher to serve every call"
    assert outcomes == [{"_id": k % 20} for k in range(120)]


async def test_trailing_statements_go_in_calls_of_at_most_their_batch_and_urgent_ones_beside_them(db: Any) -> None:
    from server.storage.batching import Trailing

    await db.trail.insert_many([{"_id": i, "n": 0} for i in range(120)])
    rooms, urgent = Updates(db.trail, max_batch=50), Updates(db.trail)
    trailing = Trailing(rooms, urgent=urgent, delay=5.0)
    for i in range(120):
        trailing.add(i, {"$max": {"n": 1}})
    await trailing.flush()
    assert (rooms.calls, rooms.items) == (3, 120)
    assert await db.trail.count_documents({"n": 1}) == 120
    # An update that cannot wait goes through its own batcher, with the document's trailing ones handed over.
    trailing.add(7, {"$max": {"n": 2}})
    await trailing.send(7, {"$max": {"n": 3}})
    assert urgent.calls == 1 and rooms.calls == 4
    await trailing.flush()
    assert (await db.trail.find_one({"_id": 7}))["n"] == 3


async def test_a_read_answered_after_its_trailing_statement_landed_still_shows_it(db: Any) -> None:
    """The read went out before the statement was written and came back after it was acknowledged: the
    statement is no longer pending or handed over, and the document read does not have it."""
    from server.storage.batching import Trailing

    await db.trail_read.insert_one({"_id": 1, "n": 0})
    trailing = Trailing(Updates(db.trail_read), delay=5.0)
    stale = await db.trail_read.find_one({"_id": 1})  # the read, answered before the write
    trailing.add(1, {"$max": {"n": 3}})
    trailing._hand_over_all()
    assert trailing.updates._flusher is not None
    await asyncio.wait_for(trailing.updates._flusher, 5)  # written and acknowledged
    assert len(trailing) == 0
    assert (await db.trail_read.find_one({"_id": 1}))["n"] == 3
    assert trailing.overlay(stale)["n"] == 3  # shown, though it is no longer pending or in flight
    await trailing.flush()  # a flush (an erasure comes next) forgets what landed
    assert trailing.overlay(stale)["n"] == 0
