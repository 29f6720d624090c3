"""Knowledge-base search: relevance on labelled questions, index maintenance, snippets, safe Markdown."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from server.domain.errors import ValidationFailed
from server.search.engine import MAX_QUERY_CHARS, SearchIndex, normalize_query
from server.search.markdown import markdown_to_text, render_markdown
from server.search.text import Analyzer, TypoIndex, fold, surface_words

ROOT = Path(__file__).resolve().parents[2]
ARTICLES_PATH = ROOT / "mongo-init" / "kb_articles.json"
OFFICES_PATH = ROOT / "mongo-init" / "offices.json"
LABELLED_PATH = Path(__file__).resolve().parent / "kb_labelled.json"
ALLOWED_LINK_PREFIXES = (
    "https://www.bps.go.id",
    "https://sirusa.bps.go.id",
    "https://silastik.bps.go.id",
    "https://pst.bps.go.id",
)

Doc = dict[str, Any]


def _seed_articles() -> list[Doc]:
    articles: list[Doc] = json.loads(ARTICLES_PATH.read_text(encoding="utf-8"))["articles"]
    # As the seeder would store them: each with an id (the slug is unique, so it serves here).
    return [{**a, "id": a["slug"]} for a in articles]


def _offices() -> list[Doc]:
    offices: list[Doc] = json.loads(OFFICES_PATH.read_text(encoding="utf-8"))["offices"]
    return offices


def _article(slug: str, title: str, body: str, **extra: Any) -> Doc:
    doc: Doc = {
        "id": slug,
        "slug": slug,
        "title": title,
        "body": body,
        "topic": "data",
        "tags": [],
        "scope": "national",
        "links": [],
        "status": "published",
    }
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def seed_index() -> SearchIndex:
    index = SearchIndex()
    index.build(_seed_articles())
    return index


def _slugs(index: SearchIndex, query: str, office: str | None = None, limit: int = 10) -> list[str]:
    return [hit.slug for hit in index.search(query, office=office, limit=limit)]


# ----- relevance on the labelled questions ---------------------------------------------------------


def test_recall_at_3_on_labelled_questions(seed_index: SearchIndex) -> None:
    questions = json.loads(LABELLED_PATH.read_text(encoding="utf-8"))["questions"]
    misses: list[str] = []
    for item in questions:
        top = _slugs(seed_index, item["q"], office=item.get("office"), limit=3)
        if not set(top) & set(item["slugs"]):
            misses.append(f"{item['q']!r}: wanted {item['slugs']}, got {top}")
    recall = 1 - len(misses) / len(questions)
    print(f"\nrecall@3 = {recall:.3f} over {len(questions)} labelled questions")
    for miss in misses:
        print("  miss:", miss)
    assert recall >= 0.9, f"recall@3 {recall:.3f} < 0.9; misses: {misses}"


def test_labelled_set_is_big_enough_and_points_at_real_articles() -> None:
    questions = json.loads(LABELLED_PATH.read_text(encoding="utf-8"))["questions"]
    slugs = {a["slug"] for a in _seed_articles()}
    assert len(questions) >= 45
    for item in questions:
        assert item["slugs"], item
        assert set(item["slugs"]) <= slugs, item


# ----- the seed articles -----------------------------------------------------------------------------


def test_seed_articles_are_complete_and_within_length() -> None:
    articles = _seed_articles()
    assert len(articles) >= 60
    assert len({a["slug"] for a in articles}) == len(articles)
    office_codes = {o["code"] for o in _offices()}
    for a in articles:
        words = len(re.findall(r"\w+", markdown_to_text(a["body"])))
        assert 80 <= words <= 300, (a["slug"], words)
        assert a["topic"] in {"data", "metadata", "classification", "other"}, a["slug"]
        assert a["scope"] == "national" or a["scope"] in office_codes, a["slug"]
        assert a["status"] == "published"
        assert a["tags"] and all(isinstance(t, str) and t for t in a["tags"])
        for link in a["links"]:
            assert link["title"] and link["url"].startswith(ALLOWED_LINK_PREFIXES), (a["slug"], link)
        # Links in the body obey the same rule as the links list.
        for url in re.findall(r"\]\(([^)]+)\)", a["body"]):
            assert url.startswith(ALLOWED_LINK_PREFIXES), (a["slug"], url)


def test_every_office_has_an_article_whose_contacts_come_from_offices_json() -> None:
    by_scope: dict[str, list[Doc]] = {}
    for a in _seed_articles():
        by_scope.setdefault(a["scope"], []).append(a)
    phone_re = re.compile(r"\b0[0-9][0-9-]{7,}[0-9]\b")
    email_re = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
    for office in _offices():
        articles = by_scope.get(office["code"], [])
        assert len(articles) == 1, office["code"]
        body = articles[0]["body"]
        contacts = office["contacts"]
        known_numbers = set(contacts["whatsapp"]) | set(contacts["phone"]) | {contacts["complaint_whatsapp"]}
        known_emails = set(contacts["email"]) | {contacts["complaint_email"]}
        assert office["address"] in body
        for number in phone_re.findall(body):
            assert number in known_numbers, (office["code"], number)
        for email in email_re.findall(body):
            assert email in known_emails, (office["code"], email)
        for number in contacts["whatsapp"] + contacts["phone"]:
            assert number in body, (office["code"], number)
    # National articles name no office's phone number or e-mail address.
    for a in by_scope["national"]:
        assert not email_re.search(a["body"]), a["slug"]
        assert not phone_re.search(a["body"]), a["slug"]


# ----- text analysis -----------------------------------------------------------------------------------


def test_stemming_conflates_indonesian_affixes_and_keeps_acronyms() -> None:
    analyzer = Analyzer()
    assert set(analyzer.terms("menghitung dihitung perhitungan penghitungan")) == {"hitung"}
    assert set(analyzer.terms("pengangguran penganggur menganggur")) == {"anggur"}
    assert analyzer.terms("KBLI metadata SUSENAS Sakernas PDRB") == [
        "kbli",
        "metadata",
        "susenas",
        "sakernas",
        "pdrb",
    ]


def test_normalisation_folds_accents_numbers_codes_and_chat_spelling() -> None:
    assert fold("Pénduduk ÍPM") == "penduduk ipm"
    assert surface_words("2.100 kilokalori") == ["2100", "kilokalori"]
    assert surface_words("SP2020") == ["sp2020", "sp", "2020"]
    assert surface_words("inflasi m-to-m dan y-on-y") == ["inflasi", "mtm", "yoy"]
    assert surface_words("rata2 anak-anak") == ["rata", "anak"]
    assert surface_words("gimana cara dapet data yg bener?") == ["cara", "dapat", "data", "bener"]
    assert surface_words("apa itu?") == []


def test_typo_index_finds_within_one_or_two_edits_and_forgets_removed_words() -> None:
    typos = TypoIndex()
    for word in ("inflasi", "pengangguran", "miskin", "deflasi"):
        typos.add(word)
    typos.add("inflasi")
    assert typos.correct("inflsi") == ("inflasi", 1)
    assert typos.correct("infalsi") == ("inflasi", 1)
    assert typos.correct("pengangguaran") == ("pengangguran", 1)
    assert typos.correct("pnganguran") == ("pengangguran", 2)
    assert typos.correct("miskn") == ("miskin", 1)
    assert typos.correct("ipm") is None
    assert typos.correct("xyzxyzxyz") is None
    typos.discard("miskin")
    assert typos.correct("miskn") is None


# ----- search behaviour --------------------------------------------------------------------------------


def test_synonym_hdi_finds_the_ipm_article(seed_index: SearchIndex) -> None:
    assert _slugs(seed_index, "HDI", limit=3)[0] == "ipm-pengertian"


def test_synonym_matches_rank_below_the_typed_word() -> None:
    index = SearchIndex()
    index.build(
        [
            _article("ipm", "Indeks Pembangunan Manusia", "Capaian pembangunan manusia per kabupaten setiap tahun."),
            _article("hdi", "Catatan istilah", "Istilah HDI dipakai dalam laporan internasional setiap tahun."),
            _article("lain", "Harga beras", "Harga beras di pasar tradisional setiap minggu."),
        ]
    )
    assert _slugs(index, "HDI") == ["hdi", "ipm"]
    assert _slugs(index, "indeks pembangunan manusia")[0] == "ipm"


def test_typo_inflsi_finds_inflation_articles(seed_index: SearchIndex) -> None:
    top = _slugs(seed_index, "inflsi", limit=3)
    assert top and all(s.startswith(("inflasi", "ihk")) for s in top), top
    assert _slugs(seed_index, "tingkat pengangguaran", limit=1) == ["tpt-pengangguran-terbuka"]
    assert "kemiskinan-konsep" in _slugs(seed_index, "penduduk miskn", limit=3)


def test_correct_words_are_not_corrected(seed_index: SearchIndex) -> None:
    terms = seed_index.query_terms("deflasi")
    assert terms["deflasi"] == 1.0
    assert "inflasi" not in terms


def test_office_scope_returns_national_and_own_office_only(seed_index: SearchIndex) -> None:
    office_slugs = {"kantor-bps-bombana", "kantor-bps-kolaka-timur", "kantor-bps-boalemo"}
    scoped = seed_index.search("kontak alamat kantor bps", office="7406", limit=50)
    assert {h.scope for h in scoped} <= {"national", "7406"}
    assert "kantor-bps-bombana" in {h.slug for h in scoped}
    assert not {h.slug for h in scoped} & (office_slugs - {"kantor-bps-bombana"})
    everything = {h.slug for h in seed_index.search("kontak alamat kantor bps", limit=50)}
    assert office_slugs <= everything
    # Another office's article does not leak even when asked for by name.
    assert "kantor-bps-boalemo" not in _slugs(seed_index, "alamat bps boalemo", office="7406")


def test_drafts_are_not_searchable_until_published() -> None:
    index = SearchIndex()
    draft = _article("baru", "Statistik kelapa sawit", "Produksi kelapa sawit perkebunan rakyat.", status="draft")
    index.build([draft, _article("lain", "Harga beras", "Harga beras di pasar.")])
    assert _slugs(index, "sawit") == []
    index.upsert({**draft, "status": "published"})
    assert _slugs(index, "sawit") == ["baru"]
    index.upsert(draft)
    assert _slugs(index, "sawit") == []
    assert len(index) == 1


def test_upsert_and_remove_keep_the_index_identical_to_a_fresh_build() -> None:
    articles = _seed_articles()
    incremental = SearchIndex()
    incremental.build(articles)
    edited = {
        **articles[0],
        "title": "Inflasi dan harga beras",
        "body": articles[0]["body"] + "\nHarga beras naik.",
    }
    incremental.upsert(edited)
    assert incremental.remove(articles[1]["id"]) is True
    assert incremental.remove(articles[1]["id"]) is False
    extra = _article("kelapa-sawit", "Statistik kelapa sawit", "Produksi kelapa sawit perkebunan rakyat per provinsi.")
    incremental.upsert(extra)

    final = [edited, *articles[2:], extra]
    fresh = SearchIndex()
    fresh.build(final)
    assert incremental.stats() == fresh.stats()
    for query in (
        "inflasi harga beras",
        "kelapa sawit",
        "ihk",
        "pdrb kabupaten",
        "garis kemiskinan",
        "inflsi",
    ):
        got = [(h.slug, h.score) for h in incremental.search(query)]
        want = [(h.slug, h.score) for h in fresh.search(query)]
        assert got == want, query
    assert articles[1]["slug"] not in _slugs(incremental, articles[1]["title"], limit=50)


def test_accepts_mongo_object_ids() -> None:
    oid = ObjectId()
    index = SearchIndex()
    index.build([{**_article("x", "Statistik kelapa sawit", "Produksi kelapa sawit."), "_id": oid}])
    hits = index.search("sawit")
    assert [h.id for h in hits] == [str(oid)]
    assert index.remove(str(oid)) is True
    assert index.search("sawit") == []


def test_snippet_escapes_html_and_marks_the_match() -> None:
    body = (
        "Paragraf pembuka tentang hal lain yang panjang sekali sehingga tidak muat di cuplikan " * 4
        + "\n\n<script>alert(1)</script> Angka inflasi & harga <b>beras</b> diumumkan setiap bulan."
    )
    index = SearchIndex()
    index.build([_article("a", "Judul", body)])
    (hit,) = index.search("inflasi beras")
    assert "<mark>inflasi</mark>" in hit.snippet
    assert "<mark>beras</mark>" in hit.snippet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet
    # Nothing but <mark> survives as markup.
    assert re.sub(r"</?mark>", "", hit.snippet).count("<") == 0
    assert hit.snippet.startswith("…")
    visible = re.sub(r"</?mark>", "", hit.snippet)
    assert len(visible.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) <= 160 + 2


def test_snippet_marks_inflected_forms_and_starts_at_the_body_when_only_the_title_matches() -> None:
    index = SearchIndex()
    index.build([_article("a", "Pengangguran", "Penganggur adalah penduduk yang mencari pekerjaan.")])
    (hit,) = index.search("pengangguran")
    assert hit.snippet.startswith("<mark>Penganggur</mark> adalah")
    index.build([_article("b", "Sawit", "Produksi perkebunan rakyat.")])
    (hit,) = index.search("sawit")
    assert hit.snippet == "Produksi perkebunan rakyat."


def test_snippet_prefers_the_window_with_the_most_distinct_query_words() -> None:
    body = "Inflasi disebut di sini. " + "Kalimat pengisi tanpa kata yang dicari sama sekali. " * 6
    body += "Di bagian ini inflasi dan harga beras dibahas bersama."
    index = SearchIndex()
    index.build([_article("a", "Judul", body)])
    (hit,) = index.search("inflasi beras")
    assert "ini <mark>inflasi</mark> dan" in hit.snippet and "<mark>beras</mark>" in hit.snippet
    assert json.loads(json.dumps(hit.to_dict()))["snippet"] == hit.snippet


def test_query_validation() -> None:
    with pytest.raises(ValidationFailed) as info:
        normalize_query("a" * (MAX_QUERY_CHARS + 1))
    assert info.value.code == "query_too_long"
    assert normalize_query("  inflasi \n  bulanan ") == "inflasi bulanan"
    assert normalize_query("a" * MAX_QUERY_CHARS) == "a" * MAX_QUERY_CHARS
    index = SearchIndex()
    index.build([_article("a", "Inflasi", "Inflasi bulanan.")])
    with pytest.raises(ValidationFailed):
        index.search("inflasi " * 100)


@pytest.mark.parametrize("query", ["", "   ", "!!!", "?? ... --", "apa itu?", "<>&"])
def test_empty_or_punctuation_only_queries_return_nothing(seed_index: SearchIndex, query: str) -> None:
    assert seed_index.search(query) == []


def test_limit_and_empty_index() -> None:
    assert SearchIndex().search("inflasi") == []
    index = SearchIndex()
    index.build(_seed_articles())
    assert len(index.search("data", limit=5)) == 5
    assert index.search("data", limit=0) == []


# ----- Markdown ----------------------------------------------------------------------------------------


class _ElementCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def _elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The real elements of an HTML fragment, as a browser would see them (escaped text is not one)."""
    collector = _ElementCollector()
    collector.feed(html)
    collector.close()
    return collector.elements


