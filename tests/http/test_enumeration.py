"""User enumeration: register, password reset and resend-verification answer the same, in the same time,
whether or not an address has an account."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest

from server.domain import security
from server.settings import Settings
from tests.conftest import Api, outbox_link

PW = "rahasia-123"


@pytest.fixture(autouse=True)
def production_hashing() -> Iterator[None]:
    """What these tests time includes the password work: the production argon2id, not the suite's cheap one."""
    previous = security.use_password_hasher(security.PRODUCTION_HASHER)
    yield
    security.use_password_hasher(previous)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Dozens of requests from one address here: the limits have their own tests (test_limits.py).
    return settings.model_copy(update={"pst_rate_limits": False})


async def test_register_answers_the_same_for_an_existing_address(anon: Api, make_user: Any, services: Any) -> None:
    owner: Api = await make_user(name="Pemilik", email="pemilik@example.id")
    new = await anon.call("POST", "/auth/register", {"email": "baru@example.id", "password": PW, "name": "Baru"})
    again = await anon.call(
        "POST", "/auth/register", {"email": "Pemilik@example.id", "password": "lain-sekali-1", "name": "Penyusup"}
    )
    assert new == again == (202, {"ok": True})
    # Nothing changed for the owner: one account, the old name and password.
    assert await services.db.users.count_documents({"email": "pemilik@example.id"}) == 1
    assert (await owner.get("/me"))["name"] == "Pemilik"
    assert (await anon.call("POST", "/auth/login", {"email": "pemilik@example.id", "password": "lain-sekali-1"}))[
        0
    ] == 401
    assert (await anon.call("POST", "/auth/login", {"email": "pemilik@example.id", "password": PW}))[0] == 200
    # The owner hears of it, with a way to reset a forgotten password.
    note = await services.db.outbox.find_one({"to": "pemilik@example.id", "kind": "register_attempted"})
    assert note is not None and "/app/#/forgot" in note["text"]
    assert "mencoba mendaftar" in note["subject"]


async def test_register_again_while_unverified_sends_a_new_verification_link(anon: Api, services: Any) -> None:
    body = {"email": "lambat@example.id", "password": PW, "name": "Lambat"}
    assert await anon.call("POST", "/auth/register", body) == (202, {"ok": True})
    first = await outbox_link(services.db, "lambat@example.id", "verify_email")
    assert await anon.call("POST", "/auth/register", body) == (202, {"ok": True})
    second = await outbox_link(services.db, "lambat@example.id", "verify_email")
    assert first != second
    await anon.call("POST", "/auth/verify", {"token": second.split("token=")[1]}, expect=200)
    assert (await anon.call("POST", "/auth/login", {"email": "lambat@example.id", "password": PW}))[0] == 200


def _typical(times: list[float]) -> float:
    """The lower quartile: what the work itself costs, with little of other processes' noise (2 shared cores)."""
    return statistics.quantiles(times, n=4)[0]


async def _typical_ms(api: Api, path: str, bodies: list[Any], rounds: int) -> list[float]:
    """Typical time of each body's request over `rounds` (interleaved, so load hits all alike)."""
    times: list[list[float]] = [[] for _ in bodies]
    for _ in range(rounds):
        for i, body in enumerate(bodies):
            started = time.perf_counter()
            status, _ = await api.call("POST", path, body)
            times[i].append((time.perf_counter() - started) * 1000)
            assert status == 202
    return [_typical(t) for t in times]


def _even(a: float, b: float) -> bool:
    return abs(a - b) <= 0.2 * max(a, b)


@pytest.mark.parametrize("path", ["/auth/password-reset", "/auth/resend-verification"])
async def test_reset_and_resend_take_as_long_for_unknown_addresses(anon: Api, services: Any, path: str) -> None:
    # A verified account (reset mails it) and an unverified one (resend mails it).
    for email, verify in (("ada@example.id", True), ("belum@example.id", False)):
        status, _ = await anon.call("POST", "/auth/register", {"email": email, "password": PW, "name": "Ada"})
        assert status in (201, 202)
        if verify:
            token = (await outbox_link(services.db, email, "verify_email")).split("token=")[1]
            await anon.call("POST", "/auth/verify", {"token": token}, expect=200)
    known = "ada@example.id" if path == "/auth/password-reset" else "belum@example.id"
    sent_before = await services.db.outbox.count_documents({"to": known})
    known_ms, unknown_ms = await _typical_ms(anon, path, [{"email": known}, {"email": "tiada@example.id"}], 12)
    assert await services.db.outbox.count_documents({"to": known}) > sent_before  # the slow case did its work
    assert await services.db.outbox.count_documents({"to": "tiada@example.id"}) == 0
    assert _even(known_ms, unknown_ms), (known_ms, unknown_ms)


async def test_register_takes_as_long_for_an_existing_address(anon: Api, make_user: Any) -> None:
    await make_user(email="ada@example.id")
    existing = {"email": "ada@example.id", "password": PW, "name": "Ada"}
    fresh = [{"email": f"baru{i}@example.id", "password": PW, "name": "Baru"} for i in range(10)]
    times_existing, times_new = [], []
    for body in fresh:
        for which, out in ((existing, times_existing), (body, times_new)):
            started = time.perf_counter()
            assert (await anon.call("POST", "/auth/register", which))[0] == 202
            out.append((time.perf_counter() - started) * 1000)
    a, b = _typical(times_existing), _typical(times_new)
    assert _even(a, b), (a, b)
