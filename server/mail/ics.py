"""iCalendar invitations (RFC 5545 text, RFC 5546 REQUEST/CANCEL), written by hand.

Indonesia has no daylight saving time, so the office zone is one STANDARD block whose offset and
name (WIB/WITA/WIT) come from zoneinfo. A zone that does observe DST gets no VTIMEZONE: its times
are written in UTC, which every client reads correctly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from server.integrations import zone

PRODID = "-//BPS Indonesia//PST Konsultasi//ID"
FOLD_OCTETS = 75
_LOCAL_FORMAT = "%Y%m%dT%H%M%S"
# RFC 5545 3.3.11: TEXT may hold no control characters but HTAB (newlines are escaped first).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(r"^[^\s@<>\"\\,;:]+@[^\s@<>\"\\,;:]+$")

Method = Literal["REQUEST", "CANCEL"]


def escape_text(value: str) -> str:
    """A TEXT property value: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(value: str) -> str:
    """A quoted parameter value (e.g. CN); DQUOTE and control characters cannot appear in one."""
    cleaned = " ".join(_CONTROL.sub(" ", value).split())
    return '"' + cleaned.replace('"', "'") + '"'


def _mailto(email: str) -> str:
    if not _EMAIL.match(email):
        raise ValueError(f"not an e-mail address: {email!r}")
    return f"mailto:{email}"


def fold(line: str) -> str:
    """One content line folded at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    limit = FOLD_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size = [], 0
            limit = FOLD_OCTETS - 1  # the leading space of a continuation line counts
        current.append(ch)
        size += width
    out.append("".join(current))
    return "\r\n ".join(out)


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: timedelta) -> str:
    total_min = int(delta.total_seconds()) // 60
    sign = "+" if total_min >= 0 else "-"
    hours, minutes = divmod(abs(total_min), 60)
    return f"{sign}{hours:02d}{minutes:02d}"


def _fixed_offset(tz: ZoneInfo, around: datetime) -> tuple[timedelta, str] | None:
    """The zone's (offset, name) when it is the same all year around `around`; None if it changes."""
    probes = [around + timedelta(days=d) for d in (-366, -183, 0, 183, 366)]
    offsets = {p.astimezone(tz).utcoffset() for p in probes}
    local = around.astimezone(tz)
    offset = local.utcoffset()
    if len(offsets) != 1 or offset is None or local.dst():
        return None
    return offset, local.tzname() or _offset(offset)


def build_invite(
    *,
    uid: str,
    sequence: int,
    method: Method,
    summary: str,
    description: str,
    start: datetime,
    duration_min: int,
    tz: str,
    location_url: str | None,
    organizer_email: str,
    organizer_name: str,
    attendee_email: str,
    attendee_name: str | None,
    now: datetime,
) -> bytes:
    """An iTIP invitation (REQUEST) or cancellation (CANCEL) for one meeting, as CRLF UTF-8 bytes."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if start.tzinfo is None or now.tzinfo is None:
        raise ValueError("start and now must be timezone-aware")
    if sequence < 0 or duration_min <= 0:
        raise ValueError("sequence must be >= 0 and duration_min > 0")
    if not uid or _CONTROL.search(uid) or any(c in uid for c in "\r\n"):
        raise ValueError("uid must be a non-empty single line")
    office_zone = zone(tz)
    end = start + timedelta(minutes=duration_min)
    fixed = _fixed_offset(office_zone, start)

    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
    ]
    if fixed is not None:
        offset, tzname = fixed
        lines += [
            "BEGIN:VTIMEZONE",
            f"TZID:{tz}",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{_offset(offset)}",
            f"TZOFFSETTO:{_offset(offset)}",
            f"TZNAME:{escape_text(tzname)}",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]
        dtstart = f"DTSTART;TZID={tz}:{start.astimezone(office_zone).strftime(_LOCAL_FORMAT)}"
        dtend = f"DTEND;TZID={tz}:{end.astimezone(office_zone).strftime(_LOCAL_FORMAT)}"
    else:
        dtstart = f"DTSTART:{_utc_stamp(start)}"
        dtend = f"DTEND:{_utc_stamp(end)}"

    attendee_params = "ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
    if attendee_name:
        attendee_params = f"CN={_param(attendee_name)};{attendee_params}"
    lines += [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc_stamp(now)}",
        dtstart,
        dtend,
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
    ]
    if location_url:
        if any(c.isspace() for c in location_url) or _CONTROL.search(location_url):
            raise ValueError("location_url must not contain whitespace or control characters")
        lines += [f"LOCATION:{escape_text(location_url)}", f"URL:{location_url}"]
    lines += [
        f"ORGANIZER;CN={_param(organizer_name)}:{_mailto(organizer_email)}",
        f"ATTENDEE;{attendee_params}:{_mailto(attendee_email)}",
        f"STATUS:{'CONFIRMED' if method == 'REQUEST' else 'CANCELLED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
