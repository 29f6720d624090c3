"""The service-standard clock end to end: SLA alerts, idle warnings and closes, rating reminders.

Time moves only through the real test-clock endpoint (which runs every due job before it answers),
except where two scheduler runners race, which call Scheduler.run_once() themselves. Assertions are on
what people see: room messages and consultation status through the API, queued e-mails, socket events.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId

from schedulers import consultation_jobs as jobs
from schedulers.runner import Scheduler
from server.mail import mailing
from tests.conftest import Api

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
DAY = 86400


async def clock(client: Any, *, at: datetime | None = None, advance: float | None = None) -> Any:
    body = {"set": at.isoformat()} if at is not None else {"advance_seconds": advance}
    resp = await client.post("/api/v1/_test/clock", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def open_consultation(user: Api, office: str, subject: str = "Data kemiskinan") -> Any:
    return await user.post("/consultations", {"office": office, "topic": "data", "subject": subject,
                                              "text": "Mohon data kemiskinan per kecamatan 2025."}, expect=201)


async def reply(officer: Api, cid: str, text: str = "Datanya ada di tabel 4.2, sudah cukup?") -> Any:
    return await officer.post(f"/consultations/{cid}/messages", {"text": text, "client_id": ObjectId().__str__()},
                              expect=201)


async def messages(api: Api, cid: str) -> list[Any]:
    return list((await api.get(f"/consultations/{cid}/messages?limit=200"))["messages"])


def events_of(msgs: list[Any], event: str) -> list[Any]:
    return [m for m in msgs if (m.get("data") or {}).get("event") == event]


async def mails(services: Any, kind: str, cid: str | None = None) -> list[Any]:
    query: dict[str, Any] = {"kind": kind}
    if cid is not None:
        query["consultation_id"] = ObjectId(cid)
    return [d async for d in services.db.outbox.find(query)]


async def claimed_chat(client: Any, make_user: Any, make_staff: Any, office: str, start: datetime
                       ) -> tuple[Api, Api, Any]:
    """A user's consultation, claimed and answered by an officer at `start`."""
    await clock(client, at=start)
    officer = await make_staff("officer", office, name="Budi Petugas")
    user = await make_user(name="Sari")
    c = await open_consultation(user, office)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await reply(officer, c["id"])
    return user, officer, c


# --- pure core --------------------------------------------------------------------------------


def test_sla_step_is_pure_and_alerts_each_state_once() -> None:
    due = datetime(2026, 11, 26, 2, 0, tzinfo=ZoneInfo("UTC"))
    risk = due - timedelta(days=1)
    c = {"status": "active", "sla": {"due_at": due, "at_risk_at": risk, "state": "on_track", "alerted": []}}
    assert jobs.sla_step(c, risk - timedelta(seconds=1)) == jobs.SlaStep("on_track", None, risk)
    assert jobs.sla_step(c, risk) == jobs.SlaStep("at_risk", "at_risk", due)
    c["sla"]["alerted"] = ["at_risk"]
    assert jobs.sla_step(c, risk) == jobs.SlaStep("at_risk", None, due)
    assert jobs.sla_step(c, due) == jobs.SlaStep("breached", "breached", None)
    # A sweep that comes late goes straight to "breached": no stale "at risk" first.
    c["sla"]["alerted"] = []
    assert jobs.sla_step(c, due + timedelta(days=3)) == jobs.SlaStep("breached", "breached", None)
    for stopped in ({"state": "met"}, {"paused": True}):
        assert jobs.sla_step({"status": "active", "sla": {**c["sla"], **stopped}}, due) is None
    assert jobs.sla_step({**c, "status": "closed"}, due) is None


def test_idle_step_warns_before_closing() -> None:
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("UTC"))
    warn, close = t0 + timedelta(days=6), t0 + timedelta(days=7)
    c = {"status": "active", "idle": {"last_staff_at": t0, "warn_at": warn, "close_at": close, "warned": False}}
    assert jobs.idle_step(c, warn - timedelta(seconds=1)) == ("wait", warn)
    assert jobs.idle_step(c, warn) == ("warn", close)
    # Even past the close (the scheduler was down) the warning comes first.
    assert jobs.idle_step(c, close + timedelta(days=1)) == ("warn", close)
    c["idle"]["warned"] = True
    assert jobs.idle_step(c, close - timedelta(seconds=1)) == ("wait", close)
    assert jobs.idle_step(c, close) == ("close", None)
    assert jobs.idle_step({**c, "status": "closed"}, close) == ("drop", None)
    assert jobs.reminder_due({"status": "closed"})
    assert not jobs.reminder_due({"status": "closed", "rating": {"score": 4}})


