"""Working days, holidays and SLA deadlines: pure functions, the clock is always passed in.

Every datetime going in must be timezone-aware; every datetime coming out is in UTC. The
arithmetic itself happens on the office's local calendar (its IANA time zone), because a
"working day" and "08:00" only mean something on the office's wall clock.

A working day is Monday to Friday, not an Indonesian public holiday, not a joint leave day
(cuti bersama) and not one of the office's own extra closed dates. Office hours are
WORKDAY_START to WORKDAY_END local, as the half-open interval [08:00, 16:00).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from server.domain.errors import ValidationFailed

WORKDAY_START = time(8, 0)
WORKDAY_END = time(16, 0)

SlaState = Literal["on_track", "at_risk", "breached"]
IdleUnit = Literal["days", "working_days"]
IDLE_UNITS: tuple[IdleUnit, ...] = ("days", "working_days")

# "government" is the category in which the holidays package keeps the joint leave days
# (cuti bersama) decreed each year by the SKB of three ministers; civil servants, and so BPS
# offices, are closed on them.
_HOLIDAY_CATEGORIES = ("public", "government")

_ONE_DAY = timedelta(days=1)

ExtraClosed = Iterable[date | str]


# --- time zones and input checks -------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError when unknown (a config bug, not user input)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def validate_time_zone(tz: object) -> str:
    """Return `tz` if it is a known IANA time zone, else raise ValidationFailed(invalid_time_zone)."""
    if not isinstance(tz, str) or not tz:
        raise ValidationFailed("invalid_time_zone", "time_zone must be an IANA name", field="time_zone")
    try:
        _zone(tz)
    except ValueError:
        raise ValidationFailed("invalid_time_zone", f"unknown time zone {tz!r}", field="time_zone") from None
    return tz


def _aware(moment: datetime, name: str) -> datetime:
    """Reject naive datetimes: guessing their zone is how SLA deadlines drift by hours."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass a timezone-aware one")
    return moment


def _count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int")
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    return n


def _extra_set(extra_closed: ExtraClosed) -> frozenset[date]:
    """Normalise extra closed dates once; ISO strings are accepted because policies store them so."""
    if isinstance(extra_closed, frozenset) and all(type(d) is date for d in extra_closed):
        return extra_closed
    out: set[date] = set()
    for item in extra_closed:
        if isinstance(item, str):
            out.add(date.fromisoformat(item))
        elif isinstance(item, datetime):
            # a datetime never equals a date, so it would silently never match
            raise TypeError("extra_closed holds dates, not datetimes")
        elif isinstance(item, date):
            out.add(item)
        else:
            raise TypeError(f"extra_closed item must be a date or ISO string, got {type(item).__name__}")
    return frozenset(out)


def extra_closed_from_policy(policy: Mapping[str, Any]) -> frozenset[date]:
    """The office's extra closed dates (stored as ISO strings in the policy) as dates."""
    return _extra_set(policy.get("extra_closed_dates") or ())


# --- the calendar ----------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _closed(year: int) -> Mapping[date, str]:
    """National holidays and joint leave days of one year, read-only, built once per year."""
    # language="id" so the names are stable and Indonesian whatever the process locale is
    found = holidays.country_holidays("ID", categories=_HOLIDAY_CATEGORIES, years=year, language="id")
    # copy to a plain dict: a holidays object grows itself on lookups of other years
    return MappingProxyType({d: str(name) for d, name in sorted(found.items())})


def closed_dates(year: int) -> dict[date, str]:
    """National holidays and joint leave days (cuti bersama) of `year`, date -> Indonesian name."""
    return dict(_closed(year))


def _is_working(d: date, extra: frozenset[date]) -> bool:
    return d.weekday() < 5 and d not in _closed(d.year) and d not in extra


def is_working_day(d: date, extra_closed: ExtraClosed = ()) -> bool:
    """True for Mon-Fri that is neither a holiday, a joint leave day nor an office extra closed date."""
    if isinstance(d, datetime):
        raise TypeError("is_working_day takes a local date, not a datetime")
    return _is_working(d, _extra_set(extra_closed))


def _step_days(d: date, n: int, step: timedelta, extra: frozenset[date]) -> date:
    """Move n working days from d in the direction of `step` (d itself never counts)."""
    while n > 0:
        d += step
        if _is_working(d, extra):
            n -= 1
    return d


def _next_working_date(d: date, extra: frozenset[date]) -> date:
    """The first working day strictly after d."""
    return _step_days(d, 1, _ONE_DAY, extra)


def _local_at(d: date, t: time, zone: ZoneInfo) -> datetime:
    """Local wall-clock d t in `zone`, as UTC."""
    return datetime.combine(d, t, tzinfo=zone).astimezone(UTC)


