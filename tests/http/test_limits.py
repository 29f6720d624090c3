"""Rate limits per client address and per account, in real time; X-Forwarded-For only from trusted proxies.

The app here trusts 127.0.0.1 as a reverse proxy, so each test can speak from several client
addresses by sending X-Forwarded-For.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from server.http.ratelimit import RATE_LIMITS, RULES, RateLimits
from server.settings import Settings, SettingsError, load_settings
from tests.conftest import Api, outbox_link

PW = "rahasia-123"
OPEN = {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"pst_trusted_proxies": "127.0.0.1/32"})


async def _call(
    client: Any, method: str, path: str, body: Any = None, *, ip: str | None = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {}
    if ip:
        headers["X-Forwarded-For"] = ip
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = await client.request(method, "/api/v1" + path, json=body, headers=headers)
    return resp.status, await resp.json()


def _limits(app: Any) -> RateLimits:
    limits: RateLimits = app[RATE_LIMITS]
    return limits


async def test_failed_logins_elsewhere_do_not_lock_the_owner_out(client: Any, app: Any, make_user: Any) -> None:
    await make_user(email="korban@example.id")
    attacker, owner = "203.0.113.66", "198.51.100.7"
    for _ in range(RULES["login_failures"].limit):
        status, _ = await _call(
            client, "POST", "/auth/login", {"email": "korban@example.id", "password": "tebak-tebak"}, ip=attacker
        )
        assert status == 401
    # The guesser is stopped (even with the right password: it cannot tell a lucky guess)...
    status, body = await _call(
        client, "POST", "/auth/login", {"email": "korban@example.id", "password": PW}, ip=attacker
    )
    assert status == 429 and body["error"]["code"] == "too_many_attempts", body
    # ...the owner, elsewhere, is not.
    status, body = await _call(client, "POST", "/auth/login", {"email": "korban@example.id", "password": PW}, ip=owner)
    assert status == 200, body
    # The guesser's other e-mails are not blocked by this one.
    status, _ = await _call(
        client, "POST", "/auth/login", {"email": "lain@example.id", "password": "x" * 8}, ip=attacker
    )
    assert status == 401


async def test_limits_count_real_time_not_the_test_clock(client: Any, app: Any, make_user: Any) -> None:
    await make_user(email="korban@example.id")
    for _ in range(RULES["login_failures"].limit):
        await _call(
            client, "POST", "/auth/login", {"email": "korban@example.id", "password": "tebak-tebak"}, ip="203.0.113.9"
        )
    right = {"email": "korban@example.id", "password": PW}
    assert (await _call(client, "POST", "/auth/login", right, ip="203.0.113.9"))[0] == 429
    resp = await client.post("/api/v1/_test/clock", json={"advance_seconds": 3600})
    assert resp.status == 200
    assert (await _call(client, "POST", "/auth/login", right, ip="203.0.113.9"))[0] == 429
    # 15 minutes of real time later (the limiter's monotonic clock moved), it may try again.
    _limits(app).clock = lambda: time.monotonic() + RULES["login_failures"].window_secs + 1
    assert (await _call(client, "POST", "/auth/login", right, ip="203.0.113.9"))[0] == 200


async def test_login_per_address(client: Any, app: Any) -> None:
    limit = RULES["login"].limit
    assert limit >= 60  # CONTRACT: at least 60 a minute from one address
    wrong = {"email": "siapa@example.id", "password": "x" * 8}
    statuses = [
        (await _call(client, "POST", "/auth/login", {**wrong, "email": f"u{i}@example.id"}, ip="203.0.113.1"))[0]
        for i in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit and statuses[limit] == 429, statuses
    resp = await client.post("/api/v1/auth/login", json=wrong, headers={"X-Forwarded-For": "203.0.113.1"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) <= 60
    assert (await _call(client, "POST", "/auth/login", wrong, ip="203.0.113.2"))[0] == 401


async def test_forwarded_for_is_believed_only_from_trusted_proxies(settings: Settings, aiohttp_client: Any) -> None:
    from server.app import create_app

    app = create_app(settings.model_copy(update={"pst_trusted_proxies": ""}))
    client = await aiohttp_client(app)
    wrong = {"email": "siapa@example.id", "password": "x" * 8}
    for i in range(RULES["login"].limit):
        # A different forged address each time: all count against the real peer, 127.0.0.1.
        body = {**wrong, "email": f"u{i}@example.id"}
        assert (await _call(client, "POST", "/auth/login", body, ip=f"203.0.113.{i}"))[0] == 401
    assert (await _call(client, "POST", "/auth/login", wrong, ip="198.51.100.1"))[0] == 429


async def test_register_per_address(client: Any, app: Any) -> None:
    limit = RULES["register"].limit
    assert limit >= 60
    statuses = []
    for i in range(limit + 1):
        body = {"email": f"baru{i}@example.id", "password": PW, "name": "Baru"}
        statuses.append((await _call(client, "POST", "/auth/register", body, ip="203.0.113.20"))[0])
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {201, 202}, statuses
    body = {"email": "lain@example.id", "password": PW, "name": "Lain"}
    assert (await _call(client, "POST", "/auth/register", body, ip="203.0.113.21"))[0] in (201, 202)


@pytest.mark.parametrize(
    ("path", "kind"), [("/auth/password-reset", "reset_password"), ("/auth/resend-verification", "verify_email")]
)
async def test_account_mails_are_limited_per_recipient_and_address(
    client: Any, app: Any, services: Any, path: str, kind: str
) -> None:
    from server.keys import SERVICES

    db = app[SERVICES].db
    email = "lupa@example.id"
    status, _ = await _call(client, "POST", "/auth/register", {"email": email, "password": PW, "name": "L"})
    assert status in (201, 202)
    if kind == "reset_password":
        token = (await outbox_link(db, email, "verify_email")).split("token=")[1]
        assert (await _call(client, "POST", "/auth/verify", {"token": token}))[0] == 200
    per_recipient = RULES["account_mail_to"].limit
    # From many addresses: the same 202 every time, but at most a few mails to one mailbox an hour (the
    # verification mail of the registration counts too).
    for i in range(per_recipient + 3):
        assert (await _call(client, "POST", path, {"email": email}, ip=f"203.0.113.{100 + i}"))[0] == 202
    assert await db.outbox.count_documents({"to": email}) == per_recipient
    assert await db.outbox.count_documents({"to": email, "kind": kind}) >= 1
    # From one address: refused past its limit, whatever the recipients.
    per_address = RULES["account_mail"].limit
    statuses = [
        (await _call(client, "POST", path, {"email": f"x{i}@example.id"}, ip="203.0.113.50"))[0]
        for i in range(per_address + 1)
    ]
    assert statuses[:per_address] == [202] * per_address and statuses[-1] == 429, statuses


async def test_kb_search_per_address(client: Any, app: Any) -> None:
    limit = RULES["kb_search"].limit
    assert limit >= 60
    statuses = [
        (await _call(client, "GET", "/kb/search?q=inflasi&live=1", ip="203.0.113.30"))[0] for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [200] * limit and statuses[-1] == 429
    assert (await _call(client, "GET", "/kb/search?q=inflasi&live=1", ip="203.0.113.31"))[0] == 200


async def test_http_message_posting_is_limited_per_account(client: Any, make_user: Any) -> None:
    user: Api = await make_user()
    room = await user.post("/consultations", OPEN, expect=201)
    path = f"/consultations/{room['id']}/messages"

    async def send(i: int) -> int:
        return (await user.call("POST", path, {"text": f"m{i}", "client_id": f"c{i}"}))[0]

    statuses = await asyncio.gather(*(send(i) for i in range(15)))
    assert statuses.count(201) == RULES["message"].limit and statuses.count(429) == 5, statuses
    await asyncio.sleep(1.1)
    assert await send(99) == 201
    # Another account in the same room is not held up by this one.
    staff_like = await make_user()
    other = await staff_like.post("/consultations", OPEN, expect=201)
    assert (await staff_like.call("POST", f"/consultations/{other['id']}/messages", {"text": "x", "client_id": "y"}))[
        0
    ] == 201


async def test_opening_consultations_is_limited_per_account(make_user: Any) -> None:
    user: Api = await make_user()
    limit = RULES["open"].limit
    statuses = [(await user.call("POST", "/consultations", OPEN))[0] for _ in range(limit + 1)]
    assert statuses[:limit] == [201] * limit and statuses[-1] == 429, statuses
    other: Api = await make_user()
    assert (await other.call("POST", "/consultations", OPEN))[0] == 201


async def test_limits_can_be_switched_off(settings: Settings, aiohttp_client: Any) -> None:
    from server.app import create_app

    client = await aiohttp_client(create_app(settings.model_copy(update={"pst_rate_limits": False})))
    wrong = {"email": "siapa@example.id", "password": "x" * 8}
    for _ in range(RULES["login_failures"].limit + 2):
        assert (await _call(client, "POST", "/auth/login", wrong, ip="203.0.113.1"))[0] == 401


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", "127.0.0.1, nope"])
def test_trusted_proxies_setting_is_validated(value: str) -> None:
    with pytest.raises(SettingsError, match="PST_TRUSTED_PROXIES"):
        load_settings(PST_TRUSTED_PROXIES=value)


def test_client_address_walks_forwarded_for_through_trusted_hops() -> None:
    from aiohttp.test_utils import make_mocked_request

    from server.http.ratelimit import client_address
    from server.keys import SETTINGS

    app: Any = {SETTINGS: load_settings(PST_TRUSTED_PROXIES="10.0.0.0/8,::1")}

    def addr(peer: str, xff: str | None) -> str:
        headers = {"X-Forwarded-For": xff} if xff is not None else {}
        return client_address(make_mocked_request("GET", "/", headers=headers, app=app).clone(remote=peer))

    assert addr("10.0.0.5", "203.0.113.7") == "203.0.113.7"
    # A client-supplied first entry is not believed past an untrusted hop.
    assert addr("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert addr("203.0.113.8", "1.2.3.4") == "203.0.113.8"  # not from a proxy: header ignored
    assert addr("10.0.0.5", "garbage") == "10.0.0.5"
    assert addr("10.0.0.5", None) == "10.0.0.5"
    assert addr("::1", "[2001:db8::1]:443") == "2001:db8::1"
