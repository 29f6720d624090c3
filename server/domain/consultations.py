"""Consultation actions: every change of a consultation goes through one function here.

Each action validates, writes, and only then emits its events, so a client never hears of a change
that was not stored. REST handlers, Socket.IO handlers, schedulers and the CLI all call these.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from server.domain import calendar
from server.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
    is_duplicate_key,
)
from server.domain.models import (
    TOPICS,
    is_staff,
    object_id,
    public_consultation,
    public_message,
)
from server.domain.offices import get_office
from server.domain.ports import PresenceLookup
from server.domain.rooms import (
    consultation_room,
    consultation_staff_room,
    office_staff_room,
    user_room,
)
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

MESSAGE_MAX_CHARS = 4000
SUBJECT_MAX_CHARS = 200
PREVIEW_CHARS = 140
HISTORY_PAGE_MAX = 200
REOPEN_AFTER_IDLE_WINDOW = timedelta(days=7)
REPLY_MAIL_INTERVAL = timedelta(minutes=15)
RATING_REMINDER_DELAY = timedelta(days=2)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Serialises sends to one consultation inside this process; across processes the unique
# (consultation_id, seq) index is the arbiter and a loser simply retries.
_room_locks: dict[str, asyncio.Lock] = {}
_last_seq_cache: dict[str, int] = {}
# Both are per-room hints (a missing entry costs one read); trim idle rooms so they never grow without bound.
ROOM_CACHE_MAX = 20_000


def _lock_for(cid: str) -> asyncio.Lock:
    lock = _room_locks.get(cid)
    if lock is None:
        if len(_room_locks) >= ROOM_CACHE_MAX:
            for key in [k for k, v in _room_locks.items() if not v.locked()][: ROOM_CACHE_MAX // 2]:
                del _room_locks[key]
                _last_seq_cache.pop(key, None)
        lock = _room_locks[cid] = asyncio.Lock()
    return lock


def oid(value: Any, what: str = "consultation") -> ObjectId:
    return object_id(value, message=f"{what} not found / tidak ditemukan")


def clean_text(text: Any, *, field: str = "text", max_chars: int = MESSAGE_MAX_CHARS) -> str:
    """Message text as stored: no control characters, trimmed, not empty, not too long."""
    if not isinstance(text, str):
        raise ValidationFailed("invalid_text", f"{field} must be a string", field=field)
    cleaned = _CONTROL.sub("", text).strip()
    if not cleaned:
        raise ValidationFailed("empty_text", f"{field} is empty / pesan kosong", field=field)
    if len(cleaned) > max_chars:
        raise ValidationFailed(
            "message_too_long",
            f"{field} is over {max_chars} characters / pesan melebihi {max_chars} karakter",
            field=field,
            max=max_chars,
        )
    return cleaned


# --- visibility -------------------------------------------------------------------------------


def can_view(user: Doc, c: Doc) -> bool:
    """Its user, or staff of its office (a national admin sees every office)."""
    if c.get("user_id") == user["_id"]:
        return True
    if not is_staff(user):
        return False
    if user.get("role") == "admin" and not user.get("office"):
        return True
    return user.get("office") == c.get("office") or c.get("assigned_to") == user["_id"]


async def load(svc: Services, consultation_id: Any) -> Doc:
    c = await svc.db.consultations.find_one({"_id": oid(consultation_id)})
    if c is None:
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    return c


async def load_for(svc: Services, user: Doc, consultation_id: Any) -> Doc:
    """The consultation if `user` may see it: 404 when there is none, 403 when it is someone else's."""
    c = consultation_id if isinstance(consultation_id, dict) else await load(svc, consultation_id)
    if not can_view(user, c):
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    return c


# --- events -----------------------------------------------------------------------------------


