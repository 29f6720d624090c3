"""The consultation transcript, as plain text and as escaped HTML, in the office's local time.

Staff notes never appear: they are filtered here, whatever the caller passes in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

Doc = dict[str, Any]

HIDDEN_KINDS = frozenset({"note"})

_ROLE_LABELS = {
    "id": {
        "user": "Pengguna",
        "officer": "Petugas",
        "supervisor": "Supervisor",
        "admin": "Admin",
        "system": "Sistem",
    },
    "en": {
        "user": "User",
        "officer": "Officer",
        "supervisor": "Supervisor",
        "admin": "Administrator",
        "system": "System",
    },
}
_WORDS = {
    "id": {
        "title": "Transkrip Konsultasi",
        "number": "Nomor",
        "subject": "Perihal",
        "office": "Kantor",
        "opened": "Dibuka",
        "closed": "Ditutup",
        "not_closed": "belum ditutup",
        "meeting": "Pertemuan daring",
        "join": "Tautan bergabung",
        "file": "Lampiran",
        "rating": "Penilaian",
        "messages": "pesan",
        "topic": "Topik",
        "no_messages": "Belum ada pesan.",
    },
    "en": {
        "title": "Consultation transcript",
        "number": "Number",
        "subject": "Subject",
        "office": "Office",
        "opened": "Opened",
        "closed": "Closed",
        "not_closed": "not closed",
        "meeting": "Online meeting",
        "join": "Join link",
        "file": "Attachment",
        "rating": "Rating",
        "messages": "messages",
        "topic": "Topic",
        "no_messages": "No messages yet.",
    },
}
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


def render_transcript(consultation: Doc, messages: list[Doc], office: Doc, lang: str = "id") -> tuple[str, str]:
    """(text, html) of every visible message with author, role and local time; notes are left out."""
    lang = "en" if lang == "en" else "id"
    w = _WORDS[lang]
    roles = _ROLE_LABELS[lang]
    fmt = _TimeFormatter(str(office.get("time_zone") or "Asia/Jakarta"), lang)
    shown = visible_messages(messages)

    number = str(consultation.get("number") or "")
    subject = str(consultation.get("subject") or "")
    office_name = str(office.get("name") or office.get("code") or "")
    opened = fmt(consultation.get("opened_at") or consultation.get("created_at"))
    closed_at = consultation.get("closed_at")
    closed = fmt(closed_at) if closed_at else w["not_closed"]
    header = [
        (w["number"], number),
        (w["subject"], subject),
        (w["office"], office_name),
        (w["opened"], opened),
        (w["closed"], closed),
    ]

    text_out: list[str] = [f"{w['title']} {number}", "=" * 40]
    text_out += [f"{label}: {value}" for label, value in header]
    text_out.append(f"({len(shown)} {w['messages']})")
    text_out.append("")
    html_out: list[str] = [
        '<section class="transcript" style="font-family:sans-serif;font-size:14px">',
        f'<h3 style="margin:0 0 8px">{escape(w["title"])} {escape(number)}</h3>',
        '<table style="border-collapse:collapse;margin-bottom:12px">',
    ]
    html_out += [
        f'<tr><th style="text-align:left;padding-right:12px">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in header
    ]
    html_out.append("</table>")
    if not shown:
        text_out.append(w["no_messages"])
        html_out.append(f"<p>{escape(w['no_messages'])}</p>")
    html_out.append('<ol style="list-style:none;padding:0;margin:0">')

    for m in shown:
        kind = m.get("kind") or "text"
        role = str(m.get("author_role") or ("system" if kind == "system" else "user"))
        role_label = roles.get(role, role)
        author = str(m.get("author_name") or role_label)
        when = fmt(m.get("created_at"))
        body = str(m.get("text") or "")
        who = role_label if role == "system" and author == role_label else f"{author} ({role_label})"

        extra_text: list[str] = []
        extra_html: list[str] = []
        meeting = m.get("meeting")
        if kind == "meeting" or meeting:
            mt = meeting or {}
            provider = _PROVIDERS.get(str(mt.get("provider") or ""), str(mt.get("provider") or ""))
            start = mt.get("start_time")
            start_text = fmt(start) if isinstance(start, datetime) else str(start or "")
            parts = [p for p in (provider, start_text, str(mt.get("topic") or "")) if p]
            extra_text.append(f"{w['meeting']}: " + ", ".join(parts))
            extra_html.append(f"<div><strong>{escape(w['meeting'])}:</strong> {escape(', '.join(parts))}</div>")
            join = mt.get("join_url")
            if join:
                extra_text.append(f"{w['join']}: {join}")
                safe = _safe_url(join)
                link_html = f'<a href="{escape(safe, quote=True)}">{escape(safe)}</a>' if safe else escape(str(join))
                extra_html.append(f"<div>{escape(w['join'])}: {link_html}</div>")
        att = m.get("attachment")
        if att:
            label = f"{att.get('filename') or '?'} ({format_size(att.get('size'), lang)})"
            extra_text.append(f"{w['file']}: {label}")
            extra_html.append(f"<div><strong>{escape(w['file'])}:</strong> {escape(label)}</div>")
        if kind == "rating" and body:
            body = f"{w['rating']}: {body}"

        text_out.append(f"[{when}] {who}:")
        if body:
            text_out.append("  " + body.replace("\r\n", "\n").replace("\n", "\n  "))
        text_out += ["  " + e for e in extra_text]
        text_out.append("")

        body_html = escape(body).replace("\r\n", "\n").replace("\n", "<br>") if body else ""
        style = "color:#555;font-style:italic" if kind == "system" else ""
        html_out.append(
            f'<li style="margin:0 0 10px;{style}"><div style="color:#666;font-size:12px">'
            f"{escape(when)} &middot; <strong>{escape(author)}</strong> ({escape(role_label)})</div>"
            + (f"<div>{body_html}</div>" if body_html else "")
            + "".join(extra_html)
            + "</li>"
        )

    html_out.append("</ol></section>")
    return "\n".join(text_out).rstrip("\n") + "\n", "\n".join(html_out)


def transcript_page(consultation: Doc, transcript_html: str, lang: str = "id") -> str:
    """A whole HTML document around render_transcript()'s HTML, for the transcript download."""
    w = _WORDS["en" if lang == "en" else "id"]
    title = f"{w['title']} {consultation.get('number') or ''}".strip()
    return (
        f'<!doctype html><html lang="{"en" if lang == "en" else "id"}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{transcript_html}</body></html>"
    )
