"""Online meetings of a consultation: Zoom, Jitsi or a pasted link, created, moved, cancelled, reminded.

The provider creates the meeting, the whole document (with the host's `start_url`) goes to the
`meetings` collection and nowhere else; the room message, `consultation.meeting`, the
consultation:updated events, the e-mails and the transcript only ever get `_public_parts()`, a
whitelist. Every invite carries an .ics whose UID is fixed per meeting and whose SEQUENCE grows
with each change (RFC 5546), so calendars update or cancel the one event. The providers are
`svc.meetings` (server/integrations/meeting_backends.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from server.domain import access, calendar, messages
from server.domain.errors import Conflict, Forbidden, NotFound, Unavailable, ValidationFailed
from server.domain.models import is_staff, object_id
from server.domain.offices import get_office
from server.domain.ports import MeetingRequest
from server.integrations import check_duration, check_start, clean_topic
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

MEETING_PROVIDERS = ("zoom", "jitsi", "link")
DEFAULT_MEETING_MINUTES = 60
MEETING_REMINDER_LEAD = timedelta(minutes=15)


# --- shapes and texts -----------------------------------------------------------------------


def reminder_at_for(start: datetime | None, now: datetime) -> datetime | None:
    """When to remind of a meeting starting at `start`: 15 minutes before, if that is still ahead."""
    if start is None:
        return None
    at = start - MEETING_REMINDER_LEAD
    return at if at > now else None


def _when_text(start: datetime | None, tz: str, lang: str = "id") -> str:
    if start is None:
        return "sekarang (pertemuan instan)" if lang != "en" else "now (instant meeting)"
    return calendar.local_date_str(start, tz, lang if lang in ("id", "en") else "id")


def _public_parts(m: Doc, lang: str = "id") -> Doc:
    """The meeting as the user may see it. A whitelist: a new host-only field can never slip out."""
    start: datetime | None = m.get("start_time")
    tz = str(m.get("timezone") or "Asia/Jakarta")
    active = m.get("status") != "cancelled"
    return {
        "id": str(m["_id"]),
        "consultation_id": str(m["consultation_id"]),
        "provider": m["provider"],
        "join_url": m["join_url"] if active else None,
        "passcode": m.get("passcode") if active else None,
        "start_time": start,
        "start_local": start.astimezone(ZoneInfo(tz)).isoformat() if start else None,
        "when_text": _when_text(start, tz, lang),
        "instant": start is None,
        "duration": int(m["duration"]),
        "timezone": tz,
        "topic": m.get("topic"),
        "status": m.get("status", "scheduled"),
        "sequence": int(m.get("sequence", 0)),
    }


def public_meeting_of(m: Doc) -> Doc:
    """The JSON a participant gets for a stored meeting document."""
    from server.domain.models import public_meeting

    out = public_meeting(_public_parts(m))
    assert out is not None
    return out


def providers(svc: Services, staff: Doc) -> Doc:
    """What the meeting dialog may offer: the configured providers (the default first).

    Administrators also learn which providers wait for settings, so the hint reaches the operator
    and not an officer's toast.
    """
    if not is_staff(staff):
        raise Forbidden("forbidden", "only staff / hanya petugas")
    names = svc.meetings.configured()
    out: Doc = {"providers": names, "default": names[0]}
    if staff.get("role") == "admin":
        out["unconfigured"] = svc.meetings.unconfigured()
    return out


def _consultation_topic(c: Doc) -> str:
    subject = " ".join(str(c.get("subject") or "").split())
    base = f"Konsultasi PST {c.get('number')}"
    return clean_topic(f"{base}: {subject}" if subject else base)


def _require_staff_of(staff: Doc, c: Doc) -> None:
    if not is_staff(staff) or not access.can_view(staff, c):
        raise Forbidden("forbidden", "only staff of this consultation's office / hanya petugas kantor ini")


def _meeting_oid(value: Any) -> ObjectId:
    return object_id(value, code="meeting_not_found", message="meeting not found / pertemuan tidak ditemukan")


async def _load_meeting(svc: Services, meeting_id: Any) -> Doc:
    m = await svc.db.meetings.find_one({"_id": _meeting_oid(meeting_id)})
    if m is None:
        raise NotFound("meeting_not_found", "meeting not found / pertemuan tidak ditemukan")
    return m


async def load_meeting_for_staff(svc: Services, staff: Doc, meeting_id: Any) -> Doc:
    """The stored meeting (host fields included) if `staff` works on its consultation."""
    m = await _load_meeting(svc, meeting_id)
    c = await access.load(svc, m["consultation_id"])
    if not is_staff(staff) or not access.can_view(staff, c):
        # Someone else's meeting is as good as absent: its id tells nothing.
        raise NotFound("meeting_not_found", "meeting not found / pertemuan tidak ditemukan")
    return m


async def host_start_url(svc: Services, m: Doc) -> str:
    """The host's start link, refreshed at Zoom when possible (its host key expires)."""
    backend = svc.meetings.get(m["provider"])
    if backend is not None and m.get("status") == "scheduled":
        fresh = await backend.fresh_start_url(m)
        if fresh:
            await svc.db.meetings.update_one({"_id": m["_id"]}, {"$set": {"start_url": fresh}})
            return fresh
    return str(m["start_url"])


