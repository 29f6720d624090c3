"""Who is calling: the session cookie or a bearer token."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.domain import accounts
from server.keys import SERVICES, USER

COOKIE_NAME = "pst_session"


def request_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME)


async def current_user(request: web.Request) -> dict[str, Any] | None:
    """The signed-in user for this request (looked up once per request)."""
    if USER in request:
        user: dict[str, Any] | None = request[USER]
        return user
    found = await accounts.authenticate(request.app[SERVICES], request_token(request))
    request[USER] = found
    return found


def set_session_cookie(resp: web.StreamResponse, token: str, *, secure: bool, max_age: int) -> None:
    resp.set_cookie(COOKIE_NAME, token, httponly=True, samesite="Lax", secure=secure, path="/", max_age=max_age)


def clear_session_cookie(resp: web.StreamResponse) -> None:
    resp.del_cookie(COOKIE_NAME, path="/")


def me(request: web.Request) -> dict[str, Any]:
    """The signed-in user of a route declared with an `auth` level (the wrapper has checked it)."""
    user = request[USER]
    assert user is not None
    return user