# --- idle close -------------------------------------------------------------------------------


async def sign_in_again(api: Api) -> None:
    """Sessions last 14 days of test-clock time; the long jumps below outlive them."""
    assert api.user is not None
    password = "rahasia-123" if api.user["role"] == "user" else "petugas-123"
    _, body = await api.call("POST", "/auth/login", {"email": api.user["email"], "password": password}, expect=200)
    api.token = body["token"]


async def test_bombana_closes_after_7_days_idle_not_after_6(client: Any, make_user: Any, make_staff: Any,
                                                            services: Any, connect: Any) -> None:
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)
    await clock(client, at=t0)
    officer = await make_staff("officer", "7406", name="Budi Petugas")
    user = await make_user(name="Sari")
    a, b, c = [await open_consultation(user, "7406", subject=s) for s in ("Data A", "Data B", "Data C")]
    for x in (a, b, c):
        await officer.post(f"/consultations/{x['id']}/claim", expect=200)
        await reply(officer, x["id"])
    # Officers still close by hand; no idle warning ever follows for C.
    closed_c = await officer.post(f"/consultations/{c['id']}/close", {"summary": "Sudah terjawab."}, expect=200)
    assert closed_c["close_reason"] == "resolved"
    usock = await connect(user)
    assert (await usock.call("consultation:join", {"consultation_id": a["id"]}))["ok"]
    # The user answers B on day 5: B's idle clock stops.
    await clock(client, at=t0 + timedelta(days=5))
    await user.post(f"/consultations/{b['id']}/messages", {"text": "Terima kasih, saya cek dulu.",
                                                           "client_id": "b-1"}, expect=201)

    await clock(client, at=t0 + timedelta(days=6) - timedelta(seconds=1))
    assert not events_of(await messages(user, a["id"]), "idle_warning")
    # One day before the close (a one-day lead for a policy in days): one warning, in the room and by e-mail.
    await clock(client, at=t0 + timedelta(days=6))
    warnings = events_of(await messages(user, a["id"]), "idle_warning")
    assert len(warnings) == 1 and "Senin, 30 November 2026 10.00 WITA" in warnings[0]["text"]
    await usock.wait_for("message:new", lambda m: (m.get("data") or {}).get("event") == "idle_warning")
    assert len(await mails(services, "idle_warning", a["id"])) == 1
    assert (await user.get(f"/consultations/{a['id']}"))["status"] == "active"

    await clock(client, at=t0 + timedelta(days=7) - timedelta(seconds=1))
    assert (await user.get(f"/consultations/{a['id']}"))["status"] == "active"
    await clock(client, at=t0 + timedelta(days=7))
    detail = await user.get(f"/consultations/{a['id']}")
    assert detail["status"] == "closed" and detail["close_reason"] == "idle"
    msgs = await messages(user, a["id"])
    closed = events_of(msgs, "closed")
    assert len(closed) == 1 and closed[0]["data"]["reason"] == "idle" and closed[0]["kind"] == "system"
    assert len(events_of(msgs, "rating_prompt")) == 1 and len(events_of(msgs, "idle_warning")) == 1
    assert len(await mails(services, "consultation_closed", a["id"])) == 1
    assert len(await mails(services, "rating_request", a["id"])) == 1
    await usock.wait_for("consultation:updated", lambda d: d["id"] == a["id"] and d["status"] == "closed")
    assert (await user.get(f"/consultations/{b['id']}"))["status"] == "active"
    assert not events_of(await messages(user, b["id"]), "idle_warning")
    assert not events_of(await messages(user, c["id"]), "idle_warning")
    assert await mails(services, "idle_warning") == await mails(services, "idle_warning", a["id"])

    # Six days after the idle close nothing more has happened, and a reply reopens the same consultation.
    await clock(client, at=t0 + timedelta(days=13))
    assert len(events_of(await messages(user, a["id"]), "closed")) == 1
    msg = await user.post(f"/consultations/{a['id']}/messages", {"text": "Maaf, baru sempat membalas.",
                                                                 "client_id": "late-1"}, expect=201)
    detail = await user.get(f"/consultations/{a['id']}")
    assert detail["status"] == "active" and detail["close_reason"] is None
    assert detail["assigned_to"]["id"] == officer.user["id"] and msg["seq"] == detail["last_seq"]
    assert len(events_of(await messages(user, a["id"]), "reopened")) == 1

    # Closed idle again, and this time the user waits more than 7 days: it stays closed.
    await reply(officer, a["id"], "Baik, datanya sudah saya kirim.")
    await clock(client, at=t0 + timedelta(days=20))
    await sign_in_again(user)
    assert (await user.get(f"/consultations/{a['id']}"))["close_reason"] == "idle"
    await clock(client, at=t0 + timedelta(days=27, seconds=60))
    status, body = await user.call("POST", f"/consultations/{a['id']}/messages",
                                   {"text": "Halo?", "client_id": "late-2"})
    assert status == 409 and body["error"]["code"] == "consultation_closed"


