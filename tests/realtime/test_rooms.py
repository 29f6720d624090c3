"""Live consultation rooms over Socket.IO and REST against the running app and the real database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from bson import ObjectId

from tests.conftest import Api


async def _open(user: Api, office: str = "7406", text: str = "Saya butuh data inflasi bulanan 2025.") -> Any:
    return await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data inflasi", "text": text, "kb_query": "inflasi bulanan"},
        expect=201,
    )


def _roundtrip(payload: Any) -> None:
    """Events are contracts: every payload survives JSON (no ObjectId or datetime leaks)."""
    assert json.loads(json.dumps(payload)) == payload


async def test_open_claim_chat_close(make_user: Any, make_staff: Any, connect: Any, services: Any) -> None:
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    osock = await connect(officer)
    user = await make_user(name="Sari")
    usock = await connect(user)
    c = await _open(user)
    assert c["status"] == "queued" and c["number"].startswith("7406-")
    assert c["sla"]["due_at"] and c["sla"]["state"] in ("on_track", "at_risk")
    assert c["message"]["seq"] == 1
    queue = await osock.wait_for("queue:updated", lambda d: any(x["id"] == c["id"] for x in d["queue"]))
    _roundtrip(queue)
    # The officer claims; the user hears of it.
    claimed = await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    assert claimed["status"] == "active" and claimed["assigned_to"]["name"] == "Budi Petugas"
    upd = await usock.wait_for("consultation:updated", lambda d: d["status"] == "active")
    _roundtrip(upd)
    # Both join; the join returns history.
    j = await usock.call("consultation:join", {"consultation_id": c["id"]})
    assert j["ok"], j
    assert [m["seq"] for m in j["messages"]] == [1, 2]
    assert j["messages"][1]["kind"] == "system"
    j2 = await osock.call("consultation:join", {"consultation_id": c["id"], "after_seq": 1})
    assert [m["seq"] for m in j2["messages"]] == [2]
    ack = await osock.call(
        "message:send", {"consultation_id": c["id"], "text": "Baik, datanya ada di tabel IHK.", "client_id": "o-1"}
    )
    assert ack["ok"] and ack["message"]["seq"] == 3
    got = await usock.wait_for("message:new", lambda d: d["seq"] == 3)
    _roundtrip(got)
    assert got["author"] == {"id": officer.user["id"], "name": "Budi Petugas", "role": "officer"}
    assert got["text"] == "Baik, datanya ada di tabel IHK." and got["consultation_id"] == c["id"]
    # SLA met by the first officer reply.
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["sla"]["state"] == "met"
    # The user closes; transcript and rating request are queued.
    closed = await user.post(f"/consultations/{c['id']}/close", {}, expect=200)
    assert closed["status"] == "closed"
    kinds = {d["kind"] async for d in services.db.outbox.find({"consultation_id": ObjectId(c["id"])})}
    assert {"consultation_received", "consultation_closed", "rating_request"} <= kinds
    ack = await usock.call("message:send", {"consultation_id": c["id"], "text": "halo?", "client_id": "u-9"})
    assert ack == {"ok": False, "error": {"code": "consultation_closed", "message": ack["error"]["message"]}}


async def test_seq_has_no_gaps_under_concurrent_senders(make_user: Any, make_staff: Any, connect: Any) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock, osock = await connect(user), await connect(officer)
    for s in (usock, osock):
        assert (await s.call("consultation:join", {"consultation_id": c["id"]}))["ok"]

    async def burst(sock: Any, who: str) -> list[Any]:
        out = []
        for i in range(3):
            acks = await asyncio.gather(
                *[
                    sock.call(
                        "message:send",
                        {"consultation_id": c["id"], "text": f"{who} {i}-{k}", "client_id": f"{who}-{i}-{k}"},
                    )
                    for k in range(6)
                ]
            )
            out += acks
            await asyncio.sleep(1.0)  # stay under the per-connection rate limit
        return out

    acks = await asyncio.gather(burst(usock, "u"), burst(osock, "o"))
    flat = [a for group in acks for a in group]
    assert all(a["ok"] for a in flat), [a for a in flat if not a["ok"]]
    seqs = sorted(a["message"]["seq"] for a in flat)
    # 2 messages before the burst (opening text + claim system message), then 36 contiguous.
    assert seqs == list(range(3, 3 + 36))
    page = await user.get(f"/consultations/{c['id']}/messages?limit=200")
    assert [m["seq"] for m in page["messages"]] == list(range(1, 39))


async def test_client_id_makes_sending_idempotent(make_user: Any, connect: Any) -> None:
    user = await make_user()
    c = await _open(user)
    sock = await connect(user)
    await sock.call("consultation:join", {"consultation_id": c["id"]})
    first, second = await asyncio.gather(
        sock.call("message:send", {"consultation_id": c["id"], "text": "sekali saja", "client_id": "dup-1"}),
        sock.call("message:send", {"consultation_id": c["id"], "text": "sekali saja", "client_id": "dup-1"}),
    )
    assert first["ok"] and second["ok"] and first["message"]["id"] == second["message"]["id"]
    again = await user.post(
        f"/consultations/{c['id']}/messages", {"text": "sekali saja", "client_id": "dup-1"}, expect=201
    )
    assert again["id"] == first["message"]["id"]
    page = await user.get(f"/consultations/{c['id']}/messages")
    assert [m["text"] for m in page["messages"]].count("sekali saja") == 1


async def test_notes_never_reach_the_user(make_user: Any, make_staff: Any, connect: Any) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock, osock = await connect(user), await connect(officer)
    await usock.call("consultation:join", {"consultation_id": c["id"]})
    await osock.call("consultation:join", {"consultation_id": c["id"]})
    note = await osock.call(
        "message:send",
        {"consultation_id": c["id"], "text": "RAHASIA: cek ke bidang distribusi", "client_id": "n1", "kind": "note"},
    )
    assert note["ok"] and note["message"]["kind"] == "note"
    await osock.call("message:send", {"consultation_id": c["id"], "text": "Sebentar ya", "client_id": "t1"})
    await usock.wait_for("message:new", lambda d: d["text"] == "Sebentar ya")
    await osock.wait_for("message:new", lambda d: d["kind"] == "note")
    assert not any("RAHASIA" in json.dumps(d) for _, d in usock.events)
    user_page = await user.get(f"/consultations/{c['id']}/messages")
    assert all(m["kind"] != "note" for m in user_page["messages"])
    rejoin = await usock.call("consultation:join", {"consultation_id": c["id"]})
    assert all(m["kind"] != "note" for m in rejoin["messages"])
    staff_page = await officer.get(f"/consultations/{c['id']}/messages")
    assert any(m["kind"] == "note" for m in staff_page["messages"])
    # The user's unread count and last message ignore the note.
    detail = await user.get(f"/consultations/{c['id']}")
    assert "RAHASIA" not in json.dumps(detail)
    # A user cannot write a note by socket or REST.
    bad = await usock.call("message:send", {"consultation_id": c["id"], "text": "x", "client_id": "un", "kind": "note"})
    assert bad["ok"] is False and bad["error"]["code"] == "forbidden"
    status, _ = await user.call(
        "POST", f"/consultations/{c['id']}/messages", {"text": "x", "client_id": "un2", "kind": "note"}
    )
    assert status == 403


async def test_reconnecting_client_loses_nothing(make_user: Any, make_staff: Any, connect: Any) -> None:
    officer = await make_staff("officer", "7406")
    user = await make_user()
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock = await connect(user)
    j = await usock.call("consultation:join", {"consultation_id": c["id"]})
    last_seen = j["messages"][-1]["seq"]
    await usock.close()
    osock = await connect(officer)
    await osock.call("consultation:join", {"consultation_id": c["id"]})
    for i in range(3):
        await osock.call("message:send", {"consultation_id": c["id"], "text": f"jawaban {i}", "client_id": f"a{i}"})
    usock2 = await connect(user)
    j = await usock2.call("consultation:join", {"consultation_id": c["id"], "after_seq": last_seen})
    assert [m["text"] for m in j["messages"]] == ["jawaban 0", "jawaban 1", "jawaban 2"]
    # Unread: the claim notice (seq 2) and the three answers.
    assert j["consultation"]["unread"] == 4


async def test_unauthenticated_connection_is_refused(client: Any, connect: Any) -> None:
    import socketio

    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(None)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(Api(client, token="forged-token"))


async def test_bad_socket_input_gets_error_acks_and_keeps_connection(
    make_user: Any, make_staff: Any, connect: Any
) -> None:
    user = await make_user()
    other = await make_user()
    c = await _open(user)
    theirs = await _open(other)
    sock = await connect(user)
    await sock.call("consultation:join", {"consultation_id": c["id"]})

    async def code(event: str, data: Any) -> str:
        ack = await sock.call(event, data)
        assert ack["ok"] is False
        return str(ack["error"]["code"])

    assert (
        await code("message:send", {"consultation_id": c["id"], "text": "x" * 4001, "client_id": "a"})
        == "message_too_long"
    )
    assert await code("message:send", {"consultation_id": c["id"], "text": "   ", "client_id": "b"}) == "empty_text"
    assert (
        await code("message:send", {"consultation_id": "65f000000000000000000000", "text": "x", "client_id": "c"})
        == "not_found"
    )
    assert await code("message:send", {"consultation_id": "garbage", "text": "x", "client_id": "c"}) == "not_found"
    assert await code("consultation:join", {"consultation_id": theirs["id"]}) == "forbidden"
    assert await code("message:send", {"consultation_id": theirs["id"], "text": "x", "client_id": "d"}) == "forbidden"
    assert await code("message:send", "not an object") == "invalid_payload"
    assert await code("message:read", {"consultation_id": c["id"], "seq": -4}) == "invalid_seq"
    page = await user.get(f"/consultations/{c['id']}/messages")
    assert len(page["messages"]) == 1  # nothing stored
    # Flooding: more than 10 a second are refused, the connection stays.
    acks = await asyncio.gather(
        *[
            sock.call("message:send", {"consultation_id": c["id"], "text": f"m{i}", "client_id": f"f{i}"})
            for i in range(15)
        ]
    )
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    await asyncio.sleep(1.1)
    ok = await sock.call("message:send", {"consultation_id": c["id"], "text": "masih tersambung", "client_id": "z"})
    assert ok["ok"] is True and sock.sio.connected


async def test_typing_read_receipts_and_unread(make_user: Any, make_staff: Any, connect: Any) -> None:
    officer = await make_staff("officer", "7406", name="Rina")
    user = await make_user(name="Dedi")
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    usock, osock = await connect(user), await connect(officer)
    await usock.call("consultation:join", {"consultation_id": c["id"]})
    await osock.call("consultation:join", {"consultation_id": c["id"]})
    assert (await osock.call("typing", {"consultation_id": c["id"], "typing": True}))["ok"]
    t = await usock.wait_for("typing")
    assert t == {"consultation_id": c["id"], "user": {"id": officer.user["id"], "name": "Rina"}, "typing": True}
    assert not osock.of("typing")  # not echoed to the typist
    for i in range(2):
        await osock.call("message:send", {"consultation_id": c["id"], "text": f"balasan {i}", "client_id": f"r{i}"})
    # The claim notice and the two replies are unread.
    assert (await user.get(f"/consultations/{c['id']}"))["unread"] == 3
    ack = await usock.call("message:read", {"consultation_id": c["id"], "seq": 4})
    assert ack["ok"] and ack["seq"] == 4
    receipt = await osock.wait_for("message:read")
    assert receipt == {"consultation_id": c["id"], "user_id": user.user["id"], "seq": 4}
    assert (await user.get(f"/consultations/{c['id']}"))["unread"] == 0
    # Read pointers never move back.
    await usock.call("message:read", {"consultation_id": c["id"], "seq": 1})
    assert (await user.get(f"/consultations/{c['id']}"))["reads"][user.user["id"]] == 4


async def test_claim_race_has_one_winner_and_transfer_keeps_history(make_user: Any, make_staff: Any) -> None:
    a = await make_staff("officer", "7406", name="A")
    b = await make_staff("officer", "7406", name="B")
    other_office = await make_staff("officer", "1600", name="Palembang")
    user = await make_user()
    c = await _open(user)
    results = await asyncio.gather(
        a.call("POST", f"/consultations/{c['id']}/claim"), b.call("POST", f"/consultations/{c['id']}/claim")
    )
    statuses = sorted(s for s, _ in results)
    assert statuses == [200, 409]
    loser = [body for s, body in results if s == 409][0]
    assert loser["error"]["code"] == "already_claimed"
    winner, other = (a, b) if results[0][0] == 200 else (b, a)
    t = await winner.post(f"/consultations/{c['id']}/transfer", {"to_user": other.user["id"]}, expect=200)
    assert t["assigned_to"]["id"] == other.user["id"]
    t = await other.post(f"/consultations/{c['id']}/transfer", {"to_office": "1600"}, expect=200)
    assert t["office"] == "1600" and t["status"] == "queued" and t["assigned_to"] is None
    # The first office's officer no longer sees it; the new office does, with the whole history.
    assert (await a.call("GET", f"/consultations/{c['id']}"))[0] == 403
    page = await other_office.get(f"/consultations/{c['id']}/messages")
    texts = [m["text"] for m in page["messages"]]
    assert texts[0].startswith("Saya butuh data inflasi")
    assert any("dialihkan ke BPS Provinsi Sumatera Selatan" in t for t in texts)
    status, body = await a.call("POST", f"/consultations/{c['id']}/transfer", {})
    assert status in (403, 422)


async def test_auto_assign_to_least_loaded_online_officer(
    make_user: Any, make_staff: Any, connect: Any, services: Any
) -> None:
    await services.db.offices.update_one(
        {"code": "7501"}, {"$set": {"policy.auto_assign": True, "policy.max_concurrent_rooms": 1}}
    )
    services.offices.forget()  # written behind the app's back: read it again
    busy = await make_staff("officer", "7501", name="Sibuk")
    free = await make_staff("officer", "7501", name="Luang")
    await make_staff("officer", "7501", name="Offline")
    await connect(busy)
    await connect(free)
    user = await make_user()
    first = await _open(user, "7501")
    assigned = first["assigned_to"]["name"]
    assert first["status"] == "active" and assigned in ("Sibuk", "Luang")
    second = await _open(user, "7501")
    assert second["status"] == "active"
    assert second["assigned_to"]["name"] == ({"Sibuk", "Luang"} - {assigned}).pop()
    # Both officers are at their maximum: the third waits in the queue.
    third = await _open(user, "7501")
    assert third["status"] == "queued" and third["assigned_to"] is None


async def test_staff_lists_and_filters(make_user: Any, make_staff: Any) -> None:
    officer = await make_staff("officer", "7406")
    elsewhere = await make_staff("officer", "1808")
    user = await make_user()
    c1 = await _open(user)
    await _open(user)
    await officer.post(f"/consultations/{c1['id']}/claim", expect=200)
    mine = await officer.get("/consultations?assigned=me")
    assert [c["id"] for c in mine["consultations"]] == [c1["id"]]
    queued = await officer.get("/consultations?status=queued")
    assert len(queued["consultations"]) == 1
    assert (await elsewhere.get("/consultations"))["consultations"] == []
    assert len((await user.get("/consultations"))["consultations"]) == 2
    assert (await officer.call("GET", "/consultations?status=bogus"))[0] == 422
    status, _ = await user.call("POST", f"/consultations/{c1['id']}/claim")
    assert status == 403


async def test_open_bad_input(make_user: Any, services: Any) -> None:
    user = await make_user()
    cases = [
        ({"office": "7406", "topic": "gossip", "subject": "s", "text": "t"}, 422),
        ({"office": "0000", "topic": "data", "subject": "s", "text": "t"}, 422),
        ({"office": "7406", "topic": "data", "subject": "s", "text": "x" * 4001}, 422),
        ({"office": "7406", "topic": "data", "subject": "", "text": "t"}, 422),
    ]
    for body, want in cases:
        status, _ = await user.call("POST", "/consultations", body)
        assert status == want, body
    assert await services.db.consultations.count_documents({}) == 0


async def test_concurrent_first_consultations_of_an_office_all_get_numbers(make_user: Any) -> None:
    users = [await make_user() for _ in range(6)]
    opened = await asyncio.gather(*[u.call("POST", "/consultations", {
        "office": "7411", "topic": "data", "subject": "Serentak", "text": "Pertanyaan serentak"}) for u in users])
    assert [status for status, _ in opened] == [201] * 6, opened
    numbers = {body["number"] for _, body in opened}
    assert len(numbers) == 6


async def test_each_socket_gets_a_message_once(make_user: Any, make_staff: Any, connect: Any) -> None:
    """message:new to the room; room:activity only to the office's staff sockets outside it."""
    user = await make_user()
    officer = await make_staff("officer", "7406", name="Di Ruang")
    colleague = await make_staff("officer", "7406", name="Di Antrean")
    c = await _open(user)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    inside, outside, user_sock = await connect(officer), await connect(colleague), await connect(user)
    for sock in (inside, user_sock):
        assert (await sock.call("consultation:join", {"consultation_id": c["id"]}))["ok"]
    ack = await user_sock.call("message:send", {"consultation_id": c["id"], "text": "Sekali saja", "client_id": "once"})
    assert ack["ok"], ack
    seq = ack["message"]["seq"]
    await outside.wait_for("room:activity", lambda p: any(i["message"]["seq"] == seq for i in p["items"]))
    await inside.wait_for("message:new", lambda m: m["seq"] == seq)
    await asyncio.sleep(0.3)  # anything else on its way arrives meanwhile

    def got(sock: Any) -> list[str]:
        return [
            e
            for e, d in sock.events
            if (e == "message:new" and d.get("seq") == seq)
            or (e == "room:activity" and any(i["message"]["seq"] == seq for i in d["items"]))
        ]

    assert got(inside) == ["message:new"]  # in the room: the message, not also the activity
    assert got(outside) == ["room:activity"]  # the office's list, not in the room
    assert got(user_sock) == ["message:new"]


