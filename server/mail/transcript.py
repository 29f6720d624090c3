"""The consultation transcript, as plain text and as escaped HTML, in the office's local time.

Staff notes never appear: they are filtered here, whatever the caller passes in. System messages are
written again from their catalog key in the transcript's language (server/i18n.py); a meeting whose
message already says its link is not listed a second time; attachments carry their download link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from server import i18n
from server.mail.render import render_template

Doc = dict[str, Any]

HIDDEN_KINDS = frozenset({"note"})
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")

# Indonesia's three zones go by their Indonesian abbreviations; other zones keep their own.
_ID_ZONE_BY_OFFSET = {7: "WIB", 8: "WITA", 9: "WIT"}
_PROVIDERS = {
    "zoom": "Zoom",
    "jitsi": "Jitsi Meet",
    "link": "",
    "google_meet": "Google Meet",
    "teams": "Microsoft Teams",
}


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("Asia/Jakarta")


def zone_label(local: datetime) -> str:
    """WIB / WITA / WIT for Indonesian offsets, else the zone's own abbreviation."""
    offset = local.utcoffset() or timedelta(0)
    hours, rem = divmod(int(offset.total_seconds()), 3600)
    if rem == 0 and hours in _ID_ZONE_BY_OFFSET:
        return _ID_ZONE_BY_OFFSET[hours]
    return local.tzname() or "UTC"


class _TimeFormatter:
    """Formats many UTC datetimes in one zone; caches per minute since chats repeat minutes a lot."""

    def __init__(self, time_zone: str, lang: str) -> None:
        self.tz = _zone(time_zone)
        self.sep = "." if lang == "id" else ":"
        self._cache: dict[tuple[int, int, int, int, int], str] = {}

    def __call__(self, when: datetime | None) -> str:
        if when is None:
            return "-"
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        key = (when.year, when.month, when.day, when.hour, when.minute)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        local = when.astimezone(self.tz)
        text = (
            f"{local.day:02d}/{local.month:02d}/{local.year} "
            f"{local.hour:02d}{self.sep}{local.minute:02d} {zone_label(local)}"
        )
        self._cache[key] = text
        return text


def format_local_time(when: datetime, time_zone: str, lang: str = "id") -> str:
    """'21/11/2026 14.05 WITA' (Indonesian) or '21/11/2026 14:05 WITA' (English)."""
    return _TimeFormatter(time_zone, lang)(when)


def format_size(size: int | None, lang: str = "id") -> str:
    """Human file size, with a decimal comma in Indonesian."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            text = f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return text.replace(".", ",") if lang == "id" else text
        value /= 1024
    return f"{size} B"


def _safe_url(url: Any) -> str | None:
    """Only http(s) links become clickable; anything else is shown as text."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _segments(line: str) -> list[tuple[str, str | None]]:
    """A line cut into (text, link) pieces: http(s) addresses become links in the HTML."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for match in _URL.finditer(line):
        if match.start() > pos:
            out.append((line[pos : match.start()], None))
        url = match.group(0).rstrip(".,;:!?)")
        out.append((url, url))
        pos = match.start() + len(url)
    if pos < len(line):
        out.append((line[pos:], None))
    return out


def message_text(m: Doc, lang: str) -> str:
    """A message's text in `lang`: a system message is rendered again from its catalog key and params."""
    data = m.get("data") or {}
    key = data.get("key")
    if isinstance(key, str) and key in i18n.ID:
        try:
            return i18n.t(key, lang, **(data.get("params") or {}))
        except Exception:  # noqa: BLE001 - an old message whose params no longer fit: its stored text
            pass
    return str(m.get("text") or "")


def visible_messages(messages: list[Doc]) -> list[Doc]:
    """The messages a user may see, in seq order."""
    shown = [m for m in messages if m.get("kind") not in HIDDEN_KINDS and m.get("visibility") != "staff"]
    shown.sort(key=lambda m: int(m.get("seq") or 0))
    return shown


@dataclass(frozen=True, slots=True)
class _Meeting:
    summary: str  # provider, local start and topic
    join: str
    safe_join: str | None  # the join link when it may be a link (http or https)


