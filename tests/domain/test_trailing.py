"""A room's update trails its message (server.storage.batching.Trailing): what may wait, what may not, and
why it is safe across processes: a message's updates give the same room in whatever order they land."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import pytest

from server.domain import access, messages
from server.services import Services
from server.storage.batching import apply_update
from tests.domain import test_messages
from tests.domain.test_messages import Room

Doc = dict[str, Any]

# The fixture of the message tests: an active consultation of 7406 with its user and officer.
room = test_messages.room

# The fields a message's update writes; the rest of the consultation is not theirs.
ROOM_FIELDS = (
    "last_seq",
    "last_visible_seq",
    "last_message",
    "last_visible_message",
    "last_message_at",
    "last_user_message_at",
    "last_staff_message_at",
    "reads",
    "idle",
    "first_response_at",
    "answered_at",
    "sla",
)


def _room_part(c: Doc | None) -> Doc:
    assert c is not None
    return {k: c.get(k) for k in ROOM_FIELDS}


@pytest.fixture
def trailing(room: Room) -> Room:
    room.svc.batch.trailing.delay = 0.2
    return room


async def _stored(svc: Services, c: Doc) -> Doc:
    found = await svc.db.consultations.find_one({"_id": c["_id"]})
    assert found is not None
    return found


async def test_a_message_is_acknowledged_before_its_room_update_which_lands_within_the_delay(trailing: Room) -> None:
    svc, c = trailing.svc, trailing.c
    # The first answer goes at once (the SLA rests on it).
    _, after = await messages.post_message(svc, trailing.officer, c, text="Jawaban", client_id="o1")
    assert (await _stored(svc, c))["first_response_at"] is not None
    # Then the conversation's messages trail: stored and acknowledged, the room not yet written.
    _, after = await messages.post_message(svc, trailing.user, after, text="Terima kasih", client_id="u1")
    _, after = await messages.post_message(svc, trailing.officer, after, text="Sama-sama", client_id="o2")
    _, after = await messages.post_message(svc, trailing.user, after, text="Satu lagi", client_id="u2")
    _, after = await messages.post_message(svc, trailing.officer, after, text="Silakan", client_id="o3")
    assert await svc.db.messages.count_documents({"consultation_id": c["_id"]}) == 5
    stored = await _stored(svc, c)
    assert stored["last_seq"] == 1 and len(svc.batch.trailing) > 0
    # This process reads its own: a load has them.
    loaded = await access.load(svc, c["_id"])
    assert loaded["last_seq"] == 5 and loaded["last_message"]["text"] == "Silakan" and loaded["idle"]["seq"] == 5
    assert _room_part(loaded) == _room_part(after)
    # Within the delay they land, as one call, and the database holds what the copy held.
    calls = svc.batch.room_updates.calls
    await asyncio.sleep(0.4)
    assert len(svc.batch.trailing) == 0 and svc.batch.room_updates.calls == calls + 1
    assert _room_part(await _stored(svc, c)) == _room_part(after)


async def test_what_may_not_wait(trailing: Room) -> None:
    svc, c, officer, user = trailing.svc, trailing.c, trailing.officer, trailing.user
    # The first answer (the SLA is met by it).
    _, c = await messages.post_message(svc, officer, c, text="Jawaban pertama", client_id="o1")
    stored = await _stored(svc, c)
    assert stored["sla"]["state"] == "met" and stored["idle"]["seq"] == 1 and len(svc.batch.trailing) == 0
    # A staff reply or a user's reply trails while the idle plan it replaces or ends is not due soon...
    _, c = await messages.post_message(svc, officer, c, text="Lanjutan", client_id="o2")
    assert (await _stored(svc, c))["idle"]["seq"] == 1 and c["idle"]["seq"] == 2
    _, c = await messages.post_message(svc, user, c, text="Balasan", client_id="u1")
    # (a reply leaves the idle state at its own seq, with no plan: it ended every plan before it)
    assert (await _stored(svc, c))["idle"]["seq"] == 1 and c["idle"] == {"seq": 3}
    _, c = await messages.post_message(svc, officer, c, text="Jawaban lagi", client_id="o3")
    await svc.batch.trailing.flush()
    assert (await _stored(svc, c))["idle"]["seq"] == 4
    # ...but at once when the sweep may act on that plan within IDLE_PLAN_MARGIN: a staff reply replacing it,
    svc.clock.set(c["idle"]["check_at"] - timedelta(minutes=1))  # type: ignore[attr-defined]
    _, c = await messages.post_message(svc, officer, c, text="Masih ada?", client_id="o4")
    assert (await _stored(svc, c))["idle"]["seq"] == 5
    # and a user's reply ending it.
    svc.clock.set(c["idle"]["check_at"] - timedelta(minutes=1))  # type: ignore[attr-defined]
    _, c = await messages.post_message(svc, user, c, text="Ya, masih", client_id="u2")
    assert (await _stored(svc, c))["idle"] == {"seq": 6}
    # An internal note: counters, it waits.
    await messages.post_message(svc, officer, c, text="catatan", kind="note", client_id="n1")
    assert (await _stored(svc, c))["last_seq"] == 6 and len(svc.batch.trailing) == 1


async def test_a_user_reply_while_the_sla_is_paused_goes_at_once(trailing: Room) -> None:
    svc, c = trailing.svc, trailing.c
    await svc.db.consultations.update_one({"_id": c["_id"]}, {"$set": {"sla.paused": True, "sla.paused_at": svc.now()}})
    c = await access.load(svc, c["_id"])
    await messages.post_message(svc, trailing.user, c, text="Ini datanya", client_id="u1")
    assert (await _stored(svc, c))["sla"].get("paused") is False


async def test_read_pointers_trail_and_are_read_back_by_this_process(trailing: Room) -> None:
    svc, c = trailing.svc, trailing.c
    _, c = await messages.post_message(svc, trailing.officer, c, text="Jawaban", client_id="o1")
    await svc.batch.trailing.flush()
    updated = await messages.mark_read(svc, trailing.user, c["_id"], 1)
    uid = str(trailing.user["_id"])
    assert updated["reads"][uid] == 1 and uid not in (await _stored(svc, c)).get("reads", {})
    assert (await access.load(svc, c["_id"]))["reads"][uid] == 1
    await svc.batch.trailing.flush()
    assert (await _stored(svc, c))["reads"][uid] == 1


async def test_a_read_past_what_this_process_knows_counts_a_message_stored_elsewhere(room: Room) -> None:
    svc, c = room.svc, room.c
    # Another process stored seq 1 and its room update has not landed: the message is there, last_seq is 0.
    await svc.db.messages.insert_one(
        {"consultation_id": c["_id"], "seq": 1, "kind": "text", "text": "x", "created_at": svc.now()}
    )
    updated = await messages.mark_read(svc, room.user, c["_id"], 1)
    assert updated["reads"][str(room.user["_id"])] == 1
    # A seq with no message behind it still counts only up to the last one known.
    updated = await messages.mark_read(svc, room.user, c["_id"], 5)
    assert updated["reads"][str(room.user["_id"])] == 1


def _scenario(r: Room) -> list[tuple[Doc, str, Doc | None]]:
    """(author, kind, ...) of a conversation whose updates change every field they can."""
    return [
        (r.officer, "text", None),  # first answer: SLA met, idle plan 1
        (r.user, "text", None),  # ends plan 1
        (r.officer, "note", None),  # counters only
        (r.officer, "text", None),  # plan 4
        (r.user, "text", None),  # ends plan 4
        (r.officer, "text", None),  # plan 6, lives on
    ]


async def test_the_updates_of_a_conversation_give_one_room_in_any_order(room: Room) -> None:
    """What makes trailing safe with several processes: each one's writes of a room land when they land."""
    svc = room.svc
    office = await svc.db.offices.find_one({"code": "7406"})
    c = dict(room.c)
    per_message: list[Doc] = []
    for seq, (author, kind, _) in enumerate(_scenario(room), start=1):
        svc.clock.advance(60)  # type: ignore[attr-defined]
        msg = {"consultation_id": c["_id"], "seq": seq, "kind": kind, "text": f"m{seq}", "created_at": svc.now()}
        msg.update(author_id=author["_id"], author_name=author["name"], author_role=author["role"])
        if author["role"] == "officer" and kind == "text":
            msg["answer"] = True
        update, _ = messages.room_update(c, msg, author, office)
        per_message.append(update)
        c = apply_update(c, update)
    in_order = _room_part(c)
    assert in_order["idle"]["seq"] == 6 and "close_at" in in_order["idle"]
    assert in_order["last_message"]["seq"] == 6 and in_order["sla"]["state"] == "met"
    # Every order of the messages' updates, applied by the database to the room as it was.
    orders = list(itertools.permutations(range(len(per_message))))
    for order in orders[:: max(1, len(orders) // 40)] + [tuple(reversed(range(len(per_message))))]:
        await svc.db.consultations.replace_one({"_id": c["_id"]}, room.c)
        for i in order:
            await svc.db.consultations.update_one({"_id": c["_id"]}, per_message[i])
        assert _room_part(await _stored(svc, c)) == in_order, order
