"""The walk-in desk: the electronic guest book, queue tickets, the board, and the 10-minute promise.

A visitor fills the guest book and takes a ticket (in the order of the office's standard,
`walk_in.order`); an officer calls the next ticket (priority first, then the lowest number), the
visitor sits down, and the officer finishes with a topic and a summary, which records a closed
`walk_in` consultation in the same collection as online ones. Tickets are numbered per office per
day in the office's time zone (`A-001`), from a day counter in the tiny `counters` collection.

The promise (CONTRACT.md "Walk-in desk"): a ticket is called at most `service_minutes` after the
previous ticket of the office finished, or after it was taken when nobody was being served. Both
cases are one rule: the reference time is the later of "taken" and "the office's last finish before
the call". Each ticket stores its reference, its wait and kept/broken when it is first called.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from server.domain import access, messages
from server.domain import consultations as cons
from server.domain import guestbook as gb
from server.domain.errors import Busy, Conflict, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import TOPICS, object_id
from server.domain.offices import get_office
from server.domain.walkin_board import (
    emit_board,
    load_ticket,
    local_day,
    promise_ref,
    token_hash,
    walk_in_rules,
)
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

TICKET_LETTER = "A"
PRIORITY_KINDS = ("elderly", "disabled", "pregnant")
TICKET_STATUSES = ("waiting", "called", "serving", "done", "no_show")
DESK_MAX_CHARS = 20
SUMMARY_MAX_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- small helpers ----------------------------------------------------------------------------


def ticket_number(seq: int) -> str:
    return f"{TICKET_LETTER}-{seq:03d}"


# --- the guest book ---------------------------------------------------------------------------


async def add_guestbook_entry(
    svc: Services,
    office_code: str,
    *,
    name: Any,
    email: Any,
    purpose: Any,
    phone: Any = None,
    institution: Any = None,
    occupation: Any = None,
    topic: Any = None,
    id_type: Any = None,
    id_number: Any = None,
    ticket_id: Any = None,
    qr_token: str | None = None,
    via: str = "kiosk",
    user_id: Any = None,
    priority: str | None = None,
) -> tuple[Doc, Doc | None, str | None]:
    """A guest book entry; returns (entry, ticket, ticket token).

    Offices whose standard has no ticket step (1808: guest book, then service) still need the
    officer to call the visitor: their entry issues the ticket itself. With `ticket_id` the entry
    completes a ticket taken first (7501, 7411).
    """
    office = await get_office(svc, office_code)
    rules = walk_in_rules(office)
    entry = gb.new_entry(
        svc,
        office,
        id_card_required=rules["id_card_required"],
        name=name,
        email=email,
        purpose=purpose,
        phone=phone,
        institution=institution,
        occupation=occupation,
        topic=topic,
        id_type=id_type,
        id_number=id_number,
        qr_token=qr_token,
        via=via,
        user_id=user_id,
    )
    ticket: Doc | None = None
    token: str | None = None
    if ticket_id is not None:
        ticket = await load_ticket(svc, ticket_id)
        if ticket["office"] != office["code"]:
            raise NotFound("ticket_not_found", "ticket not found / tiket tidak ditemukan")
        if ticket.get("guestbook_id") is not None:
            raise Conflict("ticket_has_entry", "this ticket already has a guest book entry / tiket sudah terisi")
        if ticket["status"] in ("done", "no_show"):
            raise Conflict("ticket_finished", "this ticket is finished / tiket sudah selesai")
    now = entry["created_at"]
    entry["day"] = local_day(now, office["time_zone"])
    res = await svc.db.guestbook.insert_one(entry)
    entry["_id"] = res.inserted_id
    if ticket is not None:
        linked = await update_and_get(
            svc.db.queue_tickets,
            {"_id": ticket["_id"], "guestbook_id": None},
            {"$set": {"guestbook_id": entry["_id"], "updated_at": now}},
        )
        if linked is None:
            await svc.db.guestbook.delete_one({"_id": entry["_id"]})
            raise Conflict("ticket_has_entry", "this ticket already has a guest book entry / tiket sudah terisi")
        ticket = linked
        await svc.db.guestbook.update_one({"_id": entry["_id"]}, {"$set": {"ticket_id": ticket["_id"]}})
        entry["ticket_id"] = ticket["_id"]
        await emit_board(svc, office["code"])
    elif "queue_ticket" not in rules["order"]:
        ticket, token = await take_ticket(svc, office["code"], guestbook_id=entry["_id"], priority=priority)
        entry["ticket_id"] = ticket["_id"]
    log.info("guest book entry office=%s via=%s", office["code"], entry["via"])
    return entry, ticket, token


# --- tickets ----------------------------------------------------------------------------------


async def _next_seq(svc: Services, office: str, day: str) -> int:
    key = f"ticket:{office}:{day}"
    for _ in range(10):
        try:
            counter = await svc.db.counters.find_one_and_update(
                {"_id": key}, {"$inc": {"n": 1}}, upsert=True, return_document=True
            )
        except Exception as exc:  # two first tickets of the day racing: the loser retries
            if not is_duplicate_key(exc):
                raise
            continue
        if counter is not None:
            return int(counter["n"])
    raise Busy("could not number the ticket; try again / coba lagi")


async def take_ticket(
    svc: Services,
    office_code: str,
    *,
    guestbook_id: Any = None,
    priority: str | None = None,
    visit: Doc | None = None,
) -> tuple[Doc, str]:
    """A new waiting ticket (`A-001`, restarting each local day); returns (ticket, phone-page token)."""
    office = await get_office(svc, office_code)
    if priority is not None and priority not in PRIORITY_KINDS:
        raise ValidationFailed(
            "invalid_priority", f"priority must be one of {', '.join(PRIORITY_KINDS)}", field="priority"
        )
    entry: Doc | None = None
    if guestbook_id is not None:
        entry = await svc.db.guestbook.find_one({"_id": object_id(guestbook_id, code="entry_not_found")})
        if entry is None or entry["office"] != office["code"]:
            raise NotFound("entry_not_found", "guest book entry not found / entri buku tamu tidak ditemukan")
        if entry.get("ticket_id") is not None:
            raise Conflict("entry_has_ticket", "this guest book entry already has a ticket / sudah punya tiket")
    now = svc.now()
    day = local_day(now, office["time_zone"])
    seq = await _next_seq(svc, office["code"], day)
    token = secrets.token_urlsafe(18)
    t: Doc = {
        "office": office["code"],
        "day": day,
        "seq": seq,
        "number": ticket_number(seq),
        "status": "waiting",
        "priority": priority,
        # Sort key of call-next: priority visitors first (0), then everyone else (1).
        "prio": 0 if priority else 1,
        "guestbook_id": entry["_id"] if entry else None,
        "token_hash": token_hash(token),
        "created_at": now,
        "updated_at": now,
        "desk": None,
        "recalls": 0,
    }
    if visit is not None:
        t["visit_code"] = visit["code"]
        t["consultation_id"] = visit["consultation_id"]
    res = await svc.db.queue_tickets.insert_one(t)
    t["_id"] = res.inserted_id
    if entry is not None:
        await svc.db.guestbook.update_one({"_id": entry["_id"]}, {"$set": {"ticket_id": t["_id"]}})
    log.info("ticket %s office=%s day=%s", t["number"], office["code"], day)
    await emit_board(svc, office["code"])
    return t, token


async def redeem_visit(
    svc: Services, office_code: str, code: str, *, id_type: Any = None, id_number: Any = None
) -> tuple[Doc, Doc, str]:
    """A visit booked online, redeemed at the kiosk by its booking code: (entry, ticket, token).

    The guest book entry is filled from the consultation's account, and the ticket is tied to that
    consultation, so finishing it continues the same consultation.
    """
    office = await get_office(svc, office_code)
    wanted = re.sub(r"[\s\-]", "", str(code or "")).upper()
    v = await svc.db.visits.find_one({"code": wanted}) if re.fullmatch(r"[A-Z0-9]{4,16}", wanted) else None
    if v is None or v["office"] != office["code"] or v.get("status") not in ("booked",):
        raise NotFound("visit_not_found", "no visit with this booking code / kode pemesanan tidak ditemukan")
    if local_day(v["slot_start"], office["time_zone"]) != local_day(svc.now(), office["time_zone"]):
        raise Conflict("visit_not_today", "this visit is booked for another day / kunjungan bukan untuk hari ini")
    c = await access.load(svc, v["consultation_id"])
    user = await svc.db.users.find_one({"_id": c["user_id"]}) or {}
    claimed = await update_and_get(
        svc.db.visits,
        {"_id": v["_id"], "status": "booked"},
        {"$set": {"status": "arrived", "arrived_at": svc.now(), "updated_at": svc.now()}},
    )
    if claimed is None:
        raise NotFound("visit_not_found", "no visit with this booking code / kode pemesanan tidak ditemukan")
    try:
        entry, _, _ = await add_guestbook_entry(
            svc,
            office["code"],
            name=user.get("name") or c.get("user_name") or "Pengunjung",
            email=user.get("email") or c.get("user_email"),
            phone=user.get("phone"),
            institution=user.get("institution"),
            occupation=user.get("occupation"),
            purpose=c.get("subject") or "Kunjungan terjadwal",
            topic=c.get("topic") if c.get("topic") in TOPICS else None,
            id_type=id_type,
            id_number=id_number,
            via="visit",
            user_id=c["user_id"],
            ticket_id=None,
        )
    except Exception:
        await svc.db.visits.update_one({"_id": v["_id"]}, {"$set": {"status": "booked"}})
        raise
    ticket = await svc.db.queue_tickets.find_one({"_id": entry.get("ticket_id")}) if entry.get("ticket_id") else None
    if ticket is not None:
        # The office has no ticket step: the entry issued one; tie it to the consultation.
        token = secrets.token_urlsafe(18)
        ticket = await update_and_get(
            svc.db.queue_tickets,
            {"_id": ticket["_id"]},
            {"$set": {"visit_code": v["code"], "consultation_id": c["_id"], "token_hash": token_hash(token)}},
        )
        assert ticket is not None
    else:
        ticket, token = await take_ticket(svc, office["code"], guestbook_id=entry["_id"], visit=v)
    await svc.db.visits.update_one({"_id": v["_id"]}, {"$set": {"ticket_id": ticket["_id"]}})
    return entry, ticket, token


# --- the desk's actions -----------------------------------------------------------------------


def _clean_desk(desk: Any) -> str:
    if desk is None or (isinstance(desk, str) and not desk.strip()):
        return "1"
    if not isinstance(desk, (str, int)) or isinstance(desk, bool):
        raise ValidationFailed("invalid_desk", "desk must be a short name or number", field="desk")
    text = _CONTROL.sub("", str(desk)).strip()
    if not text or len(text) > DESK_MAX_CHARS:
        raise ValidationFailed("invalid_desk", f"desk must be 1..{DESK_MAX_CHARS} characters", field="desk")
    return text


async def call_next(svc: Services, staff: Doc, office_code: str, *, desk: Any = None) -> Doc:
    """Call the next waiting ticket (priority first, then the lowest number); 404 queue_empty when none waits.

    Two officers calling at once each get a different ticket: the write is guarded on `waiting`, and
    the loser of a race moves on to the next candidate.
    """
    gb.require_staff_of(staff, office_code)
    office = await get_office(svc, office_code)
    desk_name = _clean_desk(desk)
    now = svc.now()
    day = local_day(now, office["time_zone"])
    called = await update_and_get(
        svc.db.queue_tickets,
        {"office": office["code"], "day": day, "status": "waiting"},
        {
            "$set": {
                "status": "called",
                "called_at": now,
                "last_call_at": now,
                "desk": desk_name,
                "officer_id": staff["_id"],
                "officer_name": staff.get("name"),
                "updated_at": now,
            }
        },
        sort=[("prio", 1), ("seq", 1)],
    )
    if called is None:
        if await svc.db.queue_tickets.count_documents({"office": office["code"], "day": day, "status": "waiting"}):
            raise Busy("the queue moved; call again / antrean berubah, panggil lagi")
        raise NotFound("queue_empty", "nobody is waiting / tidak ada yang menunggu")
    last = await svc.db.queue_tickets.find_one(
        {"office": office["code"], "day": day, "finished_at": {"$lte": now}}, sort=[("finished_at", -1)]
    )
    ref_at, ref = promise_ref(called, last["finished_at"] if last else None)
    minutes = walk_in_rules(office)["service_minutes"]
    wait = max(0.0, (now - ref_at).total_seconds())
    promise = {
        "ref_at": ref_at,
        "ref": ref,
        "due_at": ref_at + timedelta(minutes=minutes),
        "minutes": minutes,
        "wait_seconds": int(wait),
        "kept": wait <= minutes * 60,
    }
    waited = int((now - called["created_at"]).total_seconds())
    await svc.db.queue_tickets.update_one(
        {"_id": called["_id"]}, {"$set": {"promise": promise, "waited_seconds": waited}}
    )
    called.update(promise=promise, waited_seconds=waited)
    log.info("ticket %s called office=%s desk=%s kept=%s", called["number"], office["code"], desk_name, promise["kept"])
    await emit_board(svc, office["code"])
    return called


async def _transition(
    svc: Services, staff: Doc, ticket_id: Any, allowed: tuple[str, ...], sets: Doc, *, inc: Doc | None = None
) -> Doc:
    t = await load_ticket(svc, ticket_id)
    gb.require_staff_of(staff, t["office"])
    update: Doc = {"$set": {**sets, "updated_at": svc.now()}}
    if inc:
        update["$inc"] = inc
    updated = (
        await update_and_get(svc.db.queue_tickets, {"_id": t["_id"], "status": {"$in": list(allowed)}}, update)
        if t["status"] in allowed
        else None
    )
    if updated is None:
        current = (await svc.db.queue_tickets.find_one({"_id": t["_id"]}) or t)["status"]
        raise _wrong_state(current)
    await emit_board(svc, t["office"])
    return updated


def _wrong_state(status: str) -> Conflict:
    return {
        "waiting": Conflict("ticket_not_called", "this ticket has not been called yet / tiket belum dipanggil"),
        "called": Conflict("ticket_not_serving", "this ticket is called, not being served / tiket belum dilayani"),
        "serving": Conflict("ticket_serving", "this ticket is being served already / tiket sedang dilayani"),
        "done": Conflict("ticket_finished", "this ticket is finished / tiket sudah selesai"),
        "no_show": Conflict("ticket_finished", "this ticket was marked absent / tiket ditandai tidak hadir"),
    }.get(status, Conflict("ticket_state", f"the ticket is {status}"))


async def recall(svc: Services, staff: Doc, ticket_id: Any, *, desk: Any = None) -> Doc:
    """Call a called ticket again (the board announces it once more)."""
    sets: Doc = {"last_call_at": svc.now()}
    if desk is not None:
        sets["desk"] = _clean_desk(desk)
    return await _transition(svc, staff, ticket_id, ("called",), sets, inc={"recalls": 1})


async def serve(svc: Services, staff: Doc, ticket_id: Any) -> Doc:
    """The called visitor sat down at the desk."""
    return await _transition(
        svc,
        staff,
        ticket_id,
        ("called",),
        {"status": "serving", "served_at": svc.now(), "officer_id": staff["_id"], "officer_name": staff.get("name")},
    )


async def no_show(svc: Services, staff: Doc, ticket_id: Any) -> Doc:
    """The called visitor did not come; the desk is free again (counts as a finish for the promise)."""
    now = svc.now()
    return await _transition(
        svc, staff, ticket_id, ("called",), {"status": "no_show", "finished_at": now, "no_show_at": now}
    )


async def finish(
    svc: Services, staff: Doc, ticket_id: Any, *, topic: Any = None, summary: Any = None
) -> tuple[Doc, Doc]:
    """Finish a called or serving ticket and record the walk-in consultation: (ticket, consultation)."""
    t = await load_ticket(svc, ticket_id)
    gb.require_staff_of(staff, t["office"])
    if topic is not None and topic not in TOPICS:
        raise ValidationFailed("invalid_topic", f"topic must be one of {', '.join(TOPICS)}", field="topic")
    summary_c = gb.clean_field(summary, "summary", SUMMARY_MAX_CHARS)
    now = svc.now()
    if t["status"] not in ("called", "serving"):
        raise _wrong_state(t["status"])
    done = await update_and_get(
        svc.db.queue_tickets,
        {"_id": t["_id"], "status": {"$in": ["called", "serving"]}},
        {
            "$set": {
                "status": "done",
                "done_at": now,
                "finished_at": now,
                "served_at": t.get("served_at") or now,
                "officer_id": staff["_id"],
                "officer_name": staff.get("name"),
                "topic": topic,
                "updated_at": now,
            }
        },
    )
    if done is None:
        current = (await svc.db.queue_tickets.find_one({"_id": t["_id"]}) or t)["status"]
        raise _wrong_state(current)
    office = await get_office(svc, done["office"])
    entry = await svc.db.guestbook.find_one({"_id": done["guestbook_id"]}) if done.get("guestbook_id") else None
    c = await _record_consultation(svc, staff, office, done, entry, topic, summary_c)
    done = (
        await update_and_get(svc.db.queue_tickets, {"_id": done["_id"]}, {"$set": {"consultation_id": c["_id"]}})
        or done
    )
    await emit_board(svc, office["code"])
    return done, c


def _served_params(t: Doc, entry: Doc | None, staff: Doc) -> Doc:
    """The params of the room message walk_in.served (server/i18n.py)."""
    return {
        "number": t["number"],
        "desk": t.get("desk"),
        "officer": staff.get("name"),
        "purpose": (entry or {}).get("purpose"),
        "institution": (entry or {}).get("institution"),
    }


async def _record_consultation(
    svc: Services, staff: Doc, office: Doc, t: Doc, entry: Doc | None, topic: Any, summary: str | None
) -> Doc:
    """The walk-in consultation: a new closed one, or the booked visit's own consultation continued."""
    if t.get("consultation_id") is not None:
        booked = await access.load(svc, t["consultation_id"])
        _, booked = await messages.post_system_message(
            svc,
            booked,
            "walk_in.served",
            params=_served_params(t, entry, staff),
            data={"event": "walk_in", "ticket_id": str(t["_id"])},
        )
        await svc.db.visits.update_one(
            {"code": t.get("visit_code"), "status": "arrived"},
            {"$set": {"status": "attended", "attended_at": svc.now()}},
        )
        if booked["status"] != "closed":
            booked = await cons.close(svc, staff, booked, summary=summary)
        return booked
    now = svc.now()
    name = (entry or {}).get("name") or f"Pengunjung {t['number']}"
    purpose = (entry or {}).get("purpose") or "Konsultasi tatap muka"
    c: Doc = {
        "number": await cons._next_number(svc, office["code"], now),  # noqa: SLF001 - one yearly series
        "office": office["code"],
        "time_zone": office["time_zone"],
        "channel": "walk_in",
        "topic": topic or (entry or {}).get("topic") or "other",
        "subject": purpose[: cons.SUBJECT_MAX_CHARS],
        # A visitor without an account is their guest book entry (or ticket): an id no account has.
        "user_id": (entry or {}).get("user_id") or (entry or {}).get("_id") or t["_id"],
        "user_name": name,
        "user_email": (entry or {}).get("email"),
        "user_lang": "id",
        "status": "active",
        "close_reason": None,
        "assigned_to": staff["_id"],
        "assigned_name": staff.get("name"),
        "created_at": t["created_at"],
        "claimed_at": t.get("called_at") or now,
        "first_response_at": t.get("served_at") or t.get("called_at") or now,
        "updated_at": now,
        "last_seq": 0,
        "last_visible_seq": 0,
        "reads": {},
        "kb_query": None,
        "kb_opened": [],
        "transfers": [],
        "walk_in": {
            "ticket_id": t["_id"],
            "number": t["number"],
            "day": t["day"],
            "desk": t.get("desk"),
            "called_at": t.get("called_at"),
            "served_at": t.get("served_at"),
            "done_at": t.get("done_at"),
            "promise_kept": (t.get("promise") or {}).get("kept"),
        },
    }
    res = await svc.db.consultations.insert_one(c)
    c["_id"] = res.inserted_id
    _, c = await messages.post_system_message(
        svc,
        c,
        "walk_in.served",
        params=_served_params(t, entry, staff),
        data={"event": "walk_in", "ticket_id": str(t["_id"])},
    )
    # close() writes the summary, queues the transcript and rating e-mails (when an address was given)
    # and tells the consoles.
    return await cons.close(svc, staff, c, summary=summary)
