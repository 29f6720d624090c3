"""Rating a closed consultation: in the app, or once through the signed link in the e-mail."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from server.domain.security import sign
from tests.conftest import Api, outbox_link
from tests.schedulers.test_schedulers import DAY, clock, messages, open_consultation, reply

WITA = ZoneInfo("Asia/Makassar")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)


async def test_rating_in_the_app_once_with_a_complaint(client: Any, make_user: Any, make_staff: Any,
                                                       services: Any, connect: Any) -> None:
    await clock(client, at=T0)
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari")
    stranger = await make_user(name="Orang Lain")
    c = await open_consultation(user, "7406")
    cid = c["id"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await reply(officer, cid)
    status, body = await user.call("POST", f"/consultations/{cid}/rating", {"score": 4})
    assert status == 409 and body["error"]["code"] == "not_closed"
    await officer.post(f"/consultations/{cid}/close", {}, expect=200)
    osock = await connect(officer)

    for who, code in ((officer, "forbidden"), (stranger, "forbidden")):
        status, body = await who.call("POST", f"/consultations/{cid}/rating", {"score": 5})
        assert status == 403 and body["error"]["code"] == code
    for bad in (0, 6, -1, "5", 4.5, True, None):
        status, body = await user.call("POST", f"/consultations/{cid}/rating", {"score": bad})
        assert status == 422 and body["error"]["code"] == "invalid_score", (bad, body)
    status, body = await user.call("POST", f"/consultations/{cid}/rating", {"score": 3, "comment": "x" * 2001})
    assert status == 422

    out = await user.post(f"/consultations/{cid}/rating",
                          {"score": 4, "comment": "  Cepat dan jelas.  ",
                           "complaint": "Tabel yang dikirim pertama salah tahun."}, expect=201)
    assert out["rating"]["score"] == 4 and out["rating"]["comment"] == "Cepat dan jelas."
    # The room shows it, to the user and to the staff.
    shown = [m for m in await messages(user, cid) if m["kind"] == "rating"]
    assert len(shown) == 1 and "★★★★☆ (4/5)" in shown[0]["text"] and "Cepat dan jelas." in shown[0]["text"]
    assert "salah tahun" not in shown[0]["text"]  # the complaint goes to the complaints desk, not the room
    assert [m["kind"] for m in await messages(officer, cid)].count("rating") == 1
    upd = await osock.wait_for("consultation:updated", lambda d: d["id"] == cid and d.get("rating"))
    assert upd["rating"]["score"] == 4
    assert (await user.get(f"/consultations/{cid}"))["rating"]["score"] == 4
    # Stored: the rating, the complaint case, and no reminder left to send.
    stored = await services.db.ratings.find_one({"consultation_id": ObjectId(cid)})
    assert stored["score"] == 4 and stored["office"] == "7406" and stored["via"] == "app"
    complaint = await services.db.complaints.find_one({"consultation_id": ObjectId(cid)})
    assert complaint["status"] == "received" and complaint["text"] == "Tabel yang dikirim pertama salah tahun."
    assert complaint["user_id"] == ObjectId(user.user["id"]) and complaint["office"] == "7406"
    doc = await services.db.consultations.find_one({"_id": ObjectId(cid)})
    assert "rating_reminder_at" not in doc

    # Once.
    status, body = await user.call("POST", f"/consultations/{cid}/rating", {"score": 1})
    assert status == 409 and body["error"]["code"] == "already_rated"
    assert (await user.get(f"/consultations/{cid}/rating"))["rating"]["score"] == 4
    await clock(client, advance=3 * DAY)
    assert await services.db.outbox.count_documents({"kind": "rating_reminder"}) == 0
    assert await services.db.ratings.count_documents({}) == 1
    assert await services.db.complaints.count_documents({}) == 1


async def test_rating_through_the_signed_email_link(client: Any, make_user: Any, make_staff: Any,
                                                    services: Any, anon: Api) -> None:
    await clock(client, at=T0)
    officer = await make_staff("officer", "7406")
    user = await make_user(name="Sari")
    email = user.user["email"]
    c = await open_consultation(user, "7406", subject="Data IPM 2025")
    cid = c["id"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await reply(officer, cid)
    await user.post(f"/consultations/{cid}/close", {}, expect=200)
    link = await outbox_link(services.db, email, "rating_request")
    assert link.startswith("http://pst.test/rate?token=")
    token = link.split("token=", 1)[1]

    # The page opens without signing in; its script is a file (the CSP forbids inline scripts).
    page = await client.get(f"/rate?token={token}")
    html = await page.text()
    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script type="module" src="/static/js/rate/main.js"' in html and "Penilaian layanan" in html
    assert (await client.get("/static/js/rate/main.js")).status == 200

    about = await anon.get(f"/ratings/by-token?token={token}")
    assert about["consultation"]["number"] == c["number"] and about["consultation"]["subject"] == "Data IPM 2025"
    assert about["rated"] is False and about["consultation"]["office_name"]

    # Forged links are refused.
    body_part, sig = token.split(".")
    key, far = services.settings.secret_key, 4102444800
    forged = [body_part + "." + ("A" if sig[0] != "A" else "B") + sig[1:],
              sign({"c": cid, "u": user.user["id"], "exp": far, "p": "verify"}, key),
              sign({"c": cid, "u": user.user["id"], "exp": far, "p": "rate"}, "another-key"),
              sign({"c": cid, "u": str(ObjectId()), "exp": far, "p": "rate"}, key),
              "garbage"]
    for bad in forged:
        status, body = await anon.call("POST", "/ratings/by-token", {"token": bad, "score": 5})
        assert status in (400, 404) and body["error"]["code"] in ("invalid_token", "not_found"), body
    assert await services.db.ratings.count_documents({}) == 0

    # Two clicks at once (two tabs): one rating, the other is told it was rated already.
    results = await asyncio.gather(
        anon.call("POST", "/ratings/by-token", {"token": token, "score": 5, "comment": "Mantap"}),
        anon.call("POST", "/ratings/by-token", {"token": token, "score": 2}),
    )
    assert sorted(status for status, _ in results) == [201, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]["code"] == "already_rated"
    winner = next(body for status, body in results if status == 201)
    assert (await anon.get(f"/ratings/by-token?token={token}"))["rated"] is True
    stored = await services.db.ratings.find_one({"consultation_id": ObjectId(cid)})
    assert stored["via"] == "link" and stored["score"] == winner["rating"]["score"]
    assert [m["kind"] for m in await messages(user, cid)].count("rating") == 1
    status, body = await user.call("POST", f"/consultations/{cid}/rating", {"score": 3})
    assert status == 409 and body["error"]["code"] == "already_rated"

    # A link expires after 30 days.
    second = await open_consultation(user, "7406", subject="Data kedua")
    await user.post(f"/consultations/{second['id']}/close", {}, expect=200)
    old_link = await outbox_link(services.db, email, "rating_request")
    old_token = old_link.split("token=", 1)[1]
    assert old_token != token
    await clock(client, at=T0 + timedelta(days=30, seconds=1))
    status, body = await anon.call("GET", f"/ratings/by-token?token={old_token}")
    assert status == 410 and body["error"]["code"] == "token_expired"
    status, body = await anon.call("POST", "/ratings/by-token", {"token": old_token, "score": 4})
    assert status == 410 and body["error"]["code"] == "token_expired"
