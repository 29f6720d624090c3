"""Who may see a consultation changes (a transfer): the sockets that may no longer see it leave its rooms."""

from __future__ import annotations

import asyncio
from typing import Any

from bson import ObjectId

from tests.conftest import Api


async def _open(user: Api, office: str = "7406") -> Any:
    return await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data inflasi", "text": "Saya butuh data inflasi."},
        expect=201,
    )


async def test_transfer_to_another_office_removes_the_old_officers_socket(
    make_user: Any, make_staff: Any, connect: Any
) -> None:
    old = await make_staff("officer", "7406", name="Lama")
    new = await make_staff("officer", "1600", name="Baru")
    national = await make_staff("admin", None, name="Pusat")
    user = await make_user()
    c = await _open(user)
    cid = c["id"]
    await old.post(f"/consultations/{cid}/claim", expect=200)
    osock, nsock, usock, asock = [await connect(a) for a in (old, new, user, national)]
    for s in (osock, usock, asock):
        assert (await s.call("consultation:join", {"consultation_id": cid}))["ok"]

    await old.post(f"/consultations/{cid}/transfer", {"to_user": new.user["id"], "to_office": "1600"}, expect=200)
    # The old officer hears that it moved (the system message, the update), then nothing more.
    await osock.wait_for("consultation:updated", lambda d: d["id"] == cid and d["office"] == "1600")
    assert (await nsock.call("consultation:join", {"consultation_id": cid}))["ok"]
    heard_before = len(osock.events)

    sent = await nsock.call("message:send", {"consultation_id": cid, "text": "Jawaban kantor baru", "client_id": "a"})
    assert sent["ok"]
    note = await nsock.call(
        "message:send", {"consultation_id": cid, "text": "Catatan internal baru", "kind": "note", "client_id": "b"}
    )
    assert note["ok"]
    assert (await nsock.call("typing", {"consultation_id": cid, "typing": True}))["ok"]
    # Those who may still see it got everything: the user the reply, the national admin the note too.
    await usock.wait_for("message:new", lambda d: d["text"] == "Jawaban kantor baru")
    await asock.wait_for("message:new", lambda d: d["text"] == "Catatan internal baru")
    await usock.wait_for("typing", lambda d: d["typing"] is True)
    await asyncio.sleep(0.2)
    after = osock.events[heard_before:]
    leaked = [e for e, d in after if e in ("message:new", "typing") and (d or {}).get("consultation_id") == cid]
    assert leaked == [], after
    # And the old officer can no longer act in it.
    ack = await osock.call("typing", {"consultation_id": cid, "typing": True})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = await osock.call("message:send", {"consultation_id": cid, "text": "masih bisa?", "client_id": "c"})
    assert ack["ok"] is False
    ack = await osock.call("consultation:join", {"consultation_id": cid})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


async def test_transfer_to_another_office_queue_removes_the_old_officer_too(
    make_user: Any, make_staff: Any, connect: Any
) -> None:
    old = await make_staff("officer", "7406", name="Lama")
    colleague = await make_staff("officer", "7406", name="Rekan")
    new = await make_staff("officer", "1600", name="Baru")
    user = await make_user()
    c = await _open(user)
    cid = c["id"]
    await old.post(f"/consultations/{cid}/claim", expect=200)
    osock, csock, usock = [await connect(a) for a in (old, colleague, user)]
    for s in (osock, csock, usock):
        assert (await s.call("consultation:join", {"consultation_id": cid}))["ok"]
    # A transfer within the office keeps every officer of the office (they may all see it).
    await old.post(f"/consultations/{cid}/transfer", {"to_user": colleague.user["id"]}, expect=200)
    await osock.wait_for("consultation:updated", lambda d: d["id"] == cid and d["assigned_to"]["name"] == "Rekan")
    assert (await osock.call("typing", {"consultation_id": cid, "typing": False}))["ok"]

    await colleague.post(f"/consultations/{cid}/transfer", {"to_office": "1600"}, expect=200)
    for s in (osock, csock):
        await s.wait_for("consultation:updated", lambda d: d["id"] == cid and d["office"] == "1600")
    await new.post(f"/consultations/{cid}/claim", expect=200)
    await new.post(f"/consultations/{cid}/messages", {"text": "Dari Palembang", "client_id": "p"}, expect=201)
    await usock.wait_for("message:new", lambda d: d["text"] == "Dari Palembang")
    await asyncio.sleep(0.2)
    for s in (osock, csock):
        assert not [d for d in s.of("message:new") if d["text"] == "Dari Palembang"]
        assert (await s.call("typing", {"consultation_id": cid, "typing": True}))["ok"] is False


async def test_typing_checks_permission_not_only_room_membership(
    make_user: Any, make_staff: Any, connect: Any, services: Any
) -> None:
    """Even a socket still in the room (its removal missed) cannot type once it may not see the consultation."""
    officer = await make_staff("officer", "7406", name="Budi")
    user = await make_user()
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    osock = await connect(officer)
    usock = await connect(user)
    for s in (osock, usock):
        assert (await s.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    # Moved behind the socket layer's back: no event, so the socket is still in the room.
    await services.db.consultations.update_one(
        {"_id": ObjectId(c["id"])}, {"$set": {"office": "1600", "assigned_to": None, "status": "queued"}}
    )
    ack = await osock.call("typing", {"consultation_id": c["id"], "typing": True})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    await asyncio.sleep(0.1)
    assert usock.of("typing") == []
