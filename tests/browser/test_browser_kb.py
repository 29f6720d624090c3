"""The knowledge base in real headless Chromium: writing and publishing in the officer console, finding
it on the home page and in the portal, hostile Markdown shown inert, bad search input, the searches
that found nothing, and a draft article made from a closed consultation in one click."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser import (
    PHONE,
    assert_no_console_errors,
    no_horizontal_overflow,
    page_for,
    shot,
    sign_in_as,
)
from tests.conftest import Api

pytestmark = pytest.mark.browser

# Every way an article could try to run something; none of it may.
HOSTILE_MD = """# Uji keamanan artikel

Paragraf biasa tentang data zirkonia.

<script>window.__pwned=1</script>

[klik](javascript:window.__pwned=2)

<img src=x onerror="window.__pwned=3">

<a href="javascript:window.__pwned=4">tautan jahat</a>

![gambar](javascript:window.__pwned=5)

[aman](https://bps.go.id)
"""


async def _signed_in(make_context: Any, who: Api, path: str, **ctx_kw: Any) -> Page:
    ctx = await make_context(**ctx_kw)
    await sign_in_as(ctx, who)
    page = await page_for(ctx)
    await page.goto(path)
    await expect(page.locator("#nav .who")).to_be_attached()
    return page


async def _kb_console(make_context: Any, staff: Api, hash_: str = "#kb", **ctx_kw: Any) -> Page:
    page = await _signed_in(make_context, staff, f"/console/{hash_}", **ctx_kw)
    await expect(page.locator("#kb-view")).to_be_visible()
    await expect(page.locator("#kb-list .kb-item").first).to_be_attached()
    return page


async def _assert_inert(page: Page, root: Locator) -> None:
    """Nothing in `root` can run script: no <script>, no handlers, no javascript: links; nothing ran."""
    await expect(root).to_contain_text("<script>window.__pwned=1</script>")  # shown as text
    for text in ("klik", "tautan jahat"):
        target = root.get_by_text(text).first
        if await target.count():
            await target.click()
    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert await page.evaluate("document.querySelectorAll('body script').length") == 0
    assert await page.evaluate("document.querySelectorAll('[onerror], [onclick], [onload]').length") == 0
    assert await root.locator("img, iframe, object, embed").count() == 0
    hrefs = await page.locator("a[href]").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith(("javascript:", "data:", "vbscript:"))], hrefs
    safe = root.get_by_role("link", name="aman")
    await expect(safe).to_have_attribute("href", "https://bps.go.id/")
    await expect(safe).to_have_attribute("target", "_blank")
    await expect(safe).to_have_attribute("rel", re.compile("noopener"))


async def test_supervisor_publishes_people_find_it_and_misses_reach_the_supervisor(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    sup = await make_staff("supervisor", "7406", name="Sri Supervisor")
    user = await make_user(name="Sari Warga")
    ps = await _kb_console(new_context, sup)
    await expect(ps.locator("#view-kb")).to_have_attribute("aria-current", "page")
    await ps.locator("#kb-new").click()
    form = ps.locator("#kb-editor")
    await form.get_by_label("Judul", exact=True).fill("Cara mengunduh data Sakernas zirkonia")
    await form.get_by_label("Topik").select_option("data")
    await form.get_by_label("Cakupan").select_option("national")
    await form.get_by_label("Tag").fill("sakernas, ketenagakerjaan")
    await form.get_by_label("Isi (Markdown)").fill(
        "## Langkah\n\n1. Buka **website BPS**.\n2. Pilih tabel *ketenagakerjaan*.\n\n"
        "Data zirkonia tersedia per tahun.")
    await form.get_by_role("button", name="Tambah tautan").click()
    await form.get_by_label("Judul tautan").fill("Tabel ketenagakerjaan")
    await form.get_by_label("Alamat (https://…)").fill("https://www.bps.go.id/id/statistics-table")
    await form.get_by_label("Status").select_option("published")
    await form.get_by_role("button", name="Simpan").click()
    await expect(form.locator(".form-status")).to_contain_text("terbit")
    preview = ps.locator("#kb-preview")
    await expect(preview.locator("h2")).to_have_text("Langkah")
    await expect(preview.locator("strong")).to_have_text("website BPS")
    await expect(preview.get_by_role("link", name="Tabel ketenagakerjaan")).to_have_attribute(
        "href", "https://www.bps.go.id/id/statistics-table")
    item = ps.locator("#kb-list .kb-item").filter(has_text="Sakernas zirkonia")
    await expect(item).to_contain_text("Terbit")
    assert re.search(r"#kb/[0-9a-f]{24}$", ps.url)
    # The list filters by text and by status.
    await ps.locator("#kb-text-filter").fill("zirkonia")
    await expect(ps.locator("#kb-list .kb-item")).to_have_count(1)
    await ps.locator("#kb-status-filter").select_option("draft")
    await expect(ps.locator("#kb-list .kb-item").filter(has_text="Sakernas zirkonia")).to_have_count(0)
    await ps.locator("#kb-status-filter").select_option("published")
    await expect(item).to_be_visible()
    await shot(ps, "kb-editor-desktop")

    # Anyone finds it on the home page ...
    home = await page_for(await new_context())
    await home.goto("/")
    await home.locator("#kb-q").fill("sakernas zirkonia")
    await home.locator("#kb-q").press("Enter")
    title = home.locator("#kb-out .kb-title").filter(has_text="Sakernas zirkonia")
    await expect(title).to_be_visible()
    await title.click()
    article = home.locator("dialog .kb-article")
    await expect(article.locator("h2")).to_have_text("Langkah")
    await expect(article.get_by_role("link", name="Tabel ketenagakerjaan")).to_be_visible()
    await shot(home, "kb-home-article")
    await home.locator("dialog .dialog-x").click()
    # ... and a user sees it suggested while writing a new consultation.
    pu = await _signed_in(new_context, user, "/app/#/new?office=7406")
    await pu.locator("#new-form").get_by_label("Perihal").fill("unduh data sakernas")
    await expect(pu.locator(".kb-suggest .kb-title").filter(has_text="Sakernas zirkonia")).to_be_visible()

    # A search in Bombana that finds nothing reaches Bombana's supervisor ...
    await home.locator("#kb-office").select_option("7406")
    await home.locator("#kb-q").fill("qwzx vbnmk")
    await home.locator("#kb-q").press("Enter")
    await expect(home.locator("#kb-out")).to_contain_text("Tidak ada artikel yang cocok")
    await ps.goto("/console/#kb/misses")
    miss = ps.locator("#kb-misses .kb-miss").filter(has_text="qwzx vbnmk")
    await expect(miss).to_contain_text("1 kali")
    await expect(miss).to_contain_text("WITA")  # Bombana's time zone
    await shot(ps, "kb-misses-desktop")
    # ... who writes the missing article from it.
    await miss.get_by_role("button", name=re.compile("Tulis artikel")).click()
    await expect(ps.locator("#kb-editor").get_by_label("Judul", exact=True)).to_have_value("qwzx vbnmk")
    await expect(ps.locator("#kb-editor").get_by_label("Status")).to_have_value("draft")
    # In English, what was typed stays.
    await ps.locator("#kb-editor").get_by_label("Isi (Markdown)").fill("Belum ada artikel untuk ini.")
    await ps.locator("#lang-switch").click()
    editor = ps.locator("#kb-editor")
    await expect(ps.locator("#view-kb")).to_have_text("Knowledge base")
    await expect(editor.get_by_label("Title", exact=True)).to_have_value("qwzx vbnmk")
    await expect(editor.get_by_label("Text (Markdown)")).to_have_value("Belum ada artikel untuk ini.")
    await expect(ps.locator("#kb-tab-misses")).to_have_attribute("aria-current", "page")
    await shot(ps, "kb-editor-new-en")
    # Leaving with unsaved changes asks first (in the page's own dialog, never a native one).
    await ps.locator("#kb-tab-articles").click()
    await ps.locator("dialog").get_by_role("button", name="Cancel").click()
    await expect(editor.get_by_label("Text (Markdown)")).to_have_value("Belum ada artikel untuk ini.")
    await ps.locator("#kb-tab-articles").click()
    await ps.locator("dialog").get_by_role("button", name="Discard changes").click()
    await expect(ps.locator("#kb-editor")).to_have_count(0)
    await expect(ps.locator("#kb-tab-articles")).to_have_attribute("aria-current", "page")
    # The same on a phone: no sideways scrolling.
    await ps.set_viewport_size(PHONE)
    await ps.locator("#kb-tab-misses").click()
    await expect(ps.locator("#kb-misses .kb-miss")).to_have_count(1)
    sw, iw = await no_horizontal_overflow(ps)
    assert sw <= iw, (sw, iw)
    await shot(ps, "kb-phone-misses")
    assert_no_console_errors(ps, home, pu)


async def test_hostile_markdown_is_shown_inert_in_console_preview_and_on_home(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    sup = await make_staff("supervisor", "7406")
    ps = await _kb_console(new_context, sup, "#kb/new")
    form = ps.locator("#kb-editor")
    await form.get_by_label("Judul", exact=True).fill("Uji keamanan zirkonia")
    await form.get_by_label("Cakupan").select_option("national")
    await form.get_by_label("Isi (Markdown)").fill(HOSTILE_MD)
    # A link that is not http(s): the server refuses it and the page says so plainly.
    await form.get_by_role("button", name="Tambah tautan").click()
    await form.get_by_label("Judul tautan").fill("jahat")
    await form.get_by_label("Alamat (https://…)").fill("javascript:alert(1)")
    await form.get_by_role("button", name="Pratinjau").click()
    status = form.locator(".form-status")
    await expect(status).to_contain_text("https://")
    await expect(status).to_have_attribute("data-kind", "error")
    await expect(form.get_by_label("Alamat (https://…)")).to_have_attribute("aria-invalid", "true")
    await expect(ps.locator("#kb-preview")).to_contain_text("Belum disimpan")
    await form.get_by_role("button", name="Hapus tautan").click()
    # Preview saves (as a draft) and shows the server's sanitised HTML.
    await form.get_by_role("button", name="Pratinjau").click()
    await expect(status).to_have_text("Tersimpan.")
    preview = ps.locator("#kb-preview")
    await expect(preview.locator(".kb-body h1")).to_have_text("Uji keamanan artikel")
    await _assert_inert(ps, preview)
    await shot(ps, "kb-preview-hostile")
    # Published, it is just as inert where the public reads it.
    await form.get_by_label("Status").select_option("published")
    await form.get_by_role("button", name="Simpan").click()
    await expect(status).to_contain_text("terbit")
    home = await page_for(await new_context())
    await home.goto("/")
    await home.locator("#kb-q").fill("uji keamanan zirkonia")
    await home.locator("#kb-q").press("Enter")
    await home.locator("#kb-out .kb-title").filter(has_text="Uji keamanan zirkonia").click()
    article = home.locator("dialog .kb-article")
    await expect(article.locator(".kb-body h1")).to_have_text("Uji keamanan artikel")
    await _assert_inert(home, article)
    assert_no_console_errors(ps, home)


async def test_empty_long_and_punctuation_queries_on_home(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
) -> None:
    page = await page_for(await new_context())
    await page.goto("/")
    await expect(page.locator("#kb-office option")).not_to_have_count(1)
    box, out = page.locator("#kb-q"), page.locator("#kb-out")
    # Empty: nothing is searched; the page says what to do.
    await box.fill("")
    await box.press("Enter")
    await expect(out).to_contain_text("Tuliskan kata kunci")
    await expect(out.locator(".kb-result")).to_have_count(0)
    await expect(out.locator(".error")).to_have_count(0)
    # Punctuation only: a plain "nothing found".
    await box.fill("?!.,;:'\"()[]{}<>")
    await box.press("Enter")
    await expect(out).to_contain_text("Tidak ada artikel yang cocok")
    await expect(out.locator(".kb-result")).to_have_count(0)
    # 501 characters: the box takes at most its maxlength; forced past it, the server's refusal is explained.
    await box.fill("a" * 501)
    assert len(await box.input_value()) <= 500
    await box.press("Enter")
    await expect(out.locator(".kb-result, p").first).to_be_visible()
    await box.evaluate("(el) => { el.removeAttribute('maxlength'); el.value = 'inflasi '.repeat(63).slice(0, 501) }")
    assert len(await box.input_value()) == 501
    await box.press("Enter")
    await expect(out.locator(".notice")).to_contain_text("terlalu panjang")
    await shot(page, "kb-home-too-long")
    assert_no_console_errors(page)


async def test_officer_turns_closed_consultation_into_draft_on_a_phone(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    subject = "Definisi pengangguran terbuka"
    c = await user.post("/consultations", {"office": "7406", "topic": "metadata", "subject": subject,
                                           "text": "Apa definisi tingkat pengangguran terbuka?"}, expect=201)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/messages", {"text": "TPT adalah persentase pengangguran "
                                                              "terhadap angkatan kerja.", "client_id": "a-1"},
                       expect=201)
    po = await _signed_in(new_context, officer, "/console/", viewport=PHONE, device_scale_factor=2)
    await po.locator(f".m-item[data-id='{c['id']}'] button").click()
    pane = po.locator(f".pane[data-id='{c['id']}']")
    await expect(pane.locator(".room-log")).to_contain_text("angkatan kerja")
    await pane.locator(".room-more > summary").click()  # a phone's room keeps its actions in one menu (issue 17)
    await pane.get_by_role("button", name="Tutup", exact=True).click()
    await po.locator("dialog").get_by_label("Terjawab").check()  # the outcome the close asks for (issue 17)
    await po.locator("dialog").get_by_role("button", name="Tutup konsultasi").click()
    draft = pane.get_by_role("button", name="Jadikan draf artikel")
    await expect(draft).to_be_visible()
    await shot(po, "kb-phone-closed-room")
    await draft.click()
    form = po.locator("#kb-editor")
    await expect(form.get_by_label("Judul", exact=True)).to_have_value(subject)
    await expect(form.get_by_label("Isi (Markdown)")).to_have_value(re.compile(r"## Pertanyaan[\s\S]*angkatan kerja"))
    await expect(form.get_by_label("Status")).to_have_value("draft")
    await expect(form.get_by_label("Cakupan")).to_have_value("7406")
    await expect(form.get_by_label("Topik")).to_have_value("metadata")
    await expect(po.locator("#kb-preview h2").first).to_have_text("Pertanyaan")
    sw, iw = await no_horizontal_overflow(po)
    assert sw <= iw, (sw, iw)
    await shot(po, "kb-phone-draft-editor")
    await po.locator(".kb-main").evaluate("el => { el.scrollTop = el.scrollHeight }")
    await shot(po, "kb-phone-draft-preview")
    # Back to the list: the draft is there; an officer cannot pick national scope.
    await po.get_by_role("button", name="← Daftar artikel").click()
    await expect(po.locator("#kb-list .kb-item").filter(has_text=subject)).to_contain_text("Draf")
    sw, iw = await no_horizontal_overflow(po)
    assert sw <= iw, (sw, iw)
    await shot(po, "kb-phone-list")
    await po.locator("#kb-new").click()
    await expect(po.locator("#kb-editor").get_by_label("Cakupan").locator("option")).to_have_count(1)
    # A national article is read-only for an officer, said plainly.
    await po.get_by_role("button", name="← Daftar artikel").click()
    await po.locator("#kb-list .kb-item").filter(has_text="Nasional").first.click()
    await expect(po.locator("#kb-editor .notice")).to_contain_text("hanya dapat membaca")
    await expect(po.locator("#kb-editor").get_by_label("Judul", exact=True)).to_be_disabled()
    await expect(po.locator("#kb-editor").get_by_role("button", name="Simpan")).to_have_count(0)
    await expect(po.locator("#kb-preview .kb-body")).not_to_be_empty()
    # The consultations tab brings the rooms back.
    await po.locator("#view-rooms").click()
    await expect(po.locator("#kb-view")).to_be_hidden()
    await expect(pane.locator(".room-footer")).to_contain_text("sudah ditutup")
    drafts = (await officer.get("/kb/articles?status=draft"))["articles"]
    assert [a for a in drafts if a.get("source_consultation") == c["id"]]
    assert_no_console_errors(po)
