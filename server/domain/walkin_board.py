"""The walk-in desk's read side: the public board, the phone page, the officer's desk view, the day's figures.

Pure where it can be (`board_of`, `estimate_minutes`, `summarize` take tickets and return JSON-ready
dicts); the actions in `walkin.py` call `emit_board` after every stored change.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from server.domain import events as ev
from server.domain import guestbook as gb
from server.domain.errors import NotFound, ValidationFailed
from server.domain.models import iso, object_id, public_consultation, sid
from server.domain.offices import get_office
from server.services import Services

Doc = dict[str, Any]

DEFAULT_SERVICE_MINUTES = 10
SUMMARY_MAX_DAYS = 3 * 366
# The estimated wait averages the service time of the office's latest finished tickets of the day.
SERVICE_SAMPLE = 10
# Desks that called someone this recently count as open for the estimate.
OPEN_DESK_WINDOW = timedelta(minutes=60)
BOARD_NAMESPACE = "/board"


def board_room(office: str) -> str:
    """Everyone watching an office's queue board (namespace /board)."""
    return f"board:{office}"


def walk_in_rules(office: Doc) -> Doc:
    """The office's walk-in standard with defaults for what it does not say."""
    w = dict(office.get("walk_in") or {})
    order = [str(x) for x in (w.get("order") or ["guestbook", "queue_ticket", "service", "rating"])]
    minutes = w.get("service_minutes") or (office.get("policy") or {}).get("walk_in_service_minutes")
    return {
        "order": order,
        "id_card_required": bool(w.get("id_card_required")),
        "service_minutes": int(minutes or DEFAULT_SERVICE_MINUTES),
        "place": w.get("place"),
        "requirements": list(w.get("requirements") or []),
    }


def local_day(moment: datetime, tz: str) -> str:
    """The office's calendar date of a moment, as YYYY-MM-DD."""
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- public shapes ----------------------------------------------------------------------------


def public_ticket(t: Doc) -> Doc:
    """A ticket as the board, the kiosk and the phone page see it: never the visitor's name."""
    promise = t.get("promise") or {}
    return {
        "id": str(t["_id"]),
        "office": t["office"],
        "day": t["day"],
        "number": t["number"],
        "status": t["status"],
        "priority": t.get("priority"),
        "desk": t.get("desk"),
        "created_at": iso(t.get("created_at")),
        "called_at": iso(t.get("called_at")),
        "last_call_at": iso(t.get("last_call_at")),
        "recalls": int(t.get("recalls", 0)),
        "served_at": iso(t.get("served_at")),
        "done_at": iso(t.get("done_at")),
        "promise_kept": promise.get("kept"),
        "consultation_id": sid(t.get("consultation_id")),
        "has_guestbook": t.get("guestbook_id") is not None,
    }


def staff_ticket(t: Doc, entry: Doc | None) -> Doc:
    out = public_ticket(t)
    out["guest"] = gb.public_entry(entry) if entry else None
    out["officer"] = {"id": sid(t.get("officer_id")), "name": t.get("officer_name")} if t.get("officer_id") else None
    out["promise"] = _jsonable_promise(t.get("promise"))
    out["visit_code"] = t.get("visit_code")
    return out


def _jsonable_promise(p: Doc | None) -> Doc | None:
    if not p:
        return None
    return {
        "ref_at": iso(p.get("ref_at")),
        "ref": p.get("ref"),
        "due_at": iso(p.get("due_at")),
        "wait_seconds": p.get("wait_seconds"),
        "kept": p.get("kept"),
    }


async def load_ticket(svc: Services, ticket_id: Any) -> Doc:
    t = await svc.db.queue_tickets.find_one(
        {"_id": object_id(ticket_id, code="ticket_not_found", message="ticket not found / tiket tidak ditemukan")}
    )
    if t is None:
        raise NotFound("ticket_not_found", "ticket not found / tiket tidak ditemukan")
    return t


def may_see_ticket(t: Doc, token: str | None, viewer: Doc | None) -> bool:
    if viewer is not None and gb.staff_of(viewer, t["office"]):
        return True
    return bool(token) and secrets.compare_digest(token_hash(str(token)), str(t.get("token_hash", "")))


