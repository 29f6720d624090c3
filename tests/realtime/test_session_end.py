"""A session's end ends its sockets at once: logout, a password reset, an account disabled.

Each socket hears `session:ended` and is disconnected by the server; a socket whose session is gone
can no longer act even if the disconnect never reached it (events re-check the session, at most
SESSION_RECHECK_SECS apart).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bson import ObjectId

from server.domain import accounts
from server.domain.security import token_hash
from tests.conftest import Api, SocketClient, outbox_link


async def _open(user: Api, office: str = "7406") -> Any:
    return await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data inflasi", "text": "Saya butuh data inflasi."},
        expect=201,
    )


async def _second_session(user: Api) -> Api:
    """Another login of the same person (another browser)."""
    assert user.user is not None
    other = Api(user.client)
    _, body = await other.call(
        "POST", "/auth/login", {"email": user.user["email"], "password": "rahasia-123"}, expect=200
    )
    other.token, other.user = body["token"], body["user"]
    return other


async def _ended(sock: SocketClient, reason: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a polling deadline whose failure names the socket
    """The socket heard session:ended with `reason`, then the server disconnected it."""
    await sock.wait_for("session:ended", lambda d: d == {"reason": reason}, timeout=timeout)
    deadline = asyncio.get_running_loop().time() + timeout
    while sock.sio.connected:
        assert asyncio.get_running_loop().time() < deadline, "the server did not disconnect the socket"
        await asyncio.sleep(0.02)


async def test_logout_ends_the_sockets_of_that_session_only(make_user: Any, connect: Any) -> None:
    user = await make_user()
    c = await _open(user)
    elsewhere = await _second_session(user)
    sock = await connect(user)
    other = await connect(elsewhere)
    assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    assert (await other.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

    await user.post("/auth/logout", expect=200)
    await _ended(sock, "logout")
    # The other browser's session lives on, and so does its socket.
    assert other.sio.connected and other.of("session:ended") == []
    ack = await other.call("message:send", {"consultation_id": c["id"], "text": "masih di sini", "client_id": "k1"})
    assert ack["ok"]
    # The ended token cannot open a new socket either.
    again = SocketClient(sock.url, user.token)
    try:
        await again.connect()
        raise AssertionError("a socket connected with a logged-out token")
    except Exception as exc:  # noqa: BLE001 - socketio.exceptions.ConnectionError
        assert "unauthenticated" in str(exc) or "Connection refused" in str(exc) or again.sio.connected is False


async def test_password_reset_ends_every_socket_of_the_user(make_user: Any, connect: Any, services: Any) -> None:
    user = await make_user()
    other_user = await make_user()
    c = await _open(user)
    elsewhere = await _second_session(user)
    socks = [await connect(user), await connect(elsewhere)]
    bystander = await connect(other_user)
    for s in socks:
        assert (await s.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

    assert user.user is not None
    await user.post("/auth/password-reset", {"email": user.user["email"]}, expect=202)
    token = (await outbox_link(services.db, user.user["email"], "reset_password")).split("token=")[1]
    anon = Api(user.client)
    await anon.post("/auth/password-reset/confirm", {"token": token, "password": "baru-sekali-123"}, expect=200)
    for s in socks:
        await _ended(s, "password_reset")
    assert bystander.sio.connected and bystander.of("session:ended") == []


async def test_disabled_account_ends_its_sockets_and_cannot_sign_in(
    make_staff: Any, make_user: Any, connect: Any, services: Any
) -> None:
    officer = await make_staff("officer", "7406", name="Budi")
    user = await make_user()
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    osock = await connect(officer)
    usock = await connect(user)
    assert (await osock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    assert (await usock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

    disabled = await accounts.disable_user(services, officer.user["email"])
    assert disabled["disabled"] is True
    await _ended(osock, "account_disabled")
    assert usock.sio.connected
    status, body = await Api(officer.client).call(
        "POST", "/auth/login", {"email": officer.user["email"], "password": "petugas-123"}
    )
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    # Nothing the disabled officer had open still reaches anyone in their name.
    assert (await officer.call("GET", "/me"))[0] == 401
    await accounts.enable_user(services, officer.user["email"])
    await Api(officer.client).call(
        "POST", "/auth/login", {"email": officer.user["email"], "password": "petugas-123"}, expect=200
    )


async def test_a_socket_whose_session_vanished_cannot_act(
    make_user: Any, connect: Any, services: Any, app: Any
) -> None:
    """The session deleted without any event reaching the socket (e.g. another process without Redis):
    the first event after the re-check interval is refused and the socket ended."""
    from server.keys import SIO
    from server.realtime.namespace import SESSION_RECHECK_SECS

    user = await make_user()
    c = await _open(user)
    sock = await connect(user)
    assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    await services.db.sessions.delete_one({"token_hash": token_hash(user.token)})
    ns = app[SIO].namespace_handlers["/"]
    ns.clock = lambda: time.monotonic() + SESSION_RECHECK_SECS

    try:
        ack = await sock.call("message:send", {"consultation_id": c["id"], "text": "setelah keluar", "client_id": "z"})
    except Exception:  # noqa: BLE001 - the server may disconnect before the ack arrives
        ack = None
    assert ack is None or ack == {"ok": False, "error": {"code": "unauthenticated", "message": ack["error"]["message"]}}
    await _ended(sock, "expired")
    texts = [m["text"] async for m in services.db.messages.find({"consultation_id": ObjectId(c["id"])})]
    assert "setelah keluar" not in texts
    page = await user.call("GET", f"/consultations/{c['id']}/messages")
    assert page[0] == 401


async def test_the_sweep_ends_sockets_of_sessions_ended_elsewhere(
    make_user: Any, connect: Any, app: Any, services: Any
) -> None:
    """A session ended by a process that cannot reach this one (the CLI without Redis) is noticed by the
    periodic sweep even if the socket stays silent."""
    from server.keys import SIO

    user = await make_user()
    quiet = await connect(user)
    still = await connect(await make_user())
    ns = app[SIO].namespace_handlers["/"]
    await services.db.sessions.delete_one({"token_hash": token_hash(user.token)})
    assert await ns.end_dead_sessions() == 1
    await _ended(quiet, "expired")
    assert still.sio.connected


async def test_erasing_the_account_ends_its_sockets(make_user: Any, connect: Any) -> None:
    """DELETE /me (UU PDP): the account's sessions end, and its open sockets with them."""
    user = await make_user()
    elsewhere = await _second_session(user)
    socks = [await connect(user), await connect(elsewhere)]
    await user.call("DELETE", "/me", {"password": "rahasia-123"}, expect=200)
    for s in socks:
        await _ended(s, "account_erased")