async def test_an_office_s_rooms_that_moved_together_reach_its_officers_as_one_event(
    make_user: Any, make_staff: Any, connect: Any
) -> None:
    """room:activity gathers the rooms of an office that moved within a moment (server.realtime.sinks): the first
    move goes at once, the ones right after it as one event for an officer outside them with every room, once
    each with its newest message; an officer inside one of them gets the others only; and a room's close,
    emitted after its message, arrives after that room's activity."""
    inside_officer = await make_staff("officer", "7406", name="Di Ruang")
    colleague = await make_staff("officer", "7406", name="Di Daftar")
    users = [await make_user() for _ in range(3)]
    opened = [await _open(u) for u in users]
    for c in opened:
        await inside_officer.post(f"/consultations/{c['id']}/claim", expect=200)
    inside, outside = await connect(inside_officer), await connect(colleague)
    assert (await inside.call("consultation:join", {"consultation_id": opened[0]["id"]}))["ok"]
    await asyncio.sleep(0.3)  # the claims' activity and updates have gone
    inside.events.clear()
    outside.events.clear()
    for n, (u, c) in enumerate(zip(users, opened, strict=True)):
        await u.post(f"/consultations/{c['id']}/messages", {"text": f"Pesan {n}", "client_id": f"a{n}"}, expect=201)
    await users[1].post(f"/consultations/{opened[1]['id']}/messages", {"text": "Lagi", "client_id": "b1"}, expect=201)
    ids = [c["id"] for c in opened]
    last = await outside.wait_for("room:activity", lambda p: [i["consultation_id"] for i in p["items"]] == ids[1:])
    await asyncio.sleep(0.3)
    activity = [d for e, d in outside.events if e == "room:activity"]
    assert activity[1:] == [last], activity  # the first at once, then one event for the rest, not one a message
    assert [i["message"]["text"] for i in activity[0]["items"]] == ["Pesan 0"]
    assert [i["message"]["text"] for i in last["items"]] == ["Lagi", "Pesan 2"]  # each room's newest
    inside_items = [i["consultation_id"] for e, d in inside.events if e == "room:activity" for i in d["items"]]
    assert inside_items == ids[1:]  # the joined room came as message:new
    # A message and then the room's close: the staff's list hears the room's activity before the update.
    outside.events.clear()
    await users[2].post(
        f"/consultations/{opened[2]['id']}/messages", {"text": "Terakhir", "client_id": "c2"}, expect=201
    )
    await inside_officer.post(f"/consultations/{opened[2]['id']}/close", {"category": "answered"}, expect=200)
    await outside.wait_for("consultation:updated", lambda c: c["id"] == ids[2] and c["status"] == "closed")
    order = [
        (e, [i["consultation"]["status"] for i in d["items"] if i["consultation_id"] == ids[2]])
        if e == "room:activity"
        else (e, [d["status"]])
        for e, d in outside.events
        if (e == "room:activity" and any(i["consultation_id"] == ids[2] for i in d["items"]))
        or (e == "consultation:updated" and d["id"] == ids[2] and d["status"] == "closed")
    ]
    # The message's activity went at once; the close's own system message was gathered and goes before the update.
    assert [e for e, _ in order[:3]] == ["room:activity", "room:activity", "consultation:updated"], order
    assert all(statuses == ["closed"] for _, statuses in order[2:]), order  # nothing older after the close



def test_the_server_encodes_its_events_without_walking_them_for_bytes(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our payloads are JSON (server.realtime.sio.JsonPacket): python-socketio's search of every payload for
    bytes, dearer than encoding it, is not made for what the server sends; what it encodes is one text packet."""
    import socketio.packet

    from server.keys import SIO

    def walked(cls: Any, data: Any) -> bool:
        raise AssertionError("the payload was walked for bytes")

    monkeypatch.setattr(socketio.packet.Packet, "data_is_binary", classmethod(walked))
    item = {"consultation_id": "c1", "message": {"seq": 3, "text": "Tanpa biner"}, "consultation": {"reads": {}}}
    event = app[SIO].packet_class(socketio.packet.EVENT, namespace="/", data=["room:activity", {"items": [item]}])
    assert event.encode() == "2" + json.dumps(["room:activity", {"items": [item]}], separators=(",", ":"))
    ack = app[SIO].packet_class(socketio.packet.ACK, namespace="/", data=[{"ok": True}], id=7)
    assert ack.encode() == '37[{"ok":true}]'
