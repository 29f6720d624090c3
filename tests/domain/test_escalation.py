"""Escalation: Zoom/Jitsi/pasted-link meetings and in-person visits, against the real app.

Zoom is the fake Zoom server (tests/fakes/fake_zoom.py), mail goes to a real SMTP server (aiosmtpd) through
the app's own notifier, and time is the test clock. The host's start link is checked on every path
a user can reach: the room message, consultation:updated, GET /consultations/{id}, the messages,
the transcript and the e-mail.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import jwt
import pytest
from bson import ObjectId

from schedulers.meeting_jobs import send_meeting_reminders
from server.domain import meetings, visits
from server.settings import Settings
from server.storage.sweeps import CLAIM_LEASE
from tests.conftest import Api, Received, SmtpServer
from tests.fakes.fake_zoom import FakeZoom, fake_zoom_server  # noqa: F401

MAKASSAR = ZoneInfo("Asia/Makassar")  # office 7406 (Bombana)
JAKARTA = ZoneInfo("Asia/Jakarta")  # office 1808 (Tulang Bawang)
# Monday 23 November 2026, 10:00 in Bombana, 09:00 in Tulang Bawang; no holiday near.
NOW = "2026-11-23T09:00:00+07:00"
TOMORROW_2PM = "2026-11-24T14:00:00+08:00"
JITSI_APP_ID = "pst-test-app"


@pytest.fixture
def jitsi_secret() -> str | None:
    """No signed Jitsi links unless a test parametrizes this."""
    return None


@pytest.fixture
def settings(settings: Settings, fake_zoom: FakeZoom, smtp_server: SmtpServer, jitsi_secret: str | None) -> Settings:
    """The conftest settings pointed at the fake Zoom and the test SMTP server."""
    return settings.model_copy(
        update={
            "zoom_account_id": fake_zoom.account_id,
            "zoom_client_id": fake_zoom.client_id,
            "zoom_client_secret": fake_zoom.client_secret,
            "zoom_api_base": fake_zoom.api_base,
            "zoom_oauth_url": fake_zoom.oauth_url,
            "smtp_url": smtp_server.url,
            "mail_from": "PST Konsultasi <pst@pst.test>",
            "jitsi_base_url": "https://meet.pst.test",
            "jitsi_app_id": JITSI_APP_ID if jitsi_secret else None,
            "jitsi_app_secret": jitsi_secret,
        }
    )


# --- helpers --------------------------------------------------------------------------------


async def set_clock(api: Api, when: str) -> Any:
    return (await api.call("POST", "/_test/clock", {"set": when}, expect=200))[1]


async def advance_clock(api: Api, seconds: float) -> Any:
    return (await api.call("POST", "/_test/clock", {"advance_seconds": seconds}, expect=200))[1]


async def open_room(make_user: Any, make_staff: Any, anon: Api, office: str = "7406") -> tuple[Api, Api, Any]:
    """A user's consultation at `office`, claimed by an officer there, with the clock at NOW."""
    await set_clock(anon, NOW)
    user = await make_user(name="Sari Warga")
    officer = await make_staff("officer", office, name="Budi Petugas")
    c = await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data kemiskinan", "text": "Mohon penjelasan data."},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    return user, officer, c


