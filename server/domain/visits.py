"""In-person visits of a consultation: the office's visit hours, its slots, booking and cancelling.

The office's `visit_hours` cut its working days into slots; a `visit_slots` counter per office and
slot start, incremented only while under capacity, keeps two people from taking the last place at
once. The booking code is what the walk-in desk types to find the consultation.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain import access, calendar, messages
from server.domain.errors import Busy, Conflict, Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import is_staff
from server.domain.offices import get_office
from server.mail import mailing
from server.mail.mails import visit_requirements
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

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


# --- slots ----------------------------------------------------------------------------------


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
        "requirements": visit_requirements(office, lang),
    }


def _message_params(parts: Doc, office: Doc) -> Doc:
    """The params of the room message's catalog text (visit.booked / visit.cancelled in server/i18n.py)."""
    keys = ("code", "place", "address", "requirements")
    return {"start": parts["slot_start"], "tz": str(office["time_zone"]), **{k: parts[k] for k in keys}}


# --- actions ---------------------------------------------------------------------------------


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
    raise Busy("could not draw a free booking code; try again")


async def book_visit(
    svc: Services, actor: Doc, consultation_id: Any, *, date_text: str, slot: str | None = None
) -> tuple[Doc, Doc, Doc]:
    """Book an in-person visit for the consultation; (visit, room message, consultation).

    `date_text` is a slot's ISO start, or a date with `slot` "HH:MM", or a bare date (the first free
    slot that day). A new booking replaces the consultation's previous one.
    """
    c = await access.load(svc, consultation_id)
    if not access.can_view(actor, c):  # its own user, or staff of its office
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
    msg, c = await messages.post_system_message(
        svc, c, "visit.booked", params=_message_params(parts, office), data={"visit": parts}
    )
    c = (
        await update_and_get(svc.db.consultations, {"_id": c["_id"]}, {"$set": {"visit": parts, "updated_at": now}})
        or c
    )
    await access.emit_updated(svc, c)
    await mailing.visit_changed(svc, c, office, visit, "booked", _visit_parts)
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
    c = await access.load(svc, consultation_id)
    if not access.can_view(actor, c):  # its own user, or staff of its office
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    current = c.get("visit") or {}
    if current.get("status") != "booked":
        raise NotFound("visit_not_found", "no booked visit / tidak ada kunjungan terjadwal")
    v = await _cancel_visit_doc(svc, str(current["code"]))
    if v is None:
        raise NotFound("visit_not_found", "no booked visit / tidak ada kunjungan terjadwal")
    office = await get_office(svc, c["office"])
    parts = _visit_parts(v, office)
    _, c = await messages.post_system_message(
        svc, c, "visit.cancelled", params=_message_params(parts, office), data={"visit": parts}
    )
    c = (
        await update_and_get(
            svc.db.consultations,
            {"_id": c["_id"], "visit.code": v["code"]},
            {"$set": {"visit": parts, "updated_at": svc.now()}},
        )
        or c
    )
    await access.emit_updated(svc, c)
    await mailing.visit_changed(svc, c, office, v, "cancelled", _visit_parts)
    return v, parts, c


async def find_visit(svc: Services, staff: Doc, code: str) -> tuple[Doc, Doc, Doc]:
    """The visit with this booking code, for staff of its office: (visit, its public parts, consultation)."""
    wanted = normalize_visit_code(code)
    v = await svc.db.visits.find_one({"code": wanted}) if re.fullmatch(r"[A-Z0-9]{4,16}", wanted) else None
    if v is None or not is_staff(staff) or (staff.get("office") not in (None, v["office"])):
        raise NotFound("visit_not_found", "no visit with this booking code / kode pemesanan tidak ditemukan")
    office = await get_office(svc, v["office"])
    c = await access.load(svc, v["consultation_id"])
    return v, _visit_parts(v, office), c
