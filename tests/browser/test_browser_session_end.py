"""The pages go back to the login form the moment their session ends elsewhere (session:ended)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import assert_no_console_errors, page_for, sign_in_as
from tests.conftest import Api, outbox_link

pytestmark = pytest.mark.browser


async def test_portal_goes_to_the_login_when_the_session_is_logged_out_elsewhere(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
) -> None:
    user: Api = await make_user(name="Sari Warga")
    c = await user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Sesi", "text": "Halo, saya butuh data."},
        expect=201,
    )
    ctx = await new_context()
    await sign_in_as(ctx, user)
    page = await page_for(ctx)
    await page.goto(f"/app/#/c/{c['id']}")
    await expect(page.locator(".room-log")).to_contain_text("saya butuh data")
    await expect(page.locator("#nav .who")).to_be_attached()

    await user.post("/auth/logout", expect=200)  # the same session, ended from outside the page
    await expect(page.locator("#login-form")).to_be_visible()
    await expect(page.locator("#nav .who")).to_have_count(0)
    await expect(page.locator(".room-log")).to_have_count(0)
    assert_no_console_errors(page, allow=("401",))


async def test_console_goes_to_the_login_when_the_password_is_reset(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
    services: Any,
) -> None:
    officer: Api = await make_staff("officer", "7406", name="Budi Petugas")
    ctx = await new_context()
    await sign_in_as(ctx, officer)
    page = await page_for(ctx)
    await page.goto("/console/")
    await expect(page.locator("#mine-count")).to_be_attached()

    anon = Api(officer.client)
    assert officer.user is not None
    await anon.post("/auth/password-reset", {"email": officer.user["email"]}, expect=202)
    token = (await outbox_link(services.db, officer.user["email"], "reset_password")).split("token=")[1]
    await anon.post("/auth/password-reset/confirm", {"token": token, "password": "baru-sekali-123"}, expect=200)
    form = page.locator("#login-form")
    await expect(form).to_be_visible()
    await expect(page.locator("#main")).to_contain_text("Sesi Anda berakhir")
    await expect(page.locator("#queue")).to_have_count(0)
    assert_no_console_errors(page, allow=("401",))
