"""The console with a WhatsApp consultation, in headless Chromium: badge, contact, filter, window, statuses."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import assert_no_console_errors, page_for, sign_in_as
from tests.channels.conftest import WhatsAppRig

pytestmark = pytest.mark.browser

SARI = "6281234567890"


async def test_the_console_shows_the_channel_contact_window_and_delivery(
    wa: WhatsAppRig,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
    make_user: Any,
) -> None:
    web_user = await make_user(name="Warga Daring")
    await web_user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Lewat portal", "text": "Halo dari portal"},
        expect=201,
    )
    await wa.user_says(SARI, "Sari WA", "Halo dari WhatsApp")
    officer = await make_staff("officer", "7406", name="Budi")
    ctx = await new_context()
    await sign_in_as(ctx, officer)
    page = await page_for(ctx)
    await page.goto("/console/")
    queue = page.locator("#queue")
    await expect(queue.locator("li.q-item")).to_have_count(2)
    row = queue.locator("li.q-item", has_text="Halo dari WhatsApp")
    await expect(row.locator(".badge.channel-whatsapp")).to_have_text("WhatsApp")
    await expect(row).to_contain_text("+" + SARI)
    await expect(queue.locator("li.q-item", has_text="Lewat portal").locator(".badge.channel-online")).to_be_visible()
    # The channel filter narrows the list.
    await page.locator("select.channel-filter").select_option("whatsapp")
    await expect(queue.locator("li.q-item")).to_have_count(1)
    await page.locator("select.channel-filter").select_option("")
    await expect(queue.locator("li.q-item")).to_have_count(2)
    # Claim: the room head shows the number and the window's end; a reply's WhatsApp status shows live.
    await row.locator("button.claim").click()
    pane = page.locator(".pane:visible")
    await expect(pane.locator(".room-sub")).to_contain_text("+" + SARI)
    await expect(pane.locator(".badge.wa-window")).to_contain_text("Jendela WhatsApp sampai")
    await pane.locator("textarea").fill("Baik, kami carikan datanya.")
    await pane.locator("textarea").press("Enter")
    sent = await wa.wait_sent(2)
    reply = next(s for s in sent if "kami carikan" in s.text)
    await wa.webhook(wa.fake.status(reply, "read"))
    await expect(pane.locator(".msg-status", has_text="Dibaca di WhatsApp")).to_be_visible()
    assert_no_console_errors(page)
