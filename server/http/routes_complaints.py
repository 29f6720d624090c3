"""Complaints over HTTP: filed by anyone (the public page), a user, or staff; worked on by supervisors.

Also the follow-ups of low ratings (server.domain.followups), shown next to the complaints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.domain import complaints, followups
from server.domain.models import is_staff
from server.http.api import Api, Handler, Route, json_response
from server.http.auth import current_user, me
from server.http.ratelimit import RATE_LIMITS, RateLimiter
from server.http.schemas import In, Out
from server.keys import SERVICES

# Complaints filed from one client address (the public page needs no account): enough for an office's
# shared computer, not for a script. Staff entering complaints received elsewhere are not counted.
COMPLAINTS_PER_HOUR = 60
COMPLAINT_LIMITER = web.AppKey("complaint_rate_limiter", RateLimiter)


class _ComplaintsApi(Api):
    """An Api that gives each app its own limiter of public complaints (per process, real time)."""

    def mount(self, app: web.Application, wrap: Callable[[Route], Handler]) -> None:
        super().mount(app, wrap)
        app[COMPLAINT_LIMITER] = RateLimiter(COMPLAINTS_PER_HOUR, 3600.0, name="complaints")


api = _ComplaintsApi()

Status = Literal["received", "in_progress", "resolved", "rejected"]


# --- models -----------------------------------------------------------------------------------


class ComplaintIn(In):
    office: str = Field(max_length=10)
    # Emptiness and length are the domain's rule (422 empty_text, text_too_long: 5,000 characters).
    text: str = Field(json_schema_extra={"maxLength": complaints.TEXT_MAX_CHARS})
    consultation_id: str | None = Field(default=None, max_length=40)
    ticket_id: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200, description="required unless signed in")
    email: str | None = Field(default=None, max_length=254, description="required unless signed in")
    phone: str | None = Field(default=None, max_length=40)
    source: str | None = Field(
        default=None, max_length=40, description=f"staff only: one of {', '.join(complaints.STAFF_SOURCES)}"
    )
    lang: Literal["id", "en"] | None = Field(default=None, description="the language of the e-mails")


class StatusIn(In):
    status: str = Field(max_length=20, description="received, in_progress, resolved or rejected")
    response: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": complaints.RESPONSE_MAX_CHARS},
        description="the answer e-mailed to the complainant; required to reject (the reason)",
    )


class NoteIn(In):
    text: str = Field(json_schema_extra={"maxLength": complaints.NOTE_MAX_CHARS})


class AssignIn(In):
    user_id: str | None = Field(default=None, max_length=40, description="a supervisor or admin of the office")


class FollowupDoneIn(In):
    note: str = Field(json_schema_extra={"maxLength": followups.NOTE_MAX_CHARS})


class PublicComplaint(Out):
    id: str
    number: str
    office: str
    status: Status
    due_at: str | None


class ComplaintCreatedOut(Out):
    complaint: PublicComplaint


class ComplaintOut(Out):
    complaint: dict[str, Any]


class ComplaintsOut(Out):
    office: str | None
    complaints: list[dict[str, Any]]
    counts: dict[str, int]


class AssigneesOut(Out):
    assignees: list[dict[str, Any]]


class FollowupsOut(Out):
    followups: list[dict[str, Any]]


class FollowupOut(Out):
    followup: dict[str, Any]


# --- routes -----------------------------------------------------------------------------------


@api.route(
    "POST",
    "/complaints",
    summary="File a complaint (anyone, with a name and e-mail; a signed-in user only about their own consultation;"
    " staff enter complaints received elsewhere with `source`)",
    auth=None,
    body=ComplaintIn,
    response=ComplaintCreatedOut,
    status=201,
    tags=["complaints"],
    errors=(403, 404, 422, 429),
)
async def file_complaint(request: web.Request, body: ComplaintIn) -> web.Response:
    user = await current_user(request)
    if not is_staff(user) and request.app[RATE_LIMITS].enabled:
        request.app[COMPLAINT_LIMITER].check(request)
    c = await complaints.open_complaint(request.app[SERVICES], user, **body.model_dump())
    return json_response({"complaint": complaints.public_view(c)}, status=201)


@api.route(
    "GET",
    "/complaints/assignees",
    summary="Who a complaint of the office can be assigned to (its supervisors and admins)",
    auth="supervisor",
    response=AssigneesOut,
    query={"office": {"type": "string"}},
    tags=["complaints"],
    errors=(403, 404),
)
async def list_assignees(request: web.Request) -> web.Response:
    user = me(request)
    office = request.query.get("office") or user.get("office") or ""
    return json_response({"assignees": await complaints.assignees(request.app[SERVICES], user, office)})


@api.route(
    "GET",
    "/complaints",
    summary="The office's complaints, newest first, with counts per status (supervisors and admins)",
    auth="supervisor",
    response=ComplaintsOut,
    query={
        "office": {"type": "string", "description": "an office code, or `all` (national admins)"},
        "status": {"type": "string", "enum": ["open", *complaints.STATUSES]},
        "limit": {"type": "integer", "minimum": 1, "maximum": complaints.LIST_MAX},
    },
    tags=["complaints"],
    errors=(403, 404, 422),
)
async def list_complaints(request: web.Request) -> web.Response:
    q = request.query
    out = await complaints.list_for(
        request.app[SERVICES], me(request), office=q.get("office"), status=q.get("status"), limit=q.get("limit")
    )
    return json_response(out)


@api.route(
    "GET",
    "/complaints/{id}",
    summary="One complaint with its notes and history (supervisors and admins of its office)",
    auth="supervisor",
    response=ComplaintOut,
    tags=["complaints"],
    errors=(403, 404),
)
async def get_complaint(request: web.Request) -> web.Response:
    c = await complaints.get_for(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"complaint": c})


@api.route(
    "POST",
    "/complaints/{id}/status",
    summary="received -> in_progress -> resolved | rejected (a rejection needs the reason); the response is e-mailed",
    auth="supervisor",
    body=StatusIn,
    response=ComplaintOut,
    tags=["complaints"],
    errors=(403, 404, 409, 422),
)
async def set_status(request: web.Request, body: StatusIn) -> web.Response:
    c = await complaints.set_status(
        request.app[SERVICES], me(request), request.match_info["id"], status=body.status, response=body.response
    )
    return json_response({"complaint": c})


@api.route(
    "POST",
    "/complaints/{id}/notes",
    summary="An internal note on a complaint (never shown to the complainant)",
    auth="supervisor",
    body=NoteIn,
    response=ComplaintOut,
    status=201,
    tags=["complaints"],
    errors=(403, 404, 422),
)
async def add_note(request: web.Request, body: NoteIn) -> web.Response:
    c = await complaints.add_note(request.app[SERVICES], me(request), request.match_info["id"], body.text)
    return json_response({"complaint": c}, status=201)


@api.route(
    "POST",
    "/complaints/{id}/assign",
    summary="Assign a complaint to a supervisor or admin of its office (user_id null: to nobody)",
    auth="supervisor",
    body=AssignIn,
    response=ComplaintOut,
    tags=["complaints"],
    errors=(403, 404, 409, 422),
)
async def assign(request: web.Request, body: AssignIn) -> web.Response:
    c = await complaints.assign(request.app[SERVICES], me(request), request.match_info["id"], body.user_id)
    return json_response({"complaint": c})


@api.route(
    "GET",
    "/followups",
    summary="Low ratings (1-2) without a complaint, for the supervisors to follow up",
    auth="supervisor",
    response=FollowupsOut,
    query={"office": {"type": "string"}, "status": {"type": "string", "enum": list(followups.STATUSES)}},
    tags=["complaints"],
    errors=(403, 404, 422),
)
async def list_followups(request: web.Request) -> web.Response:
    q = request.query
    out = await followups.list_for(request.app[SERVICES], me(request), office=q.get("office"), status=q.get("status"))
    return json_response(out)


@api.route(
    "POST",
    "/followups/{id}/done",
    summary="Mark a low rating followed up, saying what was done",
    auth="supervisor",
    body=FollowupDoneIn,
    response=FollowupOut,
    tags=["complaints"],
    errors=(403, 404, 409, 422),
)
async def followup_done(request: web.Request, body: FollowupDoneIn) -> web.Response:
    f = await followups.mark_done(request.app[SERVICES], me(request), request.match_info["id"], body.note)
    return json_response({"followup": f})
