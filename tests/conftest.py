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
from argon2 import PasswordHasher
from pymongo import AsyncMongoClient

from mongo_init.schema import apply, seed_offices
from server.domain import security
from server.domain.clock import TestClock
from server.embedded import EmbeddedDatabase, free_port
from server.services import Services
from server.settings import Settings
from server.storage.write_watch import listeners

# The browser fixtures live here once, so the whole run shares one Chromium: a module importing
# a session fixture gets its own copy, and each copy launched (and kept) a browser of its own.
from tests.browser import base_url, browser, new_context  # noqa: F401

Doc = dict[str, Any]

# The suite makes thousands of accounts: argon2id at its production cost (~0.1 s a hash and again a
# check, on this 2-core VM) was a quarter of its time. The same algorithm at its cheapest here; the
# tests that time the answers (tests/http/test_enumeration.py) put the production one back, and
# tests/domain/test_security.py checks what production uses.
security.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


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
        # As the product talks to its embedded SecantusDB (server.storage.db.make_client): no retryable writes.
        yield server.uri + "&retryWrites=false"
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def mongo_client(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[Doc]]:
    # The product's write watch too: a test's direct write is forgotten by the app's copies (write_watch).
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=listeners())
    yield client
    await client.close()


@pytest.fixture
async def db_name(mongo_client: AsyncMongoClient[Doc]) -> AsyncIterator[str]:
    """A fresh database for one test, with the schema and the seed offices; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    db = mongo_client[name]
    # The tests run on a fake clock: no expiry on the wall clock (it deleted live sessions).
    await apply(db, wall_clock_expiry=False)
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
        # The suite shares two cores with chromium and the database: a late event loop there is the machine,
        # not overload (tests/realtime/test_refusals.py turns the refusal on).
        pst_busy_loop_late_secs=0,
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

    svc = Services(settings=settings, db=db, clock=clock, events=RecordingEvents())
    # One process over the test database: every write is heard, so the message path keeps its copies.
    svc.consultations.enabled = True
    return svc


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

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:  # noqa: ASYNC109 - a polling deadline whose failure names what was awaited
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


# --- the application --------------------------------------------------------------------------


@dataclass
class Api:
    """A signed-in HTTP client of the test app, with helpers for the JSON API."""

    client: Any
    token: str | None = None
    user: Doc | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(self, method: str, path: str, json: Any = None, expect: int | None = None,
                   **kw: Any) -> tuple[int, Any]:
        resp = await self.client.request(method, "/api/v1" + path, json=json, headers=self._headers(), **kw)
        ctype = resp.headers.get("Content-Type", "")
        body = await resp.json() if "json" in ctype else await resp.text()
        if expect is not None:
            assert resp.status == expect, (resp.status, body)
        return resp.status, body

    async def get(self, path: str, **kw: Any) -> Any:
        return (await self.call("GET", path, expect=kw.pop("expect", 200), **kw))[1]

    async def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return (await self.call("POST", path, json=json, expect=kw.pop("expect", None), **kw))[1]


@pytest.fixture
async def app(settings: Settings) -> Any:
    from server.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app: Any, aiohttp_client: Any) -> Any:
    """The app from create_app(settings) behind a real TCP server, with a test client."""
    return await aiohttp_client(app)


@pytest.fixture
def services(app: Any, client: Any) -> Services:
    from server.keys import SERVICES

    svc: Services = app[SERVICES]
    return svc


@pytest.fixture
def anon(client: Any) -> Api:
    return Api(client)


async def outbox_link(db: Any, to: str, kind: str) -> str:
    """The link in the newest queued e-mail of `kind` to `to`."""
    import re

    doc = await db.outbox.find_one({"to": to, "kind": kind}, sort=[("created_at", -1), ("_id", -1)])
    assert doc is not None, f"no {kind} mail to {to}"
    m = re.search(r"https?://\S+token=[\w.\-]+", doc["text"])
    assert m, doc["text"]
    return m.group(0)


@pytest.fixture
def make_user(client: Any, app: Any) -> Any:
    """Register, verify (through the e-mailed link) and log in a member of the public."""
    from server.keys import SERVICES

    counter = iter(range(10_000))

    async def make(name: str = "Warga", email: str | None = None, lang: str = "id") -> Api:
        email = email or f"user{next(counter)}-{uuid.uuid4().hex[:6]}@example.id"
        api = Api(client)
        await api.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": name,
                                                  "lang": lang}, expect=202)
        link = await outbox_link(app[SERVICES].db, email, "verify_email")
        token = link.split("token=")[1]
        await api.call("POST", "/auth/verify", {"token": token}, expect=200)
        _, body = await api.call("POST", "/auth/login", {"email": email, "password": "rahasia-123"}, expect=200)
        api.token, api.user = body["token"], body["user"]
        return api

    return make


@pytest.fixture
def make_staff(client: Any, app: Any) -> Any:
    """Create a staff account through the same action the CLI uses, and log in."""
    from server.domain import accounts
    from server.keys import SERVICES

    async def make(role: str = "officer", office: str | None = "7406", name: str = "Petugas") -> Api:
        email = f"{role}-{uuid.uuid4().hex[:8]}@bps.go.id"
        await accounts.create_staff(app[SERVICES], email=email, name=name, role=role, office=office,
                                    password="petugas-123")
        api = Api(client)
        _, body = await api.call("POST", "/auth/login", {"email": email, "password": "petugas-123"}, expect=200)
        api.token, api.user = body["token"], body["user"]
        return api

    return make


# --- Socket.IO clients ------------------------------------------------------------------------


class SocketClient:
    """A python-socketio client of the test server that records every event it receives."""

    def __init__(self, url: str, token: str | None) -> None:
        import socketio

        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))

    async def connect(self) -> SocketClient:
        auth = {"token": self.token} if self.token else None
        await self.sio.connect(self.url, auth=auth, transports=["websocket"], socketio_path="socket.io",
                               wait_timeout=10)
        return self

    async def call(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, timeout=10)

    def of(self, event: str) -> list[Any]:
        return [d for e, d in self.events if e == event]

    async def wait_for(self, event: str, pred: Any = None, timeout: float = 5.0) -> Any:  # noqa: ASYNC109 - a polling deadline whose failure names the event
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for d in self.of(event):
                if pred is None or pred(d):
                    return d
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {event} event matching; got {[e for e, _ in self.events]}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        await self.sio.disconnect()


@pytest.fixture
async def connect(client: Any) -> AsyncIterator[Any]:
    """Open Socket.IO connections as a given Api user; all are closed after the test."""
    opened: list[SocketClient] = []
    url = str(client.make_url("/"))

    async def make(api: Api | None) -> SocketClient:
        sc = SocketClient(url, api.token if api else None)
        await sc.connect()
        opened.append(sc)
        return sc

    yield make
    for sc in opened:
        try:
            await sc.close()
        except Exception:  # noqa: BLE001
            pass