async def emit_updated(svc: Services, c: Doc) -> None:
    """consultation:updated to everyone concerned, each seeing their own view (unread differs)."""
    cid = str(c["_id"])
    staff_view = public_consultation(c, {"_id": None, "role": "officer"})
    await svc.events.emit("consultation:updated", staff_view, office_staff_room(c["office"]))
    await svc.events.emit("consultation:updated", staff_view, consultation_staff_room(cid))
    user_view = public_consultation(c, {"_id": c["user_id"], "role": "user"})
    await svc.events.emit("consultation:updated", user_view, user_room(str(c["user_id"])))


async def emit_queue(svc: Services, office: str) -> None:
    queued = await queue_of(svc, office)
    await svc.events.emit("queue:updated", {"office": office, "queue": queued}, office_staff_room(office))


async def queue_of(svc: Services, office: str, limit: int = 200) -> list[Doc]:
    cursor = svc.db.consultations.find({"office": office, "status": "queued"}).sort("created_at", 1).limit(limit)
    return [public_consultation(c, {"_id": None, "role": "officer"}) async for c in cursor]


# --- messages ---------------------------------------------------------------------------------


def _author(user: Doc | None) -> Doc:
    if user is None:
        return {"author_id": None, "author_name": "Sistem", "author_role": "system"}
    return {"author_id": user["_id"], "author_name": user["name"], "author_role": user["role"]}


async def _max_seq(svc: Services, cid: ObjectId) -> int:
    last = await svc.db.messages.find_one({"consultation_id": cid}, {"seq": 1}, sort=[("seq", -1)])
    return int(last["seq"]) if last else 0


async def _insert_message(svc: Services, c: Doc, doc: Doc) -> tuple[Doc, bool]:
    """Store a message with the next seq of its consultation: (message, created).

    The seq comes from the unique (consultation_id, seq) index: we try last+1 and on a clash
    re-read the highest seq, so there are no gaps (a failed insert consumes nothing) and no repeats.
    A clash on (consultation_id, client_id) means this is a retry: the first message is returned.
    """
    cid = c["_id"]
    key = str(cid)
    async with _lock_for(key):
        seq = _last_seq_cache.get(key)
        if seq is None:
            seq = max(int(c.get("last_seq", 0)), 0)
        for _attempt in range(50):
            doc["seq"] = seq + 1
            doc.pop("_id", None)
            try:
                res = await svc.db.messages.insert_one(doc)
            except Exception as exc:
                if not is_duplicate_key(exc):
                    raise
                if doc.get("client_id"):
                    existing = await svc.db.messages.find_one({"consultation_id": cid, "client_id": doc["client_id"]})
                    if existing is not None:
                        return existing, False
                seq = await _max_seq(svc, cid)
                continue
            doc["_id"] = res.inserted_id
            _last_seq_cache[key] = doc["seq"]
            return doc, True
    raise Conflict("busy", "the consultation is busy; try again")


def _preview(msg: Doc) -> Doc:
    text = msg.get("text", "")
    if msg["kind"] == "file" and msg.get("attachment"):
        text = "📎 " + msg["attachment"].get("filename", "")
    return {
        "seq": msg["seq"],
        "kind": msg["kind"],
        "text": text[:PREVIEW_CHARS],
        "author_name": msg.get("author_name"),
        "created_at": msg["created_at"],
    }


