"""Escalation in real headless Chromium: the officer creates a Zoom meeting from the console and the
user's page shows the join link, never the host's start link."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from server.settings import Settings
from tests.browser import (
    STAFF_PASSWORD,
    USER_PASSWORD,
    assert_no_console_errors,
    page_for,
    page_log,
    shot,
    sign_in,
)
from tests.conftest import Api
from tests.fakes.fake_zoom import FakeZoom, fake_zoom_server  # noqa: F401

pytestmark = pytest.mark.browser

NOW = "2026-11-23T09:00:00+07:00"  # Monday, 10:00 in Bombana (WITA)


@pytest.fixture
def settings(settings: Settings, fake_zoom: FakeZoom) -> Settings:
    """The conftest settings with Zoom pointed at the fake Zoom server."""
    return settings.model_copy(
        update={
            "zoom_account_id": fake_zoom.account_id,
            "zoom_client_id": fake_zoom.client_id,
            "zoom_client_secret": fake_zoom.client_secret,
            "zoom_api_base": fake_zoom.api_base,
            "zoom_oauth_url": fake_zoom.oauth_url,
        }
    )


async def everything_the_page_holds(page: Page) -> str:
    """The DOM as HTML, every link and source resolved, and the page's storage."""
    html = await page.content()
    extra = await page.evaluate(
        """() => [
            document.body.innerText,
            ...[...document.querySelectorAll('[href],[src]')].map((e) => e.href || e.src),
            JSON.stringify(Object.assign({}, localStorage)),
            JSON.stringify(Object.assign({}, sessionStorage)),
        ].join('\\n')"""
    )
    return html + "\n" + str(extra)


def assert_no_host_link(held: str, start_url: str) -> None:
    assert start_url not in held
    assert start_url.split("zak=")[-1] not in held  # not even the host key on its own
    assert "host_start_url" not in held and "start_url" not in held


async def test_officer_escalates_and_the_user_sees_the_join_link_never_the_start_link(
    new_context: Any,  # noqa: F811 - the fixture imported above
    make_user: Any,
    make_staff: Any,
    anon: Api,
    fake_zoom: FakeZoom,
) -> None:
    await anon.call("POST", "/_test/clock", {"set": NOW}, expect=200)
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    text = "Mohon penjelasan garis kemiskinan."
    body = {"office": "7406", "topic": "data", "subject": "Data kemiskinan", "text": text}
    c = await user.post("/consultations", body, expect=201)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)

    # The user has the room open.
    pu = await page_for(await new_context())
    await sign_in(pu, user.user["email"], USER_PASSWORD)
    await pu.goto(f"/app/#/c/{c['id']}")
    await expect(pu.locator(".room-log")).to_contain_text("Mohon penjelasan garis kemiskinan.")

    # The officer escalates from the console: a Zoom meeting tomorrow 14:00 office time.
    po = await page_for(await new_context())
    await sign_in(po, officer.user["email"], STAFF_PASSWORD, console=True)
    await po.locator(f".m-item[data-id='{c['id']}'] button").click()
    pane = po.locator(f".pane[data-id='{c['id']}']")
    await expect(pane.locator(".room-log")).to_contain_text("Mohon penjelasan garis kemiskinan.")
    await pane.locator("details.menu summary").click()
    await pane.get_by_role("button", name="Buat pertemuan daring").click()
    dlg = po.locator("dialog")
    await dlg.locator("select[name=provider]").select_option("zoom")
    await dlg.locator("input[name=start_time]").fill("2026-11-24T14:00")
    await dlg.get_by_role("button", name="Buat pertemuan").click()
    await expect(po.locator(".toast")).to_contain_text("Pertemuan dibuat")

    [created] = fake_zoom.created
    assert created.body["start_time"] == "2026-11-24T14:00:00" and created.body["timezone"] == "Asia/Makassar"
    [zoom_meeting] = fake_zoom.meetings.values()
    join_url, start_url = zoom_meeting["join_url"], zoom_meeting["start_url"]
    assert join_url != start_url
    # The officer (host) is offered the start link once, in a staff-only dialog.
    host = po.locator("dialog")
    await expect(host.get_by_role("link", name="Mulai pertemuan sebagai host")).to_have_attribute("href", start_url)
    await expect(po.locator("dialog")).to_have_count(1)  # the meeting's form has closed first
    await host.locator(".dialog-x").click()
    await expect(po.locator("dialog")).to_have_count(0)

    # Live, without a reload: the meeting card with the join link, at 14:00 WITA.
    card = pu.locator(".room-log .msg-body.meeting")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("Zoom")
    await expect(card).to_contain_text("14.00")
    await expect(card).to_contain_text("WITA")
    await expect(card.locator("a")).to_have_attribute("href", join_url)
    held = await everything_the_page_holds(pu)
    assert join_url in held
    assert_no_host_link(held, start_url)
    # Nothing the socket delivered to the user's browser carried it either.
    frames = "\n".join(page_log(pu).ws_frames)
    assert join_url in frames or join_url.replace("/", "\\/") in frames
    assert_no_host_link(frames, start_url)
    await shot(pu, "escalation-user-room")

    # After a reload (history over REST), the same.
    await pu.reload()
    await expect(pu.locator(".room-log .msg-body.meeting a")).to_have_attribute("href", join_url)
    held = await everything_the_page_holds(pu)
    assert join_url in held
    assert_no_host_link(held, start_url)

    # The officer's room shows the meeting too.
    await expect(pane.locator(".room-log .msg-body.meeting a")).to_have_attribute("href", join_url)
    await shot(po, "escalation-console")
    assert_no_console_errors(pu, po)