async def _set_consultation_meeting(svc: Services, c: Doc, m: Doc, *, only_if_current: bool) -> Doc:
    """Store the meeting's public parts on the consultation (unless a newer meeting is shown there)."""
    query: Doc = {"_id": c["_id"]}
    if only_if_current:
        query["meeting.id"] = str(m["_id"])
    updated = await update_and_get(
        svc.db.consultations, query, {"$set": {"meeting": _public_parts(m), "updated_at": svc.now()}}
    )
    if updated is None:
        return await access.load(svc, c["_id"])
    return updated


async def _post_meeting_message(
    svc: Services, c: Doc, m: Doc, action: str, *, client_id: str | None = None
) -> tuple[Doc, Doc]:
    parts = _public_parts(m)
    # A cancellation or reminder may land in a closed room, which takes only system messages.
    kind = "meeting" if action in ("created", "updated") and c["status"] != "closed" else "system"
    # The room message's text is the catalog's meeting.<action> (server/i18n.py).
    params = {k: parts[k] for k in ("provider", "duration", "join_url", "passcode")}
    params.update(start=parts["start_time"], tz=parts["timezone"])
    return await messages.post_system_message(
        svc, c, f"meeting.{action}", params=params, kind=kind, meeting=parts, client_id=client_id
    )


# --- actions -------------------------------------------------------------------------------


async def create_meeting(
    svc: Services,
    staff: Doc,
    consultation_id: Any,
    *,
    provider: str,
    start_time: datetime | None = None,
    duration_min: int = DEFAULT_MEETING_MINUTES,
    url: str | None = None,
    topic: str | None = None,
) -> tuple[Doc, Doc, Doc]:
    """Create a meeting, post it in the room, e-mail the invite; (stored meeting, message, consultation)."""
    c = await access.load(svc, consultation_id)
    _require_staff_of(staff, c)
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    backend = svc.meetings.get(provider)
    if backend is None:
        raise ValidationFailed(
            "invalid_provider", f"provider must be one of {', '.join(MEETING_PROVIDERS)}", field="provider"
        )
    if provider not in svc.meetings.configured():
        raise Unavailable("provider_not_configured", f"{provider} is not configured on this server", provider=provider)
    office = await get_office(svc, c["office"])
    tz = str(office["time_zone"])
    now = svc.now()
    req = MeetingRequest(
        topic=clean_topic(topic) if topic else _consultation_topic(c),
        start=check_start(start_time, now),
        duration_min=check_duration(duration_min),
        tz=tz,
        now=now,
        url=url,
        user_name=c.get("user_name"),
        host_name=staff.get("name"),
        agenda=f"{office.get('name')} — PST Konsultasi {c.get('number')}",
    )
    created = await backend.create(req)
    mid = ObjectId()
    doc: Doc = {
        "_id": mid,
        **created,
        "consultation_id": c["_id"],
        "office": c["office"],
        "status": "scheduled",
        "sequence": 0,
        "uid": f"pst-meeting-{mid}@{mailing.mail_domain(svc)}",
        "created_by": staff["_id"],
        "created_by_name": staff.get("name"),
        "created_at": now,
        "updated_at": now,
    }
    reminder = reminder_at_for(doc["start_time"], now)
    if reminder is not None:
        doc["reminder_at"] = reminder
    try:
        await svc.db.meetings.insert_one(doc)
    except Exception:
        # Not stored means nobody can cancel it later: take it back at the provider now.
        try:
            await backend.cancel(doc)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            log.warning("meeting %s could not be stored nor taken back at %s", mid, provider)
        raise
    log.info("meeting %s (%s) created for consultation %s", mid, provider, c["_id"])
    msg, c = await _post_meeting_message(svc, c, doc, "created")
    c = await _set_consultation_meeting(svc, c, doc, only_if_current=False)
    await access.emit_updated(svc, c)
    await mailing.meeting_changed(svc, c, office, doc, "created", _public_parts)
    return doc, msg, c


