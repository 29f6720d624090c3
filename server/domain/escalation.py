"""Escalation of a consultation: an online meeting (Zoom, Jitsi, a pasted link) or an in-person visit.

Meetings: the provider creates the meeting, the whole document (with the host's `start_url`) goes
to the `meetings` collection and nowhere else; the room message, `consultation.meeting`, the
consultation:updated events, the e-mails and the transcript only ever get `_public_parts()`, a
whitelist. Every invite carries an .ics whose UID is fixed per meeting and whose SEQUENCE grows
with each change (RFC 5546), so calendars update or cancel the one event.

Visits: the office's `visit_hours` cut its working days into slots; a `visit_slots` counter per
office and slot start, incremented only while under capacity, keeps two people from taking the
last place at once. The booking code is what the walk-in desk types to find the consultation.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bson import ObjectId
from mongo_init.schema import SWEEP_FLOOR

from notifier import mails
from server.domain import calendar, mailing
from server.domain import consultations as cons
from server.domain.errors import Conflict, Forbidden, NotFound, Unavailable, ValidationFailed, is_duplicate_key
from server.domain.models import is_staff, object_id
from server.domain.offices import get_office
from server.integrations import check_duration, check_start, clean_topic
from server.integrations.ics import build_invite
from server.integrations.jitsi import (
    DEFAULT_HOST_NAME,
    TOKEN_CLOCK_SKEW_SECS,
    TOKEN_GRACE_AFTER_END_SECS,
    jitsi_meeting,
    jitsi_token,
)
from server.integrations.links import pasted_link_meeting
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

MEETING_PROVIDERS = ("zoom", "jitsi", "link")
DEFAULT_MEETING_MINUTES = 60
MEETING_REMINDER_LEAD = timedelta(minutes=15)
_PROVIDER_LABELS = {"zoom": "Zoom", "jitsi": "Jitsi Meet", "link": "tautan daring"}
_EXTRAS_ZOOM = "zoom"
_EXTRAS_BACKENDS = "meeting_backends"

# No 0/O or 1/I: the code is read aloud and typed at the desk. 32**8 codes, so guessing one is hopeless.
VISIT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VISIT_CODE_LENGTH = 8
VISIT_CODE_ATTEMPTS = 8
DEFAULT_SLOT_DAYS = 14
MAX_SLOT_DAYS = 62
# How far ahead a visit may be booked: beyond this a slot is a promise nobody remembers.
MAX_BOOKING_AHEAD = timedelta(days=180)
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The same as mongo-init/offices.json "default_visit_hours"; only used for an office saved without any.
DEFAULT_VISIT_HOURS: Doc = {
    "weekdays": {d: ["08:00", "15:30"] for d in ("mon", "tue", "wed", "thu")} | {"fri": ["08:00", "16:00"]},
    "slot_minutes": 60,
    "slot_capacity": 2,
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- meeting providers ----------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingRequest:
    """What the officer asked for, already resolved to the office's zone and our clock."""

    topic: str
    start: datetime | None
    duration_min: int
    tz: str
    now: datetime
    url: str | None = None
    user_name: str | None = None
    host_name: str | None = None
    agenda: str | None = None


class MeetingBackend(Protocol):
    """One provider: create a meeting, move it, cancel it."""

    name: str

    async def create(self, req: MeetingRequest) -> Doc:
        """The normalized meeting dict of server.integrations."""
        ...

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        """Move the meeting to req.start/req.duration_min; the stored fields that change."""
        ...

    async def cancel(self, meeting: Doc) -> None:
        """Release the meeting at the provider (nothing to do for most)."""
        ...


class ZoomBackend:
    """Zoom through the Server-to-Server OAuth app; the client is made on first use and kept in extras."""

    name = "zoom"

    def __init__(self, svc: Services) -> None:
        self._svc = svc

    def client(self) -> Any:
        """The process's ZoomClient (one token cache, one HTTP session), created on first use."""
        client = self._svc.extras.get(_EXTRAS_ZOOM)
        if client is None:
            # Imported here: the HTTP client library stays out of the domain's import graph.
            from server.integrations.zoom import ZoomClient

            s = self._svc.settings
            client = ZoomClient(
                s.zoom_account_id,
                s.zoom_client_id,
                s.zoom_client_secret,
                s.zoom_api_base,
                s.zoom_oauth_url,
                clock=self._svc.clock,
            )
            self._svc.extras[_EXTRAS_ZOOM] = client
        return client

    async def create(self, req: MeetingRequest) -> Doc:
        meeting: Doc = await self.client().create_meeting(
            topic=req.topic, start=req.start, duration_min=req.duration_min, tz=req.tz, agenda=req.agenda
        )
        return meeting

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        if meeting.get("start_time") is None:
            # Zoom's instant meetings (type 1) have no start time to move.
            raise ValidationFailed(
                "instant_meeting",
                "Pertemuan Zoom instan tidak dapat dijadwalkan ulang; batalkan lalu buat pertemuan "
                "terjadwal / An instant Zoom meeting cannot be rescheduled; cancel it and create a "
                "scheduled one",
                field="start_time",
            )
        assert req.start is not None
        await self.client().update_meeting(
            str(meeting["external_id"]), start=req.start, duration_min=req.duration_min, tz=req.tz
        )
        return {}

    async def cancel(self, meeting: Doc) -> None:
        if meeting.get("external_id"):
            gone = await self.client().delete_meeting(str(meeting["external_id"]))
            if not gone:
                log.info("zoom meeting of %s was already deleted at Zoom", meeting.get("_id"))

    async def fresh_start_url(self, meeting: Doc) -> str | None:
        """Zoom's start_url carries a host key that expires after about two hours: ask for a new one."""
        client = self.client()
        try:
            data = await client.get_meeting(str(meeting["external_id"]))
        except (Unavailable, ValueError):
            return None
        url = data.get("start_url") if data else None
        return url if isinstance(url, str) and url.startswith("https://") else None


