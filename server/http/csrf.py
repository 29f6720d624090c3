"""CSRF defence for cookie-authenticated writes: a JSON body and an allowed origin.

SameSite=Lax keeps the session cookie off cross-site POSTs in current browsers, but not off
same-site ones (a sibling subdomain) nor in older browsers, and a `text/plain` or form body needs no
CORS preflight. So a write that carries the session cookie and no bearer token must (1) send its
body as JSON (or what its route declares, e.g. multipart for uploads), which another site cannot do
without a preflight we never grant, and (2) come from an allowed origin: PUBLIC_BASE_URL's, the
request's own host, or PST_ALLOWED_ORIGINS, judged by `Origin`, or by `Sec-Fetch-Site` when a browser
sends no `Origin`. A write without a body needs no content type.
Bearer-token requests are exempt: a browser never adds the token on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

from server.domain.errors import Forbidden, UnsupportedMedia
from server.http.api import Api
from server.http.auth import COOKIE_NAME
from server.settings import Settings, origin_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPES = ("application/json",)
# Sec-Fetch-Site values of a request the page made itself, or the user made (typed, bookmarked).
SAME_ORIGIN_SITES = frozenset({"same-origin", "none"})
# Machine-to-machine endpoints authenticated by their own signature, never by the session cookie:
# Meta's WhatsApp webhook (X-Hub-Signature-256 over the raw body, server/http/routes_channels.py).
EXEMPT_PATHS = frozenset({"/api/v1/channels/whatsapp/webhook"})


def _is_json(content_type: str) -> bool:
    return content_type in JSON_TYPES or (content_type.startswith("application/") and content_type.endswith("+json"))


def _cookie_authenticated(request: web.Request) -> bool:
    """The session cookie is what would authenticate this request (no bearer token sent)."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    return COOKIE_NAME in request.cookies


def _own_origins(host: str) -> set[str]:
    """The origins this very server answers as: its Host header, over http and https (a proxy may end TLS)."""
    found = set()
    for scheme in ("http", "https"):
        try:
            found.add(origin_of(f"{scheme}://{host}"))
        except ValueError:
            pass
    return found


def origin_allowed(origin: str, host: str, allowed: frozenset[str]) -> bool:
    """An `Origin` header is ours: one of `allowed` (Settings.allowed_origins) or the request's own `host`.
    Used for cookie-authenticated writes here and for Socket.IO connections (server/realtime/sio.py)."""
    try:
        return origin_of(origin) in allowed or origin_of(origin) in _own_origins(host)
    except ValueError:
        return False  # "null" (a sandboxed page, a redirect chain) or garbage


def make_csrf_middleware(settings: Settings, apis: Iterable[Api]) -> Middleware:
    """The middleware for `create_app`: `apis` tell which routes take a non-JSON body (uploads)."""
    allowed = settings.allowed_origins
    # "POST /api/v1/consultations/{id}/attachments" -> {"multipart/form-data"}
    other_bodies: dict[tuple[str, str], frozenset[str]] = {
        (r.method, api.prefix + r.path): frozenset(r.request_content)
        for api in apis
        for r in api.routes
        if r.request_content
    }

    @web.middleware
    async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.method in SAFE_METHODS
            or not request.path.startswith("/api/")
            or request.path in EXEMPT_PATHS
            or not _cookie_authenticated(request)
        ):
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None:
            if not origin_allowed(origin, request.host, allowed):
                raise Forbidden(
                    "cross_site_request", "this request came from another site / permintaan dari situs lain"
                )
        elif request.headers.get("Sec-Fetch-Site", "none") not in SAME_ORIGIN_SITES:
            raise Forbidden("cross_site_request", "this request came from another site / permintaan dari situs lain")
        if request.body_exists:
            ctype = request.content_type
            resource = request.match_info.route.resource
            extra = other_bodies.get((request.method, resource.canonical), frozenset()) if resource else frozenset()
            if not _is_json(ctype) and ctype not in extra:
                raise UnsupportedMedia(
                    "unsupported_media_type",
                    "send the body as application/json / kirim isi permintaan sebagai application/json",
                )
        return await handler(request)

    return csrf_middleware
