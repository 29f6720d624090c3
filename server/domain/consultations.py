"""A consultation's lifecycle: opened, queued, claimed or assigned, transferred, paused for clarification,
closed. Its messages are server.domain.messages; reading it and its events are server.domain.access.

Each action validates, writes, and only then emits its events, so a client never hears of a change
that was not stored. REST handlers, Socket.IO handlers, schedulers and the CLI all call these.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from server.domain import access, audit, durations, kb, messages, sla, surveys
from server.domain.errors import BadRequest, Busy, Conflict, Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import CLOSE_CATEGORIES, TOPICS, is_staff, sid
from server.domain.offices import get_office
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

SUBJECT_MAX_CHARS = 200
RATING_REMINDER_DELAY = timedelta(days=2)
LIST_MAX = 500
NUMBER_ATTEMPTS = 10
_CLOSED_KEYS = {"resolved": "consultation.closed", "user": "consultation.closed", "idle": "consultation.closed_idle"}


def _stop_sla_clock(c: Doc, now: datetime) -> Doc:
    """The SLA fields a close sets when no answer stopped the clock: it stops now (or where a
    clarification paused it), met when that is by the deadline."""
    state = c.get("sla") or {}
    due = state.get("due_at")
    if due is None or state.get("state") == "met" or state.get("met_at"):
        return {}
    stop = (state.get("paused_at") if state.get("paused") else None) or now
    return {"sla.met_at": stop, "sla.paused": False, "sla.state": "met" if stop <= due else "breached"}


def _closed_conflict(already: bool = False) -> Conflict:
    what = "this consultation is closed already" if already else "this consultation is closed"
    return Conflict("consultation_closed", f"{what} / konsultasi sudah ditutup")


# --- opening ----------------------------------------------------------------------------------


async def _next_number(svc: Services, office: str, now: datetime) -> str:
    """The next human consultation number of an office for the year (e.g. 7406-2026-00012)."""
    year = now.year
    key = f"consultation:{office}:{year}"
    for _ in range(NUMBER_ATTEMPTS):
        try:
            counter = await svc.db.counters.find_one_and_update(
                {"_id": key}, {"$inc": {"n": 1}}, upsert=True, return_document=True
            )
        except Exception as exc:  # two first-of-the-year upserts racing: the loser retries
            if not is_duplicate_key(exc):
                raise
            continue
        # SecantusDB can answer None to the losing one of two racing upserts (the counter still moved on).
        if counter is not None:
            return f"{office}-{year}-{int(counter['n']):05d}"
    raise Busy("could not number the consultation; try again / coba lagi")


async def open_consultation(
    svc: Services,
    user: Doc,
    *,
    office: str,
    topic: str,
    subject: str,
    text: str,
    kb_query: str | None = None,
    kb_opened: list[Any] | None = None,
    channel: str = "online",
    client_id: str | None = None,
    contact: Doc | None = None,
) -> tuple[Doc, Doc]:
    """A verified user opens a consultation with its first message; returns (consultation, message).

    WhatsApp and e-mail consultations (server.domain.channels) pass the `contact` who wrote; such a
    person needs no verified account (the channel itself proves the number or the address).
    """
    if is_staff(user) and channel == "online":
        raise Forbidden("forbidden", "staff cannot open consultations as users")
    if contact is None and not user.get("email_verified_at"):
        raise Forbidden("email_not_verified", "verify your e-mail first")
    if topic not in TOPICS:
        raise ValidationFailed("invalid_topic", f"topic must be one of {', '.join(TOPICS)}", field="topic")
    subject = messages.clean_text(subject, field="subject", max_chars=SUBJECT_MAX_CHARS)
    text = messages.clean_text(text)
    if kb_query is not None:
        kb_query = str(kb_query)[:500]
    opened = [str(x)[:64] for x in (kb_opened or [])][:20]
    off = await svc.db.offices.find_one({"code": office})
    if off is None:
        raise ValidationFailed("invalid_office", f"unknown office {office!r}", field="office")
    now = svc.now()
    if client_id:
        existing = await svc.db.consultations.find_one({"user_id": user["_id"], "client_id": client_id})
        if existing is not None:
            first = await svc.db.messages.find_one({"consultation_id": existing["_id"], "seq": 1})
            return existing, first or {}
    c: Doc = {
        "number": await _next_number(svc, office, now),
        "office": office,
        "time_zone": off["time_zone"],
        "channel": channel,
        "topic": topic,
        "subject": subject,
        "user_id": user["_id"],
        "user_name": user["name"],
        "user_email": user.get("email"),
        "user_lang": user.get("lang", "id"),
        "status": "queued",
        "close_reason": None,
        "assigned_to": None,
        "assigned_name": None,
        "created_at": now,
        "updated_at": now,
        "last_seq": 0,
        "last_visible_seq": 0,
        "reads": {},
        "sla": {
            **sla.sla_plan(off, now),
            "margin": int((off.get("policy") or {}).get("sla_at_risk_margin_working_days", 1)),
        },
        "kb_query": kb_query,
        "kb_opened": opened,
        "transfers": [],
    }
    if client_id:
        c["client_id"] = client_id
    if contact is not None:
        c["contact"] = contact
    res = await svc.db.consultations.insert_one(c)
    c["_id"] = res.inserted_id
    msg, c = await messages.post_message(svc, user, c, text=text)
    await mailing.consultation_received(svc, c, off)
    await kb.record_unanswered(svc, user, kb_query, office)
    if (off.get("policy") or {}).get("auto_assign"):
        c = await auto_assign(svc, c, off) or c
    await access.emit_updated(svc, c)
    await access.emit_queue(svc, office)
    log.info("consultation opened id=%s office=%s", c["_id"], office)
    return c, msg


# --- taking it ----------------------------------------------------------------------------------


async def auto_assign(svc: Services, c: Doc, office: Doc) -> Doc | None:
    """Give a queued consultation to the least-loaded online officer under the office's maximum."""
    online = svc.presence.online_staff(office["code"])
    if not online:
        return None
    limit = int((office.get("policy") or {}).get("max_concurrent_rooms", 8))
    candidates = []
    for uid in online:
        try:
            staff_id = ObjectId(uid)
        except InvalidId:
            continue
        staff = await svc.db.users.find_one(
            {"_id": staff_id, "office": office["code"], "role": {"$in": ["officer", "supervisor"]}}
        )
        if staff is None:
            continue
        load_n = await svc.db.consultations.count_documents({"assigned_to": staff_id, "status": "active"})
        if load_n < limit:
            candidates.append((load_n, str(staff["name"]), staff))
    if not candidates:
        return None
    candidates.sort(key=lambda t: (t[0], t[1]))
    staff = candidates[0][2]
    try:
        return await claim(svc, staff, c, auto=True)
    except Conflict:
        return None


