"""Knowledge base over HTTP: search before asking, articles, misses for supervisors, drafts from consultations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from server.domain import kb
from server.domain.errors import BadRequest
from server.http.api import Api, json_response
from server.http.auth import current_user, me
from server.http.ratelimit import client_address, rate_limits
from server.http.schemas import In, Out
from server.keys import SERVICES

api = Api()


class LinkModel(In):
    title: str | None = Field(default=None, max_length=200)
    url: str = Field(max_length=2000)


class ArticleIn(In):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=50_000)
    topic: Literal["data", "metadata", "classification", "other"] = "other"
    tags: list[str] = Field(default_factory=list, max_length=30)
    scope: str = Field(default="national", pattern=r"^(national|[0-9]{4})$")
    links: list[LinkModel] = Field(default_factory=list, max_length=20)
    status: Literal["published", "draft"] = "draft"


class ArticlePatch(In):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=50_000)
    topic: Literal["data", "metadata", "classification", "other"] | None = None
    tags: list[str] | None = Field(default=None, max_length=30)
    scope: str | None = Field(default=None, pattern=r"^(national|[0-9]{4})$")
    links: list[LinkModel] | None = Field(default=None, max_length=20)
    status: Literal["published", "draft", "archived"] | None = None


class ResultModel(Out):
    id: str
    title: str
    snippet: str = Field(description="HTML-escaped text; matched words wrapped in <mark>")
    score: float


class SearchOut(Out):
    results: list[ResultModel]
    total: int = Field(default=0, description="how many articles match in all (results holds one page)")
    offset: int = 0


class ArticleOut(Out):
    id: str
    slug: str | None
    title: str
    topic: str | None
    tags: list[str]
    scope: str
    links: list[dict[str, Any]]
    status: str | None
    updated_at: str | None
    body: str | None = None
    html: str | None = Field(default=None, description="sanitised HTML rendered from the Markdown body")
    author_name: str | None = None
    source_consultation: str | None = Field(default=None, description="the consultation a draft was made from")


class ArticlesOut(Out):
    articles: list[ArticleOut]


class MissOut(Out):
    query: str
    count: int
    last_at: str | None


class MissesOut(Out):
    misses: list[MissOut]


@api.route(
    "GET",
    "/kb/search",
    summary="Search the knowledge base (best first)",
    auth=None,
    response=SearchOut,
    tags=["knowledge base"],
    errors=(422, 429),
    query={
        "q": {"type": "string", "maxLength": 500, "required": True},
        "office": {"type": "string"},
        "limit": {"type": "integer", "maximum": 20},
        "offset": {"type": "integer", "minimum": 0, "maximum": kb.SEARCH_OFFSET_MAX},
        "live": {"type": "string", "enum": ["1"], "description": "suggestions while typing: not logged as misses"},
    },
)
async def search(request: web.Request) -> web.Response:
    rate_limits(request).hit("kb_search", client_address(request))
    q = request.query.get("q", "")
    office = request.query.get("office") or None
    try:
        limit = int(request.query.get("limit", "10"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        raise BadRequest("invalid_limit", "limit and offset must be integers") from None
    user = await current_user(request)
    # live=1: suggestions while typing are not recorded as misses.
    live = request.query.get("live") == "1"
    results, total = await kb.search_page(
        request.app[SERVICES], user, q, office=office, limit=limit, offset=offset, record=not live
    )
    return json_response({"results": results, "total": total, "offset": max(0, offset)})


@api.route(
    "GET",
    "/kb/articles",
    summary="Articles (published for everyone; staff also see drafts)",
    auth=None,
    response=ArticlesOut,
    tags=["knowledge base"],
    query={"status": {"type": "string", "enum": ["published", "draft", "archived"]}, "office": {"type": "string"}},
)
async def list_articles(request: web.Request) -> web.Response:
    user = await current_user(request)
    items = await kb.list_articles(
        request.app[SERVICES], user, status=request.query.get("status"), office=request.query.get("office") or None
    )
    return json_response({"articles": [kb.public_article(a, with_body=False) for a in items]})


@api.route(
    "GET",
    "/kb/articles/{id}",
    summary="One article with its sanitised HTML",
    auth=None,
    response=ArticleOut,
    tags=["knowledge base"],
    errors=(404,),
)
async def get_article(request: web.Request) -> web.Response:
    user = await current_user(request)
    a = await kb.get_article(request.app[SERVICES], user, request.match_info["id"])
    return json_response(kb.public_article(a))


@api.route(
    "POST",
    "/kb/articles",
    summary="Write an article (staff)",
    auth="staff",
    body=ArticleIn,
    response=ArticleOut,
    status=201,
    tags=["knowledge base"],
    errors=(422,),
)
async def create_article(request: web.Request, body: ArticleIn) -> web.Response:
    a = await kb.create_article(request.app[SERVICES], me(request), body.model_dump())
    return json_response(kb.public_article(a), status=201)


@api.route(
    "PATCH",
    "/kb/articles/{id}",
    summary="Edit, publish or archive an article (staff)",
    auth="staff",
    body=ArticlePatch,
    response=ArticleOut,
    tags=["knowledge base"],
    errors=(404, 422),
)
async def update_article(request: web.Request, body: ArticlePatch) -> web.Response:
    a = await kb.update_article(
        request.app[SERVICES], me(request), request.match_info["id"], body.model_dump(exclude_none=True)
    )
    return json_response(kb.public_article(a))


@api.route(
    "GET",
    "/kb/misses",
    summary="Searches that found nothing, most frequent first (supervisors)",
    auth="supervisor",
    response=MissesOut,
    tags=["knowledge base"],
    query={"office": {"type": "string"}, "from": {"type": "string", "format": "date"}},
)
async def misses(request: web.Request) -> web.Response:
    since = None
    if request.query.get("from"):
        try:
            since = datetime.fromisoformat(request.query["from"]).replace(tzinfo=UTC)
        except ValueError:
            raise BadRequest("invalid_from", "from must be a date (YYYY-MM-DD)") from None
    items = await kb.misses(request.app[SERVICES], me(request), office=request.query.get("office"), since=since)
    return json_response({"misses": items})


@api.route(
    "POST",
    "/consultations/{id}/kb-draft",
    summary="Turn a closed consultation into a draft article",
    auth="staff",
    response=ArticleOut,
    status=201,
    other_statuses=(200,),  # the consultation's draft existed already
    tags=["knowledge base"],
    errors=(404, 409),
)
async def draft(request: web.Request) -> web.Response:
    a, created = await kb.draft_from_consultation(request.app[SERVICES], me(request), request.match_info["id"])
    return json_response(kb.public_article(a), status=201 if created else 200)
