"""The consultation transcript, as plain text and as escaped HTML, in the office's local time.

Staff notes never appear: they are filtered here, whatever the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from server.mail.render import render_template

Doc = dict[str, Any]

HIDDEN_KINDS = frozenset({"note"})

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
    meeting: _Meeting | None
    attachment: str | None


def _row(m: Doc, fmt: _TimeFormatter, lang: str) -> _Row:
    kind = m.get("kind") or "text"
    body = str(m.get("text") or "")
    meeting: _Meeting | None = None
    if kind == "meeting" or m.get("meeting"):
        mt = m.get("meeting") or {}
        provider = _PROVIDERS.get(str(mt.get("provider") or ""), str(mt.get("provider") or ""))
        start = mt.get("start_time")
        start_text = fmt(start) if isinstance(start, datetime) else str(start or "")
        join = mt.get("join_url")
        meeting = _Meeting(
            summary=", ".join(p for p in (provider, start_text, str(mt.get("topic") or "")) if p),
            join=str(join) if join else "",
            safe_join=_safe_url(join),
        )
    att = m.get("attachment")
    return _Row(
        kind=kind,
        role=str(m.get("author_role") or ("system" if kind == "system" else "user")),
        author_name=str(m.get("author_name") or ""),
        when=fmt(m.get("created_at")),
        lines=body.replace("\r\n", "\n").split("\n") if body else [],
        meeting=meeting,
        attachment=f"{att.get('filename') or '?'} ({format_size(att.get('size'), lang)})" if att else None,
    )


def render_transcript(consultation: Doc, messages: list[Doc], office: Doc, lang: str = "id") -> tuple[str, str]:
    """(text, html) of every visible message with author, role and local time; notes are left out."""
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
        "messages": [_row(m, fmt, lang) for m in visible_messages(messages)],
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
