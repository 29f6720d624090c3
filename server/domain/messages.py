"""Messages of a consultation: a person's message, a system message, reading them, the read pointer.

`post_message` is the one place that decides who may write what: a user writes text (and files,
through the attachment upload), staff also write internal notes; every other kind is the system's,
written by `post_system_message` from a key of the catalog (server.i18n). Both number the message
with the next `seq` of its consultation, update the consultation once, then emit.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from bson import ObjectId

from server import i18n
from server.domain import access, audit, delivery, durations, events, sla
from server.domain.errors import Busy, Conflict, Forbidden, ValidationFailed, is_duplicate_key
from server.domain.inputs import MESSAGE_MAX_CHARS
from server.domain.models import PREVIEW_CHARS, is_staff
from server.domain.offices import get_office
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get
from server.storage.batching import apply_update

log = logging.getLogger(__name__)

Doc = dict[str, Any]

HISTORY_PAGE_MAX = 200
HISTORY_WINDOWS_MAX = 50
REOPEN_AFTER_IDLE_WINDOW = timedelta(days=7)
REPLY_MAIL_INTERVAL = timedelta(minutes=15)
CLIENT_ID_MAX_CHARS = 100
SEQ_ATTEMPTS = 50
# mark_read looks for a message this far past the last one its process knows of (stored through another).
READ_AHEAD_MAX = 1000

# What a person may write; files arrive through the attachment upload (server.domain.officer_tools).
USER_KINDS = ("text", "file")
STAFF_KINDS = ("text", "note", "file")
# What only the system writes. A closed consultation still takes system and rating messages.
SYSTEM_KINDS = ("system", "meeting", "rating")
_KINDS_INTO_CLOSED = ("system", "rating")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A lone UTF-16 surrogate (JSON's "\ud800" escape) cannot be stored (UTF-8 has no encoding for it).
_SURROGATE = re.compile("[\ud800-\udfff]")
_SYSTEM_AUTHOR: Doc = {"author_id": None, "author_name": "Sistem", "author_role": "system"}


def clean_text(text: Any, *, field: str = "text", max_chars: int = MESSAGE_MAX_CHARS) -> str:
    """Message text as stored: no control characters, trimmed, not empty, not too long."""
    if not isinstance(text, str):
        raise ValidationFailed("invalid_text", f"{field} must be a string", field=field)
    if _SURROGATE.search(text):
        raise ValidationFailed("invalid_text", f"{field} is not valid Unicode text", field=field)
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


def preview(msg: Doc) -> Doc:
    """What a consultation keeps of its last message for lists: the start of its text."""
    text = msg.get("text", "")
    if msg["kind"] == "file" and msg.get("attachment"):
        text = "📎 " + msg["attachment"].get("filename", "")
    out: Doc = {
        "seq": msg["seq"],
        "kind": msg["kind"],
        "text": text[:PREVIEW_CHARS],
        "author_name": msg.get("author_name"),
        "created_at": msg["created_at"],
    }
    data = msg.get("data") or {}
    if data.get("key"):
        # A system message: the lists render it again in their reader's language (models._last_message).
        out["key"] = data["key"]
        out["params"] = data.get("params") or {}
    return out


def _check_client_id(client_id: str | None) -> None:
    if client_id is not None and (
        not isinstance(client_id, str)
        or not (1 <= len(client_id) <= CLIENT_ID_MAX_CHARS)
        or _SURROGATE.search(client_id)
    ):
        raise ValidationFailed(
            "invalid_client_id", f"client_id must be 1..{CLIENT_ID_MAX_CHARS} characters", field="client_id"
        )


# --- storing ----------------------------------------------------------------------------------


async def _max_seq(svc: Services, cid: ObjectId) -> int:
    last = await svc.db.messages.find_one({"consultation_id": cid}, {"seq": 1}, sort=[("seq", -1)])
    return int(last["seq"]) if last else 0


async def _insert_message(svc: Services, c: Doc, doc: Doc) -> tuple[Doc, bool]:
    """Store a message with the next seq of its consultation: (message, created).

    The seq comes from the unique (consultation_id, seq) index: we try last+1 and on a clash
    re-read the highest seq, so there are no gaps (a failed insert consumes nothing) and no repeats.
    A clash on (consultation_id, client_id) means this is a retry: the first message is returned.
    `svc.rooms` serialises this process's sends to one room and remembers its last seq (hints only).
    """
    cid = c["_id"]
    room = str(cid)
    async with svc.rooms.lock(room):
        # Both are lower bounds of the room's last seq: our own last insert, and the consultation as read
        # (another process's messages move only the latter: read again after their write was heard).
        seq = max(svc.rooms.last_seq(room) or 0, int(c.get("last_seq", 0)), 0)
        for _attempt in range(SEQ_ATTEMPTS):
            doc["seq"] = seq + 1
            doc.pop("_id", None)
            try:
                # Grouped with the other rooms' messages in flight: one insert_many (server.storage.batching);
                # past saturation it refuses (Overloaded: the transports answer `busy`).
                inserted_id = await svc.batch.messages.insert(doc)
            except Exception as exc:
                if not is_duplicate_key(exc):
                    raise
                if doc.get("client_id"):
                    existing = await svc.db.messages.find_one({"consultation_id": cid, "client_id": doc["client_id"]})
                    if existing is not None:
                        return existing, False
                seq = await _max_seq(svc, cid)
                continue
            doc["_id"] = inserted_id
            svc.rooms.remember_seq(room, doc["seq"])
            return doc, True
    raise Busy("the consultation is busy; try again")


# A message's room update: one update by `_id` that gives the same room in whatever order it lands among the
# others (this process's trailing ones, another process's, the urgent ones). Counters, times and previews
# only grow (`$max`; a preview starts with its seq, and MongoDB compares objects field by field). So does
# the idle state: a staff reply's plan is {seq, ...}, a user's reply is {seq} (no plan: it ended every plan
# before it), and the highest seq wins. Such an update may trail the message's acknowledgement
# (server.storage.batching.Trailing, Settings.pst_trailing_secs); one that changes the SLA, answers first, or
# touches an idle plan the sweep may act on within IDLE_PLAN_MARGIN goes at once.
IDLE_PLAN_MARGIN = timedelta(minutes=5)


def room_update(c: Doc, msg: Doc, user: Doc | None, office: Doc | None) -> tuple[Doc, bool]:
    """The update (of `c` by its `_id`) that records `msg` on consultation `c` (as this process knows it),
    and whether it may trail. `office` is needed for a staff text or file, and for a user's reply while the
    SLA is paused."""
    now = msg["created_at"]
    seq = msg["seq"]
    last = preview(msg)
    maxes: Doc = {"last_seq": seq, "last_message": last, "updated_at": now}
    sets: Doc = {}
    unsets: Doc = {}
    urgent = False
    if msg["kind"] != "note":
        maxes.update(last_visible_seq=seq, last_visible_message=last, last_message_at=now)
    if user is not None:
        # Writing a message means having read up to it.
        maxes[f"reads.{user['_id']}"] = seq
    staff = is_staff(user)
    sla_state = c.get("sla") or {}
    if user is not None and not staff and msg["kind"] != "note":
        maxes["last_user_message_at"] = now
        # Ends the idle plan of every staff message before it, and only those.
        maxes["idle"] = {"seq": seq}
        if sla_state.get("paused"):
            assert office is not None
            sets.update(sla.resume_sla(office, c, now))
            urgent = True
    elif staff and msg["kind"] in ("text", "file"):
        assert office is not None
        maxes["last_staff_message_at"] = now
        maxes["idle"] = {"seq": seq, **sla.idle_plan(office, now)}
        if sla_state.get("state") != "met" and not c.get("first_response_at"):
            sets["first_response_at"] = now
            # Counted once here on the office's calendar, so the reports take percentiles in the database.
            sets[durations.FIRST_RESPONSE_FIELD] = durations.first_response_minutes(office, c, now)
            urgent = True
        # The SLA is met by the first answer, not by a greeting (post_message marks which is which).
        if msg.get("answer") and sla_state.get("state") != "met":
            sets["answered_at"] = now
            sets["sla.state"] = "met"
            sets["sla.met_at"] = now
            sets["sla.paused"] = False
            unsets["sla.check_at"] = ""
            urgent = True
    # Ending or replacing an idle plan the sweep may act on in the moment before the update lands: at once.
    check_at = (c.get("idle") or {}).get("check_at")
    if "idle" in maxes and check_at is not None and check_at <= now + IDLE_PLAN_MARGIN:
        urgent = True
    main: Doc = {"$max": maxes}
    if sets:
        main["$set"] = sets
    if unsets:
        main["$unset"] = unsets
    return main, not urgent


async def _after_message(svc: Services, c: Doc, msg: Doc, user: Doc | None) -> Doc:
    """The room's update for one message: counters, previews, SLA and idle bookkeeping."""
    office = None
    if (is_staff(user) and msg["kind"] in ("text", "file")) or (
        user is not None and (c.get("sla") or {}).get("paused")
    ):
        office = await get_office(svc, c["office"])
    update, may_trail = room_update(c, msg, user, office)
    return await _write_room_update(svc, c, update, may_trail)


