"""Personal data over HTTP: a person's copy of their data (GET /me/export) and erasure (DELETE /me)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from server.domain import privacy
from server.http.api import Api, json_response
from server.http.auth import clear_session_cookie, me
from server.http.schemas import In, Out
from server.keys import SERVICES

api = Api()


class EraseIn(In):
    password: str = Field(max_length=256)


class ExportOut(Out):
    exported_at: str | None
    account: dict[str, Any]
    consultations: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    surveys: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    guestbook: list[dict[str, Any]]
    contacts: list[dict[str, Any]] = []


class ErasedOut(Out):
    ok: bool
    erased: bool


@api.route(
    "GET",
    "/me/export",
    summary="A copy of everything held about me (account, consultations and their messages, ratings, surveys, "
    "complaints, guest book entries) as JSON",
    response=ExportOut,
    tags=["accounts"],
    errors=(401,),
)
async def export_me(request: web.Request) -> web.Response:
    out = await privacy.export(request.app[SERVICES], me(request))
    resp = json_response(out)
    resp.headers["Content-Disposition"] = 'attachment; filename="pst-data-saya.json"'
    return resp


@api.route(
    "DELETE",
    "/me",
    summary="Erase my account: name, e-mail, phone and my texts are replaced, sessions end; the consultations' "
    "figures stay (members of the public; the password confirms)",
    body=EraseIn,
    response=ErasedOut,
    tags=["accounts"],
    errors=(401, 403, 422),
)
async def erase_me(request: web.Request, body: EraseIn) -> web.Response:
    user = me(request)
    await privacy.erase(request.app[SERVICES], user, body.password)
    resp = json_response(privacy.public_erasure(user))
    clear_session_cookie(resp)
    return resp