async def post_message(
    svc: Services,
    user: Doc | None,
    consultation: Doc | Any,
    *,
    text: str,
    kind: str = "text",
    client_id: str | None = None,
    attachment: Doc | None = None,
    meeting: Doc | None = None,
    data: Doc | None = None,
) -> tuple[Doc, Doc]:
    """Store one message and update the consultation; returns (message, consultation).

    `user` None means a system message. Users post text and files; staff also post notes.
    """
    c = consultation if isinstance(consultation, dict) else await load(svc, consultation)
    if kind not in ("text", "note", "file", "system", "meeting", "rating"):
        raise ValidationFailed("invalid_kind", "kind must be text or note", field="kind")
    if client_id is not None:
        if not isinstance(client_id, str) or not (1 <= len(client_id) <= 100):
            raise ValidationFailed("invalid_client_id", "client_id must be 1..100 characters", field="client_id")
    staff = is_staff(user)
    if user is not None:
        if not can_view(user, c):
            raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
        if kind == "note" and not staff:
            raise Forbidden("forbidden", "only staff can write internal notes")
        if kind in ("system", "meeting", "rating") and user is not None and kind != "meeting":
            raise Forbidden("forbidden", "this kind of message is written by the system")
        if not staff and c["user_id"] != user["_id"]:
            raise Forbidden("forbidden", "not your consultation")
    if kind != "file":
        text = clean_text(text)
    now = svc.now()
    reopened = False
    if c["status"] == "closed":
        if (
            user is not None
            and not staff
            and c.get("close_reason") == "idle"
            and c.get("closed_at")
            and now - c["closed_at"] <= REOPEN_AFTER_IDLE_WINDOW
            and kind in ("text", "file")
        ):
            c = await _reopen(svc, c, user)
            reopened = True
        elif kind not in ("system", "rating"):
            raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    doc: Doc = {
        "consultation_id": c["_id"],
        "kind": kind,
        "text": text,
        "created_at": now,
        **_author(user),
    }
    if client_id:
        doc["client_id"] = client_id
    if attachment:
        doc["attachment"] = attachment
    if meeting:
        doc["meeting"] = meeting
    if data:
        doc["data"] = data
    msg, created = await _insert_message(svc, c, doc)
    if not created:
        return msg, c
    c = await _after_message(svc, c, msg, user)
    out = public_message(msg)
    if kind == "note":
        await svc.events.emit("message:new", out, consultation_staff_room(str(c["_id"])))
    else:
        await svc.events.emit("message:new", out, consultation_room(str(c["_id"])))
        # Staff of the office who have not joined still see their rooms' badges move.
        await svc.events.emit(
            "room:activity",
            {
                "consultation_id": str(c["_id"]),
                "message": out,
                "consultation": public_consultation(c, {"_id": None, "role": "officer"}),
            },
            office_staff_room(c["office"]),
        )
    if reopened:
        await emit_updated(svc, c)
        await emit_queue(svc, c["office"])
    if staff and kind in ("text", "file", "meeting"):
        await _maybe_mail_reply(svc, c, msg)
    return msg, c


async def _after_message(svc: Services, c: Doc, msg: Doc, user: Doc | None) -> Doc:
    """One update of the consultation per message: counters, previews, SLA and idle bookkeeping."""
    now = msg["created_at"]
    seq = msg["seq"]
    preview = _preview(msg)
    visible = msg["kind"] != "note"
    sets: Doc = {"last_message": preview, "updated_at": now}
    maxes: Doc = {"last_seq": seq}
    unsets: Doc = {}
    if visible:
        sets["last_visible_message"] = preview
        sets["last_message_at"] = now
        maxes["last_visible_seq"] = seq
    if user is not None:
        # Writing a message means having read up to it.
        maxes[f"reads.{user['_id']}"] = seq
    staff = is_staff(user)
    if user is not None and not staff and visible:
        sets["last_user_message_at"] = now
        unsets["idle"] = ""
        sla = c.get("sla") or {}
        if sla.get("paused"):
            sets.update(_resume_sla(await get_office(svc, c["office"]), c, now))
    elif staff and msg["kind"] in ("text", "file", "meeting"):
        sets["last_staff_message_at"] = now
        office = await get_office(svc, c["office"])
        sets["idle"] = _idle_plan(office, now)
        sla = c.get("sla") or {}
        if sla.get("state") not in ("met",) and not c.get("first_response_at"):
            sets["first_response_at"] = now
            sets["sla.state"] = "met"
            sets["sla.met_at"] = now
            sets["sla.paused"] = False
            unsets["sla.check_at"] = ""
    update: Doc = {"$set": sets, "$max": maxes}
    if unsets:
        update["$unset"] = {
            k: v for k, v in unsets.items() if k not in sets and not any(s.startswith(k + ".") for s in sets)
        }
        if not update["$unset"]:
            del update["$unset"]
    updated = await update_and_get(svc.db.consultations, {"_id": c["_id"]}, update)
    return updated or c


