"""The SKM survey over HTTP (the questionnaire, a response) and its IKM report (GET /reports/ikm)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import Field

from server.domain import reports, surveys
from server.http.api import Api, Handler, Route, json_response
from server.http.auth import current_user, me
from server.http.ratelimit import RATE_LIMITS, RateLimiter
from server.http.schemas import In, Out
from server.keys import SERVICES

# Responses from one client address: a kiosk in a busy office, not a script.
RESPONSES_PER_MINUTE = 120
SURVEY_LIMITER = web.AppKey("survey_rate_limiter", RateLimiter)


class _SurveysApi(Api):
    """An Api that gives each app its own limiter of survey responses (per process, real time)."""

    def mount(self, app: web.Application, wrap: Callable[[Route], Handler]) -> None:
        super().mount(app, wrap)
        app[SURVEY_LIMITER] = RateLimiter(RESPONSES_PER_MINUTE, 60.0, name="survey responses")


api = _SurveysApi()


class ResponseIn(In):
    office: str = Field(max_length=10)
    channel: str | None = Field(default=None, max_length=20, description="online, walk_in, whatsapp or email")
    consultation_id: str | None = Field(default=None, max_length=40)
    ticket_id: str | None = Field(default=None, max_length=40)
    # Every answer is checked by the domain (422 incomplete_answers, invalid_answer, unknown_element).
    answers: dict[str, Any] = Field(description="{element key: 1..4} for all nine elements")
    profile: dict[str, Any] | None = Field(default=None, description="{sex, age, education, occupation}, optional")
    suggestion: str | None = Field(default=None, json_schema_extra={"maxLength": surveys.SUGGESTION_MAX_CHARS})
    token: str | None = Field(
        default=None, max_length=1000, description="the survey or rating link's token, or the ticket's phone-page token"
    )


class AnswerOut(Out):
    value: int
    label: str


class ElementOut(Out):
    key: str
    label: str
    answers: list[AnswerOut]


class QuestionnaireOut(Out):
    elements: list[ElementOut]


class ResponseOut(Out):
    response: dict[str, Any]


class TargetOut(Out):
    office: str | None
    answered: bool


class IkmElementOut(Out):
    nrr: float | None


class IkmOut(Out):
    responses: int
    elements: dict[str, IkmElementOut]
    ikm: float | None
    grade: str | None


@api.route(
    "GET",
    "/surveys/skm",
    summary="The SKM questionnaire: the nine elements of PermenPANRB 14/2017 in order, each with its four answers",
    auth=None,
    response=QuestionnaireOut,
    query={"lang": {"type": "string", "enum": ["id", "en"]}},
    tags=["surveys"],
)
async def questionnaire(request: web.Request) -> web.Response:
    return json_response(surveys.questionnaire(request.query.get("lang")))


@api.route(
    "GET",
    "/surveys/skm/target",
    summary="What a survey link is about (office, number) and whether it was answered; needs the link's proof",
    auth=None,
    response=TargetOut,
    query={
        "consultation_id": {"type": "string"},
        "ticket_id": {"type": "string"},
        "token": {"type": "string", "description": "the survey/rating link's token or the ticket's token"},
    },
    tags=["surveys"],
    errors=(400, 403, 404, 422),
)
async def target(request: web.Request) -> web.Response:
    q = request.query
    out = await surveys.target_info(
        request.app[SERVICES],
        await current_user(request),
        consultation_id=q.get("consultation_id"),
        ticket_id=q.get("ticket_id"),
        token=q.get("token"),
    )
    return json_response(out)


@api.route(
    "POST",
    "/surveys/skm/responses",
    summary="Answer the SKM survey (anyone; once per consultation or ticket: 409 already_answered)",
    auth=None,
    body=ResponseIn,
    response=ResponseOut,
    status=201,
    tags=["surveys"],
    errors=(400, 403, 404, 409, 422, 429),
)
async def respond(request: web.Request, body: ResponseIn) -> web.Response:
    if request.app[RATE_LIMITS].enabled:
        request.app[SURVEY_LIMITER].check(request)
    out = await surveys.submit(request.app[SERVICES], await current_user(request), **body.model_dump())
    return json_response({"response": out}, status=201)


@api.route(
    "GET",
    "/reports/ikm",
    summary="The IKM of an office's SKM responses over a period of local dates: NRR per element, IKM, grade,"
    " per channel, per officer, and the Krejcie-Morgan sample size of the period's service users",
    auth="supervisor",
    response=IkmOut,
    query={
        "office": {"type": "string", "description": "an office code, or `all` (national admins)"},
        "from": {"type": "string", "format": "date", "description": "first local date (default: the 1st)"},
        "to": {"type": "string", "format": "date", "description": "last local date, included (default: today)"},
        "lang": {"type": "string", "enum": ["id", "en"]},
    },
    tags=["reports", "surveys"],
    errors=(403, 404, 422),
)
async def ikm_report(request: web.Request) -> web.Response:
    q = request.query
    svc = request.app[SERVICES]
    # Who may see which office over which days: the reports' one rule (403 first, then 422 for the dates).
    p = await reports.period(svc, me(request), q.get("office") or None, q.get("from"), q.get("to"))
    return json_response(await surveys.report(svc, p.offices, p.first, p.last, label=p.office, lang=q.get("lang")))
