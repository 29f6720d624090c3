"""A knowledge-base article's own page, /kb/<id>: written on the server so a shared link and a search
engine get the article itself (title, description, body), not an empty shell waiting for a script.

The body is the article's Markdown rendered to allow-listed HTML (server.search.markdown), the same
HTML the API gives the pages; everything else is escaped here. Only published articles have a page.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from markupsafe import Markup, escape

from server.domain import kb
from server.domain.errors import NotFound
from server.keys import SERVICES
from server.search.markdown import render_markdown

DESCRIPTION_CHARS = 160
# Article pages also show the images an article links (https only, as the Markdown renderer allows).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_MARKUP = re.compile(r"[#*_`>\[\]()!|-]+")


def _description(body: str) -> str:
    """The start of the article as plain text, for the page's description."""
    text = " ".join(_MARKUP.sub(" ", body).split())
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _page(request: web.Request, a: dict[str, Any]) -> str:
    title = escape(str(a["title"]))
    body = Markup(render_markdown(str(a.get("body") or "")))  # noqa: S704 - allow-listed HTML (nh3)
    links = [
        f'<li><a href="{escape(str(link.get("url")))}" rel="noopener noreferrer" target="_blank">'
        f"{escape(str(link.get('title') or link.get('url')))}</a></li>"
        for link in a.get("links") or []
        if isinstance(link, dict) and str(link.get("url", "")).startswith(("https://", "http://"))
    ]
    related = (
        f'<section class="kb-links"><h2 data-i18n="kb.links">Tautan terkait</h2><ul>{"".join(links)}</ul></section>'
        if links
        else ""
    )
    canonical = escape(f"{request.app[SERVICES].settings.base_url}/kb/{a['_id']}")
    return f"""<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — PST Konsultasi</title>
<meta name="description" content="{escape(_description(str(a.get("body") or "")))}">
<link rel="canonical" href="{canonical}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/css/pst.css">
<script type="module" src="/static/js/kb_page.js"></script>
</head>
<body class="simple">
<a class="skip" href="#main" data-i18n="skip">Lewati ke isi</a>
<header class="topbar">
  <a class="brand" href="/"><img src="/static/img/favicon.svg" alt="" width="28" height="28">
    <span data-i18n="app.name">PST Konsultasi</span></a>
  <button id="lang-switch" type="button" class="btn ghost small lang">English</button>
</header>
<main id="main" tabindex="-1">
  <article class="panel narrow kb-page" data-id="{escape(str(a["_id"]))}">
    <p><a class="back-link" href="/#kb-form">← <span data-i18n="kb.page.back">Cari artikel lain</span></a></p>
    <h1>{title}</h1>
    <div class="kb-body">{body}</div>
    {related}
    <aside class="notice kb-page-ask">
      <p data-i18n="kb.page.ask">Belum terjawab? Tanyakan langsung kepada petugas PST.</p>
      <p><a class="btn primary" href="/app/#/new" data-i18n="home.cta">Mulai konsultasi</a></p>
    </aside>
  </article>
</main>
</body>
</html>
"""


async def article_page(request: web.Request) -> web.Response:
    """GET /kb/{id}: a published article as its own page (404 otherwise)."""
    try:
        a = await kb.get_article(request.app[SERVICES], None, request.match_info["id"])
    except NotFound:
        raise web.HTTPNotFound(text="Artikel tidak ditemukan / Article not found") from None
    return web.Response(
        text=_page(request, a),
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )
