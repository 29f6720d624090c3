"""What goes out to a WhatsApp consultation, and how: free-form inside Meta's 24-hour window, an approved
template outside it. server/mail/mailing.py calls these for consultations with `channel: "whatsapp"`,
exactly where it would queue an e-mail; they render (server/i18n.py) and queue through the outbox
(server/storage/outbox.enqueue_whatsapp); notifier/ sends.

The window counts from the last message the user sent, on the server's clock (`contact.window_until`
on the consultation, set by server/domain/channels.py). Outside it a free-form message is queued as
`held` (sent when the user writes again) and the "reply waiting" template tells the user once per
closed window that an answer is there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import i18n
from server.services import Services
from server.storage.outbox import enqueue_whatsapp

Doc = dict[str, Any]

TEXT_MAX_CHARS = 4096  # Meta's limit for a text message body
CAPTION_MAX_CHARS = 1024
# Sent as an image (shown inline); any other file goes as a document.
IMAGE_TYPES = ("image/jpeg", "image/png")


def window_open(c: Doc, now: datetime) -> bool:
    """Whether a free-form WhatsApp message may go to this consultation's user now."""
    until = (c.get("contact") or {}).get("window_until")
    return until is not None and now < until


def lang_of(c: Doc) -> str:
    return str(c.get("user_lang") or "id")


async def _target(svc: Services, c: Doc) -> tuple[Doc, str, str] | None:
    """(office, wa_id, phone_number_id), or None when the office has no WhatsApp number any more."""
    office = await svc.db.offices.find_one({"code": c["office"]}) or {}
    pnid = ((office.get("channels") or {}).get("whatsapp") or {}).get("phone_number_id")
    wa_id = (c.get("contact") or {}).get("wa_id")
    if not pnid or not wa_id:
        return None
    return office, str(wa_id), str(pnid)


def text_payload(text: str) -> Doc:
    return {"type": "text", "text": {"preview_url": True, "body": text[:TEXT_MAX_CHARS]}}


def template_payload(name: str, lang: str, params: list[str]) -> Doc:
    """An approved template with its body parameters, in order ({{1}}, {{2}}, ...)."""
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": lang},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p[:1000]} for p in params]},
            ],
        },
    }


def media_payload(content_type: str, filename: str, caption: str | None) -> Doc:
    """The message for a file uploaded first (the sender puts the media id in)."""
    kind = "image" if content_type in IMAGE_TYPES else "document"
    part: Doc = {}
    if kind == "document":
        part["filename"] = filename
    if caption:
        part["caption"] = caption[:CAPTION_MAX_CHARS]
    return {"type": kind, kind: part}


def _kick(svc: Services) -> None:
    if svc.outbox_worker is not None:
        svc.outbox_worker.kick()


async def _reply_waiting(svc: Services, c: Doc, office: Doc, to: str, pnid: str) -> None:
    """Outside the window: the approved "reply waiting" template, once per closed window."""
    s = svc.settings
    since = (c.get("contact") or {}).get("window_until")
    await enqueue_whatsapp(
        svc.db,
        svc.now(),
        kind="reply_waiting",
        to=to,
        phone_number_id=pnid,
        payload=template_payload(
            s.whatsapp_template_reply_waiting,
            s.whatsapp_template_lang,
            [str(office.get("name") or c["office"]), str(c.get("number") or "")],
        ),
        consultation_id=c["_id"],
        office=c["office"],
        user_id=c.get("user_id"),
        dedupe_key=f"wa_reply_waiting:{c['_id']}:{since.isoformat() if since else 'never'}",
    )


async def send_free_form(
    svc: Services,
    c: Doc,
    kind: str,
    payload: Doc,
    *,
    media: Doc | None = None,
    room_message_id: Any = None,
    dedupe_key: str | None = None,
) -> str | None:
    """Queue a free-form message: sent now inside the window, held (with the template) outside it.

    Returns the delivery state to show on the room message: "queued" or "waiting_window" (None when
    the office has no WhatsApp number configured any more).
    """
    target = await _target(svc, c)
    if target is None:
        return None
    office, to, pnid = target
    inside = window_open(c, svc.now())
    await enqueue_whatsapp(
        svc.db,
        svc.now(),
        kind=kind,
        to=to,
        phone_number_id=pnid,
        payload=payload,
        media=media,
        held=not inside,
        consultation_id=c["_id"],
        office=c["office"],
        user_id=c.get("user_id"),
        room_message_id=room_message_id,
        dedupe_key=dedupe_key,
    )
    if not inside:
        await _reply_waiting(svc, c, office, to, pnid)
    _kick(svc)
    return "queued" if inside else "waiting_window"


async def send_text_or_template(
    svc: Services, c: Doc, kind: str, text: str, template: str, params: list[str], *, dedupe_key: str
) -> None:
    """A notice that has its own approved template: free-form inside the window, the template outside."""
    target = await _target(svc, c)
    if target is None:
        return
    _, to, pnid = target
    inside = window_open(c, svc.now())
    payload = text_payload(text) if inside else template_payload(template, svc.settings.whatsapp_template_lang, params)
    await enqueue_whatsapp(
        svc.db,
        svc.now(),
        kind=kind,
        to=to,
        phone_number_id=pnid,
        payload=payload,
        consultation_id=c["_id"],
        office=c["office"],
        user_id=c.get("user_id"),
        dedupe_key=dedupe_key,
    )
    _kick(svc)


def render(c: Doc, key: str, **params: Any) -> str:
    """A WhatsApp text from the catalog, in the user's language."""
    return i18n.t(key, lang_of(c), **params)


def mail_reply(c: Doc, office_name: str, officer: str, text: str) -> tuple[str, str, str]:
    """(subject, text, html) of an officer's message to an e-mail consultation, in the user's thread.

    The subject keeps the user's and carries the consultation number, so a reply finds its way back
    even from a mail program that drops In-Reply-To.
    """
    subject = str(c.get("subject") or "").strip()
    number = str(c.get("number") or "")
    if number and number not in subject:
        subject = f"{subject} [{number}]".strip()
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    # "-- " starts a signature (RFC 3676): the user's mail program leaves it out of the quote.
    body = f"{text}\n\n-- \n{officer}\nPST {office_name}\n{number}"
    return subject, body, ""