async def _write_room_update(svc: Services, c: Doc, update: Doc, may_trail: bool) -> Doc:
    """Write `update` of room `c` and return the room with it; our copy gets it too."""
    if svc.batch.trailing.active and may_trail:
        # Written within a moment, with the room's next messages and the other rooms' (one bulk_write);
        # the caller goes on without waiting for it.
        svc.batch.trailing.add(c["_id"], update)
    else:
        # Grouped with the other rooms' updates in flight (one bulk_write), with this room's trailing ones.
        await svc.batch.trailing.send(c["_id"], update)
    # Applied to our copy (marked SELF_APPLIED: server.storage.write_watch) instead of reading it back; once
    # when the copy is the consultation the update was written to (load_kept returned it).
    updated = apply_update(c, update)
    svc.consultations.apply(c["_id"], lambda kept: updated if kept is c else apply_update(kept, update))
    return dict(updated)


async def _store(svc: Services, c: Doc, doc: Doc, user: Doc | None) -> tuple[Doc, Doc, bool]:
    """Insert, update the consultation, emit message:new: (message, consultation, created)."""
    msg, created = await _insert_message(svc, c, doc)
    if not created:
        return msg, c, False
    sla_before = c.get("sla")
    c = await _after_message(svc, c, msg, user)
    await events.emit_message_new(svc.events, c, msg)
    if c.get("sla") != sla_before:
        # The first answer met the SLA, or the user's reply ended a clarification: every open view
        # (the officer's buttons and badges, the user's deadline line) follows the change.
        await access.emit_updated(svc, c)
    return msg, c, True


