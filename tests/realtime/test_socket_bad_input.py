"""Bad input and a database that does not answer, over the socket: an error ack with a code, never
`internal_error`, and the connection stays."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

HUGE = 2**70
OPEN = {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}


async def _joined(make_user: Any, connect: Any) -> tuple[Api, Any, str]:
    user: Api = await make_user()
    room = await user.post("/consultations", OPEN, expect=201)
    sock = await connect(user)
    assert (await sock.call("consultation:join", {"consultation_id": room["id"]}))["ok"]
    return user, sock, room["id"]


async def test_huge_after_seq_and_seq_are_refused(make_user: Any, connect: Any) -> None:
    _, sock, cid = await _joined(make_user, connect)
    for after in (HUGE, 2**63, -HUGE):
        ack = await sock.call("consultation:join", {"consultation_id": cid, "after_seq": after})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_after_seq", (after, ack)
    for seq in (HUGE, 2**63):
        ack = await sock.call("message:read", {"consultation_id": cid, "seq": seq})
        # Past the last message is clamped to it; out of range is invalid_seq; never internal_error.
        assert ack["ok"] is True or ack["error"]["code"] == "invalid_seq", (seq, ack)
    assert (await sock.call("consultation:join", {"consultation_id": cid, "after_seq": 0}))["ok"]


@pytest.mark.parametrize(("field", "code"), [("text", "invalid_text"), ("client_id", "invalid_client_id")])
async def test_lone_surrogates_are_an_error_ack(make_user: Any, connect: Any, field: str, code: str) -> None:
    user, sock, cid = await _joined(make_user, connect)
    payload = {"consultation_id": cid, "text": "halo", "client_id": "c-1", field: "x\ud800y"}
    ack = await sock.call("message:send", payload)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    history = await user.get(f"/consultations/{cid}/messages")
    assert [m["text"] for m in history["messages"]] == ["Halo"]
    assert sock.sio.connected


async def test_a_database_that_does_not_answer_is_an_error_ack(
    make_user: Any, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    from server.domain import messages

    _, sock, cid = await _joined(make_user, connect)

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise ServerSelectionTimeoutError("127.0.0.1:1: connection refused")

    monkeypatch.setattr(messages, "post_message", down)
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "halo", "client_id": "c-1"})
    assert ack == {
        "ok": False,
        "error": {"code": "database_unavailable", "message": ack["error"]["message"]},
    }, ack
    monkeypatch.undo()
    ack = await sock.call("message:send", {"consultation_id": cid, "text": "halo", "client_id": "c-1"})
    assert ack["ok"] is True and sock.sio.connected
