"""The outbox worker against a real SMTP server (aiosmtpd) and the real database."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from notifier.sender import (
    BuildError,
    FileSink,
    PermanentSendError,
    SmtpConfig,
    SmtpSink,
    TemporarySendError,
    build_email,
    parse_smtp_url,
)
from notifier.worker import Notifier, backoff_secs
from server.domain.clock import TestClock
from server.embedded import free_port
from server.mail import mails
from server.mail.ics import build_invite
from server.mail.transcript import render_transcript
from server.storage.outbox import enqueue, new_message_id
from tests.conftest import MailHandler, SmtpServer

Doc = dict[str, Any]

MAIL_FROM = "PST Konsultasi <no-reply@pst.test>"
OFFICE = {
    "code": "7406",
    "name": "BPS Kabupaten Bombana",
    "time_zone": "Asia/Makassar",
    "address": "Jl. Contoh No. 1, Rumbia",
    "contacts": {"whatsapp": ["082261848787"], "email": ["bps7406@bps.go.id"]},
}
SMTP_USER = "pst@example.go.id"
SMTP_PASSWORD = "s3cr:t@/pass"


# --- helpers ------------------------------------------------------------------------------------


def notifier_for(db: Any, clock: TestClock, sink: Any, **kw: Any) -> Notifier:
    """A Notifier with small leases and backoffs so tests move the clock by seconds, not hours."""
    opts: dict[str, Any] = {
        "mail_from": MAIL_FROM,
        "lease_secs": 30,
        "batch": 20,
        "max_lost_leases": 4,
        "backoff_base_secs": 10,
        "backoff_max_secs": 60,
    }
    opts.update(kw)
    return Notifier(db, clock, sink, **opts)


def calendar_invite(
    *,
    uid: str,
    start: datetime,
    duration_min: int,
    summary: str,
    stamp: datetime,
    method: str = "REQUEST",
    url: str | None = None,
    attendee_email: str = "budi@example.com",
) -> Doc:
    """An .ics outbox attachment, as the meeting and visit mails carry."""
    data = build_invite(
        uid=uid,
        sequence=0,
        method="CANCEL" if method == "CANCEL" else "REQUEST",
        summary=summary,
        description="",
        start=start,
        duration_min=duration_min,
        tz="Asia/Makassar",
        location_url=url,
        organizer_email="no-reply@pst.test",
        organizer_name="PST",
        attendee_email=attendee_email,
        attendee_name=None,
        now=stamp,
    )
    filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
    return {"filename": filename, "content_type": "text/calendar", "method": method, "data": data}


def smtp_sink(server: SmtpServer | int, **kw: Any) -> SmtpSink:
    port = server if isinstance(server, int) else server.port
    return SmtpSink(SmtpConfig("127.0.0.1", port), timeout_secs=3, local_hostname="client.test", **kw)


async def queue_mail(db: Any, clock: TestClock, to: str, *, name: str = "Budi Santoso", n: int = 1, **kw: Any) -> Doc:
    consultation = {"_id": f"c{n}", "number": f"7406-2026-{n:05d}", "subject": f"Data kemiskinan {n}"}
    subject, text, html = mails.consultation_received(
        {"name": name, "lang": "id"}, consultation, OFFICE, "Kamis, 26 November 2026"
    )
    doc = await enqueue(
        db,
        clock.now(),
        kind="consultation_received",
        to=to,
        to_name=name,
        subject=subject,
        text=text,
        html=html,
        office="7406",
        **kw,
    )
    assert doc is not None
    return doc


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a received message."""
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    return str(text_part.get_content()), str(html_part.get_content())


async def outbox(db: Any, doc: Doc) -> Doc:
    found = await db.outbox.find_one({"_id": doc["_id"]})
    assert found is not None
    return dict(found)


async def drain(worker: Notifier) -> int:
    total = 0
    while (n := await worker.run_once()) > 0:
        total += n
    return total


@dataclass
class RecordingHandler(MailHandler):
    """MailHandler that also notes, per message, the client connection and whether it was TLS + AUTH."""

    peers: list[Any] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    authenticated: list[bool] = field(default_factory=list)
    drop_after_data: bool = False

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.peers.append(session.peer)
        transport = server.transport
        ssl_info = transport.get_extra_info("sslcontext") if transport is not None else None
        self.tls.append(session.ssl is not None or ssl_info is not None)
        self.authenticated.append(bool(session.authenticated))
        reply = await super().handle_DATA(server, session, envelope)
        if self.drop_after_data and transport is not None:
            # Hang up just after accepting, like a server that drops idle or busy clients.
            asyncio.get_running_loop().call_later(0.05, transport.close)
        return reply