async def claim(svc: Services, staff: Doc, consultation: Doc | Any, *, auto: bool = False) -> Doc:
    """An officer takes a queued consultation; exactly one of two racing officers wins."""
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff can claim")
    c = consultation if isinstance(consultation, dict) else await access.load(svc, consultation)
    if not access.can_view(staff, c):
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    if c["status"] == "closed":
        raise _closed_conflict()
    now = svc.now()
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": "queued"},
        {
            "$set": {
                "status": "active",
                "assigned_to": staff["_id"],
                "assigned_name": staff["name"],
                "claimed_at": now,
                "updated_at": now,
            }
        },
    )
    if updated is None:
        raise Conflict("already_claimed", "someone else has taken this consultation / sudah diambil petugas lain")
    _, updated = await messages.post_system_message(
        svc,
        updated,
        "consultation.assigned" if auto else "consultation.claimed",
        params={"officer": staff["name"]},
        data={"event": "claimed", "by": str(staff["_id"]), "auto": auto},
    )
    if not auto:
        await audit.record(svc, staff, "claim", office=updated["office"], consultation=updated)
    await access.emit_updated(svc, updated)
    await access.emit_queue(svc, updated["office"])
    return updated


async def transfer(
    svc: Services, staff: Doc, consultation: Any, *, to_user: Any = None, to_office: str | None = None
) -> Doc:
    """Hand a consultation to another officer or another office; history stays with it."""
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff can transfer")
    c = await access.load_for(svc, staff, consultation)
    if c["status"] == "closed":
        raise _closed_conflict()
    if not to_user and not to_office:
        raise ValidationFailed("missing_target", "give to_user or to_office", field="to_user")
    now = svc.now()
    target_office = to_office or c["office"]
    off = await svc.db.offices.find_one({"code": target_office})
    if off is None:
        raise ValidationFailed("invalid_office", f"unknown office {target_office!r}", field="to_office")
    record: Doc = {
        "at": now,
        "by": staff["_id"],
        "from_office": c["office"],
        "to_office": target_office,
        "from_user": c.get("assigned_to"),
    }
    sets: Doc = {"office": target_office, "time_zone": off["time_zone"], "updated_at": now}
    if to_user:
        target = await svc.db.users.find_one({"_id": access.oid(to_user, "officer")})
        if target is None or not is_staff(target) or (target.get("office") not in (None, target_office)):
            raise ValidationFailed("invalid_to_user", "the officer is not staff of that office", field="to_user")
        sets.update(
            {"status": "active", "assigned_to": target["_id"], "assigned_name": target["name"], "claimed_at": now}
        )
        record["to_user"] = target["_id"]
        key = "consultation.transferred_to_officer"
        params: Doc = {"officer": target["name"], "office": off["name"] if target_office != c["office"] else None}
    else:
        sets.update({"status": "queued", "assigned_to": None, "assigned_name": None})
        record["to_user"] = None
        key, params = "consultation.transferred_to_office", {"office": off["name"]}
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": {"$ne": "closed"}},
        {"$set": sets, "$push": {"transfers": record}},
    )
    if updated is None:
        raise _closed_conflict()
    await audit.record(
        svc,
        staff,
        "transfer",
        office=c["office"],
        also_office=target_office,
        consultation=updated,
        details={"to_office": target_office, "to_user": sid(record["to_user"])},
    )
    _, updated = await messages.post_system_message(
        svc,
        updated,
        key,
        params=params,
        data={
            "event": "transferred",
            "to_office": target_office,
            "to_user": str(record["to_user"]) if record["to_user"] else None,
        },
    )
    await access.emit_updated(svc, updated)
    await access.emit_queue(svc, c["office"])
    if target_office != c["office"]:
        await access.emit_queue(svc, target_office)
    return updated


