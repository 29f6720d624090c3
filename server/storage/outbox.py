"""The outbox: every e-mail is a document written by the action that causes it, sent later by the worker.

Document shape (collection `outbox`):
  kind          what it is: verify_email, reset_password, consultation_received, officer_replied,
                meeting, visit, idle_warning, consultation_closed, rating_request, rating_reminder, sla_alert
  to, to_name   recipient
  lang          "id" or "en"
  subject, text, html     rendered when queued, so a retry sends exactly the same mail
  attachments   [{filename, content_type, data: bytes}]
  message_id    the Message-ID header, fixed at queue time
  status        pending -> sending (leased) -> sent | failed; back to pending on a temporary failure
  attempts, due_at, lease_until, last_error, sent_at
  consultation_id, office, user_id   for the delivery log
  dedupe_key    optional; a second enqueue with the same key is a no-op (unique index)
  thread        optional, e-mail consultations: {from, from_name, in_reply_to, references} so the mail
                leaves from the office's address in the user's thread
  channel       absent for e-mail; "whatsapp" for a WhatsApp message (enqueue_whatsapp): `to` is the
                wa_id, `phone_number_id` the office's number, `payload` the Graph API body, `media`
                an optional {data, filename, content_type} uploaded first; status may also be `held`
                (outside Meta's 24-hour window: released when the user writes again); `provider_id`
                is Meta's message id once sent, `room_message_id` the room message it carries
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


def new_message_id(domain: str = "pst.localhost") -> str:
    return f"<{secrets.token_hex(16)}@{domain}>"


def sanitize_header(value: str) -> str:
    """Header values never carry line breaks (header injection)."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


async def enqueue(
    db: AsyncDatabase[Doc],
    now: datetime,
    *,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    to_name: str | None = None,
    lang: str = "id",
    attachments: list[Doc] | None = None,
    consultation_id: Any = None,
    office: str | None = None,
    user_id: Any = None,
    dedupe_key: str | None = None,
    due_at: datetime | None = None,
    mail_domain: str = "pst.localhost",
    thread: Doc | None = None,
) -> Doc | None:
    """Queue one e-mail; returns the document, or None when `dedupe_key` was queued already."""
    doc: Doc = {
        "kind": kind,
        "to": sanitize_header(to),
        "to_name": sanitize_header(to_name) if to_name else None,
        "lang": lang,
        "subject": sanitize_header(subject),
        "text": text,
        "html": html,
        "attachments": attachments or [],
        "message_id": new_message_id(mail_domain),
        "status": "pending",
        "attempts": 0,
        "due_at": due_at or now,
        "lease_until": None,
        "last_error": None,
        "sent_at": None,
        "consultation_id": consultation_id,
        "office": office,
        "user_id": user_id,
        "created_at": now,
    }
    if dedupe_key is not None:
        doc["dedupe_key"] = dedupe_key
    if thread:
        doc["thread"] = {k: sanitize_header(str(v)) for k, v in thread.items() if v}
    try:
        await db.outbox.insert_one(doc)
    except DuplicateKeyError:
        return None
    return doc


async def enqueue_whatsapp(
    db: AsyncDatabase[Doc],
    now: datetime,
    *,
    kind: str,
    to: str,
    phone_number_id: str,
    payload: Doc,
    media: Doc | None = None,
    held: bool = False,
    consultation_id: Any = None,
    office: str | None = None,
    user_id: Any = None,
    room_message_id: Any = None,
    dedupe_key: str | None = None,
) -> Doc | None:
    """Queue one WhatsApp message (`held` waits for the user's next message); None when deduplicated."""
    doc: Doc = {
        "channel": "whatsapp",
        "kind": kind,
        "to": to,
        "phone_number_id": phone_number_id,
        "payload": payload,
        "media": media,
        "message_id": new_message_id("whatsapp.invalid"),  # the unique key every outbox item has
        "status": "held" if held else "pending",
        "attempts": 0,
        "due_at": now,
        "lease_until": None,
        "last_error": None,
        "sent_at": None,
        "provider_id": None,
        "consultation_id": consultation_id,
        "office": office,
        "user_id": user_id,
        "room_message_id": room_message_id,
        "created_at": now,
    }
    if dedupe_key is not None:
        doc["dedupe_key"] = dedupe_key
    try:
        await db.outbox.insert_one(doc)
    except DuplicateKeyError:
        return None
    return doc


async def release_held_whatsapp(db: AsyncDatabase[Doc], now: datetime, *, to: str, phone_number_id: str) -> int:
    """The user wrote again: their held WhatsApp messages go out now, in the order they were queued
    (each keeps its due_at, the time it was queued, which has passed: the worker takes the oldest first)."""
    res = await db.outbox.update_many(
        {"status": "held", "channel": "whatsapp", "to": to, "phone_number_id": phone_number_id},
        {"$set": {"status": "pending", "lease_until": None, "released_at": now}},
    )
    return int(res.modified_count)