# --- each office's standard ---------------------------------------------------------------------


async def test_sumatera_selatan_idle_in_working_days_and_boalemo_sla_of_one_day(
        client: Any, make_user: Any, make_staff: Any, services: Any, connect: Any) -> None:
    # Sumatera Selatan: staff answer on Friday 14 August 2026; Saturday, Sunday and Monday 17 August
    # (Independence Day) do not count, so the three working days are Tue 18, Wed 19 and Thu 20.
    t0 = datetime(2026, 8, 14, 10, 0, tzinfo=WIB)
    user, officer, c = await claimed_chat(client, make_user, make_staff, "1600", t0)
    await clock(client, at=datetime(2026, 8, 19, 9, 59, tzinfo=WIB))
    assert not events_of(await messages(user, c["id"]), "idle_warning")
    # The warning comes one working day before the close.
    await clock(client, at=datetime(2026, 8, 19, 10, 0, tzinfo=WIB))
    warnings = events_of(await messages(user, c["id"]), "idle_warning")
    assert len(warnings) == 1 and "Kamis, 20 Agustus 2026 10.00 WIB" in warnings[0]["text"]
    await clock(client, at=datetime(2026, 8, 20, 9, 59, tzinfo=WIB))
    assert (await user.get(f"/consultations/{c['id']}"))["status"] == "active"
    await clock(client, at=datetime(2026, 8, 20, 10, 0, tzinfo=WIB))
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["status"] == "closed" and detail["close_reason"] == "idle"
    assert len(await mails(services, "idle_warning", c["id"])) == 1

    # Boalemo: received Friday 15:00 WITA; one working day later is Monday 15:00.
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=WITA)
    await clock(client, at=friday)
    supervisor = await make_staff("supervisor", "7501", name="Ibu Kepala")
    officer = await make_staff("officer", "7501", name="Budi Petugas")
    ssock = await connect(supervisor)
    await sign_in_again(user)
    c = await open_consultation(user, "7501")
    cid = c["id"]
    due = datetime(2026, 11, 30, 15, 0, tzinfo=WITA)
    assert datetime.fromisoformat(c["sla"]["due_at"]) == due
    # "Answered by" on the office's wall clock, in the confirmation e-mail.
    received = await mails(services, "consultation_received", cid)
    assert "Senin, 30 November 2026 15.00 WITA" in received[0]["text"]
    await officer.post(f"/consultations/{cid}/claim", expect=200)
    # A margin as long as the SLA: at risk from the start, so the at-risk alert goes out at once,
    # to the assigned officer and the office's supervisor.
    await clock(client, advance=0)
    alert = await ssock.wait_for("sla:alert", lambda d: d["consultation_id"] == cid)
    assert alert["state"] == "at_risk" and datetime.fromisoformat(alert["due_at"]) == due
    assert sorted(m["to"] for m in await mails(services, "sla_alert", cid)) == sorted(
        [supervisor.user["email"], officer.user["email"]])

    await clock(client, at=due - timedelta(seconds=1))
    assert (await user.get(f"/consultations/{cid}"))["sla"]["state"] == "at_risk"
    await clock(client, at=due)
    assert (await user.get(f"/consultations/{cid}"))["sla"]["state"] == "breached"
    await ssock.wait_for("sla:alert", lambda d: d["consultation_id"] == cid and d["state"] == "breached")
    await ssock.wait_for("consultation:updated", lambda d: d["id"] == cid and d["sla"]["state"] == "breached")
    assert len(await mails(services, "sla_alert", cid)) == 4  # (at risk, breached) x (officer, supervisor)
    await clock(client, advance=5 * DAY)
    assert len(await mails(services, "sla_alert", cid)) == 4
    assert [d["state"] for d in ssock.of("sla:alert") if d["consultation_id"] == cid] == ["at_risk", "breached"]


