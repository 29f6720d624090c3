"""Personal data over HTTP (UU PDP 27/2022): consent at registration, GET /me/export, DELETE /me."""

from __future__ import annotations

import json
from typing import Any

from bson import ObjectId

from server.domain import accounts
from server.domain.privacy import ERASED
from server.keys import SERVICES
from tests.conftest import Api, outbox_link

Doc = dict[str, Any]
SKM_ELEMENTS = ("persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana")


async def open_consultation(
    user: Api, subject: str = "Data kemiskinan 2025", text: str = "Saya Rina, NIK saya 7406"
) -> Doc:
    _, c = await user.call(
        "POST", "/consultations", {"office": "7406", "topic": "data", "subject": subject, "text": text}, expect=201
    )
    return dict(c)


async def register(anon: Api, app: Any, email: str, **extra: Any) -> Doc:
    body = {"email": email, "password": "rahasia-123", "name": "Rina", **extra}
    await anon.call("POST", "/auth/register", body, expect=202)
    user = await app[SERVICES].db.users.find_one({"email": email})
    assert user is not None
    return dict(user)


async def test_registration_records_consent_with_the_notice_version(anon: Api, app: Any) -> None:
    with_consent = await register(anon, app, "setuju@example.id", consent=True)
    assert with_consent["consent_at"] == with_consent["created_at"]
    assert with_consent["consent_version"] == accounts.PRIVACY_NOTICE_VERSION
    without = await register(anon, app, "diam@example.id")
    assert without["consent_at"] is None and without["consent_version"] is None
    status, body = await anon.call(
        "POST", "/auth/register", {"email": "x@example.id", "password": "rahasia-123", "name": "X", "consent": "ya"}
    )
    assert status == 422 and body["error"]["code"] == "invalid_consent"


async def test_the_privacy_page_is_served(client: Any) -> None:
    resp = await client.get("/privacy")
    assert resp.status == 200
    page = await resp.text()
    assert accounts.PRIVACY_NOTICE_VERSION in page and "27 Tahun 2022" in page


