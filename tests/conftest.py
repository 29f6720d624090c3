"""Real servers for the tests: SecantusDB (one per session, a fresh database per test) and aiosmtpd."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import Envelope, Session
from pymongo import AsyncMongoClient

from mongo_init.schema import apply, seed_offices
from server.domain.clock import TestClock
from server.embedded import EmbeddedDatabase, free_port
from server.services import Services
from server.settings import Settings

Doc = dict[str, Any]


@pytest.fixture(scope="session")
async def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A real MongoDB-wire server: SecantusDB as a child process, or PST_TEST_MONGODB_URI if set."""
    external = os.environ.get("PST_TEST_MONGODB_URI")
    if external:
        yield external
        return
    path = tmp_path_factory.mktemp("secantus") / "db"
    server = EmbeddedDatabase(path, log_path=path.parent / "secantus.log")
    await server.start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def mongo_client(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def db_name(mongo_client: AsyncMongoClient[Doc]) -> AsyncIterator[str]:
    """A fresh database for one test, with the schema and the seed offices; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    db = mongo_client[name]
    await apply(db)
    await seed_offices(db)
    yield name
    await mongo_client.drop_database(name)


@pytest.fixture
def db(mongo_client: AsyncMongoClient[Doc], db_name: str) -> Any:
    return mongo_client[db_name]


@pytest.fixture
def settings(mongo_uri: str, db_name: str, tmp_path: Path) -> Settings:
    """Settings for a test app: real database, its own data dir, the test clock on."""
    return Settings(
        mongodb_uri=mongo_uri,
        pst_db_name=db_name,
        pst_data_dir=tmp_path / "data",
        pst_secret_key="test-secret-key-not-for-production",
        public_base_url="http://pst.test",
        pst_test_clock=True,
        pst_scheduler_interval_secs=3600,
        pst_notifier_interval_secs=0.05,
    )


@pytest.fixture
def clock() -> TestClock:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # A Monday morning in Jakarta, far from holidays.
    return TestClock(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta")))


@pytest.fixture
def svc(settings: Settings, db: Any, clock: TestClock) -> Services:
    """Domain services over the test database, with a recording event sink."""
    from server.domain.ports import RecordingEvents

    return Services(settings=settings, db=db, clock=clock, events=RecordingEvents())


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class Received:
    envelope_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class MailHandler:
    """Collects what the SMTP server received; can refuse recipients or the whole server."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    temp_fail: bool = False

    async def handle_RCPT(self, server: SMTPProtocol, session: Session, envelope: Envelope,  # noqa: N802
                          address: str, rcpt_options: list[str]) -> str:
        if self.temp_fail:
            return "451 4.3.0 try again later"
        if address.lower() in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), msg, raw))
        return "250 Message accepted"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return self.received


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: MailHandler
    controller: Controller

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port (it cannot bind port 0 itself)."""
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler, controller)
    finally:
        controller.stop()