# --- the system's messages --------------------------------------------------------------------


def _system_text(key: str, params: Doc) -> str:
    """The stored text: the catalog's Indonesian, cleaned like any message, cut to the maximum length."""
    return _CONTROL.sub("", i18n.t(key, "id", **params)).strip()[:MESSAGE_MAX_CHARS]


async def post_system_message(
    svc: Services,
    consultation: Doc | Any,
    key: str,
    *,
    params: Doc | None = None,
    kind: str = "system",
    data: Doc | None = None,
    meeting: Doc | None = None,
    client_id: str | None = None,
) -> tuple[Doc, Doc]:
    """A message written by the system from catalog `key`; returns (message, consultation).

    The message keeps `data.key` and `data.params` beside its text in Indonesian, so a reader's page
    can show it in the reader's language. A `client_id` makes it idempotent (a retried job finds the
    first one). Meeting messages need an open consultation; system and rating messages do not.
    """
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"a system message is one of {SYSTEM_KINDS}, not {kind!r}")
    _check_client_id(client_id)
    c = consultation if isinstance(consultation, dict) else await access.load(svc, consultation)
    if c["status"] == "closed" and kind not in _KINDS_INTO_CLOSED:
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    params = dict(params or {})
    doc: Doc = {
        "consultation_id": c["_id"],
        "kind": kind,
        "text": _system_text(key, params),
        "created_at": svc.now(),
        **_SYSTEM_AUTHOR,
        "data": {**(data or {}), "key": key, "params": params},
    }
    if client_id:
        doc["client_id"] = client_id
    if meeting:
        doc["meeting"] = meeting
    msg, c, _ = await _store(svc, c, doc, None)
    return msg, c


# --- a person's messages ----------------------------------------------------------------------


