"""iCalendar invitations (RFC 5545, iTIP REQUEST/CANCEL of RFC 5546), written with `icalendar`.

The library escapes TEXT values, quotes parameters and folds lines at 75 octets; this module picks
the properties and checks what it is given. Indonesia has no daylight saving time, so the office
zone is one STANDARD block whose offset and name (WIB/WITA/WIT) come from zoneinfo. A zone that
does observe DST gets no VTIMEZONE: its times are written in UTC, which every client reads correctly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneStandard, vCalAddress, vText

from server.integrations import zone

PRODID = "-//BPS Indonesia//PST Konsultasi//ID"
# RFC 5545 3.3.11: TEXT may hold no control characters but HTAB (newlines are escaped).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(r"^[^\s@<>\"\\,;:]+@[^\s@<>\"\\,;:]+$")
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - a VTIMEZONE's DTSTART is local time by definition

Method = Literal["REQUEST", "CANCEL"]


def _text(value: str) -> str:
    """A TEXT value without control characters; icalendar escapes the rest (RFC 5545 3.3.11)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _param(value: str) -> vText:
    """A parameter value (e.g. CN) on one line, without DQUOTE (a quoted parameter cannot hold one)."""
    return vText(" ".join(_CONTROL.sub(" ", value).split()).replace('"', "'"))


def _address(email: str, name: str | None, **params: str) -> vCalAddress:
    if not _EMAIL.match(email):
        raise ValueError(f"not an e-mail address: {email!r}")
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = _param(name)
    address.params.update(params)
    return address


def _fixed_offset(tz: ZoneInfo, around: datetime) -> tuple[timedelta, str] | None:
    """The zone's (offset, name) when it is the same all year around `around`; None if it changes."""
    probes = [around + timedelta(days=d) for d in (-366, -183, 0, 183, 366)]
    offsets = {p.astimezone(tz).utcoffset() for p in probes}
    local = around.astimezone(tz)
    offset = local.utcoffset()
    if len(offsets) != 1 or offset is None or local.dst():
        return None
    return offset, local.tzname() or ""


def _vtimezone(tzid: str, offset: timedelta, name: str) -> Timezone:
    standard = TimezoneStandard()
    standard.add("DTSTART", _EPOCH)
    standard.add("TZOFFSETFROM", offset)
    standard.add("TZOFFSETTO", offset)
    if name:
        standard.add("TZNAME", _text(name))
    vtimezone = Timezone()
    vtimezone.add("TZID", tzid)
    vtimezone.add_component(standard)
    return vtimezone


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
    if location_url and (any(c.isspace() for c in location_url) or _CONTROL.search(location_url)):
        raise ValueError("location_url must not contain whitespace or control characters")
    organizer = _address(organizer_email, organizer_name)
    attendee = _address(attendee_email, attendee_name, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE")
    office_zone = zone(tz)
    end = start + timedelta(minutes=duration_min)

    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", method)
    fixed = _fixed_offset(office_zone, start)
    if fixed is not None:
        cal.add_component(_vtimezone(tz, *fixed))
        # Written as local time with TZID=<the zone's IANA name>, the VTIMEZONE above.
        start, end = start.astimezone(office_zone), end.astimezone(office_zone)
    else:
        start, end = start.astimezone(UTC), end.astimezone(UTC)

    event = Event()
    event.add("UID", uid)
    event.add("SEQUENCE", sequence)
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", _text(summary))
    event.add("DESCRIPTION", _text(description))
    if location_url:
        event.add("LOCATION", location_url)
        event.add("URL", location_url)
    event.add("ORGANIZER", organizer)
    event.add("ATTENDEE", attendee)
    event.add("STATUS", "CONFIRMED" if method == "REQUEST" else "CANCELLED")
    event.add("TRANSP", "OPAQUE")
    cal.add_component(event)
    # Properties in the order added (icalendar sorts them by default): the calendar, then the event.
    data: bytes = cal.to_ical(sorted=False)
    return data
