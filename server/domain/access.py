"""Reading consultations: one by id and whether a person may see it, an office's queue, and the two
events that tell the watchers a consultation or a queue changed.

Both the message path (server.domain.messages) and the lifecycle (server.domain.consultations)
stand on these, so they import this module and never each other's reading helpers.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.domain import events
from server.domain.errors import Forbidden, NotFound
from server.domain.models import is_staff, object_id, public_consultation
from server.services import Services

Doc = dict[str, Any]

QUEUE_MAX = 200
# Broadcasts to a staff room have no single viewer (their `unread` is null).
_STAFF_ROOM: Doc = {"_id": None, "role": "officer"}


def oid(value: Any, what: str = "consultation") -> ObjectId:
    """An id from a URL or payload; anything malformed is simply not found."""
    return object_id(value, message=f"{what} not found / tidak ditemukan")


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
    """The consultation with this id; 404 when there is none."""
    # Grouped with the other loads in flight (the message path's reads: server.storage.batching).
    c = await svc.batch.consultations.get(oid(consultation_id))
    if c is None:
        raise NotFound("not_found", "consultation not found / konsultasi tidak ditemukan")
    # With what this process wrote that is still on its way (its rooms' trailing counters and previews).
    return svc.batch.trailing.overlay(c)


async def load_kept(svc: Services, consultation_id: Any) -> Doc:
    """Like `load`, from this process's copy when it keeps one (the message path's read: a message
    does not read its consultation again; server.storage.consultation_cache). Read-only: copy to change."""
    _id = oid(consultation_id)
    kept = svc.consultations.get(_id)
    if kept is not None:
        return kept
    generation = svc.consultations.generation(_id)
    c = await load(svc, _id)
    svc.consultations.put(_id, dict(c), generation)
    return c


async def load_for(svc: Services, user: Doc, consultation_id: Any) -> Doc:
    """The consultation if `user` may see it: 404 when there is none, 403 when it is someone else's."""
    c = consultation_id if isinstance(consultation_id, dict) else await load(svc, consultation_id)
    if not can_view(user, c):
        raise Forbidden("forbidden", "not your consultation / bukan konsultasi Anda")
    return c


async def queue_of(svc: Services, office: str, limit: int = QUEUE_MAX) -> list[Doc]:
    """The office's queued consultations, oldest first, as its staff see them."""
    cursor = svc.db.consultations.find({"office": office, "status": "queued"}).sort("created_at", 1).limit(limit)
    return [public_consultation(svc.batch.trailing.overlay(c), _STAFF_ROOM) async for c in cursor]


async def emit_updated(svc: Services, c: Doc) -> None:
    """consultation:updated to everyone concerned, each seeing their own view (unread differs)."""
    await events.emit_consultation_updated(svc.events, c)


async def emit_queue(svc: Services, office: str) -> None:
    """queue:updated with the office's whole queue, to its staff room."""
    await events.emit_queue_updated(svc.events, office, await queue_of(svc, office))
