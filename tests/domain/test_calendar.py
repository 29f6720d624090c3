"""The working-day calendar against the real 2026 Indonesian calendar (holidays package, SKB cuti bersama).

Dates used below, as the holidays package (0.108) gives them for 2026 (weekday closures only):
  Thu 01 Jan New Year; Fri 16 Jan Isra Mikraj; Mon 16 Feb joint leave + Tue 17 Feb Imlek;
  Wed 18 Mar joint leave + Thu 19 Mar Nyepi; Fri 20 Mar joint leave, Sat-Sun 21-22 Mar Idul Fitri,
  Mon-Tue 23-24 Mar joint leave (one closed block Wed 18 - Tue 24 Mar); Fri 03 Apr Good Friday;
  Fri 01 May Labour Day; Thu 14 May Ascension + Fri 15 May joint leave; Wed 27 May Idul Adha +
  Thu 28 May joint leave; Mon 01 Jun Pancasila; Tue 16 Jun Islamic New Year; Mon 17 Aug
  Independence Day; Tue 25 Aug Maulid; Thu 24 Dec joint leave + Fri 25 Dec Christmas
  (26 Dec 2026 is a Saturday and gets no joint leave).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.domain.calendar import (
    WORKDAY_END,
    WORKDAY_START,
    add_working_days,
    add_working_seconds,
    at_risk_at,
    closed_dates,
    extra_closed_from_policy,
    idle_close_at,
    idle_warning_at,
    is_working_day,
    local_date_str,
    request_clock_start,
    sla_due_at,
    sla_resume_due_at,
    sla_state,
    subtract_working_days,
    validate_policy,
    validate_time_zone,
    working_seconds_between,
)
from server.domain.errors import ValidationFailed

JKT = "Asia/Jakarta"  # WIB, UTC+7: Tulang Bawang 1808, Sumatera Selatan 1600
MKS = "Asia/Makassar"  # WITA, UTC+8: Bombana 7406, Boalemo 7501, Kolaka Timur 7411

SEED_OFFICES = Path(__file__).resolve().parents[2] / "mongo-init" / "offices.json"


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(JKT))


def wita(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(MKS))


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# --- the holiday data itself --------------------------------------------------------------


def test_2026_weekday_closures_are_the_holidays_and_joint_leave_we_rely_on() -> None:
    closed = closed_dates(2026)
    weekday_closed = sorted(d for d in closed if d.weekday() < 5)
    assert weekday_closed == [
        date(2026, 1, 1), date(2026, 1, 16),
        date(2026, 2, 16), date(2026, 2, 17),
        date(2026, 3, 18), date(2026, 3, 19), date(2026, 3, 20), date(2026, 3, 23), date(2026, 3, 24),
        date(2026, 4, 3), date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 15),
        date(2026, 5, 27), date(2026, 5, 28), date(2026, 6, 1), date(2026, 6, 16),
        date(2026, 8, 17), date(2026, 8, 25), date(2026, 12, 24), date(2026, 12, 25),
    ]
    # joint leave comes from the "government" category, in Indonesian
    assert closed[date(2026, 12, 24)] == "Cuti Bersama Hari Raya Natal"
    assert closed[date(2026, 3, 23)].startswith("Cuti Bersama")
    assert date(2026, 12, 26) not in closed
    # the public copy cannot corrupt the cache
    closed.clear()
    assert date(2026, 12, 25) in closed_dates(2026)


def test_is_working_day() -> None:
    assert is_working_day(date(2026, 11, 26))  # a plain Thursday
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 11, 29))  # Sunday
    assert not is_working_day(date(2026, 3, 23))  # Idul Fitri joint leave (Monday)
    assert not is_working_day(date(2026, 12, 24))  # Christmas joint leave (Thursday)
    assert is_working_day(date(2026, 12, 31))  # New Year's Eve is a normal working day
    assert not is_working_day(date(2026, 11, 26), extra_closed=[date(2026, 11, 26)])
    assert not is_working_day(date(2026, 11, 26), extra_closed=["2026-11-26"])
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 11, 26, tzinfo=UTC))


# --- when the clock starts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "tz", "expected"),
    [
        # office hours of a working day: the clock starts at once
        (wib(2026, 11, 23, 10, 0), JKT, wib(2026, 11, 23, 10, 0)),
        (wib(2026, 11, 23, 15, 59, 59), JKT, wib(2026, 11, 23, 15, 59, 59)),
        # before opening on a working day: that morning
        (wib(2026, 11, 23, 7, 15), JKT, wib(2026, 11, 23, 8, 0)),
        # at or after closing: the next working morning
        (wib(2026, 11, 23, 16, 0), JKT, wib(2026, 11, 24, 8, 0)),
        (wib(2026, 11, 23, 21, 40), JKT, wib(2026, 11, 24, 8, 0)),
        (wib(2026, 11, 27, 16, 30), JKT, wib(2026, 11, 30, 8, 0)),  # Friday evening -> Monday
        # weekend: Monday 08:00 local
        (wib(2026, 11, 21, 13, 0), JKT, wib(2026, 11, 23, 8, 0)),
        (wib(2026, 11, 22, 23, 59), JKT, wib(2026, 11, 23, 8, 0)),
        # Friday 17:30 UTC is already Saturday 00:30 in Jakarta
        (utc(2026, 11, 20, 17, 30), JKT, wib(2026, 11, 23, 8, 0)),
        # Sunday 23:30 UTC is Monday 06:30 WIB
        (utc(2026, 11, 22, 23, 30), JKT, wib(2026, 11, 23, 8, 0)),
        # the same instant is office hours in Jakarta (15:30) but after closing in Makassar (16:30)
        (utc(2026, 11, 23, 8, 30), JKT, utc(2026, 11, 23, 8, 30)),
        (utc(2026, 11, 23, 8, 30), MKS, wita(2026, 11, 24, 8, 0)),
        # evening before the Nyepi + Idul Fitri block: morning after the block
        (wib(2026, 3, 17, 16, 30), JKT, wib(2026, 3, 25, 8, 0)),
        # on a holiday (Ascension Thursday): the Monday after the long weekend
        (wib(2026, 5, 14, 11, 0), JKT, wib(2026, 5, 18, 8, 0)),
    ],
)
def test_request_clock_start(received: datetime, tz: str, expected: datetime) -> None:
    got = request_clock_start(received, tz)
    assert got == expected
    assert got.tzinfo is UTC


def test_office_hours_constants() -> None:
    assert (WORKDAY_START.hour, WORKDAY_START.minute) == (8, 0)
    assert (WORKDAY_END.hour, WORKDAY_END.minute) == (16, 0)


# --- adding and subtracting working days --------------------------------------------------


def test_add_working_days_plain_week() -> None:
    assert add_working_days(wib(2026, 11, 23, 10), 3, JKT) == wib(2026, 11, 26, 10)  # Mon -> Thu
    assert add_working_days(wib(2026, 11, 27, 10), 1, JKT) == wib(2026, 11, 30, 10)  # Fri -> Mon
    assert add_working_days(wib(2026, 11, 23, 10), 5, JKT) == wib(2026, 11, 30, 10)  # a whole week
    start = wib(2026, 11, 23, 10)
    assert add_working_days(start, 0, JKT) == start
    with pytest.raises(ValueError):
        add_working_days(start, -1, JKT)


def test_subtract_working_days() -> None:
    assert subtract_working_days(wib(2026, 11, 30, 10), 1, JKT) == wib(2026, 11, 27, 10)  # Mon -> Fri
    assert subtract_working_days(wib(2026, 11, 26, 10), 3, JKT) == wib(2026, 11, 23, 10)
    # back across the whole Nyepi + Idul Fitri block
    assert subtract_working_days(wib(2026, 3, 25, 10), 1, JKT) == wib(2026, 3, 17, 10)
    # back across Christmas: Mon 28 Dec - 1 skips the weekend, Fri 25 and Thu 24
    assert subtract_working_days(wib(2026, 12, 28, 9), 1, JKT) == wib(2026, 12, 23, 9)
    assert subtract_working_days(wib(2026, 12, 28, 9), 0, JKT) == wib(2026, 12, 28, 9)


# --- SLA deadlines ------------------------------------------------------------------------


def test_sla_plain_week_tulang_bawang() -> None:
    # 1808, 3 working days, WIB: Monday 10:00 -> Thursday 10:00 (03:00 UTC)
    due = sla_due_at(wib(2026, 11, 23, 10, 0), 3, JKT)
    assert due == utc(2026, 11, 26, 3, 0)
    assert due.tzinfo is UTC


def test_sla_received_after_closing_starts_next_morning() -> None:
    # Monday 17:00 -> clock Tue 08:00 -> Fri 08:00
    assert sla_due_at(wib(2026, 11, 23, 17, 0), 3, JKT) == wib(2026, 11, 27, 8, 0)


def test_sla_received_on_saturday() -> None:
    # Saturday -> clock Mon 23 Nov 08:00 WITA -> Thu 26 Nov 08:00 WITA (Bombana 7406)
    assert sla_due_at(wita(2026, 11, 21, 9, 0), 3, MKS) == wita(2026, 11, 26, 8, 0)


def test_sla_long_weekend_ascension() -> None:
    # Wed 13 May; Thu 14 Ascension, Fri 15 joint leave, weekend -> Mon 18, Tue 19, Wed 20
    assert sla_due_at(wib(2026, 5, 13, 10), 3, JKT) == wib(2026, 5, 20, 10)
    # Fri 14 Aug + 1: Mon 17 Aug is Independence Day
    assert sla_due_at(wib(2026, 8, 14, 10), 1, JKT) == wib(2026, 8, 18, 10)
    # Thu 15 Jan + 1: Fri 16 Jan is Isra Mikraj
    assert sla_due_at(wib(2026, 1, 15, 14), 1, JKT) == wib(2026, 1, 19, 14)
    # Fri 13 Feb + 1: Mon 16 Feb joint leave, Tue 17 Feb Imlek
    assert sla_due_at(wib(2026, 2, 13, 10), 1, JKT) == wib(2026, 2, 18, 10)


def test_sla_idul_fitri_2026_block() -> None:
    # Tue 17 Mar is the last working day before Wed 18 - Tue 24 Mar (Nyepi, Idul Fitri and
    # their joint leave): the three working days are Wed 25, Thu 26, Fri 27 Mar
    assert sla_due_at(wib(2026, 3, 17, 10), 3, JKT) == wib(2026, 3, 27, 10)
    # Boalemo (7501, 1 working day, WITA) on the same afternoon: Wed 25 Mar 15:30 WITA
    due = sla_due_at(wita(2026, 3, 17, 15, 30), 1, MKS)
    assert due == wita(2026, 3, 25, 15, 30)
    assert due == utc(2026, 3, 25, 7, 30)


def test_sla_christmas_and_year_end() -> None:
    # Wed 23 Dec: Thu 24 joint leave, Fri 25 Christmas, weekend -> Mon 28, Tue 29, Wed 30
    assert sla_due_at(wib(2026, 12, 23, 9), 3, JKT) == wib(2026, 12, 30, 9)
    # Wed 30 Dec + 2: Thu 31 Dec, (Fri 1 Jan 2027 New Year, weekend) Mon 4 Jan 2027
    assert sla_due_at(wib(2026, 12, 30, 10), 2, JKT) == wib(2027, 1, 4, 10)


def test_sla_boalemo_one_working_day() -> None:
    # 7501: 1 working day, Asia/Makassar
    assert sla_due_at(wita(2026, 11, 26, 14), 1, MKS) == utc(2026, 11, 27, 6)  # Fri 14:00 WITA
    assert sla_due_at(wita(2026, 11, 27, 15), 1, MKS) == wita(2026, 11, 30, 15)  # Fri -> Mon
    assert sla_due_at(wita(2026, 11, 27, 16, 5), 1, MKS) == wita(2026, 12, 1, 8)  # after closing
    assert sla_due_at(wita(2026, 8, 14, 10), 1, MKS) == utc(2026, 8, 18, 2)  # over 17 Aug


def test_extra_closed_dates() -> None:
    # the office closes Mon 30 Nov (say, an office event); ISO strings work as policies store them
    policy = {"extra_closed_dates": ["2026-11-30"]}
    extra = extra_closed_from_policy(policy)
    assert extra == frozenset({date(2026, 11, 30)})
    assert sla_due_at(wib(2026, 11, 27, 10), 1, JKT, extra) == wib(2026, 12, 1, 10)
    assert sla_due_at(wib(2026, 11, 27, 10), 1, JKT, ["2026-11-30"]) == wib(2026, 12, 1, 10)
    assert sla_due_at(wib(2026, 11, 27, 10), 1, JKT) == wib(2026, 11, 30, 10)
    assert request_clock_start(wib(2026, 11, 28, 10), JKT, extra) == wib(2026, 12, 1, 8)
    # a generator is consumed once and still applied everywhere
    gen = (d for d in [date(2026, 11, 30)])
    assert sla_due_at(wib(2026, 11, 28, 10), 1, JKT, gen) == wib(2026, 12, 2, 8)
    with pytest.raises(TypeError):
        sla_due_at(wib(2026, 11, 27, 10), 1, JKT, [datetime(2026, 11, 30, tzinfo=UTC)])


def test_naive_datetimes_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sla_due_at(datetime(2026, 11, 23, 10), 3, JKT)  # noqa: DTZ001 - the naive input is the point
    with pytest.raises(ValueError, match="time zone"):
        sla_due_at(wib(2026, 11, 23, 10), 3, "Asia/Atlantis")
    assert validate_time_zone(MKS) == MKS
    with pytest.raises(ValidationFailed) as exc:
        validate_time_zone("Asia/Atlantis")
    assert exc.value.code == "invalid_time_zone"


# --- SLA state ----------------------------------------------------------------------------


def test_sla_state_transitions() -> None:
    due = sla_due_at(wib(2026, 11, 23, 10), 3, JKT)  # Thu 26 Nov 10:00 WIB
    assert at_risk_at(due, 1, JKT) == wib(2026, 11, 25, 10)
    assert sla_state(wib(2026, 11, 23, 10), due, 1, JKT) == "on_track"
    assert sla_state(wib(2026, 11, 25, 9, 59, 59), due, 1, JKT) == "on_track"
    assert sla_state(wib(2026, 11, 25, 10), due, 1, JKT) == "at_risk"
    assert sla_state(wib(2026, 11, 26, 9, 59, 59), due, 1, JKT) == "at_risk"
    assert sla_state(wib(2026, 11, 26, 10), due, 1, JKT) == "breached"
    assert sla_state(wib(2027, 1, 4, 10), due, 1, JKT) == "breached"
    # margin 0: never "at risk", straight from on track to breached
    assert sla_state(wib(2026, 11, 26, 9, 59, 59), due, 0, JKT) == "on_track"


def test_at_risk_over_weekend_and_holidays() -> None:
    # due Mon 30 Nov -> at risk from Fri 27 Nov
    assert at_risk_at(wib(2026, 11, 30, 10), 1, JKT) == wib(2026, 11, 27, 10)
    # due Wed 25 Mar (first day after the Idul Fitri block) -> at risk from Tue 17 Mar
    due = sla_due_at(wib(2026, 3, 24, 11), 1, JKT)  # received on joint leave
    assert due == wib(2026, 3, 26, 8)  # clock Wed 25 08:00 -> Thu 26 08:00
    assert sla_state(wib(2026, 3, 25, 7, 59), due, 1, JKT) == "on_track"
    assert sla_state(wib(2026, 3, 25, 8), due, 1, JKT) == "at_risk"


# --- pause and resume ---------------------------------------------------------------------


def test_working_seconds_between() -> None:
    hour = 3600
    # Mon 14:00 -> Tue 10:00: 2 h Monday afternoon + 2 h Tuesday morning
    assert working_seconds_between(wib(2026, 11, 23, 14), wib(2026, 11, 24, 10), JKT) == 4 * hour
    # Friday evening -> Monday before opening: nothing
    assert working_seconds_between(wib(2026, 11, 27, 16, 30), wib(2026, 11, 30, 7, 45), JKT) == 0
    # the whole Idul Fitri block, from Tue 17 Mar 16:00 to Wed 25 Mar 08:00: nothing
    assert working_seconds_between(wib(2026, 3, 17, 16), wib(2026, 3, 25, 8), JKT) == 0
    assert working_seconds_between(wib(2026, 11, 24), wib(2026, 11, 23), JKT) == 0
    assert add_working_seconds(wib(2026, 11, 26, 15), 2 * hour, JKT) == wib(2026, 11, 27, 9)
    assert add_working_seconds(wib(2026, 11, 26, 14), 2 * hour, JKT) == wib(2026, 11, 26, 16)


def test_pause_resume_within_the_week() -> None:
    due = sla_due_at(wib(2026, 11, 23, 10), 3, JKT)  # Thu 26 Nov 10:00
    # paused Mon 14:00, resumed Tue 10:00: 4 office hours lost -> Thu 14:00
    assert sla_resume_due_at(due, wib(2026, 11, 23, 14), wib(2026, 11, 24, 10), JKT) == wib(2026, 11, 26, 14)
    # 7 office hours lost (Mon 09:00-16:00): Thu has 6 left, so Fri 09:00
    assert sla_resume_due_at(due, wib(2026, 11, 23, 9), wib(2026, 11, 23, 16), JKT) == wib(2026, 11, 27, 9)


def test_pause_over_nights_weekends_and_holidays_costs_only_office_hours() -> None:
    due = wib(2026, 12, 2, 10)
    # Fri 16:30 -> Mon 07:45: no office time lost, deadline unchanged
    assert sla_resume_due_at(due, wib(2026, 11, 27, 16, 30), wib(2026, 11, 30, 7, 45), JKT) == due
    # received Wed 23 Dec 09:00 -> due Wed 30 Dec 09:00; paused Wed 15:00, resumed Mon 28 Dec
    # 09:00: lost Wed 15-16 and Mon 08-09 (Christmas and its joint leave cost nothing) -> 11:00
    due = sla_due_at(wib(2026, 12, 23, 9), 3, JKT)
    assert sla_resume_due_at(due, wib(2026, 12, 23, 15), wib(2026, 12, 28, 9), JKT) == wib(2026, 12, 30, 11)
    # a push that runs past closing on New Year's Eve continues Mon 4 Jan 2027
    pushed = sla_resume_due_at(wib(2026, 12, 31, 15), wib(2026, 12, 28, 10), wib(2026, 12, 28, 13), JKT)
    assert pushed == wib(2027, 1, 4, 10)


def test_pause_after_breach_keeps_it_breached() -> None:
    due = wib(2026, 11, 26, 10)
    got = sla_resume_due_at(due, wib(2026, 11, 26, 11), wib(2026, 11, 27, 11), JKT)
    assert got == due
    with pytest.raises(ValueError):
        sla_resume_due_at(due, wib(2026, 11, 24, 11), wib(2026, 11, 24, 10), JKT)


# --- idle close ---------------------------------------------------------------------------

SEVEN_DAYS = {"amount": 7, "unit": "days"}
THREE_WORKING_DAYS = {"amount": 3, "unit": "working_days"}


def test_idle_close_seven_calendar_days() -> None:
    last = wib(2026, 12, 16, 15, 0)
    close = idle_close_at(last, SEVEN_DAYS, JKT)
    assert close == wib(2026, 12, 23, 15, 0)
    assert close - last == timedelta(hours=7 * 24)
    # holidays do not matter for calendar days: Nyepi night in Makassar
    last = wita(2026, 3, 19, 20, 0)
    assert idle_close_at(last, SEVEN_DAYS, MKS) - last == timedelta(hours=168)
    # warning one day before
    assert idle_warning_at(close, SEVEN_DAYS, JKT) == wib(2026, 12, 22, 15, 0)
    assert idle_warning_at(close, SEVEN_DAYS, JKT, lead=2) == wib(2026, 12, 21, 15, 0)


def test_idle_close_three_working_days_across_weekend_and_holiday() -> None:
    # Sumatera Selatan (1600): Thu 13 Aug 10:00 -> Fri 14, (weekend, Mon 17 Aug) Tue 18, Wed 19
    close = idle_close_at(wib(2026, 8, 13, 10), THREE_WORKING_DAYS, JKT)
    assert close == wib(2026, 8, 19, 10)
    assert idle_warning_at(close, THREE_WORKING_DAYS, JKT) == wib(2026, 8, 18, 10)
    # sent after closing: counting starts Fri 14 08:00 -> Tue 18, Wed 19, Thu 20 08:00
    assert idle_close_at(wib(2026, 8, 13, 18), THREE_WORKING_DAYS, JKT) == wib(2026, 8, 20, 8)
    # sent on Saturday: counting starts Tue 18 08:00 (Mon is a holiday) -> Fri 21 08:00
    assert idle_close_at(wib(2026, 8, 15, 11), THREE_WORKING_DAYS, JKT) == wib(2026, 8, 21, 8)
    # Kolaka Timur (7411, WITA): warning before a Monday close lands on the Friday
    close = idle_close_at(wita(2026, 11, 25, 9), THREE_WORKING_DAYS, MKS)
    assert close == wita(2026, 11, 30, 9)
    assert idle_warning_at(close, THREE_WORKING_DAYS, MKS) == wita(2026, 11, 27, 9)


# --- policy validation --------------------------------------------------------------------


def _seed_policies() -> dict[str, dict[str, Any]]:
    data = json.loads(SEED_OFFICES.read_text(encoding="utf-8"))
    return {o["code"]: o["policy"] for o in data["offices"]}


def test_validate_policy_accepts_the_five_seed_policies() -> None:
    policies = _seed_policies()
    assert sorted(policies) == ["1600", "1808", "7406", "7411", "7501"]
    for policy in policies.values():
        assert validate_policy(policy) == policy
    # the service standards (shared/seeds/README.md)
    summary = {
        code: (p["sla_working_days"], p["idle_close"]["amount"], p["idle_close"]["unit"])
        for code, p in policies.items()
    }
    assert summary == {
        "7406": (3, 7, "days"),
        "1808": (3, 7, "days"),
        "7501": (1, 7, "days"),
        "1600": (3, 3, "working_days"),
        "7411": (3, 3, "working_days"),
    }


def test_validate_policy_normalises() -> None:
    out = validate_policy(
        {
            "sla_working_days": 2,
            "idle_close": {"amount": 5, "unit": "working_days"},
            "extra_closed_dates": ["2026-12-31", "2026-11-30", "2026-12-31"],
        }
    )
    assert out == {
        "sla_working_days": 2,
        "idle_close": {"amount": 5, "unit": "working_days"},
        "sla_at_risk_margin_working_days": 1,
        "extra_closed_dates": ["2026-11-30", "2026-12-31"],
    }
    no_margin = validate_policy({**out, "sla_at_risk_margin_working_days": 0})
    assert no_margin["sla_at_risk_margin_working_days"] == 0


BASE: dict[str, Any] = {"sla_working_days": 3, "idle_close": {"amount": 7, "unit": "days"}}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"sla_working_days": 0}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": -3}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": 31}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": True}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": "3"}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": 3.0}, "invalid_sla_working_days", "sla_working_days"),
        ({"sla_working_days": None}, "invalid_sla_working_days", "sla_working_days"),
        ({"idle_close": None}, "invalid_idle_close", "idle_close"),
        ({"idle_close": 7}, "invalid_idle_close", "idle_close"),
        ({"idle_close": {"amount": 0, "unit": "days"}}, "invalid_idle_close", "idle_close.amount"),
        ({"idle_close": {"amount": -7, "unit": "days"}}, "invalid_idle_close", "idle_close.amount"),
        ({"idle_close": {"amount": 91, "unit": "days"}}, "invalid_idle_close", "idle_close.amount"),
        ({"idle_close": {"amount": True, "unit": "days"}}, "invalid_idle_close", "idle_close.amount"),
        ({"idle_close": {"amount": 7, "unit": "hours"}}, "invalid_idle_close", "idle_close.unit"),
        ({"idle_close": {"amount": 7}}, "invalid_idle_close", "idle_close.unit"),
        ({"idle_close": {"amount": 7, "unit": "days", "x": 1}}, "invalid_idle_close", "idle_close"),
        ({"sla_at_risk_margin_working_days": -1}, "invalid_sla_at_risk_margin",
         "sla_at_risk_margin_working_days"),
        ({"sla_at_risk_margin_working_days": 11}, "invalid_sla_at_risk_margin",
         "sla_at_risk_margin_working_days"),
        ({"sla_at_risk_margin_working_days": False}, "invalid_sla_at_risk_margin",
         "sla_at_risk_margin_working_days"),
        ({"extra_closed_dates": "2026-12-31"}, "invalid_extra_closed_dates", "extra_closed_dates"),
        ({"extra_closed_dates": ["2026-02-30"]}, "invalid_extra_closed_dates", "extra_closed_dates"),
        ({"extra_closed_dates": ["31-12-2026"]}, "invalid_extra_closed_dates", "extra_closed_dates"),
        ({"extra_closed_dates": ["20261231"]}, "invalid_extra_closed_dates", "extra_closed_dates"),
        ({"extra_closed_dates": [20261231]}, "invalid_extra_closed_dates", "extra_closed_dates"),
        (
            {"extra_closed_dates": [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(367)]},
            "invalid_extra_closed_dates",
            "extra_closed_dates",
        ),
        ({"max_concurrent_rooms": 0}, "invalid_max_concurrent_rooms", "max_concurrent_rooms"),
        ({"max_concurrent_rooms": 101}, "invalid_max_concurrent_rooms", "max_concurrent_rooms"),
        ({"max_concurrent_rooms": True}, "invalid_max_concurrent_rooms", "max_concurrent_rooms"),
        ({"auto_assign": "yes"}, "invalid_auto_assign", "auto_assign"),
        ({"auto_assign": 1}, "invalid_auto_assign", "auto_assign"),
        ({"walk_in_service_minutes": 0}, "invalid_walk_in_service_minutes", "walk_in_service_minutes"),
        ({"walk_in_service_minutes": 241}, "invalid_walk_in_service_minutes", "walk_in_service_minutes"),
        ({"walk_in_service_minutes": 10_000_000}, "invalid_walk_in_service_minutes",
         "walk_in_service_minutes"),
        ({"sla_workingdays": 3}, "unknown_policy_field", "sla_workingdays"),
    ],
)
def test_validate_policy_rejects(changes: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_policy({**BASE, **changes})
    assert exc.value.code == code
    assert exc.value.details == {"field": field}
    assert exc.value.status == 422


def test_validate_policy_requires_the_two_core_fields() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_policy({"idle_close": {"amount": 7, "unit": "days"}})
    assert exc.value.code == "invalid_sla_working_days"
    with pytest.raises(ValidationFailed) as exc:
        validate_policy({"sla_working_days": 3})
    assert exc.value.code == "invalid_idle_close"
    with pytest.raises(ValidationFailed) as exc:
        validate_policy([("sla_working_days", 3)])  # type: ignore[arg-type]
    assert exc.value.code == "invalid_policy"


def test_validate_policy_accepts_the_limits() -> None:
    out = validate_policy(
        {
            "sla_working_days": 30,
            "idle_close": {"amount": 90, "unit": "days"},
            "sla_at_risk_margin_working_days": 10,
            "extra_closed_dates": [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(366)],
            "max_concurrent_rooms": 100,
            "auto_assign": True,
            "walk_in_service_minutes": 240,
        }
    )
    assert len(out["extra_closed_dates"]) == 366
    assert out["auto_assign"] is True


# --- display ------------------------------------------------------------------------------


def test_local_date_str() -> None:
    moment = utc(2026, 11, 26, 3, 0)
    assert local_date_str(moment, JKT) == "Kamis, 26 November 2026 10.00 WIB"
    assert local_date_str(moment, JKT, lang="en") == "Thursday, 26 November 2026 10:00 WIB"
    assert local_date_str(moment, "Asia/Pontianak") == "Kamis, 26 November 2026 10.00 WIB"
    assert local_date_str(moment, MKS) == "Kamis, 26 November 2026 11.00 WITA"
    assert local_date_str(moment, "Asia/Jayapura") == "Kamis, 26 November 2026 12.00 WIT"
    # New Year's Day 2027 in Jakarta is still 31 Dec in UTC
    assert local_date_str(utc(2026, 12, 31, 18, 5), JKT) == "Jumat, 1 Januari 2027 01.05 WIB"
    assert local_date_str(utc(2026, 8, 17, 1, 0), JKT, "en") == "Monday, 17 August 2026 08:00 WIB"
    # outside Indonesia: the UTC offset
    assert local_date_str(moment, "Asia/Kolkata", "en") == "Thursday, 26 November 2026 08:30 UTC+05:30"
    assert local_date_str(moment, "UTC") == "Kamis, 26 November 2026 03.00 UTC+00:00"
    assert local_date_str(moment, "America/Sao_Paulo", "en") == "Thursday, 26 November 2026 00:00 UTC-03:00"
    with pytest.raises(ValueError):
        local_date_str(moment, JKT, lang="fr")
