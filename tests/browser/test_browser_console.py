"""The officer console with the user portal, live, in real headless Chromium against the running app."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from server.keys import SIO
from tests.browser import (
    STAFF_PASSWORD,
    assert_no_console_errors,
    page_for,
    page_log,
    shot,
    sign_in,
    sign_in_as,
)
from tests.conftest import Api

pytestmark = pytest.mark.browser


async def _open(user: Api, subject: str, text: str = "Saya butuh data inflasi 2025.", office: str = "7406",
                kb_query: str | None = None) -> Any:
    body = {"office": office, "topic": "data", "subject": subject, "text": text}
    if kb_query:
        body["kb_query"] = kb_query
    return await user.post("/consultations", body, expect=201)


async def _console(make_context: Any, officer: Api) -> Page:
    """The console, signed in as `officer` (cookie, no login form), with its lists loaded."""
    ctx = await make_context()
    await sign_in_as(ctx, officer)
    page = await page_for(ctx)
    await page.goto("/console/")
    await expect(page.locator("#mine-count")).to_be_attached()
    await expect(page.locator("#queue li").first).to_be_visible()
    return page


async def _portal(make_context: Any, user: Api, route: str = "#/list") -> Page:
    ctx = await make_context()
    await sign_in_as(ctx, user)
    page = await page_for(ctx)
    await page.goto(f"/app/{route}")
    await expect(page.locator("#nav .who")).to_be_attached()
    return page


def _pane(page: Page, cid: str) -> Any:
    return page.locator(f".pane[data-id='{cid}']")


async def _send(page: Page, root: Any, text: str) -> None:
    box = root.locator(".composer-input")
    await box.fill(text)
    await box.press("Enter")


async def test_user_opens_officer_claims_and_they_chat_live(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    po = await page_for(await new_context())
    await sign_in(po, officer.user["email"], STAFF_PASSWORD, console=True)  # the console's login form
    await expect(po.locator("#queue")).to_contain_text("Tidak ada konsultasi")
    pu = await _portal(new_context, user, "#/new")

    # The user opens a consultation in the portal ...
    form = pu.locator("#new-form")
    await form.get_by_label("Kantor BPS").select_option("7406")
    await form.get_by_label("Perihal").fill("Data kemiskinan Bombana")
    await form.get_by_label("Pertanyaan Anda").fill("Berapa persentase penduduk miskin Bombana 2024?")
    await form.locator("button[type=submit]").click()
    await expect(pu.locator(".room-log")).to_contain_text("penduduk miskin Bombana")
    cid = pu.url.rsplit("/", 1)[1]

    # ... and it appears in the officer's queue without a reload.
    item = po.locator(f".q-item[data-id='{cid}']")
    await expect(item).to_contain_text("Data kemiskinan Bombana")
    await expect(item).to_contain_text("Sari Warga")
    await item.get_by_role("button", name="Ambil").click()
    pane = _pane(po, cid)
    await expect(pane.locator(".room-log")).to_contain_text("penduduk miskin Bombana")
    await expect(po.locator(f".q-item[data-id='{cid}']")).to_have_count(0)
    await expect(po.locator(f".m-item[data-id='{cid}']")).to_be_visible()
    # The user sees the claim happen.
    await expect(pu.locator(".room-head")).to_contain_text("Aktif")
    await expect(pu.locator(".room-log")).to_contain_text("diambil oleh Budi Petugas")

    # The officer types: the user sees the typing indicator.
    await pane.locator(".composer-input").press_sequentially("Baik", delay=20)
    await expect(pu.locator(".typing")).to_have_text("Petugas sedang mengetik…")
    await pane.locator(".composer-input").press_sequentially(", persentasenya 11,2 persen.", delay=5)
    await pane.locator(".composer-input").press("Enter")
    await expect(pu.locator(".msg-in .msg-body").last).to_have_text("Baik, persentasenya 11,2 persen.")
    await expect(pu.locator(".typing")).to_have_text("")
    # The user answers: the officer sees it live, and the user's read mark reaches the officer.
    await _send(pu, pu, "Terima kasih, Pak Budi!")
    await expect(pane.locator(".msg-in .msg-body").last).to_have_text("Terima kasih, Pak Budi!")
    await expect(pane.locator(".msg-out .msg-status").last).to_have_text("Dibaca")
    await expect(pu.locator(".msg-out .msg-status").last).to_have_text("Dibaca")
    await expect(pu.locator(".msg-out.pending")).to_have_count(0)
    await shot(pu, "portal-chat")
    await shot(po, "console-one-room")
    assert_no_console_errors(po, pu)


async def test_officer_with_three_rooms_sees_unread_badges_move(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    connect: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    users = [await make_user(name=n) for n in ("Andi", "Citra", "Dewi")]
    rooms = []
    for i, u in enumerate(users):
        c = await _open(u, subject=f"Pertanyaan {u.user['name']}", text=f"Halo, saya {u.user['name']} ({i}).")
        await officer.post(f"/consultations/{c['id']}/claim", expect=200)
        rooms.append(c["id"])
    po = await _console(new_context, officer)
    mine = {cid: po.locator(f".m-item[data-id='{cid}']") for cid in rooms}
    listed = (await officer.get("/consultations?assigned=me&status=active"))["consultations"]
    start = {c["id"]: c["unread"] for c in listed}
    for cid in rooms:
        await expect(mine[cid].locator(".unread")).to_have_text(str(start[cid]))

    # Three users write from their own sockets: 2, 1 and 0 messages.
    socks = [await connect(u) for u in users]
    for sock, cid, n in zip(socks, rooms, (2, 1, 0), strict=True):
        assert (await sock.call("consultation:join", {"consultation_id": cid}))["ok"]
        for k in range(n):
            ack = await sock.call("message:send", {"consultation_id": cid, "text": f"pesan {k}",
                                                   "client_id": f"{cid}-{k}"})
            assert ack["ok"], ack
    await expect(mine[rooms[0]].locator(".unread")).to_have_text(str(start[rooms[0]] + 2))
    await expect(mine[rooms[1]].locator(".unread")).to_have_text(str(start[rooms[1]] + 1))
    await expect(mine[rooms[2]].locator(".unread")).to_have_text(str(start[rooms[2]]))
    await expect(mine[rooms[0]]).to_contain_text("pesan 1")

    # Opening a room clears its badge, and it stays clear while the room is open.
    await mine[rooms[0]].get_by_role("button").click()
    await expect(_pane(po, rooms[0]).locator(".room-log")).to_contain_text("pesan 1")
    await expect(mine[rooms[0]].locator(".unread")).to_have_count(0)
    ack = await socks[0].call("message:send", {"consultation_id": rooms[0], "text": "satu lagi", "client_id": "x-1"})
    assert ack["ok"]
    await expect(_pane(po, rooms[0]).locator(".room-log")).to_contain_text("satu lagi")
    await expect(mine[rooms[0]].locator(".unread")).to_have_count(0)
    await expect(mine[rooms[1]].locator(".unread")).to_have_text(str(start[rooms[1]] + 1))
    for _ in range(50):  # the read mark is stored a moment after the badge clears
        if (await officer.get(f"/consultations/{rooms[0]}"))["unread"] == 0:
            break
        await asyncio.sleep(0.1)
    assert (await officer.get(f"/consultations/{rooms[0]}"))["unread"] == 0

    # All three side by side on a desktop, one click each.
    for cid in rooms[1:]:
        await mine[cid].get_by_role("button").click()
    for cid in rooms:
        await expect(_pane(po, cid)).to_be_visible()
        await expect(mine[cid].locator(".unread")).to_have_count(0)
    boxes = [box for cid in rooms if (box := await _pane(po, cid).bounding_box())]
    assert len(boxes) == 3 and len({round(b["x"]) for b in boxes}) == 3
    await expect(po.locator(".tab")).to_have_count(3)
    hello = "Halo Dewi, ada yang bisa dibantu lagi?"
    await _send(po, _pane(po, rooms[2]), hello)
    await expect(_pane(po, rooms[2]).locator(".msg-out .msg-body").last).to_have_text(hello)
    await socks[2].wait_for("message:new", lambda m: m["text"].startswith("Halo Dewi"))
    await shot(po, "console-three-rooms")
    assert_no_console_errors(po)


async def test_internal_note_never_reaches_the_user_and_reconnect_loses_nothing(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
    app: Any,
    services: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari Warga")
    c = await _open(user, subject="Data ekspor")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await _console(new_context, officer)
    pu = await _portal(new_context, user)
    bodies: list[str] = []

    async def keep(resp: Any) -> None:
        if "/api/" in resp.url:
            try:
                bodies.append(await resp.text())
            except Exception:  # noqa: BLE001 - a body gone with a navigation
                pass

    pu.on("response", keep)
    await pu.goto(f"/app/#/c/{c['id']}")
    await expect(pu.locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    await po.locator(f".m-item[data-id='{c['id']}'] button").click()
    pane = _pane(po, c["id"])
    secret = "CATATAN-RAHASIA: pengguna ini pernah komplain"
    await pane.get_by_role("button", name="Catatan internal").click()
    await expect(pane.locator(".composer")).to_have_class(re.compile("note-mode"))
    await _send(po, pane, secret)
    note = pane.locator(".msg-wrap .msg.kind-note")
    await expect(note).to_contain_text(secret)
    await expect(note.locator(".note-label")).to_have_text("Catatan internal")
    assert await note.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 245, 194)"
    # Sending the note put the composer back in reply mode: the next message reaches the user.
    await expect(pane.locator(".composer")).not_to_have_class(re.compile("note-mode"))
    await _send(po, pane, "Data ekspor ada di tabel 3.")
    await expect(pu.locator(".room-log")).to_contain_text("Data ekspor ada di tabel 3.")
    # Reload: the history (join ack and REST) still has no note.
    await pu.reload()
    await expect(pu.locator(".room-log")).to_contain_text("Data ekspor ada di tabel 3.")
    await pu.goto("/app/#/list")
    await expect(pu.locator(f".c-item[data-id='{c['id']}']")).to_contain_text("Data ekspor ada di tabel 3.")
    assert secret not in await pu.content()
    frames = page_log(pu).ws_frames
    assert any("Data ekspor ada di tabel 3." in f for f in frames)
    assert not [f for f in frames if "CATATAN-RAHASIA" in f]
    assert bodies and not [b for b in bodies if "CATATAN-RAHASIA" in b]
    # The officer's list shows the note as a note.
    await expect(po.locator(f".m-item[data-id='{c['id']}']")).to_contain_text("Data ekspor")

    # The connection drops (the server hangs up, the network is gone); meanwhile the officer answers
    # and the user writes. Back online, the page joins again after the last seq it saw: nothing lost.
    await pu.goto(f"/app/#/c/{c['id']}")
    await expect(pu.locator(".room-log")).to_contain_text("Data ekspor ada di tabel 3.")
    await pu.context.set_offline(True)
    for sid in list(services.presence.sids.get(user.user["id"], ())):
        await app[SIO].disconnect(sid)
    await expect(pu.locator("#conn")).to_be_visible()
    await officer.post(f"/consultations/{c['id']}/messages", {"text": "Jawaban saat Anda terputus.",
                                                              "client_id": "away-1"}, expect=201)
    await _send(pu, pu, "Saya kembali.")
    await expect(pu.locator(".msg-out.pending")).to_contain_text("Mengirim")
    await pu.context.set_offline(False)
    await expect(pu.locator(".room-log")).to_contain_text("Jawaban saat Anda terputus.", timeout=15_000)
    await expect(pu.locator(".msg-out.pending")).to_have_count(0)
    await expect(pane.locator(".msg-in .msg-body").last).to_have_text("Saya kembali.")
    await expect(pu.locator("#conn")).to_be_hidden()
    assert [m["text"] for m in (await officer.get(f"/consultations/{c['id']}/messages"))["messages"]].count(
        "Saya kembali.") == 1
    assert_no_console_errors(po, pu, allow=(r"WebSocket connection to .* failed",))


async def test_message_text_is_shown_literally_and_only_http_links_are_links(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user(name="Sari Warga")
    c = await _open(user, subject="<b>tebal</b> & <i>miring</i>")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await _console(new_context, officer)
    pu = await _portal(new_context, user, f"#/c/{c['id']}")
    await po.locator(f".m-item[data-id='{c['id']}'] button").click()
    pane = _pane(po, c["id"])
    texts = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "Lihat https://bps.go.id untuk data.",
             "javascript:alert(1)", "<a href=\"javascript:alert(3)\">klik</a>"]
    for text in texts:
        await _send(pu, pu, text)
    for root in (pu.locator(".room-log"), pane.locator(".room-log")):
        await expect(root.locator(".msg-wrap .msg-body").last).to_have_text(texts[-1])
        bodies = await root.locator(".msg-body").all_inner_texts()
        for text in texts:
            assert text in bodies, (text, bodies)
        assert await root.locator("img, script, iframe").count() == 0
        link = root.get_by_role("link", name="https://bps.go.id")
        await expect(link).to_have_attribute("href", "https://bps.go.id/")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(link).to_have_attribute("target", "_blank")
        hrefs = await root.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert not [h for h in hrefs if not h.startswith(("https://", "http://", "/api/v1/"))], hrefs
    await expect(pane.locator(".room-head h2")).to_contain_text("<b>tebal</b> & <i>miring</i>")
    assert not page_log(pu).dialogs and not page_log(po).dialogs
    assert_no_console_errors(po, pu)


async def test_officer_tools_clarify_canned_info_escalate_transfer_close(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    other = await make_staff("officer", "7406", name="Wati Petugas")
    user = await make_user(name="Sari Warga")
    c1 = await _open(user, subject="Data upah", kb_query="upah minimum")
    c2 = await _open(user, subject="Data harga")
    for c in (c1, c2):
        await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    po = await _console(new_context, officer)
    await po.locator(f".m-item[data-id='{c1['id']}'] button").click()
    pane = _pane(po, c1["id"])
    await expect(pane.locator(".room-log")).to_contain_text("Saya butuh data inflasi")

    # Awaiting clarification stops the SLA clock (before any answer).
    toggle = pane.get_by_role("button", name="Minta klarifikasi")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(pane.locator(".room-head .sla")).to_contain_text("Dihentikan")
    await expect(pane.locator(".room-log")).to_contain_text("klarifikasi")
    assert (await officer.get(f"/consultations/{c1['id']}"))["sla"]["paused"] is True

    # Canned responses: the office's set (the starter four and one its supervisor added), which an officer
    # inserts into the composer but may not change (issue 17 item 7).
    supervisor = await make_staff("supervisor", "7406", name="Sri Supervisor")
    await supervisor.post(
        "/offices/7406/canned-responses",
        {"title": "Salam", "text": "Selamat siang, terima kasih telah menghubungi PST."},
        expect=201,
    )
    await pane.get_by_role("button", name="Jawaban siap pakai").click()
    dlg = po.locator("dialog")
    await expect(dlg.locator(".canned-item")).to_have_count(5)
    await expect(dlg.get_by_role("button", name="Ubah")).to_have_count(0)
    await expect(dlg.get_by_role("button", name="Hapus")).to_have_count(0)
    await expect(dlg.get_by_role("button", name="Simpan")).to_have_count(0)
    ours = dlg.locator(".canned-item").filter(has_text="terima kasih telah menghubungi PST.")
    await expect(ours).to_contain_text("Salam")
    await ours.get_by_role("button", name="Sisipkan").click()
    greeting = "Selamat siang, terima kasih telah menghubungi PST."
    await expect(pane.locator(".composer-input")).to_have_value(greeting)
    # The focus stays in the composer (the dialog's close took it back to its opener a moment later, and an
    # Enter then opened the dialog again instead of sending: a CI failure).
    await po.wait_for_timeout(200)
    await expect(pane.locator(".composer-input")).to_be_focused()
    await pane.locator(".composer-input").press("Enter")
    await expect(pane.locator(".msg-out .msg-body").last).to_have_text(greeting)
    assert len((await officer.get("/offices/7406/canned-responses"))["canned_responses"]) == 5

    # Info: the user's knowledge-base search and the delivery log.
    await pane.get_by_role("button", name="Info").click()
    await expect(dlg).to_contain_text("upah minimum")
    await expect(dlg.locator("table")).to_contain_text("Konsultasi diterima")
    await dlg.get_by_role("button", name="×").click()
    await expect(dlg).to_have_count(0)

    # Escalation errors (or success) are shown, never swallowed.
    await pane.get_by_role("group").or_(pane.locator("details.menu summary")).first.click()
    await pane.get_by_role("button", name="Jadwalkan kunjungan").click()
    await dlg.locator(".visit-days input").first.check()  # an open day, then a free time (issue 17)
    await dlg.locator(".visit-times input").first.check()
    await dlg.get_by_role("button", name="Jadwalkan", exact=True).click()
    outcome = po.locator("dialog .form-status:not([hidden]), .toast")
    await expect(outcome.first).to_be_visible()
    # A refusal stays in the dialog, which we leave; a booking shows a toast while its dialog closes by itself
    # (checking for the dialog, then clicking its "Batal", raced that close).
    if await po.locator("dialog .form-status:not([hidden])").count():
        await dlg.get_by_role("button", name="Batal").click()
    await expect(dlg).to_have_count(0)

    # Transfer the second consultation to a colleague: it leaves my rooms.
    await po.locator(f".m-item[data-id='{c2['id']}'] button").click()
    pane2 = _pane(po, c2["id"])
    await pane2.get_by_role("button", name="Alihkan").click()
    await dlg.get_by_label("Petugas tujuan").select_option(other.user["id"])
    await dlg.get_by_role("button", name="Alihkan").click()
    await expect(po.locator(f".m-item[data-id='{c2['id']}']")).to_have_count(0)
    assert (await other.get(f"/consultations/{c2['id']}"))["assigned_to"]["id"] == other.user["id"]

    # Close the first with a summary.
    await pane.get_by_role("button", name="Tutup", exact=True).click()
    await dlg.get_by_label("Terjawab").check()
    await dlg.get_by_label("Ringkasan (opsional)").fill("Data upah dikirim lewat e-mail.")
    await dlg.get_by_role("button", name="Tutup konsultasi").click()
    await expect(pane.locator(".room-footer")).to_contain_text("sudah ditutup")
    await expect(pane.locator(".room-log")).to_contain_text("Ringkasan: Data upah dikirim lewat e-mail.")
    await expect(po.locator(f".m-item[data-id='{c1['id']}']")).to_have_count(0)
    assert (await officer.get(f"/consultations/{c1['id']}"))["status"] == "closed"
    assert_no_console_errors(po)


async def test_officer_with_an_english_profile_signs_in_to_an_english_console(
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    # The profile's language is applied at sign-in, which repaints the screen: it once did so before
    # the knowledge-base view existed and the console stopped on a TypeError (issue 17 item 1).
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    await officer.call("PATCH", "/me", {"lang": "en"}, expect=200)
    user = await make_user(name="Sari Warga")
    c = await _open(user, subject="Data upah")
    po = await page_for(await new_context())
    await sign_in(po, officer.user["email"], STAFF_PASSWORD, console=True)  # the console's login form
    await expect(po.locator("#view-rooms")).to_contain_text("Consultations")
    await expect(po.locator("#nav")).to_contain_text("Sign out")
    item = po.locator(f".q-item[data-id='{c['id']}']")
    await item.get_by_role("button", name="Claim").click()
    await expect(_pane(po, c["id"]).locator(".room-log")).to_contain_text("Saya butuh data inflasi")
    await expect(po.locator(f".m-item[data-id='{c['id']}']")).to_be_visible()
    await po.locator("#view-kb").click()
    await expect(po.locator("#kb-view h2")).to_have_text("Knowledge base")
    await expect(po.locator("#kb-new")).to_be_visible()
    assert_no_console_errors(po)