# --- closing ----------------------------------------------------------------------------------


async def close(
    svc: Services,
    actor: Doc | None,
    consultation: Any,
    *,
    summary: str | None = None,
    reason: str | None = None,
    only_if: Doc | None = None,
    category: str | None = None,
) -> Doc:
    """Close (staff, its user, or the idle scheduler); queues the transcript and the rating request.

    `category` (one of CLOSE_CATEGORIES) is how staff file the outcome; only staff may give one.

    `only_if` adds conditions to the closing write (the idle scheduler passes its claim, so a reply
    that arrived after the claim keeps the consultation open); unmet, it raises Conflict(not_closed).
    """
    c = consultation if isinstance(consultation, dict) else await access.load(svc, consultation)
    if actor is not None and not access.can_view(actor, c):
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    if summary is not None:
        summary = messages.clean_text(summary, field="summary") if summary.strip() else None
    why = reason or ("resolved" if is_staff(actor) else "user")
    if category is not None and (category not in CLOSE_CATEGORIES or not is_staff(actor)):
        raise ValidationFailed(
            "invalid_category", f"category is staff's, one of {', '.join(CLOSE_CATEGORIES)}", field="category"
        )
    if category is None and why == "idle":
        category = "no_response"
    now = svc.now()
    # The working minutes it took, counted once on the office's calendar (server.domain.durations).
    spent = durations.close_fields(await get_office(svc, c["office"]), c, now)
    updated = await update_and_get(
        svc.db.consultations,
        {**(only_if or {}), "_id": c["_id"], "status": {"$ne": "closed"}},
        {
            "$set": {
                **spent,
                **_stop_sla_clock(c, now),
                "status": "closed",
                "close_reason": why,
                "close_category": category,
                "closed_at": now,
                "closed_by": actor["_id"] if actor else None,
                "summary": summary,
                "updated_at": now,
                "rating_reminder_at": now + RATING_REMINDER_DELAY,
            },
            "$unset": {"idle": "", "sla.check_at": ""},
        },
    )
    if updated is None:
        if only_if:
            raise Conflict("not_closed", "the consultation changed; it was not closed")
        raise _closed_conflict(already=True)
    _, updated = await messages.post_system_message(
        svc,
        updated,
        _CLOSED_KEYS.get(why, "consultation.closed_other"),
        params={"by": actor["name"] if actor else None, "summary": summary},
        data={"event": "closed", "reason": why},
    )
    _, updated = await messages.post_system_message(
        svc, updated, "consultation.rating_prompt", data={"event": "rating_prompt"}
    )
    updated = await surveys.offer_in_room(svc, updated)
    await mailing.consultation_closed(svc, updated)
    await access.emit_updated(svc, updated)
    if c["status"] == "queued":
        await access.emit_queue(svc, updated["office"])
    return updated


