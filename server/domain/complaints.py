"""Complaints (pengaduan) as cases: received, worked on, answered, with a deadline in working days.

A complaint comes from a rating's complaint text (source `rating`), from the public complaint page
(`web`: anyone, with a name and an e-mail address; a signed-in user only about their own
consultation), or is entered by staff for a walk-in visitor or one received by WhatsApp, e-mail,
telephone, letter or the suggestion box. Each has a number per office and year (ADU-7406-2026-0001),
the office, the related consultation or ticket, a status received -> in_progress -> resolved |
rejected (with a reason), an assignee, a response deadline of `complaint_working_days` working days
(office policy, default 5) on the office's calendar, internal notes and a history of changes
(the `complaint_history` collection, so nothing of it can reach the complainant with the case).

The complainant is sent an acknowledgement on receipt and the response (or the reason for a
rejection) at the end; the office's supervisors are alerted on arrival (e-mail and complaint:alert
to the office's staff room), and by the scheduler (schedulers/complaint_jobs.py) when the case is at
risk (one working day before the deadline) and when it is overdue, once each.

The complaint text is limited to TEXT_MAX_CHARS (5,000) characters: a page of writing, far above a
real complaint, well under what a paste of a whole document would be; 10,000 is refused (422).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bson import ObjectId

from server.domain import calendar, events, messages, sla
from server.domain.accounts import normalize_email
from server.domain.errors import Busy, Conflict, Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import is_staff, iso, object_id, sid
from server.domain.offices import get_office
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

TEXT_MAX_CHARS = 5000
RESPONSE_MAX_CHARS = 5000
NOTE_MAX_CHARS = 2000
NAME_MAX_CHARS = 120
PHONE_MAX_CHARS = 40
DEFAULT_WORKING_DAYS = 5
AT_RISK_MARGIN_WORKING_DAYS = 1
LIST_MAX = 200
NUMBER_ATTEMPTS = 5

# Where a complaint came from. Staff enter the ones received outside the product.
STAFF_SOURCES = ("walk_in", "whatsapp", "email", "phone", "letter", "suggestion_box")
SOURCES = ("web", "rating", *STAFF_SOURCES)
STATUSES = ("received", "in_progress", "resolved", "rejected")
OPEN = ("received", "in_progress")
CLOSED = ("resolved", "rejected")
NEXT: dict[str, tuple[str, ...]] = {
    "received": ("in_progress", "resolved", "rejected"),
    "in_progress": ("resolved", "rejected"),
    "resolved": (),
    "rejected": (),
}
MANAGER_ROLES = ("supervisor", "admin")

Alert = Literal["at_risk", "overdue"]
State = Literal["on_track", "at_risk", "overdue"]


# --- who may do what -----------------------------------------------------------------------------


def is_national(user: Doc | None) -> bool:
    return bool(user) and user is not None and user.get("role") == "admin" and not user.get("office")


def staff_of(user: Doc | None, office: str) -> bool:
    """Staff of `office` (a national admin is staff of every office)."""
    return is_staff(user) and user is not None and (is_national(user) or user.get("office") == office)


def manages(user: Doc | None, office: str) -> bool:
    """The office's supervisors and admins (national admins: every office) see and work on its complaints."""
    return user is not None and user.get("role") in MANAGER_ROLES and staff_of(user, office)


def require_manager(user: Doc, office: str | None = None) -> None:
    if user.get("role") not in MANAGER_ROLES or (office is not None and not manages(user, office)):
        raise Forbidden(
            "forbidden", "complaints are for the office's supervisors and admins / hanya supervisor dan admin kantor"
        )


# --- small checks --------------------------------------------------------------------------------


def clean_text(value: Any, field: str, max_chars: int) -> str:
    """Required text: no control characters, not empty (422 empty_<field>), at most max_chars (422 <field>_too_long)."""
    try:
        return messages.clean_text(value, field=field, max_chars=max_chars)
    except ValidationFailed as exc:
        if exc.code == "message_too_long":
            raise ValidationFailed(
                f"{field}_too_long",
                f"{field} is over {max_chars} characters / melebihi {max_chars} karakter",
                field=field,
                max=max_chars,
            ) from None
        if exc.code == "empty_text":
            raise ValidationFailed(f"empty_{field}", f"{field} is empty / {field} kosong", field=field) from None
        raise


