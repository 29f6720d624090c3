"""Passwords: argon2id at RFC 9106's low-memory parameters in production; any stored hash still verifies."""

from __future__ import annotations

from server.domain import security


async def test_production_hashes_passwords_with_argon2id_low_memory_parameters() -> None:
    stored = security.PRODUCTION_HASHER.hash("rahasia-123")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await security.verify_password(stored, "rahasia-123")
    assert not await security.verify_password(stored, "rahasia-124")


async def test_the_hasher_in_use_is_what_new_passwords_get_and_old_hashes_still_verify() -> None:
    cheap = await security.hash_password("rahasia-123")  # the suite's (tests/conftest.py)
    previous = security.use_password_hasher(security.PRODUCTION_HASHER)
    try:
        strong = await security.hash_password("rahasia-123")
        assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and strong != cheap
        # A hash made under other parameters carries them: both verify under either hasher.
        assert await security.verify_password(cheap, "rahasia-123")
        assert not await security.verify_password(None, "rahasia-123")  # a missing account: dummy work, False
    finally:
        security.use_password_hasher(previous)
    assert await security.verify_password(strong, "rahasia-123")
