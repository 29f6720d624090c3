"""The audit log of what staff did with people's data: claims, transfers, reads, downloads, exports.

Each staff action that touches a member of the public's data writes one document to `audit_log`
(collection shape below). Reads are counted once per staff member, consultation and local day: the
log tells who looked at a conversation on which day, not every page they scrolled, and a read that
was already recorded today costs one indexed lookup, not a write. ID-number reveals at the walk-in
desk keep their own collection (`pii_access_log`, written by server.domain.guestbook); `entries`
reads both, so admins see one log.

`audit_log` documents:
  at, day (the office's local date of a read, for its once-a-day key), action (ACTIONS),
  office (where it happened), offices (every office concerned: a transfer is both offices'),
  actor_id, actor_name, actor_role, actor_office, consultation_id?, number?, target?, details?,
  read_key? ("<actor>:<consultation>:<day>", unique: two processes racing record one read)
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from bson import ObjectId
from bson.errors import InvalidId

from server.domain.errors import Forbidden, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import is_staff, iso, object_id, sid
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]

Action = Literal["claim", "take", "transfer", "read", "attachment_download", "export", "id_reveal"]
ACTIONS: tuple[Action, ...] = get_args(Action)
DEFAULT_TZ = "Asia/Jakarta"
LIMIT_DEFAULT = 100
LIMIT_MAX = 500


def _actor(actor: Doc) -> Doc:
    return {
        "actor_id": actor.get("_id"),
        "actor_name": actor.get("name"),
        "actor_role": actor.get("role"),
        "actor_office": actor.get("office"),
    }


async def record(
    svc: Services,
    actor: Doc,
    action: Action,
    *,
    office: str | None,
    consultation: Doc | None = None,
    target: Any = None,
    details: Doc | None = None,
    also_office: str | None = None,
) -> None:
    """One staff action in the log (members of the public acting on their own data are not logged)."""
    if not is_staff(actor):
        return
    offices = [o for o in dict.fromkeys([office, also_office]) if o]
    doc: Doc = {"at": svc.now(), "action": action, "office": office, "offices": offices, **_actor(actor)}
    if consultation is not None:
        doc["consultation_id"] = consultation["_id"]
        doc["number"] = consultation.get("number")
    if target is not None:
        doc["target"] = str(target)
    if details:
        doc["details"] = details
    await svc.db.audit_log.insert_one(doc)


def local_day(when: datetime, tz: str | None) -> str:
    """The local date of `when` in the office's time zone, as YYYY-MM-DD."""
    try:
        zone = ZoneInfo(tz or DEFAULT_TZ)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_TZ)
    return when.astimezone(zone).date().isoformat()


async def record_read(svc: Services, actor: Doc, c: Doc) -> None:
    """Staff opened a consultation's conversation: logged once per staff member, consultation and day."""
    if not is_staff(actor) or c.get("user_id") == actor.get("_id"):
        return
    now = svc.now()
    day = local_day(now, c.get("time_zone"))
    key = f"{actor['_id']}:{c['_id']}:{day}"
    # An indexed lookup first: the common case (a second read today) writes nothing.
    if await svc.db.audit_log.find_one({"read_key": key}, {"_id": 1}) is not None:
        return
    doc: Doc = {
        "at": now,
        "day": day,
        "action": "read",
        "office": c.get("office"),
        "offices": [c.get("office")],
        "consultation_id": c["_id"],
        "number": c.get("number"),
        "read_key": key,
        **_actor(actor),
    }
    try:
        await svc.db.audit_log.insert_one(doc)
    except Exception as exc:
        if not is_duplicate_key(exc):
            raise  # another process recorded the same read a moment ago otherwise


# --- reading the log ----------------------------------------------------------------------------


def _national(user: Doc) -> bool:
    return user.get("role") == "admin" and not user.get("office")


def scope(user: Doc, office: str | None) -> str | None:
    """The office whose log `user` may read (None: every office, national admins only); 403 otherwise."""
    if user.get("role") != "admin":
        raise Forbidden("forbidden", "the audit log is for admins / log audit hanya untuk admin")
    if _national(user):
        return office or None
    if office and office != user.get("office"):
        raise Forbidden("forbidden", "not your office / bukan kantor Anda")
    return str(user.get("office"))


def parse_bound(value: str | None, field: str, tz: str, *, end: bool) -> datetime | None:
    """`from`/`to`: a local date (the whole day; `to` included) or an ISO 8601 time with an offset."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))
            return start + timedelta(days=1) if end else start
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"invalid_{field}", f"{field} must be a date (YYYY-MM-DD) or a time with an offset", field=field
        ) from None
    if when.tzinfo is None:
        raise ValidationFailed(f"invalid_{field}", f"{field} must carry a UTC offset", field=field)
    return when


def cursor_of(at: datetime, doc_id: ObjectId) -> str:
    """A page cursor: the last entry's time (epoch milliseconds) and id, URL-safe."""
    return f"{int(at.timestamp() * 1000)}-{doc_id}"


