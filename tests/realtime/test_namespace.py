"""Each socket handler alone: a ConsultationNamespace on a fake Socket.IO server, real actions on the test database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio
from bson import ObjectId

from server.domain import events as ev
from server.domain import inputs
from server.domain.errors import Forbidden, NotFound, RateLimited
from server.domain.ports import RecordingEvents
from server.domain.rooms import (
    consultation_room,
    consultation_staff_room,
    office_staff_room,
    session_room,
    user_room,
)
from server.domain.security import token_hash
from server.http.auth import COOKIE_NAME
from server.realtime.board import BoardNamespace
from server.realtime.namespace import MESSAGES_PER_SECOND, ConsultationNamespace, _Bucket
from server.realtime.presence import Presence
from server.services import Services

Doc = dict[str, Any]
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@dataclass
class FakeServer:
    """What the namespace uses of socketio.AsyncServer: sessions, rooms and emit, all in dicts."""

    sessions: dict[str, Doc] = field(default_factory=dict)
    joined: dict[str, set[str]] = field(default_factory=dict)
    emitted: list[tuple[str, Any, str | None, str | None]] = field(default_factory=list)
    not_handled: object = field(default_factory=object)

    async def save_session(self, sid: str, session: Doc, namespace: str | None = None) -> None:
        self.sessions[sid] = session

    async def get_session(self, sid: str, namespace: str | None = None) -> Doc:
        return self.sessions[sid]  # KeyError for an unknown sid, as the real server

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.joined.setdefault(sid, {sid}).add(room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.joined.get(sid, set()).discard(room)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return sorted(self.joined.get(sid, set()))

    async def emit(
        self, event: str, data: Any = None, room: str | None = None, skip_sid: str | None = None, **_: Any
    ) -> None:
        self.emitted.append((event, data, room, skip_sid))


@dataclass
class World:
    ns: ConsultationNamespace
    server: FakeServer
    svc: Services
    user: Doc
    officer: Doc
    c: Doc

    @property
    def sink(self) -> list[tuple[str, Any, str]]:
        events: list[tuple[str, Any, str]] = self.svc.events.events  # type: ignore[attr-defined]
        return events

    async def sign_in(self, sid: str, who: Doc) -> None:
        """A connected socket of `who` with its login session, as on_connect leaves it."""
        login = await self.svc.db.sessions.insert_one(
            {"token_hash": token_hash(f"{sid}-token"), "user_id": who["_id"], "expires_at": NOW + timedelta(days=1)}
        )
        await self.server.save_session(sid, {"user": who, "session_id": login.inserted_id})


async def _insert(svc: Services, coll: str, doc: Doc) -> Doc:
    doc["_id"] = (await svc.db[coll].insert_one(dict(doc))).inserted_id
    return doc


@pytest.fixture
async def world(svc: Services) -> World:
    svc.events = RecordingEvents()
    svc.presence = Presence()
    user = await _insert(
        svc,
        "users",
        {"name": "Sari", "email": "sari@example.id", "role": "user", "created_at": NOW, "email_verified_at": NOW},
    )
    officer = await _insert(
        svc,
        "users",
        {
            "name": "Budi",
            "email": "budi@bps.go.id",
            "role": "officer",
            "office": "7406",
            "created_at": NOW,
            "email_verified_at": NOW,
        },
    )
    c = await _insert(
        svc,
        "consultations",
        {
            "number": "7406-2026-00001",
            "office": "7406",
            "channel": "online",
            "topic": "data",
            "subject": "Inflasi",
            "user_id": user["_id"],
            "user_name": "Sari",
            "status": "active",
            "assigned_to": officer["_id"],
            "assigned_name": "Budi",
            "created_at": NOW,
            "last_seq": 3,
            "last_visible_seq": 2,
            "reads": {},
            "sla": {"state": "met", "due_at": NOW + timedelta(days=3)},
        },
    )
    await svc.db.messages.insert_many(
        [
            {
                "consultation_id": c["_id"],
                "seq": 1,
                "kind": "text",
                "text": "Halo",
                "created_at": NOW,
                "author_id": user["_id"],
                "author_name": "Sari",
                "author_role": "user",
            },
            {"consultation_id": c["_id"], "seq": 2, "kind": "system", "text": "Diambil Budi", "created_at": NOW},
            {
                "consultation_id": c["_id"],
                "seq": 3,
                "kind": "note",
                "text": "RAHASIA",
                "created_at": NOW,
                "author_id": officer["_id"],
                "author_name": "Budi",
                "author_role": "officer",
            },
        ]
    )
    server = FakeServer()
    ns = ConsultationNamespace(lambda: svc)
    ns._set_server(server)
    return World(ns, server, svc, user, officer, c)


# --- connect / disconnect ---------------------------------------------------------------------


async def test_connect_refuses_without_a_valid_token(world: World) -> None:
    for environ, auth in [({}, None), ({}, {"token": "forged"}), ({"HTTP_COOKIE": f"{COOKIE_NAME}=nope"}, {})]:
        with pytest.raises(socketio.exceptions.ConnectionRefusedError):
            await world.ns.on_connect("s1", environ, auth)
    assert world.server.sessions == {}


async def test_connect_by_token_or_cookie_enters_standing_rooms(world: World) -> None:
    logins = {}
    for who, tok in ((world.user, "user-token"), (world.officer, "officer-token")):
        res = await world.svc.db.sessions.insert_one(
            {"token_hash": token_hash(tok), "user_id": who["_id"], "expires_at": NOW + timedelta(days=30)}
        )
        logins[tok] = session_room(str(res.inserted_id))  # logout ends the sockets of this room
    await world.ns.on_connect("u1", {}, {"token": "user-token"})
    await world.ns.on_connect("o1", {"HTTP_COOKIE": f"{COOKIE_NAME}=officer-token"}, None)
    assert world.server.rooms("u1") == sorted({"u1", user_room(str(world.user["_id"])), logins["user-token"]})
    assert world.server.rooms("o1") == sorted(
        {"o1", user_room(str(world.officer["_id"])), office_staff_room("7406"), logins["officer-token"]}
    )
    assert world.server.sessions["u1"]["user"]["name"] == "Sari"
    assert "password_hash" not in world.server.sessions["u1"]["user"]
    presence = world.svc.presence
    assert presence.is_online(str(world.user["_id"])) and presence.online_staff("7406") == [str(world.officer["_id"])]
    await world.ns.on_disconnect("o1", "client disconnect")
    assert presence.online_staff("7406") == []
    await world.ns.on_disconnect("never-connected")  # no session: nothing to undo


# --- events, called directly with parsed payloads ---------------------------------------------


async def test_join_returns_history_after_seq_and_enters_rooms(world: World) -> None:
    await world.sign_in("u1", world.user)
    await world.sign_in("o1", world.officer)
    cid = str(world.c["_id"])
    ack = await world.ns.on_consultation_join("u1", inputs.JoinIn(consultation_id=cid, after_seq=0))
    assert ack["ok"] and [m["seq"] for m in ack["messages"]] == [1, 2]  # the note is staff's
    assert ack["consultation"]["id"] == cid and ack["consultation"]["unread"] == 2
    assert consultation_room(cid) in world.server.rooms("u1")
    assert consultation_staff_room(cid) not in world.server.rooms("u1")
    staff_ack = await world.ns.on_consultation_join("o1", inputs.JoinIn(consultation_id=cid, after_seq=1))
    assert [m["seq"] for m in staff_ack["messages"]] == [2, 3]
    assert consultation_staff_room(cid) in world.server.rooms("o1")
    assert await world.ns.on_consultation_leave("o1", inputs.ConsultationRef(consultation_id=cid)) == {"ok": True}
    assert not {consultation_room(cid), consultation_staff_room(cid)} & set(world.server.rooms("o1"))


async def test_join_someone_elses_or_a_missing_consultation_raises(world: World) -> None:
    stranger = await _insert(
        world.svc, "users", {"name": "X", "email": "x@example.id", "role": "user", "created_at": NOW}
    )
    await world.sign_in("x1", stranger)
    with pytest.raises(Forbidden):
        await world.ns.on_consultation_join("x1", inputs.JoinIn(consultation_id=str(world.c["_id"])))
    with pytest.raises(NotFound):
        await world.ns.on_consultation_join("x1", inputs.JoinIn(consultation_id=str(ObjectId())))
    assert world.server.rooms("x1") == []


async def test_send_stores_acks_and_emits_through_the_action(world: World) -> None:
    await world.sign_in("u1", world.user)
    cid = str(world.c["_id"])
    ack = await world.ns.on_message_send(
        "u1", inputs.SendMessageIn(consultation_id=cid, text="  Terima kasih  ", client_id="k1")
    )
    assert ack["ok"] and ack["message"]["seq"] == 4 and ack["message"]["text"] == "Terima kasih"
    assert ack["message"]["author"] == {"id": str(world.user["_id"]), "name": "Sari", "role": "user"}
    assert [(e, room) for e, _, room in world.sink] == [
        (ev.MESSAGE_NEW, consultation_room(cid)),
        (ev.ROOM_ACTIVITY, office_staff_room("7406")),
    ]
    # The same client_id again: the first message, nothing new emitted.
    again = await world.ns.on_message_send(
        "u1", inputs.SendMessageIn(consultation_id=cid, text="Terima kasih", client_id="k1")
    )
    assert again["message"]["id"] == ack["message"]["id"] and len(world.sink) == 2


async def test_send_leaves_the_note_rule_to_the_action(world: World) -> None:
    await world.sign_in("u1", world.user)
    await world.sign_in("o1", world.officer)
    cid = str(world.c["_id"])
    with pytest.raises(Forbidden):
        await world.ns.on_message_send("u1", inputs.SendMessageIn(consultation_id=cid, text="x", kind="note"))
    note = await world.ns.on_message_send(
        "o1", inputs.SendMessageIn(consultation_id=cid, text="cek bidang distribusi", kind="note")
    )
    assert note["message"]["kind"] == "note"
    assert [(e, room) for e, _, room in world.sink] == [(ev.MESSAGE_NEW, consultation_staff_room(cid))]


async def test_send_is_rate_limited_per_connection(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Real time stands still for the test, so a slow machine cannot refill the bucket between sends.
    frozen = time.monotonic()
    monkeypatch.setattr(_Bucket, "clock", staticmethod(lambda: frozen))
    # The bucket is made on connect: two connections of the same user.
    await world.svc.db.sessions.insert_one(
        {"token_hash": token_hash("t"), "user_id": world.user["_id"], "expires_at": NOW + timedelta(days=1)}
    )
    await world.ns.on_connect("u1", {}, {"token": "t"})
    await world.ns.on_connect("u2", {}, {"token": "t"})
    cid = str(world.c["_id"])

    def msg(i: int) -> inputs.SendMessageIn:
        return inputs.SendMessageIn(consultation_id=cid, text=f"m{i}", client_id=f"c{i}")

    for i in range(MESSAGES_PER_SECOND):
        await world.ns.on_message_send("u1", msg(i))
    with pytest.raises(RateLimited):
        await world.ns.on_message_send("u1", msg(99))
    assert (await world.ns.on_message_send("u2", msg(100)))["ok"]  # another connection has its own bucket


async def test_typing_is_relayed_to_the_room_but_not_the_typist(world: World) -> None:
    await world.sign_in("o1", world.officer)
    cid = str(world.c["_id"])
    with pytest.raises(Forbidden):
        await world.ns.on_typing("o1", inputs.TypingIn(consultation_id=cid, typing=True))
    await world.ns.on_consultation_join("o1", inputs.JoinIn(consultation_id=cid))
    assert await world.ns.on_typing("o1", inputs.TypingIn(consultation_id=cid, typing=True)) == {"ok": True}
    relay = {"consultation_id": cid, "user": {"id": str(world.officer["_id"]), "name": "Budi"}, "typing": True}
    assert world.server.emitted == [(ev.TYPING, relay, consultation_room(cid), "o1")]
    assert world.sink == []  # not a stored change: the action's sink hears nothing


async def test_read_moves_the_pointer_and_acks_where_it_is(world: World) -> None:
    await world.sign_in("u1", world.user)
    cid = str(world.c["_id"])
    ack = await world.ns.on_message_read("u1", inputs.ReadMessageIn(consultation_id=cid, seq=9))
    assert ack == {"ok": True, "seq": 2}  # capped at the last message the user can see
    ack = await world.ns.on_message_read("u1", inputs.ReadMessageIn(consultation_id=cid, seq=1))
    assert ack == {"ok": True, "seq": 2}  # never back
    assert world.sink[0] == (
        ev.MESSAGE_READ,
        {"consultation_id": cid, "user_id": str(world.user["_id"]), "seq": 2},
        consultation_room(cid),
    )


# --- dispatch: the table, payload validation, error acks --------------------------------------


def test_every_received_event_has_a_handler() -> None:
    ns = ConsultationNamespace(lambda: None)  # type: ignore[arg-type,return-value]
    # The queue boards' event is handled by their own namespace (server/realtime/board.py).
    board = BoardNamespace(lambda: None)  # type: ignore[arg-type,return-value]
    assert set(ns.handlers).isdisjoint(board.handlers)
    assert set(ns.handlers) | set(board.handlers) == set(ev.RECEIVED)


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        (ev.MESSAGE_SEND, "not an object", "invalid_payload"),
        (ev.MESSAGE_SEND, None, "invalid_payload"),
        (ev.MESSAGE_SEND, {"consultation_id": "x", "text": "t", "kind": "file"}, "invalid_kind"),
        (ev.MESSAGE_SEND, {"consultation_id": "x", "text": "t", "kind": "system"}, "invalid_kind"),
        (ev.MESSAGE_SEND, {"consultation_id": "x", "text": "t", "client_id": 7}, "invalid_client_id"),
        (ev.MESSAGE_SEND, {"consultation_id": "x", "text": "t", "client_id": "x" * 101}, "invalid_client_id"),
        (ev.MESSAGE_SEND, {"consultation_id": "x", "text": 5}, "invalid_text"),
        (ev.CONSULTATION_JOIN, {"consultation_id": "x", "after_seq": -1}, "invalid_after_seq"),
        (ev.CONSULTATION_JOIN, {"consultation_id": "x", "after_seq": True}, "invalid_after_seq"),
        (ev.CONSULTATION_JOIN, {"consultation_id": "x", "after_seq": "3"}, "invalid_after_seq"),
        (ev.MESSAGE_READ, {"consultation_id": "x", "seq": -4}, "invalid_seq"),
        (ev.TYPING, {"typing": True}, "missing_consultation_id"),
    ],
)
async def test_bad_payloads_become_error_acks(world: World, event: str, payload: Any, code: str) -> None:
    await world.sign_in("u1", world.user)
    ack = await world.ns.trigger_event(event, "u1", payload)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    assert set(ack["error"]) == {"code", "message"}
    assert world.sink == [] and await world.svc.db.messages.count_documents({}) == 3


async def test_action_errors_become_error_acks_and_rules_come_from_the_action(world: World) -> None:
    await world.sign_in("u1", world.user)
    cid = str(world.c["_id"])
    send = world.ns.trigger_event
    for payload, code in [
        ({"consultation_id": cid, "text": "x" * 4001, "client_id": "a"}, "message_too_long"),
        ({"consultation_id": cid, "text": "   ", "client_id": "b"}, "empty_text"),
        ({"consultation_id": "garbage", "text": "x"}, "not_found"),
        ({"consultation_id": cid, "text": "x", "kind": "note"}, "forbidden"),
    ]:
        ack = await send(ev.MESSAGE_SEND, "u1", payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, (payload, ack)
    await world.svc.db.consultations.update_one({"_id": world.c["_id"]}, {"$set": {"status": "closed"}})
    ack = await send(ev.MESSAGE_SEND, "u1", {"consultation_id": cid, "text": "halo?", "client_id": "z"})
    assert ack == {"ok": False, "error": {"code": "consultation_closed", "message": ack["error"]["message"]}}
    ok = await send(ev.MESSAGE_READ, "u1", {"consultation_id": cid, "seq": 1})
    assert ok == {"ok": True, "seq": 1}


async def test_unexpected_failure_is_an_internal_error_ack(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.ns, "_user", boom)
    ack = await world.ns.trigger_event(ev.MESSAGE_READ, "u1", {"consultation_id": "x", "seq": 1})
    assert ack == {"ok": False, "error": {"code": "internal_error", "message": "internal error"}}


async def test_unknown_events_are_not_handled(world: World) -> None:
    assert await world.ns.trigger_event("message:delete", "u1", {}) is world.server.not_handled