@dataclass
class Auth:
    """An aiosmtpd authenticator that accepts one login and records the mechanisms used."""

    login: bytes = SMTP_USER.encode()
    password: bytes = SMTP_PASSWORD.encode()
    mechanisms: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.login,
            self.password,
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def start_server() -> Iterator[Callable[..., tuple[int, RecordingHandler]]]:
    """Starts aiosmtpd Controllers with any options; all are stopped at the end of the test."""
    controllers: list[Controller] = []

    def start(
        port: int | None = None, handler: RecordingHandler | None = None, **kwargs: Any
    ) -> tuple[int, RecordingHandler]:
        handler = handler or RecordingHandler()
        port = port or free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test", **kwargs)
        controller.start()
        controllers.append(controller)
        return port, handler

    yield start
    for c in controllers:
        c.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
async def sinks() -> AsyncIterator[list[SmtpSink]]:
    """Collects sinks made in a test and closes them, so no connection outlives the test."""
    made: list[SmtpSink] = []
    yield made
    for s in made:
        await s.close()


# --- configuration and message building ---------------------------------------------------------


def test_smtp_url_parsing_decodes_credentials_and_defaults_ports() -> None:
    cfg = parse_smtp_url("smtp+starttls://pst%40bps.go.id:p%40ss%3Aw%2Frd@mail.bps.go.id")
    assert (cfg.host, cfg.port, cfg.security) == ("mail.bps.go.id", 587, "starttls")
    assert (cfg.username, cfg.password) == ("pst@bps.go.id", "p@ss:w/rd")
    assert "p@ss" not in repr(cfg) and "p@ss" not in cfg.describe()
    assert parse_smtp_url("smtp://relay.local").port == 25
    assert parse_smtp_url("smtps://u:p@smtp.example.com").port == 465
    assert parse_smtp_url("smtps://smtp.example.com:2465").security == "tls"
    assert parse_smtp_url("smtp://relay.local:2525").username is None
    for bad in ("http://x", "smtp://", "smtp://host:notaport", "relay.local:25"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


def test_build_email_headers_parts_and_calendar_attachment() -> None:
    ics = calendar_invite(
        uid="m1@pst.test",
        start=datetime(2026, 11, 24, 6, tzinfo=UTC),
        duration_min=30,
        summary="Konsultasi 7406-2026-00001",
        stamp=datetime(2026, 11, 23, tzinfo=UTC),
        method="CANCEL",
    )
    doc = {
        "to": "siti@example.com",
        "to_name": "Siti Nurhaliza, S.Si.",
        "subject": "Konsultasi — selesai",
        "message_id": "<abc123@pst.test>",
        "text": "Halo Siti\n",
        "html": "<p>Halo Siti</p>",
        "lang": "id",
        "attachments": [ics, {"filename": "tabel.csv", "content_type": "text/csv", "data": b"a,b\n1,2\n"}],
    }
    msg = build_email(doc, MAIL_FROM, now=datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Message-ID"] == "<abc123@pst.test>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Subject"] == "Konsultasi — selesai"
    assert parsed["To"].addresses[0].display_name == "Siti Nurhaliza, S.Si."
    assert parsed["To"].addresses[0].addr_spec == "siti@example.com"
    assert parsed["From"].addresses[0].addr_spec == "no-reply@pst.test"
    assert parsed["Date"].datetime == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parts(parsed) == ("Halo Siti\n", "<p>Halo Siti</p>\n")
    cal = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert cal.get_param("method") == "CANCEL"
    assert cal.get_filename() == "cancel.ics"
    assert b"STATUS:CANCELLED" in cal.get_payload(decode=True)
    csv = next(p for p in parsed.walk() if p.get_content_type() == "text/csv")
    assert csv.get_payload(decode=True) == b"a,b\n1,2\n"
    # Text only: no multipart/alternative.
    plain = build_email({**doc, "html": None, "attachments": []}, MAIL_FROM)
    assert plain.get_content_type() == "text/plain"
    for broken in (
        {"to": "not-an-address"},
        {"to": "a@b.c\r\nBcc: x@y.z"},
        {"message_id": "nope"},
        {"attachments": [{"filename": "x", "content_type": "text/plain", "data": "str, not bytes"}]},
    ):
        with pytest.raises(BuildError):
            build_email({**doc, **broken}, MAIL_FROM)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_secs(a, 30, 3600) for a in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_secs(20, 30, 3600) == 3600
    assert backoff_secs(1, 30, 3600, jitter=1.2) == pytest.approx(36)


# --- delivery over SMTP -------------------------------------------------------------------------


async def test_delivers_over_one_connection_with_both_parts_and_the_queued_message_id(
    db: Any,
    clock: TestClock,
    start_server: Callable[..., tuple[int, RecordingHandler]],
    sinks: list[SmtpSink],
) -> None:
    port, handler = start_server()
    docs = [await queue_mail(db, clock, f"user{i}@example.com", name=f"Pengguna {i}", n=i) for i in range(1, 6)]
    sink = smtp_sink(port)
    sinks.append(sink)
    worker = notifier_for(db, clock, sink)

    assert await worker.run_once() == 5
    received = await handler.wait_for(5)
    by_id = {r.message["Message-ID"]: r for r in received}
    assert set(by_id) == {d["message_id"] for d in docs}
    for d in docs:
        r = by_id[d["message_id"]]
        assert r.rcpt_tos == [d["to"]]
        assert r.envelope_from == "no-reply@pst.test"
        assert r.message["Subject"] == d["subject"]
        assert r.message["To"].addresses[0].display_name == d["to_name"]
        text, html = parts(r.message)
        assert "dijawab paling lambat Kamis, 26 November 2026" in text
        assert "dijawab paling lambat Kamis, 26 November 2026" in html and html.lstrip().startswith("<!doctype")
        stored = await outbox(db, d)
        assert stored["status"] == "sent" and stored["attempts"] == 1
        assert stored["sent_at"] == clock.now()
    # One connection for the burst, closed at the end of the batch.
    assert len(set(handler.peers)) == 1
    assert sink.connections_opened == 1 and not sink.connected
    assert await worker.run_once() == 0


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_starttls_with_a_test_ca_and_auth(
    mechanism: str,
    db: Any,
    clock: TestClock,
    start_server: Callable[..., tuple[int, RecordingHandler]],
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    sinks: list[SmtpSink],
) -> None:
    auth = Auth()
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    port, handler = start_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=auth,
        auth_require_tls=True,
        auth_required=True,
        auth_exclude_mechanism=[other],
    )
    url = f"smtp+starttls://pst%40example.go.id:s3cr%3At%40%2Fpass@127.0.0.1:{port}"
    sink = SmtpSink(parse_smtp_url(url), tls_context=client_tls, timeout_secs=3, local_hostname="client.test")
    sinks.append(sink)
    doc = await queue_mail(db, clock, "tls@example.com")

    assert await notifier_for(db, clock, sink).run_once() == 1
    [r] = await handler.wait_for(1)
    assert r.message["Message-ID"] == doc["message_id"]
    assert handler.tls == [True] and handler.authenticated == [True]
    assert auth.mechanisms == [mechanism]
    assert (await outbox(db, doc))["status"] == "sent"


async def test_smtps_implicit_tls_with_ca_file(
    db: Any,
    clock: TestClock,
    start_server: Callable[..., tuple[int, RecordingHandler]],
    server_tls: ssl.SSLContext,
    ca: trustme.CA,
    tmp_path: Path,
    sinks: list[SmtpSink],
) -> None:
    auth = Auth()
    # With implicit TLS aiosmtpd cannot tell the session is encrypted, hence auth_require_tls=False.
    port, handler = start_server(ssl_context=server_tls, authenticator=auth, auth_require_tls=False)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sink = SmtpSink(
        parse_smtp_url(f"smtps://pst%40example.go.id:s3cr%3At%40%2Fpass@127.0.0.1:{port}"),
        ca_file=str(ca_file),
        timeout_secs=3,
        local_hostname="client.test",
    )
    sinks.append(sink)
    doc = await queue_mail(db, clock, "smtps@example.com")

    assert await notifier_for(db, clock, sink).run_once() == 1
    [r] = await handler.wait_for(1)
    assert r.message["Message-ID"] == doc["message_id"]
    assert handler.tls == [True] and handler.authenticated == [True]


async def test_untrusted_certificate_and_wrong_password_keep_mail_queued(
    db: Any,
    clock: TestClock,
    start_server: Callable[..., tuple[int, RecordingHandler]],
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    sinks: list[SmtpSink],
) -> None:
    port, handler = start_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=Auth(),
        auth_require_tls=True,
        auth_required=True,
    )
    doc = await queue_mail(db, clock, "x@example.com")
    # No test CA: the certificate cannot be verified.
    untrusting = SmtpSink(parse_smtp_url(f"smtp+starttls://u:p@127.0.0.1:{port}"), timeout_secs=3)
    sinks.append(untrusting)
    assert await notifier_for(db, clock, untrusting).run_once() == 1
    stored = await outbox(db, doc)
    assert stored["status"] == "pending" and "certificate" in stored["last_error"].lower()

    clock.advance(100)
    wrong = SmtpSink(
        parse_smtp_url(f"smtp+starttls://{SMTP_USER}:wrong@127.0.0.1:{port}"),
        tls_context=client_tls,
        timeout_secs=3,
    )
    sinks.append(wrong)
    assert await notifier_for(db, clock, wrong).run_once() == 1
    stored = await outbox(db, doc)
    assert stored["status"] == "pending" and "authentication" in stored["last_error"].lower()
    assert "wrong" not in stored["last_error"]
    assert handler.received == []