async def _world(make_user: Any, make_staff: Any, anon: Api) -> tuple[Api, Api, Api, Doc, Doc]:
    rina = await make_user("Rina Wulandari", email="rina@example.id")
    other = await make_user("Orang Lain", email="lain@example.id")
    officer = await make_staff("officer", "7406", name="Budi")
    c = await open_consultation(rina)
    cid = c["id"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    await officer.post(f"/consultations/{cid}/messages", {"text": "Tabel terlampir, Bu", "client_id": "r1"}, expect=201)
    await officer.post(
        f"/consultations/{cid}/messages",
        {"text": "catatan: pengguna rewel", "kind": "note", "client_id": "n1"},
        expect=201,
    )
    await rina.post(
        f"/consultations/{cid}/messages", {"text": "Terima kasih, HP saya 0812", "client_id": "u2"}, expect=201
    )
    await rina.post(f"/consultations/{cid}/close", {}, expect=200)
    await rina.post(
        f"/consultations/{cid}/rating", {"score": 4, "comment": "Cepat, Pak Budi", "complaint": "Tapi lambat awalnya"}
    )
    skm = dict.fromkeys(SKM_ELEMENTS, 4)
    await rina.post(
        "/surveys/skm/responses",
        {"office": "7406", "channel": "online", "consultation_id": cid, "answers": skm, "suggestion": "Saran Rina"},
        expect=201,
    )
    await anon.post(
        "/offices/7406/guestbook",
        {
            "name": "Rina Wulandari",
            "email": "rina@example.id",
            "purpose": "Data IPM",
            "id_type": "ktp",
            "id_number": "7406012345670001",
        },
        expect=201,
    )
    theirs = await open_consultation(other, subject="Punya orang lain", text="Rahasia orang lain")
    return rina, other, officer, c, theirs


async def test_export_holds_everything_about_me_and_nothing_else(
    make_user: Any, make_staff: Any, anon: Api, app: Any
) -> None:
    rina, _, _, c, theirs = await _world(make_user, make_staff, anon)
    status, out = await rina.call("GET", "/me/export", expect=200)
    assert out["account"]["email"] == "rina@example.id" and out["account"]["name"] == "Rina Wulandari"
    assert "password_hash" not in json.dumps(out)
    assert [x["id"] for x in out["consultations"]] == [c["id"]]
    texts = [m["text"] for m in out["consultations"][0]["messages"]]
    assert "Saya Rina, NIK saya 7406" in texts and "Tabel terlampir, Bu" in texts
    assert "Terima kasih, HP saya 0812" in texts
    assert not any("rewel" in t for t in texts), "staff notes never leave the office"
    assert all(m["kind"] != "note" for m in out["consultations"][0]["messages"])
    assert [(r["score"], r["comment"]) for r in out["ratings"]] == [(4, "Cepat, Pak Budi")]
    assert [x["text"] for x in out["complaints"]] == ["Tapi lambat awalnya"]
    assert len(out["guestbook"]) == 1 and out["guestbook"][0]["purpose"] == "Data IPM"
    # Matched by a typed address: the ID number stays masked.
    assert out["guestbook"][0]["id_number"].endswith("0001") and "7406012345" not in json.dumps(out)
    assert theirs["id"] not in json.dumps(out) and "Rahasia orang lain" not in json.dumps(out)
    assert [(x["suggestion"], x["answers"]["waktu"]) for x in out["surveys"]] == [("Saran Rina", 4)]
    rina.client.session.cookie_jar.clear()  # the test client keeps the last login's cookie
    status, _ = await Api(rina.client).call("GET", "/me/export")
    assert status == 401


async def test_erasure_replaces_my_data_ends_my_sessions_and_keeps_the_figures(
    make_user: Any, make_staff: Any, anon: Api, app: Any
) -> None:
    svc = app[SERVICES]
    rina, other, officer, c, theirs = await _world(make_user, make_staff, anon)
    sup = await make_staff("supervisor", "7406", name="Wati")
    before = await sup.get("/reports/summary?office=7406")
    # A second session of the same person (another device).
    _, second = await anon.call("POST", "/auth/login", {"email": "rina@example.id", "password": "rahasia-123"})

    status, body = await rina.call("DELETE", "/me", {"password": "salah-sekali"})
    assert status == 403 and body["error"]["code"] == "wrong_password"
    assert (await rina.get("/me"))["name"] == "Rina Wulandari"

    status, body = await rina.call("DELETE", "/me", {"password": "rahasia-123"})
    assert status == 200 and body["erased"] is True
    # Every session ended; the account cannot sign in again.
    assert (await rina.call("GET", "/me"))[0] == 401
    assert (await Api(rina.client, token=second["token"]).call("GET", "/me"))[0] == 401
    status, _ = await anon.call("POST", "/auth/login", {"email": "rina@example.id", "password": "rahasia-123"})
    assert status == 401

    user = await svc.db.users.find_one({"_id": ObjectId(c["user"]["id"])})
    assert user is not None and user["name"] == ERASED and user["phone"] is None and user["password_hash"] is None
    assert "rina" not in user["email"]
    # The room as the officer sees it: the person's texts and name replaced, the staff's reply kept.
    room = await officer.get(f"/consultations/{c['id']}")
    assert room["user"]["name"] == ERASED and room["user"]["email"] == ERASED and room["subject"] == ERASED
    assert room["status"] == "closed" and room["number"] == c["number"]
    msgs = (await officer.get(f"/consultations/{c['id']}/messages"))["messages"]
    texts = [m["text"] for m in msgs]
    assert "Tabel terlampir, Bu" in texts and "catatan: pengguna rewel" in texts
    assert not any("NIK saya" in t or "HP saya" in t or "Cepat, Pak Budi" in t for t in texts)
    assert [m["author"]["name"] for m in msgs if m["kind"] == "text" and m["author"]["role"] == "user"] == [
        ERASED,
        ERASED,
    ]
    stored = []
    for coll in ("consultations", "messages", "ratings", "complaints", "guestbook", "users", "outbox"):
        stored.extend([d async for d in svc.db[coll].find({}, {"_id": 0})])
    dump = json.dumps(stored, default=str)
    stored.extend([d async for d in svc.db.skm_responses.find({}, {"_id": 0})])
    dump = json.dumps(stored, default=str)
    assert await svc.db.skm_responses.count_documents({"answers.waktu": 4}) == 1  # the IKM keeps the answers
    for trace in (
        "rina@example.id",
        "Rina Wulandari",
        "NIK saya",
        "HP saya",
        "Cepat, Pak Budi",
        "lambat awalnya",
        "Saran Rina",
    ):
        assert trace not in dump, (trace, [d for d in stored if trace in json.dumps(d, default=str)])
    assert "7406012345670001" not in dump
    # Someone else's data is untouched.
    assert (await other.get(f"/consultations/{theirs['id']}"))["subject"] == "Punya orang lain"
    # The office's figures are the same.
    after = await sup.get("/reports/summary?office=7406")
    assert after["consultations"] == before["consultations"]
    assert after["ratings"] == before["ratings"]
    assert after["ikm"] == before["ikm"] and before["ikm"]["responses"] == 1
    assert after["complaints"]["total"] == before["complaints"]["total"]
    # The address is free again for a new account.
    await anon.call(
        "POST", "/auth/register", {"email": "rina@example.id", "password": "rahasia-456", "name": "Rina"}, expect=202
    )
    await outbox_link(svc.db, "rina@example.id", "verify_email")


async def test_staff_cannot_erase_themselves_and_anonymous_cannot_erase(make_staff: Any, anon: Api) -> None:
    officer = await make_staff("officer", "7406")
    status, body = await officer.call("DELETE", "/me", {"password": "petugas-123"})
    assert status == 403 and body["error"]["code"] == "staff_account"
    anon.client.session.cookie_jar.clear()  # the test client keeps the last login's cookie
    assert (await anon.call("DELETE", "/me", {"password": "x"}))[0] == 401
