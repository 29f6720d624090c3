"""A database fallen behind (the group commit refuses: Overloaded) is a `busy` answer on every transport,
never an internal error; nothing is stored, and the same message sent again is stored once."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.storage.batching import Overloaded
from tests.browser.rooms import open_consultation
from tests.conftest import Api


async def _claimed_room(make_user: Any, make_staff: Any, connect: Any) -> tuple[Api, str, Any]:
    """A user's consultation claimed by an officer whose socket has joined it: (user, id, the officer's socket)."""
    officer = await make_staff("officer", "7406")
    user: Api = await make_user()
    c = await open_consultation(user, "Data inflasi", "Saya butuh data inflasi.")
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    sock = await connect(officer)
    assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    return user, c["id"], sock


async def test_a_refused_message_is_busy_on_a_socket_and_over_http_and_goes_once_when_sent_again(
    make_user: Any, make_staff: Any, connect: Any, services: Any
) -> None:
    user, cid, sock = await _claimed_room(make_user, make_staff, connect)

    room = {"consultation_id": ObjectId(cid)}
    before = await services.db.messages.count_documents(room)
    batch = services.batch.messages
    real_insert = batch.insert
    behind = True

    async def insert(doc: Any) -> Any:
        if behind:
            raise Overloaded("the oldest waited over 1 s")
        return await real_insert(doc)

    batch.insert = insert
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "Datanya di tabel 4.2.", "client_id": "o-1"})
    assert ack["ok"] is False and ack["error"]["code"] == "busy", ack
    out = await user.post(f"/consultations/{cid}/messages", {"text": "Halo?", "client_id": "u-1"}, expect=409)
    assert out["error"]["code"] == "busy"
    assert await services.db.messages.count_documents(room) == before

    behind = False
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "Datanya di tabel 4.2.", "client_id": "o-1"})
    assert ack["ok"] is True, ack
    await user.post(f"/consultations/{cid}/messages", {"text": "Halo?", "client_id": "u-1"}, expect=201)
    history = await user.get(f"/consultations/{cid}/messages")
    texts = [m["text"] for m in history["messages"]]
    assert texts[0] == "Saya butuh data inflasi." and texts[-2:] == ["Datanya di tabel 4.2.", "Halo?"]
    assert await services.db.messages.count_documents(room) == before + 2


async def test_a_late_event_loop_refuses_new_messages_busy_and_takes_them_again_once_it_catches_up(
    make_user: Any, make_staff: Any, connect: Any, services: Any, app: Any
) -> None:
    from server.keys import SIO
    from server.realtime.namespace import BUSY_LOOP_LATE_SECS

    namespace = app[SIO].namespace_handlers["/"]
    await namespace.loop_lag.stop()  # this test says how late the loop is
    namespace.busy_loop_late_secs = BUSY_LOOP_LATE_SECS  # the product's default (the suite runs with it off)
    user, cid, sock = await _claimed_room(make_user, make_staff, connect)
    room = {"consultation_id": ObjectId(cid)}
    before = await services.db.messages.count_documents(room)

    namespace.loop_lag.late = BUSY_LOOP_LATE_SECS * 2
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "Datanya di tabel 4.2.", "client_id": "o-1"})
    assert ack["ok"] is False and ack["error"]["code"] == "busy", ack
    assert await services.db.messages.count_documents(room) == before
    namespace.loop_lag.late = 0.0
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "Datanya di tabel 4.2.", "client_id": "o-1"})
    assert ack["ok"] is True
    assert await services.db.messages.count_documents(room) == before + 1


async def test_the_loop_lag_sees_a_loop_late_on_every_wake_up_not_one_stall() -> None:
    import asyncio
    import time

    from server.realtime.loop_lag import LoopLag
    from server.realtime.namespace import BUSY_LOOP_LATE_SECS

    lag = LoopLag(interval=0.02)
    lag.start()
    try:
        await asyncio.sleep(0.1)
        time.sleep(0.3)  # noqa: ASYNC251 - the point: the loop is held, nothing else runs
        await asyncio.sleep(0.005)  # the watcher's overdue wake-up runs first
        assert 0 < lag.late < BUSY_LOOP_LATE_SECS  # one stall (a collection, a slow report): not busy
        for _ in range(20):  # the CPU saturated: every wake-up is late
            time.sleep(0.2)  # noqa: ASYNC251
            await asyncio.sleep(0)
        assert lag.late > BUSY_LOOP_LATE_SECS
        await asyncio.sleep(1.0)  # caught up
        assert lag.late < BUSY_LOOP_LATE_SECS
    finally:
        await lag.stop()
