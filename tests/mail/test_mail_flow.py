"""E-mail from the running app to a real SMTP server: transcript, rating link, reply notices, delivery log."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from server.settings import Settings
from tests.conftest import SmtpServer


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url})


async def _drain(client: Any) -> None:
    # The test clock endpoint runs the due scheduler jobs and a notifier pass.
    resp = await client.post("/api/v1/_test/clock", json={"advance_seconds": 0})
    assert resp.status == 200


def _mails(smtp: SmtpServer, to: str, subject_part: str) -> list[Any]:
    return [r for r in smtp.handler.received if to in r.rcpt_tos and subject_part in str(r.message["Subject"])]


async def test_transcript_email_has_every_visible_message_and_no_notes(
    make_user: Any, make_staff: Any, client: Any, smtp_server: SmtpServer, connect: Any
) -> None:
    user = await make_user(name="Wulan")
    officer = await make_staff("officer", "7406", name="Pak Ahmad")
    c = await user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Data kemiskinan", "text": "Berapa garis kemiskinan Bombana?"},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(
        f"/consultations/{c['id']}/messages",
        {"text": "Catatan: cek publikasi", "client_id": "n", "kind": "note"},
        expect=201,
    )
    await officer.post(
        f"/consultations/{c['id']}/messages",
        {"text": "Silakan lihat publikasi Kabupaten Bombana Dalam Angka.", "client_id": "a"},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/close", {"summary": "Dirujuk ke publikasi"}, expect=200)
    await _drain(client)
    received = await smtp_server.handler.wait_for(3)
    email = user.user["email"]
    closed = _mails(smtp_server, email, c["number"])
    assert closed, [str(r.message["Subject"]) for r in received]
    transcript = next(
        m
        for m in closed
        if "ditutup" in str(m.message["Subject"]).lower() or "transkrip" in str(m.message["Subject"]).lower()
    )
    text = transcript.message.get_body(preferencelist=("plain",)).get_content()
    html = transcript.message.get_body(preferencelist=("html",)).get_content()
    assert "Berapa garis kemiskinan Bombana?" in text
    assert "Silakan lihat publikasi Kabupaten Bombana Dalam Angka." in text and "Pak Ahmad" in text
    assert "WITA" in text  # times in the office's time zone
    assert "Catatan: cek publikasi" not in text and "Catatan: cek publikasi" not in html
    # The rating request carries a signed one-click link.
    rating = [
        r
        for r in smtp_server.handler.received
        if email in r.rcpt_tos and "/rate?token=" in r.message.get_body(preferencelist=("plain",)).get_content()
    ]
    assert rating
    link = re.search(
        r"http://pst\.test/rate\?token=\S+", rating[0].message.get_body(preferencelist=("plain",)).get_content()
    )
    assert link
    # The staff see the delivery log.
    log = (await officer.get(f"/consultations/{c['id']}/deliveries"))["deliveries"]
    kinds = {d["kind"]: d for d in log}
    assert kinds["consultation_closed"]["status"] == "sent" and kinds["consultation_closed"]["to"] == email
    assert (await user.call("GET", f"/consultations/{c['id']}/deliveries"))[0] == 403
    # The user asks for the transcript again.
    before = len(smtp_server.handler.received)
    await user.post(f"/consultations/{c['id']}/transcript/email", expect=202)
    await _drain(client)
    await smtp_server.handler.wait_for(before + 1)
    # And can read it on the page, notes excluded.
    resp = await client.get(
        f"/api/v1/consultations/{c['id']}/transcript?format=text", headers={"Authorization": f"Bearer {user.token}"}
    )
    page = await resp.text()
    assert resp.status == 200 and "Silakan lihat publikasi" in page and "Catatan: cek" not in page


async def test_reply_notice_only_when_user_is_away_and_at_most_every_15_minutes(
    make_user: Any, make_staff: Any, client: Any, services: Any, connect: Any
) -> None:
    user = await make_user()
    officer = await make_staff("officer", "1808")
    c = await user.post(
        "/consultations",
        {"office": "1808", "topic": "metadata", "subject": "Metadata", "text": "Definisi rumah tangga?"},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    online = await connect(user)

    async def reply(i: int) -> None:
        await officer.post(
            f"/consultations/{c['id']}/messages", {"text": f"jawaban {i}", "client_id": f"r{i}"}, expect=201
        )

    await reply(1)  # the user is connected: no e-mail
    assert await services.db.outbox.count_documents({"kind": "officer_replied"}) == 0
    await online.close()
    await asyncio.sleep(0.2)
    await reply(2)
    await reply(3)
    assert await services.db.outbox.count_documents({"kind": "officer_replied"}) == 1
    services.clock.advance(15 * 60 + 1)
    await reply(4)
    assert await services.db.outbox.count_documents({"kind": "officer_replied"}) == 2
