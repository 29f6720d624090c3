"""The officer console's rooms as issue 17 found them, in headless Chromium at 1366 and 360 px:
the meeting dialog offers what is configured, every view follows consultation:updated, notes
return to replies, and the rest of the room's tools."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import (
    assert_no_console_errors,
    page_for,
    shot,
    sign_in_as,
    wait_true,
)
from tests.browser.rooms import (
    LAPTOP,
    PHONE,
    clarify_button,
    console,
    open_consultation,
    open_room,
    pane,
    portal,
    room_action,
    send,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_meeting_dialog_offers_only_configured_providers_jitsi_first_without_zoom(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    # The test server has no Zoom credentials; Jitsi (meet.jit.si by default) and a pasted link work.
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data kemiskinan")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    assert (await officer.get("/meetings/providers")) == {"providers": ["jitsi", "link"], "default": "jitsi"}
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    await room_action(room, "Buat pertemuan daring")
    dlg = po.locator("dialog")
    provider = dlg.locator("select[name=provider]")
    await expect(provider).to_have_value("jitsi")
    assert await provider.locator("option").all_inner_texts() == ["Jitsi Meet", "Tautan lain (tempel)"]
    # An officer is not told about the server's settings.
    await expect(dlg.locator(".admin-hint")).to_have_count(0)
    assert "ZOOM" not in await dlg.inner_text()
    await dlg.get_by_role("button", name="Buat pertemuan").click()
    await expect(po.locator(".toast")).to_contain_text("Pertemuan dibuat")
    await expect(room.locator(".room-log .msg-body.meeting")).to_contain_text("Jitsi Meet")
    # A raw request for Zoom is refused with a code the page words itself.
    err = await officer.call("POST", f"/consultations/{c['id']}/meeting", {"provider": "zoom"}, expect=503)
    assert err[1]["error"]["code"] == "provider_not_configured"
    await shot(po, f"meeting-dialog-{viewport['width']}")
    assert_no_console_errors(po)


async def test_an_administrator_sees_which_providers_wait_for_settings(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    admin = await make_staff("admin", "7406", name="Ani Admin")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await admin.post(f"/consultations/{c['id']}/claim", expect=200)
    body = await admin.get("/meetings/providers")
    assert body["unconfigured"] == ["zoom"]
    po = await console(new_context, admin)
    room = await open_room(po, c["id"])
    await room_action(room, "Buat pertemuan daring")
    await expect(po.locator("dialog .admin-hint")).to_contain_text("Zoom belum dikonfigurasi")
    assert_no_console_errors(po)


async def test_every_view_follows_the_first_answer_without_a_reload(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer)
    pu = await portal(new_context, user, f"#/c/{c['id']}", PHONE)
    await expect(pu.locator(".room-head .c-due")).to_contain_text("Dijawab paling lambat")
    room = await open_room(po, c["id"])
    clarify = clarify_button(room, narrow=False)
    await expect(clarify).to_be_enabled()
    await expect(room.locator(".room-head .sla")).to_contain_text("Tepat waktu")
    mine = po.locator(f".m-item[data-id='{c['id']}'] .sla")
    await expect(mine).to_contain_text("Tepat waktu")

    await send(room, "Upah rata-rata buruh Bombana 2024 ada di publikasi Bombana Dalam Angka.")
    # The officer's header, the list and the citizen's deadline line follow consultation:updated.
    await expect(clarify).to_be_disabled()
    await expect(room.locator(".room-head .sla")).to_have_text("Terjawab")
    await expect(mine).to_have_text("Terjawab")
    await expect(pu.locator(".room-head .c-due")).to_have_text("Sudah dijawab")
    pl = await portal(new_context, user, "#/list", PHONE)
    await expect(pl.locator(f".c-item[data-id='{c['id']}'] .c-due")).to_have_text("Sudah dijawab")
    assert_no_console_errors(po, pu, pl)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_after_a_note_the_composer_is_back_to_replies(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data ekspor")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    toggle = room.get_by_role("button", name="Catatan internal")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(room.locator(".composer-input")).to_have_attribute("placeholder", re.compile("catatan", re.I))
    await send(room, "Pengguna ini sudah bertanya hal yang sama bulan lalu.")
    await expect(room.locator(".msg-wrap .msg.kind-note")).to_contain_text("bulan lalu")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await expect(room.locator(".composer")).not_to_have_class(re.compile("note-mode"))
    await expect(room.locator(".composer-input")).to_be_focused()
    await send(room, "Data ekspor ada di tabel 3.")
    await expect(room.locator(".msg-wrap .msg.kind-text.msg-out")).to_contain_text("tabel 3")
    kinds = [m["kind"] for m in (await user.get(f"/consultations/{c['id']}/messages"))["messages"]]
    assert kinds.count("text") == 2 and "note" not in kinds
    assert_no_console_errors(po)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_the_room_speaks_as_a_bps_officer_would(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    narrow = viewport is PHONE
    await room_action(room, "Minta klarifikasi")
    clarify = clarify_button(room, narrow)
    await expect(clarify).to_have_attribute("aria-pressed", "true")
    if not narrow:
        await expect(clarify).to_have_attribute("title", re.compile("Klarifikasi diminta"))
    # The meeting or visit menu's own name (a wide pane shows it; the narrow one's ⋯ menu lists both).
    await expect(room.locator(".room-actions details.menu > summary")).to_have_text("Pertemuan / Kunjungan")
    head = await room.locator(".room-head").inner_text()
    assert "Eskalasi" not in head and "Menunggu klarifikasi" not in head
    await room_action(room, "Buat pertemuan daring")
    await expect(po.locator("dialog").get_by_label("Waktu mulai (WITA)")).to_be_visible()  # Bombana's zone
    assert_no_console_errors(po)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_closing_says_who_sees_the_summary_and_files_an_outcome_for_the_reports(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    supervisor = await make_staff("supervisor", "7406", name="Sri Supervisor")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah per desa")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    await room_action(room, "Tutup")
    dlg = po.locator("dialog")
    await expect(dlg).to_contain_text(
        "Ringkasan ditampilkan kepada pengguna di ruang konsultasi dan tercantum dalam transkrip"
    )
    await expect(dlg.locator("legend")).to_have_text("Hasil konsultasi")
    options = await dlg.locator(".close-category label").all_inner_texts()
    assert [o.strip() for o in options] == [
        "Terjawab",
        "Dirujuk ke layanan lain",
        "Data tidak tersedia",
        "Duplikat konsultasi lain",
        "Tidak ada tanggapan dari pengguna",
    ]
    # No outcome picked: the form does not go.
    await dlg.get_by_label("Ringkasan (opsional)").fill("Data per desa belum dikumpulkan BPS.")
    await dlg.get_by_role("button", name="Tutup konsultasi").click()
    await expect(dlg).to_be_visible()
    assert (await officer.get(f"/consultations/{c['id']}"))["status"] == "active"
    await dlg.get_by_label("Data tidak tersedia").check()
    await dlg.get_by_role("button", name="Tutup konsultasi").click()
    await expect(room.locator(".room-footer")).to_contain_text("sudah ditutup")
    closed = await officer.get(f"/consultations/{c['id']}")
    assert closed["status"] == "closed" and closed["close_category"] == "data_unavailable"
    report = await supervisor.get("/reports/summary?office=7406&from=2026-11-01&to=2026-11-30")
    assert report["consultations"]["by_close_category"]["data_unavailable"] == 1
    # A user cannot file an outcome; a bad one is refused.
    other = await open_consultation(user, "Lagi")
    err = await user.call("POST", f"/consultations/{other['id']}/close", {"category": "answered"}, expect=422)
    assert err[1]["error"]["code"] == "invalid_category"
    assert_no_console_errors(po)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_a_greeting_does_not_meet_the_sla_the_answer_does(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    toggle = room.get_by_role("button", name="Ini jawaban")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    # "Sedang kami pelajari": one click marks it as not the answer.
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await send(room, "Selamat siang, permintaan Anda sedang kami pelajari.")
    await expect(room.locator(".msg-wrap .msg-out .msg-body").last).to_contain_text("sedang kami pelajari")
    fresh = await officer.get(f"/consultations/{c['id']}")
    assert fresh["first_response_at"] and fresh["answered_at"] is None and fresh["sla"]["state"] != "met"
    await expect(room.locator(".room-head .sla")).not_to_have_text("Terjawab")
    # The toggle is back on for the next reply; the clarification can still be asked for.
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    clarify = clarify_button(room, narrow=viewport is PHONE)
    await expect(clarify).to_be_enabled()
    await room_action(room, "Minta klarifikasi")
    await expect(clarify).to_have_attribute("aria-pressed", "true")
    # While waiting for the clarification a reply is not the answer by default.
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await send(room, "Mohon sebutkan tahun dan wilayahnya.")
    await expect(room.locator(".msg-wrap .msg-out .msg-body").last).to_contain_text("tahun dan wilayahnya")
    assert (await officer.get(f"/consultations/{c['id']}"))["sla"]["state"] != "met"
    await user.post(
        f"/consultations/{c['id']}/messages", {"text": "Tahun 2024, Bombana.", "client_id": "u1"}, expect=201
    )
    await expect(clarify).to_have_attribute("aria-pressed", "false")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await send(room, "Upah rata-rata 2024 di Bombana Rp2,9 juta (Sakernas).")
    await expect(room.locator(".room-head .sla")).to_have_text("Terjawab")
    await expect(toggle).to_be_hidden()
    answered = await officer.get(f"/consultations/{c['id']}")
    assert answered["answered_at"] and answered["sla"]["met_at"] == answered["answered_at"]
    assert answered["first_response_at"] <= answered["answered_at"]  # the test clock stands still
    messages = (await officer.get(f"/consultations/{c['id']}/messages"))["messages"]
    assert [m["answer"] for m in messages if m["author"]["role"] == "officer"] == [False, False, True]
    assert_no_console_errors(po)


# Stand-ins for what a headless browser cannot show: notifications are recorded, the chime's notes
# counted, and the tab can be sent to the background.
_ALERT_STUBS = """
window.__notes = []; window.__notes_clicked = 0; window.__chimes = 0; window.__hidden = false;
class FakeNotification {
  constructor(title, opts) { window.__notes.push({ title, body: opts.body, tag: opts.tag }); this.onclick = null; }
  close() {}
}
FakeNotification.permission = "default";
FakeNotification.requestPermission = () => {
  FakeNotification.permission = "granted";
  return Promise.resolve("granted");
};
window.Notification = FakeNotification;
class FakeAudio {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() { window.__chimes += 1; return { frequency: {}, connect: (g) => g, start() {}, stop() {} }; }
  createGain() { return { gain: {}, connect: (d) => d }; }
}
window.AudioContext = FakeAudio;
Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
Object.defineProperty(document, "hidden", { get: () => window.__hidden });
"""


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_new_work_alerts_in_the_title_by_sound_and_by_notification(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    colleague = await make_staff("officer", "7406", name="Wati Petugas")
    user = await make_user(name="Sari Warga")
    held = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{held['id']}/claim", expect=200)
    ctx = await new_context(viewport)
    await ctx.add_init_script(_ALERT_STUBS)
    await sign_in_as(ctx, officer)
    po = await page_for(ctx)
    await po.goto("/console/")
    await expect(po.locator("#mine-count")).to_be_attached()
    # The held room's messages are unread: the title counts them.
    unread = (await officer.get(f"/consultations/{held['id']}"))["unread"]
    assert unread >= 1
    await expect(po).to_have_title(f"({unread}) Konsol petugas — PST Konsultasi")
    if viewport is PHONE:
        await po.locator("#menu-toggle").click()
    await po.get_by_role("button", name="Aktifkan notifikasi").click()
    await expect(po.get_by_role("button", name="Aktifkan notifikasi")).to_have_count(0)
    if viewport is PHONE:
        await po.locator("#menu-toggle").click()
    await po.get_by_label("Bunyi").check()
    chimes = await po.evaluate("window.__chimes")
    assert chimes == 2  # the chime plays once when switched on: two notes
    await po.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")

    # A new consultation in the queue.
    fresh = await open_consultation(user, "Data kemiskinan")
    await expect(po).to_have_title(f"({unread + 1}) Konsol petugas — PST Konsultasi")
    await wait_true(po, "window.__notes.length >= 1")
    # A room a colleague transfers to me.
    theirs = await open_consultation(user, "Data ekspor")
    await colleague.post(f"/consultations/{theirs['id']}/claim", expect=200)
    await colleague.post(f"/consultations/{theirs['id']}/transfer", {"to_user": officer.user["id"]}, expect=200)
    await wait_true(po, "window.__notes.some((n) => n.title.includes('dialihkan'))")
    # A message in a room I hold.
    await user.post(
        f"/consultations/{held['id']}/messages", {"text": "Apakah ada data per desa?", "client_id": "u1"}, expect=201
    )
    await wait_true(po, "window.__notes.some((n) => n.title.startsWith('Pesan baru'))")
    notes = await po.evaluate("window.__notes")
    titles = [n["title"] for n in notes]
    assert f"Konsultasi baru di antrean: {fresh['number']}" in titles
    assert f"Konsultasi {theirs['number']} dialihkan kepada Anda" in titles
    assert "Pesan baru dari Sari Warga" in titles
    assert any(n["body"] == "Sari Warga: Apakah ada data per desa?" for n in notes)
    assert not any(held["number"] in t and "dialihkan" in t for t in titles)  # my own claim is no transfer
    assert await po.evaluate("window.__chimes") >= chimes + 6
    # Back in front with the room open: its messages do not alert.
    await po.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    await open_room(po, held["id"])
    count = len(notes)
    await user.post(f"/consultations/{held['id']}/messages", {"text": "Terima kasih.", "client_id": "u2"}, expect=201)
    await expect(pane(po, held["id"]).locator(".room-log")).to_contain_text("Terima kasih.")
    assert await po.evaluate("window.__notes.length") == count
    assert_no_console_errors(po)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_slash_suggests_the_offices_canned_responses_with_the_rooms_values(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await open_consultation(user, "Data upah")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    room = await open_room(po, c["id"])
    box = room.locator(".composer-input")
    await box.press_sequentially("/")
    options = room.locator(".canned-suggest [role=option]")
    await expect(options).to_have_count(4)  # the office's starter set
    await shot(po, f"canned-suggest-{viewport['width']}")
    await box.press_sequentially("sa")
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("/salam")
    await expect(options.first).to_contain_text("Salam pembuka")
    await expect(box).to_have_attribute("aria-expanded", "true")
    await box.press("Enter")  # takes the suggestion, does not send
    await expect(room.locator(".canned-suggest")).to_be_hidden()
    value = await box.input_value()
    assert value.startswith("Selamat datang, Sari Warga. Terima kasih telah menghubungi PST BPS Kabupaten Bombana.")
    assert c["number"] in value and "paling lambat" in value
    assert "{" not in value and "/sa" not in value
    # The greeting is not the answer: the toggle went off by itself, and sending keeps the clock running.
    await expect(room.get_by_role("button", name="Ini jawaban")).to_have_attribute("aria-pressed", "false")
    await box.press("Enter")
    await expect(room.locator(".msg-wrap .msg-out .msg-body").last).to_contain_text("Selamat datang, Sari Warga")
    assert (await officer.get(f"/consultations/{c['id']}"))["sla"]["state"] != "met"
    # Arrows pick among several; Esc leaves the text as typed.
    await box.press_sequentially("Lihat /p")
    await expect(options).to_have_count(3)  # /publikasi, /penutup, then "Salam pembuka" by its title
    await box.press("ArrowDown")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await box.press("Escape")
    await expect(room.locator(".canned-suggest")).to_be_hidden()
    await expect(box).to_have_value("Lihat /p")
    await box.press_sequentially("ub")
    await box.press("Tab")
    assert (await box.input_value()).startswith("Lihat Sari Warga, data yang Anda tanyakan tersedia")
    await expect(room.get_by_role("button", name="Ini jawaban")).to_have_attribute("aria-pressed", "true")
    assert_no_console_errors(po)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366", "360"])
async def test_rooms_have_addresses_come_back_after_a_reload_and_show_who_asks(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    viewport: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    await user.call(
        "PATCH",
        "/me",
        {"phone": "0812-3456-7890", "institution": "Universitas Halu Oleo", "occupation": "Mahasiswa"},
        expect=200,
    )
    other = await make_user(name="Andi Warga")
    earlier = await open_consultation(user, "Data penduduk 2020")
    await officer.post(f"/consultations/{earlier['id']}/claim", expect=200)
    await officer.post(f"/consultations/{earlier['id']}/close", {"category": "answered"}, expect=200)
    first = await open_consultation(user, "Data upah")
    second = await open_consultation(other, "Data ekspor")
    for c in (first, second):
        await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await console(new_context, officer, viewport)
    await open_room(po, first["id"])
    await expect(po).to_have_url(re.compile(f"/console/#/c/{first['id']}$"))
    if viewport is PHONE:
        await po.get_by_role("button", name="← Ruang saya").click()
    await open_room(po, second["id"])
    await expect(po).to_have_url(re.compile(f"/console/#/c/{second['id']}$"))

    # A reload brings both rooms back, the current one in front.
    await po.reload()
    await expect(pane(po, second["id"]).locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    await expect(po.locator(".tab")).to_have_count(2)
    await expect(pane(po, second["id"])).to_be_visible()
    if viewport is LAPTOP:
        await expect(pane(po, first["id"])).to_be_visible()

    # The address of a room opens it, in another tab too.
    other_tab = await page_for(po.context)
    await other_tab.goto(f"/console/#/c/{first['id']}")
    room = pane(other_tab, first["id"])
    await expect(room.locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    await expect(room).to_be_visible()

    # The info panel: the profile the user registered with, and what they asked before.
    await room_action(room, "Info")
    dlg = other_tab.locator("dialog")
    await expect(dlg.locator(".info-phone")).to_have_text("0812-3456-7890")
    await expect(dlg.locator(".info-institution")).to_have_text("Universitas Halu Oleo")
    await expect(dlg.locator(".info-occupation")).to_have_text("Mahasiswa")
    previous = dlg.locator(".previous-list li")
    await expect(previous).to_have_count(1)
    await expect(previous).to_contain_text("Data penduduk 2020")
    await expect(previous).to_contain_text("Selesai")
    await previous.get_by_role("link").click()
    await expect(other_tab.locator("dialog")).to_have_count(0)
    await expect(other_tab).to_have_url(re.compile(f"/console/#/c/{earlier['id']}$"))
    await expect(pane(other_tab, earlier["id"]).locator(".room-footer")).to_contain_text("sudah ditutup")
    assert_no_console_errors(po, other_tab)


@pytest.mark.parametrize("width", [1366, 1920])
async def test_rooms_side_by_side_keep_their_headers_on_one_line(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    width: int,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    fits = 3 if width == 1366 else 4
    rooms = []
    for i in range(fits):
        # Addresses as long as real ones get: the header must not grow a line for them.
        user = await make_user(name=f"Warga {i}", email=f"warga.dengan.alamat.panjang.{i}@universitas-contoh.ac.id")
        c = await open_consultation(user, f"Data upah kecamatan nomor {i} tahun 2024")
        await officer.post(f"/consultations/{c['id']}/claim", expect=200)
        rooms.append(c["id"])
    po = await console(new_context, officer, {"width": width, "height": 900})
    for cid in rooms:
        await open_room(po, cid)
    boxes = []
    for cid in rooms:
        p = pane(po, cid)
        await expect(p).to_be_visible()
        boxes.append(await p.bounding_box())
    assert len({round(b["x"]) for b in boxes if b}) == fits  # all side by side
    for cid in rooms:
        head = pane(po, cid).locator(".room-head")
        # The actions are one menu, not two or three wrapped rows of buttons.
        await expect(head.locator(".room-more > summary")).to_be_visible()
        await expect(head.locator(".room-actions .inline-action").first).to_be_hidden()
        actions = await head.locator(".room-actions").bounding_box()
        assert actions and actions["height"] <= 40, actions
        # The header settles once the room's state has arrived (queued → active changes its badges).
        height = 0.0
        for _ in range(50):
            height = await head.evaluate("(el) => el.getBoundingClientRect().height")
            if height <= 110:
                break
            await asyncio.sleep(0.1)
        assert height <= 110, (height, await head.inner_text())
    # The menu holds every action and works.
    room = pane(po, rooms[0])
    await room_action(room, "Minta klarifikasi")
    await expect(room.locator(".room-more button.clarify")).to_have_attribute("aria-pressed", "true")
    await expect(room.locator(".room-more")).not_to_have_attribute("open", "")
    await room_action(room, "Info")
    await expect(po.locator("dialog")).to_contain_text("Pencarian pengguna")
    await shot(po, f"console-side-by-side-{width}")
    assert_no_console_errors(po)
