"""The public pages and the user portal in real headless Chromium, against the running app."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.browser import (
    PHONE,
    assert_no_console_errors,
    no_horizontal_overflow,
    page_for,
    shot,
    sign_in,
    sign_in_as,
)
from tests.conftest import Api, outbox_link

pytestmark = pytest.mark.browser


async def _open(user: Api, subject: str = "Data inflasi bulanan", text: str = "Saya butuh data inflasi 2025.",
                office: str = "7406") -> Any:
    return await user.post("/consultations", {"office": office, "topic": "data", "subject": subject, "text": text},
                           expect=201)


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small valid PNG (solid BPS blue) for upload tests."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x0a\x4d\x8c" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


async def _portal(make_context: Any, user: Api, route: str, **ctx_kw: Any) -> Page:
    """The portal at `route`, signed in as `user` through the session cookie (no login form)."""
    ctx = await make_context(**ctx_kw)
    await sign_in_as(ctx, user)
    page = await page_for(ctx)
    await page.goto(f"/app/{route}")
    await expect(page.locator("#nav .who")).to_be_attached()
    return page


async def test_home_offices_and_kb_search(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
) -> None:
    page = await page_for(await new_context())
    await page.goto("/")
    await expect(page.locator("h1")).to_contain_text("Konsultasi statistik")
    cards = page.locator(".office-card")
    await expect(cards).to_have_count(5)
    await expect(page.locator("#offices")).to_contain_text("BPS Kabupaten Bombana")
    await expect(page.locator("#offices")).to_contain_text("bps7406@bps.go.id")
    await shot(page, "home", full_page=True)
    # Knowledge-base search: results, or a plain message while the endpoint is not there.
    await page.locator("#kb-q").fill("inflasi")
    await page.locator("#kb-form button[type=submit]").click()
    out = page.locator("#kb-out")
    await expect(out.locator(".kb-result, .notice").first).to_be_visible()
    if await out.locator(".kb-result").count():
        # Snippets keep only their <mark> highlighting.
        assert await out.locator(".kb-snippet mark").count() > 0
        assert await out.locator(".kb-snippet *:not(mark)").count() == 0
        await out.locator(".kb-title").first.click()
        await expect(page.locator("dialog .kb-article")).not_to_contain_text("Memuat")
        await page.keyboard.press("Escape")
    else:
        await expect(out).to_contain_text("belum tersedia")
    # The English switch, remembered across pages.
    await page.locator("#lang-switch").click()
    await expect(page.locator("h1")).to_contain_text("Statistical consultation")
    await page.goto("/app/")
    await expect(page.locator("#main h1")).to_have_text("Sign in")
    await page.locator("#lang-switch").click()
    await expect(page.locator("#main h1")).to_have_text("Masuk")
    assert_no_console_errors(page)


async def test_register_verify_login_and_reset_through_the_pages(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    services: Any,
) -> None:
    db = services.db
    page = await page_for(await new_context())
    email = "rina@example.id"
    await page.goto("/app/#/register")
    form = page.locator("#register-form")
    await form.get_by_label("Nama lengkap").fill("Rina Pengguna")
    await form.get_by_label("E-mail").fill(email)
    await form.locator("input[name=password]").fill("kata-sandi-rina")
    await form.get_by_label("Instansi (opsional)").fill("Universitas Halu Oleo")
    # The privacy notice must be accepted (issue 11): the form does not go without it.
    await form.locator("input[name=consent]").check()
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#main")).to_contain_text("Periksa e-mail Anda")
    await expect(page.locator("#main")).to_contain_text(email)
    # Signing in before verifying says so plainly.
    await page.goto("/app/#/login")
    await page.locator("#login-form").get_by_label("E-mail").fill(email)
    await page.locator("#login-form input[type=password]").fill("kata-sandi-rina")
    await page.locator("#login-form button[type=submit]").click()
    await expect(page.locator("#login-form .form-status")).to_contain_text("belum diverifikasi")
    # The link from the e-mail.
    link = await outbox_link(db, email, "verify_email")
    token = link.split("token=")[1]
    await page.goto(f"/verify?token={token}")
    await expect(page.locator("#status")).to_contain_text("sudah terverifikasi")
    assert "token" not in page.url
    await page.goto("/verify?token=not-a-real-token")
    await expect(page.locator("#status")).to_contain_text("tidak valid")
    await sign_in(page, email, "kata-sandi-rina")
    await expect(page.locator("#main h1")).to_have_text("Konsultasi saya")
    await expect(page.locator("#main")).to_contain_text("belum punya konsultasi")
    # Forgot password -> e-mail -> /reset -> sign in with the new one.
    await page.locator("#nav button").click()
    await expect(page.locator("#nav")).to_contain_text("Masuk")
    await page.goto("/app/#/forgot")
    await page.get_by_label("E-mail").fill(email)
    await page.locator("#main button[type=submit]").click()
    await expect(page.locator("#main .form-status")).to_contain_text("tautan")
    reset = await outbox_link(db, email, "reset_password")
    await page.goto(f"/reset?token={reset.split('token=')[1]}")
    await page.locator("#password").fill("sandi-baru-123")
    await page.locator("#password2").fill("sandi-baru-123")
    await page.locator("#reset-form button[type=submit]").click()
    await expect(page.locator("#status")).to_contain_text("sudah diganti")
    await sign_in(page, email, "sandi-baru-123")
    assert_no_console_errors(page)


async def test_open_consultation_with_kb_fields_and_due_date(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    services: Any,
) -> None:
    user = await make_user(name="Sari Warga")
    page = await _portal(new_context, user, "#/new?office=7501")
    form = page.locator("#new-form")
    await expect(form.get_by_label("Kantor BPS")).to_have_value("7501")
    await form.get_by_label("Topik").select_option("metadata")
    await form.get_by_label("Perihal").fill("inflasi bulanan")
    # Matching articles appear while typing (or a plain note when the server has no search).
    suggest = page.locator(".kb-suggest")
    await expect(suggest).not_to_be_empty()
    opened: list[str] = []
    if await suggest.locator(".kb-result").count():
        first = suggest.locator(".kb-title").first
        title = await first.inner_text()
        async with page.expect_response(re.compile(r"/api/v1/kb/articles/")) as art:
            await first.click()
        opened.append((await (await art.value).json())["id"])
        dlg = page.locator("dialog")
        await expect(dlg.locator("h2")).to_have_text(title)
        await expect(dlg.locator(".kb-article")).not_to_be_empty()
        assert await dlg.locator(".kb-article script, .kb-article iframe, .kb-article [onerror]").count() == 0
        await page.keyboard.press("Escape")
        await expect(dlg).to_have_count(0)
    else:
        await expect(suggest).to_contain_text("belum tersedia")
    await form.get_by_label("Pertanyaan Anda").fill("Di mana metadata Sakernas 2025?")
    await form.locator("button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"#/c/[0-9a-f]{24}$"))
    await expect(page.locator(".room-log")).to_contain_text("Di mana metadata Sakernas 2025?")
    cid = page.url.rsplit("/", 1)[1]
    stored = await services.db.consultations.find_one({"number": {"$regex": "^7501-"}})
    assert str(stored["_id"]) == cid and stored["topic"] == "metadata"
    assert stored["kb_opened"] == opened
    assert stored["kb_query"] == ("inflasi bulanan" if opened else None)
    # The list shows the answer-by date in the office's zone (7501 is WITA).
    await page.goto("/app/#/list")
    item = page.locator(f".c-item[data-id='{cid}']")
    await expect(item).to_contain_text("Dijawab paling lambat")
    await expect(item).to_contain_text("WITA")
    await expect(item).to_contain_text("Menunggu petugas")
    assert_no_console_errors(page)


async def test_phone_chat_is_usable_without_horizontal_overflow(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await _open(user, subject="Tabel PDRB kabupaten menurut lapangan usaha tahun 2020–2025",
                    text="Mohon tautan https://bombanakab.bps.go.id/statictable/2024/03/01/1234/produk-domestik-"
                         "regional-bruto-atas-dasar-harga-berlaku-menurut-lapangan-usaha.html")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/messages", {"text": "Baik, tabelnya ada di publikasi Kabupaten "
                                                                      "Bombana Dalam Angka 2025.", "client_id": "o1"},
                       expect=201)
    page = await _portal(new_context, user, f"#/c/{c['id']}", viewport=PHONE, device_scale_factor=2,
                         is_mobile=True, has_touch=True)
    await expect(page.locator(".room-log")).to_contain_text("Bombana Dalam Angka")
    composer = page.locator(".composer-input")
    await composer.fill("Terima kasih, sangat membantu! " + "x" * 80)
    await page.locator(".composer-send").click()
    await expect(page.locator(".msg-out .msg-body").last).to_contain_text("Terima kasih")
    sw, iw = await no_horizontal_overflow(page)
    assert iw == 360 and sw <= 360, (sw, iw)
    box = await composer.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 740
    send = await page.locator(".composer-send").bounding_box()
    assert send and send["x"] + send["width"] <= 360
    await shot(page, "phone-chat")
    # The list and the new-consultation form fit the phone too.
    for route in ("#/list", "#/new"):
        await page.goto(f"/app/{route}")
        await expect(page.locator("#main h1")).to_be_visible()
        sw, _ = await no_horizontal_overflow(page)
        assert sw <= 360, (route, sw)
    await shot(page, "phone-new")
    assert_no_console_errors(page)


async def test_closed_consultation_offers_rating_and_transcript(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user(name="Sari Warga")
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    page = await _portal(new_context, user, f"#/c/{c['id']}")
    await expect(page.locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    # Attachments: an image shows a thumbnail, a CSV a download link; both are file messages.
    await page.locator(".composer input[type=file]").set_input_files(
        files=[FilePayload(name="grafik.png", mimeType="image/png", buffer=_png())])
    thumb = page.locator(".msg-wrap .file img.thumb")
    await expect(thumb).to_be_visible()
    # Visible comes before loaded on a busy machine: wait for the image itself, then check its size.
    await thumb.evaluate("img => img.complete || new Promise(ok => img.addEventListener('load', ok, {once: true}))")
    assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 24
    await page.locator(".composer input[type=file]").set_input_files(
        files=[FilePayload(name="tabel.csv", mimeType="text/csv", buffer=b"tahun,nilai\n2024,11.2\n2025,10.9\n")])
    csv_link = page.locator(".msg-wrap .file a", has_text="tabel.csv")
    await expect(csv_link).to_have_attribute("href", re.compile(r"^/api/v1/attachments/[0-9a-f]{24}$"))
    async with page.expect_download() as download:
        await csv_link.click()
    assert (await download.value).suggested_filename == "tabel.csv"
    await page.locator(".composer input[type=file]").set_input_files(
        files=[FilePayload(name="virus.exe", mimeType="application/octet-stream", buffer=b"MZ\x90\x00" * 64)])
    await expect(page.locator(".composer-error")).not_to_be_empty()
    await page.locator(".room-menu > summary").click()  # closing sits in the room's menu (issue 17)
    await page.get_by_role("button", name="Tutup konsultasi").click()
    await page.locator("dialog").get_by_role("button", name="Tutup konsultasi").click()
    footer = page.locator(".room-footer")
    await expect(footer).to_contain_text("sudah ditutup")
    await expect(footer.get_by_role("link", name="Beri penilaian layanan")).to_have_attribute(
        "href", f"/rate?c={c['id']}")
    transcript = footer.get_by_role("link", name="Lihat transkrip")
    await expect(transcript).to_have_attribute("target", "_blank")
    await footer.get_by_role("button", name="Kirim transkrip ke e-mail saya").click()
    await expect(page.locator(".toast")).to_contain_text("dikirim")
    await expect(page.locator(".composer")).to_be_hidden()
    # Switching to English while signed in changes the page and the profile (e-mails follow it).
    await page.locator("#lang-switch").click()
    await expect(footer).to_contain_text("This consultation is closed.")
    for _ in range(50):
        if (await user.get("/me"))["lang"] == "en":
            break
        await asyncio.sleep(0.1)
    assert (await user.get("/me"))["lang"] == "en"
    assert_no_console_errors(page)