async def set_awaiting_clarification(svc: Services, staff: Doc, consultation: Any, awaiting: bool) -> Doc:
    """Stop (or restart) the SLA clock while the request is not yet clear."""
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff")
    c = await access.load_for(svc, staff, consultation)
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed")
    state = c.get("sla") or {}
    if state.get("state") == "met":
        raise Conflict("sla_met", "the request was already answered")
    now = svc.now()
    if awaiting and not state.get("paused"):
        sets: Doc = {"sla.paused": True, "sla.paused_at": now, "sla.check_at": None}
    elif not awaiting and state.get("paused"):
        sets = sla.resume_sla(await get_office(svc, c["office"]), c, now)
    else:
        return c
    updated = await update_and_get(svc.db.consultations, {"_id": c["_id"]}, {"$set": sets})
    assert updated is not None
    event = "sla_paused" if awaiting else "sla_resumed"
    _, updated = await messages.post_system_message(svc, updated, f"consultation.{event}", data={"event": event})
    await access.emit_updated(svc, updated)
    return updated


# --- lists ------------------------------------------------------------------------------------


async def list_for(
    svc: Services,
    user: Doc,
    *,
    status: str | None = None,
    assigned: str | None = None,
    office: str | None = None,
    limit: int = 100,
) -> list[Doc]:
    """A user's own consultations; staff see their office's (or their own with assigned=me)."""
    query: Doc = {}
    if is_staff(user):
        if assigned == "me":
            query["assigned_to"] = user["_id"]
        elif user.get("office"):
            query["office"] = user["office"]
        elif office:
            query["office"] = office
    else:
        query["user_id"] = user["_id"]
    if status:
        if status not in ("queued", "active", "closed"):
            raise ValidationFailed("invalid_status", "status must be queued, active or closed", field="status")
        query["status"] = status
    limit = max(1, min(int(limit), LIST_MAX))
    sort_key = "last_message_at" if "assigned_to" in query else "created_at"
    cursor = svc.db.consultations.find(query).sort(sort_key, -1).limit(limit)
    # With what this process wrote that is still on its way (its rooms' trailing counters and previews).
    return [svc.batch.trailing.overlay(c) async for c in cursor]


def parse_int(value: Any, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter within [lo, hi]; absent gives `default`."""
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"invalid_{name}", f"{name} must be an integer") from None
    if n < lo or n > hi:
        raise BadRequest(f"invalid_{name}", f"{name} must be between {lo} and {hi}")
    return n
