"""A small populated office for the edge tests (fuzzing, the authorization matrix): people of every role
and one of each kind of resource, made through the public API."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from tests.conftest import Api

Doc = dict[str, Any]

OFFICE = "7406"
OTHER_OFFICE = "1808"
# A Monday morning at the office (Bombana, WITA), far from holidays: visits can be booked for today.
MONDAY_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Asia/Makassar"))
TODAY = MONDAY_MORNING.date().isoformat()
TOMORROW = "2026-11-24"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@dataclass
class World:
    anon: Api
    user_a: Api
    user_b: Api
    officer: Api
    other_officer: Api
    supervisor: Api
    admin: Api
    ids: dict[str, str] = field(default_factory=dict)

    def principals(self) -> dict[str, Api]:
        """The seven principals of the authorization matrix, by name."""
        return {
            "anonymous": self.anon,
            "user_a": self.user_a,
            "user_b": self.user_b,
            "officer": self.officer,
            "officer_other_office": self.other_officer,
            "supervisor": self.supervisor,
            "national_admin": self.admin,
        }


async def open_consultation(user: Api, office: str = OFFICE, subject: str = "Data kemiskinan") -> Doc:
    _, c = await user.call(
        "POST",
        "/consultations",
        {"office": office, "topic": "data", "subject": subject, "text": "Mohon data kemiskinan 2025"},
        expect=201,
    )
    return dict(c)


async def upload(api: Api, cid: str, data: bytes = PNG, filename: str = "grafik.png", client_id: str = "up") -> Doc:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=filename, content_type="application/octet-stream")
    form.add_field("client_id", client_id)
    resp = await api.client.post(
        f"/api/v1/consultations/{cid}/attachments", data=form, headers={"Authorization": f"Bearer {api.token}"}
    )
    body = await resp.json()
    assert resp.status == 201, body
    return dict(body)


async def book_visit(user: Api, cid: str, day: str = TOMORROW) -> str:
    """User books an in-person visit for the day's first free slot (two places an hour); its booking code."""
    booked = await user.post(f"/consultations/{cid}/visit", {"date": day}, expect=201)
    return str(booked["code"])


async def build(anon: Api, make_user: Any, make_staff: Any) -> World:
    """Two members of the public, staff of 7406 (officer, supervisor), an officer of 1808, a national admin,
    and: an active consultation of user A (claimed, with a reply, an attachment and a meeting), a queued
    one, a closed and rated one, a guest book entry with an ID number, a ticket, a canned response, a
    KB article, a visit booked for tomorrow. The test clock is set to a Monday morning first."""
    from server.keys import SERVICES

    anon.client.app[SERVICES].clock.set(MONDAY_MORNING)
    w = World(
        anon=anon,
        user_a=await make_user("Ayu", email="ayu@example.id"),
        user_b=await make_user("Bima", email="bima@example.id"),
        officer=await make_staff("officer", OFFICE, name="Budi"),
        other_officer=await make_staff("officer", OTHER_OFFICE, name="Lina"),
        supervisor=await make_staff("supervisor", OFFICE, name="Wati"),
        admin=await make_staff("admin", None, name="Admin Pusat"),
    )
    active = await open_consultation(w.user_a, subject="Aktif")
    await w.officer.post(f"/consultations/{active['id']}/claim", expect=200)
    await w.officer.post(f"/consultations/{active['id']}/messages", {"text": "Baik, Bu", "client_id": "r1"}, expect=201)
    file_msg = await upload(w.user_a, active["id"])
    meeting = await w.officer.post(
        f"/consultations/{active['id']}/meeting",
        {"provider": "link", "url": "https://meet.example.org/pst-7406"},
        expect=201,
    )
    queued = await open_consultation(w.user_a, subject="Antre")
    closed = await open_consultation(w.user_a, subject="Selesai")
    await w.officer.post(f"/consultations/{closed['id']}/claim", expect=200)
    await w.officer.post(f"/consultations/{closed['id']}/close", {}, expect=200)
    entry = (
        await anon.post(
            f"/offices/{OFFICE}/guestbook",
            {"name": "Tamu", "email": "tamu@example.org", "purpose": "Data", "id_type": "ktp", "id_number": "74060100"},
            expect=201,
        )
    )["entry"]
    taken = await anon.post(f"/offices/{OFFICE}/queue/tickets", {"guestbook_id": entry["id"]}, expect=201)
    ticket = taken["ticket"]
    canned_body = {"title": "Salam", "text": "Selamat pagi", "shortcut": "salam"}
    canned = await w.supervisor.post(f"/offices/{OFFICE}/canned-responses", canned_body, expect=201)
    article = await w.supervisor.post(
        "/kb/articles",
        {"title": "Rumput laut", "body": "Data produksi.", "topic": "data", "scope": OFFICE, "status": "published"},
        expect=201,
    )
    visited = await open_consultation(w.user_a, subject="Kunjungan")
    visit_code = await book_visit(w.user_a, visited["id"])
    w.ids = {
        "consultation": active["id"],
        "queued": queued["id"],
        "closed": closed["id"],
        "attachment": str(file_msg["attachment"]["id"]),
        "meeting": str((meeting.get("meeting") or meeting)["id"]),
        "guestbook": entry["id"],
        "ticket": ticket["id"],
        "ticket_token": taken["token"],
        "canned": canned["id"],
        "article": article["id"],
        "office": OFFICE,
        "visit_code": visit_code,
    }
    return w
