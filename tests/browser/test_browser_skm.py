"""The SKM survey on a 360 px phone (from the room's link and from the walk-in ticket's phone page), the public
complaint page, and the supervisors' complaints and IKM views, in real headless Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bson import ObjectId
from playwright.async_api import Page, expect

from server.keys import SERVICES
from tests.browser import (
    PHONE,
    assert_no_console_errors,
    no_horizontal_overflow,
    page_for,
    shot,
    sign_in_as,
)
from tests.conftest import Api
from tests.domain.test_reports import wita
from tests.domain.test_surveys import HAND

pytestmark = pytest.mark.browser

KEYS = ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"]


async def closed_consultation(user: Api, officer: Api) -> Any:
    c = await user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Data inflasi", "text": "Mohon data inflasi bulanan."},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/messages", {"text": "Ini datanya.", "client_id": str(ObjectId())},
                       expect=201)  # fmt: skip
    await officer.post(f"/consultations/{c['id']}/close", {}, expect=200)
    return c


async def answer(page: Page, key: str, value: int) -> None:
    await page.locator(f"label[for='q-{key}-{value}']").click()


async def test_the_survey_on_a_phone_from_the_rooms_link_once(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 23, 10, 0))
    officer = await make_staff("officer", "7406", name="Budi")
    user = await make_user("Sari")
    c = await closed_consultation(user, officer)
    msgs = (await user.get(f"/consultations/{c['id']}/messages"))["messages"]
    link = re.search(r"http://pst\.test(/survey\?\S+)", next(m["text"] for m in msgs if "Survei" in m["text"]))
    assert link

    # Opened on a phone, without signing in: the signed link is enough.
    ctx = await new_context(viewport=PHONE)
    page = await page_for(ctx)
    await page.goto(link.group(1))
    await expect(page.locator("#skm-office")).to_contain_text("BPS Kabupaten Bombana")
    await expect(page.locator("#skm-office")).to_contain_text(c["number"])
    await expect(page.locator(".skm-q")).to_have_count(9)
    await expect(page.locator("#skm-biaya")).to_contain_text("Gratis")
    # Eight of nine: the page says one is missing and points at it.
    for key, value in zip(KEYS[:8], HAND[0][:8], strict=True):
        await answer(page, key, value)
    await page.locator("#skm-submit").click()
    await expect(page.locator("#skm-status")).to_contain_text("1 pertanyaan belum dijawab")
    await expect(page.locator("#skm-sarana")).to_have_class(re.compile(r"\bmissing\b"))
    await expect(page.locator("#q-sarana-1")).to_be_focused()
    sw, iw = await no_horizontal_overflow(page)
    assert sw <= iw, (sw, iw)
    await shot(page, "skm-phone-missing", full_page=True)
    # The answers survive a change of language.
    await page.locator("#lang-switch").click()
    await expect(page.locator("#skm-biaya")).to_contain_text("Free of charge")
    await expect(page.locator("#q-persyaratan-4")).to_be_checked()
    await page.locator("#lang-switch").click()
    await answer(page, "sarana", HAND[0][8])
    await page.locator(".skm-profile summary").click()
    await page.locator("#skm-sex input[value=female]").check()
    await page.locator("#skm-age").fill("29")
    await page.locator("#skm-education").select_option("s2")
    await page.locator("#skm-occupation").select_option("peneliti")
    await page.locator("#skm-suggestion").fill("Tambahkan tabel per kecamatan.")
    await page.locator("#skm-submit").click()
    await expect(page.locator("#skm-done")).to_contain_text("Terima kasih")
    await shot(page, "skm-phone-done", full_page=True)
    stored = await svc.db.skm_responses.find_one({"consultation_id": ObjectId(c["id"])})
    assert stored["answers"] == dict(zip(KEYS, HAND[0], strict=True))
    assert stored["profile"] == {"sex": "female", "age": 29, "education": "s2", "occupation": "peneliti"}
    assert stored["suggestion"] == "Tambahkan tabel per kecamatan." and stored["verified"] is True
    # Once: the same link again says so.
    page2 = await page_for(ctx)
    await page2.goto(link.group(1))
    await expect(page2.locator("#skm-done")).to_contain_text("sudah diisi")
    # A forged link is refused in words.
    page3 = await page_for(ctx)
    await page3.goto(f"/survey?consultation={c['id']}&token=forged")
    await expect(page3.locator("#skm-problem")).to_contain_text("tidak berlaku")
    assert_no_console_errors(page, page2, page3)


async def test_the_walk_in_tickets_phone_page_leads_to_the_survey(
    app: Any,
    anon: Api,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 23, 9, 0))
    officer = await make_staff("officer", "7406", name="Wati")
    anon.client.session.cookie_jar.clear()
    taken = await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    await officer.post("/offices/7406/queue/next", {"desk": "1"}, expect=200)
    await officer.post(f"/queue/tickets/{taken['ticket']['id']}/done", {"topic": "data"}, expect=200)
    ctx = await new_context(viewport=PHONE)
    page = await page_for(ctx)
    await page.goto(taken["url"].replace("http://pst.test", ""))
    await page.locator("#skm-link").click()
    await expect(page.locator("#skm-office")).to_contain_text(taken["ticket"]["number"])
    for key in KEYS:
        await answer(page, key, 4)
    await page.locator("#skm-submit").click()
    await expect(page.locator("#skm-done")).to_be_visible()
    stored = await svc.db.skm_responses.find_one({"ticket_id": ObjectId(taken["ticket"]["id"])})
    assert stored["channel"] == "walk_in" and stored["officer_name"] == "Wati" and stored["verified"] is True
    assert_no_console_errors(page)


async def test_the_public_complaint_page(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 12, 23, 10, 0))
    ctx = await new_context(viewport=PHONE)
    page = await page_for(ctx)
    await page.goto("/complaints/new?office=7406")
    await expect(page.locator("#cmp-office")).to_have_value("7406")
    await expect(page.locator("#cmp-channels")).to_contain_text("http://s.bps.go.id/PengaduanLayananBPS7406")
    await expect(page.locator("#cmp-lapor")).to_have_attribute("href", "https://www.lapor.go.id")
    # Refused in words: no name.
    await page.locator("#cmp-email").fill("tamu@example.org")
    await page.locator("#cmp-text").fill("Antrean di perpustakaan terlalu lama.")
    await expect(page.locator("#cmp-count")).to_contain_text("37 dari 5.000")
    await page.locator("#cmp-submit").click()
    await expect(page.locator("#cmp-status")).to_contain_text("Nama wajib diisi")
    await page.locator("#cmp-name").fill("Tamu Perpustakaan")
    sw, iw = await no_horizontal_overflow(page)
    assert sw <= iw, (sw, iw)
    await page.locator("#cmp-submit").click()
    # Received on 23 December: answered by Monday 4 January 2027 (holidays and the joint leave day skipped).
    await expect(page.locator("#cmp-done")).to_contain_text("ADU-7406-2026-0001")
    await expect(page.locator("#cmp-done")).to_contain_text("Senin, 4 Januari 2027 10.00 WITA")
    await shot(page, "complaint-page-done", full_page=True)
    stored = await svc.db.complaints.find_one({"number": "ADU-7406-2026-0001"})
    assert stored["source"] == "web" and stored["name"] == "Tamu Perpustakaan" and stored["lang"] == "id"
    assert await svc.db.outbox.count_documents({"kind": "complaint_received", "to": "tamu@example.org"}) == 1
    assert_no_console_errors(page, allow=(r"Failed to load resource: the server responded with a status of 422",))


async def test_supervisors_answer_a_complaint_and_read_the_ikm(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 10, 10, 0))
    officer = await make_staff("officer", "7406", name="Andi")
    wati = await make_staff("supervisor", "7406", name="Wati Supervisor")
    user = await make_user("Sari")
    for row in HAND:
        c = await closed_consultation(user, officer)
        body = {"office": "7406", "consultation_id": c["id"], "answers": dict(zip(KEYS, row, strict=True))}
        await user.post("/surveys/skm/responses", body, expect=201)
    await user.post(f"/consultations/{c['id']}/rating", {"score": 2, "complaint": "Tabel salah tahun."}, expect=201)
    low = await closed_consultation(user, officer)
    await user.post(f"/consultations/{low['id']}/rating", {"score": 1, "comment": "Kurang jelas"}, expect=201)

    ctx = await new_context()
    await sign_in_as(ctx, wati)
    page = await page_for(ctx)
    await page.goto("/console/#complaints")
    row = page.locator("#cc-table tbody tr").first
    await expect(row).to_contain_text("ADU-7406-2026-0001")
    await expect(row).to_contain_text("Penilaian layanan")
    await expect(page.locator("#cc-followups")).to_contain_text("Kurang jelas")
    await row.locator("a").click()
    await expect(page.locator("#cc-text")).to_have_text("Tabel salah tahun.")
    await page.locator("#cc-note").fill("Cek arsip pengiriman.")
    await page.locator("#cc-note-add").click()
    await expect(page.locator("#cc-notes")).to_contain_text("Cek arsip pengiriman.")
    # A rejection needs its reason.
    await page.locator("#cc-reject").click()
    await expect(page.locator(".toast-error")).to_contain_text("alasan")
    await page.locator("#cc-response").fill("Tabel yang benar sudah dikirim ulang.")
    await page.locator("#cc-resolve").click()
    await expect(page.locator("#cc-answered")).to_contain_text("Tabel yang benar sudah dikirim ulang.")
    await expect(page.locator("#cc-history")).to_contain_text("Selesai")
    await shot(page, "console-complaint", full_page=True)
    answered = await svc.db.outbox.find_one({"kind": "complaint_answered"})
    assert answered is not None and "Cek arsip" not in answered["text"]

    # The IKM of the month: the hand-worked example, its chart, the lowest elements marked.
    await page.goto("/console/#ikm")
    await page.locator("#ikm-from").fill("2026-11-01")
    await page.locator("#ikm-to").fill("2026-11-30")
    await page.locator("#ikm-form button[type=submit]").click()
    await expect(page.locator("#ikm-value .tile-value")).to_have_text("81,94")
    await expect(page.locator("#ikm-grade .tile-value")).to_have_text("B")
    await expect(page.locator("#ikm-chart")).to_have_attribute("data-ready", "1")
    nrr = await page.evaluate("() => Chart.getChart(document.querySelector('#ikm-chart')).data.datasets[0].data")
    assert nrr == [3.5, 3.5, 2.75, 4.0, 3.25, 3.5, 3.75, 2.5, 2.75]
    await expect(page.locator("#ikm-table tr.ikm-low")).to_have_count(3)
    await expect(page.locator("#ikm-table tr[data-key=pengaduan]")).to_have_class(re.compile(r"\bikm-low\b"))
    await expect(page.locator("#ikm-lowest")).to_contain_text("Penanganan pengaduan")
    await expect(page.locator("#ikm-sample")).to_contain_text("4 dari 5")  # five consultations served
    await shot(page, "console-ikm", full_page=True)
    await page.locator("#lang-switch").click()
    await expect(page.locator("#ikm-h")).to_have_text("Community Satisfaction Index (IKM)")
    assert_no_console_errors(page)


async def test_the_one_click_rating_page_offers_the_survey(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 23, 10, 0))
    officer = await make_staff("officer", "7406")
    user = await make_user("Sari")
    c = await closed_consultation(user, officer)
    mail = await svc.db.outbox.find_one({"kind": "rating_request", "consultation_id": ObjectId(c["id"])})
    link = re.search(r"http://pst\.test(/rate\?token=\S+)", mail["text"])
    assert link
    ctx = await new_context(viewport=PHONE)
    page = await page_for(ctx)
    await page.goto(link.group(1))
    await expect(page.locator("#skm-offer")).to_be_visible()
    href = await page.locator("#skm-link").get_attribute("href")
    assert href is not None and href.startswith(f"/survey?consultation={c['id']}&token=")
    await page.locator("#skm-link").click()
    await expect(page.locator(".skm-q")).to_have_count(9)
    await expect(page.locator("#skm-office")).to_contain_text(c["number"])
    assert_no_console_errors(page)
