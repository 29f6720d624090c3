"""A database fallen behind (the group commit refuses: Overloaded) is a `busy` answer on every transport,
never an internal error; nothing is stored, and the same message sent again is stored once."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.storage.batching import Overloaded
from tests.conftest import Api


async def test_a_refused_message_is_busy_on_a_socket_and_over_http_and_goes_once_when_sent_again(
    make_user: Any, make_staff: Any, connect: Any, services: Any
) -> None:
    officer = await make_staff("officer", "7406")
    user: Api = await make_user()
    c = await user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Data inflasi", "text": "Saya butuh data inflasi."},
        expect=201,
    )
    cid = c["id"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    sock = await connect(officer)
    assert (await sock.call("consultation:join", {"consultation_id": cid}))["ok"]

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
    assert ack["ok"] is True
    await user.post(f"/consultations/{cid}/messages", {"text": "Halo?", "client_id": "u-1"}, expect=201)
    history = await user.get(f"/consultations/{cid}/messages")
    texts = [m["text"] for m in history["messages"]]
    assert texts[0] == "Saya butuh data inflasi." and texts[-2:] == ["Datanya di tabel 4.2.", "Halo?"]
    assert await services.db.messages.count_documents(room) == before + 2