async def post_message(
    svc: Services,
    user: Doc,
    consultation: Doc | Any,
    *,
    text: str,
    kind: str = "text",
    client_id: str | None = None,
    attachment: Doc | None = None,
    answer: bool | None = None,
) -> tuple[Doc, Doc]:
    """Store one message of a user or officer and update the consultation; returns (message, consultation).

    Users write text and files, staff also internal notes; a file message carries its attachment.
    A staff text or file is the answer unless `answer` is False (a greeting, an acknowledgement, a
    request for clarification): the first answer stops the SLA clock.
    A user's message within REOPEN_AFTER_IDLE_WINDOW of an idle close reopens the consultation.
    """
    c = consultation if isinstance(consultation, dict) else await access.load_kept(svc, consultation)
    staff = is_staff(user)
    if kind not in STAFF_KINDS:
        raise ValidationFailed("invalid_kind", "kind must be text or note (files through the upload)", field="kind")
    _check_client_id(client_id)
    if not access.can_view(user, c):
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    if kind not in (STAFF_KINDS if staff else USER_KINDS):
        raise Forbidden("forbidden", "only staff can write internal notes")
    if kind == "file":
        if not attachment:
            raise ValidationFailed("missing_attachment", "a file message carries its attachment", field="attachment")
    else:
        if attachment:
            raise ValidationFailed("invalid_kind", "an attachment goes in a file message", field="kind")
        text = clean_text(text)
    reopened = False
    if c["status"] == "closed":
        if not staff and _reopens(svc, c):
            c = await _reopen_after_idle(svc, c, user)
            reopened = True
        else:
            raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    doc: Doc = {
        "consultation_id": c["_id"],
        "kind": kind,
        "text": text,
        "created_at": svc.now(),
        "author_id": user["_id"],
        "author_name": user["name"],
        "author_role": user["role"],
    }
    if client_id:
        doc["client_id"] = client_id
    if attachment:
        doc["attachment"] = attachment
    if staff and kind in ("text", "file"):
        doc["answer"] = answer is not False
    msg, c, created = await _store(svc, c, doc, user)
    if not created:
        return msg, c
    if reopened:
        await access.emit_updated(svc, c)
        await access.emit_queue(svc, c["office"])
    if staff and kind != "note":
        await _maybe_mail_reply(svc, c, msg)
    return msg, c


def _reopens(svc: Services, c: Doc) -> bool:
    """A consultation the system closed for idleness reopens when its user writes within the window."""
    closed_at = c.get("closed_at")
    if c.get("close_reason") != "idle" or closed_at is None:
        return False
    return bool(svc.now() - closed_at <= REOPEN_AFTER_IDLE_WINDOW)


async def _reopen_after_idle(svc: Services, c: Doc, user: Doc) -> Doc:
    now = svc.now()
    status = "active" if c.get("assigned_to") else "queued"
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": "closed", "close_reason": "idle"},
        {
            "$set": {
                "status": status,
                "close_reason": None,
                "close_category": None,
                "closed_at": None,
                "reopened_at": now,
                "updated_at": now,
            },
            "$unset": {"rating_reminder_at": "", durations.RESOLUTION_FIELD: ""},
        },
    )
    if updated is None:
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    _, updated = await post_system_message(
        svc, updated, "consultation.reopened", params={"user": user["name"]}, data={"event": "reopened"}
    )
    return updated


async def _maybe_mail_reply(svc: Services, c: Doc, msg: Doc) -> None:
    """E-mail the user about a reply when they are not connected, at most once per REPLY_MAIL_INTERVAL."""
    if c.get("channel") in mailing.CHANNEL_REPLIES:
        # WhatsApp and e-mail users get every answer itself by their channel, connected or not.
        state = await mailing.channel_reply(svc, c, msg)
        if state:
            await delivery.record(svc, c, msg, state)
        return
    if svc.presence.is_online(str(c["user_id"])):
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
    await mailing.officer_replied(svc, c, msg)


# --- reading ----------------------------------------------------------------------------------


async def mark_read(svc: Services, user: Doc, consultation: Any, seq: Any) -> Doc:
    """Move the reader's read pointer forward (never back) and tell the room.

    A counter: written with the room's trailing updates (may_trail), from the copy the message path keeps.
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationFailed("invalid_seq", "seq must be a non-negative integer", field="seq")
    c = consultation if isinstance(consultation, dict) else await access.load_kept(svc, consultation)
    if not access.can_view(user, c):
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    staff = is_staff(user)
    last_seq = int(c.get("last_seq", 0))
    limit = last_seq if staff else int(c.get("last_visible_seq", last_seq))
    if limit < seq <= limit + READ_AHEAD_MAX:
        # Past the last message this process knows of: one stored through another process, whose room
        # update has not reached us yet, counts when the reader may see it.
        found = await svc.db.messages.find_one({"consultation_id": c["_id"], "seq": seq}, {"kind": 1})
        if found is not None and (staff or found["kind"] != "note"):
            limit = seq
    seq = min(seq, limit)
    uid = str(user["_id"])
    updated = await _write_room_update(svc, c, {"$max": {f"reads.{uid}": seq}}, may_trail=True)
    await events.emit_message_read(svc.events, c, uid, int(updated["reads"][uid]))
    return updated


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
    c = await access.load_for(svc, user, consultation)
    limit = max(1, min(int(limit), HISTORY_PAGE_MAX))
    staff = is_staff(user)
    if staff:
        await audit.record_read(svc, user, c)
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