class JitsiBackend:
    """Jitsi Meet: a fresh unguessable room; signed links when JITSI_APP_ID/JITSI_APP_SECRET are set."""

    name = "jitsi"

    def __init__(self, svc: Services) -> None:
        self._settings = svc.settings

    def _base(self) -> str:
        base = self._settings.jitsi_base_url
        if not base:
            raise Unavailable(
                "jitsi_not_configured",
                "Jitsi belum dikonfigurasi (JITSI_BASE_URL) / Jitsi is not configured (JITSI_BASE_URL)",
            )
        return base

    @property
    def signed(self) -> bool:
        return bool(self._settings.jitsi_app_id and self._settings.jitsi_app_secret)

    async def create(self, req: MeetingRequest) -> Doc:
        return jitsi_meeting(
            self._base(),
            topic=req.topic,
            start=req.start,
            duration_min=req.duration_min,
            tz=req.tz,
            app_id=self._settings.jitsi_app_id,
            app_secret=self._settings.jitsi_app_secret,
            user_name=req.user_name,
            host_name=req.host_name,
            now=req.now,
        )

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        if not self.signed:
            return {}
        # Same room, new tokens: the old ones would expire before a later meeting ends.
        app_id, app_secret = self._settings.jitsi_app_id, self._settings.jitsi_app_secret
        assert app_id and app_secret
        room = str(meeting["external_id"])
        room_url = str(meeting["join_url"]).split("?", 1)[0]
        begins = req.start or req.now
        not_before = req.now - timedelta(seconds=TOKEN_CLOCK_SKEW_SECS)
        expires = begins + timedelta(minutes=req.duration_min, seconds=TOKEN_GRACE_AFTER_END_SECS)
        sub = (urlsplit(self._base()).hostname or "").lower()

        def signed(name: str | None, moderator: bool) -> str:
            token = jitsi_token(
                app_id=app_id,
                app_secret=app_secret,
                sub=sub,
                room=room,
                not_before=not_before,
                expires=expires,
                user_name=name,
                moderator=moderator,
            )
            return f"{room_url}?jwt={token}"

        return {
            "join_url": signed(req.user_name, False),
            "start_url": signed(req.host_name or DEFAULT_HOST_NAME, True),
        }

    async def cancel(self, meeting: Doc) -> None:
        return None  # a Jitsi room exists only while people are in it


class LinkBackend:
    """A meeting link of any other service, pasted by the officer (https only)."""

    name = "link"

    async def create(self, req: MeetingRequest) -> Doc:
        if not req.url:
            raise ValidationFailed(
                "missing_url", "Tautan pertemuan wajib diisi / The meeting link is required", field="url"
            )
        return pasted_link_meeting(
            req.url, topic=req.topic, start=req.start, duration_min=req.duration_min, tz=req.tz, now=req.now
        )

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        return {}

    async def cancel(self, meeting: Doc) -> None:
        return None


def meeting_backends(svc: Services) -> dict[str, MeetingBackend]:
    """The provider registry of this process, built from the settings on first use."""
    registry: dict[str, MeetingBackend] | None = svc.extras.get(_EXTRAS_BACKENDS)
    if registry is None:
        registry = {"zoom": ZoomBackend(svc), "jitsi": JitsiBackend(svc), "link": LinkBackend()}
        svc.extras[_EXTRAS_BACKENDS] = registry
    return registry


async def close_providers(svc: Services) -> None:
    """Close the Zoom client's HTTP session; safe to call twice and when Zoom was never used."""
    client = svc.extras.pop(_EXTRAS_ZOOM, None)
    if client is not None:
        await client.close()


# --- meetings: shapes and texts -------------------------------------------------------------


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


