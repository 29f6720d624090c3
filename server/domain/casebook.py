"""The office's casebook for staff: every consultation (closed ones too), searched; one consultation's record.

Search filters are equalities and a range on indexed fields (office, created_at, status, channel,
assigned_to, user_id, number). The words of `q` are matched case-insensitively in the number, the
subject, the user's name and e-mail, and in the messages' text. Neither the embedded database
(SecantusDB has no text indexes) nor the message documents (they carry no office) allow an indexed
text search, so the message text is searched with a bounded regex: only in the newest
MESSAGE_SCAN_ROOMS consultations that match the other filters (the answer says how many were
searched and whether that covered them all); a narrower date range searches further back.

The record of one consultation is what the console shows at its own address (#c/<id>): the
consultation, its close summary, its durations, the rating and the SKM survey it received, its
transfers, and the user's previous consultations.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain import access, audit, durations, surveys
from server.domain.errors import Forbidden, ValidationFailed
from server.domain.events import staff_view
from server.domain.models import CHANNELS, STATUSES, is_staff, iso, object_id, public_consultation, sid
from server.domain.reports import NATIONAL_TZ, parse_day
from server.services import Services

Doc = dict[str, Any]

SEARCH_PAGE_MAX = 100
SEARCH_OFFSET_MAX = 10_000
MESSAGE_SCAN_ROOMS = 300
Q_MAX_CHARS = 100
PREVIOUS_MAX = 20
SEARCHED_KINDS = ["text", "note", "file"]
_NUMBER = re.compile(r"^\d{4}-\d{4}-\d{1,6}$")
_NUMBER_START = re.compile(r"^\d[\d-]*$")


def _is_national(user: Doc) -> bool:
    return user.get("role") == "admin" and not user.get("office")


def _scope(user: Doc, office: str | None) -> str | None:
    """The office whose consultations `user` searches (None: every office, national admins only)."""
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only / hanya petugas")
    if _is_national(user):
        return office or None
    if office and office != user.get("office"):
        raise Forbidden("forbidden", "not your office / bukan kantor Anda")
    return str(user.get("office"))


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationFailed(f"invalid_{field}", f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


async def _time_zone(svc: Services, office: str | None) -> str:
    if office is None:
        return NATIONAL_TZ
    found = await svc.db.offices.find_one({"code": office}, {"time_zone": 1})
    return str(found["time_zone"]) if found else NATIONAL_TZ


def _matches(c: Doc, query: Doc) -> bool:
    """Whether one consultation passes the search's equality and created_at-range filters."""
    for key, want in query.items():
        if key == "created_at":
            at = c.get("created_at")
            if at is None or ("$gte" in want and at < want["$gte"]) or ("$lt" in want and at >= want["$lt"]):
                return False
        elif c.get(key) != want:
            return False
    return True


def search_row(c: Doc) -> Doc:
    """A consultation in the search results: its staff view with its durations and summary."""
    out: Doc = dict(staff_view(c))
    out["first_response_wmin"] = c.get(durations.FIRST_RESPONSE_FIELD)
    out["resolution_wmin"] = c.get(durations.RESOLUTION_FIELD) if c.get("status") == "closed" else None
    out["summary"] = c.get("summary")
    return out