async def reschedule_meeting(
    svc: Services,
    staff: Doc,
    meeting_id: Any,
    *,
    start_time: datetime | None,
    duration_min: int | None = None,
) -> tuple[Doc, Doc, Doc]:
    """Move a meeting; the room, the user's calendar (SEQUENCE + 1) and the reminder follow."""
    m = await load_meeting_for_staff(svc, staff, meeting_id)
    c = await access.load(svc, m["consultation_id"])
    if m["status"] != "scheduled":
        raise Conflict("meeting_cancelled", "this meeting was cancelled / pertemuan ini sudah dibatalkan")
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    if start_time is None:
        raise ValidationFailed(
            "missing_start_time",
            "Waktu mulai baru wajib diisi / A new start time is required",
            field="start_time",
        )
    now = svc.now()
    office = await get_office(svc, c["office"])
    req = MeetingRequest(
        topic=str(m.get("topic") or ""),
        start=check_start(start_time, now),
        duration_min=check_duration(duration_min if duration_min is not None else int(m["duration"])),
        tz=str(m["timezone"]),
        now=now,
        user_name=c.get("user_name"),
        host_name=staff.get("name"),
    )
    changes = await svc.meetings[m["provider"]].reschedule(m, req)
    sets: Doc = {
        "start_time": req.start,
        "duration": req.duration_min,
        "updated_at": now,
        "rescheduled_by": staff["_id"],
        "reminded_at": None,
        **changes,
    }
    update: Doc = {"$set": sets, "$inc": {"sequence": 1}}
    reminder = reminder_at_for(req.start, now)
    if reminder is not None:
        sets["reminder_at"] = reminder
    else:
        update["$unset"] = {"reminder_at": ""}
    # Guarded by the sequence read above: two officers moving it at once must not both win silently.
    updated = await update_and_get(
        svc.db.meetings,
        {"_id": m["_id"], "status": "scheduled", "sequence": m.get("sequence", 0)},
        update,
    )
    if updated is None:
        raise Conflict("meeting_changed", "the meeting changed meanwhile; reload it / pertemuan baru saja berubah")
    msg, c = await _post_meeting_message(svc, c, updated, "updated")
    c = await _set_consultation_meeting(svc, c, updated, only_if_current=True)
    await access.emit_updated(svc, c)
    await mailing.meeting_changed(svc, c, office, updated, "updated", _public_parts)
    return updated, msg, c


async def cancel_meeting(svc: Services, staff: Doc, meeting_id: Any) -> tuple[Doc, Doc | None, Doc]:
    """Cancel a meeting (idempotent); the user's calendar gets METHOD:CANCEL with the next SEQUENCE."""
    m = await load_meeting_for_staff(svc, staff, meeting_id)
    c = await access.load(svc, m["consultation_id"])
    if m["status"] == "cancelled":
        return m, None, c
    await svc.meetings[m["provider"]].cancel(m)
    now = svc.now()
    updated = await update_and_get(
        svc.db.meetings,
        {"_id": m["_id"], "status": "scheduled"},
        {
            "$set": {
                "status": "cancelled",
                "cancelled_at": now,
                "cancelled_by": staff["_id"],
                "updated_at": now,
            },
            "$inc": {"sequence": 1},
            "$unset": {"reminder_at": ""},
        },
    )
    if updated is None:  # cancelled by someone else in the meantime
        return await _load_meeting(svc, m["_id"]), None, c
    office = await get_office(svc, c["office"])
    msg, c = await _post_meeting_message(svc, c, updated, "cancelled")
    c = await _set_consultation_meeting(svc, c, updated, only_if_current=True)
    await access.emit_updated(svc, c)
    await mailing.meeting_changed(svc, c, office, updated, "cancelled", _public_parts)
    return updated, msg, c


def reminder_due(m: Doc, now: datetime) -> bool:
    """A scheduled meeting with a start gets its reminder until it ends; after that it only confuses."""
    start: datetime | None = m.get("start_time")
    if m.get("status") != "scheduled" or start is None:
        return False
    return now < start + timedelta(minutes=int(m["duration"]))


async def remind_meeting(svc: Services, m: Doc) -> bool:
    """The 15-minute reminder, in the room and by e-mail; False when there is nothing to remind of.

    Safe to repeat (a scheduler redoes it after a crash): the room message carries a client_id and
    the e-mail a dedupe_key, both per meeting and SEQUENCE.
    """
    if not reminder_due(m, svc.now()):
        return False
    c = await access.load(svc, m["consultation_id"])
    office = await get_office(svc, c["office"])
    await _post_meeting_message(svc, c, m, "reminder", client_id=f"meeting-reminder:{m['_id']}:{m.get('sequence', 0)}")
    await mailing.meeting_reminder(svc, c, office, m, _public_parts)
    return True
