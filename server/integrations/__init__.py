"""Meeting providers (Zoom, Jitsi, a pasted link) and calendar invites.

Every provider returns the same normalized meeting dict:

    {"provider": "zoom" | "jitsi" | "link",
     "external_id": str | None,     # Zoom meeting id, Jitsi room name, None for a pasted link
     "join_url": str,               # for the user: safe to show and e-mail
     "start_url": str,              # for the host only: never show it to the user
     "passcode": str | None,
     "start_time": datetime | None, # aware, UTC; None for an instant meeting
     "duration": int,               # minutes
     "timezone": str,               # IANA name, e.g. "Asia/Makassar"
     "topic": str}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.errors import ValidationFailed

TOPIC_MAX_CHARS = 200  # Zoom's documented limit; the other providers follow it for one behaviour
DURATION_MAX_MIN = 24 * 60
# Fields only the host may see: the start URL makes whoever opens it the host.
HOST_ONLY_FIELDS = ("start_url",)


def public_meeting_fields(meeting: dict[str, Any]) -> dict[str, Any]:
    """The meeting without its host-only fields, fit to show or send to the user."""
    return {k: v for k, v in meeting.items() if k not in HOST_ONLY_FIELDS}


def zone(tz: str) -> ZoneInfo:
    """The IANA zone `tz`, or ValidationFailed when the name is unknown."""
    try:
        if not tz or tz != tz.strip():
            raise ValueError(tz)
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(
            "invalid_timezone",
            f"Zona waktu tidak dikenal: {tz!r} / Unknown time zone: {tz!r}",
            field="tz",
        ) from exc


def clean_topic(topic: str) -> str:
    """The topic trimmed to one line of at most TOPIC_MAX_CHARS, or ValidationFailed when empty."""
    text = " ".join(str(topic).split())
    if not text:
        raise ValidationFailed(
            "invalid_topic", "Judul pertemuan wajib diisi / The meeting topic is required", field="topic"
        )
    return text[:TOPIC_MAX_CHARS]


def check_duration(duration_min: int) -> int:
    """The duration in minutes, or ValidationFailed unless it is a whole number in 1..1440."""
    if (
        isinstance(duration_min, bool)
        or not isinstance(duration_min, int)
        or not (1 <= duration_min <= DURATION_MAX_MIN)
    ):
        raise ValidationFailed(
            "invalid_duration",
            f"Durasi harus 1 sampai {DURATION_MAX_MIN} menit / "
            f"Duration must be 1 to {DURATION_MAX_MIN} minutes",
            field="duration_min",
        )
    return duration_min


def check_start(start: datetime | None, now: datetime) -> datetime | None:
    """The start time in UTC (None for an instant meeting); it must carry a zone and lie ahead."""
    if start is None:
        return None
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValidationFailed(
            "invalid_start_time",
            "Waktu mulai harus menyertakan zona waktu / Start time must include a time zone",
            field="start",
        )
    if start <= now:
        raise ValidationFailed(
            "start_in_past",
            "Waktu mulai harus di masa depan / Start time must be in the future",
            field="start",
        )
    return start.astimezone(UTC)


def meeting_dict(
    *,
    provider: str,
    external_id: str | None,
    join_url: str,
    start_url: str,
    passcode: str | None,
    start_time: datetime | None,
    duration: int,
    timezone: str,
    topic: str,
) -> dict[str, Any]:
    """The normalized meeting dict every provider returns."""
    return {
        "provider": provider,
        "external_id": external_id,
        "join_url": join_url,
        "start_url": start_url,
        "passcode": passcode,
        "start_time": start_time.astimezone(UTC) if start_time is not None else None,
        "duration": duration,
        "timezone": timezone,
        "topic": topic,
    }
