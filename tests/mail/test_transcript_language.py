"""The transcript in its reader's language, each meeting listed once, attachments with their links (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from server.mail.transcript import render_transcript

OFFICE = {"name": "BPS Kabupaten Bombana", "time_zone": "Asia/Makassar"}
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10.00 WITA
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14.00 WITA
JOIN = "https://meet.jit.si/pst-7406-abc"
FILE_ID = str(ObjectId())


def _system(seq: int, key: str, kind: str = "system", **params: Any) -> dict[str, Any]:
    from server import i18n

    return {
        "seq": seq,
        "kind": kind,
        "author_name": "Sistem",
        "author_role": "system",
        "text": i18n.t(key, "id", **params),  # stored in Indonesian, as post_system_message does
        "created_at": AT,
        "data": {"key": key, "params": params},
    }


def _conversation() -> list[dict[str, Any]]:
    meeting = {"provider": "jitsi", "join_url": JOIN, "start_time": START, "timezone": "Asia/Makassar"}
    params = {
        "provider": "jitsi",
        "duration": 60,
        "join_url": JOIN,
        "passcode": None,
        "start": START,
        "tz": "Asia/Makassar",
    }
    return [
        {
            "seq": 1,
            "kind": "text",
            "author_name": "Jane",
            "author_role": "user",
            "text": "Lihat https://bps.go.id.",
            "created_at": AT,
        },
        _system(2, "consultation.claimed", officer="Budi"),
        {**_system(3, "meeting.created", kind="meeting", **params), "meeting": meeting},
        {
            "seq": 4,
            "kind": "file",
            "author_name": "Budi",
            "author_role": "officer",
            "text": "tabel.xlsx",
            "created_at": AT,
            "attachment": {"id": FILE_ID, "filename": "tabel.xlsx", "size": 2048},
        },
        _system(5, "consultation.closed", by="Budi", summary="Tabel dikirim."),
        _system(6, "consultation.rating_prompt"),
        _system(7, "rating.given", kind="rating", score=4, max=5, comment=None),
    ]


def test_an_english_transcript_has_no_indonesian_system_messages() -> None:
    text, html = render_transcript({"number": "7406-1"}, _conversation(), OFFICE, "en", base_url="https://pst.test")
    assert "[23/11/2026 10:00 WITA] System:\n  Budi took this consultation." in text
    assert "The consultation was closed by Budi. Summary: Tabel dikirim." in text
    assert "Please rate this service (1–5)." in text
    assert "  Service rating: ★★★★☆ (4/5)" in text
    for indonesian in ("Konsultasi diambil", "ditutup oleh", "Mohon", "Penilaian", " / "):
        assert indonesian not in text, indonesian
    assert "Sistem" not in text and "Sistem" not in html


def test_a_meeting_is_listed_once_and_its_link_is_a_link() -> None:
    for lang in ("id", "en"):
        text, html = render_transcript({"number": "7406-1"}, _conversation(), OFFICE, lang)
        assert text.count(JOIN) == 1 and html.count(f'<a href="{JOIN}">') == 1
        assert ("Pertemuan daring (Jitsi Meet) dijadwalkan" if lang == "id" else "Online meeting (Jitsi Meet)") in text
        assert ("Pertemuan daring:" if lang == "id" else "Online meeting:") not in text  # no second listing


def test_attachments_carry_their_download_link() -> None:
    text, html = render_transcript({"number": "7406-1"}, _conversation(), OFFICE, "id", base_url="https://pst.test/")
    url = f"https://pst.test/api/v1/attachments/{FILE_ID}"
    assert f"  Lampiran: tabel.xlsx (2,0 KB) — {url}\n" in text
    assert f'<a href="{url}">tabel.xlsx (2,0 KB)</a>' in html
    assert text.count("tabel.xlsx") == 1  # the file message's text is its name: not repeated
    assert '<a href="https://bps.go.id">https://bps.go.id</a>.' in html