async def test_server_down_then_up_every_mail_arrives_exactly_once(
    db: Any,
    clock: TestClock,
    start_server: Callable[..., tuple[int, RecordingHandler]],
    sinks: list[SmtpSink],
) -> None:
    port = free_port()  # nothing listens here yet
    sink = smtp_sink(port)
    sinks.append(sink)
    worker = notifier_for(db, clock, sink)
    docs = [await queue_mail(db, clock, f"u{i}@example.com", n=i) for i in range(6)]

    assert await worker.run_once() == 6
    for d in docs:
        stored = await outbox(db, d)
        assert stored["status"] == "pending" and stored["attempts"] == 1
        assert "connect" in stored["last_error"].lower()
        # base 10 s, jitter 0.8..1.2
        assert clock.now() + timedelta(seconds=7.9) <= stored["due_at"] <= clock.now() + timedelta(seconds=12.1)
    assert sink.connections_opened == 0

    clock.advance(5)
    assert await worker.run_once() == 0  # backing off
    clock.advance(10)
    assert await worker.run_once() == 6
    second = await outbox(db, docs[0])
    assert second["attempts"] == 2
    assert second["due_at"] >= clock.now() + timedelta(seconds=15.9)  # doubled

    _, handler = start_server(port=port)
    clock.advance(30)
    assert await worker.run_once() == 6
    received = await handler.wait_for(6)
    assert sorted(r.message["Message-ID"] for r in received) == sorted(d["message_id"] for d in docs)
    clock.advance(3600)
    assert await worker.run_once() == 0
    await asyncio.sleep(0.1)
    assert len(handler.received) == 6
    assert {(await outbox(db, d))["status"] for d in docs} == {"sent"}