def parse_cursor(value: str) -> tuple[datetime, ObjectId]:
    """`next_before` of a previous page back into (at, _id); 422 when it is not one."""
    ms, _, raw_id = value.partition("-")
    try:
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC), ObjectId(raw_id)
    except (ValueError, OverflowError, InvalidId, OSError):
        raise ValidationFailed(
            "invalid_before", "before must be a previous page's next_before", field="before"
        ) from None


def _entry(doc: Doc) -> Doc:
    return {
        "id": str(doc["_id"]),
        "at": iso(doc.get("at")),
        "action": doc.get("action"),
        "office": doc.get("office"),
        "actor": {
            "id": sid(doc.get("actor_id")),
            "name": doc.get("actor_name"),
            "role": doc.get("actor_role"),
        },
        "consultation": (
            {"id": sid(doc.get("consultation_id")), "number": doc.get("number")} if doc.get("consultation_id") else None
        ),
        "target": doc.get("target"),
        "details": doc.get("details") or {},
    }


def _pii_entry(doc: Doc) -> Doc:
    """A pii_access_log document (an ID number revealed at the walk-in desk) as an audit entry."""
    return {
        "id": str(doc["_id"]),
        "at": iso(doc.get("at")),
        "action": "id_reveal",
        "office": doc.get("office"),
        "actor": {"id": sid(doc.get("by")), "name": doc.get("by_name"), "role": doc.get("by_role")},
        "consultation": None,
        "target": sid(doc.get("guestbook_id")),
        "details": {"field": doc.get("field"), "guestbook_id": sid(doc.get("guestbook_id"))},
    }


async def entries(
    svc: Services,
    user: Doc,
    *,
    office: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    first: str | None = None,
    last: str | None = None,
    before: str | None = None,
    limit: int = LIMIT_DEFAULT,
) -> Doc:
    """GET /audit: the newest entries first (both logs merged), `limit` a page; `next_before` pages on."""
    code = scope(user, office)
    tz = DEFAULT_TZ
    if code is not None:
        found = await svc.db.offices.find_one({"code": code}, {"time_zone": 1})
        if found is None:
            raise ValidationFailed("invalid_office", f"unknown office {code}", field="office")
        tz = str(found.get("time_zone") or DEFAULT_TZ)
    if action is not None and action not in ACTIONS:
        raise ValidationFailed("invalid_action", f"action must be one of {', '.join(ACTIONS)}", field="action")
    at: Doc = {}
    lo = parse_bound(first, "from", tz, end=False)
    hi = parse_bound(last, "to", tz, end=True)
    if lo is not None:
        at["$gte"] = lo
    if hi is not None:
        at["$lt"] = hi
    limit = max(1, min(int(limit), LIMIT_MAX))
    audit_q: Doc = {}
    pii_q: Doc = {}
    if code is not None:
        audit_q["offices"] = code
        pii_q["office"] = code
    if actor:
        try:
            who = object_id(actor)
        except NotFound:
            raise ValidationFailed("invalid_actor", "actor must be a staff member's id", field="actor") from None
        audit_q["actor_id"] = who
        pii_q["by"] = who
    if at:
        audit_q["at"] = dict(at)
        pii_q["at"] = dict(at)
    if before:
        # The page cursor: strictly after the previous page's last entry in (at, _id) order, so entries of
        # one instant are neither repeated nor lost between pages.
        cursor_at, cursor_id = parse_cursor(before)
        after_cursor = {"$or": [{"at": {"$lt": cursor_at}}, {"at": cursor_at, "_id": {"$lt": cursor_id}}]}
        audit_q = {"$and": [audit_q, after_cursor]}
        pii_q = {"$and": [pii_q, after_cursor]}
    order = [("at", -1), ("_id", -1)]
    rows: list[tuple[datetime, ObjectId, Doc]] = []
    if action != "id_reveal":
        if action is not None:
            audit_q = {"$and": [audit_q, {"action": action}]}
        async for d in svc.db.audit_log.find(audit_q).sort(order).limit(limit):
            rows.append((d["at"], d["_id"], _entry(d)))
    if action in (None, "id_reveal"):
        async for d in svc.db.pii_access_log.find(pii_q).sort(order).limit(limit):
            rows.append((d["at"], d["_id"], _pii_entry(d)))
    rows.sort(key=lambda t: (t[0], t[1]), reverse=True)
    kept = rows[:limit]
    page = [e for _, _, e in kept]
    next_before = cursor_of(kept[-1][0], kept[-1][1]) if len(kept) == limit else None
    return {"office": code, "entries": page, "next_before": next_before}