async def ticket_for(svc: Services, ticket_id: Any, *, token: str | None, viewer: Doc | None = None) -> Doc:
    """The phone page's view of a ticket: its status, position and estimated wait (token in the URL)."""
    t = await load_ticket(svc, ticket_id)
    if not may_see_ticket(t, token, viewer):
        raise NotFound("ticket_not_found", "ticket not found / tiket tidak ditemukan")
    office = await get_office(svc, t["office"])
    out = public_ticket(t)
    position = None
    estimate = None
    if t["status"] == "waiting":
        ahead = await svc.db.queue_tickets.count_documents(
            {
                "office": t["office"],
                "day": t["day"],
                "status": "waiting",
                "$or": [{"prio": {"$lt": t["prio"]}}, {"prio": t["prio"], "seq": {"$lt": t["seq"]}}],
            }
        )
        position = ahead + 1
        tickets = await day_tickets(svc, t["office"], t["day"])
        estimate = estimate_minutes(tickets, position, walk_in_rules(office)["service_minutes"], svc.now())
    out["position"] = position
    out["estimated_wait_minutes"] = estimate
    out["office_name"] = office.get("name")
    out["time_zone"] = office.get("time_zone")
    return out


# --- the board --------------------------------------------------------------------------------


async def day_tickets(svc: Services, office: str, day: str) -> list[Doc]:
    return [t async for t in svc.db.queue_tickets.find({"office": office, "day": day}).sort("seq", 1)]


def call_order(t: Doc) -> tuple[int, int]:
    return int(t.get("prio", 1)), int(t["seq"])


def estimate_minutes(tickets: list[Doc], position: int, service_minutes: int, now: datetime) -> int:
    """Minutes until the visitor at `position` (1 = next) is likely called: rounds of the open desks."""
    finished = sorted(
        (t for t in tickets if t["status"] == "done" and t.get("called_at") and t.get("done_at")),
        key=lambda t: t["done_at"],
    )[-SERVICE_SAMPLE:]
    if finished:
        per_visit = sum((t["done_at"] - t["called_at"]).total_seconds() for t in finished) / len(finished) / 60
    else:
        per_visit = float(service_minutes)
    recent = {
        t.get("desk")
        for t in tickets
        if t.get("called_at") and now - t["called_at"] <= OPEN_DESK_WINDOW and t.get("desk")
    }
    desks = max(1, len(recent))
    return int(math.ceil(math.ceil(position / desks) * max(1.0, per_visit)))


def board_of(office: Doc, tickets: list[Doc], now: datetime) -> Doc:
    """The public board of one office's day (pure): `GET /offices/{code}/queue` and `queue:board`."""
    waiting = sorted((t for t in tickets if t["status"] == "waiting"), key=call_order)
    called = sorted(
        (t for t in tickets if t["status"] == "called"), key=lambda t: t.get("last_call_at") or now, reverse=True
    )
    serving = [t for t in tickets if t["status"] == "serving"]
    rules = walk_in_rules(office)
    return {
        "office": office["code"],
        "office_name": office.get("name"),
        "day": local_day(now, office["time_zone"]),
        "time_zone": office["time_zone"],
        "waiting": [public_ticket(t) for t in waiting],
        "called": [public_ticket(t) for t in called],
        "serving": [public_ticket(t) for t in serving],
        "done_today": sum(1 for t in tickets if t["status"] == "done"),
        "estimated_wait_minutes": estimate_minutes(tickets, len(waiting) + 1, rules["service_minutes"], now),
        "service_minutes": rules["service_minutes"],
    }


async def board(svc: Services, office_code: str) -> Doc:
    office = await get_office(svc, office_code)
    now = svc.now()
    tickets = await day_tickets(svc, office["code"], local_day(now, office["time_zone"]))
    return board_of(office, tickets, now)


async def emit_board(svc: Services, office_code: str) -> None:
    """queue:board to the office's board watchers, after a stored change."""
    data = await board(svc, office_code)
    await ev.emit_queue_board(svc.events, data, board_room(office_code), BOARD_NAMESPACE)


