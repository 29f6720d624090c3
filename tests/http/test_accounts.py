"""Accounts through the real app and database: register, verify by e-mail, login, sessions, reset."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, outbox_link

PW = "rahasia-123"


async def _register(anon: Api, email: str = "ani@example.id", **extra: Any) -> tuple[int, Any]:
    return await anon.call("POST", "/auth/register", {"email": email, "password": PW, "name": "Ani", **extra})


async def test_register_verify_login_me_logout(anon: Api, services: Any) -> None:
    status, body = await _register(anon, institution="Universitas Halu Oleo", occupation="Mahasiswa")
    # 202 and nothing about the account: the same answer as for an address that has one (test_enumeration).
    assert (status, body) == (202, {"ok": True})
    # Unverified: 403 email_not_verified.
    status, body = await anon.call("POST", "/auth/login", {"email": "ani@example.id", "password": PW})
    assert status == 403 and body["error"]["code"] == "email_not_verified"
    link = await outbox_link(services.db, "ani@example.id", "verify_email")
    assert link.startswith("http://pst.test/verify?token=")
    await anon.call("POST", "/auth/verify", {"token": link.split("token=")[1]}, expect=200)
    # The token is single use: a second click is told the address is verified already (issue 17).
    status, body = await anon.call("POST", "/auth/verify", {"token": link.split("token=")[1]})
    assert status == 409 and body["error"]["code"] == "already_verified"
    status, body = await anon.call("POST", "/auth/login", {"email": "ANI@example.id", "password": PW})
    assert status == 200
    token = body["token"]
    me = Api(anon.client, token=token)
    assert (await me.get("/me"))["institution"] == "Universitas Halu Oleo"
    await me.call("POST", "/auth/logout", expect=200)
    # The session is gone server-side: the same token no longer works.
    status, body = await me.call("GET", "/me")
    assert status == 401 and body["error"]["code"] == "unauthenticated"


async def test_cookie_session_is_httponly_and_authenticates(anon: Api, make_user: Any) -> None:
    user = await make_user(email="cookie@example.id")
    resp = await anon.client.post("/api/v1/auth/login", json={"email": "cookie@example.id", "password": PW})
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert "pst_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The client's cookie jar now carries the session: no bearer header needed.
    resp = await anon.client.get("/api/v1/me")
    assert resp.status == 200 and (await resp.json())["email"] == user.user["email"]


async def test_session_expires(anon: Api, make_user: Any, services: Any) -> None:
    user = await make_user()
    assert (await user.call("GET", "/me"))[0] == 200
    services.clock.advance(services.settings.pst_session_ttl_hours * 3600 + 1)
    assert (await user.call("GET", "/me"))[0] == 401


async def test_bad_registration_input(anon: Api, services: Any) -> None:
    status, body = await _register(anon, email="not-an-email")
    assert status == 422 and body["error"]["code"] == "invalid_email"
    status, body = await anon.call(
        "POST", "/auth/register", {"email": "b@example.id", "password": "short", "name": "B"}
    )
    assert status == 422 and body["error"]["code"] == "invalid_password"
    status, body = await anon.call("POST", "/auth/register", {"email": "b@example.id", "password": PW})
    assert status == 422 and body["error"]["code"] == "missing_name"
    assert await services.db.users.count_documents({}) == 0
    assert (await _register(anon, email="dup@example.id"))[0] == 202
    # Registering an address again is no conflict to the caller (user enumeration): the same 202, and
    # still one account.
    status, body = await _register(anon, email="DUP@example.id")
    assert (status, body) == (202, {"ok": True})
    assert await services.db.users.count_documents({}) == 1


async def test_wrong_password_and_unknown_user_look_the_same(anon: Api, make_user: Any) -> None:
    await make_user(email="known@example.id")
    s1, b1 = await anon.call("POST", "/auth/login", {"email": "known@example.id", "password": "wrong-password"})
    s2, b2 = await anon.call("POST", "/auth/login", {"email": "nobody@example.id", "password": "wrong-password"})
    assert s1 == s2 == 401
    assert b1 == b2


async def test_login_rate_limit_per_email(anon: Api, make_user: Any, services: Any, app: Any) -> None:
    await make_user(email="target@example.id")
    for _ in range(10):
        status, _ = await anon.call("POST", "/auth/login", {"email": "target@example.id", "password": "nope-nope"})
        assert status == 401
    status, body = await anon.call("POST", "/auth/login", {"email": "target@example.id", "password": PW})
    assert status == 429 and body["error"]["code"] == "too_many_attempts"
    # Another address is not affected.
    assert (await anon.call("POST", "/auth/login", {"email": "other@example.id", "password": "x" * 8}))[0] == 401
    # After the 15-minute window of real time (not the test clock: CONTRACT "Limits and input") the right
    # password works again.
    import time

    from server.http.ratelimit import RATE_LIMITS

    services.clock.advance(15 * 60 + 1)
    assert (await anon.call("POST", "/auth/login", {"email": "target@example.id", "password": PW}))[0] == 429
    app[RATE_LIMITS].clock = lambda: time.monotonic() + 15 * 60 + 1
    assert (await anon.call("POST", "/auth/login", {"email": "target@example.id", "password": PW}))[0] == 200


async def test_password_reset_by_email(anon: Api, make_user: Any, services: Any) -> None:
    user = await make_user(email="lupa@example.id")
    assert (await anon.call("POST", "/auth/password-reset", {"email": "lupa@example.id"}))[0] == 202
    # Unknown addresses get the same answer and no mail.
    assert (await anon.call("POST", "/auth/password-reset", {"email": "nobody@example.id"}))[0] == 202
    assert await services.db.outbox.count_documents({"to": "nobody@example.id"}) == 0
    link = await outbox_link(services.db, "lupa@example.id", "reset_password")
    token = link.split("token=")[1]
    status, body = await anon.call("POST", "/auth/password-reset/confirm", {"token": token, "password": "short"})
    assert status == 422 and body["error"]["code"] == "invalid_password"
    await anon.call("POST", "/auth/password-reset/confirm", {"token": token, "password": "baru-sekali-123"}, expect=200)
    # Old sessions end, the old password fails, the new one works.
    assert (await user.call("GET", "/me"))[0] == 401
    assert (await anon.call("POST", "/auth/login", {"email": "lupa@example.id", "password": PW}))[0] == 401
    assert (await anon.call("POST", "/auth/login", {"email": "lupa@example.id", "password": "baru-sekali-123"}))[
        0
    ] == 200


async def test_passwords_are_argon2id(make_user: Any, services: Any) -> None:
    user = await make_user(email="hash@example.id")
    doc = await services.db.users.find_one({"email": user.user["email"]})
    assert doc["password_hash"].startswith("$argon2id$")


async def test_staff_roles_bound_to_office(make_staff: Any, services: Any) -> None:
    from server.domain import accounts
    from server.domain.errors import ValidationFailed

    officer = await make_staff("officer", "7501")
    assert officer.user["role"] == "officer" and officer.user["office"] == "7501"
    admin = await make_staff("admin", None)
    assert admin.user["office"] is None
    for role, office in (("officer", None), ("supervisor", "9999")):
        try:
            await accounts.create_staff(
                services, email=f"x{role}@bps.go.id", name="X", role=role, office=office, password="petugas-123"
            )
        except ValidationFailed as exc:
            assert exc.code == "invalid_office"
        else:
            raise AssertionError("staff without a valid office was created")
