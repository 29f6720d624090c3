"""Retention (PST_RETENTION_YEARS): the scheduler erases old closed consultations' texts, old rendered mails
and old guest book ID numbers; figures stay; two runners never work at once; the setting is validated."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from schedulers import jobs
from server.domain import privacy
from server.domain.privacy import ERASED
from server.keys import SERVICES
from server.settings import SettingsError, load_settings
from server.storage import sweeps
from tests.conftest import Api

WITA = ZoneInfo("Asia/Makassar")


async def clock(client: Any, at: datetime) -> Any:
    resp = await client.post("/api/v1/_test/clock", json={"set": at.isoformat()})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _closed_room(user: Api, officer: Api, subject: str, words: str) -> dict[str, Any]:
    c = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": subject, "text": words}, expect=201
    )
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await officer.post(f"/consultations/{c['id']}/messages", {"text": f"Jawaban {words}", "client_id": "r"}, expect=201)
    await officer.post(f"/consultations/{c['id']}/close", {"summary": f"Ringkasan {words}"}, expect=200)
    return dict(c)


def test_the_retention_setting_is_validated() -> None:
    assert load_settings(PST_RETENTION_YEARS="7").pst_retention_years == 7
    assert load_settings().pst_retention_years == 5
    for bad in ("0", "-1", "lima", "100"):
        with pytest.raises(SettingsError, match="PST_RETENTION_YEARS"):
            load_settings(PST_RETENTION_YEARS=bad)


def test_the_job_is_listed() -> None:
    assert ("retention", privacy.retention) in jobs.JOBS


def test_years_before_handles_leap_days() -> None:
    assert privacy.years_before(datetime(2028, 2, 29, 12, tzinfo=WITA), 5) == datetime(2023, 2, 28, 12, tzinfo=WITA)


async def test_old_closed_consultations_lose_their_texts_and_keep_their_figures(
    client: Any, app: Any, make_user: Any, make_staff: Any, anon: Api
) -> None:
    svc = app[SERVICES]
    assert svc.settings.pst_retention_years == 5
    await clock(client, datetime(2020, 3, 2, 9, 0, tzinfo=WITA))
    user = await make_user("Rina")
    officer = await make_staff("officer", "7406")
    old = await _closed_room(user, officer, "Lama sekali", "rahasia-lama")
    old_open = await user.post(
        "/consultations", {"office": "7406", "topic": "data", "subject": "Masih buka", "text": "belum selesai"}
    )
    await anon.post(
        "/offices/7406/guestbook",
        {"name": "Tamu", "email": "t@example.org", "purpose": "Data", "id_type": "ktp", "id_number": "7406010000"},
        expect=201,
    )
    await clock(client, datetime(2024, 6, 3, 9, 0, tzinfo=WITA))
    # Sessions last two weeks: sign in again years later.
    user, officer = await make_user("Rina lagi"), await make_staff("officer", "7406")
    recent = await _closed_room(user, officer, "Baru", "rahasia-baru")
    before = await svc.db.consultations.find_one({"_id": ObjectId(old["id"])})
    assert before is not None and before["status"] == "closed"

    # Five years and a day after the first close: the test clock runs every due job, retention included.
    ran = (await clock(client, datetime(2025, 3, 3, 9, 0, tzinfo=WITA)))["ran"]
    assert ran["retention"] >= 3  # the old room, its mails, the ID number

    texts = {m["text"] async for m in svc.db.messages.find({"consultation_id": before["_id"]})}
    assert not any("rahasia-lama" in t for t in texts)
    assert ERASED in texts
    after = await svc.db.consultations.find_one({"_id": before["_id"]})
    assert after is not None
    for field in ("number", "status", "created_at", "closed_at", "claimed_at", "first_response_at", "topic", "office"):
        assert after.get(field) == before.get(field), field
    assert after["summary"] == ERASED and after["last_message"]["text"] == ERASED
    assert after["user_name"] == "Rina"  # the account still exists: only the texts go
    # Mails by their own age: those queued in 2020 (received, closed with the transcript) are erased; the
    # rating reminder queued in 2024 (the scheduler caught up when the clock jumped) is not five years old.
    cutoff = privacy.years_before(svc.now(), 5)
    mails = [m async for m in svc.db.outbox.find({"consultation_id": before["_id"], "created_at": {"$lte": cutoff}})]
    assert {m["kind"] for m in mails} >= {"consultation_received", "consultation_closed"}
    assert all(m["text"] == ERASED and m["html"] is None and m["attachments"] == [] for m in mails)
    assert all("rahasia-lama" not in str(m) for m in mails)
    later = [m async for m in svc.db.outbox.find({"consultation_id": before["_id"], "created_at": {"$gt": cutoff}})]
    assert later and all(m["text"] != ERASED for m in later)
    # An open consultation from then, a room closed later, and their mails are untouched.
    open_texts = [m["text"] async for m in svc.db.messages.find({"consultation_id": ObjectId(old_open["id"])})]
    assert "belum selesai" in open_texts
    recent_texts = [m["text"] async for m in svc.db.messages.find({"consultation_id": ObjectId(recent["id"])})]
    assert "rahasia-baru" in recent_texts
    assert [e["id_number"] async for e in svc.db.guestbook.find({})] == [None]
    # The office's report for 2020 still counts the room.
    sup = await make_staff("supervisor", "7406")
    summary = await sup.get("/reports/summary?office=7406&from=2020-03-01&to=2020-03-31")
    assert summary["consultations"]["total"] == 2
    # Nothing more to do: the next run erases nothing.
    assert await privacy.retention(svc) == 0


async def test_two_runners_never_work_at_once(app: Any, client: Any) -> None:
    svc = app[SERVICES]
    await privacy.retention(svc)  # creates the job's state
    lease = sweeps.lease_until(svc.now())
    await svc.db.job_state.update_one({"_id": privacy.RETENTION_STATE_ID}, {"$set": {"lease_until": lease}})
    # Someone else holds the lease: this runner does nothing (and does not take it over).
    assert await privacy.retention(svc) == 0
    state = await svc.db.job_state.find_one({"_id": privacy.RETENTION_STATE_ID})
    assert state is not None and state["lease_until"] == lease
    # Once the lease has run out (the holder died), the next runner takes it over.
    svc.clock.advance(sweeps.CLAIM_LEASE.total_seconds() + 1)
    assert await privacy.retention(svc) == 0
    state = await svc.db.job_state.find_one({"_id": privacy.RETENTION_STATE_ID})
    assert state is not None and state["lease_until"] == sweeps.SWEEP_FLOOR
