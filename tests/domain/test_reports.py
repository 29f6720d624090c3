"""server.domain.reports against a hand-made data set: known medians, a known breach across a holiday,
local-date boundaries, the other collections' figures, bad input and who may ask."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.domain import consultations as cons
from server.domain import durations, messages, reports, sla
from server.domain.clock import TestClock
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.services import Services

Doc = dict[str, Any]
WITA = ZoneInfo("Asia/Makassar")  # 7406 Bombana
WIB = ZoneInfo("Asia/Jakarta")  # 1808 Tulang Bawang


def wita(*args: int) -> datetime:
    return datetime(*args, tzinfo=WITA)  # type: ignore[misc]


async def _insert(svc: Services, coll: str, doc: Doc) -> Doc:
    doc["_id"] = (await svc.db[coll].insert_one(dict(doc))).inserted_id
    return doc


async def person(svc: Services, name: str, role: str, office: str | None = None) -> Doc:
    doc: Doc = {"name": name, "email": f"{name.lower()}@example.id", "role": role, "created_at": svc.now()}
    if office:
        doc["office"] = office
    if role == "user":
        doc["email_verified_at"] = svc.now()
    return await _insert(svc, "users", doc)


_numbers = iter(range(1, 100_000))


async def consultation(svc: Services, office: str, created: datetime, **fields: Any) -> Doc:
    """A consultation as the actions leave it, with just the fields a figure needs."""
    tz = "Asia/Jakarta" if office == "1808" else "Asia/Makassar"
    doc: Doc = {
        "number": f"{office}-2026-{next(_numbers):05d}",
        "office": office,
        "time_zone": tz,
        "channel": "online",
        "topic": "data",
        "subject": "Data",
        "user_id": fields.pop("user_id", None) or (await svc.db.users.find_one({"role": "user"}) or {}).get("_id"),
        "user_name": "Warga",
        "status": "closed",
        "close_reason": "resolved",
        "created_at": created.astimezone(UTC),
        "last_seq": 1,
        "reads": {},
    }
    doc.update(fields)
    return await _insert(svc, "consultations", doc)


@pytest.fixture
async def people(svc: Services) -> Doc:
    return {
        "user": await person(svc, "Sari", "user"),
        "officer": await person(svc, "Budi", "officer", "7406"),
        "supervisor": await person(svc, "Wati", "supervisor", "7406"),
        "admin_7406": await person(svc, "Ani", "admin", "7406"),
        "supervisor_1808": await person(svc, "Rudi", "supervisor", "1808"),
        "national": await person(svc, "Pusat", "admin"),
    }


# --- the durations the actions store ---------------------------------------------------------------


async def test_breach_across_christmas_and_the_working_minutes_stored(
    svc: Services, clock: TestClock, people: Doc
) -> None:
    """Bombana (3 working days): Wed 23 Dec 2026 is followed by joint leave (24th), Christmas (25th) and a
    weekend, so a request at 10:00 is due Wed 30 Dec 10:00. Answered at 11:00 that day it is breached;
    one at 11:00 on the 23rd answered on Mon 28th at 09:00 is met after 360 working minutes."""
    user, officer, sup = people["user"], people["officer"], people["supervisor"]
    clock.set(wita(2026, 12, 23, 10, 0))
    late, _ = await cons.open_consultation(svc, user, office="7406", topic="data", subject="Inflasi", text="Halo")
    assert late["sla"]["due_at"] == wita(2026, 12, 30, 10, 0)
    clock.set(wita(2026, 12, 23, 11, 0))
    quick, _ = await cons.open_consultation(svc, user, office="7406", topic="other", subject="PDRB", text="Halo")
    await cons.claim(svc, officer, late)
    await cons.claim(svc, officer, quick)

    clock.set(wita(2026, 12, 28, 9, 0))
    _, quick = await messages.post_message(svc, officer, quick["_id"], text="Ini datanya")
    # 23 Dec 11:00-16:00 (300) + Mon 28 Dec 08:00-09:00 (60); 24th, 25th and the weekend do not count.
    assert quick[durations.FIRST_RESPONSE_FIELD] == 360

    clock.set(wita(2026, 12, 30, 11, 0))
    _, late = await messages.post_message(svc, officer, late["_id"], text="Maaf terlambat")
    # 23rd 10-16 (360) + 28th (480) + 29th (480) + 30th 08-11 (180)
    assert late[durations.FIRST_RESPONSE_FIELD] == 1500
    clock.set(wita(2026, 12, 30, 12, 0))
    late = await cons.close(svc, officer, late)
    assert late[durations.RESOLUTION_FIELD] == 1560
    assert reports.sla_outcome(late, svc.now()) == "breached"
    assert reports.sla_outcome(quick, svc.now()) == "met"

    out = await reports.summary(svc, sup, office="7406", first="2026-12-01", last="2026-12-31")
    assert out["consultations"]["total"] == 2
    assert out["sla"] == {"met": 1, "breached": 1, "pending": 0, "compliance": 0.5}
    assert out["first_response_minutes"] == {"median": 930.0, "p90": 1386.0, "count": 2}
    assert out["resolution_minutes"] == {"median": 1560.0, "p90": 1560.0, "count": 1}
    assert out["consultations"]["by_status"] == {"queued": 0, "active": 1, "closed": 1}


async def test_the_offices_own_closed_dates_count_like_holidays(svc: Services, clock: TestClock, people: Doc) -> None:
    await svc.db.offices.update_one({"code": "7406"}, {"$set": {"policy.extra_closed_dates": ["2026-11-24"]}})
    svc.offices.forget()  # written behind the app's back: read it again
    clock.set(wita(2026, 11, 23, 15, 0))
    c, _ = await cons.open_consultation(svc, people["user"], office="7406", topic="data", subject="S", text="Halo")
    await cons.claim(svc, people["officer"], c)
    clock.set(wita(2026, 11, 25, 8, 30))
    _, c = await messages.post_message(svc, people["officer"], c["_id"], text="Jawaban")
    # Mon 15:00-16:00 (60), Tue closed by the office, Wed 08:00-08:30 (30).
    assert c[durations.FIRST_RESPONSE_FIELD] == 90


async def test_a_walk_in_close_counts_its_first_response_too(svc: Services, clock: TestClock, people: Doc) -> None:
    clock.set(wita(2026, 11, 23, 9, 0))
    c = await consultation(
        svc,
        "7406",
        wita(2026, 11, 23, 8, 50),
        channel="walk_in",
        status="active",
        close_reason=None,
        first_response_at=wita(2026, 11, 23, 9, 0),
    )
    clock.set(wita(2026, 11, 23, 9, 20))
    c = await cons.close(svc, people["officer"], c)
    assert c[durations.FIRST_RESPONSE_FIELD] == 10
    assert c[durations.RESOLUTION_FIELD] == 30


# --- a hand-made month for the figures ---------------------------------------------------------------


async def seed_november(svc: Services) -> None:
    """7406 in November 2026 (WITA), with neighbours outside the period and another office inside it."""
    due = wita(2026, 11, 10, 10, 0)
    base = wita(2026, 11, 5, 10, 0)
    # Five answered online consultations, first responses 10, 20, 30, 40, 1000 working minutes.
    for i, (fr, res, score, reason, channel, topic) in enumerate(
        [
            (10, 100, 5, "resolved", "online", "data"),
            (20, 200, 4, "resolved", "online", "metadata"),
            (30, 300, 4, "idle", "whatsapp", "data"),
            (40, 400, None, "user", "email", "classification"),
        ]
    ):
        await consultation(
            svc,
            "7406",
            base + timedelta(hours=i),
            channel=channel,
            topic=topic,
            close_reason=reason,
            first_response_at=base + timedelta(hours=i, minutes=fr),
            first_response_wmin=fr,
            resolution_wmin=res,
            closed_at=base + timedelta(days=1),
            sla={"due_at": due, "state": "met"},
            **({"rating": {"score": score}} if score else {}),
        )
    # Answered after its deadline, still open: breached; its resolution does not count (open).
    await consultation(
        svc,
        "7406",
        wita(2026, 11, 2, 9, 0),
        status="active",
        close_reason=None,
        first_response_at=wita(2026, 11, 6, 9, 0),
        first_response_wmin=1000,
        resolution_wmin=99999,
        sla={"due_at": wita(2026, 11, 5, 9, 0), "state": "met"},
    )
    now = svc.now()
    # Unanswered and past its deadline: breached. Unanswered before its deadline: pending.
    await consultation(
        svc,
        "7406",
        wita(2026, 11, 1, 0, 30),
        status="queued",
        close_reason=None,
        sla={"due_at": now - timedelta(hours=1)},
    )
    await consultation(
        svc,
        "7406",
        wita(2026, 11, 20, 9, 0),
        status="queued",
        close_reason=None,
        sla={"due_at": now + timedelta(days=1)},
    )
    # Paused for clarification past its old deadline: its clock is stopped, so pending.
    await consultation(
        svc,
        "7406",
        wita(2026, 11, 21, 9, 0),
        status="active",
        close_reason=None,
        sla={"due_at": now - timedelta(hours=1), "paused": True},
    )
    # A walk-in: counted in the volume, not in the online times or the SLA.
    await consultation(
        svc,
        "7406",
        wita(2026, 11, 30, 23, 30),
        channel="walk_in",
        topic="other",
        first_response_at=wita(2026, 11, 30, 23, 31),
        first_response_wmin=1,
        resolution_wmin=5,
        closed_at=wita(2026, 11, 30, 23, 40),
        rating={"score": 1},
    )
    # Outside the period in WITA (Oct 31 23:30, Dec 1 00:30), and another office inside it.
    await consultation(svc, "7406", wita(2026, 10, 31, 23, 30), first_response_wmin=5)
    await consultation(svc, "7406", wita(2026, 12, 1, 0, 30), first_response_wmin=5)
    await consultation(svc, "1808", datetime(2026, 11, 15, 10, 0, tzinfo=WIB), first_response_wmin=7)

    # Complaints: received and past due (overdue), in progress (not yet due), resolved; one in October.
    for status, created, due_at in [
        ("received", wita(2026, 11, 3, 9, 0), now - timedelta(days=1)),
        ("in_progress", wita(2026, 11, 4, 9, 0), now + timedelta(days=3)),
        ("resolved", wita(2026, 11, 5, 9, 0), now - timedelta(days=5)),
        ("received", wita(2026, 10, 30, 9, 0), now - timedelta(days=9)),
        ("received", wita(2026, 11, 6, 9, 0), now - timedelta(days=1)),
    ]:
        office = "1808" if created.day == 6 else "7406"
        await _insert(svc, "complaints", {"office": office, "status": status, "created_at": created, "due_at": due_at})
    # Walk-in tickets: two served (promise kept, broken), a no-show (kept), one never called; one in December.
    for day, status, kept in [
        ("2026-11-02", "done", True),
        ("2026-11-02", "done", False),
        ("2026-11-30", "no_show", True),
        ("2026-11-30", "waiting", None),
        ("2026-12-01", "done", True),
    ]:
        ticket: Doc = {"office": "7406", "day": day, "status": status, "number": f"A-{next(_numbers):03d}"}
        if kept is not None:
            ticket["promise"] = {"kept": kept}
        await _insert(svc, "queue_tickets", ticket)
    # Searches that found nothing: two of 7406 in November, one of 1808, one found, one in October.
    for office, found, at in [
        ("7406", False, wita(2026, 11, 3, 9, 0)),
        ("7406", False, wita(2026, 11, 29, 9, 0)),
        ("1808", False, wita(2026, 11, 3, 9, 0)),
        ("7406", True, wita(2026, 11, 3, 9, 0)),
        ("7406", False, wita(2026, 10, 3, 9, 0)),
    ]:
        await _insert(svc, "kb_queries", {"office": office, "found": found, "q": "x", "at": at})


async def test_a_hand_made_month(svc: Services, clock: TestClock, people: Doc) -> None:
    clock.set(wita(2026, 12, 2, 9, 0))
    await seed_november(svc)
    out = await reports.summary(svc, people["supervisor"], office="7406", first="2026-11-01", last="2026-11-30")
    assert out["office"] == "7406" and out["from"] == "2026-11-01" and out["to"] == "2026-11-30"
    c = out["consultations"]
    assert c["total"] == 9
    assert c["by_channel"] == {"online": 6, "walk_in": 1, "whatsapp": 1, "email": 1}
    assert c["by_topic"] == {"data": 6, "metadata": 1, "classification": 1, "other": 1}
    assert c["by_status"] == {"queued": 2, "active": 2, "closed": 5}
    # 10, 20, 30, 40, 1000: the median is the middle one, p90 is 40 + 0.6 × 960.
    assert out["first_response_minutes"] == {"median": 30.0, "p90": 616.0, "count": 5}
    # Closed online ones only: 100, 200, 300, 400.
    assert out["resolution_minutes"] == {"median": 250.0, "p90": 370.0, "count": 4}
    assert out["sla"] == {"met": 4, "breached": 2, "pending": 2, "compliance": round(4 / 6, 4)}
    assert out["idle_closed"] == {"count": 1, "closed": 5, "share": 0.2}
    assert out["ratings"]["count"] == 4 and out["ratings"]["average"] == 3.5
    assert out["ratings"]["by_score"] == {"1": 1, "2": 0, "3": 0, "4": 2, "5": 1}
    assert out["complaints"] == {"total": 3, "open": 2, "overdue": 1}
    assert out["walk_in"] == {
        "tickets": 4,
        "served": 2,
        "no_show": 1,
        "promise_kept": 2,
        "promise_broken": 1,
        "promise_compliance": round(2 / 3, 4),
    }
    assert out["kb"] == {"searches_without_result": 2}
    assert out["ikm"] == {"responses": 0, "ikm": None, "grade": None}

    # The export's rows say the same, row by row.
    _, rows = await reports.consultation_list(
        svc, people["supervisor"], office="7406", first="2026-11-01", last="2026-11-30"
    )
    listed = [r async for r in rows]
    assert len(listed) == 9
    col = reports.LIST_COLUMNS.index("sla")
    assert sorted(r[col] for r in listed if r[col]) == ["breached"] * 2 + ["met"] * 4 + ["pending"] * 2
    assert listed[0][reports.LIST_COLUMNS.index("created_at")] == "2026-11-01T00:30:00+08:00"

    # The nation: both offices, each on its own local days.
    national = await reports.summary(svc, people["national"], office="all", first="2026-11-01", last="2026-11-30")
    assert national["consultations"]["total"] == 10
    assert national["complaints"]["total"] == 4
    assert national["kb"] == {"searches_without_result": 3}
    json.dumps(national, allow_nan=False)


async def test_trends_by_week_and_hour(svc: Services, clock: TestClock, people: Doc) -> None:
    clock.set(wita(2026, 12, 2, 9, 0))
    await seed_november(svc)
    out = await reports.trends(svc, people["supervisor"], office="7406", first="2026-11-01", last="2026-11-30")
    weeks = {w["week"]: w for w in out["weeks"]}
    # Mondays from the one before 1 Nov (a Sunday) to the last one in the period.
    assert list(weeks) == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]
    assert sum(w["consultations"] for w in out["weeks"]) == 9
    assert weeks["2026-10-26"]["consultations"] == 1  # Sunday 1 Nov 00:30 WITA
    first = weeks["2026-11-02"]
    assert first["consultations"] == 5 and first["sla_met"] == 4 and first["sla_breached"] == 1
    assert first["first_response_avg_minutes"] == round((10 + 20 + 30 + 40 + 1000) / 5, 1)
    assert first["resolution_avg_minutes"] == 250.0
    assert weeks["2026-11-30"]["walk_in"] == 1
    grid = out["hours"]["by_weekday_hour"]
    assert grid[3][10] == 1 and grid[3][11] == 1  # Thursday 5 Nov at 10:00 and 11:00 WITA
    assert out["hours"]["by_hour"][10] == 1  # only the one at 10:00 on the 5th
    assert sum(out["hours"]["by_hour"]) == 9
    # The nation: 1808's Sunday 15 Nov (WIB) falls in the week of the 9th, each office on its own clock.
    nation = await reports.trends(svc, people["national"], office="all", first="2026-11-01", last="2026-11-30")
    by_week = {w["week"]: w["consultations"] for w in nation["weeks"]}
    assert by_week["2026-11-09"] == weeks["2026-11-09"]["consultations"] + 1
    assert sum(by_week.values()) == 10 and nation["hours"]["by_hour"][10] == 2


async def test_an_empty_period_gives_zeros_and_nulls(svc: Services, people: Doc) -> None:
    out = await reports.summary(svc, people["admin_7406"], office="7406", first="2020-01-01", last="2020-01-31")
    assert out["consultations"]["total"] == 0
    assert out["first_response_minutes"] == {"median": None, "p90": None, "count": 0}
    assert out["sla"]["compliance"] is None and out["ratings"]["average"] is None
    assert out["walk_in"]["promise_compliance"] is None and out["idle_closed"]["share"] is None
    json.dumps(out, allow_nan=False)
    trend = await reports.trends(svc, people["admin_7406"], office="7406", first="2020-01-01", last="2020-01-31")
    assert all(w["consultations"] == 0 and w["sla_compliance"] is None for w in trend["weeks"])
    json.dumps(trend, allow_nan=False)


def test_percentile_interpolates_between_order_statistics() -> None:
    assert reports.percentile([], 0.5) is None
    assert reports.percentile([(10, 1), (20, 1)], 0.5) == 15.0
    assert reports.percentile([(7, 3)], 0.9) == 7.0
    assert reports.percentile([(1, 1), (2, 1), (3, 1), (4, 1)], 0.9) == 3.7
    # Counts are expanded: 1,1,1,1,100 has a median of 1.
    assert reports.percentile([(100, 1), (1, 4)], 0.5) == 1.0


# --- who may ask, and bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "office", "error"),
    [
        ("officer", "7406", Forbidden),
        ("user", "7406", Forbidden),
        ("supervisor", "1808", Forbidden),
        ("supervisor", "all", Forbidden),
        ("admin_7406", "all", Forbidden),
        ("admin_7406", "1808", Forbidden),
        ("national", "9999", NotFound),
        ("national", "74", ValidationFailed),
    ],
)
async def test_who_may_see_which_office(svc: Services, people: Doc, who: str, office: str, error: type) -> None:
    with pytest.raises(error):
        await reports.summary(svc, people[who], office=office, first="2026-11-01", last="2026-11-30")


@pytest.mark.parametrize(
    ("first", "last", "code"),
    [
        ("2026-11-31", "2026-12-01", "invalid_date"),
        ("yesterday", "2026-12-01", "invalid_date"),
        ("20261101", "2026-12-01", "invalid_date"),
        ("2026-12-02", "2026-12-01", "invalid_range"),
        ("2023-01-01", "2026-01-01", "range_too_long"),
    ],
)
async def test_bad_periods(svc: Services, people: Doc, first: str, last: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        await reports.summary(svc, people["supervisor"], office="7406", first=first, last=last)
    assert info.value.code == code


async def test_three_years_exactly_and_the_default_month(svc: Services, clock: TestClock, people: Doc) -> None:
    out = await reports.summary(svc, people["supervisor"], office="7406", first="2023-01-01", last="2025-12-31")
    assert out["from"] == "2023-01-01"
    clock.set(wita(2026, 11, 18, 9, 0))
    out = await reports.summary(svc, people["supervisor"], office=None, first=None, last=None)
    assert (out["office"], out["from"], out["to"]) == ("7406", "2026-11-01", "2026-11-18")
    national = await reports.summary(svc, people["national"], office=None, first=None, last=None)
    assert national["office"] == "all" and len(national["offices"]) == 5


def test_sla_plan_and_outcome_agree_on_the_holiday() -> None:
    office = {"time_zone": "Asia/Makassar", "policy": {"sla_working_days": 3}}
    plan = sla.sla_plan(office, wita(2026, 12, 23, 10, 0))
    c = {"sla": {**plan, "met_at": wita(2026, 12, 29, 15, 0)}, "first_response_at": wita(2026, 12, 29, 15, 0)}
    assert reports.sla_outcome(c, wita(2027, 1, 10, 9, 0)) == "met"