def _idle_plan(office: Doc, last_staff_at: datetime) -> Doc:
    policy = office.get("policy") or {}
    idle = policy.get("idle_close") or {"amount": 7, "unit": "days"}
    tz = office["time_zone"]
    extra = _extra_closed(office)
    close_at = calendar.idle_close_at(last_staff_at, idle, tz, extra)
    # The warning lead is in the idle rule's own unit (one day, or one working day), default 1.
    lead = policy.get("idle_warning_lead")
    if isinstance(lead, bool) or not isinstance(lead, int) or lead < 0:
        lead = None
    warn_at = calendar.idle_warning_at(close_at, idle, tz, extra, lead)
    # A lead as long as the idle period leaves no moment to warn in: the room just closes.
    no_warning = warn_at <= last_staff_at
    return {
        "last_staff_at": last_staff_at,
        "warn_at": warn_at,
        "close_at": close_at,
        "warned": no_warning,
        "check_at": close_at if no_warning else warn_at,
    }


def _extra_closed(office: Doc) -> list[Any]:
    from datetime import date

    out = []
    for d in (office.get("policy") or {}).get("extra_closed_dates") or []:
        try:
            out.append(date.fromisoformat(str(d)))
        except ValueError:
            continue
    return out


def sla_plan(office: Doc, received_at: datetime) -> Doc:
    """The SLA sub-document of a consultation received at `received_at`."""
    policy = office.get("policy") or {}
    tz = office["time_zone"]
    extra = _extra_closed(office)
    started = calendar.request_clock_start(received_at, tz, extra)
    due = calendar.sla_due_at(received_at, int(policy.get("sla_working_days", 3)), tz, extra)
    margin = int(policy.get("sla_at_risk_margin_working_days", 1))
    at_risk = calendar.at_risk_at(due, margin, tz, extra)
    state = calendar.sla_state(received_at, due, margin, tz, extra)
    # The scheduler's SLA sweep looks at a consultation first at its at-risk moment, even when that is
    # already past (a margin as long as the SLA: at risk from the start), so the at-risk alert goes out.
    return {
        "started_at": started,
        "due_at": due,
        "at_risk_at": at_risk,
        "state": state,
        "paused": False,
        "alerted": [],
        "check_at": at_risk,
    }


def _resume_sla(office: Doc, c: Doc, now: datetime) -> Doc:
    """The SLA fields after a clarification pause ends, on the office's calendar (its extra closed dates too)."""
    sla = c.get("sla") or {}
    tz = office["time_zone"]
    extra = _extra_closed(office)
    due = calendar.sla_resume_due_at(sla["due_at"], sla.get("paused_at") or now, now, tz, extra)
    margin = int(sla.get("margin", (office.get("policy") or {}).get("sla_at_risk_margin_working_days", 1)))
    at_risk = calendar.at_risk_at(due, margin, tz, extra)
    state = calendar.sla_state(now, due, margin, tz, extra)
    # Past the at-risk moment the sweep is due at once: it sends whichever alert has not gone out yet.
    return {
        "sla.paused": False,
        "sla.paused_at": None,
        "sla.due_at": due,
        "sla.at_risk_at": at_risk,
        "sla.state": state,
        "sla.check_at": at_risk if state == "on_track" else now,
    }


async def _maybe_mail_reply(svc: Services, c: Doc, msg: Doc) -> None:
    """E-mail the user about a reply when they are not connected, at most once per 15 minutes."""
    presence: PresenceLookup | None = svc.extras.get("presence")
    if presence is not None and presence.is_online(str(c["user_id"])):
        return
    now = svc.now()
    claimed = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "$or": [{"reply_mail_at": None}, {"reply_mail_at": {"$lte": now - REPLY_MAIL_INTERVAL}}]},
        {"$set": {"reply_mail_at": now}},
        after=False,
    )
    if claimed is None:
        return
    from server.mail import mailing

    await mailing.officer_replied(svc, c, msg)


