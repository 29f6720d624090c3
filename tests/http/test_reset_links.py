"""A password reset ends every reset link of the user, not only the one that was used."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


async def _reset_tokens(services: Any, email: str) -> list[str]:
    """The tokens of every reset mail queued to `email`, oldest first."""
    import re

    found = []
    async for doc in services.db.outbox.find({"to": email, "kind": "reset_password"}).sort("created_at", 1):
        m = re.search(r"token=([\w.\-]+)", doc["text"])
        assert m, doc["text"]
        found.append(m.group(1))
    return found


@pytest.mark.parametrize("used", [0, 1], ids=["older-link-used", "newer-link-used"])
async def test_a_reset_ends_every_other_link(anon: Api, make_user: Any, services: Any, used: int) -> None:
    # Two links (the verification mail and these make the three mails an address may get in an hour).
    email = f"dua-tautan-{used}@example.id"
    await make_user(email=email)
    for _ in range(2):
        await anon.call("POST", "/auth/password-reset", {"email": email}, expect=202)
        services.clock.advance(60)
    tokens = await _reset_tokens(services, email)
    assert len(tokens) == 2

    await anon.call(
        "POST", "/auth/password-reset/confirm", {"token": tokens[used], "password": "baru-sekali-123"}, expect=200
    )
    for stale in (tokens[1 - used], tokens[used]):
        status, body = await anon.call(
            "POST", "/auth/password-reset/confirm", {"token": stale, "password": "penyerang-123"}
        )
        assert status == 400 and body["error"]["code"] == "invalid_token", (stale, status, body)
    # The password set through the used link stands; the attacker's never took.
    assert (await anon.call("POST", "/auth/login", {"email": email, "password": "penyerang-123"}))[0] == 401
    await anon.call("POST", "/auth/login", {"email": email, "password": "baru-sekali-123"}, expect=200)


async def test_a_reset_leaves_other_users_links_alone(anon: Api, make_user: Any, services: Any) -> None:
    await make_user(email="satu@example.id")
    await make_user(email="lain@example.id")
    for email in ("satu@example.id", "lain@example.id"):
        await anon.call("POST", "/auth/password-reset", {"email": email}, expect=202)
    [mine] = await _reset_tokens(services, "satu@example.id")
    [theirs] = await _reset_tokens(services, "lain@example.id")
    await anon.call("POST", "/auth/password-reset/confirm", {"token": mine, "password": "baru-sekali-123"}, expect=200)
    await anon.call("POST", "/auth/password-reset/confirm", {"token": theirs, "password": "baru-juga-123"}, expect=200)