def _meeting_text(parts: Doc, action: str) -> str:
    label = _PROVIDER_LABELS.get(parts["provider"], parts["provider"])
    when = parts["when_text"]
    join = f"Tautan bergabung: {parts['join_url']}" if parts.get("join_url") else ""
    code = f"Kode sandi: {parts['passcode']}" if parts.get("passcode") else ""
    if action == "created":
        head = (
            f"Pertemuan daring ({label}) dimulai sekarang."
            if parts["instant"]
            else f"Pertemuan daring ({label}) dijadwalkan {when}, {parts['duration']} menit."
        )
    elif action == "updated":
        head = f"Jadwal pertemuan daring ({label}) diubah menjadi {when}, {parts['duration']} menit."
    elif action == "reminder":
        head = f"Pengingat: pertemuan daring ({label}) dimulai {when}."
    else:
        return f"Pertemuan daring ({label}) {'' if parts['instant'] else 'pada ' + when + ' '}dibatalkan."
    return "\n".join(p for p in (head, join, code) if p)


def _consultation_topic(c: Doc) -> str:
    subject = " ".join(str(c.get("subject") or "").split())
    base = f"Konsultasi PST {c.get('number')}"
    return clean_topic(f"{base}: {subject}" if subject else base)


def _mail_domain(svc: Services) -> str:
    return (urlsplit(svc.settings.base_url).hostname or "pst.localhost").lower()


def _organizer(svc: Services, office: Doc) -> tuple[str, str]:
    _, addr = parseaddr(svc.settings.mail_from)
    if not re.fullmatch(r"[^\s@<>\"\\,;:]+@[^\s@<>\"\\,;:]+", addr or ""):
        addr = "no-reply@pst.localhost"
    return addr, str(office.get("name") or "PST Konsultasi")


def _require_staff_of(staff: Doc, c: Doc) -> None:
    if not is_staff(staff) or not cons.can_view(staff, c):
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
    c = await cons.load(svc, m["consultation_id"])
    if not is_staff(staff) or not cons.can_view(staff, c):
        # Someone else's meeting is as good as absent: its id tells nothing.
        raise NotFound("meeting_not_found", "meeting not found / pertemuan tidak ditemukan")
    return m


async def host_start_url(svc: Services, m: Doc) -> str:
    """The host's start link, refreshed at Zoom when possible (its host key expires)."""
    backend = meeting_backends(svc).get(m["provider"])
    if isinstance(backend, ZoomBackend) and m.get("status") == "scheduled":
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
        return await cons.load(svc, c["_id"])
    return updated


async def _post_meeting_message(svc: Services, c: Doc, m: Doc, action: str) -> tuple[Doc, Doc]:
    parts = _public_parts(m)
    # A cancellation or reminder may land in a closed room, which takes only system messages.
    kind = "meeting" if action in ("created", "updated") and c["status"] != "closed" else "system"
    return await cons.post_message(svc, None, c, kind=kind, text=_meeting_text(parts, action), meeting=parts)


def meeting_invite_ics(svc: Services, m: Doc, office: Doc, user: Doc, *, cancel: bool) -> Doc | None:
    """The .ics attachment for the meeting's current SEQUENCE: REQUEST, or CANCEL after a cancel."""
    email = str(user.get("email") or "")
    if not email:
        return None
    parts = _public_parts(m, user.get("lang", "id"))
    org_email, org_name = _organizer(svc, office)
    start: datetime = m.get("start_time") or m["created_at"]
    lines = [f"Konsultasi / Consultation: {m.get('topic')}"]
    if parts.get("join_url"):
        lines.append(f"Tautan bergabung / Join link: {parts['join_url']}")
    if parts.get("passcode"):
        lines.append(f"Kode sandi / Passcode: {parts['passcode']}")
    try:
        data = build_invite(
            uid=str(m["uid"]),
            sequence=int(m.get("sequence", 0)),
            method="CANCEL" if cancel else "REQUEST",
            summary=str(m.get("topic") or "PST Konsultasi"),
            description="\n".join(lines),
            start=start,
            duration_min=int(m["duration"]),
            tz=str(m["timezone"]),
            location_url=None if cancel else str(m["join_url"]),
            organizer_email=org_email,
            organizer_name=org_name,
            attendee_email=email,
            attendee_name=user.get("name"),
            now=svc.now(),
        )
    except ValueError:
        log.warning("no calendar invite for meeting %s: the attendee address is not usable", m["_id"])
        return None
    method = "CANCEL" if cancel else "REQUEST"
    return {
        "filename": "cancel.ics" if cancel else "invite.ics",
        "content_type": "text/calendar",
        "method": method,
        "data": data,
    }


