"""server.domain.complaints: the deadline in working days across holidays, the pure alert decision, the
case's rules (who files what, transitions, notes, assignment, what the complainant sees), and the
scheduler job: at risk and overdue alerted once each, even by two racing runners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from schedulers import complaint_jobs
from server.domain import calendar, complaints, events
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.services import Services

Doc = dict[str, Any]
WITA = ZoneInfo("Asia/Makassar")


def wita(*args: int) -> datetime:
    return datetime(*args, tzinfo=WITA)  # type: ignore[misc]


BOMBANA: Doc = {"code": "7406", "name": "BPS Kabupaten Bombana", "time_zone": "Asia/Makassar", "policy": {}}


def test_deadline_skips_christmas_the_joint_leave_day_and_new_year() -> None:
    # Received Wednesday 23 December 2026 10:00 WITA. Five working days: Thursday 24 is the joint leave
    # day (cuti bersama), Friday 25 Christmas, then the weekend; Mon 28, Tue 29, Wed 30, Thu 31 are four;
    # Friday 1 January is New Year, then the weekend: the fifth is Monday 4 January 2027, same clock time.
    due, at_risk = complaints.deadlines(BOMBANA, wita(2026, 12, 23, 10, 0))
    assert due == wita(2027, 1, 4, 10, 0)
    assert at_risk == wita(2026, 12, 31, 10, 0)  # one working day before
    assert calendar.local_date_str(due, "Asia/Makassar") == "Senin, 4 Januari 2027 10.00 WITA"
    # Received after office hours: the clock starts at 08:00 on the next working day (Monday 28); five
    # working days later is Wednesday 6 January, Tuesday 5 January 2027 being Isra Mikraj.
    due, _ = complaints.deadlines(BOMBANA, wita(2026, 12, 23, 17, 30))
    assert due == wita(2027, 1, 6, 8, 0)
    # The office's own closed dates and its own number of days (policy.complaint_working_days).
    office = {**BOMBANA, "policy": {"complaint_working_days": 2, "extra_closed_dates": ["2026-12-28"]}}
    due, _ = complaints.deadlines(office, wita(2026, 12, 23, 10, 0))
    assert due == wita(2026, 12, 30, 10, 0)  # 29 and 30
    assert complaints.working_days({"policy": {"complaint_working_days": True}}) == 5


def test_the_policy_accepts_complaint_working_days() -> None:
    base = {"sla_working_days": 3, "idle_close": {"amount": 7, "unit": "days"}}
    assert calendar.validate_policy({**base, "complaint_working_days": 10})["complaint_working_days"] == 10
    with pytest.raises(ValidationFailed) as exc:
        calendar.validate_policy({**base, "complaint_working_days": 0})
    assert exc.value.code == "invalid_complaint_working_days"


def test_alert_step_is_pure_and_alerts_each_state_once() -> None:
    c: Doc = {"status": "received", "at_risk_at": wita(2026, 12, 31, 10), "due_at": wita(2027, 1, 4, 10)}
    step = complaints.alert_step(c, wita(2026, 12, 30, 9))
    assert step is not None and step.alert is None and step.next_check_at == c["at_risk_at"]
    step = complaints.alert_step(c, wita(2026, 12, 31, 10))
    assert step is not None and step.alert == "at_risk" and step.next_check_at == c["due_at"]
    step = complaints.alert_step({**c, "alerted": ["at_risk"]}, wita(2027, 1, 1))
    assert step is not None and step.alert is None and step.next_check_at == c["due_at"]
    # Found late (the scheduler was down): straight to overdue, never a stale "at risk".
    step = complaints.alert_step(c, wita(2027, 1, 5))
    assert step is not None and step.alert == "overdue" and step.next_check_at is None
    assert complaints.alert_step({**c, "alerted": ["overdue"]}, wita(2027, 1, 5)).alert is None  # type: ignore[union-attr]
    assert complaints.alert_step({**c, "status": "resolved"}, wita(2027, 1, 5)) is None
    assert complaints.state_at({**c, "status": "in_progress"}, wita(2027, 1, 4, 10)) == "overdue"


# --- cases through the actions -----------------------------------------------------------------------


async def _staff(svc: Services, role: str, office: str | None = "7406", name: str | None = None) -> Doc:
    doc: Doc = {
        "name": name or role.title(),
        "email": f"{role}-{ObjectId()}@bps.go.id",
        "role": role,
        "office": office,
        "created_at": svc.now(),
    }
    doc["_id"] = (await svc.db.users.insert_one(doc)).inserted_id
    return doc


async def test_a_case_from_the_public_page_to_its_answer(svc: Services) -> None:
    svc.clock.set(wita(2026, 12, 23, 10, 0))  # type: ignore[attr-defined]
    sup = await _staff(svc, "supervisor", name="Bu Sri")
    await _staff(svc, "officer")
    c = await complaints.open_complaint(
        svc, None, office="7406", text="  Petugas tidak membalas\x00 tiga hari.  ", name="Rina", email="Rina@Example.ID"
    )
    assert c["number"] == "ADU-7406-2026-0001" and c["status"] == "received" and c["source"] == "web"
    assert c["text"] == "Petugas tidak membalas tiga hari." and c["email"] == "rina@example.id"
    assert c["due_at"] == wita(2027, 1, 4, 10, 0)
    view = complaints.public_view(c)
    assert view["due_local"] == "Senin, 4 Januari 2027 10.00 WITA"
    assert not {"notes", "history", "assigned_to", "email", "name"} & set(view)
    # The acknowledgement to the complainant, the alert to the supervisor (not to the officer), the event.
    mails = {d["kind"]: d async for d in svc.db.outbox.find({})}
    assert set(mails) == {"complaint_received", "complaint_alert"}
    assert mails["complaint_received"]["to"] == "rina@example.id"
    assert mails["complaint_alert"]["to"] == sup["email"]
    assert "ADU-7406-2026-0001" in mails["complaint_received"]["subject"]
    assert "Senin, 4 Januari 2027 10.00 WITA" in mails["complaint_received"]["text"]
    assert "http://pst.test/complaints/new?office=7406" in mails["complaint_received"]["text"]
    assert "https://www.lapor.go.id" in mails["complaint_received"]["text"]
    sent = svc.events.events  # type: ignore[attr-defined]
    assert [(n, p["state"], room) for n, p, room in sent] == [(events.COMPLAINT_ALERT, "received", "office:7406:staff")]
    assert "tiga hari" not in str(sent)
    # The second one of the year.
    second = await complaints.open_complaint(svc, None, office="7406", text="Lagi", name="Rina", email="r@x.id")
    assert second["number"] == "ADU-7406-2026-0002"

    # Supervisors work on it: a note, in progress (taken by whoever starts), resolved with the response.
    out = await complaints.add_note(svc, sup, str(c["_id"]), "Sudah ditelepon, menunggu data.")
    assert out["notes"][0]["text"] == "Sudah ditelepon, menunggu data." and out["notes"][0]["by"]["name"] == "Bu Sri"
    out = await complaints.set_status(
        svc, sup, str(c["_id"]), status="in_progress", response="Tunggu seksi distribusi."
    )
    assert out["status"] == "in_progress" and out["assigned_to"]["name"] == "Bu Sri"
    # Words given when starting are an internal note, not an answer.
    assert [n["text"] for n in out["notes"]] == ["Sudah ditelepon, menunggu data.", "Tunggu seksi distribusi."]
    assert out["response"] is None
    with pytest.raises(ValidationFailed) as exc:
        await complaints.set_status(svc, sup, str(c["_id"]), status="rejected", response="   ")
    assert exc.value.code == "reason_required"
    out = await complaints.set_status(svc, sup, str(c["_id"]), status="resolved", response="Data sudah dikirim.")
    assert out["status"] == "resolved" and out["response"] == "Data sudah dikirim."
    assert [(h["action"], h.get("to")) for h in out["history"]] == [
        ("received", "received"), ("note", None), ("status", "in_progress"), ("status", "resolved"),
    ]  # fmt: skip
    answered = await svc.db.outbox.find_one({"kind": "complaint_answered"})
    assert answered is not None and "Data sudah dikirim." in answered["text"]
    assert "Sudah ditelepon" not in answered["text"] and "seksi distribusi" not in answered["text"]  # notes stay in
    stored = await svc.db.complaints.find_one({"_id": c["_id"]})
    assert "check_at" not in stored  # nothing more for the scheduler
    for bad in ("in_progress", "rejected", "received"):
        with pytest.raises(Conflict) as conflict:
            await complaints.set_status(svc, sup, str(c["_id"]), status=bad, response="x")
        assert conflict.value.code == "invalid_transition"
    # The rejection of the second, with its reason, straight from received.
    out = await complaints.set_status(svc, sup, str(second["_id"]), status="rejected", response="Bukan wewenang BPS.")
    assert out["status"] == "rejected"
    rejected = await svc.db.outbox.find_one({"kind": "complaint_answered", "to": "r@x.id"})
    assert rejected is not None and "Bukan wewenang BPS." in rejected["text"]
    assert "tidak dapat ditindaklanjuti" in rejected["subject"]


async def test_who_files_and_who_works_on_complaints(svc: Services) -> None:
    sup = await _staff(svc, "supervisor")
    officer = await _staff(svc, "officer")
    other_sup = await _staff(svc, "supervisor", office="1808")
    national = await _staff(svc, "admin", office=None)
    user = {"_id": ObjectId(), "role": "user", "name": "Sari", "email": "sari@example.id", "lang": "en"}
    mine = {"_id": ObjectId(), "office": "7406", "user_id": user["_id"], "number": "7406-2026-00009",
            "status": "closed", "channel": "online", "created_at": svc.now(), "last_seq": 0}  # fmt: skip
    theirs = {**mine, "_id": ObjectId(), "user_id": ObjectId(), "number": "7406-2026-00010"}
    await svc.db.consultations.insert_many([mine, theirs])
    # A signed-in user: their own consultation only; their account's name and address.
    c = await complaints.open_complaint(svc, user, office="7406", text="Lambat", consultation_id=str(mine["_id"]))
    assert c["name"] == "Sari" and c["email"] == "sari@example.id" and c["lang"] == "en"
    assert c["user_id"] == user["_id"] and c["consultation_number"] == "7406-2026-00009"
    with pytest.raises(Forbidden):
        await complaints.open_complaint(svc, user, office="7406", text="x", consultation_id=str(theirs["_id"]))
    with pytest.raises(ValidationFailed) as exc:
        await complaints.open_complaint(svc, user, office="1808", text="x", consultation_id=str(mine["_id"]))
    assert exc.value.code == "office_mismatch"
    with pytest.raises(NotFound):
        await complaints.open_complaint(svc, user, office="7406", text="x", consultation_id=str(ObjectId()))
    # Anyone: a name and an address are required; bad input is 422.
    for kw, code in [
        ({"text": "x", "email": "a@b.id"}, "missing_name"),
        ({"text": "x", "name": "A"}, "missing_email"),
        ({"text": "x", "name": "A", "email": "not-an-address"}, "invalid_email"),
        ({"text": "  ", "name": "A", "email": "a@b.id"}, "empty_text"),
        ({"text": "x" * 5001, "name": "A", "email": "a@b.id"}, "text_too_long"),
        ({"text": "x" * 10000, "name": "A", "email": "a@b.id"}, "text_too_long"),
        ({"text": 12, "name": "A", "email": "a@b.id"}, "invalid_text"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            await complaints.open_complaint(svc, None, office="7406", **kw)
        assert exc.value.code == code, kw
    assert await complaints.open_complaint(svc, None, office="7406", text="x" * 5000, name="A", email="a@b.id")
    with pytest.raises(NotFound):
        await complaints.open_complaint(svc, None, office="9999", text="x", name="A", email="a@b.id")
    # Staff enter complaints received elsewhere, for their own office; no address needed (suggestion box).
    box = await complaints.open_complaint(svc, officer, office="7406", text="Kertas di kotak saran",
                                          source="suggestion_box")  # fmt: skip
    assert box["source"] == "suggestion_box" and box["email"] is None and box["entered_by"] == officer["_id"]
    assert await svc.db.outbox.count_documents({"kind": "complaint_received", "to": None}) == 0
    with pytest.raises(ValidationFailed):
        await complaints.open_complaint(svc, officer, office="7406", text="x", source="rating")
    with pytest.raises(Forbidden):
        await complaints.open_complaint(svc, officer, office="1808", text="x", source="walk_in")
    # Only the office's supervisors and admins (national admins: every office) see and work on them.
    for who in (officer, user, other_sup):
        with pytest.raises(Forbidden):
            await complaints.get_for(svc, who, str(c["_id"]))
        with pytest.raises(Forbidden):
            await complaints.set_status(svc, who, str(c["_id"]), status="in_progress")
    assert (await complaints.get_for(svc, national, str(c["_id"])))["number"] == c["number"]
    listed = await complaints.list_for(svc, sup, status="open")
    assert listed["office"] == "7406" and len(listed["complaints"]) == 3 and listed["counts"]["received"] == 3
    assert (await complaints.list_for(svc, national))["office"] == "all"
    with pytest.raises(Forbidden):
        await complaints.list_for(svc, sup, office="1808")
    with pytest.raises(ValidationFailed):
        await complaints.list_for(svc, sup, status="closed")
    # Assignment: to a supervisor or admin of the office only.
    out = await complaints.assign(svc, sup, str(c["_id"]), str(sup["_id"]))
    assert out["assigned_to"]["id"] == str(sup["_id"])
    for bad in (str(officer["_id"]), str(other_sup["_id"]), str(ObjectId()), "nope"):
        with pytest.raises(ValidationFailed):
            await complaints.assign(svc, sup, str(c["_id"]), bad)
    assert (await complaints.assign(svc, sup, str(c["_id"]), None))["assigned_to"] is None
    with pytest.raises(NotFound):
        await complaints.get_for(svc, sup, "not-an-id")


# --- the scheduler job ---------------------------------------------------------------------------------


async def test_at_risk_and_overdue_are_alerted_once_each_by_racing_runners(svc: Services) -> None:
    svc.clock.set(wita(2026, 12, 23, 10, 0))  # type: ignore[attr-defined]
    sup = await _staff(svc, "supervisor")
    await _staff(svc, "supervisor", name="Pak Ari")
    open_one = await complaints.open_complaint(svc, None, office="7406", text="A", name="A", email="a@x.id")
    answered = await complaints.open_complaint(svc, None, office="7406", text="B", name="B", email="b@x.id")
    await complaints.set_status(svc, sup, str(answered["_id"]), status="resolved", response="Selesai")
    svc.events.events.clear()  # type: ignore[attr-defined]

    async def race(when: datetime) -> None:
        svc.clock.set(when + timedelta(microseconds=123_457))  # type: ignore[attr-defined]
        await asyncio.gather(complaint_jobs.complaint_alerts(svc), complaint_jobs.complaint_alerts(svc))

    await race(wita(2026, 12, 30, 9, 0))  # nothing yet
    assert await svc.db.outbox.count_documents({"kind": "complaint_alert"}) == 4  # the two arrivals x 2
    await race(wita(2026, 12, 31, 10, 0))  # at risk
    await race(wita(2027, 1, 1, 12, 0))
    assert await svc.db.outbox.count_documents({"kind": "complaint_alert", "subject": {"$regex": "Tenggat"}}) == 2
    await race(wita(2027, 1, 4, 10, 0))  # overdue
    await race(wita(2027, 1, 8, 10, 0))
    late = [d async for d in svc.db.outbox.find({"kind": "complaint_alert", "subject": {"$regex": "TERLAMBAT"}})]
    assert len(late) == 2 and {d["to"] for d in late} >= {sup["email"]}
    states = [(p["id"], p["state"]) for _, p, _ in svc.events.events]  # type: ignore[attr-defined]
    assert states == [(str(open_one["_id"]), "at_risk"), (str(open_one["_id"]), "overdue")]
    stored = await svc.db.complaints.find_one({"_id": open_one["_id"]})
    assert stored["alerted"] == ["at_risk", "overdue"] and "check_at" not in stored
    # A clock set backwards re-fires nothing.
    await race(wita(2026, 12, 31, 11, 0))
    assert await svc.db.outbox.count_documents({"kind": "complaint_alert"}) == 8
    assert stored["created_at"].astimezone(UTC) == wita(2026, 12, 23, 10, 0)
