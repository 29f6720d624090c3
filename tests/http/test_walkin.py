"""The walk-in desk over HTTP: guest book, tickets per office and local day, calling, the promise."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from server.domain import guestbook, walkin_board
from server.http.ratelimit import RateLimiter
from server.http.routes_walkin import KIOSK_LIMITER
from tests.conftest import Api

WITA = ZoneInfo("Asia/Makassar")
WIB = ZoneInfo("Asia/Jakarta")
# A Monday morning, far from holidays.
MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=WITA)


async def clock(client: Any, *, at: datetime | None = None, advance: float | None = None) -> Any:
    body = {"set": at.isoformat()} if at is not None else {"advance_seconds": advance}
    resp = await client.post("/api/v1/_test/clock", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def guest(**kw: Any) -> dict[str, Any]:
    base = {
        "name": "Rina Wulandari",
        "email": "rina@example.org",
        "phone": "0812-1111-2222",
        "institution": "Universitas Halu Oleo",
        "occupation": "Mahasiswa",
        "purpose": "Data IPM kecamatan 2024 untuk skripsi",
    }
    return {**base, **kw}


async def take(anon: Api, office: str, **body: Any) -> Any:
    return await anon.post(f"/offices/{office}/queue/tickets", body, expect=201)


async def test_guest_book_then_ticket_numbers_restart_at_local_midnight(client: Any, anon: Api, services: Any) -> None:
    # 23:58 in Makassar (WITA) is 22:58 in Jakarta (WIB): each office's day follows its own clock.
    await clock(client, at=datetime(2026, 11, 23, 23, 58, tzinfo=WITA))
    entry = (await anon.post("/offices/7406/guestbook", guest(), expect=201))["entry"]
    assert entry["name"] == "Rina Wulandari" and entry["id_number"] is None
    t1 = await take(anon, "7406", guestbook_id=entry["id"])
    assert t1["ticket"]["number"] == "A-001" and t1["ticket"]["status"] == "waiting"
    assert t1["url"].startswith("http://pst.test/ticket?id=") and t1["token"] in t1["url"]
    assert (await take(anon, "7406"))["ticket"]["number"] == "A-002"
    assert (await take(anon, "1600"))["ticket"]["number"] == "A-001"  # another office, its own series
    # The same guest book entry cannot take a second ticket.
    status, body = await anon.call("POST", "/offices/7406/queue/tickets", {"guestbook_id": entry["id"]})
    assert status == 409 and body["error"]["code"] == "entry_has_ticket"

    await clock(client, advance=3 * 60)  # 00:01 WITA: a new day in Makassar, still 23:01 in Jakarta
    assert (await take(anon, "7406"))["ticket"]["number"] == "A-001"
    assert (await take(anon, "1600"))["ticket"]["number"] == "A-002"
    await clock(client, at=datetime(2026, 11, 24, 0, 0, 30, tzinfo=WIB))
    t = (await take(anon, "1600"))["ticket"]
    assert t["number"] == "A-001" and t["day"] == "2026-11-24"
    # The board shows only today's tickets, and never a name.
    board = await anon.get("/offices/7406/queue")
    assert [x["number"] for x in board["waiting"]] == ["A-001"]
    assert board["called"] == [] and board["serving"] == [] and board["done_today"] == 0
    assert "Rina" not in str(board)
    # The guest book entry is stored with its ticket.
    stored = await services.db.guestbook.find_one({"_id": ObjectId(entry["id"])})
    assert stored["ticket_id"] == ObjectId(t1["ticket"]["id"])


async def test_unknown_office_and_bad_input(anon: Api) -> None:
    for method, path, body in (
        ("POST", "/offices/9999/guestbook", guest()),
        ("POST", "/offices/9999/queue/tickets", {}),
        ("GET", "/offices/9999/queue", None),
    ):
        status, out = await anon.call(method, path, body)
        assert status == 404 and out["error"]["code"] == "office_not_found", (path, out)
    status, out = await anon.call("POST", "/offices/7406/guestbook", guest(email="not-an-address"))
    assert status == 422 and out["error"]["code"] == "invalid_email"
    status, out = await anon.call("POST", "/offices/7406/guestbook", guest(purpose="   "))
    assert status == 422 and out["error"]["code"] == "missing_purpose"
    status, out = await anon.call("POST", "/offices/7406/queue/tickets", {"priority": "vip"})
    assert status == 422
    status, out = await anon.call("POST", "/offices/7406/queue/tickets", {"guestbook_id": str(ObjectId())})
    assert status == 404 and out["error"]["code"] == "entry_not_found"


async def test_id_card_required_where_the_standard_says_so_and_masked_for_staff(
    client: Any, anon: Api, make_staff: Any, services: Any
) -> None:
    await clock(client, at=MORNING)
    for office in ("1808", "7501"):
        status, out = await anon.call("POST", f"/offices/{office}/guestbook", guest())
        assert status == 422 and out["error"]["code"] == "id_required", office
        status, out = await anon.call("POST", f"/offices/{office}/guestbook", guest(id_type="ktp"))
        assert status == 422 and out["error"]["code"] == "id_required"
    status, out = await anon.call(
        "POST", "/offices/7501/guestbook", guest(id_type="kartu", id_number="7404012345670001")
    )
    assert status == 422 and out["error"]["code"] == "invalid_id_type"
    # 1808 has no ticket step (guest book, then service): the entry itself issues the ticket.
    out = await anon.post("/offices/1808/guestbook", guest(id_type="ktp", id_number="1808012345670001"), expect=201)
    assert out["entry"]["id_number"] == "••••••••••••0001" and out["ticket"]["number"] == "A-001"
    assert out["token"] and out["url"]
    # Staff see the number masked; opening it is recorded.
    officer = await make_staff("officer", "1808", name="Dewi")
    other = await make_staff("officer", "7406", name="Andi")
    desk = await officer.get("/offices/1808/queue/desk")
    g = desk["waiting"][0]["guest"]
    assert g["name"] == "Rina Wulandari" and g["id_number"].endswith("0001") and "1808012345" not in str(desk)
    status, _ = await other.call("POST", f"/guestbook/{g['id']}/reveal-id")
    assert status == 403
    assert await services.db.pii_access_log.count_documents({}) == 0
    shown = (await officer.post(f"/guestbook/{g['id']}/reveal-id", expect=200))["entry"]
    assert shown["id_number"] == "1808012345670001" and shown["id_type"] == "ktp"
    log = await services.db.pii_access_log.find_one({})
    assert log["by"] == ObjectId(officer.user["id"]) and log["guestbook_id"] == ObjectId(g["id"])
    # Offices without the requirement take no ID at all.
    out = await anon.post("/offices/7406/guestbook", guest(), expect=201)
    assert out["entry"]["id_number"] is None and "ticket" not in out


async def test_ticket_first_then_guest_book(client: Any, anon: Api, make_staff: Any) -> None:
    await clock(client, at=MORNING)
    # Boalemo (7501): the number first, then the guest book for that ticket.
    t = (await take(anon, "7501"))["ticket"]
    out = await anon.post(
        "/offices/7501/guestbook", guest(id_type="ktp", id_number="7501012345670002", ticket_id=t["id"]), expect=201
    )
    assert out["entry"]["ticket_id"] == t["id"] and "ticket" in out
    status, body = await anon.call(
        "POST", "/offices/7501/guestbook", guest(id_type="ktp", id_number="7501012345670003", ticket_id=t["id"])
    )
    assert status == 409 and body["error"]["code"] == "ticket_has_entry"
    officer = await make_staff("officer", "7501")
    desk = await officer.get("/offices/7501/queue/desk")
    assert desk["waiting"][0]["guest"]["name"] == "Rina Wulandari"
    assert desk["rules"]["order"][0] == "queue_ticket"


async def test_desk_flow_priority_states_and_authorization(
    client: Any, anon: Api, make_staff: Any, make_user: Any, services: Any
) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406", name="Budi")
    stranger_staff = await make_staff("officer", "7411", name="Lain")
    user = await make_user()
    status, body = await officer.call("POST", "/offices/7406/queue/next", {"desk": "1"})
    assert status == 404 and body["error"]["code"] == "queue_empty"

    e = (await anon.post("/offices/7406/guestbook", guest(), expect=201))["entry"]
    a1 = (await take(anon, "7406", guestbook_id=e["id"]))["ticket"]
    a2 = (await take(anon, "7406"))["ticket"]
    a3 = (await take(anon, "7406", priority="elderly"))["ticket"]
    # Nobody but staff of the office calls (the test client keeps the last login's cookie: drop it).
    client.session.cookie_jar.clear()
    for who, code in ((anon, 401), (user, 403), (stranger_staff, 403)):
        status, _ = await who.call("POST", "/offices/7406/queue/next", {})
        assert status == code
    for path in ("serve", "no-show", "done", "recall"):
        status, _ = await stranger_staff.call("POST", f"/queue/tickets/{a1['id']}/{path}", {})
        assert status == 403, path
    # Wrong-state actions say what is wrong.
    for path, code in (
        ("serve", "ticket_not_called"),
        ("done", "ticket_not_called"),
        ("no-show", "ticket_not_called"),
        ("recall", "ticket_not_called"),
    ):
        status, body = await officer.call("POST", f"/queue/tickets/{a1['id']}/{path}", {})
        assert status == 409 and body["error"]["code"] == code, (path, body)
    status, body = await officer.call("POST", f"/queue/tickets/{ObjectId()}/serve", {})
    assert status == 404 and body["error"]["code"] == "ticket_not_found"

    # The elderly visitor comes first, then the lowest number.
    first = (await officer.post("/offices/7406/queue/next", {"desk": "2"}, expect=200))["ticket"]
    assert first["number"] == a3["number"] and first["status"] == "called" and first["desk"] == "2"
    again = (await officer.post(f"/queue/tickets/{first['id']}/recall", {}, expect=200))["ticket"]
    assert again["recalls"] == 1 and again["status"] == "called"
    await officer.post(f"/queue/tickets/{first['id']}/no-show", expect=200)
    status, body = await officer.call("POST", f"/queue/tickets/{first['id']}/serve")
    assert status == 409 and body["error"]["code"] == "ticket_finished"

    second = (await officer.post("/offices/7406/queue/next", {"desk": "2"}, expect=200))["ticket"]
    assert second["number"] == a1["number"]
    board = await anon.get("/offices/7406/queue")
    assert [x["number"] for x in board["called"]] == ["A-001"] and board["called"][0]["desk"] == "2"
    assert [x["number"] for x in board["waiting"]] == [a2["number"]]
    await officer.post(f"/queue/tickets/{second['id']}/serve", expect=200)
    status, body = await officer.call("POST", f"/queue/tickets/{second['id']}/serve")
    assert status == 409 and body["error"]["code"] == "ticket_serving"
    status, body = await officer.call("POST", f"/queue/tickets/{second['id']}/done", {"topic": "gossip"})
    assert status == 422
    out = await officer.post(
        f"/queue/tickets/{second['id']}/done",
        {"topic": "data", "summary": "Tabel IPM kecamatan dikirim lewat e-mail."},
        expect=200,
    )
    assert out["ticket"]["status"] == "done" and out["ticket"]["consultation_id"]
    c = out["consultation"]
    assert c["channel"] == "walk_in" and c["status"] == "closed" and c["topic"] == "data"
    assert c["user"]["name"] == "Rina Wulandari" and c["assigned_to"]["name"] == "Budi"
    status, body = await officer.call("POST", f"/queue/tickets/{second['id']}/done", {})
    assert status == 409 and body["error"]["code"] == "ticket_finished"
    # The walk-in consultation is in the staff's lists, with its transcript, and mailed to the visitor.
    listed = await officer.get("/consultations?status=closed")
    assert c["id"] in [x["id"] for x in listed["consultations"]]
    transcript = await officer.get(f"/consultations/{c['id']}/transcript?format=text")
    assert "A-001" in transcript and "Tabel IPM kecamatan" in transcript
    mail = await services.db.outbox.find_one({"to": "rina@example.org", "kind": "consultation_closed"})
    assert mail is not None and "Tabel IPM kecamatan" in mail["text"]
    assert (await anon.get("/offices/7406/queue"))["done_today"] == 1


async def test_two_officers_calling_at_once_get_different_tickets(client: Any, anon: Api, make_staff: Any) -> None:
    await clock(client, at=MORNING)
    officers = [await make_staff("officer", "7406", name=f"Petugas {i}") for i in range(4)]
    for _ in range(3):
        await take(anon, "7406")
    results = await asyncio.gather(
        *(o.call("POST", "/offices/7406/queue/next", {"desk": str(i + 1)}) for i, o in enumerate(officers))
    )
    ok = [body["ticket"]["number"] for status, body in results if status == 200]
    assert sorted(ok) == ["A-001", "A-002", "A-003"]
    empty = [body["error"]["code"] for status, body in results if status != 200]
    assert empty == ["queue_empty"]


async def test_promise_kept_and_broken_per_ticket_and_per_day(
    client: Any, anon: Api, make_staff: Any, services: Any
) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406")
    a1 = (await take(anon, "7406"))["ticket"]
    await clock(client, advance=2 * 60)
    a2 = (await take(anon, "7406"))["ticket"]
    await clock(client, advance=3 * 60)  # 08:05: A-001 called 5 minutes after it was taken: kept
    t = (await officer.post("/offices/7406/queue/next", {}, expect=200))["ticket"]
    assert t["id"] == a1["id"] and t["promise_kept"] is True
    await officer.post(f"/queue/tickets/{t['id']}/serve", expect=200)
    await clock(client, advance=20 * 60)  # 08:25: A-001 finishes; A-002 has waited 23 minutes
    await officer.post(f"/queue/tickets/{t['id']}/done", {}, expect=200)
    desk = await officer.get("/offices/7406/queue/desk")
    assert desk["last_finish_at"] == desk["next_ref_at"]  # the timer of the next visitor starts at the finish
    await clock(client, advance=9 * 60)  # called 9 minutes after the previous finished: kept
    t = (await officer.post("/offices/7406/queue/next", {}, expect=200))["ticket"]
    assert t["id"] == a2["id"] and t["promise_kept"] is True
    await officer.post(f"/queue/tickets/{t['id']}/done", {}, expect=200)
    await clock(client, advance=60)
    a3 = (await take(anon, "7406"))["ticket"]
    await clock(client, advance=11 * 60)  # nobody was being served: 11 minutes after it was taken, broken
    t = (await officer.post("/offices/7406/queue/next", {}, expect=200))["ticket"]
    assert t["id"] == a3["id"] and t["promise_kept"] is False
    summary = await officer.get("/offices/7406/queue/summary")
    assert summary["tickets"] == 3 and summary["served"] == 2
    assert summary["promise_kept"] == 2 and summary["promise_broken"] == 1
    assert summary["promise_compliance"] == round(2 / 3, 4)
    assert summary["wait_minutes"]["max"] == 32.0  # taken 08:02, called 08:34
    client.session.cookie_jar.clear()
    user_status, _ = await anon.call("GET", "/offices/7406/queue/summary")
    assert user_status == 401


async def test_phone_page_needs_the_ticket_token(client: Any, anon: Api, make_staff: Any) -> None:
    await clock(client, at=MORNING)
    for _ in range(3):
        await take(anon, "7406")
    mine = await take(anon, "7406")
    tid, token = mine["ticket"]["id"], mine["token"]
    status, _ = await anon.call("GET", f"/queue/tickets/{tid}")
    assert status == 404
    status, _ = await anon.call("GET", f"/queue/tickets/{tid}?token=wrong")
    assert status == 404
    out = await anon.get(f"/queue/tickets/{tid}?token={token}")
    assert out["position"] == 4 and out["ticket"]["number"] == "A-004"
    assert out["estimated_wait_minutes"] == 40  # one desk, 10 minutes a visitor by the standard
    officer = await make_staff("officer", "7406")
    await officer.post("/offices/7406/queue/next", {}, expect=200)
    assert (await anon.get(f"/queue/tickets/{tid}?token={token}"))["position"] == 3
    assert (await officer.get(f"/queue/tickets/{tid}"))["ticket"]["number"] == "A-004"


async def test_qr_prefill_from_the_portal(client: Any, anon: Api, make_user: Any, services: Any) -> None:
    await clock(client, at=MORNING)
    user = await make_user(name="Sari Dewi")
    await user.call("PATCH", "/me", {"institution": "Bappeda", "occupation": "Analis"})
    qr = await user.get("/me/guestbook-qr")
    assert qr["token"].startswith("PSTQR1:")
    out = await anon.post("/offices/7406/guestbook/prefill", {"qr_token": qr["token"]}, expect=200)
    assert out["prefill"]["name"] == "Sari Dewi" and out["prefill"]["email"] == user.user["email"]
    assert out["prefill"]["institution"] == "Bappeda"
    entry = (
        await anon.post(
            "/offices/7406/guestbook",
            guest(name="Sari Dewi", email=user.user["email"], qr_token=qr["token"]),
            expect=201,
        )
    )["entry"]
    assert entry["user_id"] == user.user["id"]
    status, body = await anon.call("POST", "/offices/7406/guestbook/prefill", {"qr_token": qr["token"] + "x"})
    assert status == 422 and body["error"]["code"] == "invalid_qr"
    await clock(client, advance=6 * 60)
    status, body = await anon.call("POST", "/offices/7406/guestbook/prefill", {"qr_token": qr["token"]})
    assert status == 422 and body["error"]["code"] == "qr_expired"
    client.session.cookie_jar.clear()
    status, _ = await anon.call("GET", "/me/guestbook-qr")
    assert status == 401


async def test_booked_visit_redeemed_into_the_same_consultation(
    client: Any, anon: Api, make_user: Any, make_staff: Any, services: Any
) -> None:
    await clock(client, at=datetime(2026, 11, 23, 8, 0, tzinfo=WITA))
    user = await make_user(name="Sari")
    officer = await make_staff("officer", "7406", name="Budi")
    c = await user.post(
        "/consultations",
        {"office": "7406", "topic": "data", "subject": "Data PDRB", "text": "Boleh datang langsung?"},
        expect=201,
    )
    cid = c["consultation"]["id"] if "consultation" in c else c["id"]
    booked = await user.post(f"/consultations/{cid}/visit", {"date": "2026-11-23", "slot": "10:00"}, expect=201)
    code = booked["code"]
    await clock(client, at=datetime(2026, 11, 23, 9, 55, tzinfo=WITA))
    status, body = await anon.call("POST", "/offices/1600/queue/visits", {"code": code})
    assert status == 404
    out = await anon.post("/offices/7406/queue/visits", {"code": code.lower()}, expect=201)
    assert out["ticket"]["consultation_id"] == cid and out["entry"]["name"] == "Sari"
    status, body = await anon.call("POST", "/offices/7406/queue/visits", {"code": code})
    assert status == 404  # once only
    t = (await officer.post("/offices/7406/queue/next", {}, expect=200))["ticket"]
    done = await officer.post(
        f"/queue/tickets/{t['id']}/done", {"summary": "Dijelaskan cara membaca PDRB."}, expect=200
    )
    assert done["consultation"]["id"] == cid and done["consultation"]["status"] == "closed"
    assert (await services.db.visits.find_one({"code": code}))["status"] == "attended"
    assert await services.db.consultations.count_documents({}) == 1


async def test_kiosk_rate_limit_counts_real_time(client: Any, anon: Api) -> None:
    codes = [(await anon.call("POST", "/offices/7406/guestbook/prefill", {"qr_token": "x"}))[0] for _ in range(121)]
    assert codes[:120] == [422] * 120 and codes[120] == 429
    # The test clock does not refill it: only real time does.
    await clock(client, advance=3600)
    assert (await anon.call("POST", "/offices/7406/queue/tickets", {}))[0] == 429
    # The board (not a kiosk write) is not limited.
    assert (await anon.call("GET", "/offices/7406/queue"))[0] == 200


def test_rate_limiter_window_and_bounded_memory() -> None:
    now = [0.0]
    lim = RateLimiter(3, 60.0, clock=lambda: now[0], max_keys=2)
    assert [lim.allow("a") for _ in range(4)] == [True, True, True, False]
    now[0] = 59.9
    assert not lim.allow("a")
    now[0] = 60.0
    assert lim.allow("a")
    lim.allow("b")
    lim.allow("c")  # "a" is forgotten: at most two addresses are kept
    assert set(lim._hits) == {"b", "c"}


def test_summary_and_masking_are_pure() -> None:
    t0 = datetime(2026, 11, 23, 0, 0, tzinfo=WITA)
    tickets = [
        {
            "status": "done",
            "created_at": t0,
            "called_at": t0 + timedelta(minutes=4),
            "done_at": t0 + timedelta(minutes=14),
            "promise": {"kept": True, "wait_seconds": 240},
        },
        {
            "status": "no_show",
            "created_at": t0,
            "called_at": t0 + timedelta(minutes=20),
            "promise": {"kept": False, "wait_seconds": 600 + 60},
        },
        {"status": "waiting", "created_at": t0, "priority": "pregnant"},
    ]
    s = walkin_board.summarize(tickets)
    assert (s["tickets"], s["served"], s["no_show"], s["not_called"], s["priority"]) == (3, 1, 1, 1, 1)
    assert (s["promise_kept"], s["promise_broken"], s["promise_compliance"]) == (1, 1, 0.5)
    assert s["wait_minutes"] == {"count": 2, "mean": 12.0, "median": 12.0, "max": 20.0}
    assert walkin_board.summarize([])["promise_compliance"] is None
    assert guestbook.mask_id("7404012345670001") == "••••••••••••0001"
    assert guestbook.mask_id("12345") == "•••••"


async def test_bad_input_is_4xx_never_5xx(client: Any, anon: Api, make_staff: Any, app: Any) -> None:
    await clock(client, at=MORNING)
    officer = await make_staff("officer", "7406")
    t = (await take(anon, "7406"))["ticket"]
    # Hundreds of kiosk calls from one address here: a limiter of its own keeps the 429s out of the way.
    app[KIOSK_LIMITER].limit = 10_000
    weird: list[Any] = [None, 2**70, -1, True, [], {}, {"$gt": ""}, "x" * 5000, "\x00\x07", "🙂" * 50]
    fields = ("name", "email", "purpose", "id_type", "id_number", "ticket_id", "qr_token", "topic", "priority")
    for value in weird:
        for field in fields:
            status, _ = await anon.call("POST", "/offices/7406/guestbook", guest(**{field: value}))
            # An optional field left out (None, or nothing left once control characters go) is fine: 201.
            assert 400 <= status < 500 or (status == 201 and value in (None, "\x00\x07", "🙂" * 50)), (field, value)
    for field in ("name", "purpose"):
        status, body = await anon.call("POST", "/offices/7406/guestbook", guest(**{field: "\x00\x07 "}))
        assert status == 422 and body["error"]["code"] == f"missing_{field}"
        for path, body in (
            ("/offices/7406/queue/tickets", {"guestbook_id": value}),
            ("/offices/7406/queue/tickets", {"priority": value}),
            ("/offices/7406/queue/visits", {"code": value}),
            ("/offices/7406/guestbook/prefill", {"qr_token": value}),
        ):
            status, _ = await anon.call("POST", path, body)
            assert 400 <= status < 500 or (status == 201 and value is None), (path, value, status)
        status, _ = await officer.call("POST", "/offices/7406/queue/next", {"desk": value})
        assert status < 500, (value, status)
        status, _ = await officer.call("POST", f"/queue/tickets/{t['id']}/done", {"summary": value, "topic": value})
        assert status < 500, (value, status)
    for bad_id in ("x", "0" * 24, "'; drop", "a" * 300):
        for path in ("serve", "no-show", "done", "recall"):
            status, _ = await officer.call("POST", f"/queue/tickets/{bad_id}/{path}", {})
            assert status == 404, (bad_id, path, status)
        assert (await anon.call("GET", f"/queue/tickets/{bad_id}?token=x"))[0] == 404
        assert (await officer.call("POST", f"/guestbook/{bad_id}/reveal-id"))[0] == 404
    status, body = await officer.call("GET", "/offices/7406/queue/summary?from=2026-13-01")
    assert status == 422 and body["error"]["code"] == "invalid_from"
    status, body = await officer.call("GET", "/offices/7406/queue/summary?from=2020-01-01&to=2026-01-01")
    assert status == 422 and body["error"]["code"] == "invalid_range"


async def test_a_qr_visitor_finds_the_walk_in_consultation_in_the_portal(
    client: Any, anon: Api, make_user: Any, make_staff: Any
) -> None:
    await clock(client, at=MORNING)
    user = await make_user(name="Sari Dewi")
    officer = await make_staff("officer", "7406", name="Budi")
    qr = await user.get("/me/guestbook-qr")
    entry = (
        await anon.post(
            "/offices/7406/guestbook",
            guest(name="Sari Dewi", email=user.user["email"], qr_token=qr["token"]),
            expect=201,
        )
    )["entry"]
    t = (await take(anon, "7406", guestbook_id=entry["id"]))["ticket"]
    await officer.post("/offices/7406/queue/next", {}, expect=200)
    done = await officer.post(f"/queue/tickets/{t['id']}/done", {"summary": "Dijelaskan."}, expect=200)
    mine = await user.get("/consultations")
    assert [c["id"] for c in mine["consultations"]] == [done["consultation"]["id"]]
    assert mine["consultations"][0]["channel"] == "walk_in"
    # A visitor without an account: the consultation belongs to nobody's account.
    other = await make_user(name="Orang Lain")
    assert (await other.get("/consultations"))["consultations"] == []


async def test_retention_erases_old_id_numbers(client: Any, anon: Api, services: Any) -> None:
    await clock(client, at=MORNING)
    await anon.post("/offices/1808/guestbook", guest(id_type="ktp", id_number="1808012345670001"), expect=201)
    await clock(client, advance=40 * 86400)
    await anon.post("/offices/1808/guestbook", guest(id_type="ktp", id_number="1808012345670002"), expect=201)
    erased = await guestbook.erase_id_numbers(services, services.now() - timedelta(days=30))
    assert erased == 1
    left = sorted([e["id_number"] async for e in services.db.guestbook.find({})], key=str)
    assert left == ["1808012345670002", None]