def no_host_link(payload: Any, start_url: str) -> None:
    """The host's link, or its host key, appears nowhere in what a user got."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    assert "start_url" not in text and "host_start_url" not in text
    assert start_url not in text
    zak = start_url.split("zak=")[-1]
    assert zak not in text


def roundtrip(payload: Any) -> None:
    assert json.loads(json.dumps(payload)) == payload


async def mails_to(
    smtp: SmtpServer, to: str, subject_part: str, count: int = 1, wait_secs: float = 10
) -> list[Received]:
    deadline = time.monotonic() + wait_secs
    while True:
        got = [r for r in smtp.handler.received if to in r.rcpt_tos and subject_part in str(r.message["Subject"])]
        if len(got) >= count:
            return got
        if time.monotonic() > deadline:
            subjects = [str(r.message["Subject"]) for r in smtp.handler.received]
            raise AssertionError(f"no {count} mail(s) '{subject_part}' to {to}; got {subjects}")
        await asyncio.sleep(0.05)


def text_part(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def every_part(msg: EmailMessage) -> str:
    """All decoded parts of the mail, to look for what must not be there."""
    out = [str(v) for _, v in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        out.append(content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content))
    return "\n".join(out)


def calendar_of(msg: EmailMessage) -> tuple[str, dict[str, str], str]:
    """(method parameter, {property: value} of the unfolded .ics, the raw .ics text)."""
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.walk()]
    part = parts[0]
    content = part.get_content()
    raw = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    unfolded = raw.replace("\r\n ", "").replace("\n ", "")
    props: dict[str, str] = {}
    for line in unfolded.splitlines():
        name, _, value = line.partition(":")
        props.setdefault(name, value)
    return str(part.get_param("method")), props, raw


async def create_zoom(officer: Api, cid: str, start: str | None = TOMORROW_2PM, expect: int = 201) -> Any:
    body: dict[str, Any] = {"provider": "zoom", "duration_min": 45}
    if start is not None:
        body["start_time"] = start
    return (await officer.call("POST", f"/consultations/{cid}/meeting", body, expect=expect))[1]


# --- Zoom -----------------------------------------------------------------------------------


async def test_zoom_meeting_reaches_the_user_everywhere_without_the_host_link(
    make_user: Any, make_staff: Any, anon: Api, connect: Any, fake_zoom: FakeZoom, smtp_server: SmtpServer
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    usock = await connect(user)
    assert (await usock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

    m = await create_zoom(officer, c["id"])

    # The fake received a scheduled meeting in the office's zone, with the waiting room on.
    [call] = fake_zoom.created
    assert call.body["type"] == 2
    assert call.body["start_time"] == "2026-11-24T14:00:00" and call.body["timezone"] == "Asia/Makassar"
    assert call.body["settings"]["waiting_room"] is True and call.body["duration"] == 45
    assert c["number"] in call.body["topic"]
    [zoom_meeting] = fake_zoom.meetings.values()
    start_url = zoom_meeting["start_url"]
    # The officer, and only the officer, gets the host link.
    assert m["host_start_url"] == start_url
    assert m["join_url"] == zoom_meeting["join_url"] and m["passcode"] == zoom_meeting["password"]
    assert m["provider"] == "zoom" and m["instant"] is False and m["status"] == "scheduled"
    assert m["start_time"] == "2026-11-24T06:00:00+00:00" and m["start_local"] == "2026-11-24T14:00:00+08:00"
    assert m["when_text"] == "Selasa, 24 November 2026 14.00 WITA"

    # The room: a meeting message with the join link, time in the office's zone, no host link.
    got = await usock.wait_for("message:new", lambda d: d["kind"] == "meeting")
    roundtrip(got)
    no_host_link(got, start_url)
    assert got["meeting"]["join_url"] == m["join_url"] and got["meeting"]["passcode"] == m["passcode"]
    assert "Selasa, 24 November 2026 14.00 WITA" in got["text"] and m["join_url"] in got["text"]
    # consultation:updated to the user carries the meeting, not the host link.
    upd = await usock.wait_for("consultation:updated", lambda d: (d.get("meeting") or {}).get("id") == m["id"])
    roundtrip(upd)
    no_host_link(upd, start_url)
    assert upd["meeting"]["join_url"] == m["join_url"]
    # The REST views the user has.
    detail = await user.get(f"/consultations/{c['id']}")
    no_host_link(detail, start_url)
    assert detail["meeting"]["join_url"] == m["join_url"]
    page = await user.get(f"/consultations/{c['id']}/messages")
    no_host_link(page, start_url)
    assert any(x["kind"] == "meeting" for x in page["messages"])
    listing = await user.get("/consultations")
    no_host_link(listing, start_url)
    # The transcript has the meeting once (its room message, issue 17 item 5) with its join link.
    _, transcript = await user.call("GET", f"/consultations/{c['id']}/transcript?format=text", expect=200)
    no_host_link(transcript, start_url)
    assert transcript.count("Pertemuan daring (Zoom) dijadwalkan Selasa, 24 November 2026 14.00 WITA") == 1
    assert m["join_url"] in transcript
    # The staff's own views hold no host link either: it lives in `meetings` only.
    staff_detail = await officer.get(f"/consultations/{c['id']}")
    no_host_link(staff_detail, start_url)

    # The invitation e-mail, as the SMTP server received it.
    [mail] = await mails_to(smtp_server, user.user["email"], "Pertemuan daring")
    no_host_link(every_part(mail.message), start_url)
    assert start_url.split("zak=")[-1].encode() not in mail.raw
    text = text_part(mail.message)
    assert m["join_url"] in text and m["passcode"] in text and "Selasa, 24 November 2026 14.00 WITA" in text
    method, ics, raw_ics = calendar_of(mail.message)
    assert method == "REQUEST" and ics["METHOD"] == "REQUEST"
    assert ics["DTSTART;TZID=Asia/Makassar"] == "20261124T140000"
    assert ics["DTEND;TZID=Asia/Makassar"] == "20261124T144500"
    assert "TZID:Asia/Makassar" in raw_ics and "TZNAME:WITA" in raw_ics
    assert ics["SEQUENCE"] == "0" and ics["UID"].startswith(f"pst-meeting-{m['id']}@")
    assert ics["URL"] == m["join_url"]
    assert ics['ATTENDEE;CN="Sari Warga";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE'] == (
        f"mailto:{user.user['email']}"
    )

    # The host link is stored, and only in the meetings collection.
    _, again = await officer.call("GET", f"/meetings/{m['id']}", expect=200)
    assert again["host_start_url"] == start_url
    await user.call("GET", f"/meetings/{m['id']}", expect=403)


async def test_zoom_instant_meeting(
    make_user: Any, make_staff: Any, anon: Api, fake_zoom: FakeZoom, services: Any
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    m = await create_zoom(officer, c["id"], start=None)
    [call] = fake_zoom.created
    assert call.body["type"] == 1 and "start_time" not in call.body
    assert m["instant"] is True and m["start_time"] is None and m["when_text"].startswith("sekarang")
    stored = await services.db.meetings.find_one({"_id": ObjectId(m["id"])})
    assert "reminder_at" not in stored  # nothing to remind of
    page = await user.get(f"/consultations/{c['id']}/messages")
    [msg] = [x for x in page["messages"] if x["kind"] == "meeting"]
    assert "dimulai sekarang" in msg["text"] and m["join_url"] in msg["text"]
    # An instant Zoom meeting has no start time to move.
    _, err = await officer.call("PATCH", f"/meetings/{m['id']}", {"start_time": TOMORROW_2PM}, expect=422)
    assert err["error"]["code"] == "instant_meeting"


async def test_zoom_401_fetches_a_new_token_once_and_retries(
    make_user: Any, make_staff: Any, anon: Api, fake_zoom: FakeZoom
) -> None:
    _, officer, c = await open_room(make_user, make_staff, anon)
    await create_zoom(officer, c["id"])
    assert fake_zoom.token_requests == 1
    fake_zoom.fail_401_next = 1
    m = await create_zoom(officer, c["id"], start="2026-11-25T10:00:00+08:00")
    assert m["join_url"]
    assert fake_zoom.token_requests == 2 and len(fake_zoom.meetings) == 2
    # A cached token serves the next call without a token request.
    await create_zoom(officer, c["id"], start="2026-11-26T10:00:00+08:00")
    assert fake_zoom.token_requests == 2


async def test_zoom_429_backs_off_then_succeeds(
    make_user: Any, make_staff: Any, anon: Api, fake_zoom: FakeZoom
) -> None:
    _, officer, c = await open_room(make_user, make_staff, anon)
    fake_zoom.fail_429_next = 1
    fake_zoom.retry_after = "1"
    started = time.monotonic()
    m = await create_zoom(officer, c["id"])
    assert time.monotonic() - started >= 0.9  # it waited for Retry-After
    assert m["join_url"] and len(fake_zoom.meetings) == 1


async def test_zoom_validation_error_is_a_plain_422(
    make_user: Any, make_staff: Any, anon: Api, fake_zoom: FakeZoom, services: Any
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    fake_zoom.fail_400_next = 1
    fake_zoom.fail_400_message = "Invalid meeting topic."
    err = await create_zoom(officer, c["id"], expect=422)
    assert err["error"]["code"] == "zoom_rejected"
    assert "Zoom menolak permintaan: Invalid meeting topic." in err["error"]["message"]
    # Our own checks answer before Zoom is asked.
    requests_before = fake_zoom.api_requests
    err = await create_zoom(officer, c["id"], start="2026-11-23T08:00:00+08:00", expect=422)
    assert err["error"]["code"] == "start_in_past"
    err = await create_zoom(officer, c["id"], start="2026-11-24T14:00:00", expect=422)
    assert err["error"]["code"] == "invalid_start_time"
    _, err = await officer.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "skype"}, expect=422)
    assert err["error"]["code"] == "invalid_provider"
    assert fake_zoom.api_requests == requests_before
    # Nothing half-made: no meeting stored, no message posted.
    assert await services.db.meetings.count_documents({}) == 0
    page = await user.get(f"/consultations/{c['id']}/messages")
    assert not [x for x in page["messages"] if x["kind"] == "meeting"]


async def test_zoom_down_is_a_503_with_a_clear_code(
    make_user: Any, make_staff: Any, anon: Api, fake_zoom: FakeZoom, services: Any
) -> None:
    _, officer, c = await open_room(make_user, make_staff, anon)
    fake_zoom.fail_oauth_500_next = 1
    err = await create_zoom(officer, c["id"], expect=503)
    assert err["error"]["code"] == "zoom_unavailable" and "Jitsi" in err["error"]["message"]
    fake_zoom.fail_500_next = 1
    err = await create_zoom(officer, c["id"], expect=503)
    assert err["error"]["code"] == "zoom_unavailable"
    assert await services.db.meetings.count_documents({}) == 0
    # And it works again once Zoom is back.
    await create_zoom(officer, c["id"])


async def test_only_staff_of_the_office_create_meetings(make_user: Any, make_staff: Any, anon: Api) -> None:
    user, _, c = await open_room(make_user, make_staff, anon)
    await user.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "jitsi"}, expect=403)
    elsewhere = await make_staff("officer", "1808")
    await elsewhere.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "jitsi"}, expect=403)


# --- Jitsi and pasted links -----------------------------------------------------------------


async def test_jitsi_room_without_jwt(make_user: Any, make_staff: Any, anon: Api) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    _, m = await officer.call(
        "POST",
        f"/consultations/{c['id']}/meeting",
        {"provider": "jitsi", "start_time": TOMORROW_2PM},
        expect=201,
    )
    assert re.fullmatch(r"https://meet\.pst\.test/pst-[a-z2-7]{32}", m["join_url"])
    assert m["host_start_url"] == m["join_url"] and m["passcode"] is None
    other = (await officer.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "jitsi"}, expect=201))[1]
    assert other["join_url"] != m["join_url"]  # a fresh unguessable room each time
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["meeting"]["join_url"] == other["join_url"]


@pytest.mark.parametrize("jitsi_secret", ["jitsi-test-secret-0123456789abcdef"])
async def test_jitsi_room_with_signed_links(make_user: Any, make_staff: Any, anon: Api, jitsi_secret: str) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    _, m = await officer.call(
        "POST",
        f"/consultations/{c['id']}/meeting",
        {"provider": "jitsi", "start_time": TOMORROW_2PM},
        expect=201,
    )
    room_url, _, token = m["join_url"].partition("?jwt=")
    host_room, _, host_token = m["host_start_url"].partition("?jwt=")
    assert room_url == host_room and token != host_token
    opts = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    claims = jwt.decode(token, jitsi_secret, algorithms=["HS256"], audience="jitsi", options=opts)
    host = jwt.decode(host_token, jitsi_secret, algorithms=["HS256"], audience="jitsi", options=opts)
    assert claims["iss"] == JITSI_APP_ID and claims["sub"] == "meet.pst.test"
    assert claims["room"] == room_url.rsplit("/", 1)[1]
    assert claims["context"]["user"]["moderator"] is False and claims["context"]["user"]["name"] == "Sari Warga"
    assert host["context"]["user"]["moderator"] is True and host["context"]["user"]["name"] == "Budi Petugas"
    # Valid through the meeting (14:00 + 45 min, plus the grace), not forever.
    end = datetime(2026, 11, 24, 6, 45, tzinfo=UTC)
    assert claims["exp"] >= int(end.timestamp()) and claims["exp"] <= int((end + timedelta(hours=3)).timestamp())
    page = await user.get(f"/consultations/{c['id']}/messages")
    no_host_link(page, m["host_start_url"].split("?jwt=")[1])
    # A later start gets tokens valid until the new end, for the same room.
    _, moved = await officer.call(
        "PATCH", f"/meetings/{m['id']}", {"start_time": "2026-11-27T14:00:00+08:00"}, expect=200
    )
    assert moved["join_url"].startswith(room_url + "?jwt=") and moved["join_url"] != m["join_url"]
    new_claims = jwt.decode(
        moved["join_url"].split("?jwt=")[1],
        jitsi_secret,
        algorithms=["HS256"],
        audience="jitsi",
        options=opts,
    )
    assert new_claims["exp"] >= int(datetime(2026, 11, 27, 6, 45, tzinfo=UTC).timestamp())


async def test_pasted_link_https_only(make_user: Any, make_staff: Any, anon: Api) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    path = f"/consultations/{c['id']}/meeting"
    link = "https://meet.google.com/abc-defg-hij"
    _, m = await officer.call("POST", path, {"provider": "link", "url": link, "start_time": TOMORROW_2PM}, expect=201)
    assert m["provider"] == "link" and m["join_url"] == link
    for bad in (
        "http://meet.google.com/abc-defg-hij",
        "javascript:alert(1)",
        "https://user:pw@evil.test/x",
        "ftp://files.test/x",
    ):
        _, err = await officer.call("POST", path, {"provider": "link", "url": bad}, expect=422)
        assert err["error"]["code"] == "invalid_url", bad
    _, err = await officer.call("POST", path, {"provider": "link"}, expect=422)
    assert err["error"]["code"] == "missing_url"
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["meeting"]["join_url"] == link


# --- reschedule, cancel, reminder -----------------------------------------------------------


async def test_reschedule_and_cancel_update_the_invite(
    make_user: Any,
    make_staff: Any,
    anon: Api,
    fake_zoom: FakeZoom,
    smtp_server: SmtpServer,
    connect: Any,
    services: Any,
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    usock = await connect(user)
    await usock.call("consultation:join", {"consultation_id": c["id"]})
    m = await create_zoom(officer, c["id"])
    [first] = await mails_to(smtp_server, user.user["email"], "Pertemuan daring")
    _, first_ics, _ = calendar_of(first.message)

    _, moved = await officer.call(
        "PATCH",
        f"/meetings/{m['id']}",
        {"start_time": "2026-11-25T09:00:00+08:00", "duration_min": 30},
        expect=200,
    )
    assert moved["sequence"] == 1 and moved["start_local"] == "2026-11-25T09:00:00+08:00" and moved["duration"] == 30
    assert "host_start_url" not in moved
    zoom_meeting = fake_zoom.meetings[int(next(iter(fake_zoom.meetings)))]
    assert zoom_meeting["start_time"] == "2026-11-25T01:00:00Z" and zoom_meeting["duration"] == 30
    msg = await usock.wait_for("message:new", lambda d: "diubah" in d["text"])
    assert msg["kind"] == "meeting" and "Rabu, 25 November 2026 09.00 WITA" in msg["text"]
    upd = await usock.wait_for("consultation:updated", lambda d: (d.get("meeting") or {}).get("sequence") == 1)
    assert upd["meeting"]["start_local"] == "2026-11-25T09:00:00+08:00"
    [changed] = await mails_to(smtp_server, user.user["email"], "Perubahan: pertemuan daring")
    method, ics, _ = calendar_of(changed.message)
    assert method == "REQUEST" and ics["METHOD"] == "REQUEST"
    assert ics["UID"] == first_ics["UID"] and ics["SEQUENCE"] == "1"
    assert ics["DTSTART;TZID=Asia/Makassar"] == "20261125T090000"
    assert ics["DTEND;TZID=Asia/Makassar"] == "20261125T093000"
    stored = await services.db.meetings.find_one({"_id": ObjectId(m["id"])})
    assert stored["reminder_at"] == datetime(2026, 11, 25, 0, 45, tzinfo=UTC)

    _, cancelled = await officer.call("DELETE", f"/meetings/{m['id']}", expect=200)
    assert cancelled["status"] == "cancelled" and cancelled["sequence"] == 2 and cancelled["join_url"] is None
    assert fake_zoom.meetings == {}
    [gone] = await mails_to(smtp_server, user.user["email"], "Dibatalkan: pertemuan daring")
    method, ics, _ = calendar_of(gone.message)
    assert method == "CANCEL" and ics["METHOD"] == "CANCEL" and ics["STATUS"] == "CANCELLED"
    assert ics["UID"] == first_ics["UID"] and ics["SEQUENCE"] == "2"
    assert m["join_url"] not in text_part(gone.message)
    msg = await usock.wait_for("message:new", lambda d: "dibatalkan" in d["text"])
    assert msg["meeting"]["status"] == "cancelled"
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["meeting"]["status"] == "cancelled" and detail["meeting"]["join_url"] is None
    stored = await services.db.meetings.find_one({"_id": ObjectId(m["id"])})
    assert "reminder_at" not in stored
    # Cancelling again changes nothing; a cancelled meeting cannot be moved.
    _, again = await officer.call("POST", f"/meetings/{m['id']}/cancel", expect=200)
    assert again["sequence"] == 2 and again["message"] is None
    _, err = await officer.call("PATCH", f"/meetings/{m['id']}", {"start_time": TOMORROW_2PM}, expect=409)
    assert err["error"]["code"] == "meeting_cancelled"
    await officer.call("DELETE", f"/meetings/{ObjectId()}", expect=404)


async def test_reminder_fifteen_minutes_before(
    make_user: Any, make_staff: Any, anon: Api, smtp_server: SmtpServer, services: Any
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    m = await create_zoom(officer, c["id"])
    await set_clock(anon, "2026-11-24T13:44:00+08:00")
    page = await user.get(f"/consultations/{c['id']}/messages")
    assert not [x for x in page["messages"] if "Pengingat" in x["text"]]
    ran = await advance_clock(anon, 60)  # 13:45 WITA
    assert ran["ran"]["meeting_reminders"] == 1
    page = await user.get(f"/consultations/{c['id']}/messages")
    [reminder] = [x for x in page["messages"] if "Pengingat" in x["text"]]
    assert "Selasa, 24 November 2026 14.00 WITA" in reminder["text"] and m["join_url"] in reminder["text"]
    [mail] = await mails_to(smtp_server, user.user["email"], "Pengingat: pertemuan daring")
    assert m["join_url"] in text_part(mail.message)
    no_host_link(every_part(mail.message), m["host_start_url"])
    stored = await services.db.meetings.find_one({"_id": ObjectId(m["id"])})
    assert "reminder_at" not in stored and stored["reminded_at"] is not None
    # Only once.
    ran = await advance_clock(anon, 120)
    assert ran["ran"]["meeting_reminders"] == 0
    page = await user.get(f"/consultations/{c['id']}/messages")
    assert len([x for x in page["messages"] if "Pengingat" in x["text"]]) == 1


async def test_no_reminder_for_a_cancelled_or_moved_meeting(make_user: Any, make_staff: Any, anon: Api) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    gone = await create_zoom(officer, c["id"])
    await officer.call("DELETE", f"/meetings/{gone['id']}", expect=200)
    moved = await create_zoom(officer, c["id"])
    await officer.call("PATCH", f"/meetings/{moved['id']}", {"start_time": "2026-11-24T16:00:00+08:00"}, expect=200)
    ran = await set_clock(anon, "2026-11-24T13:46:00+08:00")
    assert ran["ran"]["meeting_reminders"] == 0
    ran = await set_clock(anon, "2026-11-24T15:45:00+08:00")
    assert ran["ran"]["meeting_reminders"] == 1
    page = await user.get(f"/consultations/{c['id']}/messages")
    [reminder] = [x for x in page["messages"] if "Pengingat" in x["text"]]
    assert "16.00 WITA" in reminder["text"]


def reminders_in(page: Any) -> list[Any]:
    return [x for x in page["messages"] if "Pengingat" in x["text"]]


async def test_a_reminder_that_fails_after_its_claim_is_sent_once_when_the_lease_runs_out(
    make_user: Any, make_staff: Any, anon: Api, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    m = await create_zoom(officer, c["id"])  # 14:00 WITA tomorrow: the reminder is due at 13:45
    real = meetings.remind_meeting
    failed: list[Any] = []

    async def crash_once(svc: Any, meeting: Any) -> bool:
        if not failed:
            failed.append(meeting["_id"])
            raise RuntimeError("the runner died after its claim")
        return await real(svc, meeting)

    monkeypatch.setattr(meetings, "remind_meeting", crash_once)
    await set_clock(anon, "2026-11-24T13:45:00+08:00")
    assert failed == [ObjectId(m["id"])]
    assert not reminders_in(await user.get(f"/consultations/{c['id']}/messages"))
    # The claim's lease keeps the meeting aside until it runs out ...
    ran = await advance_clock(anon, CLAIM_LEASE.total_seconds() - 1)
    assert ran["ran"]["meeting_reminders"] == 0
    assert not reminders_in(await user.get(f"/consultations/{c['id']}/messages"))
    # ... then a runner sends the reminder, once.
    ran = await advance_clock(anon, 1)
    assert ran["ran"]["meeting_reminders"] == 1
    ran = await advance_clock(anon, CLAIM_LEASE.total_seconds() + 60)
    assert ran["ran"]["meeting_reminders"] == 0
    assert len(reminders_in(await user.get(f"/consultations/{c['id']}/messages"))) == 1
    assert await services.db.outbox.count_documents({"kind": "meeting_reminder"}) == 1
    stored = await services.db.meetings.find_one({"_id": ObjectId(m["id"])})
    assert "reminder_at" not in stored and stored["reminded_at"] is not None


async def test_two_runners_at_once_send_one_reminder(make_user: Any, make_staff: Any, anon: Api, services: Any) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    m = await create_zoom(officer, c["id"])
    # A wall clock has microseconds; the database keeps milliseconds. The claim must survive that.
    services.clock.set(datetime(2026, 11, 24, 13, 45, 0, 123_457, tzinfo=MAKASSAR))
    counts = await asyncio.gather(send_meeting_reminders(services), send_meeting_reminders(services))
    assert sorted(counts) == [0, 1]
    assert await send_meeting_reminders(services) == 0
    [reminder] = reminders_in(await user.get(f"/consultations/{c['id']}/messages"))
    assert m["join_url"] in reminder["text"]
    assert await services.db.outbox.count_documents({"kind": "meeting_reminder"}) == 1


# --- visits ---------------------------------------------------------------------------------


def test_slots_follow_visit_hours_and_working_days() -> None:
    office = {
        "code": "7406",
        "time_zone": "Asia/Makassar",
        "policy": {"extra_closed_dates": ["2026-11-26"]},
        "visit_hours": {
            "weekdays": {"mon": ["08:00", "15:30"], "fri": ["08:00", "16:00"]},
            "slot_minutes": 60,
            "slot_capacity": 3,
        },
    }
    monday = visits.day_slots(date(2026, 11, 23), office)
    assert [s.astimezone(MAKASSAR).strftime("%H:%M") for s, _ in monday] == [
        "08:00",
        "09:00",
        "10:00",
        "11:00",
        "12:00",
        "13:00",
        "14:00",
    ]  # 15:00 would end after 15:30
    assert len(visits.day_slots(date(2026, 11, 27), office)) == 8
    assert visits.closed_reason(date(2026, 11, 24), office) == "no_visit_hours"  # no Tuesday hours
    assert visits.closed_reason(date(2026, 11, 26), office) == "office_closed"  # the office's own closed date
    assert visits.closed_reason(date(2026, 11, 28), office) == "weekend"
    assert visits.closed_reason(date(2026, 12, 25), office) == "holiday"
    assert visits.holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"
    assert visits.closed_reason(date(2026, 12, 24), office) == "holiday"  # joint leave day (cuti bersama)
    assert visits.visit_hours_of(office).slot_capacity == 3
    codes = {visits.new_visit_code() for _ in range(200)}
    assert len(codes) == 200 and all(re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", x) for x in codes)
    assert meetings.reminder_at_for(datetime(2026, 11, 24, 6, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)) == (
        datetime(2026, 11, 24, 5, 45, tzinfo=UTC)
    )
    assert (
        meetings.reminder_at_for(datetime(2026, 11, 24, 6, tzinfo=UTC), datetime(2026, 11, 24, 5, 50, tzinfo=UTC))
        is None
    )


async def test_list_visit_slots(make_user: Any, anon: Api) -> None:
    await set_clock(anon, NOW)
    user = await make_user()
    out = await user.get("/offices/7406/visit-slots?from=2026-11-23&days=7")
    assert out["time_zone"] == "Asia/Makassar" and out["slot_capacity"] == 2 and out["slot_minutes"] == 60
    days = {d["date"]: d for d in out["days"]}
    assert len(days) == 7
    # Monday: 10:00 WITA now, so the slots still ahead.
    assert [s["time"] for s in days["2026-11-23"]["slots"]] == ["11:00", "12:00", "13:00", "14:00"]
    assert len(days["2026-11-24"]["slots"]) == 7 and len(days["2026-11-27"]["slots"]) == 8
    assert days["2026-11-28"]["open"] is False and days["2026-11-28"]["closed_reason"] == "weekend"
    assert days["2026-11-28"]["slots"] == []
    first = days["2026-11-24"]["slots"][0]
    assert first == {
        "start": "2026-11-24T00:00:00+00:00",
        "end": "2026-11-24T01:00:00+00:00",
        "time": "08:00",
        "start_local": "2026-11-24T08:00:00+08:00",
        "capacity": 2,
        "booked": 0,
        "available": 2,
    }
    christmas = await user.get("/offices/7406/visit-slots?from=2026-12-24&days=2")
    assert [(d["closed_reason"], d["holiday"]) for d in christmas["days"]] == [
        ("holiday", "Cuti Bersama Hari Raya Natal"),
        ("holiday", "Hari Raya Natal"),
    ]
    await user.call("GET", "/offices/7406/visit-slots?from=24-12-2026", expect=422)
    await user.call("GET", "/offices/7406/visit-slots?days=500", expect=400)
    await user.call("GET", "/offices/9999/visit-slots", expect=404)


async def test_book_a_visit_confirmation_and_code_lookup(
    make_user: Any, make_staff: Any, anon: Api, smtp_server: SmtpServer, connect: Any
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    usock = await connect(user)
    await usock.call("consultation:join", {"consultation_id": c["id"]})
    _, v = await user.call(
        "POST", f"/consultations/{c['id']}/visit", {"date": "2026-11-25", "slot": "09:00"}, expect=201
    )
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", v["code"])
    assert v["status"] == "booked" and v["start_local"] == "2026-11-25T09:00:00+08:00"
    assert v["when_text"] == "Rabu, 25 November 2026 09.00 WITA" and v["place"] == "Perpustakaan BPS Kabupaten Bombana"
    # The room message: code, time, place, address, requirements.
    msg = await usock.wait_for("message:new", lambda d: "Kode pemesanan" in d["text"])
    roundtrip(msg)
    assert v["code"] in msg["text"] and "Rabu, 25 November 2026 09.00 WITA" in msg["text"]
    assert "Kabupaten Bombana, Sulawesi Tenggara" in msg["text"] and "kartu identitas" not in msg["text"]
    upd = await usock.wait_for("consultation:updated", lambda d: (d.get("visit") or {}).get("code") == v["code"])
    assert upd["visit"]["slot_start"] == "2026-11-25T01:00:00+00:00"
    slots = await user.get("/offices/7406/visit-slots?from=2026-11-25&days=1")
    nine = next(s for s in slots["days"][0]["slots"] if s["time"] == "09:00")
    assert nine["booked"] == 1 and nine["available"] == 1
    # The e-mail confirmation with an .ics of the visit.
    [mail] = await mails_to(smtp_server, user.user["email"], "Kunjungan terjadwal")
    text = text_part(mail.message)
    assert v["code"] in text and "Alamat: Perpustakaan BPS Kabupaten Bombana" in text
    assert "Datang langsung ke Perpustakaan BPS Kabupaten Bombana" in text
    method, ics, _ = calendar_of(mail.message)
    assert method == "REQUEST" and ics["DTSTART;TZID=Asia/Makassar"] == "20261125T090000"
    # The walk-in desk finds the consultation by the code, as typed.
    typed = v["code"][:4].lower() + "-" + v["code"][4:]
    found = await officer.get(f"/visits/{typed}")
    assert found["consultation"]["id"] == c["id"] and found["visit"]["code"] == v["code"]
    elsewhere = await make_staff("officer", "1808")
    await elsewhere.call("GET", f"/visits/{v['code']}", expect=404)
    await user.call("GET", f"/visits/{v['code']}", expect=403)
    await officer.call("GET", "/visits/ZZZZZZZZ", expect=404)


async def test_id_card_line_for_tulang_bawang(
    make_user: Any, make_staff: Any, anon: Api, smtp_server: SmtpServer
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon, office="1808")
    _, v = await officer.call(
        "POST", f"/consultations/{c['id']}/visit", {"date": "2026-11-24T10:00:00+07:00"}, expect=201
    )
    assert v["id_card_required"] is True
    assert any("kartu identitas" in r for r in v["requirements"])
    assert "kartu identitas" in v["message"]["text"] and "KTP" in v["message"]["text"]
    [mail] = await mails_to(smtp_server, user.user["email"], "Kunjungan terjadwal")
    text = text_part(mail.message)
    assert "Memiliki kartu identitas yang masih berlaku (KTP, SIM, Paspor, dan lain-lain)" in text
    assert "Selasa, 24 November 2026 10.00 WIB" in text and "Unit PST BPS Kabupaten Tulang Bawang" in text


async def test_visit_refused_on_closed_days_outside_hours_and_in_the_past(
    make_user: Any, make_staff: Any, anon: Api, services: Any
) -> None:
    user, _, c = await open_room(make_user, make_staff, anon)
    await services.db.offices.update_one({"code": "7406"}, {"$set": {"policy.extra_closed_dates": ["2026-11-27"]}})
    services.offices.forget()  # written behind the app's back: read it again
    path = f"/consultations/{c['id']}/visit"
    cases = [
        ({"date": "2026-11-27", "slot": "09:00"}, "office_closed"),  # the office's own closed day
        ({"date": "2026-11-28", "slot": "09:00"}, "office_closed"),  # Saturday
        ({"date": "2026-11-29T09:00:00+08:00"}, "office_closed"),  # Sunday
        ({"date": "2026-12-25", "slot": "09:00"}, "office_closed"),  # Christmas
        ({"date": "2026-12-24"}, "office_closed"),  # joint leave day
        ({"date": "2026-11-24", "slot": "07:00"}, "outside_visit_hours"),
        ({"date": "2026-11-24", "slot": "15:00"}, "outside_visit_hours"),  # would end after 15:30
        ({"date": "2026-11-24T09:30:00+08:00"}, "outside_visit_hours"),  # not a slot start
        ({"date": "2026-11-23", "slot": "09:00"}, "slot_in_past"),
        ({"date": "2026-11-20", "slot": "09:00"}, "slot_in_past"),
        ({"date": "2027-12-01", "slot": "09:00"}, "slot_too_far"),
        ({"date": "next tuesday"}, "invalid_date"),
        ({"date": "2026-11-24", "slot": "9am"}, "invalid_slot"),
    ]
    for body, code in cases:
        _, err = await user.call("POST", path, body, expect=422)
        assert err["error"]["code"] == code, (body, err)
    _, err = await user.call("POST", path, {"date": "2026-12-25", "slot": "09:00"}, expect=422)
    assert "Hari Raya Natal" in err["error"]["message"] and err["error"]["details"]["reason"] == "holiday"
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["visit"] is None
    slots = await user.get("/offices/7406/visit-slots?from=2026-11-27&days=1")
    assert slots["days"][0]["closed_reason"] == "office_closed" and slots["days"][0]["slots"] == []


async def test_full_slot_is_refused_and_the_last_place_goes_once(
    make_user: Any, make_staff: Any, anon: Api, services: Any
) -> None:
    await set_clock(anon, NOW)
    rooms = []
    for i in range(4):
        user = await make_user(name=f"Warga {i}")
        c = await user.post(
            "/consultations",
            {"office": "7406", "topic": "data", "subject": "Data", "text": "Halo"},
            expect=201,
        )
        rooms.append((user, c))
    body = {"date": "2026-11-25", "slot": "10:00"}
    first, c0 = rooms[0]
    await first.call("POST", f"/consultations/{c0['id']}/visit", body, expect=201)
    # Two people race for the last place: one gets it.
    results = await asyncio.gather(*[u.call("POST", f"/consultations/{c['id']}/visit", body) for u, c in rooms[1:3]])
    assert sorted(status for status, _ in results) == [201, 409]
    loser = next(b for s, b in results if s == 409)
    assert loser["error"]["code"] == "slot_full"
    last, c3 = rooms[3]
    _, err = await last.call("POST", f"/consultations/{c3['id']}/visit", body, expect=409)
    assert err["error"]["code"] == "slot_full"
    assert await services.db.visits.count_documents({"status": "booked"}) == 2
    # A bare date takes the first slot with room that day (08:00 here).
    _, v = await last.call("POST", f"/consultations/{c3['id']}/visit", {"date": "2026-11-25"}, expect=201)
    assert v["time"] == "08:00"


async def test_race_for_a_single_place_in_a_fresh_slot(make_user: Any, anon: Api, services: Any) -> None:
    await services.db.offices.update_one({"code": "7406"}, {"$set": {"visit_hours.slot_capacity": 1}})
    services.offices.forget()  # written behind the app's back: read it again
    await set_clock(anon, NOW)
    rooms = []
    for i in range(5):
        user = await make_user(name=f"Warga {i}")
        c = await user.post(
            "/consultations",
            {"office": "7406", "topic": "data", "subject": "Data", "text": "Halo"},
            expect=201,
        )
        rooms.append((user, c))
    body = {"date": "2026-11-26T13:00:00+08:00"}
    results = await asyncio.gather(*[u.call("POST", f"/consultations/{c['id']}/visit", body) for u, c in rooms])
    assert sorted(status for status, _ in results) == [201, 409, 409, 409, 409]
    assert await services.db.visits.count_documents({"slot_start": datetime(2026, 11, 26, 5, tzinfo=UTC)}) == 1


async def test_rebooking_and_cancelling_give_the_place_back(
    make_user: Any, make_staff: Any, anon: Api, smtp_server: SmtpServer
) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    path = f"/consultations/{c['id']}/visit"
    _, first = await user.call("POST", path, {"date": "2026-11-25", "slot": "11:00"}, expect=201)
    _, second = await officer.call("POST", path, {"date": "2026-11-26", "slot": "11:00"}, expect=201)
    assert second["code"] != first["code"]
    slots = await user.get("/offices/7406/visit-slots?from=2026-11-25&days=2")
    booked = {(d["date"], s["time"]): s["booked"] for d in slots["days"] for s in d["slots"]}
    assert booked[("2026-11-25", "11:00")] == 0 and booked[("2026-11-26", "11:00")] == 1
    await officer.call("GET", f"/visits/{first['code']}", expect=200)  # still found, as cancelled
    assert (await officer.get(f"/visits/{first['code']}"))["visit"]["status"] == "cancelled"
    _, gone = await user.call("DELETE", path, expect=200)
    assert gone["status"] == "cancelled" and gone["code"] == second["code"]
    slots = await user.get("/offices/7406/visit-slots?from=2026-11-26&days=1")
    assert next(s for s in slots["days"][0]["slots"] if s["time"] == "11:00")["booked"] == 0
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["visit"]["status"] == "cancelled"
    await user.call("DELETE", path, expect=404)
    [mail] = await mails_to(smtp_server, user.user["email"], "Kunjungan dibatalkan")
    method, ics, _ = calendar_of(mail.message)
    assert method == "CANCEL" and ics["SEQUENCE"] == "1"
    # Someone else's consultation is not yours to book.
    stranger = await make_user()
    await stranger.call("POST", path, {"date": "2026-11-25", "slot": "11:00"}, expect=403)


async def test_no_meeting_or_visit_on_a_closed_consultation(make_user: Any, make_staff: Any, anon: Api) -> None:
    user, officer, c = await open_room(make_user, make_staff, anon)
    await officer.post(f"/consultations/{c['id']}/close", {}, expect=200)
    _, err = await officer.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "jitsi"}, expect=409)
    assert err["error"]["code"] == "consultation_closed"
    _, err = await user.call("POST", f"/consultations/{c['id']}/visit", {"date": "2026-11-25"}, expect=409)
    assert err["error"]["code"] == "consultation_closed"