async def test_sla_pause_extra_closed_dates_first_reply_and_bad_policies(
        client: Any, make_user: Any, make_staff: Any, services: Any, anon: Api) -> None:
    admin = await make_staff("admin", "1808")
    before = await anon.get("/offices/1808")
    for bad, code in [({"sla_working_days": -1}, "invalid_sla_working_days"),
                      ({"sla_working_days": 10_000}, "invalid_sla_working_days"),
                      ({"idle_close": {"amount": -3, "unit": "days"}}, "invalid_idle_close"),
                      ({"idle_close": {"amount": 7, "unit": "weeks"}}, "invalid_idle_close"),
                      ({"sla_at_risk_margin_working_days": 99}, "invalid_sla_at_risk_margin"),
                      ({"extra_closed_dates": ["next friday"]}, "invalid_extra_closed_dates")]:
        status, body = await admin.call("PATCH", "/offices/1808/policy", bad)
        assert status == 422 and body["error"]["code"] == code, (bad, body)
    assert (await anon.get("/offices/1808"))["policy"] == before["policy"]
    # The office closes on Wednesday 25 November: every deadline skips it.
    await admin.call("PATCH", "/offices/1808/policy", {"extra_closed_dates": ["2026-11-25"]}, expect=200)

    await clock(client, at=datetime(2026, 11, 23, 9, 0, tzinfo=WIB))
    officer = await make_staff("officer", "1808")
    user = await make_user()
    c = await open_consultation(user, "1808")
    assert datetime.fromisoformat(c["sla"]["due_at"]) == datetime(2026, 11, 27, 9, 0, tzinfo=WIB)
    await officer.post(f"/consultations/{c['id']}/claim", expect=200)
    await clock(client, at=datetime(2026, 11, 23, 10, 0, tzinfo=WIB))
    await officer.post(f"/consultations/{c['id']}/clarification", {"awaiting": True}, expect=200)
    # Stopped: even past the deadline nothing turns at risk or breached.
    await clock(client, at=datetime(2026, 11, 27, 10, 0, tzinfo=WIB))
    assert not await mails(services, "sla_alert", c["id"])
    assert (await user.get(f"/consultations/{c['id']}"))["sla"]["paused"] is True
    await clock(client, at=datetime(2026, 11, 26, 10, 0, tzinfo=WIB))
    await user.post(f"/consultations/{c['id']}/messages", {"text": "Maksud saya data tahun 2024.",
                                                           "client_id": "clarify-1"}, expect=201)
    # Office time lost while waiting: Mon 10-16, Tue 8-16, (Wed closed), Thu 8-10 = 16 hours, so the
    # deadline moves from Fri 27 09:00 by 16 office hours: Fri 7 h + Mon 8 h + Tue 1 h = Tue 1 Dec 09:00.
    detail = await user.get(f"/consultations/{c['id']}")
    assert detail["sla"]["paused"] is False and detail["sla"]["state"] == "on_track"
    assert datetime.fromisoformat(detail["sla"]["due_at"]) == datetime(2026, 12, 1, 9, 0, tzinfo=WIB)
    await clock(client, at=datetime(2026, 11, 30, 8, 59, tzinfo=WIB))
    assert not await mails(services, "sla_alert", c["id"])
    await clock(client, at=datetime(2026, 11, 30, 9, 0, tzinfo=WIB))
    assert (await user.get(f"/consultations/{c['id']}"))["sla"]["state"] == "at_risk"
    assert [m["to"] for m in await mails(services, "sla_alert", c["id"])] == [officer.user["email"]]
    # The first officer reply meets the SLA: no breach alert follows.
    await reply(officer, c["id"])
    assert (await user.get(f"/consultations/{c['id']}"))["sla"]["state"] == "met"
    await clock(client, advance=5 * DAY)
    assert len(await mails(services, "sla_alert", c["id"])) == 1