# --- lifecycle --------------------------------------------------------------------------------


async def _next_number(svc: Services, office: str, now: datetime) -> str:
    """The next human consultation number of an office for the year (e.g. 7406-2026-00012)."""
    year = now.year
    key = f"consultation:{office}:{year}"
    for _ in range(10):
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
    raise Conflict("busy", "could not number the consultation; try again / coba lagi")


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
) -> tuple[Doc, Doc]:
    """A verified user opens a consultation with its first message; returns (consultation, message)."""
    if is_staff(user) and channel == "online":
        raise Forbidden("forbidden", "staff cannot open consultations as users")
    if not user.get("email_verified_at"):
        raise Forbidden("email_not_verified", "verify your e-mail first")
    if topic not in TOPICS:
        raise ValidationFailed("invalid_topic", f"topic must be one of {', '.join(TOPICS)}", field="topic")
    subject = clean_text(subject, field="subject", max_chars=SUBJECT_MAX_CHARS)
    text = clean_text(text)
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
            **sla_plan(off, now),
            "margin": int((off.get("policy") or {}).get("sla_at_risk_margin_working_days", 1)),
        },
        "kb_query": kb_query,
        "kb_opened": opened,
        "transfers": [],
    }
    if client_id:
        c["client_id"] = client_id
    res = await svc.db.consultations.insert_one(c)
    c["_id"] = res.inserted_id
    msg, c = await post_message(svc, user, c, text=text)
    from server.mail import mailing

    await mailing.consultation_received(svc, c, off)
    from server.domain import kb

    await kb.record_unanswered(svc, user, kb_query, office)
    if (off.get("policy") or {}).get("auto_assign"):
        c = await auto_assign(svc, c, off) or c
    await emit_updated(svc, c)
    await emit_queue(svc, office)
    log.info("consultation opened id=%s office=%s", c["_id"], office)
    return c, msg


async def auto_assign(svc: Services, c: Doc, office: Doc) -> Doc | None:
    """Give a queued consultation to the least-loaded online officer under the office's maximum."""
    presence: PresenceLookup | None = svc.extras.get("presence")
    if presence is None:
        return None
    online = presence.online_staff(office["code"])
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
    c = consultation if isinstance(consultation, dict) else await load(svc, consultation)
    if not can_view(staff, c):
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
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
    verb = "ditugaskan kepada" if auto else "diambil oleh"
    _, updated = await post_message(
        svc,
        None,
        updated,
        text=f"Konsultasi {verb} {staff['name']}.",
        kind="system",
        data={"event": "claimed", "by": str(staff["_id"]), "auto": auto},
    )
    await emit_updated(svc, updated)
    await emit_queue(svc, updated["office"])
    return updated


async def transfer(
    svc: Services, staff: Doc, consultation: Any, *, to_user: Any = None, to_office: str | None = None
) -> Doc:
    """Hand a consultation to another officer or another office; history stays with it."""
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff can transfer")
    c = await load_for(svc, staff, consultation)
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
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
        target = await svc.db.users.find_one({"_id": oid(to_user, "officer")})
        if target is None or not is_staff(target) or (target.get("office") not in (None, target_office)):
            raise ValidationFailed("invalid_to_user", "the officer is not staff of that office", field="to_user")
        sets.update(
            {"status": "active", "assigned_to": target["_id"], "assigned_name": target["name"], "claimed_at": now}
        )
        record["to_user"] = target["_id"]
        text = f"Konsultasi dialihkan ke {target['name']}"
        if target_office != c["office"]:
            text += f" ({off['name']})"
    else:
        sets.update({"status": "queued", "assigned_to": None, "assigned_name": None})
        record["to_user"] = None
        text = f"Konsultasi dialihkan ke {off['name']}"
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": {"$ne": "closed"}},
        {"$set": sets, "$push": {"transfers": record}},
    )
    if updated is None:
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    _, updated = await post_message(
        svc,
        None,
        updated,
        text=text + ".",
        kind="system",
        data={
            "event": "transferred",
            "to_office": target_office,
            "to_user": str(record["to_user"]) if record["to_user"] else None,
        },
    )
    await emit_updated(svc, updated)
    await emit_queue(svc, c["office"])
    if target_office != c["office"]:
        await emit_queue(svc, target_office)
    return updated


