"""A WhatsApp consultation end to end, Meta's 24-hour window, and sending through outages and restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp

from notifier.runtime import make_notifier
from tests.channels.conftest import PNID, WhatsAppRig

SARI = "6281234567890"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


async def _only(wa: WhatsAppRig) -> dict[str, Any]:
    [c] = [c async for c in wa.services.db.consultations.find({"channel": "whatsapp"})]
    return c


async def _advance(wa: WhatsAppRig, seconds: float) -> None:
    await wa.client.post("/api/v1/_test/clock", json={"advance_seconds": seconds})


async def _until(pred: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.03)


async def test_whatsapp_end_to_end_as_the_officer_and_the_user_saw_it(
    wa: WhatsAppRig, make_staff: Any, connect: Any
) -> None:
    # In: the user writes; the consultation waits in the office's queue.
    await wa.user_says(SARI, "Sari Wulandari", "Selamat pagi, saya perlu data IPM Kabupaten Bombana 2020-2025.")
    c = await _only(wa)
    officer = await make_staff("officer", "7406", name="Budi Santoso")
    listed = await officer.get("/consultations?status=queued")
    assert [x["id"] for x in listed["consultations"] if x["channel"] == "whatsapp"] == [str(c["_id"])]
    # Claim, and watch the room.
    cid = str(c["_id"])
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    sock = await connect(officer)
    await sock.call("consultation:join", {"consultation_id": cid})
    # Reply out (and an internal note that never leaves).
    reply = await officer.post(
        f"/consultations/{cid}/messages",
        {
            "text": "Selamat pagi Ibu Sari, datanya ada di tabel IPM 2020-2025. Saya kirimkan berkasnya.",
            "client_id": "r1",
        },
        expect=201,
    )
    await officer.post(
        f"/consultations/{cid}/messages",
        {"text": "catatan: cek angka 2025 sementara", "client_id": "n1", "kind": "note"},
        expect=201,
    )
    form = aiohttp.FormData()
    form.add_field("file", PDF, filename="ipm-bombana-2020-2025.pdf", content_type="application/pdf")
    resp = await wa.client.post(
        f"/api/v1/consultations/{cid}/attachments", data=form, headers={"Authorization": f"Bearer {officer.token}"}
    )
    assert resp.status == 201, await resp.text()
    await officer.post(
        f"/consultations/{cid}/meeting", {"provider": "link", "url": "https://meet.example.org/pst-7406"}, expect=201
    )
    sent = await wa.wait_sent(4)
    texts = wa.fake.texts_to(SARI)
    assert not any("catatan" in t for t in texts)  # notes never leave
    assert any("Selamat pagi Ibu Sari" in t and "Budi Santoso" in t for t in texts)
    [doc] = [s for s in sent if s.type == "document"]
    assert doc.body["document"]["filename"] == "ipm-bombana-2020-2025.pdf"
    assert wa.fake.uploads[doc.body["document"]["id"]][0] == PDF
    await _until(lambda: _has(wa, "https://meet.example.org/pst-7406"))
    # Statuses come back from Meta and show in the room, never going backwards.
    reply_sent = next(s for s in wa.fake.sent if "Selamat pagi Ibu Sari" in s.text)
    for status in ("sent", "delivered", "read", "delivered"):
        await wa.webhook(wa.fake.status(reply_sent, status))
    msg = await wa.services.db.messages.find_one({"client_id": "r1"})
    assert msg["delivery"]["status"] == "read"
    seen = await sock.wait_for("message:status", lambda p: p["status"] == "read")
    assert seen["message_id"] == reply["id"] and seen["channel"] == "whatsapp"
    history = await officer.get(f"/consultations/{cid}/messages")
    assert [m for m in history["messages"] if m.get("client_id") == "r1"][0]["delivery"]["status"] == "read"
    # The user answers; close; transcript and rating go out by WhatsApp too.
    await wa.user_says(SARI, "Sari Wulandari", "Terima kasih banyak, sudah saya terima.")
    await officer.post(f"/consultations/{cid}/close", {"summary": "Data IPM 2020-2025 dikirim"}, expect=200)
    await _until(lambda: _has(wa, "/rate?token="))
    await _until(lambda: _has(wa, "transkrip-"))
    [transcript] = [s for s in wa.fake.sent if s.type == "document" and "transkrip" in s.text]
    data = wa.fake.uploads[transcript.body["document"]["id"]][0].decode()
    assert "Selamat pagi Ibu Sari" in data and "catatan" not in data
    assert wa.fake.refused == [] and wa.fake.unauthorized == 0
    await _print_for_the_lead(wa, officer, cid)


async def _has(wa: WhatsAppRig, needle: str) -> bool:
    return any(needle in s.text or needle in str(s.body) for s in wa.fake.sent)


async def _print_for_the_lead(wa: WhatsAppRig, officer: Any, cid: str) -> None:
    """What the officer saw in the room and what the user got on WhatsApp (run with -s)."""
    c = await officer.get(f"/consultations/{cid}")
    history = await officer.get(f"/consultations/{cid}/messages")
    print(f"\n=== WhatsApp consultation {c['number']} ({c['status']}), contact {c['contact']} ===")
    print("--- the room, as the officer saw it ---")
    for m in history["messages"]:
        status = f"  [{m['delivery']['status']}]" if m.get("delivery") else ""
        print(f"{m['seq']:>2} {m['kind']:<7} {m['author']['name']}: {m['text'][:110]!r}{status}")
    print("--- the Graph API calls the fake received (what the user got) ---")
    for method, path in wa.fake.calls:
        print(f"{method} {path}")
    for s in wa.fake.sent:
        print(f"-> {s.to} {s.type}: {s.text[:150]!r}")


async def test_outside_the_24_hour_window_only_the_template_goes_and_the_reply_waits(
    wa: WhatsAppRig, make_staff: Any
) -> None:
    await wa.user_says(SARI, "Sari", "Minta data kemiskinan")
    c = await _only(wa)
    cid = str(c["_id"])
    officer = await make_staff("officer", "7406", name="Budi")
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await wa.wait_sent(1)  # the receipt
    await _advance(wa, 25 * 3600)
    seen = await officer.get(f"/consultations/{cid}")
    assert seen["whatsapp_window_closes_at"] < wa.services.clock.now().isoformat()
    await officer.post(
        f"/consultations/{cid}/messages", {"text": "Datanya sudah tersedia.", "client_id": "late"}, expect=201
    )
    await wa.wait_sent(2)
    assert wa.fake.sent[-1].type == "template"
    assert wa.fake.sent[-1].body["template"]["name"] == "pst_reply_waiting"
    assert wa.fake.refused == []  # nothing free-form was even tried
    msg = await wa.services.db.messages.find_one({"client_id": "late"})
    assert msg["delivery"]["status"] == "waiting_window"
    await officer.post(f"/consultations/{cid}/messages", {"text": "Mohon dibalas.", "client_id": "late2"}, expect=201)
    await asyncio.sleep(0.3)
    assert len(wa.fake.sent) == 2  # one template per closed window
    # The user answers the template: the held replies go out, in order.
    await wa.user_says(SARI, "Sari", "Baik, saya di sini")
    await wa.wait_sent(4)
    assert [s.text.split("\n")[-1] for s in wa.fake.sent[2:]] == ["Datanya sudah tersedia.", "Mohon dibalas."]


async def test_a_window_closed_at_meta_holds_the_message_until_the_user_writes(
    wa: WhatsAppRig, make_staff: Any
) -> None:
    await wa.user_says(SARI, "Sari", "Halo")
    c = await _only(wa)
    await wa.wait_sent(1)
    # Meta's clock says the window closed although ours does not (a late webhook): 131047, held, not lost.
    wa.fake.last_inbound[SARI] = wa.services.clock.now() - timedelta(hours=30)
    officer = await make_staff("officer", "7406")
    await officer.post(f"/consultations/{c['_id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['_id']}/messages", {"text": "Jawaban kami", "client_id": "j"}, expect=201)
    await _until(lambda: _outbox_status(wa, "held"))
    assert [r["reason"] for r in wa.fake.refused] == ["131047"]
    await wa.user_says(SARI, "Sari", "Masih ada?")
    await _until(lambda: _has(wa, "Jawaban kami"))


async def _outbox_status(wa: WhatsAppRig, status: str) -> bool:
    return await wa.services.db.outbox.count_documents({"channel": "whatsapp", "status": status}) > 0


async def test_a_graph_api_outage_is_retried_with_back_off_and_sends_exactly_once(
    wa: WhatsAppRig, make_staff: Any
) -> None:
    await wa.user_says(SARI, "Sari", "Halo")
    c = await _only(wa)
    await wa.wait_sent(1)
    officer = await make_staff("officer", "7406")
    await officer.post(f"/consultations/{c['_id']}/claim", expect=200)
    wa.fake.fail_500_next = 3
    await officer.post(f"/consultations/{c['_id']}/messages", {"text": "Saat gangguan", "client_id": "o"}, expect=201)
    await _until(lambda: _attempts(wa, 1))
    item = await wa.services.db.outbox.find_one({"channel": "whatsapp", "kind": "officer_replied"})
    assert item["status"] == "pending" and item["due_at"] > wa.services.clock.now()  # backing off
    for _ in range(6):
        await _advance(wa, 3600)
        if await _outbox_status_of(wa, item["_id"], "sent"):
            break
    assert await _outbox_status_of(wa, item["_id"], "sent")
    assert [s.text for s in wa.fake.sent].count(next(s.text for s in wa.fake.sent if "Saat gangguan" in s.text)) == 1
    # A restarted worker (another process, same outbox) sends nothing again.
    other = make_notifier(wa.services)
    assert await other.run_once() == 0
    await other.sink.close()


async def _attempts(wa: WhatsAppRig, n: int) -> bool:
    item = await wa.services.db.outbox.find_one({"channel": "whatsapp", "kind": "officer_replied"})
    return item is not None and item["attempts"] >= n and item["status"] == "pending"


async def _outbox_status_of(wa: WhatsAppRig, item_id: Any, status: str) -> bool:
    item = await wa.services.db.outbox.find_one({"_id": item_id})
    return item is not None and item["status"] == status


async def test_a_worker_that_died_mid_send_is_replaced_after_its_lease(wa: WhatsAppRig) -> None:
    from server.storage.outbox import enqueue_whatsapp

    await wa.user_says(SARI, "Sari", "Halo")
    await wa.wait_sent(1)
    now = wa.services.clock.now()
    doc = await enqueue_whatsapp(
        wa.services.db,
        now,
        kind="officer_replied",
        to=SARI,
        phone_number_id=PNID,
        payload={"type": "text", "text": {"body": "dari pekerja yang mati"}},
    )
    assert doc is not None
    # As if a worker claimed it and died before calling the Graph API.
    await wa.services.db.outbox.update_one(
        {"_id": doc["_id"]},
        {
            "$set": {"status": "sending", "lease_until": now + timedelta(seconds=60), "worker": "dead"},
            "$inc": {"attempts": 1},
        },
    )
    assert not await _has(wa, "dari pekerja yang mati")
    await _advance(wa, 61)
    await _until(lambda: _has(wa, "dari pekerja yang mati"))
    await _advance(wa, 3600)
    assert sum("dari pekerja yang mati" in s.text for s in wa.fake.sent) == 1
