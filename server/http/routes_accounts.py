"""Accounts and offices over HTTP: thin handlers over domain actions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from server.domain import accounts, offices
from server.domain.errors import NotFound, Unauthorized
from server.domain.models import public_office, public_user
from server.http.api import Api, json_response
from server.http.auth import clear_session_cookie, current_user, me, request_token, set_session_cookie
from server.http.ratelimit import client_address, rate_limits
from server.http.schemas import (
    EmailIn,
    LoginIn,
    LoginOut,
    OfficeOut,
    OfficesOut,
    OkOut,
    PolicyIn,
    ProfileIn,
    RegisterIn,
    ResetIn,
    TokenIn,
    UserOut,
)
from server.keys import DATABASE, SERVICES

api = Api()

# Reset and verification requests answer after this long whatever happened (well above the ~10 ms the
# slower case takes), so their timing does not tell whether an address has an account.
ACCOUNT_MAIL_ANSWER_SECS = 0.15


@api.route(
    "POST",
    "/auth/register",
    summary="Register with an active e-mail; a verification link is e-mailed (always 202, the same answer "
    "for an address that has an account: its owner is mailed instead)",
    auth=None,
    body=RegisterIn,
    response=OkOut,
    status=202,
    tags=["accounts"],
    errors=(422, 429),
)
async def register(request: web.Request, body: RegisterIn) -> web.Response:
    limits = rate_limits(request)
    limits.hit("register", client_address(request))
    # The mail to an existing owner counts against the recipient's limit like reset and verification mails.
    notify = limits.allow("account_mail_to", body.email.strip().lower())
    await accounts.register(request.app[SERVICES], **body.model_dump(), notify_existing=notify)
    return json_response({"ok": True}, status=202)


@api.route(
    "POST",
    "/auth/verify",
    summary="Verify an e-mail address with the token from the link (409 already_verified for a used link)",
    auth=None,
    body=TokenIn,
    response=UserOut,
    tags=["accounts"],
    errors=(400, 409),
)
async def verify(request: web.Request, body: TokenIn) -> web.Response:
    user = await accounts.verify_email(request.app[SERVICES], body.token)
    return json_response(public_user(user))


@api.route(
    "POST",
    "/auth/resend-verification",
    summary="Send the verification e-mail again (always 202)",
    auth=None,
    body=EmailIn,
    response=OkOut,
    status=202,
    tags=["accounts"],
    errors=(429,),
)
async def resend(request: web.Request, body: EmailIn) -> web.Response:
    async with _even_time():
        if _account_mail_allowed(request, body.email):
            await accounts.resend_verification(request.app[SERVICES], body.email)
    return json_response({"ok": True}, status=202)


@asynccontextmanager
async def _even_time(secs: float = ACCOUNT_MAIL_ANSWER_SECS) -> AsyncIterator[None]:
    """Take at least `secs`, so an address with an account (token, rendering, queued mail) answers as fast
    as one without (a lookup): the time tells nothing (user enumeration)."""
    started = time.monotonic()
    yield
    await asyncio.sleep(max(0.0, secs - (time.monotonic() - started)))


def _account_mail_allowed(request: web.Request, email: str) -> bool:
    """Reset and verification mails: 429 past the per-address limit; past the per-recipient one, no mail
    but the same 202 (nobody learns anything, nobody floods a mailbox)."""
    limits = rate_limits(request)
    limits.hit("account_mail", client_address(request))
    return limits.allow("account_mail_to", email.strip().lower())


@api.route(
    "POST",
    "/auth/login",
    summary="Sign in; returns a token and sets the HttpOnly session cookie",
    auth=None,
    body=LoginIn,
    response=LoginOut,
    tags=["accounts"],
    errors=(401, 403, 429),
)
async def login(request: web.Request, body: LoginIn) -> web.Response:
    svc = request.app[SERVICES]
    limits = rate_limits(request)
    address = client_address(request)
    limits.hit("login", address)
    # Failures count per (address, e-mail): a guesser elsewhere cannot lock the owner out.
    failures_key = f"{address} {body.email.strip().lower()}"
    limits.refuse_if_exceeded("login_failures", failures_key, code="too_many_attempts")
    try:
        token, user = await accounts.login(
            svc, email=body.email, password=body.password, user_agent=request.headers.get("User-Agent")
        )
    except Unauthorized:
        limits.record("login_failures", failures_key)
        raise
    resp = json_response({"token": token, "user": public_user(user)})
    set_session_cookie(
        resp, token, secure=svc.settings.secure_cookies, max_age=svc.settings.pst_session_ttl_hours * 3600
    )
    return resp


@api.route(
    "POST",
    "/auth/logout",
    summary="End this session (server-side) and clear the cookie",
    auth=None,
    response=OkOut,
    tags=["accounts"],
)
async def logout(request: web.Request) -> web.Response:
    token = request_token(request)
    if token:
        await accounts.logout(request.app[SERVICES], token)
    resp = json_response({"ok": True})
    clear_session_cookie(resp)
    return resp


@api.route(
    "POST",
    "/auth/password-reset",
    summary="E-mail a password reset link (always 202)",
    auth=None,
    body=EmailIn,
    response=OkOut,
    status=202,
    tags=["accounts"],
    errors=(429,),
)
async def password_reset(request: web.Request, body: EmailIn) -> web.Response:
    async with _even_time():
        if _account_mail_allowed(request, body.email):
            await accounts.request_password_reset(request.app[SERVICES], body.email)
    return json_response({"ok": True}, status=202)


@api.route(
    "POST",
    "/auth/password-reset/confirm",
    summary="Set a new password with the token from the link",
    auth=None,
    body=ResetIn,
    response=OkOut,
    tags=["accounts"],
    errors=(400, 422),
)
async def password_reset_confirm(request: web.Request, body: ResetIn) -> web.Response:
    await accounts.reset_password(request.app[SERVICES], body.token, body.password)
    return json_response({"ok": True})


@api.route("GET", "/me", summary="The signed-in user", response=UserOut, tags=["accounts"], errors=(401,))
async def get_me(request: web.Request) -> web.Response:
    return json_response(public_user(me(request)))


@api.route(
    "PATCH",
    "/me",
    summary="Change my name, contacts or language",
    body=ProfileIn,
    response=UserOut,
    tags=["accounts"],
    errors=(401, 422),
)
async def update_me(request: web.Request, body: ProfileIn) -> web.Response:
    user = await accounts.update_profile(request.app[SERVICES], me(request), body.model_dump(exclude_none=True))
    return json_response(public_user(user))


@api.route(
    "GET",
    "/offices",
    summary="All offices with their policy and contacts",
    auth=None,
    response=OfficesOut,
    tags=["offices"],
)
async def list_offices(request: web.Request) -> web.Response:
    items = await offices.list_offices(request.app[SERVICES])
    return json_response({"offices": [public_office(o) for o in items]})


@api.route(
    "GET", "/offices/{code}", summary="One office", auth=None, response=OfficeOut, tags=["offices"], errors=(404,)
)
async def get_office(request: web.Request) -> web.Response:
    office = await offices.get_office(request.app[SERVICES], request.match_info["code"])
    return json_response(public_office(office))


@api.route(
    "PATCH",
    "/offices/{code}/policy",
    summary="Change an office's policy (admin)",
    auth="admin",
    body=PolicyIn,
    response=OfficeOut,
    tags=["offices"],
    errors=(403, 404, 422),
)
async def update_policy(request: web.Request, body: PolicyIn) -> web.Response:
    office = await offices.update_policy(
        request.app[SERVICES], me(request), request.match_info["code"], body.model_dump(exclude_none=True)
    )
    return json_response(public_office(office))


async def healthz(request: web.Request) -> web.Response:
    """200 when the server and its database answer, 503 otherwise."""
    ok = await request.app[DATABASE].ping()
    return json_response({"status": "ok" if ok else "unavailable", "database": ok}, status=200 if ok else 503)


async def not_found(request: web.Request) -> web.Response:
    raise NotFound("not_found", "no such endpoint")


async def ensure_user(request: web.Request) -> dict[str, Any] | None:
    return await current_user(request)