async def close(
    svc: Services,
    actor: Doc | None,
    consultation: Any,
    *,
    summary: str | None = None,
    reason: str | None = None,
    only_if: Doc | None = None,
) -> Doc:
    """Close (staff, its user, or the idle scheduler); queues the transcript and the rating request.

    `only_if` adds conditions to the closing write (the idle scheduler passes its claim, so a reply
    that arrived after the claim keeps the consultation open); unmet, it raises Conflict(not_closed).
    """
    c = consultation if isinstance(consultation, dict) else await load(svc, consultation)
    if actor is not None:
        if not can_view(actor, c):
            raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    if summary is not None:
        summary = clean_text(summary, field="summary") if summary.strip() else None
    why = reason or ("resolved" if is_staff(actor) else "user")
    now = svc.now()
    updated = await update_and_get(
        svc.db.consultations,
        {**(only_if or {}), "_id": c["_id"], "status": {"$ne": "closed"}},
        {
            "$set": {
                "status": "closed",
                "close_reason": why,
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
        raise Conflict("consultation_closed", "this consultation is closed already / konsultasi sudah ditutup")
    who = actor["name"] if actor else "sistem"
    text = {
        "resolved": f"Konsultasi ditutup oleh {who}.",
        "user": f"Konsultasi ditutup oleh {who}.",
        "idle": "Konsultasi ditutup otomatis karena tidak ada balasan dari pengguna.",
    }.get(why, "Konsultasi ditutup.")
    if summary:
        text += f" Ringkasan: {summary}"
    _, updated = await post_message(
        svc, None, updated, text=text, kind="system", data={"event": "closed", "reason": why}
    )
    _, updated = await post_message(
        svc,
        None,
        updated,
        kind="system",
        text="Mohon beri penilaian atas layanan ini (1–5) / Please rate this service.",
        data={"event": "rating_prompt"},
    )
    from server.mail import mailing

    await mailing.consultation_closed(svc, updated)
    await emit_updated(svc, updated)
    if c["status"] == "queued":
        await emit_queue(svc, updated["office"])
    return updated


async def _reopen(svc: Services, c: Doc, user: Doc) -> Doc:
    now = svc.now()
    status = "active" if c.get("assigned_to") else "queued"
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": "closed", "close_reason": "idle"},
        {
            "$set": {"status": status, "close_reason": None, "closed_at": None, "reopened_at": now, "updated_at": now},
            "$unset": {"rating_reminder_at": ""},
        },
    )
    if updated is None:
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    _, updated = await post_message(
        svc,
        None,
        updated,
        kind="system",
        text=f"Konsultasi dibuka kembali oleh {user['name']}.",
        data={"event": "reopened"},
    )
    return updated


async def set_awaiting_clarification(svc: Services, staff: Doc, consultation: Any, awaiting: bool) -> Doc:
    """Stop (or restart) the SLA clock while the request is not yet clear."""
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff")
    c = await load_for(svc, staff, consultation)
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed")
    sla = c.get("sla") or {}
    if sla.get("state") == "met":
        raise Conflict("sla_met", "the request was already answered")
    now = svc.now()
    if awaiting and not sla.get("paused"):
        sets: Doc = {"sla.paused": True, "sla.paused_at": now, "sla.check_at": None}
        text = "Petugas meminta klarifikasi; batas waktu layanan dihentikan sementara sampai Anda membalas."
    elif not awaiting and sla.get("paused"):
        sets = _resume_sla(await get_office(svc, c["office"]), c, now)
        text = "Permintaan dinyatakan jelas; batas waktu layanan berjalan kembali."
    else:
        return c
    updated = await update_and_get(svc.db.consultations, {"_id": c["_id"]}, {"$set": sets})
    assert updated is not None
    _, updated = await post_message(
        svc, None, updated, kind="system", text=text, data={"event": "sla_paused" if awaiting else "sla_resumed"}
    )
    await emit_updated(svc, updated)
    return updated


async def mark_read(svc: Services, user: Doc, consultation: Any, seq: Any) -> Doc:
    """Move the reader's read pointer forward (never back) and tell the room."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationFailed("invalid_seq", "seq must be a non-negative integer", field="seq")
    c = await load_for(svc, user, consultation)
    last_seq = int(c.get("last_seq", 0))
    limit = last_seq if is_staff(user) else int(c.get("last_visible_seq", last_seq))
    seq = min(seq, limit)
    key = f"reads.{user['_id']}"
    updated = await update_and_get(svc.db.consultations, {"_id": c["_id"]}, {"$max": {key: seq}})
    assert updated is not None
    await svc.events.emit(
        "message:read",
        {"consultation_id": str(c["_id"]), "user_id": str(user["_id"]), "seq": int(updated["reads"][str(user["_id"])])},
        consultation_room(str(c["_id"])),
    )
    return updated


HISTORY_WINDOWS_MAX = 50


async def _window(svc: Services, cid: Any, lo: int, hi: int, staff: bool, descending: bool) -> list[Doc]:
    """Messages with lo <= seq <= hi (an equality plus a closed range: answered from the index)."""
    cursor = svc.db.messages.find({"consultation_id": cid, "seq": {"$gte": lo, "$lte": hi}}).sort(
        "seq", -1 if descending else 1
    )
    return [m async for m in cursor if staff or m["kind"] != "note"]


async def history(
    svc: Services, user: Doc, consultation: Any, *, after_seq: int = 0, limit: int = 100, before_seq: int | None = None
) -> tuple[Doc, list[Doc]]:
    """Messages after `after_seq` in seq order (or the last `limit` before `before_seq`); notes for staff only.

    Seqs have no gaps, so a page is a window of seqs read by equality + closed range on the
    (consultation_id, seq) index; an open-ended or filtered query makes the embedded database read
    the whole room (or collection). For a user, notes are dropped and the window widens until the
    page is full. A last window past `last_seq` picks up a message whose room update is still in flight.
    """
    c = await load_for(svc, user, consultation)
    limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
    staff = is_staff(user)
    last = int(c.get("last_seq", 0))
    msgs: list[Doc] = []
    if before_seq is not None:
        hi = min(int(before_seq), last + 1) - 1
        for _ in range(HISTORY_WINDOWS_MAX):
            if hi < 1 or len(msgs) >= limit:
                break
            lo = max(1, hi - (limit - len(msgs)) + 1)
            msgs.extend(await _window(svc, c["_id"], lo, hi, staff, descending=True))
            hi = lo - 1
        msgs = msgs[:limit]
        msgs.reverse()
        return c, msgs
    lo = max(0, int(after_seq)) + 1
    for _ in range(HISTORY_WINDOWS_MAX):
        if len(msgs) >= limit:
            break
        hi = lo + (limit - len(msgs)) - 1
        page = await _window(svc, c["_id"], lo, hi, staff, descending=False)
        msgs.extend(page)
        if hi >= last and not page:
            break
        lo = hi + 1
        if lo > last + limit:
            break
    return c, msgs[:limit]


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
    limit = max(1, min(int(limit), 500))
    sort_key = "last_message_at" if "assigned_to" in query else "created_at"
    cursor = svc.db.consultations.find(query).sort(sort_key, -1).limit(limit)
    return [c async for c in cursor]


def parse_int(value: Any, name: str, default: int, lo: int, hi: int) -> int:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"invalid_{name}", f"{name} must be an integer") from None
    if n < lo or n > hi:
        raise BadRequest(f"invalid_{name}", f"{name} must be between {lo} and {hi}")
    return n
