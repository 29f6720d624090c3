"""Events are contracts: every payload survives JSON and matches its type; the page uses the same names."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pydantic import TypeAdapter, ValidationError

from server.domain import events as ev
from server.domain.models import MessageOut, public_message
from server.domain.ports import RecordingEvents

RT_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "rt.js"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
USER_ID, OFFICER_ID, CID = ObjectId(), ObjectId(), ObjectId()


def _consultation(**extra: Any) -> dict[str, Any]:
    """A stored consultation with everything a payload can carry: dates, ids, meeting, visit, rating."""
    return {
        "_id": CID,
        "number": "7406-2026-00001",
        "office": "7406",
        "time_zone": "Asia/Makassar",
        "channel": "online",
        "topic": "data",
        "subject": "Inflasi",
        "status": "active",
        "close_reason": None,
        "user_id": USER_ID,
        "user_name": "Sari",
        "user_email": "sari@example.id",
        "assigned_to": OFFICER_ID,
        "assigned_name": "Budi",
        "created_at": NOW,
        "claimed_at": NOW,
        "first_response_at": None,
        "closed_at": None,
        "last_seq": 5,
        "last_visible_seq": 4,
        "reads": {str(USER_ID): 2, str(OFFICER_ID): 5},
        "last_message_at": NOW,
        "last_message": {"seq": 5, "kind": "note", "text": "RAHASIA", "author_name": "Budi", "created_at": NOW},
        "last_visible_message": {"seq": 4, "kind": "text", "text": "Halo", "author_name": "Sari", "created_at": NOW},
        "sla": {
            "due_at": NOW + timedelta(days=3),
            "state": "at_risk",
            "started_at": NOW,
            "paused": True,
            "alerted": ["at_risk"],
        },
        "kb_query": "inflasi",
        "kb_opened": ["a1"],
        "meeting": {
            "_id": ObjectId(),
            "provider": "zoom",
            "join_url": "https://zoom.example/j/1",
            "start_url": "https://zoom.example/s/1",
            "start": NOW,
            "consultation_id": CID,
        },
        "visit": {"code": "ABCD2345", "slot": NOW, "booked_by": USER_ID},
        "rating": {"score": 5, "at": NOW},
        **extra,
    }


def _board() -> dict[str, Any]:
    """A queue board with a ticket in every list (walkin_board.board_of on stored tickets)."""
    from server.domain.walkin_board import board_of

    office = {
        "code": "7406",
        "name": "BPS Kabupaten Bombana",
        "time_zone": "Asia/Makassar",
        "walk_in": {"service_minutes": 10},
    }
    day = "2026-11-23"

    def ticket(seq: int, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "_id": ObjectId(),
            "office": "7406",
            "day": day,
            "seq": seq,
            "number": f"A-{seq:03d}",
            "status": status,
            "prio": 1,
            "priority": None,
            "created_at": NOW,
            "recalls": 0,
            **extra,
        }

    tickets = [
        ticket(
            1,
            "done",
            called_at=NOW,
            done_at=NOW,
            desk="1",
            promise={"kept": True},
            consultation_id=CID,
            guestbook_id=ObjectId(),
        ),
        ticket(2, "serving", called_at=NOW, served_at=NOW, desk="2"),
        ticket(3, "called", called_at=NOW, last_call_at=NOW, desk="1", recalls=1),
        ticket(4, "waiting", prio=0, priority="elderly"),
    ]
    return board_of(office, tickets, NOW)


def _message(**extra: Any) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "consultation_id": CID,
        "seq": 4,
        "kind": "text",
        "text": "Halo",
        "author_id": USER_ID,
        "author_name": "Sari",
        "author_role": "user",
        "created_at": NOW,
        "client_id": "c-1",
        **extra,
    }


async def _every_emitted_event() -> list[tuple[str, Any, str]]:
    """Run every emit helper on example documents; return what reached the sink."""
    sink = RecordingEvents()
    c = _consultation()
    await ev.emit_message_new(sink, c, _message())
    await ev.emit_message_new(sink, c, _message(kind="note", seq=5, text="RAHASIA", client_id=None))
    await ev.emit_message_new(
        sink, c, _message(kind="file", text="", attachment={"id": ObjectId(), "filename": "tabel.xlsx", "size": 1200})
    )
    await ev.emit_message_new(
        sink,
        c,
        _message(
            kind="meeting",
            author_id=None,
            author_name=None,
            author_role=None,
            client_id=None,
            meeting=c["meeting"],
            data={"event": "meeting_scheduled", "start": NOW, "by": OFFICER_ID},
        ),
    )
    await ev.emit_consultation_updated(sink, c)
    wa = _consultation(
        channel="whatsapp",
        contact={
            "channel": "whatsapp",
            "key": "wa:6281234567890",
            "name": "Sari",
            "address": "+6281234567890",
            "window_until": NOW + timedelta(hours=24),
        },
    )
    await ev.emit_consultation_updated(sink, wa)
    await ev.emit_message_status(sink, wa, _message(delivery={"channel": "whatsapp", "status": "read", "at": NOW}))
    await ev.emit_consultation_updated(
        sink, _consultation(status="queued", assigned_to=None, meeting=None, visit=None, rating=None, last_message=None)
    )
    await ev.emit_queue_updated(sink, "7406", [ev.staff_view(_consultation(status="queued"))])  # type: ignore[list-item]
    await ev.emit_message_read(sink, c, str(USER_ID), 4)
    await ev.emit_sla_alert(sink, c, "breached")
    complaint = {
        "_id": ObjectId(),
        "number": "ADU-7406-2026-0001",
        "office": "7406",
        "source": "rating",
        "status": "received",
        "text": "RAHASIA",  # never in the payload (the staff room includes officers)
        "name": "Sari",
        "due_at": NOW + timedelta(days=7),
    }
    await ev.emit_complaint_alert(sink, complaint, "received")
    await ev.emit_complaint_alert(sink, {**complaint, "status": "in_progress"}, "overdue")
    await ev.emit_followup_alert(
        sink, {"_id": ObjectId(), "office": "7406", "consultation_number": "7406-2026-00001", "status": "open"}
    )
    await ev.emit_session_ended(sink, "logout", session_id=str(ObjectId()))
    await ev.emit_session_ended(sink, "password_reset", user_id=str(USER_ID))
    await ev.emit_queue_board(sink, _board(), "board:7406", "/board")
    # typing is relayed by the namespace itself (it skips the typist), from the same builder.
    await sink.emit(ev.TYPING, ev.typing_relay(str(CID), {"_id": OFFICER_ID, "name": "Budi"}, True), "c:x")
    return sink.events


async def test_every_emitted_payload_round_trips_through_json_against_its_type() -> None:
    events = await _every_emitted_event()
    assert {name for name, _, _ in events} == set(ev.EMITTED), "an emitted event has no example here"
    for name, payload, _ in events:
        wire = json.loads(json.dumps(payload))
        assert wire == payload, name  # no ObjectId, datetime or tuple leaks
        TypeAdapter(ev.EMITTED[name]).validate_python(wire, strict=True)


async def test_notes_reach_staff_rooms_only() -> None:
    events = await _every_emitted_event()
    assert any("RAHASIA" in json.dumps(payload) for _, payload, _ in events)
    for name, payload, room in events:
        if not room.endswith(":staff"):
            assert "RAHASIA" not in json.dumps(payload), (name, room)


def test_a_drifting_payload_fails_its_contract() -> None:
    msg = json.loads(json.dumps(public_message(_message())))
    with pytest.raises(ValidationError):
        TypeAdapter(MessageOut).validate_python({**msg, "author_email": "leak@example.id"})
    with pytest.raises(ValidationError):
        TypeAdapter(ev.MessageRead).validate_python({"consultation_id": "x", "seq": 1})


RECEIVED_EXAMPLES: dict[str, Any] = {
    ev.CONSULTATION_JOIN: {"consultation_id": str(CID), "after_seq": 12},
    ev.CONSULTATION_LEAVE: {"consultation_id": str(CID)},
    ev.MESSAGE_SEND: {"consultation_id": str(CID), "text": "Halo", "client_id": "c-1", "kind": "text"},
    ev.MESSAGE_READ: {"consultation_id": str(CID), "seq": 4},
    ev.TYPING: {"consultation_id": str(CID), "typing": True},
    ev.BOARD_WATCH: {"office": "7406"},
}


def test_every_received_payload_parses_with_its_model() -> None:
    assert set(RECEIVED_EXAMPLES) == set(ev.RECEIVED)
    for name, example in RECEIVED_EXAMPLES.items():
        parsed = ev.RECEIVED[name].model_validate(json.loads(json.dumps(example)))
        assert parsed.model_dump(exclude_unset=True) == example, name


def test_acks_are_json() -> None:
    c = ev.consultation_view(_consultation(), {"_id": USER_ID, "role": "user"})
    msg = public_message(_message())
    acks: list[tuple[Any, Any]] = [
        (ev.JoinAck, {"ok": True, "consultation": c, "messages": [msg]}),
        (ev.SendAck, {"ok": True, "message": msg}),
        (ev.ReadAck, {"ok": True, "seq": 4}),
        (ev.OkAck, {"ok": True}),
        (ev.BoardAck, {"ok": True, "board": _board()}),
        (ev.ErrorAck, {"ok": False, "error": {"code": "forbidden", "message": "no"}}),
    ]
    for kind, ack in acks:
        wire = json.loads(json.dumps(ack))
        assert wire == ack
        TypeAdapter(kind).validate_python(wire, strict=True)


def _python_names() -> dict[str, str]:
    names = {k: v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str)}
    assert set(names.values()) == set(ev.EMITTED) | set(ev.RECEIVED)
    return names


def test_rt_js_exports_the_same_event_names() -> None:
    js = dict(re.findall(r'^export const ([A-Z_]+) = "([^"]*)";$', RT_JS.read_text(encoding="utf-8"), re.M))
    assert js == _python_names()


def test_no_event_is_emitted_by_a_literal_name() -> None:
    root = Path(__file__).resolve().parents[2]
    literal_emit = re.compile(r"""\.emit\(\s*["']""")
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for package in ("server", "schedulers", "notifier")
        for path in (root / package).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal_emit.search(line)
    ]
    assert offenders == [], "emit through server/domain/events.py's names and helpers"
