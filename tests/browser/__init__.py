"""Shared helpers for browser tests: one headless Chromium per session, pages that collect console
errors, and signing in through the real pages.

Use from a test module:

    from tests.browser import page_for, sign_in, assert_no_console_errors

`browser`, `base_url` and `new_context` are fixtures, registered once by tests/conftest.py (a test
module that imported them would get its own copy, and with it a Chromium of its own); the rest are
plain helpers. Chromium is Debian's /usr/bin/chromium (PST_CHROMIUM overrides it);
Playwright never downloads a browser here.
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, ViewportSize, async_playwright, expect

CHROMIUM = os.environ.get("PST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHOTS_DIR = Path(os.environ.get("PST_SHOTS_DIR", "/tmp/shots"))
# The passwords the conftest fixtures give their accounts.
USER_PASSWORD = "rahasia-123"
SESSION_COOKIE = "pst_session"
STAFF_PASSWORD = "petugas-123"
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 740}
# A 4xx from our API is an answer the page handles and shows; Chromium still logs it as
# "Failed to load resource". Those are kept apart from real errors (see PageLog.api_failures).
_API_STATUS = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


@dataclass
class PageLog:
    """What a page reported: console errors, uncaught exceptions, handled API failures, dialogs."""

    errors: list[str] = field(default_factory=list)
    api_failures: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    ws_frames: list[str] = field(default_factory=list)


_logs: weakref.WeakKeyDictionary[Page, PageLog] = weakref.WeakKeyDictionary()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def base_url(client: Any) -> str:
    """http://127.0.0.1:PORT of the test app (the conftest `client` fixture's real TCP server)."""
    return str(client.make_url("/")).rstrip("/")


@pytest.fixture
async def new_context(browser: Browser, base_url: str) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """Make isolated browser contexts (separate cookies and storage) on the test app; closed after the test."""
    made: list[BrowserContext] = []

    async def make(viewport: ViewportSize | None = None, **kw: Any) -> BrowserContext:
        kw.setdefault("locale", "id-ID")
        kw.setdefault("timezone_id", "Asia/Jakarta")
        ctx = await browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, **kw)
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.close()


async def page_for(context: BrowserContext) -> Page:
    """A new page that records console errors, page errors, dialogs and received WebSocket frames."""
    page = await context.new_page()
    log = PageLog()
    _logs[page] = log

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if _API_STATUS.search(msg.text) and "/api/v1/" in url:
            log.api_failures.append(url)
        else:
            log.errors.append(f"console: {msg.text} @ {url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
    page.on("dialog", _dismiss(log))
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: log.ws_frames.append(
        payload if isinstance(payload, str) else payload.decode("utf-8", "replace"))))
    return page


def _dismiss(log: PageLog) -> Callable[[Any], Awaitable[None]]:
    async def handler(dialog: Any) -> None:
        log.dialogs.append(dialog.message)
        await dialog.dismiss()

    return handler


def page_log(page: Page) -> PageLog:
    return _logs[page]


def console_errors(page: Page) -> list[str]:
    return list(_logs[page].errors)


def assert_no_console_errors(*pages: Page, allow: tuple[str, ...] = ()) -> None:
    """Fail on any console error, uncaught exception or alert/confirm dialog on these pages.

    `allow` holds regular expressions for errors a test provokes on purpose (say, a dropped network).
    """
    problems: list[str] = []
    for page in pages:
        log = _logs[page]
        problems += [f"{page.url}: {e}" for e in log.errors if not any(re.search(a, e) for a in allow)]
        problems += [f"{page.url}: unexpected dialog {d!r}" for d in log.dialogs]
    assert not problems, "\n".join(problems)


async def sign_in(page: Page, email: str, password: str, *, console: bool = False) -> None:
    """Sign in through the real login form of the portal (/app/) or the officer console (/console/)."""
    await page.goto("/console/" if console else "/app/#/login")
    form = page.locator("#login-form")
    await form.get_by_label("E-mail").fill(email)
    await form.locator("input[type=password]").fill(password)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#nav .who")).to_be_attached()
    if console:
        await expect(page.locator("#queue")).to_be_attached()


async def sign_in_as(context: BrowserContext, api: Any) -> None:
    """Sign a whole context in as a conftest `Api` account without the login form (fast: no password hash).

    The session cookie is the one the login answer sets; the pages then find the user through GET /me.
    Use `sign_in` where the login form itself is under test.
    """
    url = str(api.client.make_url("/"))
    await context.add_cookies([{"name": SESSION_COOKIE, "value": api.token, "url": url}])
    await context.add_init_script("try { localStorage.setItem('pst.signedIn', '1') } catch (e) {}")


async def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """A screenshot under /tmp/shots (PST_SHOTS_DIR) for a person to look at."""
    await asyncio.to_thread(SHOTS_DIR.mkdir, parents=True, exist_ok=True)
    path = SHOTS_DIR / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


async def no_horizontal_overflow(page: Page) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the document."""
    sw, iw = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(sw), int(iw)


async def wait_true(page: Page, expression: str, *, within: float = 10.0) -> None:
    """Poll a JavaScript expression until it is true.

    Not `page.wait_for_function`: its in-page polling evaluates the expression with `eval`, which our
    Content-Security-Policy (`script-src 'self'`) refuses; `page.evaluate` runs through DevTools.
    """
    try:
        async with asyncio.timeout(within):
            while True:
                if await page.evaluate(expression):
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"still false after {within} s: {expression}") from None
