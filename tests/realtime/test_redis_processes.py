"""Several processes as one product, in one test process: web, scheduler and notifier apps built by
create_app with their `role`, on one database and one real Redis (the real-process topology with nginx
is tests/process/test_topology.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from bson import ObjectId

from server.app import create_app
from server.domain import accounts
from server.domain import messages as msgs
from server.domain.clock import TestClock
from server.keys import SERVICES
from server.services import Services
from server.settings import Settings
from server.storage.room_seq import LocalRoomSeqState
from tests.conftest import Api, SocketClient, outbox_link
from tests.realtime.redis_server import RedisServer, running_redis

WITA = ZoneInfo("Asia/Makassar")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)  # a Monday


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from running_redis()


Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def start(settings: Settings, redis_server: RedisServer) -> AsyncIterator[Start]:
    """start(role, **settings) -> a running app of that role on the shared database and Redis."""
    clients: list[TestClient] = []

    async def make(role: str, **extra: Any) -> TestClient:
        update = {"redis_url": redis_server.url, "role": role, "pst_rate_limits": False, **extra}
        client = TestClient(TestServer(create_app(settings.model_copy(update=update))))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        await client.close()


def svc_of(client: TestClient) -> Services:
    svc: Services = client.app[SERVICES]
    return svc


async def signed_in_user(client: TestClient, email: str = "warga@example.id") -> Api:
    api = Api(client)
    await api.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": "Warga"}, expect=202)
    token = (await outbox_link(svc_of(client).db, email, "verify_email")).split("token=")[1]
    await api.call("POST", "/auth/verify", {"token": token}, expect=200)
    _, body = await api.call("POST", "/auth/login", {"email": email, "password": "rahasia-123"}, expect=200)
    api.token, api.user = body["token"], body["user"]
    return api


async def signed_in_officer(client: TestClient, office: str = "7406", name: str = "Budi Petugas") -> Api:
    email = f"petugas-{ObjectId()}@bps.go.id"
    await accounts.create_staff(
        svc_of(client), email=email, name=name, role="officer", office=office, password="petugas-123"
    )
    api = Api(client)
    _, body = await api.call("POST", "/auth/login", {"email": email, "password": "petugas-123"}, expect=200)
    api.token, api.user = body["token"], body["user"]
    return api


async def socket(client: TestClient, api: Api) -> SocketClient:
    return await SocketClient(str(client.make_url("/")), api.token).connect()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.05)


async def test_a_mail_queued_by_a_web_process_wakes_the_notifier_process(start: Start, db: Any) -> None:
    web = await start("web")
    # The notifier would poll only once an hour: the mail goes out at once because it was woken.
    await start("notifier", pst_notifier_interval_secs=3600)
    await asyncio.sleep(0.3)  # its first poll is done; from here only a wake-up sends
    await Api(web).call(
        "POST",
        "/auth/register",
        {"email": "bangun@example.id", "password": "rahasia-123", "name": "Bangun"},
        expect=202,
    )

    async def sent() -> bool:
        return await db.outbox.count_documents({"to": "bangun@example.id", "status": "sent"}) == 1

    await eventually(sent, within=5)


async def test_an_idle_close_by_the_scheduler_process_reaches_sockets_on_two_web_processes(
    start: Start, db: Any
) -> None:
    web_a, web_b = await start("web"), await start("web")
    scheduler = await start("scheduler")
    # Moving the scheduler's test clock moves every process's.
    resp = await scheduler.post("/api/v1/_test/clock", json={"set": T0.isoformat()})
    assert resp.status == 200
    for web in (web_a, web_b):
        await eventually(lambda web=web: _reads(web, T0))  # type: ignore[misc]

    user = await signed_in_user(web_a)
    officer = await signed_in_officer(web_b)
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock, osock = await socket(web_a, user), await socket(web_b, officer)
    try:
        for sock in (usock, osock):
            assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
        # They chat across the two processes.
        ack = await osock.call(
            "message:send", {"consultation_id": c["id"], "text": "Datanya di tabel 4.2.", "client_id": "o-1"}
        )
        assert ack["ok"]
        await usock.wait_for("message:new", lambda m: m["text"] == "Datanya di tabel 4.2.")

        # The user goes quiet: a warning a day before, then the close, each decided by the scheduler.
        for days in (6, 7):
            resp = await scheduler.post("/api/v1/_test/clock", json={"set": (T0 + timedelta(days=days)).isoformat()})
            assert resp.status == 200, await resp.text()
        for sock in (usock, osock):
            await sock.wait_for("message:new", lambda m: (m.get("data") or {}).get("event") == "idle_warning")
            await sock.wait_for("consultation:updated", lambda d: d["id"] == c["id"] and d["status"] == "closed")
        stored = await db.consultations.find_one({"_id": ObjectId(c["id"])})
        assert stored["status"] == "closed" and stored["close_reason"] == "idle"
    finally:
        await usock.close()
        await osock.close()


async def _reads(client: TestClient, when: datetime) -> bool:
    clock = svc_of(client).clock
    return isinstance(clock, TestClock) and clock.now() == when


async def test_seq_stays_contiguous_with_a_stale_cache_in_each_of_two_processes(
    start: Start, db: Any, mongo_uri: str
) -> None:
    from pymongo import AsyncMongoClient, monitoring

    web_a, web_b = await start("web"), await start("web")
    user = await signed_in_user(web_a)
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Seq", "text": "pesan 1"}, expect=201
    )
    cid = ObjectId(c["id"])
    author = await db.users.find_one({"_id": ObjectId(user.user["id"])})  # type: ignore[index]

    class Inserts(monitoring.CommandListener):
        count = 0

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name == "insert" and event.command.get("insert") == "messages":
                Inserts.count += 1

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    # Process A counts its inserts (its own client, as a separate process would have).
    watched: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[Inserts()])
    try:
        a = svc_of(web_a)
        a_svc = Services(settings=a.settings, db=watched[db.name], clock=a.clock, rooms=LocalRoomSeqState())
        b_svc = svc_of(web_b)
        await msgs.post_message(a_svc, author, cid, text="dari A", client_id="a-1")  # A remembers seq 2
        for i in range(3):
            await msgs.post_message(b_svc, author, cid, text=f"dari B {i}", client_id=f"b-{i}")  # 3, 4, 5
        # B's room updates written (they trail its messages by up to Settings.pst_trailing_secs; inside that
        # window A would clash once on the unique index and re-read the highest seq, as the burst below does).
        await b_svc.batch.trailing.flush()
        before = Inserts.count
        msg, _ = await msgs.post_message(a_svc, author, cid, text="A lagi", client_id="a-2")
        # A's stale hint "last seq 2" is overruled by the consultation it reads (last_seq 5, written by B):
        # one insert, no clash (before session 4: one clash on the unique index and one re-read).
        assert msg["seq"] == 6 and Inserts.count - before == 1
        # The same client_id again through the other process is the same message, not a new one.
        again, _ = await msgs.post_message(b_svc, author, cid, text="A lagi", client_id="a-2")
        assert again["_id"] == msg["_id"]

        # Both processes sending at once, each with its own lock and cache: no gap, no repeat.
        async def burst(svc: Services, tag: str) -> list[int]:
            out = []
            for i in range(15):
                m, _ = await msgs.post_message(svc, author, cid, text=f"{tag} {i}", client_id=f"{tag}-{i}")
                out.append(m["seq"])
            return out

        seqs_a, seqs_b = await asyncio.gather(burst(a_svc, "x"), burst(b_svc, "y"))
        assert seqs_a == sorted(seqs_a) and seqs_b == sorted(seqs_b)
        stored = [m["seq"] async for m in db.messages.find({"consultation_id": cid}).sort("seq", 1)]
        assert stored == list(range(1, 37))
        assert (await db.consultations.find_one({"_id": cid}))["last_seq"] == 36
    finally:
        await watched.close()


async def test_redis_down_each_web_process_serves_its_own_clients_and_comes_back_alone(
    start: Start, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    web_a, web_b = await start("web"), await start("web")
    user = await signed_in_user(web_a)
    officer = await signed_in_officer(web_a)
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Redis mati", "text": "Halo"}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock, osock = await socket(web_a, user), await socket(web_a, officer)
    try:
        for sock in (usock, osock):
            assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

        redis_server.stop()
        # Process A keeps serving the two clients it holds: messages both ways, promptly.
        loop = asyncio.get_running_loop()
        began = loop.time()
        for i in range(3):
            ack = await osock.call(
                "message:send", {"consultation_id": c["id"], "text": f"jawab {i}", "client_id": f"o-{i}"}
            )
            assert ack["ok"], ack
            await usock.wait_for("message:new", lambda m, i=i: m["text"] == f"jawab {i}")
        assert loop.time() - began < 3
        # Process B still answers over HTTP (no Redis needed for that).
        await Api(web_b, token=user.token).get(f"/consultations/{c['id']}")
        await asyncio.sleep(0.5)
        warned = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
        # Once per process for its shared state, once per process for the Socket.IO fan-out (at most).
        assert 1 <= len(warned) <= 4, [r.getMessage() for r in warned]

        redis_server.start()
        # Back by itself: a message sent through B reaches the socket on A again.
        late = Api(web_b, token=officer.token)

        tries = iter(range(1000))

        async def crosses() -> bool:
            # A new client_id each try: the same one again would be the same message, emitted once.
            n = next(tries)
            await late.post(f"/consultations/{c['id']}/messages", {"text": "lewat B", "client_id": f"b-{n}"})
            await asyncio.sleep(0.2)
            return any(m["text"] == "lewat B" for m in usock.of("message:new"))

        await eventually(crosses, within=10)
        assert [r for r in caplog.records if "reachable again" in r.getMessage()]
    finally:
        await usock.close()
        await osock.close()
