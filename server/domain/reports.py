"""Reports for supervisors and admins: an office's (or every office's) figures over a period of local dates.

Every figure is computed by the database: aggregation pipelines over the indexed (office, created_at)
range of the consultations, the complaints, the walk-in tickets of those days and the knowledge-base
searches that found nothing; no document is loaded into Python. The working-minute durations were
counted when they happened (server.domain.durations); their median and 90th percentile come from the
database's histogram of those minutes ({minutes: how many}, a few thousand rows at most), interpolated
between order statistics as `statistics.median` and numpy do. So the figures are exact and the same on
SecantusDB and on any MongoDB ($percentile is 7.0+ only and approximate there).

The period is two of the office's local dates, both included; `office=all` (national admins) takes
each office's own local days. Figures reflect every write at once: nothing is cached.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain import audit, durations, surveys
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.models import CHANNELS, CLOSE_CATEGORIES, STATUSES, TOPICS
from server.services import Services

Doc = dict[str, Any]

ALL = "all"
MAX_SPAN_YEARS = 3
REPORT_ROLES = ("supervisor", "admin")
# Where a national figure needs one calendar (today's date, the default period).
NATIONAL_TZ = "Asia/Jakarta"
SCORES = (1, 2, 3, 4, 5)
COMPLAINT_OPEN = ("received", "in_progress")
EXPORT_MAX_ROWS = 200_000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFICE_CODE = re.compile(r"^[0-9]{4}$")
# Walk-in consultations are served at the desk, under the walk-in promise: the online answer times and
# the SLA leave them out (they have neither an SLA clock nor a first reply in a room).
_NOT_WALK_IN: Doc = {"$ne": "walk_in"}


# --- who may see which office, over which days ------------------------------------------------


def is_national(user: Doc) -> bool:
    """A national admin: an admin of no office in particular."""
    return user.get("role") == "admin" and not user.get("office")


def require_reporter(user: Doc) -> None:
    """Supervisors and admins read reports; officers and users do not."""
    if user.get("role") not in REPORT_ROLES:
        raise Forbidden(
            "forbidden", "reports are for supervisors and admins / laporan hanya untuk supervisor dan admin"
        )


@dataclass(frozen=True)
class Period:
    """An office (or every office) and a span of its local dates, both included."""

    office: str
    offices: tuple[Doc, ...]
    first: date
    last: date

    @property
    def codes(self) -> list[str]:
        return [o["code"] for o in self.offices]

    def zones(self) -> dict[str, list[str]]:
        """Time zone -> the codes of the offices in it."""
        out: dict[str, list[str]] = {}
        for o in self.offices:
            out.setdefault(o["time_zone"], []).append(o["code"])
        return out

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's local midnight to the midnight after the last day."""
        zone = ZoneInfo(tz)
        lo = datetime.combine(self.first, time(0), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return lo, hi

    def zone_match(self, tz: str, codes: list[str], field: str) -> Doc:
        """The filter of the offices `codes` (all in zone `tz`) whose `field` falls on the period's local days."""
        lo, hi = self.bounds(tz)
        office: Any = codes[0] if len(codes) == 1 else {"$in": codes}
        return {"office": office, field: {"$gte": lo, "$lt": hi}}

    def match(self, field: str) -> Doc:
        """The filter of documents of these offices whose `field` falls on one of these local days.

        One (office, time) range per time zone, so each branch is answered from an (office, field) index.
        """
        branches = [self.zone_match(tz, codes, field) for tz, codes in self.zones().items()]
        if not branches:
            return {"_id": {"$exists": False}}
        return branches[0] if len(branches) == 1 else {"$or": branches}


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def parse_day(value: Any, field: str) -> date:
    """A local date written YYYY-MM-DD; anything else is 422."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValidationFailed("invalid_date", f"{field} must be a date YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("invalid_date", f"{field} is not a date", field=field) from None


def parse_span(first: Any, last: Any, today: date) -> tuple[date, date]:
    """The period's dates: both given, or this month up to today by default; in order, at most 3 years."""
    end = parse_day(last, "to") if last not in (None, "") else today
    start = parse_day(first, "from") if first not in (None, "") else end.replace(day=1)
    if end < start:
        raise ValidationFailed("invalid_range", "to is before from / tanggal akhir sebelum tanggal awal", field="to")
    if end >= _add_years(start, MAX_SPAN_YEARS):
        raise ValidationFailed(
            "range_too_long", f"a report covers at most {MAX_SPAN_YEARS} years / paling lama 3 tahun", field="to"
        )
    return start, end


async def period(svc: Services, user: Doc, office: str | None, first: Any, last: Any) -> Period:
    """Check who asks for which office (403 before anything else), then the dates (422)."""
    require_reporter(user)
    code = office or user.get("office") or ALL
    if code == ALL:
        if not is_national(user):
            raise Forbidden("forbidden", "only national admins see every office / hanya admin pusat")
        offices = tuple([o async for o in svc.db.offices.find({}).sort("code", 1)])
        tz = NATIONAL_TZ
    else:
        if not isinstance(code, str) or not _OFFICE_CODE.match(code):
            raise ValidationFailed("invalid_office", "office is a 4-digit code or 'all'", field="office")
        if not is_national(user) and user.get("office") != code:
            raise Forbidden("forbidden", "not your office / bukan kantor Anda")
        found = await svc.db.offices.find_one({"code": code})
        if found is None:
            raise NotFound("office_not_found", f"no office with code {code!r} / kantor tidak ditemukan")
        offices = (found,)
        tz = found["time_zone"]
    start, end = parse_span(first, last, svc.now().astimezone(ZoneInfo(tz)).date())
    return Period(code, offices, start, end)


# --- small pure helpers ------------------------------------------------------------------------


def percentile(hist: Iterable[tuple[float, int]], p: float) -> float | None:
    """The p-quantile (0..1) of a histogram {value: count}, interpolated between the order statistics
    around rank (n-1)·p (statistics.median for p = 0.5); None when it is empty."""
    items = sorted((float(v), int(n)) for v, n in hist if n > 0)
    total = sum(n for _, n in items)
    if not total:
        return None
    rank = (total - 1) * p
    lo_i, hi_i = math.floor(rank), math.ceil(rank)
    lo_v = hi_v = None
    seen = 0
    for value, n in items:
        if lo_v is None and lo_i < seen + n:
            lo_v = value
        if hi_i < seen + n:
            hi_v = value
            break
        seen += n
    assert lo_v is not None and hi_v is not None
    return round(lo_v + (hi_v - lo_v) * (rank - lo_i), 1)


def fraction(part: int, whole: int) -> float | None:
    """part / whole on 0..1 (4 decimals); None when nothing was measured."""
    return round(part / whole, 4) if whole else None


def sla_outcome_expr(now: datetime) -> Doc:
    """The SLA outcome of one consultation as a pipeline expression: met, breached, pending or null.

    Met: the clock stopped (the first answer, or the close) by the deadline. Breached: it stopped
    after it, or it runs and the deadline passed (while open and not paused for clarification).
    Pending: its clock still runs. Null: no SLA (walk-in). `sla_outcome` is the same rule in Python.
    The clock's stop is `sla.met_at`; consultations stored before it was kept apart from the first
    reply (a greeting no longer stops it) stopped at their first reply when their state is met.
    """
    due = "$sla.due_at"
    stop = {"$ifNull": ["$sla.met_at", {"$cond": [{"$eq": ["$sla.state", "met"]}, "$first_response_at", None]}]}
    return {
        "$switch": {
            "branches": [
                {"case": {"$not": [{"$gt": [due, None]}]}, "then": None},
                {
                    "case": {"$gt": [stop, None]},
                    "then": {"$cond": [{"$lte": [stop, due]}, "met", "breached"]},
                },
                {"case": {"$eq": ["$sla.paused", True]}, "then": "pending"},
                {"case": {"$lte": [due, {"$ifNull": ["$closed_at", now]}]}, "then": "breached"},
            ],
            "default": "pending",
        }
    }


def sla_outcome(c: Doc, now: datetime) -> str | None:
    """sla_outcome_expr for one consultation in Python (the export's rows)."""
    sla_doc = c.get("sla") or {}
    due = sla_doc.get("due_at")
    if due is None:
        return None
    stop = sla_doc.get("met_at") or (c.get("first_response_at") if sla_doc.get("state") == "met" else None)
    if stop is not None:
        return "met" if stop <= due else "breached"
    if (c.get("sla") or {}).get("paused"):
        return "pending"
    return "breached" if due <= (c.get("closed_at") or now) else "pending"


async def _aggregate(coll: Any, pipeline: list[Doc]) -> list[Doc]:
    cursor = await coll.aggregate(pipeline, allowDiskUse=True)
    return [d async for d in cursor]


def _hist(rows: list[Doc]) -> list[tuple[float, int]]:
    return [(r["_id"], r["n"]) for r in rows if isinstance(r.get("_id"), (int, float))]


def _minutes(hist: list[tuple[float, int]]) -> Doc:
    return {
        "median": percentile(hist, 0.5),
        "p90": percentile(hist, 0.9),
        "count": sum(n for _, n in hist),
    }


# --- the figures -------------------------------------------------------------------------------


async def _consultation_figures(svc: Services, p: Period, now: datetime) -> Doc:
    """Volume, SLA, idle closes, ratings and the two durations: one pass of the database over the range."""
    facet: Doc = {
        # One group per combination of the few values counted; Python adds them up.
        "groups": [
            {
                "$group": {
                    "_id": {
                        "c": "$channel",
                        "t": "$topic",
                        "s": "$status",
                        "r": "$close_reason",
                        "k": "$close_category",
                        "sc": "$rating.score",
                        "sla": sla_outcome_expr(now),
                    },
                    "n": {"$sum": 1},
                }
            }
        ],
        "first_response": [
            {"$match": {"channel": _NOT_WALK_IN, durations.FIRST_RESPONSE_FIELD: {"$gte": 0}}},
            {"$group": {"_id": f"${durations.FIRST_RESPONSE_FIELD}", "n": {"$sum": 1}}},
        ],
        "resolution": [
            {"$match": {"channel": _NOT_WALK_IN, "status": "closed", durations.RESOLUTION_FIELD: {"$gte": 0}}},
            {"$group": {"_id": f"${durations.RESOLUTION_FIELD}", "n": {"$sum": 1}}},
        ],
    }
    rows = await _aggregate(svc.db.consultations, [{"$match": p.match("created_at")}, {"$facet": facet}])
    out = rows[0] if rows else {"groups": [], "first_response": [], "resolution": []}
    by_channel = dict.fromkeys(CHANNELS, 0)
    by_topic = dict.fromkeys(TOPICS, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    # How the closed ones ended, as the officers filed them at close.
    by_category = dict.fromkeys(CLOSE_CATEGORIES, 0)
    sla = {"met": 0, "breached": 0, "pending": 0}
    scores = dict.fromkeys(SCORES, 0)
    total = closed = idle = 0
    for g in out["groups"]:
        key, n = g["_id"], int(g["n"])
        total += n
        for table, value in ((by_channel, key.get("c")), (by_topic, key.get("t")), (by_status, key.get("s"))):
            if value is not None:
                table[value] = table.get(value, 0) + n
        if key.get("s") == "closed":
            closed += n
            if key.get("r") == "idle":
                idle += n
            if key.get("k") in by_category:
                by_category[key["k"]] += n
        if key.get("c") != "walk_in" and key.get("sla") in sla:
            sla[key["sla"]] += n
        score = key.get("sc")
        if isinstance(score, (int, float)) and int(score) in scores:
            scores[int(score)] += n
    rated = sum(scores.values())
    return {
        "consultations": {
            "total": total,
            "by_channel": by_channel,
            "by_topic": by_topic,
            "by_status": by_status,
            "by_close_category": by_category,
        },
        "first_response_minutes": _minutes(_hist(out["first_response"])),
        "resolution_minutes": _minutes(_hist(out["resolution"])),
        "sla": {
            "met": sla["met"],
            "breached": sla["breached"],
            "pending": sla["pending"],
            "compliance": fraction(sla["met"], sla["met"] + sla["breached"]),
        },
        "idle_closed": {"count": idle, "closed": closed, "share": fraction(idle, closed)},
        "ratings": {
            "count": rated,
            "average": round(sum(s * n for s, n in scores.items()) / rated, 2) if rated else None,
            "by_score": {str(s): n for s, n in scores.items()},
        },
    }


async def _complaints(svc: Services, p: Period, now: datetime) -> Doc:
    """Complaints received in the period: how many, how many still open, how many of those past due."""
    pipeline: list[Doc] = [
        {"$match": p.match("created_at")},
        # A missing due date is null, which sorts before every date: only a real one can be past.
        {
            "$group": {
                "_id": {"s": "$status", "late": {"$and": [{"$gt": ["$due_at", None]}, {"$lt": ["$due_at", now]}]}},
                "n": {"$sum": 1},
            }
        },
    ]
    total = open_n = overdue = 0
    for g in await _aggregate(svc.db.complaints, pipeline):
        n = int(g["n"])
        total += n
        if g["_id"].get("s") in COMPLAINT_OPEN:
            open_n += n
            if g["_id"].get("late"):
                overdue += n
    return {"total": total, "open": open_n, "overdue": overdue}


async def _walk_in(svc: Services, p: Period) -> Doc:
    """The walk-in desk's tickets of the period's days: taken, served, and the 10-minute promise."""
    codes = p.codes
    # Local dates as YYYY-MM-DD sort as strings: one range on the (office, day) index prefix, ~9x faster
    # on SecantusDB than a $in of every day key. Upper bound exclusive: SecantusDB 0.7.0b3 drops the
    # equal keys of a $lte on a compound index's inner field (tests/domain/test_reports.py has the 30th).
    day_range = {"$gte": p.first.isoformat(), "$lt": (p.last + timedelta(days=1)).isoformat()}
    match: Doc = {"office": codes[0] if len(codes) == 1 else {"$in": codes}, "day": day_range}
    pipeline: list[Doc] = [
        {"$match": match},
        {"$group": {"_id": {"s": "$status", "k": "$promise.kept"}, "n": {"$sum": 1}}},
    ]
    tickets = served = kept = broken = no_show = 0
    for g in await _aggregate(svc.db.queue_tickets, pipeline):
        n = int(g["n"])
        tickets += n
        status, promise = g["_id"].get("s"), g["_id"].get("k")
        if status == "done":
            served += n
        elif status == "no_show":
            no_show += n
        if promise is True:
            kept += n
        elif promise is False:
            broken += n
    return {
        "tickets": tickets,
        "served": served,
        "no_show": no_show,
        "promise_kept": kept,
        "promise_broken": broken,
        "promise_compliance": fraction(kept, kept + broken),
    }


async def _kb(svc: Services, p: Period) -> Doc:
    """Knowledge-base searches of the period that found nothing (each office's own)."""
    lo = min(p.bounds(tz)[0] for tz in p.zones()) if p.offices else None
    hi = max(p.bounds(tz)[1] for tz in p.zones()) if p.offices else None
    if lo is None or hi is None:
        return {"searches_without_result": 0}
    codes = p.codes
    match: Doc = {
        "office": codes[0] if len(codes) == 1 else {"$in": codes},
        "found": False,
        "at": {"$gte": lo, "$lt": hi},
    }
    return {"searches_without_result": await svc.db.kb_queries.count_documents(match)}


async def _ikm(svc: Services, p: Period) -> Doc:
    """The SKM survey's IKM for the period (server.domain.surveys computes it from the database's sums)."""
    out = await surveys.ikm(svc, list(p.offices), p.first, p.last)
    return {"responses": out.get("responses", 0), "ikm": out.get("ikm"), "grade": out.get("grade")}


async def summary(svc: Services, user: Doc, *, office: str | None, first: Any, last: Any) -> Doc:
    """GET /reports/summary: every figure of CONTRACT.md "Reports" for an office (or all) and a period."""
    p = await period(svc, user, office, first, last)
    return await summary_of(svc, p)


async def summary_of(svc: Services, p: Period) -> Doc:
    """The summary of an authorised period (the benchmark calls this directly)."""
    now = svc.now()
    cons, complaints, walk_in, kb, ikm = await asyncio.gather(
        _consultation_figures(svc, p, now),
        _complaints(svc, p, now),
        _walk_in(svc, p),
        _kb(svc, p),
        _ikm(svc, p),
    )
    return {
        "office": p.office,
        "offices": p.codes,
        "from": p.first.isoformat(),
        "to": p.last.isoformat(),
        "generated_at": now.astimezone(UTC).isoformat(),
        **cons,
        "ikm": ikm,
        "complaints": complaints,
        "walk_in": walk_in,
        "kb": kb,
    }


# --- trends for the dashboard --------------------------------------------------------------------


async def trends(svc: Services, user: Doc, *, office: str | None, first: Any, last: Any) -> Doc:
    """Weekly series (volume, SLA, average working minutes) and the busiest hours, for the dashboard's charts."""
    p = await period(svc, user, office, first, last)
    now = svc.now()

    def week(tz: str) -> Doc:
        return {"$dateTrunc": {"date": "$created_at", "unit": "week", "timezone": tz, "startOfWeek": "monday"}}

    def weekday(tz: str) -> Doc:
        return {"$isoDayOfWeek": {"date": "$created_at", "timezone": tz}}

    def hour(tz: str) -> Doc:
        return {"$hour": {"date": "$created_at", "timezone": tz}}

    online = {"$ne": ["$channel", "walk_in"]}
    resolved = {"$and": [online, {"$eq": ["$status", "closed"]}]}

    def facet(tz: str) -> Doc:
        return {
            "weeks": [
                {
                    "$group": {
                        "_id": {"w": week(tz), "sla": sla_outcome_expr(now)},
                        "n": {"$sum": 1},
                        "fr": {"$avg": {"$cond": [online, f"${durations.FIRST_RESPONSE_FIELD}", None]}},
                        "frn": {
                            "$sum": {
                                "$cond": [
                                    {"$and": [online, {"$gt": [f"${durations.FIRST_RESPONSE_FIELD}", None]}]},
                                    1,
                                    0,
                                ]
                            }
                        },
                        "rs": {"$avg": {"$cond": [resolved, f"${durations.RESOLUTION_FIELD}", None]}},
                        "rsn": {
                            "$sum": {
                                "$cond": [{"$and": [resolved, {"$gt": [f"${durations.RESOLUTION_FIELD}", None]}]}, 1, 0]
                            }
                        },
                        "walk_in": {"$sum": {"$cond": [online, 0, 1]}},
                    }
                }
            ],
            "hours": [{"$group": {"_id": {"d": weekday(tz), "h": hour(tz)}, "n": {"$sum": 1}}}],
        }

    # One pass per time zone over its own offices: the date expressions need a constant zone, and a $switch
    # on the office for every document cost SecantusDB 5x the pass itself (bench/reports.py).
    week_rows: list[tuple[date, Doc]] = []
    hour_rows: list[Doc] = []
    for tz, codes in p.zones().items():
        rows = await _aggregate(
            svc.db.consultations, [{"$match": p.zone_match(tz, codes, "created_at")}, {"$facet": facet(tz)}]
        )
        out = rows[0] if rows else {"weeks": [], "hours": []}
        for g in out["weeks"]:
            start = g["_id"].get("w")
            if isinstance(start, datetime):
                local_day = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(ZoneInfo(tz)).date()
                week_rows.append((local_day - timedelta(days=local_day.weekday()), g))
        hour_rows += out["hours"]
    weeks: dict[str, Doc] = {}
    monday = p.first - timedelta(days=p.first.weekday())
    while monday <= p.last:
        weeks[monday.isoformat()] = {
            "week": monday.isoformat(),
            "consultations": 0,
            "walk_in": 0,
            "sla_met": 0,
            "sla_breached": 0,
            "_fr": [0.0, 0],
            "_rs": [0.0, 0],
        }
        monday += timedelta(days=7)
    for key, g in week_rows:
        w = weeks.get(key.isoformat())
        if w is None:
            continue
        n = int(g["n"])
        w["consultations"] += n
        w["walk_in"] += int(g.get("walk_in") or 0)
        outcome = g["_id"].get("sla")  # null for walk-ins, which have no SLA
        if outcome == "met":
            w["sla_met"] += n
        elif outcome == "breached":
            w["sla_breached"] += n
        for name, avg, count in (("_fr", g.get("fr"), g.get("frn")), ("_rs", g.get("rs"), g.get("rsn"))):
            if avg is not None and count:
                w[name][0] += float(avg) * int(count)
                w[name][1] += int(count)
    series = []
    for w in weeks.values():
        fr, rs = w.pop("_fr"), w.pop("_rs")
        w["sla_compliance"] = fraction(w["sla_met"], w["sla_met"] + w["sla_breached"])
        w["first_response_avg_minutes"] = round(fr[0] / fr[1], 1) if fr[1] else None
        w["resolution_avg_minutes"] = round(rs[0] / rs[1], 1) if rs[1] else None
        series.append(w)
    grid = [[0] * 24 for _ in range(7)]
    for g in hour_rows:
        d, h = g["_id"].get("d"), g["_id"].get("h")
        if isinstance(d, int) and isinstance(h, int) and 1 <= d <= 7 and 0 <= h <= 23:
            grid[d - 1][h] += int(g["n"])
    return {
        "office": p.office,
        "from": p.first.isoformat(),
        "to": p.last.isoformat(),
        "weeks": series,
        "hours": {"by_weekday_hour": grid, "by_hour": [sum(grid[d][h] for d in range(7)) for h in range(24)]},
    }


# --- the consultation list (exports) ---------------------------------------------------------------

LIST_COLUMNS = (
    "number",
    "office",
    "channel",
    "topic",
    "status",
    "close_reason",
    "close_category",
    "created_at",
    "first_response_at",
    "closed_at",
    "first_response_working_minutes",
    "resolution_working_minutes",
    "sla_due_at",
    "sla",
    "officer",
    "user_name",
    "user_email",
    "subject",
    "rating",
)
_LIST_FIELDS = {
    "number": 1,
    "office": 1,
    "channel": 1,
    "topic": 1,
    "status": 1,
    "close_reason": 1,
    "close_category": 1,
    "created_at": 1,
    "first_response_at": 1,
    "closed_at": 1,
    "first_response_wmin": 1,
    "resolution_wmin": 1,
    "sla": 1,
    "assigned_name": 1,
    "user_name": 1,
    "user_email": 1,
    "subject": 1,
    "rating": 1,
    "time_zone": 1,
}


def _local(value: Any, tz: str) -> str | None:
    if not isinstance(value, datetime):
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def list_row(c: Doc, now: datetime) -> list[Any]:
    """One consultation as a row of LIST_COLUMNS, times in its office's zone."""
    tz = c.get("time_zone") or NATIONAL_TZ
    sla_doc = c.get("sla") or {}
    rating = (c.get("rating") or {}).get("score")
    return [
        c.get("number"),
        c.get("office"),
        c.get("channel"),
        c.get("topic"),
        c.get("status"),
        c.get("close_reason"),
        c.get("close_category"),
        _local(c.get("created_at"), tz),
        _local(c.get("first_response_at"), tz),
        _local(c.get("closed_at"), tz),
        c.get(durations.FIRST_RESPONSE_FIELD),
        c.get(durations.RESOLUTION_FIELD) if c.get("status") == "closed" else None,
        _local(sla_doc.get("due_at"), tz),
        sla_outcome(c, now),
        c.get("assigned_name"),
        c.get("user_name"),
        c.get("user_email"),
        c.get("subject"),
        rating,
    ]


async def consultation_list(
    svc: Services, user: Doc, *, office: str | None, first: Any, last: Any
) -> tuple[Period, AsyncIterator[list[Any]]]:
    """The period's consultations as rows (oldest first, at most EXPORT_MAX_ROWS), read in batches."""
    p = await period(svc, user, office, first, last)
    now = svc.now()
    await audit.record(
        svc,
        user,
        "export",
        office=None if p.office == "all" else p.office,
        details={"what": "consultations", "office": p.office, "from": p.first.isoformat(), "to": p.last.isoformat()},
    )

    async def rows() -> AsyncIterator[list[Any]]:
        cursor = (
            svc.db.consultations.find(p.match("created_at"), _LIST_FIELDS)
            .sort([("created_at", 1), ("_id", 1)])
            .limit(EXPORT_MAX_ROWS)
            .batch_size(1000)
        )
        async for c in cursor:
            yield list_row(c, now)

    return p, rows()
