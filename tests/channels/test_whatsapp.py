"""WhatsApp as a way into consultations, against a fake Graph API that keeps Meta's rules."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from typing import Any

from server.domain.errors import Forbidden
from tests.channels.conftest import OTHER_PNID, PNID, WhatsAppRig
from tests.fakes.fake_whatsapp import dumps

SARI = "6281234567890"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _consultations(wa: WhatsAppRig, **query: Any) -> list[dict[str, Any]]:
    return [c async for c in wa.services.db.consultations.find({"channel": "whatsapp", **query}).sort("created_at", 1)]


async def _room(wa: WhatsAppRig, c: dict[str, Any]) -> list[dict[str, Any]]:
    return [m async for m in wa.services.db.messages.find({"consultation_id": c["_id"]}).sort("seq", 1)]


# --- the webhook's edges ---------------------------------------------------------------------------------


async def test_meta_verification_answers_the_challenge_only_for_the_right_token(wa: WhatsAppRig) -> None:
    url = "/api/v1/channels/whatsapp/webhook"
    ok = await wa.client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": wa.fake.verify_token, "hub.challenge": "1158201444"}
    )
    assert ok.status == 200 and await ok.text() == "1158201444"
    assert ok.headers["Content-Type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": wa.fake.verify_token, "hub.challenge": "1"},
        {},
    ):
        bad = await wa.client.get(url, params=params)
        assert bad.status == 403, params


async def test_a_notification_needs_the_signature_of_its_raw_body(wa: WhatsAppRig) -> None:
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", text="Halo")
    raw = dumps(body)
    # Missing, wrong, and valid for a re-serialised body (the signature covers the exact bytes).
    await wa.webhook(body, signature="", expect=401)
    await wa.webhook(body, signature="sha256=" + "0" * 64, expect=401)
    await wa.webhook(body, raw=raw.replace(b",", b", "), signature=wa.fake.sign(raw), expect=401)
    assert await _consultations(wa) == []
    # A cookie session does not matter (the route is exempt from the CSRF check): the signature does.
    await wa.webhook(body, raw=raw)
    assert len(await _consultations(wa)) == 1


async def test_malformed_and_unknown_payloads_are_answered_200_and_ignored(wa: WhatsAppRig, caplog: Any) -> None:
    bodies: list[Any] = [
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]},
        {"object": "whatsapp_business_account", "entry": "x"},
        [1, 2, 3],
        wa.fake.user_message("999999999999", SARI, "Sari", text="to nobody's number")[0],
        wa.fake._envelope(PNID, {"messages": [{"from": "not-a-number", "id": "x", "type": "text"}]}),
        wa.fake._envelope(PNID, {"statuses": [{"id": "wamid.unknown", "status": "read"}]}),
    ]
    for body in bodies:
        await wa.webhook(body)
    await wa.webhook(None, raw=b"{not json")
    assert await _consultations(wa) == []
    assert "no office owns phone_number_id 999999999999" in caplog.text


# --- taking messages in ------------------------------------------------------------------------------------


async def test_a_message_opens_a_consultation_once_and_the_next_continues_it(wa: WhatsAppRig, make_staff: Any) -> None:
    body, wamid = wa.fake.user_message(PNID, SARI, "Sari Wulandari", text="Saya butuh data IPM Bombana 2025")
    await wa.webhook(body)
    await wa.webhook(body)  # Meta retries a webhook: stored once
    [c] = await _consultations(wa)
    assert c["office"] == "7406" and c["status"] == "queued" and c["user_name"] == "Sari Wulandari"
    assert c["contact"]["address"] == "+" + SARI and c["contact"]["linked"] is False
    assert c["subject"] == "Saya butuh data IPM Bombana 2025"
    assert abs(c["contact"]["window_until"] - (wa.services.clock.now() + timedelta(hours=24))) < timedelta(seconds=5)
    await wa.user_says(SARI, "Sari Wulandari", "Tahun 2020 sampai 2025")
    [c] = await _consultations(wa)
    room = await _room(wa, c)
    assert [m["text"] for m in room] == ["Saya butuh data IPM Bombana 2025", "Tahun 2020 sampai 2025"]
    assert c["client_id"] == f"wa:{wamid}" and room[1]["client_id"].startswith("wa:wamid.")
    # The same number writing to another office's number is another office's consultation.
    await wa.user_says(SARI, "Sari Wulandari", "Halo Tulang Bawang", pnid=OTHER_PNID)
    assert {c["office"] for c in await _consultations(wa)} == {"7406", "1808"}
    # It is in the office's queue like any consultation, with its channel and contact.
    officer = await make_staff("officer", "7406")
    listed = await officer.get("/consultations?status=queued")
    [row] = [x for x in listed["consultations"] if x["channel"] == "whatsapp"]
    assert row["contact"] == {"channel": "whatsapp", "name": "Sari Wulandari", "address": "+" + SARI, "linked": False}
    assert row["whatsapp_window_closes_at"] is not None
    # The receipt went back by WhatsApp, inside the window.
    sent = await wa.wait_sent(2)
    assert any("7406-" in s.text for s in sent if s.to == SARI and s.phone_number_id == PNID)


async def test_a_number_matching_a_verified_account_is_that_account(wa: WhatsAppRig, make_user: Any) -> None:
    user = await make_user(name="Rina")
    await wa.services.db.users.update_one(
        {"_id": __import__("bson").ObjectId(user.user["id"])}, {"$set": {"phone": "081234567890"}}
    )
    await wa.user_says(SARI, "Rina HP", "Minta tabel inflasi")
    [c] = await _consultations(wa)
    assert str(c["user_id"]) == user.user["id"] and c["contact"]["linked"] is True
    # The account holder sees it in the portal.
    mine = await user.get("/consultations")
    assert [x["channel"] for x in mine["consultations"]] == ["whatsapp"]


async def test_images_and_documents_are_fetched_and_checked_like_uploads(wa: WhatsAppRig) -> None:
    image = wa.fake.add_media(PNG, "image/png")
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", image=image, caption="Tabel ini")
    await wa.webhook(body)
    [c] = await _consultations(wa)
    room = await _room(wa, c)
    assert room[0]["text"] == "Tabel ini" and room[1]["kind"] == "file"
    att = room[1]["attachment"]
    assert att["content_type"] == "image/png" and att["size"] == len(PNG)
    # A document of a type uploads refuse, and one over 10 MB, are refused in the room and to the user.
    exe = wa.fake.add_media(b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream")
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", document=exe, filename="setup.exe")
    await wa.webhook(body)
    big = wa.fake.add_media(PDF, "application/pdf", declared_size=50 * 1024 * 1024)
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", document=big, filename="sensus.pdf")
    await wa.webhook(body)
    ok = wa.fake.add_media(PDF, "application/pdf")
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", document=ok, filename="surat.pdf")
    await wa.webhook(body)
    room = await _room(wa, c)
    refused = [
        m["text"] for m in room if m["kind"] == "system" and (m.get("data") or {}).get("event") == "file_refused"
    ]
    assert len(refused) == 2 and "setup.exe" in refused[0] and "sensus.pdf" in refused[1] and "10 MB" in refused[1]
    assert [m["attachment"]["filename"] for m in room if m["kind"] == "file"] == ["whatsapp-image.png", "surat.pdf"]
    texts = wa.fake.texts_to(SARI) if await wa.wait_sent(3) else []
    assert any("sensus.pdf" in t and "10 MB" in t for t in texts)


async def test_kinds_we_cannot_show_are_noted_for_the_officer(wa: WhatsAppRig) -> None:
    body, _ = wa.fake.user_message(PNID, SARI, "Sari", kind="audio")
    await wa.webhook(body)
    [c] = await _consultations(wa)
    room = await _room(wa, c)
    assert room[-1]["kind"] == "system" and "audio" in room[-1]["text"]


# --- the office's channels ------------------------------------------------------------------------------


async def test_office_admins_set_the_number_and_never_a_secret(wa: WhatsAppRig, make_staff: Any) -> None:
    admin = await make_staff("admin", "7406")
    st, body = await admin.call(
        "PATCH",
        "/offices/7406/channels",
        {"whatsapp": {"phone_number_id": "123456789012"}, "email": {"address": "PST7406@BPS.go.id"}},
    )
    assert st == 200, body
    assert body["channels"] == {
        "whatsapp": {"phone_number_id": "123456789012", "configured": True},
        "email": {"address": "pst7406@bps.go.id", "imap_configured": False},
    }
    assert wa.fake.token not in str(body) and wa.fake.app_secret not in str(body)
    other_admin = await make_staff("admin", "1808")
    officer = await make_staff("officer", "7406")
    await officer.call("PATCH", "/offices/7406/channels", {"whatsapp": {"phone_number_id": "1"}}, expect=403)
    await other_admin.call("PATCH", "/offices/7406/channels", {"whatsapp": {"phone_number_id": "99999"}}, expect=403)
    await admin.call("PATCH", "/offices/7406/channels", {"whatsapp": {"phone_number_id": "12ab"}}, expect=422)
    await admin.call("PATCH", "/offices/7406/channels", {"email": {"address": "not an address"}}, expect=422)
    st, body = await admin.call(
        "PATCH", "/offices/7406/channels", {"email": {"address": "a@b.id", "imap_password": "hunter2"}}
    )
    assert st == 422
    # Another office's number cannot be taken.
    await other_admin.call(
        "PATCH", "/offices/1808/channels", {"whatsapp": {"phone_number_id": "123456789012"}}, expect=409
    )
    # Omitted stays; null clears.
    st, body = await admin.call("PATCH", "/offices/7406/channels", {"email": None})
    assert body["channels"]["email"]["address"] is None
    assert body["channels"]["whatsapp"]["phone_number_id"] == "123456789012"
    got = await admin.get("/offices/7406/channels")
    assert got["channels"]["whatsapp"]["phone_number_id"] == "123456789012"
    await officer.call("GET", "/offices/7406/channels", expect=403)


def test_secrets_stay_out_of_reprs(settings: Any) -> None:
    from server.integrations.whatsapp import WhatsAppClient

    assert settings.whatsapp_token not in repr(settings)
    assert settings.whatsapp_app_secret not in repr(settings)
    assert settings.whatsapp_token not in repr(WhatsAppClient(settings.whatsapp_token, settings.whatsapp_api_base))


def test_unused_imports_are_used() -> None:
    assert Forbidden and io and zipfile


async def test_a_message_refused_as_busy_is_handed_back_and_taken_when_meta_sends_it_again(wa: WhatsAppRig) -> None:
    # A database fallen behind refuses the insert (server.storage.batching.Overloaded): the webhook must not
    # answer 200, or Meta never sends the message again, and its claim must not be finished as refused.
    from server.storage.batching import Overloaded

    await wa.user_says(SARI, "Sari Wulandari", "Saya butuh data IPM Bombana 2025")
    batch = wa.services.batch.messages
    real_insert, refusals = batch.insert, []

    async def refuse_once(doc: Any) -> Any:
        if not refusals:
            refusals.append(doc["client_id"])
            raise Overloaded("the oldest waited over 1 s")
        return await real_insert(doc)

    batch.insert = refuse_once
    body, wamid = wa.fake.user_message(PNID, SARI, "Sari Wulandari", text="Tahun 2020 sampai 2025")
    out = await wa.webhook(body, expect=409)
    assert out["error"]["code"] == "busy" and refusals == [f"wa:{wamid}"]
    [c] = await _consultations(wa)
    assert [m["text"] for m in await _room(wa, c)] == ["Saya butuh data IPM Bombana 2025"]
    await wa.webhook(body)  # Meta sends it again
    await wa.webhook(body)  # and once more: still stored once
    assert [m["text"] for m in await _room(wa, c)] == ["Saya butuh data IPM Bombana 2025", "Tahun 2020 sampai 2025"]
    taken = await wa.services.db.channel_inbound.find_one({"_id": f"wa:{wamid}"})
    assert taken["status"] == "done"
