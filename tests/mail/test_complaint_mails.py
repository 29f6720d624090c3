"""The complaint e-mails (receipt, supervisors' alert, answer) in both languages, escaped, one-line subjects;
and every e-mail's footer linking the public complaint page and LAPOR!."""

from __future__ import annotations

from typing import Any

import pytest

from server.mail import mails

Doc = dict[str, Any]
BOMBANA: Doc = {
    "code": "7406",
    "name": "BPS Kabupaten Bombana",
    "time_zone": "Asia/Makassar",
    "contacts": {"complaint_links": ["http://s.bps.go.id/PengaduanLayananBPS7406"], "complaint_email": "b@bps.go.id"},
    "complaint_page": "https://pst.test/complaints/new?office=7406",
}
COMPLAINT: Doc = {
    "number": "ADU-7406-2026-0007",
    "office": "7406",
    "source": "suggestion_box",
    "name": "Rina <script>",
    "email": "rina@example.id",
    "text": "Tabel <b>salah</b>\nbaris kedua",
    "consultation_number": "7406-2026-00042",
    "ticket_number": None,
    "status": "resolved",
    "response": "Sudah diperbaiki & dikirim ulang.",
}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_receipt_alert_and_answer(lang: str) -> None:
    c = {**COMPLAINT, "lang": lang}
    subject, text, html = mails.complaint_received(c, BOMBANA, "Senin, 4 Januari 2027 10.00 WITA", "Rabu")
    assert "\n" not in subject and "ADU-7406-2026-0007" in subject
    assert "Senin, 4 Januari 2027 10.00 WITA" in text and "Tabel <b>salah</b>\nbaris kedua" in text
    assert "Tabel &lt;b&gt;salah&lt;/b&gt;" in html and "<b>salah" not in html and "<script>" not in html
    subject, text, _ = mails.complaint_alert({"name": "Sri", "lang": lang}, c, BOMBANA, "received", "Senin", "http://x")
    assert subject.startswith("[Pengaduan baru]" if lang == "id" else "[New complaint]")
    assert ("Kotak saran" if lang == "id" else "suggestion box").lower() in text.lower()
    assert ("\nDiterima melalui:" if lang == "id" else "\nReceived through:") in text
    with pytest.raises(ValueError):
        mails.complaint_alert({"name": "Sri"}, c, BOMBANA, "resolved", "Senin", "http://x")
    subject, text, html = mails.complaint_answered(c, BOMBANA, "Rabu")
    assert subject.startswith("Tanggapan atas pengaduan" if lang == "id" else "Our response to complaint")
    assert "Sudah diperbaiki & dikirim ulang." in text and "Sudah diperbaiki &amp; dikirim ulang." in html
    subject, text, _ = mails.complaint_answered(
        {**c, "status": "rejected", "response": "Bukan wewenang BPS"}, BOMBANA, "Rabu"
    )
    assert ("tidak dapat ditindaklanjuti" if lang == "id" else "cannot be followed up") in subject
    assert "Bukan wewenang BPS" in text
    with pytest.raises(ValueError):
        mails.complaint_answered({**c, "status": "in_progress"}, BOMBANA, "Rabu")


def test_every_footer_links_the_complaint_page_and_lapor() -> None:
    _, text, html = mails.complaint_received(COMPLAINT, BOMBANA, "x", "y")
    assert "Pengaduan: http://s.bps.go.id/PengaduanLayananBPS7406, b@bps.go.id" in text
    assert "Formulir pengaduan: https://pst.test/complaints/new?office=7406" in text
    assert "LAPOR!: https://www.lapor.go.id" in text and 'href="https://www.lapor.go.id"' in html
    # A mail of no office (an account's): BPS, the page where one picks the office, LAPOR!.
    footer = {"complaint_page": "https://pst.test/complaints/new"}
    _, text, html = mails.verify_email({"name": "Sari"}, "https://pst.test/verify?token=t", footer=footer)
    assert "PST Konsultasi — Badan Pusat Statistik" in text
    assert "Formulir pengaduan: https://pst.test/complaints/new" in text and "LAPOR!" in html
    # Without the footer's page (a caller that has none) the mail still renders, with LAPOR!.
    _, text, _ = mails.verify_email({"name": "Sari"}, "https://pst.test/verify?token=t")
    assert "LAPOR!: https://www.lapor.go.id" in text and "Formulir pengaduan" not in text