@dataclass(frozen=True, slots=True)
class _Row:
    """One message as the transcript templates show it."""

    kind: str
    role: str
    author_name: str
    when: str
    lines: list[str]
    pieces: list[list[tuple[str, str | None]]]  # each line as (text, link) pieces, for the HTML
    meeting: _Meeting | None
    attachment: str | None
    attachment_url: str | None
    rating_label: bool  # a bare rating ("5/5") gets the word "Rating:" before it


def _row(m: Doc, fmt: _TimeFormatter, lang: str, base_url: str) -> _Row:
    kind = m.get("kind") or "text"
    keyed = bool((m.get("data") or {}).get("key"))
    body = message_text(m, lang)
    role = str(m.get("author_role") or ("system" if kind == "system" else "user"))
    meeting: _Meeting | None = None
    mt = m.get("meeting") or {}
    join_url = mt.get("join_url")
    # The catalog's meeting messages already say provider, time and link: no second listing.
    if (kind == "meeting" or mt) and not (join_url and str(join_url) in body):
        provider = _PROVIDERS.get(str(mt.get("provider") or ""), str(mt.get("provider") or ""))
        start = mt.get("start_time")
        start_text = fmt(start) if isinstance(start, datetime) else str(start or "")
        meeting = _Meeting(
            summary=", ".join(p for p in (provider, start_text, str(mt.get("topic") or "")) if p),
            join=str(join_url) if join_url else "",
            safe_join=_safe_url(join_url),
        )
    att = m.get("attachment")
    att_id = str(att.get("id") or "") if att else ""
    if att and body == att.get("filename"):
        body = ""  # a file message's text is its file name, listed with the attachment below
    lines = body.replace("\r\n", "\n").split("\n") if body else []
    return _Row(
        kind=kind,
        role=role,
        # The system writes as "System" in the transcript's language (its stored name is Indonesian).
        author_name="" if role == "system" else str(m.get("author_name") or ""),
        when=fmt(m.get("created_at")),
        lines=lines,
        pieces=[_segments(line) for line in lines],
        meeting=meeting,
        attachment=f"{att.get('filename') or '?'} ({format_size(att.get('size'), lang)})" if att else None,
        attachment_url=f"{base_url}/api/v1/attachments/{att_id}" if _OBJECT_ID.fullmatch(att_id) else None,
        rating_label=kind == "rating" and not keyed,
    )


def render_transcript(
    consultation: Doc, messages: list[Doc], office: Doc, lang: str = "id", *, base_url: str = ""
) -> tuple[str, str]:
    """(text, html) of every visible message with author, role and local time; notes are left out.

    `base_url` makes the attachments' download links absolute (an e-mail needs the site's address).
    """
    lang = "en" if lang == "en" else "id"
    fmt = _TimeFormatter(str(office.get("time_zone") or "Asia/Jakarta"), lang)
    closed_at = consultation.get("closed_at")
    context: Doc = {
        "en": lang == "en",
        "number": str(consultation.get("number") or ""),
        "subject": str(consultation.get("subject") or ""),
        "office_name": str(office.get("name") or office.get("code") or ""),
        "opened": fmt(consultation.get("opened_at") or consultation.get("created_at")),
        "closed": fmt(closed_at) if closed_at else "",
        "messages": [_row(m, fmt, lang, base_url.rstrip("/")) for m in visible_messages(messages)],
    }
    text = render_template("transcript.txt.j2", **context)
    html = render_template("transcript.html.j2", **context)
    return text.rstrip("\n") + "\n", html


def transcript_page(consultation: Doc, transcript_html: str, lang: str = "id") -> str:
    """A whole HTML document around render_transcript()'s HTML, for the transcript download."""
    return render_template(
        "transcript_page.html.j2",
        en=lang == "en",
        number=str(consultation.get("number") or ""),
        # Rendered by transcript.html.j2, which escaped every value it holds.
        transcript_html=Markup(transcript_html),  # noqa: S704
    )
