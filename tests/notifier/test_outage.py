"""SMTP down for a day: nothing queued is given up for a temporary failure within three days, the
delivery log shows what waits and when it is tried next, and once the server is back each mail goes
out exactly once. A real aiosmtpd answers 451 (try again later) through the outage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId

from notifier.sender import SmtpConfig, SmtpSink, TemporarySendError
from notifier.whatsapp_sender import WindowClosedError
from notifier.worker import BACKOFF_MAX, GIVE_UP_AFTER, Notifier
from server.domain import officer_tools
from server.domain.clock import TestClock
from server.services import Services
from server.storage.outbox import enqueue, enqueue_whatsapp, release_held_whatsapp
from tests.conftest import SmtpServer

Doc = dict[str, Any]
MAIL_FROM = "PST Konsultasi <no-reply@pst.test>"


async def _staff_and_consultation(svc: Services) -> tuple[Doc, Doc]:
    now = svc.now()
    officer: Doc = {"name": "Budi", "email": "budi@bps.go.id", "role": "officer", "office": "7406", "created_at": now}
    officer["_id"] = (await svc.db.users.insert_one(dict(officer))).inserted_id
    c: Doc = {
        "number": "7406-2026-00001",
        "office": "7406",
        "channel": "online",
        "user_id": ObjectId(),
        "status": "active",
        "subject": "Inflasi",
        "created_at": now,
        "last_seq": 1,
    }
    c["_id"] = (await svc.db.consultations.insert_one(dict(c))).inserted_id
    return officer, c


async def _queue(svc: Services, c: Doc, n: int) -> list[Doc]:
    docs = []
    for i in range(n):
        doc = await enqueue(
            svc.db,
            svc.now(),
            kind="officer_replied",
            to=f"warga{i}@example.id",
            subject=f"Balasan {i}",
            text=f"Balasan petugas {i}",
            consultation_id=c["_id"],
            office="7406",
        )
        assert doc is not None
        docs.append(doc)
    return docs


def _sink(smtp: SmtpServer) -> SmtpSink:
    return SmtpSink(SmtpConfig(smtp.host, smtp.port), timeout_secs=3, local_hostname="client.test")


async def _run_for(worker: Notifier, clock: TestClock, hours: float, step_minutes: float = 10) -> int:
    """Let the worker poll every `step_minutes` of test time for `hours`; how many items it handled."""
    handled = 0
    for _ in range(int(hours * 60 / step_minutes)):
        clock.advance(step_minutes * 60)
        handled += await worker.run_once()
    return handled


async def test_a_day_long_outage_loses_nothing_and_each_mail_goes_out_once(
    svc: Services, clock: TestClock, smtp_server: SmtpServer
) -> None:
    assert GIVE_UP_AFTER >= timedelta(days=3) and BACKOFF_MAX <= timedelta(minutes=30)
    officer, c = await _staff_and_consultation(svc)
    docs = await _queue(svc, c, 3)
    sink = _sink(smtp_server)
    worker = Notifier(svc.db, clock, sink, mail_from=MAIL_FROM)
    smtp_server.handler.temp_fail = True
    try:
        assert await worker.run_once() == 3
        # 30 hours of "451 try again later": more than eight tries each, none given up.
        tries = 3 + await _run_for(worker, clock, hours=30)
        assert tries > 3 * 8
        log = await officer_tools.deliveries(svc, officer, c["_id"])
        assert [d["status"] for d in log] == ["pending"] * 3
        for d in log:
            assert d["attempts"] > 8 and "451" in (d["last_error"] or "")
            assert d["next_attempt_at"] is not None and d["last_attempt_at"] is not None
            # The back-off is capped, so the next try is at most half an hour (plus jitter) away.
            nxt = d["next_attempt_at"]
            assert clock.now().isoformat() <= nxt
        stored = await svc.db.outbox.find_one({"_id": docs[0]["_id"]})
        assert stored is not None and stored["due_at"] - stored["last_attempt_at"] <= BACKOFF_MAX * 1.2
        assert smtp_server.handler.received == []

        smtp_server.handler.temp_fail = False
        await _run_for(worker, clock, hours=1)
        received = await smtp_server.handler.wait_for(3)
        await _run_for(worker, clock, hours=24)
        assert len(smtp_server.handler.received) == 3
        assert sorted(r.message["Message-ID"] for r in received) == sorted(d["message_id"] for d in docs)
        log = await officer_tools.deliveries(svc, officer, c["_id"])
        assert [d["status"] for d in log] == ["sent"] * 3
        assert all(d["next_attempt_at"] is None and d["sent_at"] for d in log)
    finally:
        await sink.close()


async def test_a_temporary_failure_is_given_up_only_after_the_time_budget(
    svc: Services, clock: TestClock, smtp_server: SmtpServer
) -> None:
    officer, c = await _staff_and_consultation(svc)
    [doc] = await _queue(svc, c, 1)
    sink = _sink(smtp_server)
    worker = Notifier(svc.db, clock, sink, mail_from=MAIL_FROM)
    smtp_server.handler.temp_fail = True
    try:
        assert await worker.run_once() == 1
        await _run_for(worker, clock, hours=71, step_minutes=30)
        stored = await svc.db.outbox.find_one({"_id": doc["_id"]})
        assert stored is not None and stored["status"] == "pending"
        await _run_for(worker, clock, hours=2, step_minutes=30)
        stored = await svc.db.outbox.find_one({"_id": doc["_id"]})
        assert stored is not None and stored["status"] == "failed"
        assert "gave up" in stored["last_error"] and "451" in stored["last_error"]
        [entry] = await officer_tools.deliveries(svc, officer, c["_id"])
        assert entry["status"] == "failed" and entry["next_attempt_at"] is None
    finally:
        await sink.close()


class _FlakyWhatsApp:
    """Stands in for notifier.whatsapp_sender.WhatsAppSink: fails as told, else sends."""

    def __init__(self) -> None:
        self.mode = "down"
        self.sent: list[Any] = []

    async def send(self, doc: Doc) -> str:
        if self.mode == "down":
            raise TemporarySendError("graph api: 503")
        if self.mode == "window":
            raise WindowClosedError("outside the 24-hour window")
        self.sent.append(doc["_id"])
        return f"wamid.{len(self.sent)}"


async def test_a_whatsapp_message_held_for_its_window_gets_a_fresh_budget(
    svc: Services, clock: TestClock, smtp_server: SmtpServer
) -> None:
    """Days of temporary failures, then held (the user's window closed), then released days later: the
    held time is not failing time, so the next temporary failure is retried, not given up."""
    doc = await enqueue_whatsapp(
        svc.db,
        svc.now(),
        kind="officer_replied",
        to="6281234567890",
        phone_number_id="1234567890",
        payload={"type": "text", "text": {"body": "Balasan"}},
    )
    assert doc is not None
    wa = _FlakyWhatsApp()
    sink = _sink(smtp_server)
    worker = Notifier(svc.db, clock, sink, mail_from=MAIL_FROM, whatsapp=wa)  # type: ignore[arg-type]
    try:
        assert await worker.run_once() == 1
        await _run_for(worker, clock, hours=48, step_minutes=30)
        wa.mode = "window"
        await _run_for(worker, clock, hours=1, step_minutes=30)
        stored = await svc.db.outbox.find_one({"_id": doc["_id"]})
        assert stored is not None and stored["status"] == "held"
        clock.advance(3 * 86400)
        await release_held_whatsapp(svc.db, svc.now(), to="6281234567890", phone_number_id="1234567890")
        wa.mode = "down"
        await _run_for(worker, clock, hours=2, step_minutes=30)
        stored = await svc.db.outbox.find_one({"_id": doc["_id"]})
        assert stored is not None and stored["status"] == "pending", stored.get("last_error")
        wa.mode = "up"
        await _run_for(worker, clock, hours=1, step_minutes=30)
        assert wa.sent == [doc["_id"]]
    finally:
        await sink.close()