async def search(
    svc: Services,
    user: Doc,
    *,
    office: str | None = None,
    q: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    officer: str | None = None,
    first: str | None = None,
    last: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Doc:
    """GET /history: the office's consultations matching every filter given, newest first."""
    code = _scope(user, office)
    query: Doc = {}
    if code:
        query["office"] = code
    if (st := _choice(status, STATUSES, "status")) is not None:
        query["status"] = st
    if (ch := _choice(channel, CHANNELS, "channel")) is not None:
        query["channel"] = ch
    if officer:
        query["assigned_to"] = object_id(officer, code="invalid_officer", message="officer not found")
    if first or last:
        tz = ZoneInfo(await _time_zone(svc, code))
        span: Doc = {}
        if first:
            span["$gte"] = datetime.combine(parse_day(first, "from"), time(0), tzinfo=tz).astimezone(UTC)
        if last:
            span["$lt"] = datetime.combine(parse_day(last, "to") + timedelta(days=1), time(0), tzinfo=tz).astimezone(
                UTC
            )
        if first and last and span["$lt"] <= span["$gte"]:
            raise ValidationFailed(
                "invalid_range", "to is before from / tanggal akhir sebelum tanggal awal", field="to"
            )
        query["created_at"] = span
    limit = max(1, min(int(limit), SEARCH_PAGE_MAX))
    offset = max(0, min(int(offset), SEARCH_OFFSET_MAX))
    scope: Doc = {"rooms": 0, "complete": True}
    text = (q or "").strip()[:Q_MAX_CHARS]
    if text and _NUMBER.match(text):
        # One consultation by its unique number, read by that index alone and checked against the other
        # filters here: with the office in the query SecantusDB plans over both indexes and reads the
        # office's every consultation (0.8 s at 30,000, 5 s at 100,000, even with a hint).
        one = await svc.db.consultations.find_one({"number": text})
        found = [one] if one is not None and offset == 0 and _matches(one, query) else []
        return {
            "consultations": [search_row(c) for c in found],
            "more": False,
            "offset": offset,
            "message_scope": scope,
        }
    if text:
        rx = {"$regex": re.escape(text), "$options": "i"}
        either: list[Doc] = [{"subject": rx}, {"user_name": rx}, {"user_email": rx}]
        if _NUMBER_START.match(text):
            either.append({"number": {"$regex": "^" + re.escape(text)}})
        rooms = [
            c["_id"]
            async for c in svc.db.consultations.find(query, {"_id": 1}).sort("created_at", -1).limit(MESSAGE_SCAN_ROOMS)
        ]
        scope = {"rooms": len(rooms), "complete": len(rooms) < MESSAGE_SCAN_ROOMS}
        if rooms:
            pipeline: list[Doc] = [
                {"$match": {"consultation_id": {"$in": rooms}, "kind": {"$in": SEARCHED_KINDS}, "text": rx}},
                {"$group": {"_id": "$consultation_id"}},
            ]
            hits = [d["_id"] async for d in await svc.db.messages.aggregate(pipeline)]
            if hits:
                either.append({"_id": {"$in": hits}})
        query["$or"] = either
    cursor = svc.db.consultations.find(query).sort([("created_at", -1), ("_id", -1)]).skip(offset).limit(limit + 1)
    found = [c async for c in cursor]
    return {
        "consultations": [search_row(c) for c in found[:limit]],
        "more": len(found) > limit,
        "offset": offset,
        "message_scope": scope,
    }


async def previous_of(svc: Services, user: Doc, c: Doc) -> list[Doc]:
    """The same user's other consultations that `user` may see, newest first."""
    if not c.get("user_id"):
        return []
    query: Doc = {"user_id": c["user_id"], "_id": {"$ne": c["_id"]}}
    if not _is_national(user):
        query["office"] = user.get("office")
    cursor = svc.db.consultations.find(query).sort("created_at", -1).limit(PREVIOUS_MAX)
    return [search_row(other) async for other in cursor if access.can_view(user, other)]


def _transfer(t: Doc) -> Doc:
    return {
        "at": iso(t.get("at")),
        "by": sid(t.get("by")),
        "from_office": t.get("from_office"),
        "to_office": t.get("to_office"),
        "from_user": sid(t.get("from_user")),
        "to_user": sid(t.get("to_user")),
        "taken": bool(t.get("taken")),
    }


async def record(svc: Services, user: Doc, consultation_id: Any) -> Doc:
    """GET /consultations/{id}/record: one consultation as the casebook shows it (staff only)."""
    if not is_staff(user):
        raise Forbidden("forbidden", "staff only / hanya petugas")
    c = await access.load_for(svc, user, consultation_id)
    await audit.record_read(svc, user, c)
    rating = c.get("rating") or None
    return {
        "consultation": public_consultation(c, user),
        "summary": c.get("summary"),
        "closed_by": sid(c.get("closed_by")),
        "durations": {
            "first_response_wmin": c.get(durations.FIRST_RESPONSE_FIELD),
            "resolution_wmin": c.get(durations.RESOLUTION_FIELD) if c.get("status") == "closed" else None,
        },
        "rating": (
            {"score": rating.get("score"), "comment": rating.get("comment"), "at": iso(rating.get("at"))}
            if rating
            else None
        ),
        "survey": await surveys.for_consultation(svc, c["_id"]),
        "transfers": [_transfer(t) for t in c.get("transfers") or []],
        "previous": await previous_of(svc, user, c),
    }
