"""Supervision and the casebook over HTTP: the live overview, taking a room, the history search, a record."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.domain import casebook, supervision
from server.domain import consultations as cons
from server.domain.models import public_consultation
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.routes_consultations import ConsultationOut
from server.http.schemas import Out
from server.keys import SERVICES

api = Api()


class OverviewOut(Out):
    office: dict[str, Any]
    now: str | None
    totals: dict[str, int]
    queue: dict[str, Any]
    consultations: list[dict[str, Any]]
    officers: list[dict[str, Any]]
    walk_in: dict[str, Any]


class NationalOverviewOut(Out):
    now: str | None
    offices: list[dict[str, Any]]


class SearchOut(Out):
    consultations: list[dict[str, Any]]
    more: bool
    message_scope: dict[str, Any]


class RecordOut(Out):
    consultation: dict[str, Any]
    previous: list[dict[str, Any]]


@api.route(
    "GET",
    "/offices/{code}/overview",
    summary="The office's open consultations (at risk and breached first), officers' load and presence, queue, walk-in",
    auth="supervisor",
    response=OverviewOut,
    tags=["supervision"],
    errors=(403, 404),
)
async def office_overview(request: web.Request) -> web.Response:
    out = await supervision.office_overview(request.app[SERVICES], me(request), request.match_info["code"])
    return json_response(out)


@api.route(
    "GET",
    "/overview",
    summary="Every office's open work in one line each (national admins)",
    auth="admin",
    response=NationalOverviewOut,
    tags=["supervision"],
    errors=(403,),
)
async def national_overview(request: web.Request) -> web.Response:
    return json_response(await supervision.national_overview(request.app[SERVICES], me(request)))


@api.route(
    "POST",
    "/consultations/{id}/take",
    summary="A supervisor takes the room: claims it if queued, takes it over from its officer if active",
    auth="supervisor",
    response=ConsultationOut,
    tags=["supervision"],
    errors=(403, 404, 409),
)
async def take(request: web.Request) -> web.Response:
    user = me(request)
    c = await supervision.take(request.app[SERVICES], user, request.match_info["id"])
    return json_response(public_consultation(c, user))


@api.route(
    "GET",
    "/history",
    summary="Search the office's consultations, closed ones too: number, subject, user, message text, filters",
    auth="staff",
    response=SearchOut,
    tags=["history"],
    errors=(403, 404, 422),
    query={
        "office": {"type": "string"},
        "q": {"type": "string", "maxLength": 100},
        "status": {"type": "string", "enum": ["queued", "active", "closed"]},
        "channel": {"type": "string", "enum": ["online", "walk_in", "whatsapp", "email"]},
        "officer": {"type": "string", "description": "an officer's id: the consultations assigned to them"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "limit": {"type": "integer", "minimum": 1, "maximum": casebook.SEARCH_PAGE_MAX},
        "offset": {"type": "integer", "minimum": 0, "maximum": casebook.SEARCH_OFFSET_MAX},
    },
)
async def history(request: web.Request) -> web.Response:
    q = request.query
    out = await casebook.search(
        request.app[SERVICES],
        me(request),
        office=q.get("office") or None,
        q=q.get("q"),
        status=q.get("status"),
        channel=q.get("channel"),
        officer=q.get("officer"),
        first=q.get("from") or None,
        last=q.get("to") or None,
        limit=cons.parse_int(q.get("limit"), "limit", 50, 1, casebook.SEARCH_PAGE_MAX),
        offset=cons.parse_int(q.get("offset"), "offset", 0, 0, casebook.SEARCH_OFFSET_MAX),
    )
    return json_response(out)


@api.route(
    "GET",
    "/consultations/{id}/record",
    summary="One consultation's record: summary, durations, rating, survey, transfers, the user's previous ones",
    auth="staff",
    response=RecordOut,
    tags=["history"],
    errors=(403, 404),
)
async def record(request: web.Request) -> web.Response:
    return json_response(await casebook.record(request.app[SERVICES], me(request), request.match_info["id"]))