# --- rating reminders; a clock set backwards --------------------------------------------------


async def _effects(services: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind in ("idle_warning", "consultation_closed", "rating_request", "rating_reminder", "sla_alert"):
        out[kind] = await services.db.outbox.count_documents({"kind": kind})
    for event in ("idle_warning", "closed", "rating_prompt", "reopened"):
        out["msg:" + event] = await services.db.messages.count_documents({"data.event": event})
    return out


async def test_one_rating_reminder_and_a_clock_set_backwards_resends_nothing(
        client: Any, make_user: Any, make_staff: Any, services: Any) -> None:
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)
    user, officer, a = await claimed_chat(client, make_user, make_staff, "7406", t0)
    b = await open_consultation(user, "7406", subject="Sudah dinilai")
    await officer.post(f"/consultations/{b['id']}/claim", expect=200)
    await reply(officer, b["id"])
    await officer.post(f"/consultations/{b['id']}/close", {}, expect=200)
    await user.post(f"/consultations/{b['id']}/rating", {"score": 5}, expect=201)  # rated: never reminded

    await clock(client, at=t0 + timedelta(days=7))  # A closes idle; its reminder is due on day 9
    after = await _effects(services)
    assert after["consultation_closed"] == 2 and after["msg:closed"] == 2 and after["idle_warning"] == 1
    assert after["rating_reminder"] == 0 and after["sla_alert"] == 0
    for back in (t0 + timedelta(days=1), t0 - timedelta(days=30), t0 + timedelta(days=6, hours=1)):
        await clock(client, at=back)
        assert await _effects(services) == after
        assert (await user.get(f"/consultations/{a['id']}"))["status"] == "closed"
    await clock(client, at=t0 + timedelta(days=7))
    assert await _effects(services) == after

    await clock(client, at=t0 + timedelta(days=9) - timedelta(seconds=1))
    assert not await mails(services, "rating_reminder")
    await clock(client, at=t0 + timedelta(days=9))
    reminders = await mails(services, "rating_reminder")
    assert [str(m["consultation_id"]) for m in reminders] == [a["id"]]
    assert "/rate?token=" in reminders[0]["text"]
    done = await _effects(services)
    assert done == {**after, "rating_reminder": 1}
    for moment in (t0 + timedelta(days=13), t0 + timedelta(days=8), t0 + timedelta(days=13)):
        await clock(client, at=moment)
        assert await _effects(services) == done


# --- racing runners; a crash mid-item -------------------------------------------------------------


