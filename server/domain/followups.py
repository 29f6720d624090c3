"""Follow-ups of low ratings: a rating of 1 or 2 with no complaint text is a task for the supervisor.

Kept apart from complaints on purpose: nobody complained, so there is no complainant to acknowledge
or answer, no complaint number, and it must not count in the office's complaint figures
(GET /reports/summary `complaints`) nor appear in the user's data export as a complaint they filed.
The supervisor looks at the consultation (its transcript and the rating's comment), may call or
write to the user, and marks the task done with what was done. One per consultation (unique index).
The rating's comment is not copied here: it stays on the rating, where erasing an account reaches it.
"""

from __future__ import annotations

import logging
from typing import Any

from server.domain import events
from server.domain.complaints import clean_text, is_national, manages, require_manager
from server.domain.errors import Conflict, NotFound, ValidationFailed, is_duplicate_key
from server.domain.models import iso, object_id, sid
from server.domain.offices import get_office
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

LOW_SCORES = (1, 2)
STATUSES = ("open", "done")
NOTE_MAX_CHARS = 2000
LIST_MAX = 200


def view(f: Doc, consultation: Doc | None = None) -> Doc:
    rating = (consultation or {}).get("rating") or {}
    return {
        "id": str(f["_id"]),
        "kind": "low_rating",
        "source": "low_rating",
        "office": f["office"],
        "status": f["status"],
        "score": f.get("score"),
        "comment": rating.get("comment") if consultation is not None else None,
        "consultation_id": sid(f.get("consultation_id")),
        "consultation_number": f.get("consultation_number"),
        "officer": {"id": sid(f.get("officer_id")), "name": f.get("officer_name")} if f.get("officer_id") else None,
        "created_at": iso(f.get("created_at")),
        "done_at": iso(f.get("done_at")),
        "done_by": {"id": sid(f.get("done_by")), "name": f.get("done_by_name")} if f.get("done_by") else None,
        "note": f.get("note"),
    }


async def open_followup(svc: Services, c: Doc, score: int) -> Doc | None:
    """A low rating without a complaint: one open task for the office's supervisors (None if not low)."""
    if score not in LOW_SCORES:
        return None
    now = svc.now()
    doc: Doc = {
        "office": c["office"],
        "consultation_id": c["_id"],
        "consultation_number": c.get("number"),
        "score": score,
        "officer_id": c.get("assigned_to"),
        "officer_name": c.get("assigned_name"),
        "status": "open",
        "created_at": now,
        "updated_at": now,
    }
    try:
        res = await svc.db.followups.insert_one(doc)
    except Exception as exc:
        if is_duplicate_key(exc):
            return await svc.db.followups.find_one({"consultation_id": c["_id"]})
        raise
    doc["_id"] = res.inserted_id
    await events.emit_followup_alert(svc.events, doc)
    log.info("low rating %d on %s: follow-up %s", score, c.get("number"), doc["_id"])
    return doc


async def list_for(svc: Services, user: Doc, *, office: Any = None, status: Any = None) -> Doc:
    """GET /followups: the office's follow-ups of low ratings, open ones first, newest first."""
    require_manager(user)
    code = office or user.get("office") or ("all" if is_national(user) else None)
    query: Doc = {}
    if code == "all" and is_national(user):
        pass
    else:
        if not isinstance(code, str) or not (len(code) == 4 and code.isdigit()):
            raise ValidationFailed("invalid_office", "office is a 4-digit code or 'all'", field="office")
        require_manager(user, code)
        await get_office(svc, code)
        query["office"] = code
    if status not in (None, ""):
        if status not in STATUSES:
            raise ValidationFailed("invalid_status", "status must be open or done", field="status")
        query["status"] = status
    cursor = svc.db.followups.find(query).sort([("status", -1), ("created_at", -1)]).limit(LIST_MAX)
    rows = [f async for f in cursor]
    cons = {
        c["_id"]: c
        async for c in svc.db.consultations.find({"_id": {"$in": [f["consultation_id"] for f in rows]}}, {"rating": 1})
    }
    return {"office": code, "followups": [view(f, cons.get(f["consultation_id"])) for f in rows]}


async def mark_done(svc: Services, user: Doc, followup_id: Any, note: Any) -> Doc:
    """The supervisor followed it up: what was done (required), once."""
    f = await svc.db.followups.find_one({"_id": object_id(followup_id, message="follow-up not found")})
    if f is None:
        raise NotFound("not_found", "follow-up not found / tindak lanjut tidak ditemukan")
    require_manager(user, f["office"])
    if not manages(user, f["office"]):
        raise NotFound("not_found", "follow-up not found / tindak lanjut tidak ditemukan")
    text = clean_text(note, "note", NOTE_MAX_CHARS)
    now = svc.now()
    after = await update_and_get(
        svc.db.followups,
        {"_id": f["_id"], "status": "open"},
        {
            "$set": {
                "status": "done",
                "note": text,
                "done_at": now,
                "done_by": user["_id"],
                "done_by_name": user.get("name"),
                "updated_at": now,
            }
        },
    )
    if after is None:
        raise Conflict("already_done", "this follow-up is done already / sudah ditindaklanjuti")
    c = await svc.db.consultations.find_one({"_id": after["consultation_id"]}, {"rating": 1})
    return view(after, c)
