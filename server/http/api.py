"""A thin route registry: one declaration gives the handler, its validation, its auth and its OpenAPI entry."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.domain.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from server.domain.inputs import validation_failed

log = logging.getLogger(__name__)

JSON_LIMIT_BYTES = 256 * 1024

Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: str | None  # None: anyone; "user": any signed-in person; "staff"; "supervisor"; "admin"
    body: type[BaseModel] | None = None
    response: type[BaseModel] | dict[str, Any] | None = None
    status: int = 200
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    content_type: str = "application/json"
    request_content: dict[str, Any] | None = None  # non-JSON request bodies (uploads)
    errors: tuple[int, ...] = ()
    # Other media types the success answer may come as (?format=csv, a transcript as text, a file's own type).
    other_content_types: tuple[str, ...] = ()
    # Other success statuses with the same answer (200 for a draft that existed, 201 when it was made).
    other_statuses: tuple[int, ...] = ()


class Api:
    """Collects routes; mounts them on an aiohttp app and describes them as OpenAPI."""

    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        auth: str | None = "user",
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | dict[str, Any] | None = None,
        status: int = 200,
        query: dict[str, dict[str, Any]] | None = None,
        tags: list[str] | None = None,
        content_type: str = "application/json",
        request_content: dict[str, Any] | None = None,
        errors: tuple[int, ...] = (),
        other_content_types: tuple[str, ...] = (),
        other_statuses: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.routes.append(
                Route(
                    method,
                    path,
                    fn,
                    summary,
                    auth,
                    body,
                    response,
                    status,
                    query or {},
                    tags or [],
                    content_type,
                    request_content,
                    errors,
                    other_content_types,
                    other_statuses,
                )
            )
            return fn

        return deco

    def mount(self, app: web.Application, wrap: Callable[[Route], Handler]) -> None:
        for r in self.routes:
            app.router.add_route(r.method, self.prefix + r.path, wrap(r))


async def read_json(request: web.Request, limit: int = JSON_LIMIT_BYTES) -> Any:
    """The request body as JSON: 413 when too large, 400 when not JSON."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge("body_too_large", f"request body over {limit} bytes")
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge("body_too_large", f"request body over {limit} bytes")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("malformed_json", "the request body is not valid JSON") from None


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise BadRequest("malformed_json", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def require_role(user: dict[str, Any] | None, auth: str | None) -> None:
    """Check the caller against a route's `auth` level."""
    if auth is None:
        return
    if user is None:
        raise Unauthorized("unauthenticated", "sign in first")
    role = user.get("role")
    allowed = {
        "user": {"user", "officer", "supervisor", "admin"},
        "staff": {"officer", "supervisor", "admin"},
        "supervisor": {"supervisor", "admin"},
        "admin": {"admin"},
    }[auth]
    if role not in allowed:
        raise Forbidden("forbidden", "your role may not do this")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))