async def _mail_meeting(svc: Services, c: Doc, office: Doc, m: Doc, action: str) -> None:
    user = await mailing.recipient(svc, c)
    if not user.get("email"):
        return
    lang = user.get("lang", "id")
    parts = _public_parts(m, lang)
    attachment = meeting_invite_ics(svc, m, office, user, cancel=action == "cancelled")
    rendered = mails.meeting_invite(user, c, office, parts, parts["when_text"], action)
    await mailing.queue_mail(
        svc,
        user,
        c,
        "meeting",
        rendered,
        attachments=[attachment] if attachment else None,
        dedupe_key=f"meeting:{m['_id']}:{m.get('sequence', 0)}:{action}",
    )


# --- meetings: actions ----------------------------------------------------------------------


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
    c = await cons.load(svc, consultation_id)
    _require_staff_of(staff, c)
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    backend = meeting_backends(svc).get(provider)
    if backend is None:
        raise ValidationFailed(
            "invalid_provider", f"provider must be one of {', '.join(MEETING_PROVIDERS)}", field="provider"
        )
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
        "uid": f"pst-meeting-{mid}@{_mail_domain(svc)}",
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
    await cons.emit_updated(svc, c)
    await _mail_meeting(svc, c, office, doc, "created")
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
    c = await cons.load(svc, m["consultation_id"])
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
    changes = await meeting_backends(svc)[m["provider"]].reschedule(m, req)
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
    await cons.emit_updated(svc, c)
    await _mail_meeting(svc, c, office, updated, "updated")
    return updated, msg, c


async def cancel_meeting(svc: Services, staff: Doc, meeting_id: Any) -> tuple[Doc, Doc | None, Doc]:
    """Cancel a meeting (idempotent); the user's calendar gets METHOD:CANCEL with the next SEQUENCE."""
    m = await load_meeting_for_staff(svc, staff, meeting_id)
    c = await cons.load(svc, m["consultation_id"])
    if m["status"] == "cancelled":
        return m, None, c
    await meeting_backends(svc)[m["provider"]].cancel(m)
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
    await cons.emit_updated(svc, c)
    await _mail_meeting(svc, c, office, updated, "cancelled")
    return updated, msg, c


async def remind_meeting(svc: Services, m: Doc) -> bool:
    """The 15-minute reminder, in the room and by e-mail; False when there is nothing to remind of."""
    start: datetime | None = m.get("start_time")
    if m.get("status") != "scheduled" or start is None:
        return False
    if svc.now() >= start + timedelta(minutes=int(m["duration"])):
        return False  # the scheduler was down past the meeting: a late reminder only confuses
    c = await cons.load(svc, m["consultation_id"])
    office = await get_office(svc, c["office"])
    await _post_meeting_message(svc, c, m, "reminder")
    user = await mailing.recipient(svc, c)
    if user.get("email"):
        parts = _public_parts(m, user.get("lang", "id"))
        await mailing.queue_mail(
            svc,
            user,
            c,
            "meeting_reminder",
            mails.meeting_reminder(user, c, office, parts, parts["when_text"]),
            dedupe_key=f"meeting_reminder:{m['_id']}:{m.get('sequence', 0)}",
        )
    return True


async def claim_due_reminder(svc: Services) -> Doc | None:
    """Take one meeting whose reminder is due; the unset makes two schedulers never take the same one."""
    now = svc.now()
    doc: Doc | None = await update_and_get(
        svc.db.meetings,
        {"reminder_at": {"$gte": SWEEP_FLOOR, "$lte": now}},
        {"$unset": {"reminder_at": ""}, "$set": {"reminded_at": now}},
        sort=[("reminder_at", 1)],
        after=False,
    )
    return doc


# --- visits: slots --------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitHours:
    """An office's visiting hours: local (open, close) per weekday, slot length and places per slot."""

    days: Mapping[int, tuple[time, time]]
    slot_minutes: int
    slot_capacity: int


def _hhmm(value: Any) -> time | None:
    m = _HHMM.match(value) if isinstance(value, str) else None
    return time(int(m.group(1)), int(m.group(2))) if m else None


def visit_hours_of(office: Doc) -> VisitHours:
    """The office's visit_hours, read leniently: a malformed day is closed rather than a crash."""
    raw = office.get("visit_hours") or DEFAULT_VISIT_HOURS
    days: dict[int, tuple[time, time]] = {}
    for index, key in enumerate(WEEKDAY_KEYS):
        span = (raw.get("weekdays") or {}).get(key)
        if not isinstance(span, list | tuple) or len(span) != 2:
            continue
        opens, closes = _hhmm(span[0]), _hhmm(span[1])
        if opens is None or closes is None or opens >= closes:
            log.warning("office %s: ignoring visit_hours.%s %r", office.get("code"), key, span)
            continue
        days[index] = (opens, closes)
    minutes, capacity = raw.get("slot_minutes"), raw.get("slot_capacity")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 5 <= minutes <= 480:
        minutes = int(DEFAULT_VISIT_HOURS["slot_minutes"])
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 500:
        capacity = int(DEFAULT_VISIT_HOURS["slot_capacity"])
    return VisitHours(days, minutes, capacity)


