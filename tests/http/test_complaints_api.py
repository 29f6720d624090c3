"""Complaints over HTTP, end to end with a real SMTP server (aiosmtpd) and the test clock: a rating's complaint
and the public page open cases, the complainant is acknowledged and answered, the supervisors are alerted
on arrival, at risk and overdue (once each, across Christmas and New Year 2026), a low rating becomes a
follow-up; who may see what; bad input.

Run with `-s` to see the e-mails of one complaint as they were received."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from server.settings import Settings
from tests.conftest import Api, SmtpServer

Doc = dict[str, Any]
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp_server.url})


async def clock(client: Any, at: datetime) -> None:
    resp = await client.post("/api/v1/_test/clock", json={"set": at.isoformat()})
    assert resp.status == 200, await resp.text()


async def mail_to(smtp: SmtpServer, to: str, subject_part: str, within: float = 10.0) -> Any:
    """The first e-mail received for `to` whose subject contains `subject_part` (waiting for it)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        for r in smtp.handler.received:
            if to in r.rcpt_tos and subject_part in str(r.message["Subject"]):
                return r
        if asyncio.get_running_loop().time() > deadline:
            got = [(r.rcpt_tos, str(r.message["Subject"])) for r in smtp.handler.received]
            raise AssertionError(f"no mail to {to} about {subject_part!r}; got {got}")
        await asyncio.sleep(0.02)


def plain(m: EmailMessage) -> str:
    body = m.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def show(title: str, received: list[Any]) -> None:
    """Print e-mails as received (visible with pytest -s)."""
    if os.environ.get("PYTEST_QUIET_MAILS"):
        return
    for r in received:
        print(f"\n===== {title}: To: {', '.join(r.rcpt_tos)}\nSubject: {r.message['Subject']}\n\n{plain(r.message)}")


