"""Passwords that are easy to guess are refused (zxcvbn score below 2: 422 weak_password), and a used
verification link says the address is verified (409 already_verified with the address) (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain import accounts
from server.domain.errors import ValidationFailed
from tests.conftest import Api, outbox_link


@pytest.mark.parametrize("password", ["password123", "12345678", "qwertyuiop", "P@ssw0rd1", "bps12345", "konsultasi1"])
def test_common_and_breached_style_passwords_are_weak(password: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        accounts.check_password(password)
    assert err.value.code == "weak_password" and err.value.status == 422


def test_the_accounts_own_name_and_address_count_against_it() -> None:
    accounts.check_password("sariwarga7")  # nothing known about whose it is: acceptable
    with pytest.raises(ValidationFailed):
        accounts.check_password("sariwarga7", "sari.warga@example.id", "sari.warga", "Sari Warga")
    for fine in ("rahasia-123", "kopi-hujan-lampu-7", "demo-pst-2026"):
        accounts.check_password(fine, "sari@example.id", "sari", "Sari Warga")


async def test_register_and_reset_refuse_a_weak_password(anon: Api, services: Any) -> None:
    body = {"email": "lemah@example.id", "password": "password123", "name": "Lemah", "consent": True}
    status, out = await anon.call("POST", "/auth/register", body)
    assert status == 422 and out["error"]["code"] == "weak_password" and out["error"]["details"]["field"] == "password"
    await anon.call("POST", "/auth/register", {**body, "password": "kopi-hujan-lampu-7"}, expect=202)
    await anon.call("POST", "/auth/password-reset", {"email": "lemah@example.id"}, expect=202)
    token = (await outbox_link(services.db, "lemah@example.id", "reset_password")).split("token=")[1]
    status, out = await anon.call("POST", "/auth/password-reset/confirm", {"token": token, "password": "iloveyou1"})
    assert status == 422 and out["error"]["code"] == "weak_password"


async def test_a_used_verification_link_says_the_address_is_verified(anon: Api, services: Any) -> None:
    body = {"email": "dua-kali@example.id", "password": "kopi-hujan-lampu-7", "name": "Dua Kali", "consent": True}
    await anon.call("POST", "/auth/register", body, expect=202)
    token = (await outbox_link(services.db, "dua-kali@example.id", "verify_email")).split("token=")[1]
    first = await anon.post("/auth/verify", {"token": token}, expect=200)
    assert first["email_verified"] is True
    status, out = await anon.call("POST", "/auth/verify", {"token": token})
    assert status == 409 and out["error"]["code"] == "already_verified"
    assert out["error"]["details"]["email"] == "dua-kali@example.id"
    # A link that never was: still just invalid, and it names no address.
    status, out = await anon.call("POST", "/auth/verify", {"token": "x" * 40})
    assert status == 400 and out["error"]["code"] == "invalid_token" and "details" not in out["error"]
