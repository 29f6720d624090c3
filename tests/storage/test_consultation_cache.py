"""The message path's copies of consultations (server.storage.consultation_cache): a message reads its
consultation once, and any write of it — by any code path of this process, heard from the driver
(server.storage.write_watch) — makes the next message read it again."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from server.domain import messages
from server.domain.errors import Conflict, Forbidden
from server.services import Services
from server.storage.consultation_cache import ConsultationCache
from server.storage.write_watch import ALL, SELF_APPLIED, touched
from tests.domain import test_messages
from tests.domain.test_messages import Room

Doc = dict[str, Any]

# The fixture of the message tests: an active consultation of 7406 with its user and officer.
room = test_messages.room


def _reads(svc: Services) -> int:
    """Consultations read by the message path so far (calls of its grouped find)."""
    return svc.batch.consultations.calls


async def test_a_room_is_read_once_then_follows_its_own_messages(room: Room) -> None:
    from server.realtime.presence import Presence

    svc = room.svc
    user, officer, c = room.user, room.officer, room.c
    # The user is connected, so the officer's reply sends no mail (whose claim writes the consultation).
    svc.presence = Presence()
    svc.presence.add(str(user["_id"]), "sid-1", None, False)
    before = _reads(svc)
    await messages.post_message(svc, user, c["_id"], text="satu")
    _, after = await messages.post_message(svc, officer, c["_id"], text="dua")
    await messages.post_message(svc, user, c["_id"], text="tiga")
    assert _reads(svc) - before == 1
    kept = svc.consultations.get(c["_id"])
    stored = await svc.db.consultations.find_one({"_id": c["_id"]})
    assert kept is not None and stored is not None
    # The copy followed the three updates as the database applied them.
    for field in ("last_seq", "last_visible_seq", "reads", "last_message", "first_response_at", "idle"):
        assert kept.get(field) == stored.get(field), field
    assert kept["last_seq"] == 3 and after["last_seq"] == 2


@pytest.mark.parametrize(
    "write",
    [
        "update_one",  # by _id: that consultation
        "update_many",  # by office: every copy
        "find_one_and_update",
        "bulk_write",
    ],
)
async def test_any_write_of_the_room_is_heard_and_the_next_message_reads_it(room: Room, write: str) -> None:
    svc = room.svc
    user, _, c = room.user, room.officer, room.c
    await messages.post_message(svc, user, c["_id"], text="sebelum")
    assert svc.consultations.get(c["_id"]) is not None
    closing = {"$set": {"status": "closed", "close_reason": "resolved", "closed_at": svc.now()}}
    coll = svc.db.consultations
    if write == "update_one":
        await coll.update_one({"_id": c["_id"]}, closing)
    elif write == "update_many":
        await coll.update_many({"office": "7406", "status": "active"}, closing)
    elif write == "find_one_and_update":
        await coll.find_one_and_update({"_id": c["_id"]}, closing)
    else:
        from pymongo import UpdateOne

        await coll.bulk_write([UpdateOne({"_id": c["_id"]}, closing)])
    assert svc.consultations.get(c["_id"]) is None
    with pytest.raises(Conflict) as refused:
        await messages.post_message(svc, user, c["_id"], text="sesudah")
    assert refused.value.code == "consultation_closed"


async def test_a_transfer_written_elsewhere_in_this_process_takes_the_officer_out_at_once(room: Room) -> None:
    svc = room.svc
    officer, c = room.officer, room.c
    await messages.post_message(svc, officer, c["_id"], text="saya bantu")
    await svc.db.consultations.update_one(
        {"_id": c["_id"]}, {"$set": {"office": "1808", "assigned_to": None, "status": "queued"}}
    )
    with pytest.raises(Forbidden):
        await messages.post_message(svc, officer, c["_id"], text="masih di sini?")


async def test_a_read_that_overlaps_a_write_keeps_nothing(room: Room) -> None:
    svc = room.svc
    c = room.c
    kept = svc.consultations
    generation = kept.generation(c["_id"])
    stale = await svc.db.consultations.find_one({"_id": c["_id"]})
    assert stale is not None
    await svc.db.consultations.update_one({"_id": c["_id"]}, {"$set": {"status": "closed"}})
    kept.put(c["_id"], stale, generation)
    assert kept.get(c["_id"]) is None
    # Read after the write: kept.
    generation = kept.generation(c["_id"])
    fresh = await svc.db.consultations.find_one({"_id": c["_id"]})
    assert fresh is not None
    kept.put(c["_id"], fresh, generation)
    assert kept.get(c["_id"]) == fresh


async def test_a_write_of_other_documents_forgets_nothing(room: Room) -> None:
    svc = room.svc
    user, _, c = room.user, room.officer, room.c
    await messages.post_message(svc, user, c["_id"], text="halo")
    await svc.db.consultations.update_one({"_id": ObjectId()}, {"$set": {"status": "closed"}})
    await svc.db.messages.update_many({}, {"$set": {"seen": True}})
    other = await svc.db.consultations.find_one({"_id": c["_id"]}, {"_id": 0})
    assert other is not None
    await svc.db.consultations.insert_one({**other, "number": "7406-2026-00010"})
    assert svc.consultations.get(c["_id"]) is not None


def test_which_ids_a_write_command_names() -> None:
    a, b = ObjectId(), ObjectId()
    assert touched("update", {"updates": [{"q": {"_id": a}}, {"q": {"_id": {"$in": [b]}}}]}) == {a, b}
    assert touched("update", {"updates": [{"q": {"_id": a}}, {"q": {"office": "7406"}}]}) is ALL
    assert touched("update", {"updates": [{"q": {"_id": {"$gt": a}}}]}) is ALL
    assert touched("delete", {"deletes": [{"q": {"_id": a}}]}) == {a}
    assert touched("findAndModify", {"query": {"_id": a, "status": "active"}}) == {a}
    assert touched("insert", {"documents": [{"_id": a}]}) == frozenset()


def test_the_message_path_marks_its_own_updates() -> None:
    cache = ConsultationCache()
    cache.enabled = True
    _id = ObjectId()
    cache.put(_id, {"_id": _id, "status": "active"}, cache.generation(_id))
    cache.heard_write(frozenset([_id]), False, True)  # SELF_APPLIED: its sender applies it
    assert cache.get(_id) is not None
    cache.heard_write(frozenset([_id]), True, False)
    assert cache.get(_id) is None
    assert SELF_APPLIED.startswith("pst:")


def test_copies_are_not_used_while_the_other_processes_cannot_be_heard() -> None:
    cache = ConsultationCache()
    cache.enabled = True
    up = [True]
    cache.shared_ok = lambda: up[0]
    _id = ObjectId()
    cache.put(_id, {"_id": _id}, cache.generation(_id))
    assert cache.get(_id) is not None
    up[0] = False
    assert cache.get(_id) is None
    generation = cache.generation(_id)
    cache.put(_id, {"_id": _id}, generation)
    up[0] = True
    cache.forget()  # what the link does when it subscribes again
    assert cache.get(_id) is None
