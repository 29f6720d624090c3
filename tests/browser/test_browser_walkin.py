"""The walk-in desk in real headless Chromium: kiosk → ticket → the board speaks the call → the desk
finishes, for two offices side by side; the phone page; 360 px without sideways scrolling; the board
coming back after a dropped connection."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from server.keys import SIO
from tests.browser import (
    PHONE,
    assert_no_console_errors,
    no_horizontal_overflow,
    page_for,
    shot,
    sign_in_as,
)
from tests.conftest import Api
from tests.http.test_walkin import MORNING, clock

pytestmark = pytest.mark.browser

TABLET = {"width": 800, "height": 1280}
TV = {"width": 1920, "height": 1080}

# The board's voice, replaced before any page script runs: every utterance is recorded (text and
# language) and "ends" at once, so the page under test is the real one.
SPEECH_STUB = """
window.__spoken = [];
window.SpeechSynthesisUtterance = class {
  constructor(text) { this.text = text; this.lang = ""; this.voice = null; this.onend = null; this.onerror = null; }
};
Object.defineProperty(window, "speechSynthesis", {
  configurable: true,
  value: {
    speak(u) { window.__spoken.push({ text: u.text, lang: u.lang }); setTimeout(() => u.onend && u.onend(), 5); },
    getVoices() { return []; },
    cancel() {},
  },
});
"""


async def board_page(make_context: Any, office: str, viewport: Any = None) -> Page:
    ctx: BrowserContext = await make_context(viewport=viewport or TV)
    await ctx.add_init_script(SPEECH_STUB)
    page = await page_for(ctx)
    await page.goto(f"/board?office={office}")
    await expect(page.locator("#office-name")).not_to_be_empty()
    return page


async def spoken(page: Page) -> list[dict[str, str]]:
    return list(await page.evaluate("window.__spoken"))


async def spoken_until(page: Page, count: int, within: float = 10.0) -> list[dict[str, str]]:
    """What the board has said, once it has said `count` things (or `within` seconds have passed)."""
    deadline = asyncio.get_running_loop().time() + within
    said = await spoken(page)
    while len(said) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        said = await spoken(page)
    return said


async def desk_page(make_context: Any, api: Api) -> Page:
    ctx = await make_context()
    await sign_in_as(ctx, api)
    page = await page_for(ctx)
    await page.goto("/console/#desk")
    await expect(page.locator("#desk-h")).to_be_visible()
    return page


async def fill_guestbook(page: Page, *, name: str, id_number: str | None = None) -> None:
    form = page.locator("#guestbook-form")
    await form.locator("#k-name").fill(name)
    await form.locator("#k-email").fill("tamu@example.org")
    await form.locator("#k-institution").fill("Universitas Halu Oleo")
    await form.locator("#k-purpose").fill("Data IPM kecamatan 2024")
    if id_number:
        await form.locator("#k-id_type").select_option("ktp")
        await form.locator("#k-id_number").fill(id_number)
    await form.locator("button[type=submit]").click()


async def test_kiosk_ticket_board_speaks_desk_finishes_two_offices(
    client: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
    services: Any,
) -> None:
    await clock(client, at=MORNING)
    budi = await make_staff("officer", "7406", name="Budi")
    dewi = await make_staff("officer", "7501", name="Dewi")
    board_a = await board_page(new_context, "7406")
    board_b = await board_page(new_context, "7501")

    # Bombana (7406): the guest book first, then the number.
    kiosk_a = await page_for(await new_context(viewport=TABLET))
    await kiosk_a.goto("/kiosk?office=7406")
    await kiosk_a.locator("#k-start").click()
    await fill_guestbook(kiosk_a, name="Rina Wulandari")
    await kiosk_a.get_by_text("Lansia").click()
    async with kiosk_a.expect_response(re.compile(r"/queue/tickets$")) as resp:
        await kiosk_a.locator("#k-take").click()
    issued = await (await resp.value).json()
    await expect(kiosk_a.locator("#ticket-number")).to_have_text("A-001")
    await expect(kiosk_a.locator("#ticket .qr")).to_be_visible()
    await expect(kiosk_a.locator(".ticket-prio")).to_have_text("Lansia")
    await shot(kiosk_a, "walkin-kiosk-ticket")
    # On paper: only the ticket, 72 mm wide (80 mm thermal paper), the QR code still there.
    await kiosk_a.emulate_media(media="print")
    assert await kiosk_a.locator("#k-print").is_hidden() and await kiosk_a.locator(".kiosk-head").is_hidden()
    width = await kiosk_a.locator("#ticket").evaluate("(el) => el.getBoundingClientRect().width")
    assert abs(width - 72 * 96 / 25.4) < 2, width
    await expect(kiosk_a.locator("#ticket .qr")).to_be_visible()
    await kiosk_a.emulate_media(media="screen")

    # Boalemo (7501): the number first, then the guest book with the ID card its standard requires.
    kiosk_b = await page_for(await new_context(viewport=TABLET))
    await kiosk_b.goto("/kiosk?office=7501")
    await kiosk_b.locator("#k-start").click()
    await kiosk_b.locator("#k-take").click()
    await expect(kiosk_b.locator(".k-banner")).to_contain_text("A-001")
    await fill_guestbook(kiosk_b, name="Yusuf")
    await expect(kiosk_b.locator("#k-form-error")).not_to_be_empty()  # no ID card yet
    await fill_guestbook(kiosk_b, name="Yusuf", id_number="7501012345670009")
    await expect(kiosk_b.locator("#ticket-number")).to_have_text("A-001")

    # Each board shows its own office only; names never appear.
    await expect(board_a.locator("#waiting-count")).to_have_text("1")
    await expect(board_b.locator("#waiting-count")).to_have_text("1")
    assert "Rina" not in await board_a.content() and "7501012345670009" not in await board_b.content()

    # The desk calls: the board chimes and speaks the call in Indonesian, with the words on screen.
    desk_a = await desk_page(new_context, budi)
    await desk_a.locator("#desk-name").fill("2")
    await desk_a.locator("#desk-call").click()
    card = desk_a.locator("#desk-mine li[data-number='A-001']")
    await expect(card).to_contain_text("Rina Wulandari")
    await expect(board_a.locator("#called li[data-number='A-001']")).to_contain_text("2")
    await expect(board_a.locator("#announce")).to_have_text("Nomor antrean A-001, silakan menuju meja 2")
    assert await spoken_until(board_a, 1) == [
        {"text": "Nomor antrean A nol nol satu, silakan menuju meja dua", "lang": "id-ID"}
    ]
    await shot(board_a, "walkin-board")
    assert await spoken(board_b) == []
    await expect(board_b.locator("#called li")).to_have_count(1)  # the "none called yet" line
    await expect(board_b.locator("#called")).to_contain_text("Belum ada")

    # Recall speaks again; serve, then finish with a topic and a summary.
    await card.get_by_role("button", name="Panggil ulang").click()
    assert len(await spoken_until(board_a, 2)) == 2
    await card.get_by_role("button", name="Mulai layani").click()
    await expect(desk_a.locator("#desk-mine li[data-number='A-001']")).to_contain_text("dilayani")
    await desk_a.locator("#desk-mine li[data-number='A-001'] .desk-finish-btn").click()
    form = desk_a.locator("form.desk-finish")
    await form.locator("select[name=topic]").select_option("data")
    await form.locator("textarea[name=summary]").fill("Tabel IPM kecamatan dikirim lewat e-mail.")
    # Someone takes a number meanwhile: the desk repaints, the summary being written stays.
    await client.post("/api/v1/offices/7406/queue/tickets", json={})
    await expect(desk_a.locator("#desk-waiting")).to_contain_text("A-002")
    await expect(form.locator("textarea[name=summary]")).to_have_value("Tabel IPM kecamatan dikirim lewat e-mail.")
    await shot(desk_a, "walkin-desk")
    await form.get_by_role("button", name="Simpan dan selesai").click()
    await expect(desk_a.locator("#desk-recent")).to_contain_text("A-001")
    await expect(board_a.locator("#done-today")).to_contain_text("1")
    await expect(board_a.locator("#waiting-count")).to_have_text("1")
    stored = await services.db.consultations.find_one({"channel": "walk_in"})
    assert stored["status"] == "closed" and stored["summary"] == "Tabel IPM kecamatan dikirim lewat e-mail."

    # The other office's desk serves its own visitor.
    desk_b = await desk_page(new_context, dewi)
    await desk_b.locator("#desk-call").click()
    await expect(desk_b.locator("#desk-mine")).to_contain_text("Yusuf")
    await expect(desk_b.locator("#desk-mine .desk-id-number")).not_to_contain_text("7501012345670009")
    assert await spoken_until(board_b, 1) == [
        {"text": "Nomor antrean A nol nol satu, silakan menuju meja satu", "lang": "id-ID"}
    ]

    # The phone page of the first ticket (its QR code's address): finished, with the hook for the survey.
    phone_url = issued["url"].replace("http://pst.test", "")
    phone = await page_for(await new_context(viewport=PHONE))
    await phone.goto(phone_url)
    await expect(phone.locator("#phone-number")).to_have_text("A-001")
    await expect(phone.locator("#rating-slot")).to_have_attribute("data-ticket-id", issued["ticket"]["id"])
    for page in (phone,):
        sw, iw = await no_horizontal_overflow(page)
        assert sw <= iw
    assert_no_console_errors(kiosk_a, kiosk_b, board_a, board_b, desk_a, desk_b, phone)


async def test_phone_page_live_position_and_narrow_screens(
    client: Any,
    anon: Api,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406")
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    mine = await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    phone = await page_for(await new_context(viewport=PHONE))
    await phone.goto(mine["url"].replace("http://pst.test", ""))
    await expect(phone.locator("#phone-status")).to_contain_text("1 orang di depan Anda")
    await officer.post("/offices/7406/queue/next", {"desk": "3"}, expect=200)
    await expect(phone.locator("#phone-status")).to_contain_text("0 orang di depan Anda")
    await officer.post("/offices/7406/queue/next", {"desk": "3"}, expect=200)
    await expect(phone.locator("#phone-status")).to_contain_text("meja 3")
    await shot(phone, "walkin-phone")
    # Every walk-in page fits a 360 px phone.
    for path in ("/kiosk?office=1808&paper=58", "/board?office=7406", mine["url"].replace("http://pst.test", "")):
        page = await page_for(await new_context(viewport=PHONE))
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
        if path.startswith("/kiosk"):
            await page.locator("#k-start").click()
            await expect(page.locator("#k-id_number")).to_be_visible()  # 1808 requires an ID card
        sw, iw = await no_horizontal_overflow(page)
        assert sw <= iw, (path, sw, iw)
        if path.startswith("/kiosk"):
            # Tulang Bawang has no ticket step: the guest book (with its priority question) issues the number.
            await page.get_by_text("Ibu hamil").click()
            await fill_guestbook(page, name="Wayan", id_number="1808012345670003")
            await expect(page.locator("#ticket-number")).to_have_text("A-001")
            await expect(page.locator(".ticket-prio")).to_have_text("Ibu hamil")
            sw, iw = await no_horizontal_overflow(page)
            assert sw <= iw, ("ticket", sw, iw)
            await page.emulate_media(media="print")  # ?paper=58: 48 mm printable on 58 mm paper
            width = await page.locator("#ticket").evaluate("(el) => el.getBoundingClientRect().width")
            assert abs(width - 48 * 96 / 25.4) < 2, width
        assert_no_console_errors(page)
    assert_no_console_errors(phone)


async def test_board_resyncs_after_a_dropped_connection(
    client: Any,
    app: Any,
    anon: Api,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406")
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    board = await board_page(new_context, "7406")
    await expect(board.locator("#waiting-count")).to_have_text("1")
    sio = app[SIO]
    # The server drops every board connection; while they are gone, the queue moves.
    for sid, _ in list(sio.manager.get_participants("/board", "board:7406")):
        await sio.disconnect(sid, namespace="/board")
    await officer.post("/offices/7406/queue/next", {"desk": "1"}, expect=200)
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    # Back again, the board asks for the whole state: the call made while it was away is shown.
    await expect(board.locator("#called li[data-number='A-001']")).to_be_visible(timeout=15_000)
    await expect(board.locator("#waiting-count")).to_have_text("1")
    await expect(board.locator("#conn")).to_be_hidden()
    assert_no_console_errors(board)


async def test_desk_timer_turns_amber_then_red(
    client: Any,
    anon: Api,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406")
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    desk = await desk_page(new_context, officer)
    timer = desk.locator("#desk-timer")
    await expect(timer).to_have_class(re.compile(r"\bok\b"))
    await expect(desk.locator("#desk-timer-value")).to_have_text(re.compile(r"^00:0\d$"))
    await clock(client, advance=8 * 60 + 30)
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)  # a change: the desk reloads
    await expect(timer).to_have_class(re.compile(r"\bamber\b"))
    await expect(desk.locator("#desk-timer-value")).to_have_text(re.compile(r"^08:3\d$"))
    await clock(client, advance=2 * 60)
    await anon.post("/offices/7406/queue/tickets", {}, expect=201)
    await expect(timer).to_have_class(re.compile(r"\bred\b"))
    # Calling the waiting visitor starts the next one's wait at its own taking (still red: it waited too).
    await desk.locator("#desk-call").click()
    await expect(desk.locator("#desk-mine")).to_contain_text("A-001")
    assert_no_console_errors(desk)


async def test_guest_pass_prefills_the_kiosk_and_a_booking_code_redeems(
    client: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    services: Any,
) -> None:
    await clock(client, at=MORNING)
    user = await make_user(name="Sari Dewi")
    # The portal's guest pass: a QR code of a short-lived signed token.
    ctx = await new_context(viewport=PHONE)
    await sign_in_as(ctx, user)
    pass_page = await page_for(ctx)
    await pass_page.goto("/guestbook-qr")
    await expect(pass_page.locator("#pass-qr svg")).to_be_visible()
    token = await pass_page.locator("#pass-qr").get_attribute("data-token")
    assert token and token.startswith("PSTQR1:")
    # At the kiosk a handheld scanner types the code and Enter.
    kiosk = await page_for(await new_context(viewport=TABLET))
    await kiosk.goto("/kiosk?office=7406")
    await kiosk.locator("#k-qr").click()
    await kiosk.locator("#k-qr-input").fill(token)
    await kiosk.locator("#k-qr-input").press("Enter")
    await expect(kiosk.locator("#k-name")).to_have_value("Sari Dewi")
    await expect(kiosk.locator("#k-email")).to_have_value(user.user["email"])
    await kiosk.locator("#k-purpose").fill("Data PDRB")
    await kiosk.locator("#guestbook-form button[type=submit]").click()
    await kiosk.locator("#k-take").click()
    await expect(kiosk.locator("#ticket-number")).to_have_text("A-001")
    entry = await services.db.guestbook.find_one({"via": "qr"})
    assert str(entry["user_id"]) == user.user["id"]
    # A booking code that does not exist says so, on the kiosk's own screen.
    await kiosk.locator("#k-done").click()
    await kiosk.locator("#k-visit").click()
    await kiosk.locator("#k-code").fill("ZZZZ2222")
    await kiosk.locator("#visit-form button[type=submit]").click()
    await expect(kiosk.locator("#k-form-error")).to_contain_text("Kode pemesanan tidak ditemukan")
    assert_no_console_errors(pass_page, kiosk)