async def desk_view(svc: Services, staff: Doc, office_code: str) -> Doc:
    """The officer's desk: the board plus the guests (ID masked), the last finish and the timer's start."""
    gb.require_staff_of(staff, office_code)
    office = await get_office(svc, office_code)
    now = svc.now()
    tickets = await day_tickets(svc, office["code"], local_day(now, office["time_zone"]))
    ids = [t["guestbook_id"] for t in tickets if t.get("guestbook_id") is not None]
    entries = {e["_id"]: e async for e in svc.db.guestbook.find({"_id": {"$in": ids}})} if ids else {}
    out = board_of(office, tickets, now)
    by_id = {str(t["_id"]): t for t in tickets}
    for key in ("waiting", "called", "serving"):
        out[key] = [staff_ticket(by_id[p["id"]], entries.get(by_id[p["id"]].get("guestbook_id"))) for p in out[key]]
    last_finish = max((t["finished_at"] for t in tickets if t.get("finished_at")), default=None)
    out["last_finish_at"] = iso(last_finish)
    head = sorted((t for t in tickets if t["status"] == "waiting"), key=call_order)
    out["next_ref_at"] = iso(promise_ref(head[0], last_finish)[0]) if head else None
    out["mine"] = [
        staff_ticket(t, entries.get(t.get("guestbook_id")))
        for t in tickets
        if t.get("officer_id") == staff["_id"] and t["status"] in ("called", "serving")
    ]
    out["recent"] = [
        staff_ticket(t, entries.get(t.get("guestbook_id")))
        for t in sorted((t for t in tickets if t.get("finished_at")), key=lambda t: t["finished_at"], reverse=True)[:10]
    ]
    out["rules"] = walk_in_rules(office)
    # The server's clock (the test clock under test): the desk's timer counts from it, not the PC's.
    out["now"] = iso(now)
    return out


def promise_ref(t: Doc, last_finish: datetime | None) -> tuple[datetime, str]:
    """The promise's reference time of a ticket: its taking, or the office's last finish if later."""
    if last_finish is not None and last_finish > t["created_at"]:
        return last_finish, "previous_finished"
    return t["created_at"], "taken"


# --- figures ----------------------------------------------------------------------------------


def summarize(tickets: list[Doc]) -> Doc:
    """Figures of a set of tickets (pure): counts, waits from taking to the call, the promise."""
    called = [t for t in tickets if t.get("called_at")]
    waits = [int(t.get("waited_seconds") or (t["called_at"] - t["created_at"]).total_seconds()) / 60 for t in called]
    promise_waits = [int((t.get("promise") or {}).get("wait_seconds") or 0) / 60 for t in called if t.get("promise")]
    kept = sum(1 for t in called if (t.get("promise") or {}).get("kept") is True)
    broken = sum(1 for t in called if (t.get("promise") or {}).get("kept") is False)
    services_min = [
        (t["done_at"] - t["called_at"]).total_seconds() / 60 for t in tickets if t.get("done_at") and t.get("called_at")
    ]

    def stats(xs: list[float]) -> Doc:
        if not xs:
            return {"count": 0, "mean": None, "median": None, "max": None}
        return {
            "count": len(xs),
            "mean": round(sum(xs) / len(xs), 1),
            "median": round(median(xs), 1),
            "max": round(max(xs), 1),
        }

    return {
        "tickets": len(tickets),
        "served": sum(1 for t in tickets if t["status"] == "done"),
        "no_show": sum(1 for t in tickets if t["status"] == "no_show"),
        "not_called": sum(1 for t in tickets if t["status"] == "waiting"),
        "priority": sum(1 for t in tickets if t.get("priority")),
        "wait_minutes": stats(waits),
        "promise_wait_minutes": stats(promise_waits),
        "service_minutes": stats(services_min),
        "promise_kept": kept,
        "promise_broken": broken,
        "promise_compliance": round(kept / (kept + broken), 4) if kept + broken else None,
    }


async def summary(svc: Services, staff: Doc | None, office_code: str, first: str, last: str | None = None) -> Doc:
    """The walk-in figures of an office for a local day (or days first..last, both included)."""
    office = await get_office(svc, office_code)
    if staff is not None:
        gb.require_staff_of(staff, office["code"])
    last = last or first
    days: list[date] = []
    for value, field in ((first, "from"), (last, "to")):
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            raise ValidationFailed(f"invalid_{field}", f"{field} must be a date YYYY-MM-DD", field=field) from None
    span = (days[1] - days[0]).days
    if span < 0 or span > SUMMARY_MAX_DAYS:
        raise ValidationFailed("invalid_range", f"from..to must be 0..{SUMMARY_MAX_DAYS} days", field="to")
    # The day keys listed (an index equality per day); a string range on `day` is not used by every planner.
    keys = [(days[0] + timedelta(days=i)).isoformat() for i in range(span + 1)]
    tickets = [t async for t in svc.db.queue_tickets.find({"office": office["code"], "day": {"$in": keys}})]
    return {"office": office["code"], "from": first, "to": last, **summarize(tickets)}


def public_consultation_for_staff(c: Doc) -> Doc:
    """A consultation as any staff member sees it (the walk-in desk's answer)."""
    out: Doc = public_consultation(c, {"_id": None, "role": "officer"})
    return out
