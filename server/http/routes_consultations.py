"""Consultations over HTTP: the same actions the Socket.IO handlers call."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field, RootModel

from server.domain import access, messages
from server.domain import consultations as cons
from server.domain.errors import BadRequest, Forbidden
from server.domain.inputs import MessageIn, ReadIn
from server.domain.models import MessageOut, public_consultation, public_message
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.ratelimit import client_address, rate_limits
from server.http.schemas import In, OkOut, Out
from server.keys import SERVICES

api = Api()


class OpenIn(In):
    office: str = Field(pattern=r"^[0-9]{4}$")
    topic: Literal["data", "metadata", "classification", "other"]
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    kb_query: str | None = Field(default=None, max_length=500)
    kb_opened: list[str] | None = Field(default=None, max_length=20)
    client_id: str | None = Field(default=None, max_length=100)


class TransferIn(In):
    to_user: str | None = Field(default=None, max_length=24)
    to_office: str | None = Field(default=None, pattern=r"^[0-9]{4}$")


class CloseIn(In):
    summary: str | None = Field(default=None, max_length=4000)
    category: Literal["answered", "referred", "data_unavailable", "duplicate", "no_response"] | None = Field(
        default=None, description="how staff file the outcome (the reports count them)"
    )


class ClarifyIn(In):
    awaiting: bool


# The OpenAPI schema of a message, derived from its one definition (server.domain.models.MessageOut).
class MessageModel(RootModel[MessageOut]):
    """A message as clients see it."""


class SlaModel(Out):
    due_at: str | None
    state: Literal["on_track", "at_risk", "breached", "met"]
    started_at: str | None = None
    paused: bool = False
    met_at: str | None = None


class ConsultationOut(Out):
    id: str
    number: str
    office: str
    channel: str
    topic: str | None
    subject: str | None
    status: Literal["queued", "active", "closed"]
    close_reason: str | None = None
    user: dict[str, Any]
    assigned_to: dict[str, Any] | None
    sla: SlaModel
    unread: int | None = Field(description="unread messages for the caller; null in broadcasts to staff rooms")
    last_seq: int
    last_message: dict[str, Any] | None = None
    created_at: str


class ConsultationsOut(Out):
    consultations: list[ConsultationOut]


class OpenOut(ConsultationOut):
    message: MessageOut | None = None


class MessagesOut(Out):
    consultation_id: str
    messages: list[MessageOut]


@api.route(
    "POST",
    "/consultations",
    summary="Open a consultation with its first message",
    body=OpenIn,
    response=OpenOut,
    status=201,
    tags=["consultations"],
    errors=(403, 422, 429),
)
async def open_consultation(request: web.Request, body: OpenIn) -> web.Response:
    user = me(request)
    limits = rate_limits(request)
    limits.hit("open", str(user["_id"]))
    limits.hit("open_address", client_address(request))
    c, msg = await cons.open_consultation(request.app[SERVICES], user, **body.model_dump())
    out = public_consultation(c, user)
    out["message"] = public_message(msg) if msg else None
    return json_response(out, status=201)


@api.route(
    "GET",
    "/consultations",
    summary="My consultations (users) or my office's (staff)",
    response=ConsultationsOut,
    tags=["consultations"],
    errors=(403, 422),
    query={
        "status": {"type": "string", "enum": ["queued", "active", "closed"]},
        "assigned": {"type": "string", "enum": ["me"]},
        "office": {"type": "string"},
        "limit": {"type": "integer"},
    },
)
async def list_consultations(request: web.Request) -> web.Response:
    user = me(request)
    q = request.query
    assigned = q.get("assigned")
    if assigned not in (None, "", "me"):
        raise BadRequest("invalid_assigned", "assigned must be 'me'")
    limit = cons.parse_int(q.get("limit"), "limit", 100, 1, 500)
    items = await cons.list_for(
        request.app[SERVICES],
        user,
        status=q.get("status") or None,
        assigned=assigned or None,
        office=q.get("office"),
        limit=limit,
    )
    return json_response({"consultations": [public_consultation(c, user) for c in items]})


@api.route(
    "GET",
    "/consultations/{id}",
    summary="One consultation with status, SLA, assignment and unread count",
    response=ConsultationOut,
    tags=["consultations"],
    errors=(404,),
)
async def get_consultation(request: web.Request) -> web.Response:
    user = me(request)
    c = await access.load_for(request.app[SERVICES], user, request.match_info["id"])
    return json_response(public_consultation(c, user))


@api.route(
    "GET",
    "/consultations/{id}/messages",
    summary="Messages in seq order after after_seq",
    response=MessagesOut,
    tags=["consultations"],
    errors=(404,),
    query={
        "after_seq": {"type": "integer", "minimum": 0},
        "limit": {"type": "integer", "maximum": 200},
        "before_seq": {"type": "integer"},
    },
)
async def get_messages(request: web.Request) -> web.Response:
    user = me(request)
    q = request.query
    after = cons.parse_int(q.get("after_seq"), "after_seq", 0, 0, 10**9)
    limit = cons.parse_int(q.get("limit"), "limit", 100, 1, messages.HISTORY_PAGE_MAX)
    before = q.get("before_seq")
    before_seq = cons.parse_int(before, "before_seq", 0, 1, 10**9) if before else None
    c, msgs = await messages.history(
        request.app[SERVICES], user, request.match_info["id"], after_seq=after, limit=limit, before_seq=before_seq
    )
    return json_response({"consultation_id": str(c["_id"]), "messages": [public_message(m) for m in msgs]})


@api.route(
    "POST",
    "/consultations/{id}/messages",
    summary="Send a message (same as the socket event message:send)",
    body=MessageIn,
    response=MessageModel,
    status=201,
    tags=["consultations"],
    errors=(403, 404, 409, 422, 429),
)
async def post_message(request: web.Request, body: MessageIn) -> web.Response:
    # The socket's per-connection limit, per account over HTTP (it cannot be sidestepped by switching).
    rate_limits(request).hit("message", str(me(request)["_id"]))
    msg, _ = await messages.post_message(
        request.app[SERVICES],
        me(request),
        request.match_info["id"],
        text=body.text,
        kind=body.kind,
        client_id=body.client_id,
        answer=body.answer,
    )
    return json_response(public_message(msg), status=201)


@api.route(
    "POST",
    "/consultations/{id}/read",
    summary="Mark messages read up to seq",
    body=ReadIn,
    response=OkOut,
    tags=["consultations"],
    errors=(404,),
)
async def mark_read(request: web.Request, body: ReadIn) -> web.Response:
    await messages.mark_read(request.app[SERVICES], me(request), request.match_info["id"], body.seq)
    return json_response({"ok": True})


@api.route(
    "POST",
    "/consultations/{id}/claim",
    summary="Take a queued consultation",
    auth="staff",
    response=ConsultationOut,
    tags=["officer"],
    errors=(404, 409),
)
async def claim(request: web.Request) -> web.Response:
    user = me(request)
    c = await cons.claim(request.app[SERVICES], user, request.match_info["id"])
    return json_response(public_consultation(c, user))


@api.route(
    "POST",
    "/consultations/{id}/transfer",
    summary="Transfer to another officer or office",
    auth="staff",
    body=TransferIn,
    response=ConsultationOut,
    tags=["officer"],
    errors=(404, 409, 422),
)
async def transfer(request: web.Request, body: TransferIn) -> web.Response:
    user = me(request)
    c = await cons.transfer(
        request.app[SERVICES], user, request.match_info["id"], to_user=body.to_user, to_office=body.to_office
    )
    return json_response(public_consultation(c, user))


@api.route(
    "POST",
    "/consultations/{id}/close",
    summary="Close; queues the transcript and rating request e-mails",
    body=CloseIn,
    response=ConsultationOut,
    tags=["consultations"],
    errors=(404, 409),
)
async def close(request: web.Request, body: CloseIn) -> web.Response:
    user = me(request)
    c = await cons.close(
        request.app[SERVICES], user, request.match_info["id"], summary=body.summary, category=body.category
    )
    return json_response(public_consultation(c, user))


@api.route(
    "POST",
    "/consultations/{id}/clarification",
    summary="Mark the request awaiting clarification (stops the SLA clock) or clear it",
    auth="staff",
    body=ClarifyIn,
    response=ConsultationOut,
    tags=["officer"],
    errors=(404, 409),
)
async def clarification(request: web.Request, body: ClarifyIn) -> web.Response:
    user = me(request)
    c = await cons.set_awaiting_clarification(request.app[SERVICES], user, request.match_info["id"], body.awaiting)
    return json_response(public_consultation(c, user))


@api.route(
    "GET",
    "/offices/{code}/consultations/queue",
    summary="The office's queue of unassigned consultations",
    auth="staff",
    response=ConsultationsOut,
    tags=["officer"],
)
async def office_queue(request: web.Request) -> web.Response:
    user = me(request)
    code = request.match_info["code"]
    if user.get("office") not in (None, code):
        raise Forbidden("forbidden", "not your office")
    items = await access.queue_of(request.app[SERVICES], code)
    return json_response({"consultations": items})
