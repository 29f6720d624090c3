"""The portal as a citizen found it (issue 17), in headless Chromium at 360 and 1366 px: one language at a
time, the room after closing and rating, the header on a phone, the knowledge base and accounts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import assert_no_console_errors, page_for, shot
from tests.browser.rooms import LAPTOP, PHONE, console, open_consultation, open_room, portal, room_action

pytestmark = pytest.mark.browser


async def _closed(officer: Any, user: Any, subject: str = "Data upah") -> Any:
    c = await open_consultation(user, subject)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(
        f"/consultations/{c['id']}/messages", {"text": "Datanya ada di tabel 3.", "client_id": "a1"}, expect=201
    )
    return await officer.post(f"/consultations/{c['id']}/close", {"summary": "Tabel 3 dikirim."}, expect=200)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_a_rated_closed_consultation_has_no_stray_unread_badge(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await _closed(officer, user)
    pu = await portal(new_context, user, f"#/c/{c['id']}", viewport)
    await expect(pu.locator(".room-log")).to_contain_text("Mohon beri penilaian")
    # The user rates (on the rating page or by the e-mail link), then comes back to the list.
    await user.post(f"/consultations/{c['id']}/rating", {"score": 5}, expect=201)
    await pu.goto("/app/#/list")
    item = pu.locator(f".c-item[data-id='{c['id']}']")
    await expect(item).to_contain_text("Penilaian layanan: ★★★★★ (5/5)")
    await expect(item.locator(".badge.unread")).to_have_count(0)
    assert (await user.get(f"/consultations/{c['id']}"))["unread"] == 0
    assert_no_console_errors(pu)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_system_messages_are_shown_in_the_readers_language_only(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Jane Doe", lang="en")
    c = await _closed(officer, user)
    pu = await portal(new_context, user, f"#/c/{c['id']}", viewport)
    log = pu.locator(".room-log")
    await expect(log).to_contain_text("Budi Petugas took this consultation.")
    await expect(log).to_contain_text("The consultation was closed by Budi Petugas. Summary: Tabel 3 dikirim.")
    await expect(log).to_contain_text("Please rate this service (1–5).")
    text = await log.inner_text()
    assert "Mohon" not in text and "ditutup oleh" not in text and " / " not in text
    await pu.goto("/app/#/list")
    last = (await user.get(f"/consultations/{c['id']}"))["last_message"]
    assert last["texts"]["en"] != last["texts"]["id"] == last["text"]
    await expect(pu.locator(f".c-item[data-id='{c['id']}'] .c-last")).to_have_text(last["texts"]["en"])
    # Switching the page's language redraws the room's system messages in the other language.
    await pu.goto(f"/app/#/c/{c['id']}")
    await expect(log).to_contain_text("Please rate this service")
    await pu.locator("#lang-switch").click()
    await expect(log).to_contain_text("Mohon beri penilaian atas layanan ini (1–5).")
    await expect(log).to_contain_text("Konsultasi diambil oleh Budi Petugas.")
    assert "Please rate" not in await log.inner_text()
    assert_no_console_errors(pu)


_CONTRAST = """(el) => {
  const rgb = (s) => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const s = getComputedStyle(el);
  const [a, b] = [lum(rgb(s.color)), lum(rgb(s.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_the_rating_page_has_labelled_radios_in_order_a_header_and_the_users_language(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Jane Doe", lang="en")
    c = await _closed(officer, user)
    pu = await portal(new_context, user, f"#/c/{c['id']}", viewport)
    await pu.get_by_role("link", name="Rate this service").click()
    await expect(pu.locator("h1")).to_have_text("Rate our service")
    # A header with the site's name and the language switch, a way back, the favicon.
    await expect(pu.locator("header.topbar .brand")).to_contain_text("PST Konsultasi")
    await expect(pu.get_by_role("link", name="← Back to this consultation")).to_have_attribute(
        "href", f"/app/#/c/{c['id']}"
    )
    assert await pu.locator("link[rel=icon]").count() == 1
    body = await pu.locator("main").inner_text()
    assert "Penilaian" not in body and "·" not in body and "Kirim" not in body
    # Labelled radios, 1 to 5 in the order the arrow keys go.
    names = ["1 — very poor", "2 — poor", "3 — fair", "4 — good", "5 — very good"]
    for name in names:
        await expect(pu.get_by_role("radio", name=name)).to_have_count(1)
    boxes = [await pu.locator(f"label[for=s{i}]").bounding_box() for i in range(1, 6)]
    assert [b["x"] for b in boxes if b] == sorted(b["x"] for b in boxes if b)  # left to right
    await pu.get_by_role("radio", name=names[0]).focus()
    await pu.keyboard.press("Space")
    await expect(pu.get_by_role("radio", name=names[0])).to_be_checked()
    await pu.keyboard.press("ArrowRight")
    await pu.keyboard.press("ArrowRight")
    await pu.keyboard.press("ArrowRight")
    await expect(pu.get_by_role("radio", name=names[3])).to_be_checked()
    await expect(pu.locator("#score-text")).to_have_text("4 — good")
    assert await pu.locator("label.lit").count() == 4
    send = pu.get_by_role("button", name="Send the rating")
    assert await send.evaluate(_CONTRAST) >= 4.5
    await shot(pu, f"rate-{viewport['width']}")
    await send.click()
    await expect(pu.locator("#done")).to_have_text("Thank you for your rating (★★★★☆).")
    assert (await user.get(f"/consultations/{c['id']}"))["rating"]["score"] == 4
    assert_no_console_errors(pu)


async def test_the_e_mailed_rating_link_speaks_the_askers_language(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    app: Any,
) -> None:
    from bson import ObjectId

    from server.keys import SERVICES

    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Jane Doe", lang="en")
    c = await _closed(officer, user)
    mail = await app[SERVICES].db.outbox.find_one({"kind": "rating_request", "consultation_id": ObjectId(c["id"])})
    link = re.search(r"(/rate\?token=\S+)", mail["text"])
    assert link
    page = await page_for(await new_context(PHONE))  # not signed in, no language chosen on this device
    await page.goto(link.group(1))
    await expect(page.locator("h1")).to_have_text("Rate our service")
    await expect(page.get_by_role("radio", name="5 — very good")).to_have_count(1)
    await expect(page.locator("#about-number")).to_have_text(c["number"])
    # The visitor switches: the page follows at once.
    await page.locator("#lang-switch").click()
    await expect(page.locator("h1")).to_have_text("Penilaian layanan")
    await expect(page.get_by_role("radio", name="5 — sangat baik")).to_have_count(1)
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_a_weak_password_is_refused_and_a_used_link_offers_the_log_in(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    anon: Any,
    app: Any,
    viewport: Any,
) -> None:
    from server.keys import SERVICES
    from tests.conftest import outbox_link

    page = await page_for(await new_context(viewport))
    await page.goto("/app/#/register")
    form = page.locator("#register-form")
    await form.get_by_label("Nama lengkap").fill("Rina Pengguna")
    await form.get_by_label("E-mail").fill("rina@example.id")
    await form.locator("input[name=password]").fill("password123")
    consent = form.locator("input[type=checkbox]")
    if await consent.count():
        await consent.first.check()
    await form.locator("button[type=submit]").click()
    status = form.locator(".form-status")
    await expect(status).to_contain_text("terlalu mudah ditebak")
    assert "too easy" not in await status.inner_text()  # the page's words, not the server's
    await form.locator("input[name=password]").fill("kopi-hujan-lampu-7")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#main")).to_contain_text("rina@example.id")

    link = await outbox_link(app[SERVICES].db, "rina@example.id", "verify_email")
    path = link.replace("http://pst.test", "")
    await page.goto(path)
    await expect(page.locator("#status")).to_contain_text("terverifikasi")
    # The same link again (a second click, a mail scanner was first): no error, on to the log-in.
    await page.goto(path)
    await expect(page.locator("#status")).to_have_text(
        "Alamat e-mail ini sudah terverifikasi sebelumnya. Silakan masuk."
    )
    assert await page.locator("#status").get_attribute("data-kind") == "ok"
    login = page.get_by_role("link", name="Masuk sekarang")
    await expect(login).to_have_attribute("href", "/app/#/login?email=rina%40example.id")
    await login.click()
    await expect(page.locator("#login-form").get_by_label("E-mail")).to_have_value("rina@example.id")
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_the_knowledge_base_counts_every_match_pages_on_and_gives_each_article_its_page(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
    app: Any,
    viewport: Any,
) -> None:
    from server.domain import kb
    from server.keys import SERVICES

    admin = await make_staff("admin", None, name="Admin Nasional")
    made = []
    for i in range(13):
        body = {
            "title": f"Zirkonia survei {i:02d}",
            "body": f"Cara membaca tabel zirkonia nomor {i}.\n\n## Langkah\nUnduh.",
            "topic": "data",
            "scope": "national",
            "status": "published",
        }
        made.append(await admin.post("/kb/articles", body, expect=201))
    await kb.refresh(app[SERVICES])
    page = await page_for(await new_context(viewport))
    await page.goto("/")
    await page.locator("#kb-q").fill("zirkonia")
    await page.locator("#kb-q").press("Enter")
    out = page.locator("#kb-out")
    await expect(out.locator(".kb-count")).to_have_text("13 artikel ditemukan", timeout=15_000)
    await expect(out.locator(".kb-result")).to_have_count(10)
    await out.get_by_role("button", name="Tampilkan 3 lagi").click()
    await expect(out.locator(".kb-result")).to_have_count(13)
    await expect(out.locator(".kb-more")).to_have_count(0)
    titles = await out.locator(".kb-title").all_inner_texts()
    assert len(set(titles)) == 13
    # Each title is the article's own address; a plain click still opens it right here.
    first = out.locator(".kb-title").first
    href = await first.get_attribute("href")
    assert href and href.startswith("/kb/")
    await first.click()
    await expect(page.locator("dialog .kb-article h2")).to_have_text("Langkah")
    await expect(
        page.locator("dialog").get_by_role("link", name="Tautan artikel ini (untuk dibagikan)")
    ).to_have_attribute("href", href)
    # The page itself, written on the server: title, description, the body, a way to ask.
    resp = await page.request.get(href)
    html = await resp.text()
    assert resp.status == 200 and "<h2>Langkah</h2>" in html and 'name="description"' in html
    await page.goto(href)
    await expect(page.locator("h1")).to_have_text(titles[0])
    await expect(page).to_have_title(f"{titles[0]} — PST Konsultasi")
    await expect(page.locator(".kb-body h2")).to_have_text("Langkah")
    await expect(page.get_by_role("link", name="Mulai konsultasi")).to_have_attribute("href", "/app/#/new")
    await page.locator("#lang-switch").click()
    await expect(page.get_by_role("link", name="Start a consultation")).to_be_visible()
    assert (await page.request.get("/kb/ffffffffffffffffffffffff")).status == 404
    assert_no_console_errors(page)


async def test_a_search_across_all_offices_is_not_one_offices_miss(make_staff: Any, anon: Any) -> None:
    await anon.get("/kb/search?q=qwzx%20vbnmk")  # the home page's default: every office
    await anon.get("/kb/search?q=plokij%20uhygt&office=7406")
    sup = await make_staff("supervisor", "7406")
    queries = [m["query"] for m in (await sup.get("/kb/misses"))["misses"]]
    assert queries == ["plokij uhygt"]
    national = await make_staff("admin", None)
    assert {m["query"] for m in (await national.get("/kb/misses"))["misses"]} == {"qwzx vbnmk", "plokij uhygt"}


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["360", "1366"])
async def test_the_room_header_is_one_line_with_details_on_tap_and_closing_in_a_menu(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah buruh tani menurut kecamatan di Kabupaten Bombana")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    pu = await portal(new_context, user, f"#/c/{c['id']}", viewport)
    head = pu.locator(".room-head")
    await expect(head.locator("h1")).to_contain_text(c["number"])
    summary = head.locator(".room-details > summary")
    await expect(summary).to_contain_text("Aktif")
    await expect(summary).to_contain_text("Dijawab ≤")
    box = await head.bounding_box()
    await shot(pu, f"portal-room-head-open-{viewport['width']}")
    assert box and box["height"] <= 100, box  # was ~220 of 740 px on a phone
    # The details on a tap: office, officer, the whole deadline.
    office = head.locator(".room-office")
    await expect(office).to_be_hidden()
    await summary.click()
    await expect(office).to_have_text("BPS Kabupaten Bombana")
    await expect(head.locator(".room-facts")).to_contain_text("Budi Petugas")
    await expect(head.locator(".room-facts .c-due")).to_contain_text("Dijawab paling lambat")
    await summary.click()
    await expect(office).to_be_hidden()
    # Closing the consultation is in the room's menu, behind a confirmation.
    await expect(pu.get_by_role("button", name="Tutup konsultasi")).to_be_hidden()
    await head.locator(".room-menu > summary").click()
    await pu.get_by_role("button", name="Tutup konsultasi").click()
    await pu.locator("dialog").get_by_role("button", name="Tutup konsultasi").click()
    await expect(pu.locator(".room-footer")).to_contain_text("sudah ditutup")
    await expect(head.locator(".room-menu")).to_have_count(0)
    await shot(pu, f"portal-room-head-{viewport['width']}")
    assert_no_console_errors(pu)


async def test_visits_with_real_times_booked_moved_and_cancelled_from_the_room(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    anon: Any,
) -> None:
    await anon.call("POST", "/_test/clock", {"set": "2026-11-23T09:00:00+07:00"}, expect=200)  # Mon 10.00 WITA
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    pu = await portal(new_context, user, f"#/c/{c['id']}", PHONE)
    head = pu.locator(".room-head")
    await head.locator(".room-menu > summary").click()
    await pu.get_by_role("button", name="Jadwalkan kunjungan").click()
    dlg = pu.locator("dialog")
    days = dlg.locator(".visit-days label")
    await expect(days.first).to_be_visible()
    labels = await days.all_inner_texts()
    # Only days the office is open: no weekend, no Christmas.
    assert labels and not [d for d in labels if d.startswith(("Sabtu", "Minggu")) or "25 Desember" in d], labels
    assert labels[0].startswith("Senin, 23 November 2026") or labels[0].startswith("Selasa, 24 November 2026")
    await expect(dlg.get_by_role("button", name="Jadwalkan", exact=True)).to_be_disabled()
    await days.nth(1).click()
    times = dlg.locator(".visit-times label")
    await expect(times.first).to_contain_text("WITA")
    await times.first.click()
    await dlg.get_by_role("button", name="Jadwalkan", exact=True).click()
    await expect(pu.locator(".toast")).to_contain_text("Kunjungan dijadwalkan")
    card = pu.locator(".room-log .msg-body.visit")
    await expect(card).to_have_count(1)
    booked = (await user.get(f"/consultations/{c['id']}"))["visit"]
    await expect(card).to_contain_text(booked["code"])
    await expect(card).to_contain_text("Kunjungan tatap muka")
    await expect(card).to_contain_text("WITA")
    # Move it to another day.
    await head.locator(".room-menu > summary").click()
    await pu.get_by_role("button", name="Ubah jadwal kunjungan").click()
    await expect(dlg).to_contain_text("Jadwal sekarang")
    await dlg.locator(".visit-days label").nth(2).click()
    await dlg.locator(".visit-times label").first.click()
    await dlg.get_by_role("button", name="Pindahkan ke jam ini").click()
    await expect(card).to_have_count(2)
    moved = (await user.get(f"/consultations/{c['id']}"))["visit"]
    assert moved["code"] != booked["code"] and moved["date"] > booked["date"]
    # Cancel it.
    await head.locator(".room-menu > summary").click()
    await pu.get_by_role("button", name="Batalkan kunjungan").click()
    await pu.locator("dialog").get_by_role("button", name="Batalkan kunjungan").click()
    await expect(pu.locator(".room-log .msg-body.visit.is-cancelled")).to_have_count(1)
    assert (await user.get(f"/consultations/{c['id']}"))["visit"]["status"] == "cancelled"
    await head.locator(".room-menu > summary").click()
    await expect(pu.get_by_role("button", name="Jadwalkan kunjungan")).to_be_visible()

    # The officer books from the console: the same card on both sides.
    po = await console(new_context, officer, LAPTOP)
    room = await open_room(po, c["id"])
    await expect(room.locator(".room-log .msg-body.visit")).to_have_count(3)
    await room_action(room, "Jadwalkan kunjungan")
    odlg = po.locator("dialog")
    await odlg.locator(".visit-days label").first.click()
    await odlg.locator(".visit-times label").last.click()
    await odlg.get_by_role("button", name="Jadwalkan", exact=True).click()
    await expect(room.locator(".room-log .msg-body.visit")).to_have_count(4)
    await expect(pu.locator(".room-log .msg-body.visit")).to_have_count(4)
    await shot(pu, "portal-visit-card")
    assert_no_console_errors(pu, po)


async def test_a_message_refused_busy_is_sent_again_by_the_page_by_itself(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    services: Any,
) -> None:
    """Past its limit the server refuses new messages `busy`; the page sends them again after a pause, with
    the same client_id, and the person sees their message go, not a failure to retry by hand."""
    from server.storage.batching import Overloaded
    from tests.browser.rooms import send

    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data inflasi")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    pu = await portal(new_context, user, f"#/c/{c['id']}")
    await expect(pu.locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    batch = services.batch.messages
    real_insert, refused = batch.insert, []

    async def insert(doc: Any) -> Any:
        if len(refused) < 2:
            refused.append(doc.get("client_id"))
            raise Overloaded("the oldest waited over 1 s")
        return await real_insert(doc)

    batch.insert = insert
    await send(pu, "Tahun 2020 sampai 2025")
    await expect(pu.locator(".room-log .msg-wrap").last).to_contain_text("Tahun 2020 sampai 2025", timeout=15_000)
    await expect(pu.locator(".msg-out.pending")).to_have_count(0)
    await expect(pu.locator(".msg-out.failed")).to_have_count(0)
    assert len(refused) == 2 and refused[0] == refused[1]
    stored = await services.db.messages.count_documents({"text": "Tahun 2020 sampai 2025"})
    assert stored == 1
    assert_no_console_errors(pu)
