"""Ratings over HTTP: by the signed-in user, or by the one-click signed link from the e-mail."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from server.domain import access, ratings
from server.domain.models import public_consultation
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import In, Out
from server.keys import SERVICES

api = Api()


class RatingIn(In):
    # Ranges are checked by the domain (422 invalid_score), the same for every caller.
    score: int = Field(strict=True)
    comment: str | None = Field(default=None, max_length=ratings.COMMENT_MAX_CHARS)
    complaint: str | None = Field(default=None, max_length=ratings.COMPLAINT_MAX_CHARS)


class TokenRatingIn(RatingIn):
    token: str = Field(min_length=1, max_length=1000)


class RatingModel(Out):
    score: int = Field(strict=True)
    comment: str | None = None
    at: str | None = None


class RatingOut(Out):
    rating: RatingModel
    consultation: dict[str, Any]


class RatingTargetOut(Out):
    lang: str = Field(default="id", description="the language of the person who asked (id or en)")
    consultation: dict[str, Any]
    rated: bool
    rating: RatingModel | None = None


@api.route(
    "POST",
    "/consultations/{id}/rating",
    summary="Rate a closed consultation (its user, once); a complaint text opens a complaint case",
    body=RatingIn,
    response=RatingOut,
    status=201,
    tags=["ratings"],
    errors=(403, 404, 409, 422),
)
async def rate(request: web.Request, body: RatingIn) -> web.Response:
    user = me(request)
    c = await ratings.rate(
        request.app[SERVICES],
        user,
        request.match_info["id"],
        score=body.score,
        comment=body.comment,
        complaint=body.complaint,
    )
    return json_response(
        {"rating": ratings.public_rating(c.get("rating")), "consultation": public_consultation(c, user)}, status=201
    )


@api.route(
    "GET",
    "/consultations/{id}/rating",
    summary="The rating of a consultation, if given",
    response=RatingTargetOut,
    tags=["ratings"],
    errors=(403, 404),
)
async def get_rating(request: web.Request) -> web.Response:
    user = me(request)
    svc = request.app[SERVICES]
    c = await access.load_for(svc, user, request.match_info["id"])
    return json_response(await ratings.describe(svc, c))


@api.route(
    "GET",
    "/ratings/by-token",
    summary="What a rating link from the e-mail is about (no sign-in)",
    auth=None,
    response=RatingTargetOut,
    query={"token": {"type": "string", "required": True}},
    tags=["ratings"],
    errors=(400, 404, 410),
)
async def describe_by_token(request: web.Request) -> web.Response:
    return json_response(await ratings.describe_by_token(request.app[SERVICES], request.query.get("token")))


@api.route(
    "POST",
    "/ratings/by-token",
    summary="Rate through the signed e-mail link (no sign-in; once)",
    auth=None,
    body=TokenRatingIn,
    response=RatingOut,
    status=201,
    tags=["ratings"],
    errors=(400, 404, 409, 410, 422),
)
async def rate_by_token(request: web.Request, body: TokenRatingIn) -> web.Response:
    c = await ratings.rate_by_token(
        request.app[SERVICES], body.token, score=body.score, comment=body.comment, complaint=body.complaint
    )
    viewer = {"_id": c["user_id"], "role": "user"}
    return json_response(
        {"rating": ratings.public_rating(c.get("rating")), "consultation": public_consultation(c, viewer)}, status=201
    )
