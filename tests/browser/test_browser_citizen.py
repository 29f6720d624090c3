"""The portal as a citizen found it (issue 17), in headless Chromium at 360 and 1366 px: one language at a
time, the room after closing and rating, the header on a phone, the knowledge base and accounts."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import (  # noqa: F401  (fixtures are registered by importing them)
    assert_no_console_errors,
    base_url,
    browser,
    new_context,
)
from tests.browser.rooms import LAPTOP, PHONE, open_consultation, portal

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