async def test_what_the_sweep_finds_holding_counts_as_checked_for_the_events(
    make_user: Any, connect: Any, services: Any, app: Any
) -> None:
    """An active socket reads its session only when neither the sweep nor an event has found it holding for
    SESSION_RECHECK_SECS: while the sweep runs, events make no session read."""
    from server.keys import SIO
    from server.realtime.namespace import SESSION_RECHECK_SECS

    user = await make_user()
    c = await _open(user)
    sock = await connect(user)
    assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    ns = app[SIO].namespace_handlers["/"]
    reads = services.batch.sessions
    later = time.monotonic() + SESSION_RECHECK_SECS
    ns.clock = lambda: later
    # The sweep, run at that later time, finds the session holding: the event after it reads nothing.
    assert await ns.end_dead_sessions() == 0
    before = reads.items
    ack = await sock.call("message:send", {"consultation_id": c["id"], "text": "masih di sini", "client_id": "s1"})
    assert ack["ok"] is True and reads.items == before
    # Without the sweep, past the interval, the event reads it (and would be refused were it gone).
    ns.clock = lambda: later + SESSION_RECHECK_SECS
    ack = await sock.call("message:send", {"consultation_id": c["id"], "text": "lagi", "client_id": "s2"})
    assert ack["ok"] is True and reads.items == before + 1
