"""Serving the pages in web/ and the front-end packages installed from npm into web/node_modules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from server.http.kb_page import article_page
from server.settings import Settings

log = logging.getLogger(__name__)

# Only these files of node_modules are served: the browser builds we use, nothing else.
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "socket.io.min.js.map": "socket.io-client/dist/socket.io.min.js.map",
    "qrcode.mjs": "qrcode-generator/dist/qrcode.mjs",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "chart.umd.min.js.map": "chart.js/dist/chart.umd.min.js.map",
}

PAGES = {
    "/": "index.html",
    "/app": "app.html",
    "/app/": "app.html",
    "/console": "console.html",
    "/console/": "console.html",
    "/verify": "verify.html",
    "/reset": "reset.html",
    "/rate": "rate.html",
    "/kiosk": "kiosk.html",
    "/board": "board.html",
    "/ticket": "ticket.html",
    "/guestbook-qr": "guestpass.html",
    "/survey": "survey.html",
    "/complaints/new": "complaint.html",
    "/privacy": "privacy.html",
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def setup_static(app: web.Application, settings: Settings) -> None:
    root = settings.web_dir
    static = root / "static"
    modules = root / "node_modules"

    def page(file: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(_: web.Request) -> web.StreamResponse:
            path = static / file
            if not path.exists():
                raise web.HTTPNotFound()
            resp = web.FileResponse(path)
            resp.headers["Content-Security-Policy"] = CSP
            resp.headers["Cache-Control"] = "no-cache"
            return resp

        return handler

    for route, file in PAGES.items():
        app.router.add_get(route, page(file))
    # A knowledge-base article's own page, written on the server (shareable, indexable).
    app.router.add_get("/kb/{id}", article_page)

    async def vendor(request: web.Request) -> web.StreamResponse:
        rel = VENDOR_FILES.get(request.match_info["name"])
        if rel is None:
            raise web.HTTPNotFound()
        path = modules / rel
        if not path.exists():
            log.error("front-end package missing: %s (run `make install`, which runs npm ci in web/)", path)
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get("/vendor/{name}", vendor)

    async def revalidate(request: web.Request, response: web.StreamResponse) -> None:
        # The pages load ES modules by fixed names: make browsers revalidate (a cheap 304) so a
        # deploy never mixes old and new modules.
        if request.path.startswith(("/static/", "/vendor/")) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-cache"

    app.on_response_prepare.append(revalidate)
    if static.exists():
        app.router.add_static("/static/", static, show_index=False, append_version=False)
    else:
        log.warning("web pages not found at %s", Path(static))
