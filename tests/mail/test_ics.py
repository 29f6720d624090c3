"""Calendar invitations parsed back: fields, the office zone, escaping, folding and CANCEL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.mail.ics import build_invite

Prop = tuple[str, dict[str, str], str]

NOW = datetime(2026, 11, 23, 1, 30, 15, tzinfo=UTC)
START = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Makassar"))  # 02:00 UTC

LONG_DESCRIPTION = (
    "Konsultasi statistik dengan Badan Pusat Statistik (BPS) Kabupaten Konawe — tentang data "
    "“Indeks Harga Konsumen” dan inflasi tahunan; termasuk metadata, klasifikasi KBLI 2020, "
    "serta catatan petugas: ‘Mohon siapkan daftar variabel’. Café, naïve, Ñusa — 📊📈 ✓\n"
    "Baris kedua: tautan rapat ada di bawah ini, jangan dibagikan ke orang lain.\n"
    "Terima kasih, PST BPS."
)


def invite(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "uid": "meeting-65f1c0ffee@pst.bps.go.id",
        "sequence": 0,
        "method": "REQUEST",
        "summary": "Konsultasi PST: Data IHK",
        "description": "Rapat daring dengan petugas PST.",
        "start": START,
        "duration_min": 45,
        "tz": "Asia/Makassar",
        "location_url": "https://us05web.zoom.us/j/81234567890?pwd=abc,def;x",
        "organizer_email": "pst7406@bps.go.id",
        "organizer_name": "PST BPS Kabupaten Konawe",
        "attendee_email": "siti@example.id",
        "attendee_name": "Siti Rahma",
        "now": NOW,
    }
    args.update(overrides)
    return build_invite(**args)


def unfold(raw: bytes) -> list[str]:
    """Content lines of an iCalendar stream: CRLF-separated, folds (CRLF + one space) removed."""
    text = raw.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF"
    assert "\r" not in text.replace("\r\n", ""), "bare CR"
    return text[:-2].replace("\r\n ", "").split("\r\n")


def split_line(line: str) -> Prop:
    """NAME;PARAM=VALUE;PARAM="quoted;value":VALUE -> (name, params, value)."""
    parts: list[str] = []
    buf = ""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        if not quoted and ch in ";:":
            parts.append(buf)
            buf = ""
            if ch == ":":
                value = line[i + 1 :]
                break
            continue
        buf += ch
    else:
        raise AssertionError(f"no value in {line!r}")
    name, *params = parts
    return name, {k: v.strip('"') for k, v in (p.split("=", 1) for p in params)}, value


def unescape(value: str) -> str:
    out = ""
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            nxt = value[i + 1]
            out += "\n" if nxt in "nN" else nxt
            i += 2
            continue
        assert ch not in ";,", f"unescaped {ch!r} in {value!r}"
        out += ch
        i += 1
    return out


def parse(raw: bytes) -> list[Prop]:
    return [split_line(line) for line in unfold(raw)]


def component(props: list[Prop], name: str) -> dict[str, tuple[dict[str, str], str]]:
    """The properties directly inside BEGIN:name ... END:name (first occurrence)."""
    inside = False
    depth = 0
    out: dict[str, tuple[dict[str, str], str]] = {}
    for prop, params, value in props:
        if prop == "BEGIN" and value == name and not inside:
            inside = True
            continue
        if inside:
            if prop == "END" and value == name and depth == 0:
                return out
            if prop == "BEGIN":
                depth += 1
            elif prop == "END":
                depth -= 1
            elif depth == 0:
                out[prop] = (params, value)
    raise AssertionError(f"no {name}")


def test_request_has_every_field_in_the_office_zone() -> None:
    props = parse(invite())
    assert props[0] == ("BEGIN", {}, "VCALENDAR") and props[-1] == ("END", {}, "VCALENDAR")
    cal = component(props, "VCALENDAR")
    assert cal["VERSION"][1] == "2.0"
    assert cal["PRODID"][1]
    assert cal["METHOD"][1] == "REQUEST"

    tz = component(props, "VTIMEZONE")
    assert tz["TZID"][1] == "Asia/Makassar"
    std = component(props, "STANDARD")
    assert std["TZOFFSETFROM"][1] == std["TZOFFSETTO"][1] == "+0800"
    assert std["TZNAME"][1] == "WITA"
    assert "DAYLIGHT" not in [v for p, _, v in props if p == "BEGIN"]

    ev = component(props, "VEVENT")
    assert ev["UID"][1] == "meeting-65f1c0ffee@pst.bps.go.id"
    assert ev["SEQUENCE"][1] == "0"
    assert ev["DTSTAMP"][1] == "20261123T013015Z"
    assert ev["DTSTART"] == ({"TZID": "Asia/Makassar"}, "20261124T100000")
    assert ev["DTEND"] == ({"TZID": "Asia/Makassar"}, "20261124T104500")
    assert unescape(ev["SUMMARY"][1]) == "Konsultasi PST: Data IHK"
    assert unescape(ev["DESCRIPTION"][1]) == "Rapat daring dengan petugas PST."
    assert unescape(ev["LOCATION"][1]) == "https://us05web.zoom.us/j/81234567890?pwd=abc,def;x"
    assert ev["URL"][1] == "https://us05web.zoom.us/j/81234567890?pwd=abc,def;x"
    assert ev["ORGANIZER"] == ({"CN": "PST BPS Kabupaten Konawe"}, "mailto:pst7406@bps.go.id")
    params, value = ev["ATTENDEE"]
    assert value == "mailto:siti@example.id"
    assert params["RSVP"] == "TRUE" and params["CN"] == "Siti Rahma"
    assert ev["STATUS"][1] == "CONFIRMED"


def test_start_given_in_utc_is_written_as_office_local_time() -> None:
    ev = component(parse(invite(start=START.astimezone(UTC))), "VEVENT")
    assert ev["DTSTART"] == ({"TZID": "Asia/Makassar"}, "20261124T100000")


@pytest.mark.parametrize(
    ("tz", "offset", "name", "local_start"),
    [
        ("Asia/Jakarta", "+0700", "WIB", "20261124T090000"),
        ("Asia/Pontianak", "+0700", "WIB", "20261124T090000"),
        ("Asia/Makassar", "+0800", "WITA", "20261124T100000"),
        ("Asia/Jayapura", "+0900", "WIT", "20261124T110000"),
    ],
)
def test_each_indonesian_zone(tz: str, offset: str, name: str, local_start: str) -> None:
    props = parse(invite(tz=tz))
    std = component(props, "STANDARD")
    assert (std["TZOFFSETTO"][1], std["TZNAME"][1]) == (offset, name)
    assert component(props, "VTIMEZONE")["TZID"][1] == tz
    assert component(props, "VEVENT")["DTSTART"] == ({"TZID": tz}, local_start)


def test_zone_with_daylight_saving_falls_back_to_utc() -> None:
    props = parse(invite(tz="Europe/Amsterdam"))
    assert "VTIMEZONE" not in [v for p, _, v in props if p == "BEGIN"]
    ev = component(props, "VEVENT")
    assert ev["DTSTART"] == ({}, "20261124T020000Z")
    assert ev["DTEND"] == ({}, "20261124T024500Z")


def test_text_is_escaped_and_cannot_inject_properties() -> None:
    summary = 'Data; inflasi, "IHK" \\ Sultra\r\nATTENDEE:mailto:evil@example.com'
    raw = invite(summary=summary, organizer_name='PST "Konawe"; BPS:7406', attendee_name="A\r\nB")
    props = parse(raw)
    ev = component(props, "VEVENT")
    assert unescape(ev["SUMMARY"][1]) == 'Data; inflasi, "IHK" \\ Sultra\nATTENDEE:mailto:evil@example.com'
    assert "\\;" in ev["SUMMARY"][1] and "\\," in ev["SUMMARY"][1] and "\\\\" in ev["SUMMARY"][1]
    assert "\\n" in ev["SUMMARY"][1]
    assert [p for p, _, _ in props].count("ATTENDEE") == 1
    assert ev["ORGANIZER"][0]["CN"] == "PST 'Konawe'; BPS:7406"
    assert ev["ATTENDEE"][0]["CN"] == "A B"


def test_long_indonesian_description_is_folded_at_75_octets_utf8_safe() -> None:
    raw = invite(description=LONG_DESCRIPTION, summary="Ringkasan — “Konsultasi” " * 6)
    physical = raw.decode("utf-8").split("\r\n")[:-1]
    folded = [line for line in physical if line.startswith(" ")]
    assert len(folded) >= 6  # the description really was folded
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # no character cut in half
    ev = component(parse(raw), "VEVENT")
    assert unescape(ev["DESCRIPTION"][1]) == LONG_DESCRIPTION
    assert unescape(ev["SUMMARY"][1]) == "Ringkasan — “Konsultasi” " * 6
    # Lines that need no folding are not folded.
    assert "UID:meeting-65f1c0ffee@pst.bps.go.id" in physical


def test_cancel_keeps_the_uid_and_marks_the_event_cancelled() -> None:
    first = component(parse(invite()), "VEVENT")
    props = parse(invite(method="CANCEL", sequence=1, now=NOW.replace(hour=5)))
    assert component(props, "VCALENDAR")["METHOD"][1] == "CANCEL"
    ev = component(props, "VEVENT")
    assert ev["UID"] == first["UID"]
    assert ev["SEQUENCE"][1] == "1"
    assert ev["STATUS"][1] == "CANCELLED"
    assert ev["DTSTAMP"][1] == "20261123T053015Z"
    assert "ATTENDEE" in ev and "ORGANIZER" in ev


def test_without_a_link_there_is_no_location() -> None:
    ev = component(parse(invite(location_url=None, attendee_name=None)), "VEVENT")
    assert "LOCATION" not in ev and "URL" not in ev
    assert "CN" not in ev["ATTENDEE"][0]


@pytest.mark.parametrize(
    "overrides",
    [
        {"start": datetime(2026, 11, 24, 10, 0)},  # noqa: DTZ001 - naive on purpose
        {"now": datetime(2026, 11, 23, 1, 0)},  # noqa: DTZ001
        {"attendee_email": "siti@example.id\r\nBCC: x@y"},
        {"organizer_email": "not-an-address"},
        {"method": "PUBLISH"},
        {"uid": "a\r\nb"},
        {"location_url": "https://x.example/a b"},
    ],
)
def test_bad_arguments_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        invite(**overrides)
