"""Helpers of the console and portal room tests (issue 17): open a consultation over the API, open
the console or the portal signed in by cookie, find a room's pane, write in a composer."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, Page, ViewportSize, expect

from tests.browser import page_for, sign_in_as
from tests.conftest import Api

LAPTOP: ViewportSize = {"width": 1366, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}


async def open_consultation(
    user: Api, subject: str, text: str = "Saya butuh data inflasi 2025.", office: str = "7406"
) -> Any:
    """A new consultation of `user` (POST /consultations)."""
    body = {"office": office, "topic": "data", "subject": subject, "text": text}
    return await user.post("/consultations", body, expect=201)


async def console(make_context: Any, officer: Api, viewport: ViewportSize = LAPTOP, hash_: str = "") -> Page:
    """The console signed in as `officer` (cookie, no login form), its lists drawn."""
    ctx = await make_context(viewport)
    await sign_in_as(ctx, officer)
    page = await page_for(ctx)
    await page.goto(f"/console/{hash_}")
    await expect(page.locator("#mine-count")).to_be_attached()
    return page


async def portal(make_context: Any, user: Api, route: str = "#/list", viewport: ViewportSize = LAPTOP) -> Page:
    """The portal signed in as `user` at `route`."""
    ctx = await make_context(viewport)
    await sign_in_as(ctx, user)
    page = await page_for(ctx)
    await page.goto(f"/app/{route}")
    await expect(page.locator("#nav .who")).to_be_attached()
    return page


def pane(page: Page, cid: str) -> Locator:
    """The console pane of consultation `cid`."""
    return page.locator(f".pane[data-id='{cid}']")


async def send(root: Locator | Page, text: str) -> None:
    """Type `text` in the composer under `root` and press Enter."""
    box = root.locator(".composer-input")
    await box.fill(text)
    await box.press("Enter")


async def open_room(page: Page, cid: str) -> Locator:
    """Open my room `cid` from the console's list; its pane once the history shows."""
    await page.locator(f".m-item[data-id='{cid}'] button").click()
    p = pane(page, cid)
    await expect(p.locator(".room-log .msg-wrap").first).to_be_visible()
    return p


async def room_action(room: Locator, name: str) -> None:
    """Take the room header's action `name`: from its row on a wide pane, from the ⋯ menu on a narrow one."""
    more = room.locator(".room-more > summary")
    if await more.is_visible():
        await more.click()
        await room.locator(".room-more .menu-list").get_by_role("button", name=name, exact=True).click()
        return
    if name in ("Buat pertemuan daring", "Jadwalkan kunjungan"):
        await room.locator(".room-actions details.menu > summary").click()
    await room.locator(".room-actions").get_by_role("button", name=name, exact=True).click()


def clarify_button(room: Locator, narrow: bool) -> Locator:
    """The clarification toggle: in the header's row, or in the ⋯ menu on a narrow pane."""
    return room.locator(".room-more button.clarify" if narrow else ".room-actions > button.clarify")