def _extra_closed(office: Doc) -> frozenset[date]:
    try:
        return calendar.extra_closed_from_policy(office.get("policy") or {})
    except (TypeError, ValueError):
        return frozenset()


def closed_reason(d: date, office: Doc) -> str | None:
    """Why the office takes no visits on local date d: weekend, holiday (public holiday or joint
    leave day), office_closed (its own closed dates), no_visit_hours; None when it does."""
    if d.weekday() >= 5:
        return "weekend"
    if d in calendar.closed_dates(d.year):
        return "holiday"
    if not calendar.is_working_day(d, _extra_closed(office)):
        return "office_closed"
    if d.weekday() not in visit_hours_of(office).days:
        return "no_visit_hours"
    return None


def holiday_name(d: date) -> str | None:
    """The Indonesian name of the public holiday or joint leave day on d, if any."""
    return calendar.closed_dates(d.year).get(d)


def day_slots(d: date, office: Doc) -> list[tuple[datetime, datetime]]:
    """The visit slots of local date d as UTC (start, end) pairs; none on a day the office is closed."""
    if closed_reason(d, office) is not None:
        return []
    hours = visit_hours_of(office)
    opens, closes = hours.days[d.weekday()]
    tz = ZoneInfo(str(office["time_zone"]))
    step = timedelta(minutes=hours.slot_minutes)
    cursor = datetime.combine(d, opens, tzinfo=tz)
    end_of_day = datetime.combine(d, closes, tzinfo=tz)
    out: list[tuple[datetime, datetime]] = []
    while cursor + step <= end_of_day:  # a slot ends by closing time
        out.append((cursor.astimezone(UTC), (cursor + step).astimezone(UTC)))
        cursor += step
    return out


def _slot_key(office_code: str, start: datetime) -> str:
    # Sorts like the time itself, so a day's counters are one _id range scan.
    return f"{office_code}|{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


async def _slot_counts(svc: Services, office_code: str, first: datetime, last: datetime) -> dict[str, int]:
    cursor = svc.db.visit_slots.find(
        {"_id": {"$gte": _slot_key(office_code, first), "$lte": _slot_key(office_code, last)}}
    )
    return {str(d["_id"]): int(d.get("count", 0)) async for d in cursor}


def _parse_day(value: Any, field: str) -> date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValidationFailed(
            f"invalid_{field}", f"{field} must be a date YYYY-MM-DD / tanggal YYYY-MM-DD", field=field
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"invalid_{field}", f"{field} is not a real date / tanggal tidak valid", field=field
        ) from None


async def list_visit_slots(
    svc: Services, office_code: str, *, from_day: str | None = None, days: int = DEFAULT_SLOT_DAYS
) -> Doc:
    """The office's visit slots from a local date for `days` days, with places left; past slots left out."""
    office = await get_office(svc, office_code)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SLOT_DAYS:
        raise ValidationFailed("invalid_days", f"days must be 1..{MAX_SLOT_DAYS}", field="days")
    tz = str(office["time_zone"])
    now = svc.now()
    today = now.astimezone(ZoneInfo(tz)).date()
    first_day = _parse_day(from_day, "from") if from_day else today
    hours = visit_hours_of(office)
    span = [first_day + timedelta(days=i) for i in range(days)]
    per_day = [(d, day_slots(d, office)) for d in span]
    all_slots = [s for _, slots in per_day for s in slots]
    counts = await _slot_counts(svc, office["code"], all_slots[0][0], all_slots[-1][0]) if all_slots else {}
    out_days: list[Doc] = []
    for d, slots in per_day:
        reason = closed_reason(d, office)
        shown = []
        for start, end in slots:
            if start <= now:
                continue
            booked = counts.get(_slot_key(office["code"], start), 0)
            local = start.astimezone(ZoneInfo(tz))
            shown.append(
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "time": local.strftime("%H:%M"),
                    "start_local": local.isoformat(),
                    "capacity": hours.slot_capacity,
                    "booked": booked,
                    "available": max(0, hours.slot_capacity - booked),
                }
            )
        out_days.append(
            {
                "date": d.isoformat(),
                "open": reason is None,
                "closed_reason": reason,
                "holiday": holiday_name(d) if reason == "holiday" else None,
                "slots": shown,
            }
        )
    return {
        "office": office["code"],
        "time_zone": tz,
        "slot_minutes": hours.slot_minutes,
        "slot_capacity": hours.slot_capacity,
        "days": out_days,
    }


def _closed_error(d: date, reason: str) -> ValidationFailed:
    what = {
        "weekend": "akhir pekan / a weekend",
        "holiday": f"hari libur {holiday_name(d)} / a public holiday",
        "no_visit_hours": "tanpa jam kunjungan / no visiting hours",
    }.get(reason, "kantor tutup / the office is closed")
    return ValidationFailed(
        "office_closed",
        f"Kantor tidak menerima kunjungan pada tanggal itu ({what}) / The office takes no visits on that date",
        field="date",
        reason=reason,
    )


