"""A meeting link the officer pastes (Google Meet, Teams, a Zoom room of their own…)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from server.domain.errors import ValidationFailed
from server.integrations import check_duration, check_start, clean_topic, meeting_dict, zone

URL_MAX_CHARS = 2000
_HOST_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _invalid(reason_id: str, reason_en: str) -> ValidationFailed:
    return ValidationFailed(
        "invalid_url",
        f"Tautan pertemuan tidak sah: {reason_id} / Invalid meeting link: {reason_en}",
        field="url",
    )


def check_meeting_url(url: str) -> str:
    """The pasted URL, trimmed, if it is a plain https:// link; else ValidationFailed("invalid_url")."""
    if not isinstance(url, str):
        raise _invalid("harus berupa teks", "it must be text")
    text = url.strip()
    if not text:
        raise _invalid("tautan kosong", "the link is empty")
    if len(text) > URL_MAX_CHARS:
        raise _invalid(f"lebih dari {URL_MAX_CHARS} karakter", f"longer than {URL_MAX_CHARS} characters")
    # Whitespace, control and invisible format characters hide what the link really points to.
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            raise _invalid(
                "mengandung spasi atau karakter kontrol", "it contains spaces or control characters"
            )
    # Browsers read a backslash as a slash, which lets "https://a.b\@evil" reach another host.
    if "\\" in text:
        raise _invalid("mengandung garis miring terbalik", "it contains a backslash")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 literal
        raise _invalid("bentuk alamat rusak", "the address is malformed") from exc
    if parts.scheme.lower() != "https" or text[:8].lower() != "https://":
        raise _invalid("harus diawali https://", "it must start with https://")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise _invalid(
            "tidak boleh berisi nama pengguna atau kata sandi", "it must not contain a user name or password"
        )
    host = parts.hostname
    if not host:
        raise _invalid("tidak ada nama host", "it has no host name")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise _invalid("nomor port tidak sah", "the port is invalid") from exc
    if not _valid_host(host):
        raise _invalid("nama host tidak sah", "the host name is invalid")
    return text


def _valid_host(host: str) -> bool:
    """A DNS name (IDN allowed, as punycode) or a bracketed IPv6 literal already unwrapped."""
    if ":" in host:  # IPv6 literal; urlsplit already checked the brackets
        return all(c in "0123456789abcdef:." for c in host.lower())
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253:
        return False
    return all(
        0 < len(label) <= 63
        and set(label) <= _HOST_LABEL_CHARS
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def pasted_link_meeting(
    url: str,
    *,
    topic: str,
    start: datetime | None,
    duration_min: int,
    tz: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The normalized meeting for a link the officer pasted; the same URL for host and user."""
    link = check_meeting_url(url)
    zone(tz)
    title = clean_topic(topic)
    duration = check_duration(duration_min)
    start_utc = check_start(start, (now or datetime.now(UTC)).astimezone(UTC))
    return meeting_dict(
        provider="link",
        external_id=None,
        join_url=link,
        start_url=link,
        passcode=None,
        start_time=start_utc,
        duration=duration,
        timezone=tz,
        topic=title,
    )
