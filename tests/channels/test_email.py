"""E-mail as a way into consultations: a real dovecot mailbox in, a real SMTP server out."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.keys import MAIL_WATCHERS
from server.settings import Settings
from tests.conftest import SmtpServer
from tests.fakes.dovecot import (
    Dovecot,
    dovecot_server,  # noqa: F401 - the fixture "dovecot"
)

OFFICE_ADDRESS = "bps7406@bps.go.id"
SARI = "sari.wulandari@example.org"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def settings(settings: Settings, dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    """The app reads office 7406's mailbox in dovecot (from a file, as in production) and sends by SMTP."""
    accounts = tmp_path / "imap.json"
    accounts.write_text(json.dumps({"7406": dovecot.url}))
    return settings.model_copy(
        update={
            "pst_imap_accounts_file": accounts,
            "smtp_url": smtp_server.url,
            "pst_imap_poll_secs": 0.5,
            "pst_imap_idle_secs": 30.0,
            "pst_channel_mails_per_hour": 30,
        }
    )


@pytest.fixture
async def mailbox(app: Any, client: Any, services: Any, dovecot: Dovecot) -> Any:
    await services.db.offices.update_one({"code": "7406"}, {"$set": {"channels.email.address": OFFICE_ADDRESS}})
    services.offices.forget()  # written behind the app's back: read it again
    [watcher] = app[MAIL_WATCHERS]
    await _until(lambda: _true(watcher.passes >= 1))
    return watcher


async def _true(value: bool) -> bool:
    return value