def _check_slot(office: Doc, start: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The (start, end) of the slot beginning at `start`, or the 422 that says why there is none."""
    tz = ZoneInfo(str(office["time_zone"]))
    local = start.astimezone(tz)
    if start <= now:
        raise ValidationFailed("slot_in_past", "Waktu kunjungan sudah lewat / That time is in the past", field="date")
    if start - now > MAX_BOOKING_AHEAD:
        raise ValidationFailed(
            "slot_too_far",
            "Kunjungan hanya dapat dipesan hingga 180 hari ke depan / Visits can be booked up to 180 days ahead",
            field="date",
        )
    reason = closed_reason(local.date(), office)
    if reason is not None:
        raise _closed_error(local.date(), reason)
    for slot_start, slot_end in day_slots(local.date(), office):
        if slot_start == start.astimezone(UTC):
            return slot_start, slot_end
    hours = visit_hours_of(office)
    opens, closes = hours.days[local.weekday()]
    span = f"{opens:%H:%M}–{closes:%H:%M}, {hours.slot_minutes}"
    raise ValidationFailed(
        "outside_visit_hours",
        f"Di luar jam kunjungan ({span} menit per slot) / "
        f"Outside the visiting hours ({span} minutes a slot) or not the start of a slot",
        field="date",
    )


async def _reserve(svc: Services, office_code: str, start: datetime, capacity: int) -> bool:
    """Take one place in the slot if one is left; atomic however many processes book at once."""
    key = _slot_key(office_code, start)
    guard = {"_id": key, "count": {"$lt": capacity}}
    inc = {"$inc": {"count": 1}, "$setOnInsert": {"office": office_code, "slot_start": start}}
    try:
        res = await svc.db.visit_slots.update_one(guard, inc, upsert=True)
        return bool(res.modified_count or res.upserted_id is not None)
    except Exception as exc:
        if not is_duplicate_key(exc):
            raise
    # The counter exists (full, or just inserted by a concurrent booking): now the guard alone decides.
    res = await svc.db.visit_slots.update_one(guard, {"$inc": {"count": 1}})
    return bool(res.modified_count)


async def _release(svc: Services, office_code: str, start: datetime) -> None:
    await svc.db.visit_slots.update_one(
        {"_id": _slot_key(office_code, start), "count": {"$gt": 0}}, {"$inc": {"count": -1}}
    )


def _parse_visit_time(office: Doc, value: str, slot: str | None) -> tuple[date, datetime | None]:
    """(local date, slot start or None for "any free slot that day") from the request fields."""
    tz = ZoneInfo(str(office["time_zone"]))
    text = value.strip() if isinstance(value, str) else ""
    if slot is not None:
        d = _parse_day(text, "date")
        t = _hhmm(slot)
        if t is None:
            raise ValidationFailed("invalid_slot", "slot must be HH:MM / slot berformat JJ:MM", field="slot")
        return d, datetime.combine(d, t, tzinfo=tz)
    if _ISO_DATE.match(text):
        return _parse_day(text, "date"), None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "invalid_date",
            "date must be YYYY-MM-DD or an ISO date-time / tanggal harus YYYY-MM-DD atau tanggal-waktu ISO",
            field="date",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)  # a wall time at the office
    return when.astimezone(tz).date(), when


def new_visit_code() -> str:
    """A booking code: 8 characters, no 0/O/1/I."""
    return "".join(secrets.choice(VISIT_CODE_ALPHABET) for _ in range(VISIT_CODE_LENGTH))


def normalize_visit_code(code: str) -> str:
    """What the desk typed, as stored: upper case, spaces and dashes dropped."""
    return re.sub(r"[\s\-]", "", str(code)).upper()


def _visit_parts(v: Doc, office: Doc, lang: str = "id") -> Doc:
    tz = str(office["time_zone"])
    local = v["slot_start"].astimezone(ZoneInfo(tz))
    walk_in = office.get("walk_in") or {}
    return {
        "code": v["code"],
        "office": v["office"],
        "consultation_id": str(v["consultation_id"]),
        "status": v["status"],
        "slot_start": v["slot_start"],
        "slot_end": v["slot_end"],
        "start_local": local.isoformat(),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "when_text": calendar.local_date_str(v["slot_start"], tz, lang if lang in ("id", "en") else "id"),
        "place": walk_in.get("place") or office.get("name"),
        "address": office.get("address"),
        "id_card_required": bool(walk_in.get("id_card_required")),
        "requirements": mails.visit_requirements(office, lang),
    }


def _visit_text(parts: Doc, action: str) -> str:
    if action == "cancelled":
        return f"Kunjungan tatap muka {parts['when_text']} (kode {parts['code']}) dibatalkan."
    lines = [
        f"Kunjungan tatap muka terjadwal: {parts['when_text']}.",
        f"Kode pemesanan: {parts['code']}",
        f"Tempat: {parts['place']}",
    ]
    if parts.get("address"):
        lines.append(f"Alamat: {parts['address']}")
    if parts["requirements"]:
        lines.append("Persyaratan kunjungan:")
        lines += [f"- {r}" for r in parts["requirements"]]
    lines.append("Tunjukkan kode pemesanan kepada petugas di meja depan untuk melanjutkan konsultasi ini.")
    return "\n".join(lines)


def _visit_ics(svc: Services, v: Doc, office: Doc, user: Doc, *, cancel: bool) -> Doc | None:
    email = str(user.get("email") or "")
    if not email:
        return None
    parts = _visit_parts(v, office, user.get("lang", "id"))
    org_email, org_name = _organizer(svc, office)
    description = "\n".join(
        [
            f"Kode pemesanan / Booking code: {v['code']}",
            f"{parts['place']}" + (f", {parts['address']}" if parts.get("address") else ""),
            *parts["requirements"],
        ]
    )
    try:
        data = build_invite(
            uid=f"pst-visit-{v['code']}@{_mail_domain(svc)}",
            sequence=int(v.get("sequence", 0)),
            method="CANCEL" if cancel else "REQUEST",
            summary=f"Kunjungan PST {office.get('name')}",
            description=description,
            start=v["slot_start"],
            duration_min=max(1, int((v["slot_end"] - v["slot_start"]).total_seconds() // 60)),
            tz=str(office["time_zone"]),
            location_url=None,
            organizer_email=org_email,
            organizer_name=org_name,
            attendee_email=email,
            attendee_name=user.get("name"),
            now=svc.now(),
        )
    except ValueError:
        return None
    return {
        "filename": "cancel.ics" if cancel else "visit.ics",
        "content_type": "text/calendar",
        "method": "CANCEL" if cancel else "REQUEST",
        "data": data,
    }


async def _mail_visit(svc: Services, c: Doc, office: Doc, v: Doc, action: str) -> None:
    user = await mailing.recipient(svc, c)
    if not user.get("email"):
        return
    lang = "en" if user.get("lang") == "en" else "id"
    parts = _visit_parts(v, office, lang)
    ics = _visit_ics(svc, v, office, user, cancel=action == "cancelled")
    if action == "cancelled":
        en = lang == "en"
        subject = (
            f"Visit cancelled: {v['code']} — consultation {c.get('number')}"
            if en
            else f"Kunjungan dibatalkan: {v['code']} — konsultasi {c.get('number')}"
        )
        text, html = mails.layout(
            "Your visit is cancelled" if en else "Kunjungan Anda dibatalkan",
            [
                f"{'Hello' if en else 'Halo'} {user.get('name') or ''},".replace(" ,", ","),
                (
                    f"The visit on {parts['when_text']} (booking code {v['code']}) is cancelled."
                    if en
                    else f"Kunjungan pada {parts['when_text']} (kode pemesanan {v['code']}) dibatalkan."
                ),
            ],
            office=office,
            lang=lang,
        )
        rendered: tuple[str, str, str] = (subject, text, html)
    else:
        rendered = mails.visit_confirmation(user, c, office, parts, parts["when_text"])
    await mailing.queue_mail(
        svc,
        user,
        c,
        "visit",
        rendered,
        attachments=[ics] if ics else None,
        dedupe_key=f"visit:{v['code']}:{action}",
    )


# --- visits: actions ------------------------------------------------------------------------


async def _insert_visit(svc: Services, doc: Doc) -> Doc:
    for _attempt in range(VISIT_CODE_ATTEMPTS):
        doc["code"] = new_visit_code()
        doc.pop("_id", None)
        try:
            res = await svc.db.visits.insert_one(doc)
        except Exception as exc:
            if is_duplicate_key(exc):
                continue  # the unique index on code said no: draw again
            raise
        doc["_id"] = res.inserted_id
        return doc
    raise Conflict("busy", "could not draw a free booking code; try again")


async def book_visit(
    svc: Services, actor: Doc, consultation_id: Any, *, date_text: str, slot: str | None = None
) -> tuple[Doc, Doc, Doc]:
    """Book an in-person visit for the consultation; (visit, room message, consultation).

    `date_text` is a slot's ISO start, or a date with `slot` "HH:MM", or a bare date (the first free
    slot that day). A new booking replaces the consultation's previous one.
    """
    c = await cons.load(svc, consultation_id)
    if not cons.can_view(actor, c):  # its own user, or staff of its office
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    office = await get_office(svc, c["office"])
    hours = visit_hours_of(office)
    now = svc.now()
    day, start = _parse_visit_time(office, date_text, slot)
    if start is not None:
        candidates = [_check_slot(office, start, now)]
    else:
        reason = closed_reason(day, office)
        if reason is not None:
            raise _closed_error(day, reason)
        candidates = [s for s in day_slots(day, office) if s[0] > now and s[0] - now <= MAX_BOOKING_AHEAD]
        if not candidates:
            raise ValidationFailed(
                "slot_in_past",
                "Tidak ada lagi slot kunjungan pada tanggal itu / No visit slot is left on that date",
                field="date",
            )
    taken: tuple[datetime, datetime] | None = None
    for slot_start, slot_end in candidates:
        if await _reserve(svc, office["code"], slot_start, hours.slot_capacity):
            taken = (slot_start, slot_end)
            break
    if taken is None:
        raise Conflict(
            "slot_full",
            "Slot kunjungan itu sudah penuh; pilih waktu lain / That visit slot is full; pick another time",
        )
    visit: Doc = {
        "consultation_id": c["_id"],
        "office": office["code"],
        "user_id": c["user_id"],
        "slot_start": taken[0],
        "slot_end": taken[1],
        "status": "booked",
        "sequence": 0,
        "booked_by": actor["_id"],
        "booked_by_role": actor.get("role"),
        "created_at": now,
        "updated_at": now,
    }
    try:
        visit = await _insert_visit(svc, visit)
    except Exception:
        await _release(svc, office["code"], taken[0])
        raise
    previous = c.get("visit")
    if previous and previous.get("status") == "booked" and previous.get("code") != visit["code"]:
        await _cancel_visit_doc(svc, str(previous["code"]), replaced_by=visit["code"])
    log.info("visit %s booked for consultation %s at %s", visit["code"], c["_id"], taken[0].isoformat())
    parts = _visit_parts(visit, office)
    msg, c = await cons.post_message(
        svc, None, c, kind="system", text=_visit_text(parts, "booked"), data={"visit": parts}
    )
    c = (
        await update_and_get(svc.db.consultations, {"_id": c["_id"]}, {"$set": {"visit": parts, "updated_at": now}})
        or c
    )
    await cons.emit_updated(svc, c)
    await _mail_visit(svc, c, office, visit, "booked")
    return visit, msg, c


async def _cancel_visit_doc(svc: Services, code: str, *, replaced_by: str | None = None) -> Doc | None:
    """Mark a booked visit cancelled and give its place back; None when it was not booked any more."""
    now = svc.now()
    sets: Doc = {"status": "cancelled", "cancelled_at": now, "updated_at": now}
    if replaced_by:
        sets["replaced_by"] = replaced_by
    v: Doc | None = await update_and_get(
        svc.db.visits, {"code": code, "status": "booked"}, {"$set": sets, "$inc": {"sequence": 1}}
    )
    if v is not None:
        await _release(svc, v["office"], v["slot_start"])
    return v


async def cancel_visit(svc: Services, actor: Doc, consultation_id: Any) -> tuple[Doc, Doc, Doc]:
    """Cancel the consultation's booked visit (its user or staff); (visit, its public parts, consultation)."""
    c = await cons.load(svc, consultation_id)
    if not cons.can_view(actor, c):  # its own user, or staff of its office
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    current = c.get("visit") or {}
    if current.get("status") != "booked":
        raise NotFound("visit_not_found", "no booked visit / tidak ada kunjungan terjadwal")
    v = await _cancel_visit_doc(svc, str(current["code"]))
    if v is None:
        raise NotFound("visit_not_found", "no booked visit / tidak ada kunjungan terjadwal")
    office = await get_office(svc, c["office"])
    parts = _visit_parts(v, office)
    _, c = await cons.post_message(
        svc, None, c, kind="system", text=_visit_text(parts, "cancelled"), data={"visit": parts}
    )
    c = (
        await update_and_get(
            svc.db.consultations,
            {"_id": c["_id"], "visit.code": v["code"]},
            {"$set": {"visit": parts, "updated_at": svc.now()}},
        )
        or c
    )
    await cons.emit_updated(svc, c)
    await _mail_visit(svc, c, office, v, "cancelled")
    return v, parts, c


async def find_visit(svc: Services, staff: Doc, code: str) -> tuple[Doc, Doc, Doc]:
    """The visit with this booking code, for staff of its office: (visit, its public parts, consultation)."""
    wanted = normalize_visit_code(code)
    v = await svc.db.visits.find_one({"code": wanted}) if re.fullmatch(r"[A-Z0-9]{4,16}", wanted) else None
    if v is None or not is_staff(staff) or (staff.get("office") not in (None, v["office"])):
        raise NotFound("visit_not_found", "no visit with this booking code / kode pemesanan tidak ditemukan")
    office = await get_office(svc, v["office"])
    c = await cons.load(svc, v["consultation_id"])
    return v, _visit_parts(v, office), c
