"""Escalation over HTTP: online meetings (Zoom, Jitsi, a pasted link) and in-person visits.

The host's start link leaves the server in exactly two staff-only answers (creating a meeting and
GET /meetings/{id}), under `host_start_url`; every other shape comes from the public parts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.domain import consultations as cons
from server.domain import meetings, visits
from server.domain.models import public_consultation, public_message
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import In, Out
from server.keys import SERVICES

api = Api()


class MeetingIn(In):
    provider: Literal["zoom", "jitsi", "link"]
    start_time: datetime | None = Field(
        default=None, description="ISO 8601 with an offset; omit for an instant meeting"
    )
    duration_min: int = Field(default=meetings.DEFAULT_MEETING_MINUTES, ge=1, le=1440)
    url: str | None = Field(default=None, max_length=2000, description="provider link: the https URL to share")
    topic: str | None = Field(default=None, max_length=200)


class RescheduleIn(In):
    start_time: datetime
    duration_min: int | None = Field(default=None, ge=1, le=1440)


class VisitIn(In):
    date: str = Field(
        min_length=10,
        max_length=40,
        description="a slot's ISO start, or YYYY-MM-DD (with `slot`, or the first free slot)",
    )
    slot: str | None = Field(default=None, max_length=5, description='"HH:MM" on the office\'s clock')


class MeetingOut(Out):
    id: str
    consultation_id: str
    provider: Literal["zoom", "jitsi", "link"]
    join_url: str | None
    passcode: str | None = None
    start_time: str | None
    start_local: str | None = None
    when_text: str
    instant: bool
    duration: int
    timezone: str
    topic: str | None
    status: Literal["scheduled", "cancelled"]
    sequence: int


class HostMeetingOut(MeetingOut):
    host_start_url: str | None = None
    message: dict[str, Any] | None = None


class ProvidersOut(Out):
    providers: list[Literal["zoom", "jitsi", "link"]]
    default: Literal["zoom", "jitsi", "link"]
    unconfigured: list[str] | None = Field(default=None, description="administrators only: providers without settings")


class SlotOut(Out):
    start: str
    end: str
    time: str
    capacity: int
    booked: int
    available: int


class DayOut(Out):
    date: str
    open: bool
    closed_reason: str | None
    slots: list[SlotOut]


class SlotsOut(Out):
    office: str
    time_zone: str
    slot_minutes: int
    slot_capacity: int
    days: list[DayOut]


class VisitOut(Out):
    code: str
    office: str
    consultation_id: str
    status: Literal["booked", "cancelled"]
    slot_start: str
    slot_end: str
    start_local: str
    date: str
    time: str
    when_text: str
    place: str | None
    address: str | None
    requirements: list[str]
    message: dict[str, Any] | None = None


class VisitLookupOut(Out):
    visit: VisitOut
    consultation: dict[str, Any]


def _visit_json(parts: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in parts.items()}


@api.route(
    "GET",
    "/meetings/providers",
    summary="The meeting providers configured here, the default first (the officer's meeting dialog)",
    auth="staff",
    response=ProvidersOut,
    tags=["escalation"],
)
async def meeting_providers(request: web.Request) -> web.Response:
    return json_response(meetings.providers(request.app[SERVICES], me(request)))


@api.route(
    "POST",
    "/consultations/{id}/meeting",
    summary="Create an online meeting, post it in the room and e-mail the invite (the host link only in this answer)",
    auth="staff",
    body=MeetingIn,
    response=HostMeetingOut,
    status=201,
    tags=["escalation"],
    errors=(403, 404, 409, 422, 503),
)
async def create_meeting(request: web.Request, body: MeetingIn) -> web.Response:
    svc = request.app[SERVICES]
    m, msg, _ = await meetings.create_meeting(
        svc,
        me(request),
        request.match_info["id"],
        provider=body.provider,
        start_time=body.start_time,
        duration_min=body.duration_min,
        url=body.url,
        topic=body.topic,
    )
    out = meetings.public_meeting_of(m)
    out["host_start_url"] = m["start_url"]
    out["message"] = public_message(msg)
    return json_response(out, status=201)


@api.route(
    "GET",
    "/meetings/{id}",
    summary="One meeting with the host's start link (staff)",
    auth="staff",
    response=HostMeetingOut,
    tags=["escalation"],
    errors=(404,),
)
async def get_meeting(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    m = await meetings.load_meeting_for_staff(svc, me(request), request.match_info["id"])
    out = meetings.public_meeting_of(m)
    out["host_start_url"] = await meetings.host_start_url(svc, m) if m["status"] == "scheduled" else None
    return json_response(out)


@api.route(
    "PATCH",
    "/meetings/{id}",
    summary="Reschedule a meeting (the invite is updated)",
    auth="staff",
    body=RescheduleIn,
    response=HostMeetingOut,
    tags=["escalation"],
    errors=(404, 409, 422, 503),
)
async def reschedule_meeting(request: web.Request, body: RescheduleIn) -> web.Response:
    svc = request.app[SERVICES]
    m, msg, _ = await meetings.reschedule_meeting(
        svc,
        me(request),
        request.match_info["id"],
        start_time=body.start_time,
        duration_min=body.duration_min,
    )
    out = meetings.public_meeting_of(m)
    out["message"] = public_message(msg)
    return json_response(out)


async def _cancel(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    m, msg, _ = await meetings.cancel_meeting(svc, me(request), request.match_info["id"])
    out = meetings.public_meeting_of(m)
    out["message"] = public_message(msg) if msg else None
    return json_response(out)


@api.route(
    "DELETE",
    "/meetings/{id}",
    summary="Cancel a meeting (idempotent; the invite is cancelled)",
    auth="staff",
    response=HostMeetingOut,
    tags=["escalation"],
    errors=(404, 503),
)
async def delete_meeting(request: web.Request) -> web.Response:
    return await _cancel(request)


@api.route(
    "POST",
    "/meetings/{id}/cancel",
    summary="Cancel a meeting (same as DELETE /meetings/{id})",
    auth="staff",
    response=HostMeetingOut,
    tags=["escalation"],
    errors=(404, 503),
)
async def cancel_meeting(request: web.Request) -> web.Response:
    return await _cancel(request)


@api.route(
    "GET",
    "/offices/{code}/visit-slots",
    summary="Visit slots with the places left, on the office's working days",
    response=SlotsOut,
    tags=["escalation"],
    errors=(404, 422),
    query={
        "from": {"type": "string", "format": "date"},
        "days": {"type": "integer", "minimum": 1, "maximum": visits.MAX_SLOT_DAYS},
    },
)
async def visit_slots(request: web.Request) -> web.Response:
    q = request.query
    days = cons.parse_int(q.get("days"), "days", visits.DEFAULT_SLOT_DAYS, 1, visits.MAX_SLOT_DAYS)
    out = await visits.list_visit_slots(
        request.app[SERVICES], request.match_info["code"], from_day=q.get("from") or None, days=days
    )
    return json_response(out)


@api.route(
    "POST",
    "/consultations/{id}/visit",
    summary="Book an in-person visit (its user or staff)",
    body=VisitIn,
    response=VisitOut,
    status=201,
    tags=["escalation"],
    errors=(403, 404, 409, 422),
)
async def book_visit(request: web.Request, body: VisitIn) -> web.Response:
    svc = request.app[SERVICES]
    visit, msg, _ = await visits.book_visit(
        svc, me(request), request.match_info["id"], date_text=body.date, slot=body.slot
    )
    out = _visit_json(msg["data"]["visit"])
    out["message"] = public_message(msg)
    return json_response(out, status=201)


@api.route(
    "DELETE",
    "/consultations/{id}/visit",
    summary="Cancel the consultation's booked visit",
    response=VisitOut,
    tags=["escalation"],
    errors=(403, 404),
)
async def cancel_visit(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    _, parts, _ = await visits.cancel_visit(svc, me(request), request.match_info["id"])
    return json_response(_visit_json(parts))


@api.route(
    "GET",
    "/visits/{code}",
    summary="A visit by its booking code, with its consultation (walk-in desk)",
    auth="staff",
    response=VisitLookupOut,
    tags=["escalation"],
    errors=(404,),
)
async def visit_by_code(request: web.Request) -> web.Response:
    user = me(request)
    _, parts, c = await visits.find_visit(request.app[SERVICES], user, request.match_info["code"])
    return json_response({"visit": _visit_json(parts), "consultation": public_consultation(c, user)})
