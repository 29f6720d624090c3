"""Edge middleware: domain errors to JSON + 4xx, a database that does not answer to 503, unknown errors to a
logged 500, security headers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.domain.errors import DomainError
from server.http.api import json_response
from server.keys import SETTINGS
from server.storage.db import refusal, request_deadline

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

# Seconds a client should wait before trying again while the database is not answering.
UNAVAILABLE_RETRY_AFTER_SECS = 5


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map DomainError to its status; aiohttp's own 4xx to the JSON shape; anything else to a logged 500."""
    started = time.perf_counter()
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
    try:
        if request.path.startswith(("/api/", "/healthz")):
            # A deadline for the request's database work. Not around /socket.io: a connection lives
            # for hours, and the tasks it starts would inherit the deadline.
            with request_deadline(request.app[SETTINGS].pst_db_timeout_secs):
                resp = await handler(request)
        else:
            resp = await handler(request)
    except DomainError as exc:
        resp = _domain_error(exc)
    except web.HTTPRequestEntityTooLarge:
        resp = json_response(error_body("body_too_large", "request body too large"), status=413)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith(("/api/", "/healthz")):
            code = _HTTP_CODES.get(exc.status, "http_error")
            resp = json_response(error_body(code, exc.reason or code), status=exc.status)
            if "Allow" in exc.headers:  # a 405 says which methods the path takes (RFC 9110)
                resp.headers["Allow"] = exc.headers["Allow"]
        else:
            raise
    except Exception as exc:
        refused = refusal(exc)
        if refused is not None:
            if refused.code != "busy":  # busy refusals come by the hundred past saturation: counted, not logged
                log.warning(
                    "database unavailable on %s %s (request %s): %r", request.method, request.path, request_id, exc
                )
            resp = _domain_error(refused)
        else:
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


def _domain_error(exc: DomainError) -> web.Response:
    resp = json_response({"error": exc.to_dict()}, status=exc.status)
    if exc.status == 429:
        resp.headers["Retry-After"] = str(exc.details.get("retry_after_secs", 60))
    elif exc.status == 503:
        resp.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECS)
    return resp