async def test_refused_recipient_fails_with_reason_others_delivered(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    smtp_server.handler.refuse_rcpt = {"nobody@example.com"}
    good1 = await queue_mail(db, clock, "a@example.com", n=1)
    bad = await queue_mail(db, clock, "nobody@example.com", n=2)
    good2 = await queue_mail(db, clock, "b@example.com", n=3)
    sink = smtp_sink(smtp_server)
    sinks.append(sink)

    assert await notifier_for(db, clock, sink).run_once() == 3
    received = await smtp_server.handler.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["a@example.com", "b@example.com"]
    failed = await outbox(db, bad)
    assert failed["status"] == "failed" and "550" in failed["last_error"] and "no such user" in failed["last_error"]
    assert (await outbox(db, good1))["status"] == (await outbox(db, good2))["status"] == "sent"
    clock.advance(7200)
    assert await notifier_for(db, clock, sink).run_once() == 0  # a permanent failure is not retried
    assert sink.connections_opened == 1  # the 550 did not cost the connection


async def test_temporary_451_retries_until_it_goes_through_or_its_time_budget_is_spent(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    smtp_server.handler.temp_fail = True
    later = await queue_mail(db, clock, "later@example.com", n=1)
    sink = smtp_sink(smtp_server)
    sinks.append(sink)
    worker = notifier_for(db, clock, sink, give_up_after_secs=250)

    assert await worker.run_once() == 1
    stored = await outbox(db, later)
    assert stored["status"] == "pending" and "451" in stored["last_error"]
    smtp_server.handler.temp_fail = False
    clock.advance(13)
    assert await worker.run_once() == 1
    [r] = await smtp_server.handler.wait_for(1)
    assert r.message["Message-ID"] == later["message_id"]
    assert (await outbox(db, later))["attempts"] == 2

    smtp_server.handler.temp_fail = True
    doomed = await queue_mail(db, clock, "doomed@example.com", n=2)
    for _ in range(3):
        assert await worker.run_once() == 1
        clock.advance(100)
    stored = await outbox(db, doomed)
    # Retried at 0, 100 and 200 s; the try at 300 s is past the 250 s budget: given up (tries are not counted).
    assert stored["status"] == "pending" and stored["attempts"] == 3
    assert await worker.run_once() == 1
    stored = await outbox(db, doomed)
    assert stored["status"] == "failed" and stored["attempts"] == 4 and "451" in stored["last_error"]
    assert await worker.run_once() == 0


async def test_two_workers_deliver_each_of_30_items_exactly_once(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    docs = [await queue_mail(db, clock, f"u{i}@example.com", n=i) for i in range(30)]
    a_sink, b_sink = smtp_sink(smtp_server), smtp_sink(smtp_server)
    sinks += [a_sink, b_sink]
    a = notifier_for(db, clock, a_sink, batch=4, worker_id="worker-a")
    b = notifier_for(db, clock, b_sink, batch=4, worker_id="worker-b")

    handled_a, handled_b = await asyncio.gather(drain(a), drain(b))
    assert handled_a + handled_b == 30
    assert handled_a > 0 and handled_b > 0
    received = await smtp_server.handler.wait_for(30)
    await asyncio.sleep(0.1)
    ids = [r.message["Message-ID"] for r in smtp_server.handler.received]
    assert len(ids) == 30 and set(ids) == {d["message_id"] for d in docs}
    assert len(received) == 30
    stored = [d async for d in db.outbox.find({})]
    assert {d["status"] for d in stored} == {"sent"} and {d["attempts"] for d in stored} == {1}
    assert {d["worker"] for d in stored} == {"worker-a", "worker-b"}


async def test_item_of_a_crashed_worker_is_sent_after_its_lease(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    doc = await queue_mail(db, clock, "orphan@example.com")
    # A worker claimed it and died before recording anything.
    await db.outbox.update_one(
        {"_id": doc["_id"]},
        {
            "$set": {
                "status": "sending",
                "worker": "dead-worker",
                "attempts": 1,
                "lease_until": clock.now() + timedelta(seconds=30),
            }
        },
    )
    sink = smtp_sink(smtp_server)
    sinks.append(sink)
    survivor = notifier_for(db, clock, sink, worker_id="survivor")

    assert await survivor.run_once() == 0  # still leased
    clock.advance(31)
    assert await survivor.run_once() == 1
    [r] = await smtp_server.handler.wait_for(1)
    assert r.message["Message-ID"] == doc["message_id"]
    stored = await outbox(db, doc)
    assert (stored["status"], stored["worker"], stored["attempts"]) == ("sent", "survivor", 2)


async def test_item_that_keeps_killing_workers_is_given_up(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    doc = await queue_mail(db, clock, "poison@example.com")
    await db.outbox.update_one(
        {"_id": doc["_id"]},
        {"$set": {"status": "sending", "worker": "dead", "attempts": 4, "lost_leases": 4, "lease_until": clock.now()}},
    )
    sink = smtp_sink(smtp_server)
    sinks.append(sink)
    assert await notifier_for(db, clock, sink, max_lost_leases=4).run_once() == 1
    stored = await outbox(db, doc)
    assert stored["status"] == "failed" and "gave up" in stored["last_error"]
    assert smtp_server.handler.received == []


async def test_header_injection_adds_no_headers_and_bad_items_do_not_stop_the_batch(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    now = clock.now()
    base = {
        "kind": "test",
        "status": "pending",
        "attempts": 0,
        "due_at": now,
        "lease_until": None,
        "created_at": now,
        "text": "body",
        "html": "<p>body</p>",
        "attachments": [],
        "lang": "id",
    }
    # Written straight to the collection, as a buggy or old producer might, bypassing enqueue()'s cleaning.
    sneaky = {
        **base,
        "to": "alice@example.com",
        "to_name": "Eve\r\nBcc: victim@example.com",
        "subject": "Hello\r\nX-Injected: yes\r\n\r\nfake body",
        "message_id": new_message_id("pst.test"),
    }
    unbuildable = {
        **base,
        "to": "bob@example.com\r\nBcc: victim@example.com",
        "to_name": "Bob",
        "subject": "Hi",
        "message_id": new_message_id("pst.test"),
    }
    await db.outbox.insert_many([unbuildable, sneaky])
    later = await queue_mail(db, clock, "carol@example.com")
    sink = smtp_sink(smtp_server)
    sinks.append(sink)

    assert await notifier_for(db, clock, sink).run_once() == 3
    received = await smtp_server.handler.wait_for(2)
    await asyncio.sleep(0.1)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.handler.received) == [
        "alice@example.com",
        "carol@example.com",
    ]
    r = next(r for r in received if r.rcpt_tos == ["alice@example.com"])
    assert r.message["Bcc"] is None and r.message["X-Injected"] is None
    assert r.message["Subject"] == "Hello X-Injected: yes fake body"
    assert r.message["To"].addresses[0].display_name == "Eve Bcc: victim@example.com"
    assert b"\nX-Injected:" not in r.raw and b"\nBcc:" not in r.raw
    assert b"victim" not in b"".join(x.raw for x in received if x.rcpt_tos != ["alice@example.com"])
    bad = await db.outbox.find_one({"message_id": unbuildable["message_id"]})
    assert bad["status"] == "failed" and "cannot build" in bad["last_error"]
    assert (await outbox(db, later))["status"] == "sent"


async def test_a_5000_message_transcript_renders_and_is_delivered(
    db: Any, clock: TestClock, smtp_server: SmtpServer, sinks: list[SmtpSink]
) -> None:
    start = datetime(2026, 11, 21, 6, 5, tzinfo=UTC)  # 14.05 WITA
    msgs: list[Doc] = []
    for seq in range(1, 5001):
        kind = "note" if seq % 50 == 0 else "file" if seq % 97 == 0 else "text"
        msgs.append(
            {
                "seq": seq,
                "kind": kind,
                "author_name": "Andi" if seq % 2 else "Petugas Rina",
                "author_role": "user" if seq % 2 else "officer",
                "text": f"SECRET-NOTE {seq}" if kind == "note" else f"pesan nomor {seq} <i>&</i>",
                "created_at": start + timedelta(seconds=20 * seq),
                "attachment": {"filename": f"tabel{seq}.xlsx", "size": 20480, "content_type": "application/x"}
                if kind == "file"
                else None,
                "meeting": None,
            }
        )
    consultation = {
        "_id": "c1",
        "number": "7406-2026-00077",
        "subject": "Data IPM",
        "created_at": start,
        "closed_at": start + timedelta(days=1),
    }
    t_text, t_html = render_transcript(consultation, msgs, OFFICE)
    subject, text, html = mails.consultation_closed(
        {"name": "Andi", "lang": "id"}, consultation, OFFICE, t_text, t_html, "resolved"
    )
    doc = await enqueue(
        db,
        clock.now(),
        kind="consultation_closed",
        to="andi@example.com",
        to_name="Andi",
        subject=subject,
        text=text,
        html=html,
    )
    assert doc is not None
    sink = smtp_sink(smtp_server)
    sinks.append(sink)

    assert await notifier_for(db, clock, sink).run_once() == 1
    [r] = await smtp_server.handler.wait_for(1)
    got_text, got_html = parts(r.message)
    assert "pesan nomor 4999 <i>&</i>" in got_text and "pesan nomor 1 <i>&</i>" in got_text
    assert "pesan nomor 4999 &lt;i&gt;&amp;&lt;/i&gt;" in got_html
    assert "SECRET-NOTE" not in got_text and "SECRET-NOTE" not in got_html
    assert "tabel97.xlsx (20,0 KB)" in got_text
    assert "21/11/2026 14.05 WITA" in got_text


# --- sink behaviour -----------------------------------------------------------------------------


async def test_sink_reconnects_when_the_server_hangs_up_and_closes_when_idle(
    start_server: Callable[..., tuple[int, RecordingHandler]], sinks: list[SmtpSink]
) -> None:
    port, handler = start_server(handler=RecordingHandler(drop_after_data=True))
    sink = smtp_sink(port, idle_secs=0.3)
    sinks.append(sink)

    def message(n: int) -> EmailMessage:
        return build_email(
            {
                "to": f"r{n}@example.com",
                "subject": f"m{n}",
                "text": "x",
                "message_id": new_message_id("pst.test"),
            },
            MAIL_FROM,
        )

    await sink.send(message(1))
    await asyncio.sleep(0.3)  # the server has hung up by now
    await sink.send(message(2))
    await handler.wait_for(2)
    assert sink.connections_opened == 2 and len(set(handler.peers)) == 2

    handler.drop_after_data = False
    await sink.send(message(3))
    assert sink.connected
    await asyncio.sleep(0.6)
    assert not sink.connected  # given back after idle_secs


async def test_sink_classifies_refusals(smtp_server: SmtpServer, sinks: list[SmtpSink]) -> None:
    sink = smtp_sink(smtp_server)
    sinks.append(sink)
    msg = build_email(
        {"to": "nobody@example.com", "subject": "s", "text": "x", "message_id": new_message_id("pst.test")},
        MAIL_FROM,
    )
    smtp_server.handler.refuse_rcpt = {"nobody@example.com"}
    with pytest.raises(PermanentSendError) as perm:
        await sink.send(msg)
    assert perm.value.code == 550
    smtp_server.handler.temp_fail = True
    with pytest.raises(TemporarySendError) as temp:
        await sink.send(msg)
    assert temp.value.code == 451


async def test_run_loop_wakes_on_kick_and_stops_cleanly(db: Any, clock: TestClock, smtp_server: SmtpServer) -> None:
    worker = notifier_for(db, clock, smtp_sink(smtp_server))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, interval_secs=60))
    await asyncio.sleep(0.2)  # first (empty) round done; now it sleeps up to 60 s
    doc = await queue_mail(db, clock, "kick@example.com")
    worker.kick()  # callable without await (the domain calls it that way) ...
    [r] = await smtp_server.handler.wait_for(1, timeout=5)
    assert r.message["Message-ID"] == doc["message_id"]
    doc2 = await queue_mail(db, clock, "kick2@example.com", n=2)
    await worker.kick()  # ... and with it
    await smtp_server.handler.wait_for(2, timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert (await outbox(db, doc2))["status"] == "sent"


async def test_file_sink_writes_parseable_eml_files(db: Any, clock: TestClock, tmp_path: Path) -> None:
    mail_dir = tmp_path / "data" / "mail"
    invite = calendar_invite(
        uid="meet-1@pst.test",
        start=datetime(2026, 11, 24, 6, tzinfo=UTC),
        duration_min=45,
        summary="Konsultasi 7406-2026-00001",
        stamp=clock.now(),
        url="https://meet.jit.si/pst-abc",
        attendee_email="budi@example.com",
    )
    d1 = await queue_mail(db, clock, "budi@example.com", attachments=[invite])
    d2 = await queue_mail(db, clock, "ani@example.com", name="Ani", n=2)
    worker = notifier_for(db, clock, FileSink(mail_dir, clock=clock))

    assert await worker.run_once() == 2
    files = sorted(mail_dir.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" and f.name.startswith("20261123T020000") for f in files)
    parsed: dict[str, EmailMessage] = {}
    for f in files:
        msg = message_from_bytes(f.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        parsed[msg["Message-ID"]] = msg
    assert set(parsed) == {d1["message_id"], d2["message_id"]}
    m1 = parsed[d1["message_id"]]
    assert m1["To"].addresses[0].addr_spec == "budi@example.com"
    assert "dijawab paling lambat" in parts(m1)[0]
    cal = next(p for p in m1.walk() if p.get_content_type() == "text/calendar")
    assert cal.get_param("method") == "REQUEST"
    assert b"URL:https://meet.jit.si/pst-abc" in cal.get_payload(decode=True)
    assert {(await outbox(db, d))["status"] for d in (d1, d2)} == {"sent"}
