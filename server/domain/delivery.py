"""What became of a reply sent through WhatsApp: stored on its room message and told to the room."""

from __future__ import annotations

from typing import Any

from server.domain import events
from server.services import Services
from server.storage.atomic import update_and_get

Doc = dict[str, Any]

# A state only ever moves forward: Meta's status webhooks may arrive late or out of order.
RANK = {"queued": 0, "waiting_window": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


async def record(svc: Services, c: Doc, msg: Doc, delivery: Doc) -> Doc | None:
    """Store `delivery` ({channel, status, at, error?}) on the message unless it is a step back; emit it."""
    status = delivery.get("status")
    if status not in RANK:
        raise ValueError(f"unknown delivery status {status!r}")
    earlier = [s for s, rank in RANK.items() if rank < RANK[status]]
    updated = await update_and_get(
        svc.db.messages,
        {"_id": msg["_id"], "$or": [{"delivery": None}, {"delivery.status": {"$in": earlier}}]},
        {"$set": {"delivery": delivery}},
    )
    if updated is not None:
        await events.emit_message_status(svc.events, c, updated)
    return updated
