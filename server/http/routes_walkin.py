"""The walk-in desk over HTTP: the kiosk (guest book, tickets), the board, the phone page, the officer's desk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.domain import guestbook as gb
from server.domain import walkin
from server.domain import walkin_board as wb
from server.http.api import Api, Handler, Route, json_response
from server.http.auth import current_user, me
from server.http.ratelimit import RateLimiter
from server.http.schemas import In, Out
from server.keys import SERVICES

# The kiosk is shared by every visitor of an office: allow a busy morning from one device, stop a script.
KIOSK_REQUESTS_PER_MINUTE = 120
KIOSK_LIMITER = web.AppKey("kiosk_rate_limiter", RateLimiter)

Topic = Literal["data", "metadata", "classification", "other"]
Priority = Literal["elderly", "disabled", "pregnant"]


class _WalkinApi(Api):
    """An Api that gives each app its own kiosk limiter (per process, real time)."""

    def mount(self, app: web.Application, wrap: Callable[[Route], Handler]) -> None:
        super().mount(app, wrap)
        app[KIOSK_LIMITER] = RateLimiter(KIOSK_REQUESTS_PER_MINUTE, 60.0, name="kiosk requests")


api = _WalkinApi()


def _kiosk(request: web.Request) -> None:
    request.app[KIOSK_LIMITER].check(request)


# --- models -----------------------------------------------------------------------------------


class GuestbookIn(In):
    name: str = Field(max_length=gb.NAME_MAX_CHARS)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    institution: str | None = Field(default=None, max_length=gb.FIELD_MAX_CHARS)
    occupation: str | None = Field(default=None, max_length=gb.FIELD_MAX_CHARS)
    purpose: str = Field(max_length=gb.PURPOSE_MAX_CHARS)
    topic: Topic | None = None
    id_type: str | None = Field(default=None, max_length=20, description="ktp, sim, passport or other")
    id_number: str | None = Field(default=None, max_length=32)
    ticket_id: str | None = Field(default=None, max_length=40, description="the ticket taken first (7501, 7411)")
    qr_token: str | None = Field(default=None, max_length=1000, description="from the visitor's portal QR code")
    priority: Priority | None = Field(default=None, description="offices with no ticket step: the entry's ticket")


class PrefillIn(In):
    qr_token: str = Field(min_length=1, max_length=1000)


class TicketIn(In):
    guestbook_id: str | None = Field(default=None, max_length=40)
    priority: Priority | None = None


class RedeemIn(In):
    code: str = Field(min_length=4, max_length=40, description="the booking code of a visit booked online")
    id_type: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=32)


class DeskIn(In):
    desk: str | None = Field(default=None, max_length=walkin.DESK_MAX_CHARS)


class DoneIn(In):
    topic: Topic | None = None
    summary: str | None = Field(default=None, max_length=walkin.SUMMARY_MAX_CHARS)


class TicketModel(Out):
    id: str
    office: str
    day: str
    number: str = Field(pattern=r"^[A-Z]-\d{3,}$")
    status: Literal["waiting", "called", "serving", "done", "no_show"]
    priority: Priority | None = None
    desk: str | None = None
    created_at: str | None = None
    called_at: str | None = None
    served_at: str | None = None
    done_at: str | None = None
    promise_kept: bool | None = None
    consultation_id: str | None = None


class EntryModel(Out):
    id: str
    office: str
    name: str | None = None
    id_number: str | None = Field(default=None, description="masked unless revealed")
    ticket_id: str | None = None


class TicketOut(Out):
    ticket: TicketModel


class IssuedOut(Out):
    ticket: TicketModel
    token: str = Field(description="the phone page's secret; only in this answer")
    url: str = Field(description="the phone page of this ticket (for the QR code)")
    entry: EntryModel | None = None


class GuestbookOut(Out):
    entry: EntryModel
    ticket: TicketModel | None = None
    token: str | None = None
    url: str | None = None


class BoardOut(Out):
    office: str
    waiting: list[TicketModel]
    called: list[TicketModel]
    serving: list[TicketModel]
    done_today: int
    estimated_wait_minutes: int | None = None


class PrefillOut(Out):
    prefill: dict[str, str | None]


class QrOut(Out):
    token: str
    expires_at: str


class DoneOut(Out):
    ticket: TicketModel
    consultation: dict[str, Any]


class SummaryOut(Out):
    office: str
    tickets: int
    served: int
    promise_kept: int
    promise_broken: int
    promise_compliance: float | None


class PhoneTicketOut(Out):
    ticket: TicketModel
    position: int | None = None
    estimated_wait_minutes: int | None = None


def _phone_url(request: web.Request, ticket: dict[str, Any], token: str) -> str:
    base = request.app[SERVICES].settings.base_url
    return f"{base}/ticket?id={ticket['_id']}&t={token}"


def _issued(request: web.Request, ticket: dict[str, Any], token: str, entry: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "ticket": wb.public_ticket(ticket),
        "token": token,
        "url": _phone_url(request, ticket, token),
        "entry": gb.public_entry(entry) if entry else None,
    }


# --- the kiosk --------------------------------------------------------------------------------


@api.route(
    "POST",
    "/offices/{code}/guestbook",
    summary="Kiosk: a guest book entry (ID type and number where the office requires an ID card)",
    auth=None,
    body=GuestbookIn,
    response=GuestbookOut,
    status=201,
    tags=["walk-in"],
    errors=(404, 409, 422, 429),
)
async def add_entry(request: web.Request, body: GuestbookIn) -> web.Response:
    _kiosk(request)
    entry, ticket, token = await walkin.add_guestbook_entry(
        request.app[SERVICES],
        request.match_info["code"],
        **body.model_dump(exclude={"qr_token"}),
        qr_token=body.qr_token,
    )
    out: dict[str, Any] = {"entry": gb.public_entry(entry)}
    if ticket is not None:
        out["ticket"] = wb.public_ticket(ticket)
    if ticket is not None and token is not None:
        out["token"] = token
        out["url"] = _phone_url(request, ticket, token)
    return json_response(out, status=201)


@api.route(
    "POST",
    "/offices/{code}/guestbook/prefill",
    summary="Kiosk: the contact fields of the account whose portal QR code was shown",
    auth=None,
    body=PrefillIn,
    response=PrefillOut,
    tags=["walk-in"],
    errors=(404, 422, 429),
)
async def prefill(request: web.Request, body: PrefillIn) -> web.Response:
    _kiosk(request)
    data = await gb.prefill_from_qr(request.app[SERVICES], request.match_info["code"], body.qr_token)
    return json_response({"prefill": data})


@api.route(
    "POST",
    "/offices/{code}/queue/tickets",
    summary="Kiosk: take a queue ticket (numbers restart each day in the office's time zone)",
    auth=None,
    body=TicketIn,
    response=IssuedOut,
    status=201,
    tags=["walk-in"],
    errors=(404, 409, 422, 429),
)
async def take(request: web.Request, body: TicketIn) -> web.Response:
    _kiosk(request)
    ticket, token = await walkin.take_ticket(
        request.app[SERVICES], request.match_info["code"], guestbook_id=body.guestbook_id, priority=body.priority
    )
    return json_response(_issued(request, ticket, token, None), status=201)


@api.route(
    "POST",
    "/offices/{code}/queue/visits",
    summary="Kiosk: redeem a visit booked online by its booking code into a ticket of the same consultation",
    auth=None,
    body=RedeemIn,
    response=IssuedOut,
    status=201,
    tags=["walk-in"],
    errors=(404, 409, 422, 429),
)
async def redeem(request: web.Request, body: RedeemIn) -> web.Response:
    _kiosk(request)
    entry, ticket, token = await walkin.redeem_visit(
        request.app[SERVICES], request.match_info["code"], body.code, id_type=body.id_type, id_number=body.id_number
    )
    return json_response(_issued(request, ticket, token, entry), status=201)


@api.route(
    "GET",
    "/me/guestbook-qr",
    summary="A short-lived signed code the portal shows as a QR code to pre-fill the kiosk's guest book",
    response=QrOut,
    tags=["walk-in"],
)
async def my_qr(request: web.Request) -> web.Response:
    return json_response(gb.guestbook_qr(request.app[SERVICES], me(request)))


# --- the board and the phone page --------------------------------------------------------------


@api.route(
    "GET",
    "/offices/{code}/queue",
    summary="The queue board: waiting, called and serving tickets (never names), done today",
    auth=None,
    response=BoardOut,
    tags=["walk-in"],
    errors=(404,),
)
async def get_board(request: web.Request) -> web.Response:
    return json_response(await wb.board(request.app[SERVICES], request.match_info["code"]))


@api.route(
    "GET",
    "/queue/tickets/{id}",
    summary="One ticket with its position and estimated wait (the phone page: `token` from the ticket's QR)",
    auth=None,
    response=PhoneTicketOut,
    query={"token": {"type": "string", "required": False}},
    tags=["walk-in"],
    errors=(404,),
)
async def get_ticket(request: web.Request) -> web.Response:
    viewer = await current_user(request)
    t = await wb.ticket_for(
        request.app[SERVICES], request.match_info["id"], token=request.query.get("token"), viewer=viewer
    )
    return json_response(
        {"ticket": t, "position": t["position"], "estimated_wait_minutes": t["estimated_wait_minutes"]}
    )


# --- the officer's desk -----------------------------------------------------------------------


@api.route(
    "GET",
    "/offices/{code}/queue/desk",
    summary="The officer's desk: the board with guests (ID numbers masked), the last finish, the timer's start",
    auth="staff",
    tags=["walk-in"],
    errors=(403, 404),
)
async def desk(request: web.Request) -> web.Response:
    return json_response(await wb.desk_view(request.app[SERVICES], me(request), request.match_info["code"]))


@api.route(
    "POST",
    "/offices/{code}/queue/next",
    summary="Call the next waiting ticket (priority first, then the lowest number); 404 queue_empty",
    auth="staff",
    body=DeskIn,
    response=TicketOut,
    tags=["walk-in"],
    errors=(403, 404, 409),
)
async def call_next(request: web.Request, body: DeskIn) -> web.Response:
    svc = request.app[SERVICES]
    t = await walkin.call_next(svc, me(request), request.match_info["code"], desk=body.desk)
    return json_response({"ticket": wb.public_ticket(t)})


@api.route(
    "POST",
    "/queue/tickets/{id}/recall",
    summary="Call a called ticket again",
    auth="staff",
    body=DeskIn,
    response=TicketOut,
    tags=["walk-in"],
    errors=(403, 404, 409),
)
async def recall(request: web.Request, body: DeskIn) -> web.Response:
    t = await walkin.recall(request.app[SERVICES], me(request), request.match_info["id"], desk=body.desk)
    return json_response({"ticket": wb.public_ticket(t)})


@api.route(
    "POST",
    "/queue/tickets/{id}/serve",
    summary="The called visitor sat down",
    auth="staff",
    response=TicketOut,
    tags=["walk-in"],
    errors=(403, 404, 409),
)
async def serve(request: web.Request) -> web.Response:
    t = await walkin.serve(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"ticket": wb.public_ticket(t)})


@api.route(
    "POST",
    "/queue/tickets/{id}/no-show",
    summary="The called visitor did not come",
    auth="staff",
    response=TicketOut,
    tags=["walk-in"],
    errors=(403, 404, 409),
)
async def no_show(request: web.Request) -> web.Response:
    t = await walkin.no_show(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"ticket": wb.public_ticket(t)})


@api.route(
    "POST",
    "/queue/tickets/{id}/done",
    summary="Finish the ticket and record the walk-in consultation (channel walk_in, closed)",
    auth="staff",
    body=DoneIn,
    response=DoneOut,
    tags=["walk-in"],
    errors=(403, 404, 409, 422),
)
async def done(request: web.Request, body: DoneIn) -> web.Response:
    t, c = await walkin.finish(
        request.app[SERVICES], me(request), request.match_info["id"], topic=body.topic, summary=body.summary
    )
    return json_response({"ticket": wb.public_ticket(t), "consultation": wb.public_consultation_for_staff(c)})


@api.route(
    "POST",
    "/guestbook/{id}/reveal-id",
    summary="Show a guest book entry's full ID number (staff of its office; every reveal is recorded)",
    auth="staff",
    response={"type": "object", "properties": {"entry": {"type": "object"}}},
    tags=["walk-in"],
    errors=(403, 404),
)
async def reveal(request: web.Request) -> web.Response:
    entry = await gb.reveal_id(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response({"entry": entry})


@api.route(
    "GET",
    "/offices/{code}/queue/summary",
    summary="Walk-in figures for local days: tickets, served, waits, the 10-minute promise kept/broken",
    auth="staff",
    response=SummaryOut,
    query={
        "from": {"type": "string", "format": "date", "required": False},
        "to": {"type": "string", "format": "date", "required": False},
    },
    tags=["walk-in"],
    errors=(403, 404, 422),
)
async def summary(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    code = request.match_info["code"]
    first = request.query.get("from") or (await wb.board(svc, code))["day"]
    out = await wb.summary(svc, me(request), code, first, request.query.get("to") or first)
    return json_response(out)
