"""Passwords (argon2id), opaque tokens stored as hashes, and signed links."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with the library's RFC 9106 "low memory" defaults (~0.1 s of CPU a hash on the 2-core VM).
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with `hasher` from now on; returns the one used until now.

    Only the tests call this (tests/conftest.py: a cheap argon2id, since the suite creates thousands
    of accounts; the timing tests put the production one back). A stored hash carries its own
    parameters, so hashes of either kind verify under either.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


async def hash_password(password: str) -> str:
    # Hashing costs tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        # Same work as a real check, so a missing account takes as long as a wrong password.
        await asyncio.to_thread(_dummy_verify, password)
        return False
    try:
        return await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A hash made by the hasher in use, so a check for a missing account costs what a real one does.
_DUMMY_HASHES: dict[int, str] = {id(PRODUCTION_HASHER): PRODUCTION_HASHER.hash("not-a-real-password")}


def _dummy_verify(password: str) -> None:
    hasher = _hasher
    dummy = _DUMMY_HASHES.get(id(hasher))
    if dummy is None:
        dummy = _DUMMY_HASHES[id(hasher)] = hasher.hash("not-a-real-password")
    try:
        hasher.verify(dummy, password)
    except VerificationError:
        pass


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: dict[str, Any], key: str) -> str:
    """A compact signed token (payload.signature), HMAC-SHA256."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def unsign(token: str, key: str) -> dict[str, Any] | None:
    """The payload of a token made by `sign`, or None if it was tampered with."""
    if not token.isascii():
        return None  # never one of ours (and compare_digest refuses non-ASCII text: a TypeError, a 500)
    try:
        body, sig = token.split(".", 1)
        want = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, sig):
            return None
        data = json.loads(_unb64(body))
        return data if isinstance(data, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None
