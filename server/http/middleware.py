"""Edge middleware: domain errors to JSON + 4xx, unknown errors to a logged 500, security headers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.domain.errors import DomainError
from server.http.api import json_response

log = logging.getLogger("server.http")
access_log = logging.getLogger("server.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map DomainError to its status; aiohttp's own 4xx to the JSON shape; anything else to a logged 500."""
    started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
    try:
        resp = await handler(request)
    except DomainError as exc:
        body = {"error": exc.to_dict()}
        resp = json_response(body, status=exc.status)
        if exc.status == 429:
            resp.headers["Retry-After"] = "900"
    except web.HTTPRequestEntityTooLarge:
        resp = json_response(error_body("body_too_large", "request body too large"), status=413)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith(("/api/", "/healthz")):
            code = _HTTP_CODES.get(exc.status, "http_error")
            resp = json_response(error_body(code, exc.reason or code), status=exc.status)
        else:
            raise
    except Exception:
        log.exception("unhandled error on %s %s (request %s)", request.method, request.path, request_id)
        resp = json_response(error_body("internal_error", f"internal error (request {request_id})"), status=500)
    resp.headers.setdefault("X-Request-Id", request_id)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    access_log.info(
        "%s %s %s %.1fms", request.method, request.path, resp.status, (time.perf_counter() - started) * 1000
    )
    return resp
