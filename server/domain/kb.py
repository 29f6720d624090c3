"""The knowledge base: articles in MongoDB, searched through an in-memory index kept in every process.

Every write stamps the article with a new `rev` from a counter; each process polls for articles with
a higher `rev` than it has seen (an indexed range query), so an edit made in one process reaches the
search index of every other within KB_REFRESH_SECS. Deletion is a status change, so it travels the
same way. (Change streams would need a replica set; polling works on any MongoDB.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from datetime import datetime
from importlib import resources
from typing import Any

from bson import ObjectId

from server.domain import access, messages
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import TOPICS, is_staff, iso, object_id
from server.search.live import KbIndex
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

KB_REFRESH_SECS = 3.0
STATUSES = ("published", "draft", "archived")
TITLE_MAX = 200
BODY_MAX = 50_000
MISS_MIN_CHARS = 3
# How far "more results" may page (ten at a time).
SEARCH_OFFSET_MAX = 200
_SLUG_RE = re.compile(r"[^a-z0-9]+")


async def _next_rev(svc: Services) -> int:
    doc = await svc.db.counters.find_one_and_update(
        {"_id": "kb_rev"}, {"$inc": {"n": 1}}, upsert=True, return_document=True
    )
    assert doc is not None  # upsert with return_document=AFTER always returns the document
    return int(doc["n"])


async def refresh(svc: Services) -> int:
    """Apply every article changed since this process last looked; returns how many."""
    kb = svc.kb_index
    if kb is None:
        return 0
    n = 0
    async for article in svc.db.kb_articles.find({"rev": {"$gt": kb.rev}}).sort("rev", 1).limit(1000):
        kb.apply(article)
        n += 1
    return n


async def _refresher(svc: Services) -> None:
    while True:
        await asyncio.sleep(KB_REFRESH_SECS)
        try:
            await refresh(svc)
        except Exception:  # noqa: BLE001 - keep serving the index we have
            log.warning("knowledge-base refresh failed", exc_info=True)


async def start_index(svc: Services) -> None:
    """Seed articles on first start, build the index from MongoDB, keep it fresh."""
    await seed_articles(svc)
    kb = KbIndex()
    svc.kb_index = kb
    articles = [a async for a in svc.db.kb_articles.find({})]
    kb.index.build([a for a in articles if a.get("status") == "published"])
    kb.rev = max((int(a.get("rev", 0)) for a in articles), default=0)
    kb.task = asyncio.create_task(_refresher(svc), name="kb-refresh")
    log.info("knowledge-base index built: %d articles", len(kb.index))


async def stop_index(svc: Services) -> None:
    kb, svc.kb_index = svc.kb_index, None
    if kb is not None and kb.task is not None:
        kb.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await kb.task


def index_of(svc: Services) -> KbIndex | None:
    """The search index of this process, if it keeps one (web processes do)."""
    return svc.kb_index


async def seed_articles(svc: Services) -> int:
    """Insert the articles shipped in mongo-init/kb_articles.json that are not there yet (by slug)."""
    try:
        text = resources.files("mongo_init").joinpath("kb_articles.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    data = json.loads(text)
    items = data["articles"] if isinstance(data, dict) else data
    present = {a["slug"] async for a in svc.db.kb_articles.find({}, {"slug": 1})}
    missing = [item for item in items if item["slug"] not in present]
    if not missing:
        return 0
    # One counter bump reserves a block of revisions for the whole batch.
    counter = await svc.db.counters.find_one_and_update(
        {"_id": "kb_rev"}, {"$inc": {"n": len(missing)}}, upsert=True, return_document=True
    )
    assert counter is not None  # upsert with return_document=AFTER always returns the document
    first_rev = int(counter["n"]) - len(missing) + 1
    now = svc.now()
    docs = []
    for i, item in enumerate(missing):
        doc = {
            **_clean_article(item, partial=False),
            "slug": item["slug"],
            "author_id": None,
            "author_name": item.get("author_name") or "Tim PST BPS",
            "created_at": now,
            "updated_at": now,
            "rev": first_rev + i,
        }
        doc.setdefault("status", "published")
        docs.append(doc)
    try:
        await svc.db.kb_articles.insert_many(docs, ordered=False)
    except Exception as exc:  # noqa: BLE001 - another process seeded some of them first
        if not is_duplicate_key(exc):
            raise
    log.info("seeded %d knowledge-base articles", len(docs))
    return len(docs)


def _slugify(title: str) -> str:
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return _SLUG_RE.sub("-", ascii_title).strip("-")[:80] or "artikel"


def _clean_article(data: Doc, *, partial: bool) -> Doc:
    out: Doc = {}
    if "title" in data or not partial:
        out["title"] = messages.clean_text(data.get("title"), field="title", max_chars=TITLE_MAX)
    if "body" in data or not partial:
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            raise ValidationFailed("invalid_body", "body is required", field="body")
        if len(body) > BODY_MAX:
            raise ValidationFailed("invalid_body", f"body is over {BODY_MAX} characters", field="body")
        out["body"] = body.replace("\x00", "")
    if "topic" in data or not partial:
        topic = data.get("topic", "other")
        if topic not in TOPICS:
            raise ValidationFailed("invalid_topic", f"topic must be one of {', '.join(TOPICS)}", field="topic")
        out["topic"] = topic
    if "tags" in data or not partial:
        tags = data.get("tags") or []
        if not isinstance(tags, list) or len(tags) > 30 or not all(isinstance(t, str) and len(t) <= 60 for t in tags):
            raise ValidationFailed("invalid_tags", "tags: at most 30 strings", field="tags")
        out["tags"] = [t.strip() for t in tags if t.strip()]
    if "scope" in data or not partial:
        scope = data.get("scope") or "national"
        if scope != "national" and not re.fullmatch(r"[0-9]{4}", str(scope)):
            raise ValidationFailed("invalid_scope", "scope is 'national' or an office code", field="scope")
        out["scope"] = scope
    if "links" in data or not partial:
        links = data.get("links") or []
        if not isinstance(links, list) or len(links) > 20:
            raise ValidationFailed("invalid_links", "links: at most 20", field="links")
        clean = []
        for link in links:
            url = str((link or {}).get("url", "")) if isinstance(link, dict) else ""
            if not re.match(r"^https?://[^\s]+$", url) or len(url) > 2000:
                raise ValidationFailed("invalid_links", "each link needs an http(s) url", field="links")
            clean.append({"title": str(link.get("title") or url)[:200], "url": url})
        out["links"] = clean
    if "status" in data:
        if data["status"] not in STATUSES:
            raise ValidationFailed("invalid_status", "status must be published, draft or archived", field="status")
        out["status"] = data["status"]
    return out


def public_article(a: Doc, *, with_body: bool = True) -> Doc:
    from server.search.markdown import render_markdown

    out: Doc = {
        "id": str(a["_id"]),
        "slug": a.get("slug"),
        "title": a["title"],
        "topic": a.get("topic"),
        "tags": a.get("tags", []),
        "scope": a.get("scope", "national"),
        "links": a.get("links", []),
        "status": a.get("status"),
        "author_name": a.get("author_name"),
        "updated_at": iso(a.get("updated_at")),
        "source_consultation": (str(a["source_consultation"]) if a.get("source_consultation") else None),
    }
    if with_body:
        out["body"] = a["body"]
        out["html"] = render_markdown(a["body"])
    return out


def _check_scope(user: Doc, scope: str) -> None:
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only")
    if scope == "national":
        if user.get("role") != "admin" and user.get("role") != "supervisor" and user.get("office") is not None:
            # Officers write for their office; national articles are for supervisors and admins.
            raise Forbidden("forbidden", "only supervisors and admins edit national articles")
    elif user.get("office") not in (None, scope):
        raise Forbidden("forbidden", "not your office")


async def create_article(svc: Services, user: Doc, data: Doc) -> Doc:
    article = _clean_article(data, partial=False)
    article.setdefault("status", "draft")
    _check_scope(user, article["scope"])
    now = svc.now()
    base = _slugify(article["title"])
    doc: Doc = {
        **article,
        "author_id": user["_id"],
        "author_name": user["name"],
        "created_at": now,
        "updated_at": now,
        "rev": await _next_rev(svc),
    }
    for attempt in range(20):
        doc["slug"] = base if attempt == 0 else f"{base}-{attempt + 1}"
        try:
            res = await svc.db.kb_articles.insert_one(doc)
            break
        except Exception as exc:
            if not is_duplicate_key(exc):
                raise
            doc.pop("_id", None)
    else:
        raise Conflict("slug_taken", "an article with this title exists")
    doc["_id"] = res.inserted_id
    await _apply_local(svc, doc)
    return doc


async def _apply_local(svc: Services, doc: Doc) -> None:
    kb = index_of(svc)
    if kb is not None:
        # This process sees its own write at once; the others within KB_REFRESH_SECS.
        await refresh(svc)


def _oid(article_id: str) -> ObjectId:
    return object_id(article_id, message="article not found / artikel tidak ditemukan")


async def get_article(svc: Services, user: Doc | None, article_id: str) -> Doc:
    a = await svc.db.kb_articles.find_one({"_id": _oid(article_id)})
    if a is None or (a.get("status") != "published" and not is_staff(user)):
        raise NotFound("not_found", "article not found / artikel tidak ditemukan")
    return a


async def update_article(svc: Services, user: Doc, article_id: str, data: Doc) -> Doc:
    a = await get_article(svc, user, article_id)
    _check_scope(user, a.get("scope", "national"))
    changes = _clean_article(data, partial=True)
    if "scope" in changes:
        _check_scope(user, changes["scope"])
    changes.update({"updated_at": svc.now(), "rev": await _next_rev(svc), "editor_name": user["name"]})
    updated = await update_and_get(svc.db.kb_articles, {"_id": a["_id"]}, {"$set": changes})
    assert updated is not None
    await _apply_local(svc, updated)
    return updated


async def list_articles(
    svc: Services, user: Doc | None, *, status: str | None = None, office: str | None = None, limit: int = 200
) -> list[Doc]:
    query: Doc = {}
    if is_staff(user):
        query["status"] = status if status in STATUSES else {"$ne": "archived"}
    else:
        query["status"] = "published"
    if office:
        query["scope"] = {"$in": ["national", office]}
    cursor = svc.db.kb_articles.find(query, {"body": 0}).sort("updated_at", -1).limit(max(1, min(limit, 500)))
    return [a async for a in cursor]


async def search(
    svc: Services, user: Doc | None, q: str, office: str | None = None, limit: int = 10, *, record: bool = True
) -> list[Doc]:
    """Ranked results; a query that finds nothing is remembered for the supervisors.

    `record=False` for live suggestions while typing: half-typed words are not misses. What the
    user finally asked about is recorded when they open a consultation (record_unanswered).
    """
    results, _ = await search_page(svc, user, q, office, limit, record=record)
    return results


async def search_page(
    svc: Services,
    user: Doc | None,
    q: str,
    office: str | None = None,
    limit: int = 10,
    offset: int = 0,
    *,
    record: bool = True,
) -> tuple[list[Doc], int]:
    """The results ranked offset+1 .. offset+limit and how many articles match in all (search's rules)."""
    from server.search.engine import normalize_query

    query = normalize_query(q)  # raises query_too_long
    kb = index_of(svc)
    if kb is None or not query:
        return [], 0
    hits, total = kb.index.search_page(
        query, office=office, limit=max(1, min(limit, 20)), offset=max(0, min(offset, SEARCH_OFFSET_MAX))
    )
    if not total and record:
        await _record_miss(svc, user, query, office, source="search")
    return [
        {
            "id": h.id,
            "slug": h.slug,
            "title": h.title,
            "snippet": h.snippet,
            "score": round(h.score, 4),
            "topic": h.topic,
            "scope": h.scope,
        }
        for h in hits
    ], total


async def _record_miss(svc: Services, user: Doc | None, query: str, office: str | None, *, source: str) -> None:
    # Punctuation and stray letters are not questions anyone can write an article for.
    if len(query) < MISS_MIN_CHARS or not re.search(r"\w{3,}", query):
        return
    await svc.db.kb_queries.insert_one(
        {
            "q": query[:500],
            "office": office,
            "found": False,
            "source": source,
            "at": svc.now(),
            "user_id": user["_id"] if user else None,
        }
    )


async def record_unanswered(svc: Services, user: Doc, kb_query: str | None, office: str) -> None:
    """A user opened a consultation after searching: if that search finds nothing, it is a miss."""
    from server.search.engine import normalize_query

    if not kb_query:
        return
    try:
        query = normalize_query(kb_query)
    except ValidationFailed:
        return
    kb = index_of(svc)
    if kb is None or not query or kb.index.search(query, office=office, limit=1):
        return
    await _record_miss(svc, user, query, office, source="consultation")


async def misses(
    svc: Services, user: Doc, *, office: str | None, since: datetime | None, limit: int = 100
) -> list[Doc]:
    """The queries that found nothing, most frequent first (supervisors)."""
    if user.get("role") not in ("supervisor", "admin"):
        raise Forbidden("forbidden", "supervisors only")
    match: Doc = {"found": False}
    scope = user.get("office") or office
    if scope:
        # The office's own misses only: a search across all offices (the home page's default) is not
        # this office's; national admins see those (no office).
        match["office"] = scope
    if since:
        match["at"] = {"$gte": since}
    pipeline: list[Doc] = [
        {"$match": match},
        {"$group": {"_id": {"$toLower": "$q"}, "count": {"$sum": 1}, "last_at": {"$max": "$at"}}},
        {"$sort": {"count": -1, "last_at": -1}},
        {"$limit": max(1, min(limit, 500))},
    ]
    cursor = await svc.db.kb_queries.aggregate(pipeline)
    return [{"query": d["_id"], "count": d["count"], "last_at": iso(d["last_at"])} async for d in cursor]


async def draft_from_consultation(svc: Services, user: Doc, consultation_id: str) -> tuple[Doc, bool]:
    """Turn a closed consultation's question and answers into a draft article (one click): (article, created).

    A second click returns the draft made the first time instead of a copy.
    """
    c = await access.load_for(svc, user, consultation_id)
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only")
    if c["status"] != "closed":
        raise Conflict("not_closed", "close the consultation first")
    existing = await svc.db.kb_articles.find_one({"source_consultation": c["_id"], "status": {"$ne": "archived"}})
    if existing is not None:
        return existing, False
    msgs = [
        m
        async for m in svc.db.messages.find({"consultation_id": c["_id"], "kind": {"$in": ["text", "meeting"]}}).sort(
            "seq", 1
        )
    ]
    question = [m["text"] for m in msgs if m.get("author_role") == "user"]
    answers = [m["text"] for m in msgs if m.get("author_role") in ("officer", "supervisor", "admin")]
    body = "## Pertanyaan\n\n" + "\n\n".join(question or [c.get("subject", "")])
    body += "\n\n## Jawaban\n\n" + "\n\n".join(answers or ["(belum ada jawaban)"])
    if c.get("summary"):
        body += f"\n\n## Ringkasan\n\n{c['summary']}"
    data = {
        "title": c.get("subject") or "Konsultasi",
        "body": body[:BODY_MAX],
        "topic": c.get("topic") or "other",
        "tags": [],
        "scope": c["office"],
        "links": [],
        "status": "draft",
    }
    doc = await create_article(svc, {**user, "role": user["role"]}, data)
    await svc.db.kb_articles.update_one({"_id": doc["_id"]}, {"$set": {"source_consultation": c["_id"]}})
    doc["source_consultation"] = c["_id"]
    return doc, True