def _optional(value: Any, field: str, max_chars: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, field, max_chars)


def _email(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValidationFailed(
            "invalid_email", "e-mail address is not valid / alamat e-mail tidak valid", field="email"
        )
    return normalize_email(value)


def working_days(office: Doc) -> int:
    """The office's response deadline for complaints, in working days (policy.complaint_working_days, default 5)."""
    value = (office.get("policy") or {}).get("complaint_working_days")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        return DEFAULT_WORKING_DAYS
    return value


def deadlines(office: Doc, received_at: datetime) -> tuple[datetime, datetime]:
    """(due_at, at_risk_at): N working days after the clock starts on the office's calendar, and one before."""
    tz = office["time_zone"]
    extra = sla.extra_closed(office)
    due = calendar.sla_due_at(received_at, working_days(office), tz, extra)
    return due, calendar.at_risk_at(due, AT_RISK_MARGIN_WORKING_DAYS, tz, extra)


def state_at(c: Doc, now: datetime) -> State | None:
    """on_track / at_risk / overdue for an open complaint at `now`; None once answered."""
    if c.get("status") not in OPEN or not c.get("due_at"):
        return None
    if now >= c["due_at"]:
        return "overdue"
    if now >= (c.get("at_risk_at") or c["due_at"]):
        return "at_risk"
    return "on_track"


@dataclass(frozen=True)
class AlertStep:
    """What the complaint sweep does for one complaint at `now` (the pure decision)."""

    state: State
    alert: Alert | None  # the alert to send now, if not yet sent for this state
    next_check_at: datetime | None


def alert_step(c: Doc, now: datetime) -> AlertStep | None:
    """The sweep's decision; None when the complaint is answered (nothing more to watch)."""
    state = state_at(c, now)
    if state is None:
        return None
    if state == "overdue":
        nxt = None
    elif state == "at_risk":
        nxt = c["due_at"]
    else:
        nxt = c.get("at_risk_at") or c["due_at"]
    # A sweep that finds a complaint already overdue does not send a stale "at risk" first.
    alert: Alert | None = state if state != "on_track" and state not in (c.get("alerted") or []) else None
    return AlertStep(state, alert, nxt)


# --- views ---------------------------------------------------------------------------------------


def _local(value: datetime | None, tz: str, lang: str = "id") -> str | None:
    return calendar.local_date_str(value, tz, lang) if value else None


def public_view(c: Doc) -> Doc:
    """What the complainant is shown: the case's number, status and deadline; never notes, history or assignee."""
    tz = c.get("time_zone") or "Asia/Jakarta"
    return {
        "id": str(c["_id"]),
        "number": c.get("number"),
        "office": c["office"],
        "status": c["status"],
        "source": c.get("source"),
        "text": c.get("text"),
        "consultation_id": sid(c.get("consultation_id")),
        "ticket_id": sid(c.get("ticket_id")),
        "created_at": iso(c.get("created_at")),
        "due_at": iso(c.get("due_at")),
        "due_local": _local(c.get("due_at"), tz),
        "time_zone": tz,
    }


def summary_view(c: Doc, now: datetime) -> Doc:
    """A row of the supervisors' list."""
    out = public_view(c)
    out.update(
        {
            "name": c.get("name"),
            "email": c.get("email"),
            "consultation_number": c.get("consultation_number"),
            "ticket_number": c.get("ticket_number"),
            "assigned_to": {"id": sid(c.get("assigned_to")), "name": c.get("assigned_name")}
            if c.get("assigned_to")
            else None,
            "state": state_at(c, now),
            "updated_at": iso(c.get("updated_at")),
            "closed_at": iso(c.get("closed_at")),
            "late": bool(c.get("closed_at") and c.get("due_at") and c["closed_at"] > c["due_at"]),
        }
    )
    return out


def staff_view(c: Doc, history: list[Doc], now: datetime) -> Doc:
    """The whole case for the office's supervisors: contact, notes, response, history."""
    out = summary_view(c, now)
    out.update(
        {
            "phone": c.get("phone"),
            "lang": c.get("lang"),
            "user_id": sid(c.get("user_id")),
            "response": c.get("response"),
            "at_risk_at": iso(c.get("at_risk_at")),
            "alerted": list(c.get("alerted") or []),
            "entered_by": {"id": sid(c.get("entered_by")), "name": c.get("entered_by_name")}
            if c.get("entered_by")
            else None,
            "notes": [
                {
                    "id": str(n["id"]),
                    "at": iso(n.get("at")),
                    "by": {"id": sid(n.get("by")), "name": n.get("by_name")},
                    "text": n.get("text"),
                }
                for n in c.get("notes") or []
            ],
            "history": [
                {
                    "at": iso(h.get("at")),
                    "action": h.get("action"),
                    "by": {"id": sid(h.get("by")), "name": h.get("by_name")} if h.get("by") else None,
                    "from": h.get("from"),
                    "to": h.get("to"),
                    "detail": h.get("detail"),
                }
                for h in history
            ],
        }
    )
    return out


# --- storage helpers -----------------------------------------------------------------------------


async def next_number(svc: Services, office: Doc, now: datetime) -> str:
    """ADU-<office>-<year>-<n>: a yearly series per office (the year on the office's calendar)."""
    year = now.astimezone(ZoneInfo(office["time_zone"])).year
    key = f"complaint:{office['code']}:{year}"
    for _ in range(NUMBER_ATTEMPTS):
        try:
            counter = await svc.db.counters.find_one_and_update(
                {"_id": key}, {"$inc": {"n": 1}}, upsert=True, return_document=True
            )
        except Exception as exc:  # two first-of-the-year upserts racing: the loser retries
            if not is_duplicate_key(exc):
                raise
            continue
        if counter is not None:
            return f"ADU-{office['code']}-{year}-{int(counter['n']):04d}"
    raise Busy("could not number the complaint; try again / coba lagi")


async def _history(svc: Services, c: Doc, action: str, actor: Doc | None, **detail: Any) -> None:
    doc: Doc = {
        "complaint_id": c["_id"],
        "office": c["office"],
        "at": svc.now(),
        "action": action,
        "by": actor["_id"] if actor else None,
        "by_name": actor.get("name") if actor else None,
    }
    for k in ("from", "to"):
        if k in detail:
            doc[k] = detail.pop(k)
    if detail:
        doc["detail"] = detail
    await svc.db.complaint_history.insert_one(doc)


async def history_of(svc: Services, c: Doc) -> list[Doc]:
    cursor = svc.db.complaint_history.find({"complaint_id": c["_id"]}).sort([("at", 1), ("_id", 1)])
    return [h async for h in cursor]


async def load(svc: Services, complaint_id: Any) -> Doc:
    c = await svc.db.complaints.find_one({"_id": object_id(complaint_id, message="complaint not found")})
    if c is None:
        raise NotFound("not_found", "complaint not found / pengaduan tidak ditemukan")
    return c


async def load_for(svc: Services, user: Doc, complaint_id: Any) -> Doc:
    """The complaint if `user` manages its office: 404 when there is none, 403 otherwise."""
    require_manager(user)
    c = await load(svc, complaint_id)
    require_manager(user, c["office"])
    return c


# --- opening a case ------------------------------------------------------------------------------


async def _create(svc: Services, office: Doc, doc: Doc, actor: Doc | None) -> Doc:
    """Number, deadline, store, history, then the alerts and the acknowledgement (after the write)."""
    now = svc.now()
    due, at_risk = deadlines(office, now)
    doc.update(
        {
            "office": office["code"],
            "time_zone": office["time_zone"],
            "status": "received",
            "assigned_to": None,
            "assigned_name": None,
            "notes": [],
            "response": None,
            "due_at": due,
            "at_risk_at": at_risk,
            "alerted": [],
            # The scheduler's sweep looks first at the at-risk moment (schedulers/complaint_jobs.py).
            "check_at": at_risk,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
    )
    doc["number"] = await next_number(svc, office, now)
    try:
        res = await svc.db.complaints.insert_one(doc)
    except Exception as exc:
        if is_duplicate_key(exc) and doc.get("origin_key"):
            existing = await svc.db.complaints.find_one({"origin_key": doc["origin_key"]})
            if existing is not None:
                return existing  # a redo of the same rating's complaint
        raise
    doc["_id"] = res.inserted_id
    await _history(svc, doc, "received", actor, to="received", source=doc["source"])
    await events.emit_complaint_alert(svc.events, doc, "received")
    await mailing.complaint_received(svc, doc, office)
    await mailing.complaint_alert(svc, doc, office, "received")
    log.info("complaint %s (%s) received at office %s", doc["number"], doc["source"], doc["office"])
    return doc


async def open_complaint(
    svc: Services,
    actor: Doc | None,
    *,
    office: Any,
    text: Any,
    consultation_id: Any = None,
    ticket_id: Any = None,
    name: Any = None,
    email: Any = None,
    phone: Any = None,
    source: Any = None,
    lang: Any = None,
) -> Doc:
    """POST /complaints: anyone (with a name and an e-mail), a signed-in user (about their own consultation
    only), or staff of the office entering one received elsewhere (`source`)."""
    if not isinstance(office, str) or not (len(office) == 4 and office.isdigit()):
        raise ValidationFailed("invalid_office", "office is a 4-digit BPS code", field="office")
    o = await get_office(svc, office)
    body = clean_text(text, "text", TEXT_MAX_CHARS)
    staff = is_staff(actor)
    if staff and not staff_of(actor, o["code"]):
        raise Forbidden("forbidden", "staff enter complaints for their own office / hanya untuk kantor Anda")
    c = t = None
    if consultation_id not in (None, ""):
        c = await svc.db.consultations.find_one({"_id": object_id(consultation_id, message="consultation not found")})
        if c is None:
            raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
        if actor is not None and not staff and c.get("user_id") != actor["_id"]:
            raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
        if c["office"] != o["code"]:
            raise ValidationFailed("office_mismatch", "the consultation is of another office", field="office")
    if ticket_id not in (None, ""):
        t = await svc.db.queue_tickets.find_one({"_id": object_id(ticket_id, message="ticket not found")})
        if t is None:
            raise NotFound("ticket_not_found", "ticket not found / tiket tidak ditemukan")
        if t["office"] != o["code"]:
            raise ValidationFailed("office_mismatch", "the ticket is of another office", field="office")
        if c is None and t.get("consultation_id") is not None:
            c = await svc.db.consultations.find_one({"_id": t["consultation_id"]})
    the_name = _optional(name, "name", NAME_MAX_CHARS)
    the_email = _email(email)
    the_phone = _optional(phone, "phone", PHONE_MAX_CHARS)
    if staff:
        if source in (None, ""):
            the_source = "walk_in"
        elif source in STAFF_SOURCES:
            the_source = str(source)
        else:
            raise ValidationFailed(
                "invalid_source", f"source must be one of {', '.join(STAFF_SOURCES)}", field="source"
            )
    else:
        the_source = "web"
        if actor is not None:  # a signed-in member of the public: their account's name and address
            the_name = the_name or actor.get("name")
            the_email = the_email or actor.get("email")
        if not the_name:
            raise ValidationFailed("missing_name", "your name is required / nama wajib diisi", field="name")
        if not the_email:
            raise ValidationFailed(
                "missing_email", "your e-mail address is required / e-mail wajib diisi", field="email"
            )
    doc: Doc = {
        "source": the_source,
        "text": body,
        "name": the_name,
        "email": the_email,
        "phone": the_phone,
        "lang": "en" if (lang == "en" or (lang is None and actor is not None and actor.get("lang") == "en")) else "id",
        # A signed-in complainant is that person; staff entering one about a consultation: its user.
        "user_id": actor["_id"] if actor is not None and not staff else (c or {}).get("user_id") if staff else None,
        "consultation_id": c["_id"] if c is not None else None,
        "consultation_number": c.get("number") if c is not None else None,
        "ticket_id": t["_id"] if t is not None else None,
        "ticket_number": t.get("number") if t is not None else None,
        "entered_by": actor["_id"] if staff and actor is not None else None,
        "entered_by_name": actor.get("name") if staff and actor is not None else None,
    }
    return await _create(svc, o, doc, actor)


async def open_from_rating(svc: Services, c: Doc, user: Doc, text: str) -> Doc:
    """A rating's complaint text opens a case (once per consultation: a redo finds the first)."""
    office = await get_office(svc, c["office"])
    doc: Doc = {
        "source": "rating",
        "origin_key": f"rating:{c['_id']}",
        "text": text,
        "name": user.get("name") or c.get("user_name"),
        "email": user.get("email") or c.get("user_email"),
        "phone": None,
        "lang": "en" if user.get("lang") == "en" else "id",
        "user_id": c.get("user_id"),
        "consultation_id": c["_id"],
        "consultation_number": c.get("number"),
        "ticket_id": (c.get("walk_in") or {}).get("ticket_id"),
        "ticket_number": (c.get("walk_in") or {}).get("number"),
        "entered_by": None,
        "entered_by_name": None,
    }
    return await _create(svc, office, doc, user)


# --- the supervisors' work -----------------------------------------------------------------------


async def list_for(svc: Services, user: Doc, *, office: Any = None, status: Any = None, limit: Any = None) -> Doc:
    """GET /complaints: an office's complaints (national admins: any office or every one), newest first."""
    require_manager(user)
    code = office or user.get("office") or ("all" if is_national(user) else None)
    query: Doc = {}
    if code != "all":
        if not isinstance(code, str) or not (len(code) == 4 and code.isdigit()):
            raise ValidationFailed("invalid_office", "office is a 4-digit code or 'all'", field="office")
        require_manager(user, code)
        await get_office(svc, code)
        query["office"] = code
    elif not is_national(user):
        raise Forbidden("forbidden", "only national admins see every office / hanya admin pusat")
    if status not in (None, ""):
        if status == "open":
            query["status"] = {"$in": list(OPEN)}
        elif status in STATUSES:
            query["status"] = status
        else:
            raise ValidationFailed(
                "invalid_status", f"status must be open or one of {', '.join(STATUSES)}", field="status"
            )
    n = LIST_MAX
    if limit not in (None, ""):
        try:
            n = max(1, min(LIST_MAX, int(limit)))
        except (TypeError, ValueError):
            raise ValidationFailed("invalid_limit", "limit is a whole number", field="limit") from None
    now = svc.now()
    cursor = svc.db.complaints.find(query).sort([("created_at", -1), ("_id", -1)]).limit(n)
    rows = [summary_view(c, now) async for c in cursor]
    counts = dict.fromkeys(STATUSES, 0)
    count_query = {k: v for k, v in query.items() if k != "status"}
    async for g in await svc.db.complaints.aggregate(
        [{"$match": count_query}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    ):
        if g["_id"] in counts:
            counts[g["_id"]] = int(g["n"])
    return {"office": code, "complaints": rows, "counts": counts}


async def get_for(svc: Services, user: Doc, complaint_id: Any) -> Doc:
    """GET /complaints/{id}: the whole case (supervisors and admins of its office)."""
    c = await load_for(svc, user, complaint_id)
    return staff_view(c, await history_of(svc, c), svc.now())


async def set_status(svc: Services, user: Doc, complaint_id: Any, *, status: Any, response: Any = None) -> Doc:
    """received -> in_progress -> resolved | rejected (a rejection needs its reason); the answer is e-mailed."""
    c = await load_for(svc, user, complaint_id)
    if status not in STATUSES:
        raise ValidationFailed("invalid_status", f"status must be one of {', '.join(STATUSES)}", field="status")
    if status not in NEXT[c["status"]]:
        raise Conflict(
            "invalid_transition",
            f"a {c['status']} complaint cannot become {status} / status tidak dapat diubah",
            current=c["status"],
        )
    text = _optional(response, "response", RESPONSE_MAX_CHARS)
    if status == "rejected" and not text:
        raise ValidationFailed(
            "reason_required", "a rejection needs its reason / penolakan wajib disertai alasan", field="response"
        )
    now = svc.now()
    update: Doc = {"$set": {"status": status, "updated_at": now}}
    if status in CLOSED:
        update["$set"].update({"closed_at": now, "closed_by": user["_id"], "response": text})
        update["$unset"] = {"check_at": ""}  # nothing more for the scheduler to watch
    elif text:
        # Words given when the work starts are for the staff: an internal note, never sent or exported.
        note = {"id": ObjectId(), "at": now, "by": user["_id"], "by_name": user.get("name"), "text": text}
        update["$push"] = {"notes": note}
    if status == "in_progress" and not c.get("assigned_to"):
        # Whoever starts the work holds the case until it is assigned to someone else.
        update["$set"].update({"assigned_to": user["_id"], "assigned_name": user.get("name")})
    after = await update_and_get(svc.db.complaints, {"_id": c["_id"], "status": c["status"]}, update)
    if after is None:
        raise Conflict("conflict", "the complaint changed meanwhile; reload / pengaduan berubah, muat ulang")
    await _history(svc, after, "status", user, **{"from": c["status"], "to": status})
    if status in CLOSED:
        office = await get_office(svc, after["office"])
        await mailing.complaint_answered(svc, after, office)
    log.info("complaint %s: %s -> %s", after.get("number"), c["status"], status)
    return staff_view(after, await history_of(svc, after), now)


async def add_note(svc: Services, user: Doc, complaint_id: Any, text: Any) -> Doc:
    """An internal note (staff only; never shown or sent to the complainant)."""
    c = await load_for(svc, user, complaint_id)
    body = clean_text(text, "text", NOTE_MAX_CHARS)
    now = svc.now()
    note = {"id": ObjectId(), "at": now, "by": user["_id"], "by_name": user.get("name"), "text": body}
    after = await update_and_get(
        svc.db.complaints, {"_id": c["_id"]}, {"$push": {"notes": note}, "$set": {"updated_at": now}}
    )
    assert after is not None
    await _history(svc, after, "note", user)
    return staff_view(after, await history_of(svc, after), now)


async def assign(svc: Services, user: Doc, complaint_id: Any, assignee_id: Any) -> Doc:
    """Give the case to a supervisor or admin of its office (null: to nobody)."""
    c = await load_for(svc, user, complaint_id)
    if c["status"] in CLOSED:
        raise Conflict("complaint_closed", "the complaint is answered already / pengaduan sudah selesai")
    assignee: Doc | None = None
    if assignee_id not in (None, ""):
        try:
            assignee = await svc.db.users.find_one({"_id": object_id(assignee_id)})
        except NotFound:
            assignee = None
        if assignee is None or not manages(assignee, c["office"]) or assignee.get("disabled"):
            raise ValidationFailed(
                "invalid_assignee",
                "assign to a supervisor or admin of the office / pilih supervisor kantor",
                field="user_id",
            )
    now = svc.now()
    after = await update_and_get(
        svc.db.complaints,
        {"_id": c["_id"]},
        {
            "$set": {
                "assigned_to": assignee["_id"] if assignee else None,
                "assigned_name": assignee.get("name") if assignee else None,
                "updated_at": now,
            }
        },
    )
    assert after is not None
    await _history(
        svc,
        after,
        "assigned",
        user,
        **{"from": c.get("assigned_name"), "to": assignee.get("name") if assignee else None},
    )
    return staff_view(after, await history_of(svc, after), now)


async def assignees(svc: Services, user: Doc, office: str) -> list[Doc]:
    """Who a complaint of `office` can be given to: its supervisors and admins."""
    require_manager(user, office)
    cursor = svc.db.users.find({"office": office, "role": {"$in": list(MANAGER_ROLES)}}).sort("name", 1)
    return [
        {"id": str(u["_id"]), "name": u.get("name"), "role": u.get("role")}
        async for u in cursor
        if not u.get("disabled")
    ]


# --- the scheduler's effect ----------------------------------------------------------------------


async def send_alert(svc: Services, c: Doc, alert: Alert) -> None:
    """At risk / overdue: the office's staff room hears it, its supervisors are e-mailed (once each)."""
    office = await get_office(svc, c["office"])
    await events.emit_complaint_alert(svc.events, c, alert)
    await mailing.complaint_alert(svc, c, office, alert)
