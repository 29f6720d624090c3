"""Jitsi rooms and pasted meeting links: unguessable rooms, verifiable JWTs, strict URL checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from server.domain.clock import TestClock
from server.domain.errors import ValidationFailed
from server.domain.ports import MeetingRequest
from server.integrations import public_meeting_fields
from server.integrations.jitsi import jitsi_meeting
from server.integrations.links import pasted_link_meeting
from server.integrations.meeting_backends import JitsiBackend

BASE = "https://meet.pst.test"
APP_ID = "pst-konsultasi"
APP_SECRET = "a-long-shared-secret-for-hs256-tests"
ROOM = re.compile(r"^pst-[a-z2-7]{32}$")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["jwt"][0]


def decode(token: str, secret: str = APP_SECRET) -> dict[str, Any]:
    return jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience="jitsi",
        issuer=APP_ID,
        options={"require": ["exp", "nbf", "iss", "aud", "sub", "room"]},
    )


def test_room_names_are_unguessable_and_url_safe() -> None:
    now = datetime.now(UTC)
    rooms = [
        jitsi_meeting(BASE, topic="t", start=None, duration_min=30, tz="Asia/Jakarta", now=now)["external_id"]
        for _ in range(200)
    ]
    assert len(set(rooms)) == 200
    for room in rooms:
        assert ROOM.match(room), room  # 160 random bits, already lower-case as Jitsi stores it


def test_unsigned_room_has_one_link_for_everyone() -> None:
    now = datetime.now(UTC)
    start = now + timedelta(days=1)
    m = jitsi_meeting(BASE + "/", topic="Konsultasi  PDRB", start=start, duration_min=45, tz="Asia/Makassar", now=now)
    assert m == {
        "provider": "jitsi",
        "external_id": m["external_id"],
        "join_url": f"{BASE}/{m['external_id']}",
        "start_url": f"{BASE}/{m['external_id']}",
        "passcode": None,
        "start_time": start,
        "duration": 45,
        "timezone": "Asia/Makassar",
        "topic": "Konsultasi PDRB",
    }
    assert "jwt" not in m["join_url"]


def test_signed_links_carry_verifiable_tokens_for_host_and_user() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now + timedelta(hours=2)
    m = jitsi_meeting(
        BASE,
        topic="t",
        start=start,
        duration_min=60,
        tz="Asia/Jakarta",
        app_id=APP_ID,
        app_secret=APP_SECRET,
        user_name="Siti Rahma",
        host_name="Budi (PST)",
        now=now,
    )
    room = m["external_id"]
    assert m["join_url"].startswith(f"{BASE}/{room}?jwt=")
    assert m["start_url"].startswith(f"{BASE}/{room}?jwt=")
    assert m["join_url"] != m["start_url"]

    user = decode(token_of(m["join_url"]))
    host = decode(token_of(m["start_url"]))
    for claims in (user, host):
        assert claims["aud"] == "jitsi"
        assert claims["iss"] == APP_ID
        assert claims["sub"] == "meet.pst.test"
        assert claims["room"] == room
        assert claims["exp"] == int((start + timedelta(minutes=60, hours=2)).timestamp())
        assert claims["nbf"] <= int(now.timestamp())  # usable as soon as it is sent
    assert user["context"] == {"user": {"name": "Siti Rahma", "moderator": False, "affiliation": "member"}}
    assert host["context"] == {"user": {"name": "Budi (PST)", "moderator": True, "affiliation": "owner"}}
    # What the user may see carries no moderator token.
    assert token_of(m["start_url"]) not in repr(public_meeting_fields(m))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    m = jitsi_meeting(
        BASE, topic="t", start=None, duration_min=30, tz="Asia/Jakarta", app_id=APP_ID, app_secret=APP_SECRET
    )
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token_of(m["join_url"]), secret="some-other-secret-of-enough-length")


def test_sub_can_name_a_tenant_or_xmpp_domain() -> None:
    m = jitsi_meeting(
        "https://8x8.vc/VPAAS-Tenant",
        topic="t",
        start=None,
        duration_min=30,
        tz="Asia/Jakarta",
        app_id=APP_ID,
        app_secret=APP_SECRET,
        sub="VPAAS-Tenant",
    )
    assert m["join_url"].startswith("https://8x8.vc/VPAAS-Tenant/pst-")
    assert decode(token_of(m["join_url"]))["sub"] == "vpaas-tenant"


def test_jitsi_start_in_the_past_is_refused() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValidationFailed) as err:
        jitsi_meeting(BASE, topic="t", start=now - timedelta(hours=1), duration_min=30, tz="Asia/Jakarta", now=now)
    assert err.value.code == "start_in_past"


async def test_jitsi_backend_uses_the_requests_clock() -> None:
    clock = TestClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    provider = JitsiBackend(BASE)
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def request() -> MeetingRequest:
        return MeetingRequest(topic="t", start=start, duration_min=30, tz="Asia/Jakarta", now=clock.now())

    m = await provider.create(request())
    assert m["provider"] == "jitsi" and m["start_time"] == start
    clock.set(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    with pytest.raises(ValidationFailed):
        await provider.create(request())


# --- pasted links -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://meet.google.com/abc-defg-hij",
        "https://bps-go-id.zoom.us/j/81234567890?pwd=abcDEF123",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0?context=%7b%7d",
        "HTTPS://Meet.Example.COM:8443/room#section",
        "https://bücher.example/rapat",
    ],
)
def test_good_links_are_accepted(url: str) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    m = pasted_link_meeting("  " + url + "\n", topic="Rapat", start=start, duration_min=30, tz="Asia/Jayapura")
    assert m["provider"] == "link"
    assert m["join_url"] == m["start_url"] == url
    assert m["external_id"] is None and m["passcode"] is None
    assert m["start_time"] == start and m["timezone"] == "Asia/Jayapura"


@pytest.mark.parametrize(
    "url",
    [
        "http://meet.google.com/abc",  # not https
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://files.example/x",
        "//meet.google.com/abc",
        "meet.google.com/abc",
        "https://",
        "https:///path-only",
        "https://user:secret@meet.example/room",
        "https://token@meet.example/room",
        "https://meet.google.com\\@evil.example/x",
        "https://meet.google.com/a b",
        "https://meet.google.com/a\tb",
        "https://meet.google.com/\x00",
        "https://meet.google.com/\u200babc",  # zero-width space
        "https://meet.google.com/\u202eabc",  # right-to-left override
        "https://exa_mple.com/x",
        "https://-bad-.example/x",
        "https://meet.example:99999/x",
        "https://[::1/x",
        "https://meet.example/" + "a" * 2000,
        "",
    ],
)
def test_bad_links_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        pasted_link_meeting(url, topic="Rapat", start=None, duration_min=30, tz="Asia/Jakarta")
    assert err.value.code == "invalid_url"
    assert err.value.status == 422
    assert err.value.message.startswith("Tautan pertemuan tidak sah")
    assert " / Invalid meeting link" in err.value.message


def test_link_of_exactly_2000_characters_is_accepted() -> None:
    url = "https://meet.example/" + "a" * (2000 - len("https://meet.example/"))
    assert len(url) == 2000
    m = pasted_link_meeting(url, topic="Rapat", start=None, duration_min=30, tz="Asia/Jakarta")
    assert m["join_url"] == url