async def test_two_runners_racing_do_each_effect_once_even_when_one_item_fails(
        client: Any, make_user: Any, make_staff: Any, services: Any, connect: Any,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=WITA)
    await clock(client, at=t0)
    ssock = await connect(await make_staff("supervisor", "7406"))
    officer = await make_staff("officer", "7406")
    user = await make_user()
    usock = await connect(user)
    ids = []
    for i in range(6):
        c = await open_consultation(user, "7406", subject=f"Data {i}")
        ids.append(c["id"])
        if i < 4:  # four answered (their idle clock runs), two unanswered (their SLA clock runs)
            await officer.post(f"/consultations/{c['id']}/claim", expect=200)
            await reply(officer, c["id"])
    await services.db.outbox.delete_many({})

    async def race(to: datetime) -> None:
        # A wall clock has microseconds; the database keeps milliseconds. Claims must survive that.
        services.clock.set(to + timedelta(microseconds=123_457))
        a, b = Scheduler(services), Scheduler(services)
        await asyncio.gather(a.run_once(), b.run_once())

    # The idle warning of the first consultation fails once, after its room message, before its e-mail,
    # as if the runner died there.
    real = mailing.idle_warning
    failed: list[Any] = []

    async def crash_once(svc: Any, c: Any, close_at: Any) -> None:
        if str(c["_id"]) == ids[0] and not failed:
            failed.append(c["_id"])
            raise RuntimeError("mail queue fell over")
        await real(svc, c, close_at)

    monkeypatch.setattr(mailing, "idle_warning", crash_once)

    await race(t0 + timedelta(days=2))  # SLA at risk (Wednesday 10:00)
    with caplog.at_level(logging.ERROR, logger="schedulers.consultation_jobs"):
        await race(t0 + timedelta(days=6))  # SLA breached; idle warnings
    assert failed and "failed; skipped" in caplog.text
    # The failure held up nobody else; its item waits for its claim's lease to run out.
    assert await services.db.outbox.count_documents({"kind": "idle_warning"}) == 3
    await race(t0 + timedelta(days=6) + jobs.CLAIM_LEASE - timedelta(seconds=1))
    assert await services.db.outbox.count_documents({"kind": "idle_warning"}) == 3
    await race(t0 + timedelta(days=6) + jobs.CLAIM_LEASE)
    assert await services.db.outbox.count_documents({"kind": "idle_warning"}) == 4
    await race(t0 + timedelta(days=7))  # idle closes
    await race(t0 + timedelta(days=9))  # rating reminders
    got = await _effects(services)
    assert got == {"idle_warning": 4, "consultation_closed": 4, "rating_request": 4, "rating_reminder": 4,
                   "sla_alert": 2 * 2, "msg:idle_warning": 4, "msg:closed": 4, "msg:rating_prompt": 4,
                   "msg:reopened": 0}
    # Each room's seq has no gaps and no repeats, whoever wrote into it.
    for cid in ids:
        seqs = [m["seq"] for m in await messages(user, cid)]
        assert seqs == list(range(1, len(seqs) + 1))
    # The live events, which no dedupe key protects, also went out once each.
    await asyncio.sleep(0.2)
    alerts = sorted((d["consultation_id"], d["state"]) for d in ssock.of("sla:alert"))
    assert alerts == sorted((cid, state) for cid in ids[4:] for state in ("at_risk", "breached"))
    closes = [d["id"] for d in usock.of("consultation:updated") if d["status"] == "closed"]
    assert sorted(closes) == sorted(ids[:4])
    for cid in ids[:4]:
        assert (await user.get(f"/consultations/{cid}"))["close_reason"] == "idle"


# --- the runner loop and the scheduler role -------------------------------------------------------


async def test_scheduler_role_runs_its_loop_alone(settings: Any, db: Any, aiohttp_client: Any) -> None:
    from server.app import create_app
    conf = settings.model_copy(update={"role": "scheduler", "pst_test_clock": False,
                                       "pst_scheduler_interval_secs": 0.05})
    app = create_app(conf)
    http = await aiohttp_client(app)
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/api/v1/offices")).status == 404  # no web part in this role
    from server.keys import SERVICES

    svc = app[SERVICES]
    now = svc.now()
    res = await db.users.insert_one({"email": "warga@example.id", "name": "Warga", "role": "user", "lang": "id",
                                     "created_at": now})
    user = {"_id": res.inserted_id}
    await db.consultations.insert_one({
        "number": "7406-2026-99999", "office": "7406", "time_zone": "Asia/Makassar", "channel": "online",
        "user_id": user["_id"], "user_name": "Warga", "user_email": "warga@example.id", "status": "closed",
        "close_reason": "resolved", "created_at": now - timedelta(days=3), "closed_at": now - timedelta(days=2),
        "last_seq": 0, "rating_reminder_at": now - timedelta(seconds=1),
    })
    for _ in range(200):
        if await db.outbox.count_documents({"kind": "rating_reminder"}):
            break
        await asyncio.sleep(0.05)
    assert await db.outbox.count_documents({"kind": "rating_reminder"}) == 1
    assert await db.consultations.count_documents({"rating_reminder_at": {"$exists": True}}) == 0