async def closed_consultation(client: Any, user: Api, officer: Api, office: str = "7406") -> Doc:
    c = await user.post(
        "/consultations",
        {"office": office, "topic": "data", "subject": "Data IPM kecamatan", "text": "Mohon data IPM per kecamatan."},
        expect=201,
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(
        f"/consultations/{c['id']}/messages", {"text": "Tabel terlampir.", "client_id": str(ObjectId())}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/close", {"summary": "Dikirim tabel"}, expect=200)
    return dict(c)


async def test_a_complaint_from_a_rating_from_receipt_to_answer_by_email(
    client: Any, make_user: Any, make_staff: Any, smtp_server: SmtpServer, connect: Any
) -> None:
    # Wednesday 23 December 2026, 10:00 in Bombana: the answer is due five working days later, past the
    # joint leave day (24th), Christmas (25th) and New Year (1 January): Monday 4 January 2027, 10:00 WITA.
    await clock(client, datetime(2026, 12, 23, 10, 0, tzinfo=WITA))
    sup = await make_staff("supervisor", "7406", name="Sri Wahyuni")
    officer = await make_staff("officer", "7406", name="Budi Santoso")
    user = await make_user(name="Rina Wulandari")
    c = await closed_consultation(client, user, officer)
    ssock = await connect(sup)
    smtp_server.handler.received.clear()

    await user.post(
        f"/consultations/{c['id']}/rating",
        {"score": 2, "complaint": "Tabel yang dikirim berbeda tahun dengan yang saya minta (2023, bukan 2024)."},
        expect=201,
    )
    alert = await ssock.wait_for("complaint:alert", lambda d: d["state"] == "received")
    assert alert["kind"] == "complaint" and alert["source"] == "rating" and "Tabel" not in str(alert)
    listed = (await sup.get("/complaints?status=open"))["complaints"]
    assert len(listed) == 1 and listed[0]["consultation_number"] == c["number"]
    case = listed[0]
    assert case["number"] == "ADU-7406-2026-0001" and case["due_local"] == "Senin, 4 Januari 2027 10.00 WITA"
    # A complaint is not also a low-rating follow-up.
    assert (await sup.get("/followups"))["followups"] == []

    email = user.user["email"]
    ack = await mail_to(smtp_server, email, "ADU-")
    to_sup = await mail_to(smtp_server, sup.user["email"], "ADU-")
    assert str(ack.message["Subject"]) == "Pengaduan ADU-7406-2026-0001 diterima — BPS Kabupaten Bombana"
    text = plain(ack.message)
    assert "paling lambat Senin, 4 Januari 2027 10.00 WITA" in text and "2023, bukan 2024" in text
    assert "Formulir pengaduan: http://pst.test/complaints/new?office=7406" in text
    assert "LAPOR!: https://www.lapor.go.id" in text and "http://s.bps.go.id/PengaduanLayananBPS7406" in text
    assert str(to_sup.message["Subject"]).startswith("[Pengaduan baru] Pengaduan ADU-7406-2026-0001")
    assert f"http://pst.test/console/#complaints/{case['id']}" in plain(to_sup.message)
    assert not [
        r
        for r in smtp_server.handler.received
        if officer.user["email"] in r.rcpt_tos and "ADU-" in str(r.message["Subject"])
    ]  # supervisors only
    show("receipt", [ack, to_sup])

    # The supervisor works on it: a note, in progress, then the answer.
    await sup.post(f"/complaints/{case['id']}/notes", {"text": "Cek arsip: benar salah kirim."}, expect=201)
    await sup.post(f"/complaints/{case['id']}/status", {"status": "in_progress"}, expect=200)
    # Thursday 31 December 10:00: one working day left; the supervisor is reminded.
    await clock(client, datetime(2026, 12, 31, 10, 0, tzinfo=WITA))
    at_risk = await mail_to(smtp_server, sup.user["email"], "[Tenggat]")
    assert str(at_risk.message["Subject"]).startswith("[Tenggat] Pengaduan ADU-7406-2026-0001 mendekati batas")
    show("at risk", [at_risk])
    await ssock.wait_for("complaint:alert", lambda d: d["state"] == "at_risk")
    out = await sup.post(
        f"/complaints/{case['id']}/status",
        {"status": "resolved", "response": "Mohon maaf. Tabel IPM 2024 yang benar sudah kami kirim ke e-mail Anda."},
        expect=200,
    )
    assert out["complaint"]["status"] == "resolved" and out["complaint"]["late"] is False
    assert [h["action"] for h in out["complaint"]["history"]] == ["received", "note", "status", "status"]
    answer = await mail_to(smtp_server, email, "Tanggapan")
    assert str(answer.message["Subject"]) == "Tanggapan atas pengaduan ADU-7406-2026-0001 — BPS Kabupaten Bombana"
    body = plain(answer.message)
    assert "Tabel IPM 2024 yang benar" in body and "Cek arsip" not in body
    show("answer", [answer])
    # Answered: no overdue alert on 4 January, and each e-mail went once.
    await clock(client, datetime(2027, 1, 5, 10, 0, tzinfo=WITA))
    about = [str(r.message["Subject"]) for r in smtp_server.handler.received if "ADU-" in str(r.message["Subject"])]
    assert sorted(s.split(" ")[0] for s in about) == ["Pengaduan", "Tanggapan", "[Pengaduan", "[Tenggat]"], about


async def test_public_page_overdue_alert_and_a_low_rating_follow_up(
    client: Any, anon: Api, make_user: Any, make_staff: Any, smtp_server: SmtpServer
) -> None:
    await clock(client, datetime(2026, 12, 23, 10, 0, tzinfo=WITA))
    sup = await make_staff("supervisor", "7406")
    officer = await make_staff("officer", "7406")
    anon.client.session.cookie_jar.clear()  # the logins above left a session cookie in the shared client
    out = await anon.post(
        "/complaints",
        {"office": "7406", "text": "Antrean di perpustakaan lama.", "name": "Tamu", "email": "tamu@example.org",
         "lang": "en"},
        expect=201,
    )  # fmt: skip
    assert set(out["complaint"]) >= {"id", "number", "status", "due_at"} and out["complaint"]["status"] == "received"
    assert "notes" not in out["complaint"] and "history" not in out["complaint"]
    assert out["complaint"]["source"] == "web"
    ack = await mail_to(smtp_server, "tamu@example.org", "Complaint")
    assert str(ack.message["Subject"]) == f"Complaint {out['complaint']['number']} received — BPS Kabupaten Bombana"
    assert "Complaint form: http://pst.test/complaints/new?office=7406" in plain(ack.message)
    await mail_to(smtp_server, sup.user["email"], "[Pengaduan baru]")
    # Nobody answers, and the scheduler first looks on Monday 4 January: overdue, without a stale "at risk".
    await clock(client, datetime(2027, 1, 4, 10, 0, tzinfo=WITA))
    await clock(client, datetime(2027, 1, 5, 10, 0, tzinfo=WITA))
    await mail_to(smtp_server, sup.user["email"], "[TERLAMBAT]")
    subjects = [str(r.message["Subject"]).split(" ")[0] for r in smtp_server.handler.received
                if sup.user["email"] in r.rcpt_tos]  # fmt: skip
    assert sorted(subjects) == ["[Pengaduan", "[TERLAMBAT]"], subjects
    listed = (await sup.get("/complaints"))["complaints"]
    assert listed[0]["state"] == "overdue"

    # A rating of 1 or 2 without complaint text: a follow-up for the supervisor, not a complaint.
    user = await make_user()
    c = await closed_consultation(client, user, officer)
    await user.post(f"/consultations/{c['id']}/rating", {"score": 1, "comment": "Kurang membantu"}, expect=201)
    fus = (await sup.get("/followups?status=open"))["followups"]
    assert len(fus) == 1 and fus[0]["score"] == 1 and fus[0]["comment"] == "Kurang membantu"
    assert (await sup.get("/complaints"))["counts"]["received"] == 1
    done = await sup.post(f"/followups/{fus[0]['id']}/done", {"note": "Sudah ditelepon."}, expect=200)
    assert done["followup"]["status"] == "done"
    status, body = await sup.call("POST", f"/followups/{fus[0]['id']}/done", {"note": "lagi"})
    assert status == 409 and body["error"]["code"] == "already_done"
    status, _ = await officer.call("GET", "/followups")
    assert status == 403
    # A rating of 3 opens nothing.
    c2 = await closed_consultation(client, user, officer)
    await user.post(f"/consultations/{c2['id']}/rating", {"score": 3}, expect=201)
    assert len((await sup.get("/followups"))["followups"]) == 1


async def test_who_may_file_see_and_answer(client: Any, anon: Api, make_user: Any, make_staff: Any) -> None:
    await clock(client, datetime(2026, 11, 23, 10, 0, tzinfo=WITA))
    sup = await make_staff("supervisor", "7406")
    admin = await make_staff("admin", "7406")
    officer = await make_staff("officer", "7406")
    other_sup = await make_staff("supervisor", "1808")
    national = await make_staff("admin", None)
    user = await make_user()
    stranger = await make_user()
    c = await closed_consultation(client, user, officer)

    # A signed-in user: only about their own consultation.
    status, body = await stranger.call(
        "POST", "/complaints", {"office": "7406", "text": "x", "consultation_id": c["id"]}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"
    mine = (await user.post("/complaints", {"office": "7406", "text": "Lambat", "consultation_id": c["id"]},
                            expect=201))["complaint"]  # fmt: skip
    # Staff enter one received by WhatsApp.
    wa = await officer.post(
        "/complaints", {"office": "7406", "text": "Lewat WA: data belum dikirim", "source": "whatsapp"}, expect=201
    )
    assert wa["complaint"]["source"] == "whatsapp"
    status, _ = await other_sup.call("POST", "/complaints", {"office": "7406", "text": "x", "source": "walk_in"})
    assert status == 403

    # Seeing and answering: the office's supervisors and admins, national admins; nobody else.
    path = f"/complaints/{mine['id']}"
    for who, expected in ((sup, 200), (admin, 200), (national, 200), (officer, 403), (user, 403), (other_sup, 403)):
        status, _ = await who.call("GET", path)
        assert status == expected, (who.user, status)
        status, _ = await who.call("GET", "/complaints?office=7406")
        assert status == expected, (who.user, status)
    for who in (officer, user, other_sup):
        status, _ = await who.call("POST", f"{path}/status", {"status": "in_progress"})
        assert status == 403
        status, _ = await who.call("POST", f"{path}/notes", {"text": "x"})
        assert status == 403
    anon.client.session.cookie_jar.clear()
    for method, p in (("GET", path), ("GET", "/complaints"), ("POST", f"{path}/status")):
        status, _ = await anon.call(method, p, {"status": "resolved"} if method == "POST" else None)
        assert status == 401
    assert (await national.get("/complaints?office=all"))["office"] == "all"
    status, _ = await sup.call("GET", "/complaints?office=all")
    assert status == 403
    status, _ = await sup.call("GET", f"/complaints/{ObjectId()}")
    assert status == 404
    status, _ = await sup.call("GET", "/complaints/not-an-id")
    assert status == 404
    # Assignees: the office's supervisors and admins.
    names = {a["id"] for a in (await sup.get("/complaints/assignees"))["assignees"]}
    assert names == {sup.user["id"], admin.user["id"]}
    out = await sup.post(f"{path}/assign", {"user_id": admin.user["id"]}, expect=200)
    assert out["complaint"]["assigned_to"]["id"] == admin.user["id"]
    status, body = await sup.call("POST", f"{path}/assign", {"user_id": officer.user["id"]})
    assert status == 422 and body["error"]["code"] == "invalid_assignee"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"office": "7406", "text": "", "name": "A", "email": "a@b.id"}, "empty_text"),
        ({"office": "7406", "text": " \n\t ", "name": "A", "email": "a@b.id"}, "empty_text"),
        ({"office": "7406", "text": "x" * 5001, "name": "A", "email": "a@b.id"}, "text_too_long"),
        ({"office": "7406", "text": "x" * 10_000, "name": "A", "email": "a@b.id"}, "text_too_long"),
        ({"office": "7406", "name": "A", "email": "a@b.id"}, "missing_text"),
        ({"office": "7406", "text": 5, "name": "A", "email": "a@b.id"}, "invalid_text"),
        ({"office": "7406", "text": "x", "email": "a@b.id"}, "missing_name"),
        ({"office": "7406", "text": "x", "name": "A"}, "missing_email"),
        ({"office": "7406", "text": "x", "name": "A", "email": "a@"}, "invalid_email"),
        ({"office": "74", "text": "x", "name": "A", "email": "a@b.id"}, "invalid_office"),
    ],
)
async def test_bad_complaints_are_422(anon: Api, body: Doc, code: str) -> None:
    anon.client.session.cookie_jar.clear()
    status, out = await anon.call("POST", "/complaints", body)
    assert status == 422 and out["error"]["code"] == code, out


async def test_bad_status_changes(anon: Api, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    anon.client.session.cookie_jar.clear()
    case = (await anon.post("/complaints", {"office": "7406", "text": "x", "name": "A", "email": "a@b.id"},
                            expect=201))["complaint"]  # fmt: skip
    path = f"/complaints/{case['id']}/status"
    for body, status_code, code in [
        ({"status": "closed"}, 422, "invalid_status"),
        ({"status": "rejected"}, 422, "reason_required"),
        ({"status": "rejected", "response": "  "}, 422, "reason_required"),
        ({"status": "received"}, 409, "invalid_transition"),
        ({}, 422, "missing_status"),
    ]:
        status, out = await sup.call("POST", path, body)
        assert (status, out["error"]["code"]) == (status_code, code), body
    await sup.post(path, {"status": "rejected", "response": "Di luar wewenang BPS"}, expect=200)
    status, out = await sup.call("POST", path, {"status": "resolved", "response": "x"})
    assert status == 409 and out["error"]["code"] == "invalid_transition"
    status, out = await anon.call(
        "POST", "/complaints", {"office": "9999", "text": "x", "name": "A", "email": "a@b.id"}
    )
    assert status == 404 and out["error"]["code"] == "office_not_found"
