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
    try:
        await db.outbox.insert_one(doc)
    except DuplicateKeyError:
        return None
    return doc
