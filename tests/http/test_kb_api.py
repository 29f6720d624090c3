"""The knowledge base through the running app: search, articles, misses, drafts, cross-process refresh."""

from __future__ import annotations

from typing import Any

from server.domain import kb
from server.services import Services
from tests.conftest import Api


async def test_search_finds_seeded_articles_with_marked_snippets(anon: Api) -> None:
    body = await anon.get("/kb/search?q=inflasi%20bulanan")
    assert body["results"], body
    top = body["results"][0]
    assert {"id", "title", "snippet", "score"} <= set(top)
    assert "<mark>" in "".join(r["snippet"] for r in body["results"])
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    typo = await anon.get("/kb/search?q=inflsi")
    assert any("nflasi" in r["title"] for r in typo["results"][:3]), typo
    article = await anon.get(f"/kb/articles/{top['id']}")
    assert article["html"] and "<script" not in article["html"]


async def test_bad_queries_are_safe(anon: Api) -> None:
    assert (await anon.get("/kb/search?q="))["results"] == []
    assert (await anon.get("/kb/search?q=%21%21%3F%3F..."))["results"] == []
    status, body = await anon.call("GET", "/kb/search?q=" + "a" * 501)
    assert status == 422 and body["error"]["code"] == "query_too_long"
    assert (await anon.call("GET", "/kb/articles/not-an-id"))[0] == 404


async def test_staff_article_is_searchable_at_once_and_sanitised(make_staff: Any, anon: Api) -> None:
    sup = await make_staff("supervisor", "7406")
    body = (
        "Data **produksi rumput laut** Bombana tersedia di publikasi daerah.\n\n"
        "<script>alert(1)</script> [klik](javascript:alert(1)) <img src=x onerror=alert(2)>"
    )
    created = await sup.post(
        "/kb/articles",
        {
            "title": "Produksi rumput laut Bombana",
            "body": body,
            "topic": "data",
            "scope": "7406",
            "status": "published",
        },
        expect=201,
    )
    html = created["html"]
    # Shown as text, never as markup: no script element, no javascript: link, no live img.
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    hits = await anon.get("/kb/search?q=rumput%20laut&office=7406")
    assert hits["results"] and hits["results"][0]["id"] == created["id"]
    # Another office's users do not get a Bombana-only article.
    assert all(r["id"] != created["id"] for r in (await anon.get("/kb/search?q=rumput%20laut&office=1600"))["results"])
    # Archive it: gone from search.
    await sup.call("PATCH", f"/kb/articles/{created['id']}", {"status": "archived"}, expect=200)
    assert all(r["id"] != created["id"] for r in (await anon.get("/kb/search?q=rumput%20laut"))["results"])
    # A user cannot write articles; an officer cannot write national ones.
    officer = await make_staff("officer", "7406")
    status, _ = await officer.call("POST", "/kb/articles", {"title": "X", "body": "y", "scope": "national"})
    assert status == 403


async def test_other_processes_see_changes_after_refresh(make_staff: Any, services: Services) -> None:
    # A second process: same database, its own index.
    other = Services(settings=services.settings, db=services.db, clock=services.clock)
    await kb.start_index(other)
    try:
        sup = await make_staff("supervisor", "1600")
        created = await sup.post(
            "/kb/articles",
            {
                "title": "Jadwal rilis berita resmi statistik Sumsel",
                "body": "Berita resmi statistik dirilis awal bulan.",
                "scope": "1600",
                "status": "published",
            },
            expect=201,
        )
        assert not [h for h in kb.index_of(other).index.search("jadwal rilis") if h.id == created["id"]]
        assert await kb.refresh(other) >= 1
        assert [h for h in kb.index_of(other).index.search("jadwal rilis") if h.id == created["id"]]
    finally:
        await kb.stop_index(other)


async def test_misses_are_shown_to_supervisors(make_staff: Any, make_user: Any, anon: Api) -> None:
    await anon.get("/kb/search?q=qwzx%20vbnmk&office=7501")
    await anon.get("/kb/search?q=qwzx%20vbnmk&office=7501")
    sup = await make_staff("supervisor", "7501")
    misses = (await sup.get("/kb/misses"))["misses"]
    assert misses and misses[0]["count"] == 2 and "vbnmk" in misses[0]["query"]
    officer = await make_staff("officer", "7501")
    assert (await officer.call("GET", "/kb/misses"))[0] == 403


async def test_closed_consultation_becomes_a_draft_article(make_user: Any, make_staff: Any) -> None:
    user = await make_user()
    officer = await make_staff("officer", "7411")
    c = await user.post(
        "/consultations",
        {
            "office": "7411",
            "topic": "classification",
            "subject": "KBLI kopi bubuk",
            "text": "Kode KBLI untuk kopi bubuk?",
        },
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(
        f"/consultations/{c['id']}/messages", {"text": "Gunakan KBLI 10761.", "client_id": "a"}, expect=201
    )
    assert (await officer.call("POST", f"/consultations/{c['id']}/kb-draft"))[0] == 409
    await officer.post(f"/consultations/{c['id']}/close", {"summary": "Dijawab"}, expect=200)
    draft = await officer.post(f"/consultations/{c['id']}/kb-draft", expect=201)
    assert draft["status"] == "draft" and draft["scope"] == "7411"
    assert "Kode KBLI untuk kopi bubuk?" in draft["body"] and "Gunakan KBLI 10761." in draft["body"]


async def test_live_suggestions_are_not_misses_but_unanswered_consultations_are(
    make_user: Any, make_staff: Any, anon: Api
) -> None:
    await anon.get("/kb/search?q=qwzx%20vbnmk&office=7406&live=1")
    await anon.get("/kb/search?q=%3F%3F%21&office=7406")  # punctuation only: not a question
    sup = await make_staff("supervisor", "7406")
    assert (await sup.get("/kb/misses"))["misses"] == []
    user = await make_user()
    await user.post("/consultations", {"office": "7406", "topic": "other", "subject": "qwzx vbnmk",
                                       "text": "Saya cari qwzx vbnmk", "kb_query": "qwzx vbnmk"}, expect=201)
    # A search across all offices (no office) is not this office's miss (issue 17); national admins see it.
    await anon.get("/kb/search?q=zzyzx%20plokk")
    misses = {m["query"]: m["count"] for m in (await sup.get("/kb/misses"))["misses"]}
    assert misses == {"qwzx vbnmk": 1}


async def test_draft_button_twice_gives_the_same_draft(make_user: Any, make_staff: Any) -> None:
    user = await make_user()
    officer = await make_staff("officer", "7406")
    c = await user.post("/consultations", {"office": "7406", "topic": "data", "subject": "Data ekspor rumput laut",
                                           "text": "Ada data ekspor?"}, expect=201)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/close", {}, expect=200)
    first = await officer.post(f"/consultations/{c['id']}/kb-draft", expect=201)
    second = await officer.post(f"/consultations/{c['id']}/kb-draft", expect=200)
    assert first["id"] == second["id"] and second["source_consultation"] == c["id"]
