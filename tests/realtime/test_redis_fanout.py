"""Several web processes: with REDIS_URL, an event emitted by one reaches sockets connected to another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import Settings
from tests.conftest import Api, SocketClient, outbox_link
from tests.realtime.redis_server import running_redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port (installed by .ci/run)."""
    for server in running_redis():
        yield server.url


@pytest.fixture
async def two_processes(settings: Settings, redis_url: str) -> AsyncIterator[tuple[TestClient, TestClient]]:
    """Two web apps on one database and one Redis, as two `pst serve --role web` would be."""
    clients = []
    for _ in range(2):
        app = create_app(settings.model_copy(update={"redis_url": redis_url, "role": "web"}))
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
    yield clients[0], clients[1]
    for client in clients:
        await client.close()


async def _login_user(client: TestClient, app_db: Any) -> Api:
    api = Api(client)
    email = "lintas@example.id"
    await api.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": "Lintas"}, expect=202)
    token = (await outbox_link(app_db, email, "verify_email")).split("token=")[1]
    await api.call("POST", "/auth/verify", {"token": token}, expect=200)
    _, body = await api.call("POST", "/auth/login", {"email": email, "password": "rahasia-123"}, expect=200)
    api.token, api.user = body["token"], body["user"]
    return api


async def test_message_sent_through_one_process_reaches_a_socket_on_the_other(
    two_processes: tuple[TestClient, TestClient], db: Any
) -> None:
    from server.domain import accounts
    from server.keys import SERVICES

    a, b = two_processes
    user = await _login_user(a, db)
    await accounts.create_staff(
        a.app[SERVICES],
        email="lintas-petugas@bps.go.id",
        name="Petugas Lintas",
        role="officer",
        office="1808",
        password="petugas-123",
    )
    officer = Api(a)
    _, body = await officer.call(
        "POST", "/auth/login", {"email": "lintas-petugas@bps.go.id", "password": "petugas-123"}, expect=200
    )
    officer.token = body["token"]
    c = await user.post(
        "/consultations",
        {"office": "1808", "topic": "data", "subject": "Lintas proses", "text": "Halo dari proses A"},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    # The user is connected to process B only.
    sock = SocketClient(str(b.make_url("/")), user.token)
    await sock.connect()
    try:
        joined = await sock.call("consultation:join", {"consultation_id": c["id"]})
        assert joined["ok"]
        await asyncio.sleep(0.3)  # let the room membership settle in B
        await officer.post(
            f"/consultations/{c['id']}/messages", {"text": "Jawaban dari proses A", "client_id": "x"}, expect=201
        )
        got = await sock.wait_for("message:new", lambda d: d["text"] == "Jawaban dari proses A", timeout=10)
        assert got["consultation_id"] == c["id"]
    finally:
        await sock.close()


async def _staff(client: TestClient, email: str, office: str, name: str) -> Api:
    from server.domain import accounts
    from server.keys import SERVICES

    await accounts.create_staff(
        client.app[SERVICES], email=email, name=name, role="officer", office=office, password="petugas-123"
    )
    api = Api(client)
    _, body = await api.call("POST", "/auth/login", {"email": email, "password": "petugas-123"}, expect=200)
    api.token, api.user = body["token"], body["user"]
    return api


async def _claimed_room(user: Api, officer: Api, subject: str) -> str:
    """A consultation of office 1808 opened by `user` and claimed by `officer`: its id."""
    c = await user.post(
        "/consultations", {"office": "1808", "topic": "data", "subject": subject, "text": "Halo"}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    return str(c["id"])


async def _until_disconnected(sock: SocketClient, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a polling deadline
    deadline = asyncio.get_running_loop().time() + timeout
    while sock.sio.connected:
        assert asyncio.get_running_loop().time() < deadline, "the other process did not disconnect the socket"
        await asyncio.sleep(0.02)


async def test_logout_through_one_process_ends_the_socket_on_the_other(
    two_processes: tuple[TestClient, TestClient], db: Any
) -> None:
    a, b = two_processes
    user = await _login_user(a, db)
    c = await user.post(
        "/consultations", {"office": "1808", "topic": "data", "subject": "Keluar", "text": "Halo"}, expect=201
    )
    sock = SocketClient(str(b.make_url("/")), user.token)
    await sock.connect()
    try:
        assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
        await user.post("/auth/logout", expect=200)  # handled by process A
        assert await sock.wait_for("session:ended", timeout=10) == {"reason": "logout"}
        await _until_disconnected(sock)
    finally:
        if sock.sio.connected:
            await sock.close()


async def test_transfer_through_one_process_removes_the_old_officer_on_the_other(
    two_processes: tuple[TestClient, TestClient], db: Any
) -> None:
    a, b = two_processes
    user = await _login_user(a, db)
    old = await _staff(a, "lama@bps.go.id", "1808", "Lama")
    new = await _staff(a, "baru@bps.go.id", "1600", "Baru")
    cid = await _claimed_room(user, old, "Pindah")
    osock = SocketClient(str(b.make_url("/")), old.token)  # the old officer on process B
    usock = SocketClient(str(b.make_url("/")), user.token)
    await osock.connect()
    await usock.connect()
    try:
        for s in (osock, usock):
            assert (await s.call("consultation:join", {"consultation_id": cid}))["ok"]
        await asyncio.sleep(0.3)
        await old.post(
            f"/consultations/{cid}/transfer", {"to_user": new.user["id"], "to_office": "1600"}, expect=200
        )  # through process A
        await osock.wait_for("consultation:updated", lambda d: d["office"] == "1600", timeout=10)
        await new.post(f"/consultations/{cid}/messages", {"text": "Dari kantor baru", "client_id": "n1"}, expect=201)
        await new.post(
            f"/consultations/{cid}/messages", {"text": "Catatan baru", "kind": "note", "client_id": "n2"}, expect=201
        )
        await usock.wait_for("message:new", lambda d: d["text"] == "Dari kantor baru", timeout=10)
        await asyncio.sleep(0.5)
        leaked = [d["text"] for d in osock.of("message:new") if d["text"] in ("Dari kantor baru", "Catatan baru")]
        assert leaked == []
        ack = await osock.call("typing", {"consultation_id": cid, "typing": True})
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    finally:
        await osock.close()
        await usock.close()


async def test_pst_admin_disable_user_in_its_own_process_ends_the_sockets_now(
        two_processes: tuple[TestClient, TestClient], db: Any, settings: Settings, redis_url: str,
        tmp_path: Any) -> None:
    """`pst admin disable-user` runs as a separate process: through Redis, the web process holding the
    account's socket ends it at once; `enable-user` lets the account sign in again."""
    import os
    import sys

    a, b = two_processes
    officer = await _staff(a, "nonaktif@bps.go.id", "1808", "Nonaktif")
    sock = SocketClient(str(b.make_url("/")), officer.token)
    await sock.connect()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "PST_", "SMTP_", "REDIS_"))}
    env.update(MONGODB_URI=settings.mongodb_uri or "", PST_DB_NAME=settings.pst_db_name, REDIS_URL=redis_url,
               PST_DATA_DIR=str(tmp_path))

    async def pst(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", "admin", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return int(proc.returncode or 0), out.decode()

    try:
        code, out = await pst("disable-user", "--email", "nonaktif@bps.go.id")
        assert code == 0 and "disabled officer nonaktif@bps.go.id" in out, out
        assert await sock.wait_for("session:ended", timeout=10) == {"reason": "account_disabled"}
        await _until_disconnected(sock)
        status, _ = await Api(a).call("POST", "/auth/login", {"email": "nonaktif@bps.go.id",
                                                              "password": "petugas-123"})
        assert status == 401
        code, out = await pst("disable-user", "--email", "tidak-ada@bps.go.id")
        assert code == 2 and "not_found" in out
        code, out = await pst("enable-user", "--email", "nonaktif@bps.go.id")
        assert code == 0 and "enabled" in out, out
        await Api(a).call("POST", "/auth/login", {"email": "nonaktif@bps.go.id", "password": "petugas-123"},
                          expect=200)
    finally:
        if sock.sio.connected:
            await sock.close()


async def test_an_office_changed_in_one_process_is_read_again_in_the_other(
    two_processes: tuple[TestClient, TestClient],
) -> None:
    from bson import ObjectId

    from server.domain import offices
    from server.keys import SERVICES

    a, b = two_processes
    sa, sb = a.app[SERVICES], b.app[SERVICES]
    kept = await offices.get_office(sb, "1808")  # B reads it once and keeps it
    assert sb.offices.get("1808") is kept
    auto = bool((kept.get("policy") or {}).get("auto_assign"))
    admin = {"_id": ObjectId(), "role": "admin", "office": None}
    await offices.update_policy(sa, admin, "1808", {"auto_assign": not auto})
    # A forgot it at once; B hears of it through Redis and reads it again.
    assert sa.offices.get("1808") is None
    for _ in range(50):
        if sb.offices.get("1808") is None:
            break
        await asyncio.sleep(0.1)
    assert (await offices.get_office(sb, "1808"))["policy"]["auto_assign"] is (not auto)


async def test_over_redis_each_socket_gets_a_message_once(
    two_processes: tuple[TestClient, TestClient], db: Any
) -> None:
    """room:activity skips the sockets in the consultation's room in every process (judged where they live)."""
    a, b = two_processes
    user = await _login_user(a, db)
    officer = await _staff(a, "diruang@bps.go.id", "1808", "Di Ruang")
    colleague = await _staff(a, "diantrean@bps.go.id", "1808", "Di Antrean")
    cid = await _claimed_room(user, officer, "Sekali")
    inside = await SocketClient(str(b.make_url("/")), officer.token).connect()  # on B, in the room
    outside = await SocketClient(str(a.make_url("/")), colleague.token).connect()  # on A, the office's list
    try:
        assert (await inside.call("consultation:join", {"consultation_id": cid}))["ok"]
        await asyncio.sleep(0.3)
        sent = await user.post(
            f"/consultations/{cid}/messages", {"text": "Sekali saja", "client_id": "once"}, expect=201
        )
        seq = sent["seq"]
        await outside.wait_for(
            "room:activity", lambda p: any(i["message"]["seq"] == seq for i in p["items"]), timeout=10
        )
        await inside.wait_for("message:new", lambda m: m["seq"] == seq, timeout=10)
        await asyncio.sleep(0.3)
        items = [i for e, d in inside.events if e == "room:activity" for i in d["items"]]
        assert [i for i in items if i["message"]["seq"] == seq] == []
        assert [e for e, d in outside.events if e == "message:new"] == []
    finally:
        await inside.close()
        await outside.close()


async def test_a_consultation_closed_through_one_process_takes_no_message_through_the_other(
    two_processes: tuple[TestClient, TestClient], db: Any
) -> None:
    """Each process keeps the consultations its messages read (server.storage.consultation_cache); a write
    in the other process reaches it over Redis, so the closed consultation is read again, not trusted."""
    from bson import ObjectId

    from server.keys import SERVICES

    a, b = two_processes
    user = await _login_user(a, db)
    officer = await _staff(a, "penutup@bps.go.id", "1808", "Penutup")
    cid = await _claimed_room(user, officer, "Tutup")
    on_a = Api(a, user.token, user.user)
    on_b = Api(b, officer.token, officer.user)
    await on_a.post(f"/consultations/{cid}/messages", {"text": "lewat A", "client_id": "a1"}, expect=201)
    await on_a.post(f"/consultations/{cid}/messages", {"text": "lewat A lagi", "client_id": "a2"}, expect=201)
    kept = a.app[SERVICES].consultations
    assert kept.get(ObjectId(cid)) is not None  # A keeps it
    await on_b.post(f"/consultations/{cid}/close", {}, expect=200)
    for _ in range(50):
        if kept.get(ObjectId(cid)) is None:
            break
        await asyncio.sleep(0.05)
    assert kept.get(ObjectId(cid)) is None, "A did not hear of B's write"
    status, body = await on_a.call("POST", f"/consultations/{cid}/messages", {"text": "sesudah", "client_id": "a3"})
    assert status == 409 and body["error"]["code"] == "consultation_closed"
