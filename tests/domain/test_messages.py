"""server.domain.messages: who may write which kind (post_message), and the system's own messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from server.domain import messages
from server.domain.errors import Conflict, DomainError, Forbidden, ValidationFailed
from server.domain.models import public_message
from server.domain.ports import RecordingEvents
from server.services import Services

Doc = dict[str, Any]


@dataclass
class Room:
    svc: Services
    user: Doc
    officer: Doc
    stranger: Doc
    other_officer: Doc
    c: Doc

    @property
    def events(self) -> list[tuple[str, Any, str]]:
        assert isinstance(self.svc.events, RecordingEvents)
        return self.svc.events.events


async def _insert(svc: Services, coll: str, doc: Doc) -> Doc:
    doc["_id"] = (await svc.db[coll].insert_one(dict(doc))).inserted_id
    return doc


@pytest.fixture
async def room(svc: Services) -> Room:
    """An active consultation of office 7406 (the database has the schema and the seed offices): its user,
    its officer, a stranger, an officer of 1808."""
    now = svc.now()

    async def person(name: str, role: str, office: str | None = None) -> Doc:
        doc = {"name": name, "email": f"{name.lower()}@example.id", "role": role, "created_at": now}
        return await _insert(svc, "users", {**doc, "office": office} if office else doc)

    user = await person("Sari", "user")
    stranger = await person("Lain", "user")
    officer = await person("Budi", "officer", "7406")
    other = await person("Rina", "officer", "1808")
    c = await _insert(
        svc,
        "consultations",
        {
            "number": "7406-2026-00001",
            "office": "7406",
            "time_zone": "Asia/Makassar",
            "user_id": user["_id"],
            "user_name": "Sari",
            "status": "active",
            "channel": "online",
            "assigned_to": officer["_id"],
            "assigned_name": "Budi",
            "created_at": now,
            "last_seq": 0,
            "last_visible_seq": 0,
            "reads": {},
            "sla": {"state": "on_track", "due_at": now + timedelta(days=3)},
        },
    )
    return Room(svc, user, officer, stranger, other, c)


# --- post_message: the one place that decides who writes what --------------------------------

ALLOWED = [
    ("user", "text", None),
    ("officer", "text", None),
    ("officer", "note", None),
    ("user", "file", {"id": "a1", "filename": "tabel.xlsx"}),
    ("officer", "file", {"id": "a2", "filename": "tabel.xlsx"}),
]


@pytest.mark.parametrize(("who", "kind", "attachment"), ALLOWED)
async def test_people_write_their_kinds(room: Room, who: str, kind: str, attachment: Doc | None) -> None:
    author = getattr(room, who)
    msg, c = await messages.post_message(room.svc, author, room.c, text="isi", kind=kind, attachment=attachment)
    assert msg["kind"] == kind and msg["author_id"] == author["_id"] and msg["seq"] == 1
    assert c["last_seq"] == 1 and c["reads"][str(author["_id"])] == 1


REFUSED = [
    # A person never writes the system's kinds, whoever they are (a user could write "meeting" before).
    ("user", "meeting", None, "invalid_kind"),
    ("officer", "meeting", None, "invalid_kind"),
    ("user", "system", None, "invalid_kind"),
    ("officer", "rating", None, "invalid_kind"),
    ("user", "shout", None, "invalid_kind"),
    ("user", "note", None, "forbidden"),
    ("stranger", "text", None, "forbidden"),
    ("other_officer", "text", None, "forbidden"),
    ("other_officer", "note", None, "forbidden"),
    ("user", "file", None, "missing_attachment"),
    ("user", "text", {"id": "a1", "filename": "x.pdf"}, "invalid_kind"),
]


@pytest.mark.parametrize(("who", "kind", "attachment", "code"), REFUSED)
async def test_people_cannot_write_other_kinds(
    room: Room, who: str, kind: str, attachment: Doc | None, code: str
) -> None:
    with pytest.raises(DomainError) as err:
        await messages.post_message(room.svc, getattr(room, who), room.c, text="isi", kind=kind, attachment=attachment)
    assert err.value.code == code
    assert isinstance(err.value, Forbidden if code == "forbidden" else ValidationFailed)
    assert await room.svc.db.messages.count_documents({}) == 0 and room.events == []


@pytest.mark.parametrize("client_id", ["", "x" * 101])
async def test_client_id_is_checked(room: Room, client_id: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        await messages.post_message(room.svc, room.user, room.c, text="isi", client_id=client_id)
    assert err.value.code == "invalid_client_id"


async def test_a_closed_room_takes_no_one_s_message(room: Room) -> None:
    await room.svc.db.consultations.update_one(
        {"_id": room.c["_id"]}, {"$set": {"status": "closed", "close_reason": "resolved", "closed_at": room.svc.now()}}
    )
    for who in (room.user, room.officer):
        with pytest.raises(Conflict) as err:
            await messages.post_message(room.svc, who, room.c["_id"], text="masih ada?")
        assert err.value.code == "consultation_closed"


# --- post_system_message ------------------------------------------------------------------------


async def test_a_system_message_keeps_its_key_and_params_beside_its_indonesian_text(room: Room) -> None:
    msg, c = await messages.post_system_message(
        room.svc, room.c, "consultation.claimed", params={"officer": "Budi"}, data={"event": "claimed"}
    )
    assert msg["text"] == "Konsultasi diambil oleh Budi."
    assert msg["kind"] == "system" and msg["author_id"] is None and msg["author_role"] == "system"
    assert msg["data"] == {"event": "claimed", "key": "consultation.claimed", "params": {"officer": "Budi"}}
    assert c["last_seq"] == 1 and c["last_visible_message"]["text"] == "Konsultasi diambil oleh Budi."
    out = public_message(msg)
    assert out["key"] == "consultation.claimed" and out["params"] == {"officer": "Budi"}
    assert out["author"] == {"id": None, "name": "Sistem", "role": "system"}
    [(name, payload, _)] = [e for e in room.events if e[0] == "message:new"]
    assert payload == out
    # Nobody read it by writing it; nothing about the officer's reply clock moved.
    assert c["reads"] == {} and "last_staff_message_at" not in c and "idle" not in c


async def test_params_render_as_values_in_each_language(room: Room) -> None:
    close_at = room.svc.now() + timedelta(days=1)
    msg, _ = await messages.post_system_message(
        room.svc, room.c, "consultation.idle_warning", params={"close_at": close_at, "tz": "Asia/Makassar"}
    )
    assert "Selasa, 24 November 2026 10.00 WITA" in msg["text"]
    stored = await room.svc.db.messages.find_one({"_id": msg["_id"]})
    assert stored is not None and stored["data"]["params"]["tz"] == "Asia/Makassar"
    assert public_message(stored)["params"]["close_at"] == "2026-11-24T02:00:00+00:00"


async def test_system_and_rating_messages_reach_a_closed_room_a_meeting_does_not(room: Room) -> None:
    await room.svc.db.consultations.update_one({"_id": room.c["_id"]}, {"$set": {"status": "closed"}})
    closed = await room.svc.db.consultations.find_one({"_id": room.c["_id"]})
    await messages.post_system_message(room.svc, closed, "consultation.rating_prompt")
    await messages.post_system_message(
        room.svc, closed, "rating.given", params={"score": 5, "max": 5, "comment": None}, kind="rating"
    )
    meeting = {"provider": "jitsi", "start": None, "tz": "Asia/Makassar", "duration": 30}
    with pytest.raises(Conflict):
        await messages.post_system_message(
            room.svc, closed, "meeting.created", params={**meeting, "join_url": None, "passcode": None}, kind="meeting"
        )
    assert [m["kind"] async for m in room.svc.db.messages.find({}).sort("seq", 1)] == ["system", "rating"]


async def test_a_client_id_makes_a_system_message_idempotent(room: Room) -> None:
    first, _ = await messages.post_system_message(room.svc, room.c, "consultation.sla_paused", client_id="job:1")
    again, c = await messages.post_system_message(room.svc, room.c, "consultation.sla_paused", client_id="job:1")
    assert again["_id"] == first["_id"] and await room.svc.db.messages.count_documents({}) == 1


async def test_a_system_message_is_cut_to_the_message_length(room: Room) -> None:
    summary = "ringkasan " * 500
    msg, _ = await messages.post_system_message(
        room.svc, room.c, "consultation.closed", params={"by": "Budi", "summary": summary}
    )
    assert len(msg["text"]) == messages.MESSAGE_MAX_CHARS and msg["text"].startswith("Konsultasi ditutup oleh Budi.")


async def test_only_the_system_s_kinds_go_through_post_system_message(room: Room) -> None:
    with pytest.raises(ValueError):
        await messages.post_system_message(
            room.svc, room.c, "consultation.claimed", params={"officer": "x"}, kind="text"
        )
    with pytest.raises(KeyError):
        await messages.post_system_message(room.svc, room.c, "no.such.key")
    assert await room.svc.db.messages.count_documents({}) == 0


async def test_a_database_fallen_behind_refuses_a_message_as_busy_and_stores_nothing(room: Room) -> None:
    from server.storage.batching import Overloaded
    from server.storage.db import refusal

    async def behind(doc: Doc) -> Any:
        raise Overloaded("the oldest waited over 1 s")

    room.svc.batch.messages.insert = behind  # type: ignore[method-assign]
    with pytest.raises(Overloaded) as exc:
        await messages.post_message(room.svc, room.user, room.c, text="Halo", client_id="c1")
    # What every transport answers (tests/realtime/test_namespace.py sees it on a socket and over HTTP).
    refused = refusal(exc.value)
    assert refused is not None and refused.code == "busy" and refused.status == 409
    assert await room.svc.db.messages.count_documents({}) == 0
    assert (await room.svc.db.consultations.find_one({"_id": room.c["_id"]}))["last_seq"] == 0


async def test_the_consultation_a_message_returns_is_the_stored_one(room: Room) -> None:
    """No read-back: what post_message returns is the update applied to its copy, equal to what was stored."""
    await messages.post_message(room.svc, room.user, room.c, text="Pertanyaan", client_id="u1")
    _, c = await messages.post_message(room.svc, room.officer, room.c["_id"], text="Jawaban", client_id="o1")
    stored = await room.svc.db.consultations.find_one({"_id": room.c["_id"]})
    for key in (
        "last_seq",
        "last_visible_seq",
        "reads",
        "last_message",
        "last_visible_message",
        "sla",
        "idle",
        "first_response_at",
        "answered_at",
        "last_staff_message_at",
        "last_user_message_at",
    ):
        assert c.get(key) == stored.get(key), key


async def test_a_room_written_by_another_process_is_numbered_from_the_consultation_without_a_clash(
    room: Room,
) -> None:
    """This process's seq hint is behind when another process wrote the room; the consultation read again
    after that write knows better, so the insert goes once instead of clashing and re-reading the highest seq."""
    svc = room.svc
    await messages.post_message(svc, room.user, room.c["_id"], text="satu")
    # Another process stores seq 2..4 and updates the consultation (its write is heard: the copy is forgotten).
    for seq in (2, 3, 4):
        await svc.db.messages.insert_one(
            {"consultation_id": room.c["_id"], "seq": seq, "kind": "text", "text": "x", "created_at": svc.now()}
        )
    await svc.db.consultations.update_one({"_id": room.c["_id"]}, {"$max": {"last_seq": 4, "last_visible_seq": 4}})
    inserts_before = svc.batch.messages.calls
    msg, _ = await messages.post_message(svc, room.officer, room.c["_id"], text="lima")
    assert msg["seq"] == 5
    assert svc.batch.messages.calls - inserts_before == 1