def _window(d: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Office hours of local day d as a UTC [start, end) pair."""
    return _local_at(d, WORKDAY_START, zone), _local_at(d, WORKDAY_END, zone)


# --- SLA clock -------------------------------------------------------------------------------


def request_clock_start(received_at: datetime, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """When the SLA clock starts for a request received at `received_at` (the next office-hours moment)."""
    received_at = _aware(received_at, "received_at")
    zone, extra = _zone(tz), _extra_set(extra_closed)
    local = received_at.astimezone(zone)
    day = local.date()
    if _is_working(day, extra):
        if local.time() < WORKDAY_START:
            return _local_at(day, WORKDAY_START, zone)
        if local.time() < WORKDAY_END:
            return received_at.astimezone(UTC)
    # weekend, holiday, or at/after closing time: nobody is there to read it until next morning
    return _local_at(_next_working_date(day, extra), WORKDAY_START, zone)


def add_working_days(start: datetime, n: int, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """`start` moved forward n working days, keeping its local clock time (Fri 10:00 + 1 -> Mon 10:00)."""
    start = _aware(start, "start")
    if _count(n, "n") == 0:
        return start.astimezone(UTC)
    zone = _zone(tz)
    local = start.astimezone(zone)
    target = _step_days(local.date(), n, _ONE_DAY, _extra_set(extra_closed))
    return datetime.combine(target, local.timetz()).astimezone(UTC)


def subtract_working_days(moment: datetime, n: int, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """`moment` moved back n working days, keeping its local clock time (Mon 10:00 - 1 -> Fri 10:00)."""
    moment = _aware(moment, "moment")
    if _count(n, "n") == 0:
        return moment.astimezone(UTC)
    zone = _zone(tz)
    local = moment.astimezone(zone)
    target = _step_days(local.date(), n, -_ONE_DAY, _extra_set(extra_closed))
    return datetime.combine(target, local.timetz()).astimezone(UTC)


def sla_due_at(received_at: datetime, sla_working_days: int, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """The answer deadline: sla_working_days working days after the SLA clock starts."""
    extra = _extra_set(extra_closed)
    return add_working_days(request_clock_start(received_at, tz, extra), sla_working_days, tz, extra)


def working_seconds_between(start: datetime, end: datetime, tz: str, extra_closed: ExtraClosed = ()) -> int:
    """Seconds of office hours on working days inside [start, end); 0 when end <= start."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return 0
    zone, extra = _zone(tz), _extra_set(extra_closed)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    total = timedelta()
    while day <= last:
        if _is_working(day, extra):
            open_at, close_at = _window(day, zone)
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += hi - lo
        day += _ONE_DAY
    return int(total.total_seconds())


def add_working_seconds(moment: datetime, seconds: int, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """`moment` moved forward by `seconds` of office-hours time, skipping nights, weekends and holidays."""
    moment = _aware(moment, "moment")
    remaining = timedelta(seconds=_count(seconds, "seconds"))
    cursor = moment.astimezone(UTC)
    if not remaining:
        return cursor
    zone, extra = _zone(tz), _extra_set(extra_closed)
    day = cursor.astimezone(zone).date()
    while True:
        if _is_working(day, extra):
            open_at, close_at = _window(day, zone)
            cursor = max(cursor, open_at)
            if cursor < close_at:
                available = close_at - cursor
                # "<=" so time that exactly fills the day ends at 16:00, not at 08:00 next working day
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
        day += _ONE_DAY
        cursor = _local_at(day, WORKDAY_START, zone)


def sla_resume_due_at(
    due_at: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    tz: str,
    extra_closed: ExtraClosed = (),
) -> datetime:
    """The deadline after a clarification pause, pushed by the office-hours time lost (rule below)."""
    # Rule: while the consultation awaits the user's clarification the SLA clock is stopped.
    # Only time the office could have worked counts as lost: the seconds of office hours
    # (08:00-16:00 local on working days) between the pause and the resume. The deadline is
    # pushed forward by exactly that much office-hours time, so a pause over a night, a weekend
    # or a holiday block costs nothing and a pause of two office hours gives two office hours back.
    # A request already past its deadline when paused stays breached: asking for clarification
    # late must not turn a breach into an on-time answer.
    due_at = _aware(due_at, "due_at")
    paused_at, resumed_at = _aware(paused_at, "paused_at"), _aware(resumed_at, "resumed_at")
    if resumed_at < paused_at:
        raise ValueError("resumed_at is before paused_at")
    if paused_at >= due_at:
        return due_at.astimezone(UTC)
    extra = _extra_set(extra_closed)
    lost = working_seconds_between(paused_at, resumed_at, tz, extra)
    return add_working_seconds(due_at, lost, tz, extra)


def at_risk_at(due_at: datetime, margin_working_days: int, tz: str, extra_closed: ExtraClosed = ()) -> datetime:
    """The moment a request turns "at risk": margin_working_days working days before its deadline."""
    return subtract_working_days(due_at, margin_working_days, tz, extra_closed)


def sla_state(
    now: datetime,
    due_at: datetime,
    margin_working_days: int,
    tz: str,
    extra_closed: ExtraClosed = (),
) -> SlaState:
    """The SLA state at `now`: breached from due_at on, at_risk from at_risk_at on, else on_track."""
    now, due_at = _aware(now, "now"), _aware(due_at, "due_at")
    if now >= due_at:
        return "breached"
    # with a margin as long as the SLA itself (Boalemo: 1 and 1) a request is at risk from the start
    if now >= at_risk_at(due_at, margin_working_days, tz, extra_closed):
        return "at_risk"
    return "on_track"


# --- idle auto-close -------------------------------------------------------------------------


def _idle_rule(idle_close: Mapping[str, Any]) -> tuple[int, IdleUnit]:
    amount, unit = idle_close.get("amount"), idle_close.get("unit")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError(f"idle_close amount must be a positive int, got {amount!r}")
    if unit == "days":
        return amount, "days"
    if unit == "working_days":
        return amount, "working_days"
    raise ValueError(f"idle_close unit must be one of {IDLE_UNITS}, got {unit!r}")


def idle_close_at(
    last_staff_message_at: datetime,
    idle_close: Mapping[str, Any],
    tz: str,
    extra_closed: ExtraClosed = (),
) -> datetime:
    """When a room with no reply from the user since the last staff message closes by itself."""
    last = _aware(last_staff_message_at, "last_staff_message_at")
    amount, unit = _idle_rule(idle_close)
    if unit == "days":
        # calendar days are exact 24-hour periods, holidays included (the offices' "7 hari")
        return last.astimezone(UTC) + timedelta(days=amount)
    extra = _extra_set(extra_closed)
    # a message sent at night or on a holiday only starts the user's time next working morning
    return add_working_days(request_clock_start(last, tz, extra), amount, tz, extra)


def idle_warning_at(
    close_at: datetime,
    idle_close: Mapping[str, Any],
    tz: str,
    extra_closed: ExtraClosed = (),
    lead: int | None = None,
) -> datetime:
    """When to warn the user before the idle close: `lead` units of idle_close's unit (default 1) earlier."""
    close_at = _aware(close_at, "close_at")
    _amount, unit = _idle_rule(idle_close)
    lead_units = _count(1 if lead is None else lead, "lead")
    if unit == "days":
        return close_at.astimezone(UTC) - timedelta(days=lead_units)
    return subtract_working_days(close_at, lead_units, tz, extra_closed)


# --- policy validation -----------------------------------------------------------------------

_POLICY_FIELDS = frozenset(
    {
        "sla_working_days",
        "idle_close",
        "sla_at_risk_margin_working_days",
        "extra_closed_dates",
        "max_concurrent_rooms",
        "auto_assign",
        "walk_in_service_minutes",
        "idle_warning_lead",
        "complaint_working_days",
    }
)
MAX_EXTRA_CLOSED_DATES = 366
DEFAULT_AT_RISK_MARGIN_WORKING_DAYS = 1
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _int_in(policy: Mapping[str, Any], key: str, lo: int, hi: int, code: str, field: str | None = None) -> int:
    value = policy.get(key)
    # bool is an int subclass in Python, but `true` days is never what an admin meant
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        name = field or key
        raise ValidationFailed(code, f"{name} must be a whole number from {lo} to {hi}", field=name)
    return value


def validate_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The office policy checked and normalised (defaults filled, dates sorted), else ValidationFailed."""
    if not isinstance(policy, Mapping):
        raise ValidationFailed("invalid_policy", "policy must be an object", field="policy")
    unknown = sorted(str(k) for k in policy if k not in _POLICY_FIELDS)
    if unknown:
        # a typo such as "sla_workingdays" would otherwise be stored and silently ignored
        raise ValidationFailed(
            "unknown_policy_field", f"unknown policy field(s): {', '.join(unknown)}", field=unknown[0]
        )

    out: dict[str, Any] = {
        "sla_working_days": _int_in(policy, "sla_working_days", 1, 30, "invalid_sla_working_days"),
    }

    idle = policy.get("idle_close")
    if not isinstance(idle, Mapping) or set(idle) - {"amount", "unit"}:
        raise ValidationFailed(
            "invalid_idle_close",
            'idle_close must be {"amount": n, "unit": "days"|"working_days"}',
            field="idle_close",
        )
    amount = _int_in(idle, "amount", 1, 90, "invalid_idle_close", field="idle_close.amount")
    if idle.get("unit") not in IDLE_UNITS:
        raise ValidationFailed(
            "invalid_idle_close", "idle_close.unit must be days or working_days", field="idle_close.unit"
        )
    out["idle_close"] = {"amount": amount, "unit": idle["unit"]}

    out["sla_at_risk_margin_working_days"] = (
        _int_in(policy, "sla_at_risk_margin_working_days", 0, 10, "invalid_sla_at_risk_margin")
        if policy.get("sla_at_risk_margin_working_days") is not None
        else DEFAULT_AT_RISK_MARGIN_WORKING_DAYS
    )

    raw_dates = policy.get("extra_closed_dates")
    if raw_dates is None:
        raw_dates = []
    if not isinstance(raw_dates, list | tuple) or len(raw_dates) > MAX_EXTRA_CLOSED_DATES:
        raise ValidationFailed(
            "invalid_extra_closed_dates",
            f"extra_closed_dates must be a list of at most {MAX_EXTRA_CLOSED_DATES} dates (YYYY-MM-DD)",
            field="extra_closed_dates",
        )
    dates: set[date] = set()
    for raw in raw_dates:
        parsed: date | None = None
        # the regex first: date.fromisoformat also takes "20261231" and week dates
        if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
            try:
                parsed = date.fromisoformat(raw)
            except ValueError:
                parsed = None
        if parsed is None:
            raise ValidationFailed(
                "invalid_extra_closed_dates",
                f"{raw!r} is not a date in YYYY-MM-DD form",
                field="extra_closed_dates",
            )
        dates.add(parsed)
    out["extra_closed_dates"] = [d.isoformat() for d in sorted(dates)]

    if policy.get("max_concurrent_rooms") is not None:
        out["max_concurrent_rooms"] = _int_in(policy, "max_concurrent_rooms", 1, 100, "invalid_max_concurrent_rooms")
    if policy.get("auto_assign") is not None:
        if not isinstance(policy["auto_assign"], bool):
            raise ValidationFailed("invalid_auto_assign", "auto_assign must be true or false", field="auto_assign")
        out["auto_assign"] = policy["auto_assign"]
    if policy.get("walk_in_service_minutes") is not None:
        out["walk_in_service_minutes"] = _int_in(
            policy, "walk_in_service_minutes", 1, 240, "invalid_walk_in_service_minutes"
        )
    if policy.get("idle_warning_lead") is not None:
        # In the unit of idle_close (days or working days); it must leave time before the close.
        lead = _int_in(policy, "idle_warning_lead", 0, 30, "invalid_idle_warning_lead")
        if lead >= out["idle_close"]["amount"]:
            raise ValidationFailed(
                "invalid_idle_warning_lead",
                "idle_warning_lead must be shorter than idle_close / peringatan harus sebelum penutupan",
                field="idle_warning_lead",
            )
        out["idle_warning_lead"] = lead
    if policy.get("complaint_working_days") is not None:
        # The response deadline of complaints (server/domain/complaints.py; default 5 working days).
        out["complaint_working_days"] = _int_in(
            policy, "complaint_working_days", 1, 60, "invalid_complaint_working_days"
        )
    return out


# --- display ---------------------------------------------------------------------------------

_ZONE_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
# spelled out here rather than strftime("%A"), which depends on the process locale
_DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTH_NAMES = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def _zone_label(local: datetime, tz: str) -> str:
    if tz in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[tz]
    offset = local.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def local_date_str(moment: datetime, tz: str, lang: str = "id") -> str:
    """`moment` on the office's wall clock for people: "Kamis, 26 November 2026 10.00 WIB"."""
    moment = _aware(moment, "moment")
    if lang not in _DAY_NAMES:
        raise ValueError(f"lang must be one of {tuple(_DAY_NAMES)}, got {lang!r}")
    local = moment.astimezone(_zone(tz))
    day_name = _DAY_NAMES[lang][local.weekday()]
    month_name = _MONTH_NAMES[lang][local.month - 1]
    # Indonesian writes clock times with a dot (10.00), English with a colon (10:00)
    sep = "." if lang == "id" else ":"
    return (
        f"{day_name}, {local.day} {month_name} {local.year} "
        f"{local.hour:02d}{sep}{local.minute:02d} {_zone_label(local, tz)}"
    )