@pytest.mark.parametrize(
    "md",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "<img src=x onerror=alert(1)>",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/png;base64,AAAA)",
        '<a href="javascript:alert(1)" onclick="x()">z</a>',
        "<iframe src=https://evil.example></iframe><style>*{}</style>",
        "[x](//evil.example/path)",
    ],
)
def test_render_markdown_neutralises_active_content(md: str) -> None:
    elements = _elements(render_markdown(md))
    assert not {tag for tag, _ in elements} & {"script", "iframe", "style", "object", "embed"}
    for tag, attrs in elements:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert (value or "").startswith(("https://", "http://", "mailto:")), (tag, name, value)


def test_render_markdown_keeps_safe_links_and_formatting() -> None:
    out = render_markdown("## Judul\n\n**tebal** [BPS](https://www.bps.go.id) [surel](mailto:a@bps.go.id)\n\n- satu")
    assert "<h2>Judul</h2>" in out and "<strong>tebal</strong>" in out and "<li>satu</li>" in out
    assert '<a href="https://www.bps.go.id" rel="noopener noreferrer nofollow">BPS</a>' in out
    assert 'href="mailto:a@bps.go.id"' in out


def test_markdown_to_text_strips_markup_and_urls() -> None:
    text = markdown_to_text(
        "# Judul\n\nTeks **tebal** dan [tautan](https://www.bps.go.id).\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert text == "Judul\nTeks tebal dan tautan.\na b\n1 2"