async def _until(pred: Any, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await pred():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def mail(
    text: str,
    *,
    subject: str = "Permintaan data inflasi Bombana",
    sender: str = f"Sari Wulandari <{SARI}>",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"PST BPS Bombana <{OFFICE_ADDRESS}>"
    msg["Subject"] = subject
    mid = make_msgid(domain="example.org")
    msg["Message-ID"] = mid
    msg["Date"] = "Mon, 23 Nov 2026 09:00:00 +0700"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(text)
    for name, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(), mid


async def _emails(services: Any) -> list[dict[str, Any]]:
    return [c async for c in services.db.consultations.find({"channel": "email"}).sort("created_at", 1)]


async def _room(services: Any, c: dict[str, Any]) -> list[dict[str, Any]]:
    return [m async for m in services.db.messages.find({"consultation_id": c["_id"]}).sort("seq", 1)]


async def _deliver(dovecot: Dovecot, *raws: bytes) -> None:
    await asyncio.to_thread(dovecot.append, *raws)


async def test_email_end_to_end_as_the_officer_and_the_user_saw_it(
    mailbox: Any, services: Any, dovecot: Dovecot, smtp_server: SmtpServer, make_staff: Any, client: Any
) -> None:
    # In: a mail to the office's address opens a consultation in the queue; the receipt answers in its thread.
    raw, first_id = mail("Selamat pagi,\n\nSaya memerlukan data inflasi Bombana 2024 per bulan.\n\nSalam,\nSari")
    await _deliver(dovecot, raw)
    await _until(lambda: _count(services, 1))
    [c] = await _emails(services)
    assert c["status"] == "queued" and c["user_email"] == SARI and c["user_name"] == "Sari Wulandari"
    assert c["contact"]["address"] == SARI and c["subject"] == "Permintaan data inflasi Bombana"
    receipt = (await smtp_server.handler.wait_for(1))[0].message
    assert receipt["From"].addresses[0].addr_spec == OFFICE_ADDRESS
    assert receipt["In-Reply-To"] == first_id and c["number"] in receipt["Subject"]
    # Claim, reply with a file: one mail each, in the thread, from the office.
    officer = await make_staff("officer", "7406", name="Budi Santoso")
    cid = str(c["_id"])
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await officer.post(
        f"/consultations/{cid}/messages",
        {"text": "Selamat pagi Ibu Sari, terlampir tabel inflasi 2024.", "client_id": "r1"},
        expect=201,
    )
    await officer.post(
        f"/consultations/{cid}/messages", {"text": "catatan internal", "client_id": "n1", "kind": "note"}, expect=201
    )
    form = aiohttp.FormData()
    form.add_field("file", PDF, filename="inflasi-2024.pdf", content_type="application/pdf")
    resp = await client.post(
        f"/api/v1/consultations/{cid}/attachments", data=form, headers={"Authorization": f"Bearer {officer.token}"}
    )
    assert resp.status == 201
    got = await smtp_server.handler.wait_for(3)
    reply, file_mail = got[1].message, got[2].message
    assert reply["Subject"] == f"Re: Permintaan data inflasi Bombana [{c['number']}]"
    assert reply["In-Reply-To"] == first_id and first_id in reply["References"]
    assert "terlampir tabel inflasi" in reply.get_body(("plain",)).get_content()
    assert [p.get_filename() for p in file_mail.iter_attachments()] == ["inflasi-2024.pdf"]
    assert not any("catatan internal" in str(r.raw) for r in got)
    # The user answers in the thread, quoting and signing: the new text only is stored.
    answer, answer_id = mail(
        "Terima kasih Pak Budi, sudah saya terima.\n\nOn Mon, 23 Nov 2026 at 10:00, PST <bps7406@bps.go.id>"
        " wrote:\n> Selamat pagi Ibu Sari, terlampir tabel inflasi 2024.\n\n-- \nSari Wulandari\nUniversitas Halu Oleo",
        subject=f"Re: {reply['Subject']}",
        in_reply_to=reply["Message-ID"],
        references=f"{first_id} {reply['Message-ID']}",
    )
    await _deliver(dovecot, answer)
    await _until(lambda: _user_messages(services, c, 2))
    room = await _room(services, c)
    assert [m["text"] for m in room if m["author_role"] == "user"][-1] == "Terima kasih Pak Budi, sudah saya terima."
    # A mail program that keeps only the subject still finds the consultation by its number.
    bare, _ = mail("Satu pertanyaan lagi: ada data 2023?", subject=f"Pertanyaan [{c['number']}]")
    await _deliver(dovecot, bare)
    await _until(lambda: _user_messages(services, c, 3))
    assert len(await _emails(services)) == 1
    # Close: the transcript and the rating request go out the same way, in the thread.
    await officer.post(f"/consultations/{cid}/close", {"summary": "Data inflasi 2024 dikirim"}, expect=200)
    got = await smtp_server.handler.wait_for(5)
    closing = {r.message["Subject"]: r.message for r in got[3:]}
    assert all(m["From"].addresses[0].addr_spec == OFFICE_ADDRESS for m in closing.values())
    assert all(m["In-Reply-To"] for m in closing.values())
    assert any("/rate?token=" in m.get_body(("plain",)).get_content() for m in closing.values())
    transcript = next(m for m in closing.values() if "Terima kasih Pak Budi" in str(m))
    assert "catatan internal" not in str(transcript)
    await _print_for_the_lead(services, officer, cid, smtp_server)
    _ = answer_id


async def _count(services: Any, n: int) -> bool:
    return len(await _emails(services)) >= n


async def _user_messages(services: Any, c: dict[str, Any], n: int) -> bool:
    return sum(m["author_role"] == "user" for m in await _room(services, c)) >= n


async def _print_for_the_lead(services: Any, officer: Any, cid: str, smtp: SmtpServer) -> None:
    c = await officer.get(f"/consultations/{cid}")
    history = await officer.get(f"/consultations/{cid}/messages")
    print(f"\n=== E-mail consultation {c['number']} ({c['status']}), contact {c['contact']} ===")
    print("--- the room, as the officer saw it ---")
    for m in history["messages"]:
        print(f"{m['seq']:>2} {m['kind']:<7} {m['author']['name']}: {m['text'][:110]!r}")
    print("--- the mails the user got (SMTP) ---")
    for r in smtp.handler.received:
        m = r.message
        print(f"From: {m['From']} | To: {m['To']} | Subject: {m['Subject']} | In-Reply-To: {m['In-Reply-To']}")
        body = m.get_body(("plain",))
        print("   " + (body.get_content() if body else "")[:200].replace("\n", "\n   "))


async def test_machines_never_open_consultations(
    mailbox: Any, services: Any, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    auto, _ = mail(
        "I am out of office until Monday.", subject="Automatic reply: data", headers={"Auto-Submitted": "auto-replied"}
    )
    bounce, _ = mail(
        "Delivery to the following recipient failed permanently",
        subject="Undelivered Mail",
        sender="Mail Delivery System <MAILER-DAEMON@example.org>",
    )
    bulk, _ = mail("Newsletter", subject="Berita", headers={"Precedence": "bulk"})
    person, _ = mail("Saya minta data penduduk.")
    await _deliver(dovecot, auto, bounce, bulk, person)
    await _until(lambda: _count(services, 1))
    await asyncio.sleep(0.5)
    [c] = await _emails(services)
    assert c["user_email"] == SARI
    assert len(await smtp_server.handler.wait_for(1)) == 1  # the receipt of the person's mail only


@pytest.mark.timeout(300)
async def test_an_email_bomb_is_rate_limited_without_replies(
    mailbox: Any, services: Any, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    # 200 mails in a burst: 30 taken (the hourly limit), 171 dropped. Written into the maildir as a local
    # delivery would (APPEND one by one is slow).
    for i in range(200):
        dovecot.drop_into_maildir(mail(f"pesan {i}", subject=f"spam {i}")[0])
    dovecot.append(mail("wake up", subject="spam 200")[0])  # an APPEND makes dovecot look at new/ at once
    await _until(lambda: _inbound(services, 201), within=200)
    consultations = await _emails(services)
    assert len(consultations) == 1
    room = await _room(services, consultations[0])
    assert sum(m["author_role"] == "user" for m in room) == 30
    limited = await services.db.channel_inbound.count_documents({"status": "rate_limited"})
    assert limited == 171
    await asyncio.sleep(0.5)
    assert len(smtp_server.handler.received) == 1  # one receipt, never an answer per bomb


async def _inbound(services: Any, n: int) -> bool:
    return await services.db.channel_inbound.count_documents({"status": {"$ne": "processing"}}) >= n


async def test_oversized_mail_and_files_are_refused_with_a_reply_that_says_why(
    mailbox: Any, services: Any, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    huge, huge_id = mail(
        "Lampiran sensus",
        subject="Data sensus lengkap",
        attachments=[("sensus.pdf", "application/pdf", PDF + b"0" * (50 * 1024 * 1024))],
    )
    await asyncio.to_thread(dovecot.drop_into_maildir, huge)
    got = await smtp_server.handler.wait_for(1, timeout=60)
    refusal = got[0].message
    assert refusal["To"].addresses[0].addr_spec == SARI and refusal["In-Reply-To"] == huge_id
    assert "10 MB" in refusal.get_body(("plain",)).get_content()
    assert await _emails(services) == []
    # A mail under the fetch limit with one file over 10 MB: the text is taken, the file refused.
    medium, _ = mail(
        "Ini tabelnya",
        subject="Tabel",
        attachments=[
            ("besar.pdf", "application/pdf", PDF + b"0" * (11 * 1024 * 1024)),
            ("kecil.pdf", "application/pdf", PDF),
        ],
    )
    await _deliver(dovecot, medium)
    await _until(lambda: _count(services, 1), within=60)
    [c] = await _emails(services)
    await _until(lambda: _has_file(services, c), within=30)
    room = await _room(services, c)
    assert [m["attachment"]["filename"] for m in room if m["kind"] == "file"] == ["kecil.pdf"]
    assert any(m["kind"] == "system" and "besar.pdf" in m["text"] for m in room)
    got = await smtp_server.handler.wait_for(3, timeout=30)
    assert any("besar.pdf" in str(r.message["Subject"]) for r in got)


async def _has_file(services: Any, c: dict[str, Any]) -> bool:
    return any(m["kind"] == "file" for m in await _room(services, c))


async def test_a_mail_refused_as_busy_stays_in_the_mailbox_and_is_taken_on_the_next_pass(
    mailbox: Any, services: Any, dovecot: Dovecot
) -> None:
    # A database fallen behind refuses the insert (server.storage.batching.Overloaded): the mailbox position
    # must not move past the mail, and its claim must not be finished as refused, or the mail is lost.
    from server.storage.batching import Overloaded

    batch = services.batch.messages
    real_insert, refusals = batch.insert, []

    async def refuse_once(doc: Any) -> Any:
        if not refusals:
            refusals.append(doc.get("client_id"))
            raise Overloaded("the oldest waited over 1 s")
        return await real_insert(doc)

    batch.insert = refuse_once
    raw, mid = mail("Selamat pagi, saya memerlukan data inflasi Bombana 2024.")
    await _deliver(dovecot, raw)
    await _until(lambda: _user_messages_anywhere(services, "inflasi Bombana 2024"))
    assert len(refusals) == 1
    [c] = await _emails(services)
    assert [m["text"] for m in await _room(services, c) if m["author_role"] == "user"] == [
        "Selamat pagi, saya memerlukan data inflasi Bombana 2024."
    ]
    [taken] = [x async for x in services.db.channel_inbound.find({"channel": "email"})]
    assert taken["status"] == "taken" and mid in taken["_id"]


async def _user_messages_anywhere(services: Any, words: str) -> bool:
    return await services.db.messages.count_documents({"author_role": "user", "text": {"$regex": words}}) > 0
