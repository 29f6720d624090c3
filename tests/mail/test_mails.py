"""Every e-mail in Indonesian and English, and the transcript they carry."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.mail import mails
from server.mail.transcript import format_local_time, format_size, render_transcript, transcript_page

Doc = dict[str, Any]
Mail = tuple[str, str, str]

SEEDS = {
    o["code"]: o
    for o in json.loads((Path(__file__).resolve().parents[2] / "mongo-init" / "offices.json").read_text())["offices"]
}
BOMBANA = SEEDS["7406"]  # Asia/Makassar (WITA), no ID card required
TULANG_BAWANG = SEEDS["1808"]  # Asia/Jakarta (WIB), ID card required

USER_ID = {"name": "Budi <Santoso>", "email": "budi@example.com", "lang": "id"}
USER_EN = {"name": "Jane <Doe>", "email": "jane@example.com", "lang": "en"}
CONSULTATION = {"_id": "c1", "number": "7406-2026-00042", "subject": "Data <b>kemiskinan</b> & IPM 2025"}
LINK = "https://pst.test/app/#/c/c1?a=1&b=2"
MEETING = {
    "provider": "zoom",
    "join_url": "https://zoom.us/j/123?pwd=abc",
    "passcode": "k9Z2x",
    "start_url": "https://zoom.us/s/123?zak=HOST-SECRET",
    "topic": "Konsultasi IPM",
}


def both(render: Callable[[Doc], Mail]) -> tuple[Mail, Mail]:
    return render(USER_ID), render(USER_EN)


def check_common(mail: Mail, office: Doc, lang: str) -> None:
    """Every mail: one-line subject with the number, the footer, escaped user data in the HTML."""
    subject, text, html = mail
    assert "\n" not in subject and "\r" not in subject
    assert office["name"] in text and office["name"] in html
    assert ("Layanan ini tidak dipungut biaya." if lang == "id" else "This service is free of charge.") in text
    assert "<b>kemiskinan</b>" not in html and "<Santoso>" not in html and "<Doe>" not in html
    if CONSULTATION["subject"] in text:
        assert "Data &lt;b&gt;kemiskinan&lt;/b&gt; &amp; IPM 2025" in html


def test_consultation_received() -> None:
    for (subject, text, html), lang in zip(
        both(lambda u: mails.consultation_received(u, CONSULTATION, BOMBANA, "Kamis, 26 November 2026")),
        ("id", "en"),
        strict=True,
    ):
        check_common((subject, text, html), BOMBANA, lang)
        assert "7406-2026-00042" in subject and "7406-2026-00042" in text
        phrase = (
            "dijawab paling lambat Kamis, 26 November 2026"
            if lang == "id"
            else "answered no later than Kamis, 26 November 2026"
        )
        assert phrase in text and phrase in html
    subject, text, _ = mails.consultation_received(USER_ID, CONSULTATION, BOMBANA, "x", lang="en")
    assert subject == "Consultation 7406-2026-00042 received"


def test_officer_replied_quotes_an_excerpt_and_links_back() -> None:
    long_answer = "Data kemiskinan tersedia di tabel dinamis. " * 30
    (s_id, t_id, h_id), (s_en, t_en, h_en) = both(
        lambda u: mails.officer_replied(u, CONSULTATION, BOMBANA, LINK, long_answer)
    )
    check_common((s_id, t_id, h_id), BOMBANA, "id")
    check_common((s_en, t_en, h_en), BOMBANA, "en")
    assert s_id == "Balasan baru untuk konsultasi 7406-2026-00042"
    assert s_en == "New reply to consultation 7406-2026-00042"
    assert "Data kemiskinan tersedia di tabel dinamis." in t_id and "…" in t_id
    assert long_answer.strip() not in t_id  # only an excerpt
    assert LINK in t_id and 'href="https://pst.test/app/#/c/c1?a=1&amp;b=2"' in h_id


def test_idle_warning() -> None:
    (s_id, t_id, h_id), (s_en, t_en, h_en) = both(
        lambda u: mails.idle_warning(u, CONSULTATION, BOMBANA, "Senin, 30 November 2026", LINK)
    )
    check_common((s_id, t_id, h_id), BOMBANA, "id")
    assert "ditutup otomatis pada Senin, 30 November 2026" in t_id and LINK in t_id
    assert "closed automatically on Senin, 30 November 2026" in t_en and "Reply now" in h_en


def test_consultation_closed_carries_the_whole_transcript() -> None:
    msgs = [
        _msg(1, "Halo, saya butuh data IPM"),
        _msg(2, "Baik, berikut tautannya", role="officer"),
        _msg(3, "catatan internal", kind="note", role="officer"),
    ]
    consultation = {**CONSULTATION, "created_at": T0, "closed_at": T0 + timedelta(hours=2)}
    for lang in ("id", "en"):
        t_text, t_html = render_transcript(consultation, msgs, BOMBANA, lang)
        user = USER_ID if lang == "id" else USER_EN
        subject, text, html = mails.consultation_closed(user, consultation, BOMBANA, t_text, t_html, "idle")
        check_common((subject, text, html), BOMBANA, lang)
        assert t_text in text and t_html in html
        assert "Baik, berikut tautannya" in text and "catatan internal" not in text + html
        assert ("ditutup otomatis" if lang == "id" else "closed automatically") in text
        assert ("transkrip" if lang == "id" else "transcript") in subject


def test_rating_request_and_reminder_use_the_signed_link() -> None:
    rating_link = "https://pst.test/rate?token=eyJhbGciOi.abc&x=1"
    for render in (mails.rating_request, mails.rating_reminder):
        s_id, t_id, h_id = render(USER_ID, CONSULTATION, BOMBANA, rating_link)
        s_en, t_en, h_en = render(USER_EN, CONSULTATION, BOMBANA, rating_link)
        check_common((s_id, t_id, h_id), BOMBANA, "id")
        check_common((s_en, t_en, h_en), BOMBANA, "en")
        assert rating_link in t_id and rating_link in t_en
        assert 'href="https://pst.test/rate?token=eyJhbGciOi.abc&amp;x=1"' in h_id
        assert "7406-2026-00042" in s_id and "7406-2026-00042" in s_en
    assert (
        mails.rating_request(USER_ID, CONSULTATION, BOMBANA, rating_link)[0]
        != mails.rating_reminder(USER_ID, CONSULTATION, BOMBANA, rating_link)[0]
    )
    assert "Pengingat" in mails.rating_reminder(USER_ID, CONSULTATION, BOMBANA, rating_link)[0]


@pytest.mark.parametrize("action", ["created", "updated", "cancelled"])
def test_meeting_invite_shows_join_link_and_passcode_never_start_url(action: str) -> None:
    when = "Selasa, 24 November 2026 14.00 WITA"
    (s_id, t_id, h_id), (s_en, t_en, h_en) = both(
        lambda u: mails.meeting_invite(u, CONSULTATION, BOMBANA, MEETING, when, action)
    )
    for text, html in ((t_id, h_id), (t_en, h_en)):
        assert "HOST-SECRET" not in text + html and "zoom.us/s/" not in text + html
        assert when in text and "Zoom" in text
        if action == "cancelled":
            assert "zoom.us/j/123" not in text and "k9Z2x" not in text
        else:
            assert "https://zoom.us/j/123?pwd=abc" in text and "k9Z2x" in text
            assert 'href="https://zoom.us/j/123?pwd=abc"' in html
    assert {"created": "Pertemuan daring", "updated": "Perubahan", "cancelled": "Dibatalkan"}[action] in s_id
    assert {"created": "Online meeting", "updated": "Changed", "cancelled": "Cancelled"}[action] in s_en
    check_common((s_id, t_id, h_id), BOMBANA, "id")


def test_meeting_invite_rejects_unknown_action_and_reminder_has_the_link() -> None:
    with pytest.raises(ValueError):
        mails.meeting_invite(USER_ID, CONSULTATION, BOMBANA, MEETING, "x", "moved")
    (s_id, t_id, h_id), (s_en, t_en, _) = both(
        lambda u: mails.meeting_reminder(u, CONSULTATION, BOMBANA, MEETING, "hari ini 14.00 WITA")
    )
    assert s_id.startswith("Pengingat") and s_en.startswith("Reminder")
    assert "https://zoom.us/j/123?pwd=abc" in t_id and "k9Z2x" in t_en
    assert "HOST-SECRET" not in t_id + h_id + t_en


def test_visit_confirmation_lists_code_address_and_walk_in_requirements() -> None:
    visit = {"code": "KNJ-7Q4M", "date": "2026-11-25"}
    consultation = {**CONSULTATION, "number": "1808-2026-00007"}
    office = {**TULANG_BAWANG, "address": "Jl. Cemara No. 2, Menggala"}
    (s_id, t_id, h_id), (s_en, t_en, h_en) = both(
        lambda u: mails.visit_confirmation(u, consultation, office, visit, "Rabu, 25 November 2026")
    )
    assert "KNJ-7Q4M" in s_id and "KNJ-7Q4M" in t_id and "KNJ-7Q4M" in h_id and "KNJ-7Q4M" in t_en
    assert "Alamat: Jl. Cemara No. 2, Menggala" in t_id and "Address: Jl. Cemara No. 2, Menggala" in t_en
    assert "Unit PST BPS Kabupaten Tulang Bawang" in t_id
    assert "- Memiliki kartu identitas yang masih berlaku (KTP, SIM, Paspor, dan lain-lain)" in t_id
    assert "<li>Mengisi buku tamu</li>" in h_id
    # An office whose standard lacks the ID line but requires the card still tells the visitor.
    no_line = {**office, "walk_in": {**office["walk_in"], "requirements": ["Mengisi buku tamu"]}}
    _, text, _ = mails.visit_confirmation(USER_EN, consultation, no_line, visit, "x")
    assert "Bring a valid ID card" in text
    _, text, _ = mails.visit_confirmation(USER_ID, CONSULTATION, BOMBANA, visit, "x")
    assert "kartu identitas" not in text.lower()
    assert "Mengisi buku tamu elektronik" in text


def test_sla_alert_for_staff() -> None:
    staff_id = {"name": "Rina", "role": "officer", "lang": "id"}
    staff_en = {"name": "Rina", "role": "officer", "lang": "en"}
    s, t, h = mails.sla_alert(staff_id, CONSULTATION, BOMBANA, "breached", "Kamis, 26 November 2026", LINK)
    check_common((s, t, h), BOMBANA, "id")
    assert "[TERLAMBAT]" in s and "melewati batas waktu" in s and "Kamis, 26 November 2026" in t and LINK in t
    s, t, _ = mails.sla_alert(staff_en, CONSULTATION, BOMBANA, "warning", "Thursday", LINK)
    assert "close to its deadline" in s and "Answer deadline: Thursday." in t


# --- transcript ---------------------------------------------------------------------------------

T0 = datetime(2026, 11, 21, 6, 5, tzinfo=UTC)  # 14.05 WITA, 13.05 WIB


def _msg(
    seq: int,
    text: str,
    *,
    kind: str = "text",
    role: str = "user",
    name: str | None = None,
    at: datetime | None = None,
    **extra: Any,
) -> Doc:
    return {
        "seq": seq,
        "kind": kind,
        "author_name": name or ("Budi" if role == "user" else "Rina"),
        "author_role": role,
        "text": text,
        "created_at": at or T0 + timedelta(minutes=seq),
        "attachment": None,
        "meeting": None,
        **extra,
    }


def _conversation() -> list[Doc]:
    return [
        _msg(1, "Halo, saya butuh <script>alert(1)</script> data", at=T0),
        _msg(2, "Konsultasi diambil oleh petugas", kind="system", role="system", name="Sistem"),
        _msg(3, "Pelanggan ini sering bertanya — catatan internal", kind="note", role="officer"),
        _msg(
            4,
            "Silakan lihat berkas ini",
            kind="file",
            role="officer",
            attachment={"filename": "tabel IPM 2025.xlsx", "size": 1_572_864, "content_type": "x"},
        ),
        _msg(
            5,
            "Pertemuan daring dijadwalkan",
            kind="meeting",
            role="officer",
            meeting={
                "provider": "jitsi",
                "join_url": "https://meet.jit.si/pst-7406-abc",
                "start_time": datetime(2026, 11, 24, 7, 30, tzinfo=UTC),
                "topic": "IPM",
            },
        ),
        _msg(6, "Terima kasih!\nSangat membantu.", role="user"),
        _msg(7, "5/5", kind="rating", role="user"),
    ]


def test_transcript_text_excludes_notes_and_shows_wita_times_in_seq_order() -> None:
    consultation = {**CONSULTATION, "created_at": T0, "closed_at": T0 + timedelta(hours=1)}
    msgs = _conversation()
    random.Random(7).shuffle(msgs)
    text, html = render_transcript(consultation, msgs, BOMBANA)
    assert "catatan internal" not in text and "catatan internal" not in html
    assert "Nomor: 7406-2026-00042" in text and "Kantor: BPS Kabupaten Bombana" in text
    assert "Dibuka: 21/11/2026 14.05 WITA" in text and "Ditutup: 21/11/2026 15.05 WITA" in text
    assert "[21/11/2026 14.05 WITA] Budi (Pengguna):" in text
    assert "[21/11/2026 14.09 WITA] Rina (Petugas):" in text
    assert "Lampiran: tabel IPM 2025.xlsx (1,5 MB)" in text
    assert "Pertemuan daring: Jitsi Meet, 24/11/2026 15.30 WITA, IPM" in text
    assert "Tautan bergabung: https://meet.jit.si/pst-7406-abc" in text
    assert "  Terima kasih!\n  Sangat membantu." in text
    assert "Penilaian: 5/5" in text
    order = [text.index(s) for s in ("saya butuh", "diambil oleh", "berkas ini", "dijadwalkan", "Terima kasih")]
    assert order == sorted(order)


def test_transcript_html_is_escaped_and_links_only_http() -> None:
    consultation = {**CONSULTATION, "created_at": T0}
    msgs = [
        *_conversation(),
        _msg(
            8,
            "x",
            kind="meeting",
            role="officer",
            meeting={"provider": "link", "join_url": "javascript:alert(1)"},
        ),
    ]
    _, html = render_transcript(consultation, msgs, BOMBANA)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Data &lt;b&gt;kemiskinan&lt;/b&gt; &amp; IPM 2025" in html
    assert '<a href="https://meet.jit.si/pst-7406-abc">' in html
    assert 'href="javascript' not in html and "javascript:alert(1)" in html
    assert "Terima kasih!<br>Sangat membantu." in html
    assert "belum ditutup" in html
    page = transcript_page(consultation, html)
    assert page.startswith("<!doctype html>") and "<title>Transkrip Konsultasi 7406-2026-00042</title>" in page


def test_transcript_in_english_and_other_zones() -> None:
    text, _ = render_transcript({**CONSULTATION, "created_at": T0}, _conversation(), TULANG_BAWANG, "en")
    assert "[21/11/2026 13:05 WIB] Budi (User):" in text and "Rina (Officer)" in text
    assert "Attachment: tabel IPM 2025.xlsx (1.5 MB)" in text and "Opened: 21/11/2026 13:05 WIB" in text
    assert "catatan internal" not in text
    assert format_local_time(T0, "Asia/Jayapura") == "21/11/2026 15.05 WIT"
    assert format_size(512) == "512 B" and format_size(2048, "en") == "2.0 KB"


def test_transcript_of_5000_messages() -> None:
    msgs = [
        _msg(
            i,
            f"pesan {i} <&>",
            kind="note" if i % 10 == 0 else "text",
            role="user" if i % 2 else "officer",
            at=T0 + timedelta(seconds=30 * i),
        )
        for i in range(1, 5001)
    ]
    text, html = render_transcript({**CONSULTATION, "created_at": T0}, msgs, BOMBANA)
    assert text.count("\n[") == 4500 and "pesan 4999 <&>" in text and "pesan 5000" not in text
    assert html.count("<li ") == 4500 and "pesan 4999 &lt;&amp;&gt;" in html
