"""Jitsi Meet rooms: an unguessable room name, and signed links when the server uses JWT auth.

The token follows Jitsi's "JWT token authentication Prosody plugin" (jitsi-meet doc/tokens.md):
`iss` is the application id, `aud` "jitsi", `sub` the domain (or tenant), `room` the room name,
`nbf`/`exp` the validity window, `context.user` who joins. HS256 with the shared app secret.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import jwt

from server.integrations import check_duration, check_start, clean_topic, meeting_dict, zone

ROOM_PREFIX = "pst-"
ROOM_RANDOM_BYTES = 20  # 160 bits
# Links stay usable this long after the planned end, for meetings that overrun.
TOKEN_GRACE_AFTER_END_SECS = 2 * 3600
# Tolerated clock difference between us and the Jitsi server.
TOKEN_CLOCK_SKEW_SECS = 60
DEFAULT_HOST_NAME = "Petugas PST"


def new_room_name() -> str:
    """A fresh room name: `pst-` and 32 base32 characters (160 random bits)."""
    # Jitsi lower-cases room names, so token_urlsafe's mixed case would silently lose entropy;
    # lower-case base32 keeps all 160 bits and needs no escaping in a URL.
    raw = base64.b32encode(secrets.token_bytes(ROOM_RANDOM_BYTES)).decode("ascii")
    return ROOM_PREFIX + raw.rstrip("=").lower()


def jitsi_token(
    *,
    app_id: str,
    app_secret: str,
    sub: str,
    room: str,
    not_before: datetime,
    expires: datetime,
    user_name: str | None,
    moderator: bool,
) -> str:
    """An HS256 Jitsi JWT for one room and one person."""
    user: dict[str, Any] = {"moderator": moderator, "affiliation": "owner" if moderator else "member"}
    if user_name:
        user["name"] = user_name
    claims: dict[str, Any] = {
        "aud": "jitsi",
        "iss": app_id,
        "sub": sub,
        "room": room,
        "iat": int(not_before.timestamp()),
        "nbf": int(not_before.timestamp()),
        "exp": int(expires.timestamp()),
        "context": {"user": user},
    }
    return jwt.encode(claims, app_secret, algorithm="HS256")


def jitsi_meeting(
    base_url: str,
    *,
    topic: str,
    start: datetime | None,
    duration_min: int,
    tz: str,
    app_id: str | None = None,
    app_secret: str | None = None,
    user_name: str | None = None,
    moderator: bool = False,
    host_name: str | None = None,
    sub: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new Jitsi room; with app_id and app_secret, signed host (start_url) and participant links.

    `moderator` also gives the participant link moderator rights; `sub` overrides the domain
    taken from base_url (a tenant, or an XMPP domain that differs from the web host).
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("JITSI_BASE_URL must be an http(s) URL")
    zone(tz)
    title = clean_topic(topic)
    duration = check_duration(duration_min)
    current = (now or datetime.now(UTC)).astimezone(UTC)
    start_utc = check_start(start, current)
    room = new_room_name()
    room_url = base_url.strip().rstrip("/") + "/" + quote(room)
    join_url = start_url = room_url
    if app_id and app_secret:
        begins = start_utc or current
        not_before = current - timedelta(seconds=TOKEN_CLOCK_SKEW_SECS)
        expires = begins + timedelta(minutes=duration, seconds=TOKEN_GRACE_AFTER_END_SECS)
        subject = (sub or parts.hostname).lower()

        def signed(name: str | None, is_moderator: bool) -> str:
            token = jitsi_token(
                app_id=app_id,
                app_secret=app_secret,
                sub=subject,
                room=room,
                not_before=not_before,
                expires=expires,
                user_name=name,
                moderator=is_moderator,
            )
            return f"{room_url}?jwt={token}"

        join_url = signed(user_name, moderator)
        start_url = signed(host_name or DEFAULT_HOST_NAME, True)
    return meeting_dict(
        provider="jitsi",
        external_id=room,
        join_url=join_url,
        start_url=start_url,
        passcode=None,
        start_time=start_utc,
        duration=duration,
        timezone=tz,
        topic=title,
    )
