"""One language at a time (issue 17): every key of i18n.js in both languages, and no page, in either
language, shows a key, an unfilled {placeholder} or a server error written in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser import assert_no_console_errors, page_for, sign_in_as
from tests.browser.rooms import LAPTOP, PHONE, open_consultation, open_room

pytestmark = pytest.mark.browser

# Which of the page's keys show as text, attribute or title; and unfilled {placeholders}.
_SHOWN_KEYS = """async () => {
  const m = await import("/static/js/i18n.js");
  const keys = m.keysOf("id").filter((k) => k.includes("."));
  const attrs = [...document.querySelectorAll("[placeholder],[aria-label],[title]")].map((e) =>
    [e.getAttribute("placeholder"), e.getAttribute("aria-label"), e.getAttribute("title")].join(" "));
  const shown = [document.title, document.body.innerText, ...attrs].join("\\n");
  const esc = (k) => k.replace(/[.*+?^${}()|[\\]\\\\]/g, "\\\\$&");
  return {
    keys: keys.filter((k) => new RegExp(`(^|[^\\\\w.])${esc(k)}($|[^\\\\w.])`).test(shown)),
    holes: shown.match(/\\{[a-z_]+\\}/g) || [],
  };
}"""


async def _check(page: Page, where: str) -> None:
    found = await page.evaluate(_SHOWN_KEYS)
    assert not found["keys"] and not found["holes"], (where, found)


async def test_every_key_is_in_both_languages(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
) -> None:
    page = await page_for(await new_context())
    await page.goto("/")
    ids, ens = await page.evaluate(
        """async () => { const m = await import("/static/js/i18n.js"); return [m.keysOf("id"), m.keysOf("en")]; }"""
    )
    assert len(ids) > 500
    assert sorted(set(ids) - set(ens)) == [] and sorted(set(ens) - set(ids)) == []
    empty = await page.evaluate(
        """async () => { const m = await import("/static/js/i18n.js");
           localStorage.setItem("pst.lang", "en");
           const en = m.keysOf("en").filter((k) => !m.t(k).trim());
           localStorage.setItem("pst.lang", "id");
           return en.concat(m.keysOf("id").filter((k) => !m.t(k).trim())); }"""
    )
    assert empty == []
    assert_no_console_errors(page)  # i18n_rooms.js redefines none of i18n.js's keys


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_no_page_shows_a_key_in_either_language(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    lang: str,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga", lang=lang)
    await officer.call("PATCH", "/me", {"lang": lang}, expect=200)
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    setting = f"localStorage.setItem('pst.lang', '{lang}')"

    anon = await new_context(PHONE)
    await anon.add_init_script(setting)
    pa = await page_for(anon)
    for path in (
        "/",
        "/app/#/login",
        "/app/#/register",
        "/app/#/forgot",
        "/console/",
        "/verify",
        "/reset",
        "/rate",
        "/kiosk?office=7406",
        "/board?office=7406",
    ):
        await pa.goto(path)
        await pa.wait_for_load_state("networkidle")
        await _check(pa, path)

    ctx = await new_context(PHONE)
    await sign_in_as(ctx, user)
    await ctx.add_init_script(setting)
    pu = await page_for(ctx)
    for route in ("#/list", "#/new", f"#/c/{c['id']}"):
        await pu.goto(f"/app/{route}")
        await pu.wait_for_load_state("networkidle")
        await _check(pu, route)

    octx = await new_context(LAPTOP)
    await sign_in_as(octx, officer)
    await octx.add_init_script(setting)
    po = await page_for(octx)
    await po.goto("/console/")
    room = await open_room(po, c["id"])
    await _check(po, "console")
    await room.get_by_role("button", name="Info").click()
    await expect(po.locator("dialog table")).to_be_visible()
    await _check(po, "console info")
    assert_no_console_errors(pa, pu, po)


async def test_errors_are_in_the_pages_language_not_the_servers(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/messages", {"text": "Ini jawabannya.", "client_id": "a"}, expect=201)
    ctx = await new_context(PHONE)
    await sign_in_as(ctx, user)
    pu = await page_for(ctx)
    await pu.goto(f"/app/#/c/{c['id']}")
    await expect(pu.locator(".room-log")).to_contain_text("Ini jawabannya.")
    # A file the server refuses: the page's own words, one language.
    await pu.locator("input[type=file]").set_input_files(
        {"name": "catatan.txt", "mimeType": "text/plain", "buffer": b"bukan PDF"}
    )
    error = pu.locator(".composer-error")
    await expect(error).to_have_text("Hanya berkas PDF, XLSX, CSV, DOCX, PNG dan JPG yang dapat dikirim.")
    # The officer asks for clarification after the answer: refused in Indonesian only.
    po = await page_for(await new_context(LAPTOP))
    await sign_in_as(po.context, officer)
    await po.goto("/console/")
    room = await open_room(po, c["id"])
    await expect(room.locator(".room-actions > button.clarify")).to_be_disabled()
    status, body = await officer.call("POST", f"/consultations/{c['id']}/clarification", {"awaiting": True})
    assert status == 409 and body["error"]["code"] == "sla_met"
    words = await po.evaluate(
        """async () => { const a = await import("/static/js/api.js");
           return a.errorText(new a.ApiError(409, "sla_met", "the request was already answered")); }"""
    )
    assert words.startswith("Pertanyaan ini sudah dijawab") and "already" not in words
    unknown = await po.evaluate(
        """async () => { const a = await import("/static/js/api.js");
           return a.errorText(new a.ApiError(422, "invalid_whatever", "whatever: bad / buruk")); }"""
    )
    assert unknown == "Periksa kembali isian Anda."
    assert_no_console_errors(pu, po)
