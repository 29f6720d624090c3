"""WhatsApp and e-mail as ways into the same consultations: contacts, idempotent intake, office settings.

Someone who writes through WhatsApp or e-mail becomes a **contact** (collection `contacts`, key
`wa:<wa_id>` or `mail:<address>`), linked to the verified account whose phone or e-mail matches. Their
consultation is an ordinary one (same queue, SLA clock, rooms, transcript, reports) with
`channel: "whatsapp" | "email"` and a `contact` sub-document; its `user_id` is the linked account or,
without one, the contact itself (an id no account has, as walk-in visitors have), so "the user of the
consultation" means the same everywhere. A message from a contact continues their open consultation
at that office (or one closed for idleness within the reopen window) and opens a new one otherwise.

Every message taken in is claimed first in `channel_inbound` by its provider id (Meta's message id,
the mail's Message-ID), so a webhook Meta retries or a mail fetched twice is stored once.
The transports are server/domain/whatsapp_channel.py and server/domain/email_channel.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from server.domain import access, consultations, messages, officer_tools
from server.domain.accounts import normalize_email
from server.domain.errors import Conflict, DomainError, Forbidden, ValidationFailed, is_duplicate_key
from server.domain.files import MAX_ATTACHMENT_BYTES
from server.domain.inputs import MESSAGE_MAX_CHARS
from server.domain.offices import can_administer, get_office
from server.mail import mailing
from server.services import Services
from server.storage.atomic import update_and_get
from server.storage.outbox import release_held_whatsapp

log = logging.getLogger(__name__)

Doc = dict[str, Any]

CHANNELS = ("whatsapp", "email")
# Meta's customer-service window: free-form messages until this long after the user's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
# A claim on an inbound message that its taker did not finish (a crash) can be taken again after this.
INBOUND_LEASE = timedelta(minutes=2)
SUBJECT_CHARS = 80
# Hourly sender counters are kept a little past their hour, then expire (TTL index).
RATE_KEPT = timedelta(hours=2)
MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES
REFERENCES_KEPT = 10
_PHONE_NUMBER_ID = re.compile(r"[0-9]{5,32}")


@dataclass
class InboundFile:
    """A file that came with a message: its bytes, or why it was not taken (too large, unreadable)."""

    filename: str | None
    data: bytes | None = None
    refused: str | None = None


@dataclass
class Incoming:
    """One message from a WhatsApp user or an e-mail sender, parsed by its transport."""

    channel: str  # whatsapp | email
    office: Doc
    address: str  # the wa_id (digits) or the lower-case e-mail address
    display: str  # as staff see it: "+6281…" or the address
    name: str | None
    text: str | None
    key: str  # the inbound claim's id; also the message's client_id
    subject: str | None = None
    files: list[InboundFile] = field(default_factory=list)
    # E-mail: the consultation its thread points at, and its ids for the replies' headers.
    thread_consultation: ObjectId | None = None
    message_id: str | None = None
    references: list[str] = field(default_factory=list)


# --- phone numbers ----------------------------------------------------------------------------------


def wa_id_of(phone: str | None) -> str | None:
    """A phone number as WhatsApp writes it (country code, digits only): "0812-3456" -> "628123456"."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return None
    if digits.startswith("0"):
        digits = "62" + digits[1:]  # an Indonesian national number
    return digits


def phone_variants(wa_id: str) -> list[str]:
    """How an account may have stored this number: 6281…, +6281…, 081…"""
    out = [wa_id, "+" + wa_id]
    if wa_id.startswith("62"):
        out.append("0" + wa_id[2:])
    return out


# --- claims on inbound messages ---------------------------------------------------------------------


async def claim_inbound(svc: Services, key: str, *, channel: str, office: str, sender: str) -> bool:
    """Take one inbound message for processing; False when it was taken already (a retry, a refetch)."""
    now = svc.now()
    doc = {
        "_id": key,
        "channel": channel,
        "office": office,
        "sender": sender,
        "status": "processing",
        "received_at": now,
        "lease_until": now + INBOUND_LEASE,
    }
    try:
        await svc.db.channel_inbound.insert_one(doc)
        return True
    except Exception as exc:
        if not is_duplicate_key(exc):
            raise
    # Taken before: only a claim whose taker died (lease run out, never finished) is taken again.
    res = await svc.db.channel_inbound.update_one(
        {"_id": key, "status": "processing", "lease_until": {"$lte": now}},
        {"$set": {"lease_until": now + INBOUND_LEASE}},
    )
    return res.modified_count == 1


async def finish_inbound(svc: Services, key: str, status: str, consultation_id: Any = None) -> None:
    """Record what became of a claimed message: done, ignored (auto-reply, unknown), refused, rate_limited."""
    await svc.db.channel_inbound.update_one(
        {"_id": key},
        {"$set": {"status": status, "consultation_id": consultation_id, "lease_until": None, "done_at": svc.now()}},
    )


async def release_inbound(svc: Services, key: str) -> None:
    """Processing failed half-way: let the next delivery of the same message take it at once."""
    await svc.db.channel_inbound.update_one({"_id": key, "status": "processing"}, {"$set": {"lease_until": svc.now()}})


async def count_this_hour(svc: Services, channel: str, sender: str) -> int:
    """This sender's messages in the current hour, this one included: one counter document per hour.

    A counter, not a count of channel_inbound: counting a growing collection per mail is what an
    e-mail bomb would make expensive.
    """
    hour = svc.now().replace(minute=0, second=0, microsecond=0)
    key = f"{channel}:{sender}:{hour.isoformat()}"[:300]
    for _ in range(2):  # the first two of an hour racing on the upsert: the loser increments the winner's
        try:
            await svc.db.channel_rates.update_one(
                {"_id": key}, {"$inc": {"n": 1}, "$setOnInsert": {"expires_at": hour + RATE_KEPT}}, upsert=True
            )
            break
        except Exception as exc:
            if not is_duplicate_key(exc):
                raise
    doc = await svc.db.channel_rates.find_one({"_id": key})
    return int((doc or {}).get("n") or 0)


# --- contacts ---------------------------------------------------------------------------------------


async def _matching_account(svc: Services, channel: str, address: str) -> Doc | None:
    """The verified member of the public whose phone (WhatsApp) or e-mail (e-mail) this is."""
    query: Doc = {"role": "user", "email_verified_at": {"$ne": None}}
    if channel == "whatsapp":
        query["phone"] = {"$in": phone_variants(address)}
    else:
        query["email"] = address
    return await svc.db.users.find_one(query)


async def contact_for(svc: Services, inc: Incoming) -> tuple[Doc, Doc | None]:
    """The contact who wrote (created on first contact, name kept fresh) and their linked account."""
    key = f"{'wa' if inc.channel == 'whatsapp' else 'mail'}:{inc.address}"
    account = await _matching_account(svc, inc.channel, inc.address)
    now = svc.now()
    sets: Doc = {"updated_at": now, "user_id": account["_id"] if account else None, "display": inc.display}
    if inc.name:
        sets["name"] = inc.name
    for _ in range(2):  # two first messages racing: the loser of the upsert finds the winner's document
        try:
            await svc.db.contacts.update_one(
                {"key": key},
                {"$set": sets, "$setOnInsert": {"channel": inc.channel, "address": inc.address, "created_at": now}},
                upsert=True,
            )
            break
        except Exception as exc:
            if not is_duplicate_key(exc):
                raise
    contact = await svc.db.contacts.find_one({"key": key})
    assert contact is not None
    return contact, account


def _contact_view(inc: Incoming, contact: Doc, account: Doc | None, now: datetime) -> Doc:
    """The consultation's `contact`: who wrote and how to answer them."""
    out: Doc = {
        "channel": inc.channel,
        "key": contact["key"],
        "id": contact["_id"],
        "name": inc.name or contact.get("name"),
        "address": inc.display,
        "linked": account is not None,
    }
    if inc.channel == "whatsapp":
        out["wa_id"] = inc.address
        # Meta's window opens with this message: the receipt queued while opening may go free-form.
        out["window_until"] = now + WHATSAPP_WINDOW
    elif inc.message_id:
        # The receipt queued while opening already answers in the user's thread.
        out["last_message_id"] = inc.message_id
        out["references"] = [*inc.references, inc.message_id][-REFERENCES_KEPT:]
    return out


def _person(c: Doc | None, contact: Doc, account: Doc | None, inc: Incoming) -> Doc:
    """Who writes the room message: the consultation's user (account or contact)."""
    if c is not None:
        return {"_id": c["user_id"], "name": c.get("user_name") or inc.name or inc.display, "role": "user"}
    if account is not None:
        return account
    return {
        "_id": contact["_id"],
        "name": inc.name or contact.get("name") or inc.display,
        "email": inc.address if inc.channel == "email" else None,
        "role": "user",
        "lang": "id",
    }


# --- taking a message in ----------------------------------------------------------------------------


async def _current(svc: Services, inc: Incoming, key: str) -> Doc | None:
    """The consultation this message continues: the e-mail thread's, else the contact's latest at the office."""
    if inc.thread_consultation is not None:
        c = await svc.db.consultations.find_one({"_id": inc.thread_consultation, "contact.key": key})
        if c is not None:
            return c
    cursor = (
        svc.db.consultations.find({"contact.key": key, "office": inc.office["code"]}).sort("created_at", -1).limit(1)
    )
    async for c in cursor:
        return c
    return None


def _body_text(inc: Incoming) -> str:
    """The stored text of a message: its own, else its files' names, else its subject."""
    text = (inc.text or "").strip()
    if text:
        return text
    names = [f.filename or "lampiran" for f in inc.files]
    if names:
        return "📎 " + ", ".join(names)
    return (inc.subject or "").strip() or "…"


def _subject(inc: Incoming) -> str:
    if inc.subject and inc.subject.strip():
        return inc.subject.strip()[:SUBJECT_CHARS]
    first = (inc.text or "").strip().splitlines()[0] if (inc.text or "").strip() else ""
    return (first[:SUBJECT_CHARS] or ("WhatsApp" if inc.channel == "whatsapp" else "E-mail")).strip()


async def receive(svc: Services, inc: Incoming) -> Doc:
    """Store one incoming message in its consultation (continued or opened); returns the consultation."""
    contact, account = await contact_for(svc, inc)
    c = await _current(svc, inc, contact["key"])
    text = messages.clean_text(_body_text(inc)[:MESSAGE_MAX_CHARS])
    if c is not None:
        person = _person(c, contact, account, inc)
        try:
            if c["status"] == "closed" or (inc.text or "").strip() or not inc.files:
                _, c = await messages.post_message(svc, person, c, text=text, client_id=inc.key)
        except Conflict as exc:
            if exc.code != "consultation_closed":
                raise
            c = None  # closed for good: this message opens a new consultation
    if c is None:
        person = _person(None, contact, account, inc)
        c, _ = await consultations.open_consultation(
            svc,
            person,
            office=inc.office["code"],
            topic="other",
            subject=_subject(inc),
            text=text,
            channel=inc.channel,
            client_id=inc.key,
            contact=_contact_view(inc, contact, account, svc.now()),
        )
    person = _person(c, contact, account, inc)
    for n, f in enumerate(inc.files):
        await _take_file(svc, c, person, inc, f, f"{inc.key}:file{n}")
    return await _after_inbound(svc, c, inc, contact, account)


async def _take_file(svc: Services, c: Doc, person: Doc, inc: Incoming, f: InboundFile, client_id: str) -> None:
    """Store a file with the same checks as an upload; a refused one is said in the room and to the user."""
    reason = f.refused
    if reason is None and f.data is not None:
        try:
            await officer_tools.upload_attachment(
                svc, person, c, data=f.data, filename=f.filename, client_id=client_id[:100]
            )
            return
        except DomainError as exc:
            reason = exc.message
    name = f.filename or "lampiran"
    reason = reason or "unreadable"
    await messages.post_system_message(
        svc,
        c,
        "channel.file_refused",
        params={"filename": name, "reason": reason},
        data={"event": "file_refused"},
        client_id=f"{client_id}:refused"[:100],
    )
    office = inc.office
    thread = None
    if inc.channel == "email":
        thread = {
            "from": ((office.get("channels") or {}).get("email") or {}).get("address"),
            "in_reply_to": inc.message_id,
            "references": " ".join([*inc.references, inc.message_id or ""][-REFERENCES_KEPT:]),
        }
    await mailing.channel_refused(svc, c, office, to=inc.address, subject=name, reason=reason, thread=thread)


async def _after_inbound(svc: Services, c: Doc, inc: Incoming, contact: Doc, account: Doc | None) -> Doc:
    """The channel's bookkeeping on the consultation: WhatsApp's window, the e-mail thread, the contact."""
    now = svc.now()
    sets: Doc = {"contact.name": inc.name or contact.get("name"), "contact.linked": account is not None}
    update: Doc = {"$set": sets}
    if inc.channel == "whatsapp":
        sets["contact.window_until"] = now + WHATSAPP_WINDOW
    elif inc.message_id:
        sets["contact.last_message_id"] = inc.message_id
        update["$push"] = {"contact.references": {"$each": [inc.message_id], "$slice": -REFERENCES_KEPT}}
    updated = await update_and_get(svc.db.consultations, {"_id": c["_id"]}, update) or c
    if inc.channel == "whatsapp":
        pnid = ((inc.office.get("channels") or {}).get("whatsapp") or {}).get("phone_number_id")
        if pnid and await release_held_whatsapp(svc.db, now, to=inc.address, phone_number_id=str(pnid)):
            if svc.outbox_worker is not None:
                svc.outbox_worker.kick()
    await access.emit_updated(svc, updated)
    return updated


async def note_unsupported(svc: Services, inc: Incoming, kind: str) -> Doc:
    """A message of a kind we cannot show (voice note, sticker...): opened or continued, and said so."""
    inc.text = inc.text or f"[{kind}]"
    c = await receive(svc, inc)
    _, c = await messages.post_system_message(
        svc, c, "channel.unsupported", params={"type": kind}, data={"event": "unsupported"}, client_id=f"{inc.key}:u"
    )
    return c


# --- the offices' channels ------------------------------------------------------------------------------


async def office_by_phone_number_id(svc: Services, phone_number_id: str) -> Doc | None:
    return await svc.db.offices.find_one({"channels.whatsapp.phone_number_id": phone_number_id})


def channels_view(svc: Services, office: Doc) -> Doc:
    """An office's channels as its admins see them: what is set, and whether the secrets are configured."""
    ch = office.get("channels") or {}
    wa = ch.get("whatsapp") or {}
    em = ch.get("email") or {}
    return {
        "whatsapp": {
            "phone_number_id": wa.get("phone_number_id"),
            "configured": bool(svc.settings.whatsapp_token and svc.settings.whatsapp_app_secret),
        },
        "email": {
            "address": em.get("address"),
            "imap_configured": office["code"] in svc.settings.imap_accounts(),
        },
    }


async def office_channels(svc: Services, user: Doc, code: str) -> Doc:
    """The office, for its admins' view of its channels."""
    if not can_administer(user, code):
        raise Forbidden("forbidden", "only an admin of this office may see its channels")
    return await get_office(svc, code)


async def set_channels(svc: Services, user: Doc, code: str, changes: Doc) -> Doc:
    """An office admin sets the office's WhatsApp number id and mailbox address (null clears one).

    Secrets are never taken here: the token, the app secret and the IMAP password come from the
    environment or a file (server/settings.py).
    """
    if not can_administer(user, code):
        raise Forbidden("forbidden", "only an admin of this office may change its channels")
    await get_office(svc, code)
    sets: Doc = {"updated_at": svc.now()}
    unsets: Doc = {}
    if "whatsapp" in changes:
        pnid = (changes["whatsapp"] or {}).get("phone_number_id")
        if pnid in (None, ""):
            unsets["channels.whatsapp"] = ""
        elif not isinstance(pnid, str) or not _PHONE_NUMBER_ID.fullmatch(pnid):
            raise ValidationFailed(
                "invalid_phone_number_id",
                "phone_number_id is the number's id from WhatsApp Manager (digits)",
                field="phone_number_id",
            )
        else:
            sets["channels.whatsapp.phone_number_id"] = pnid
    if "email" in changes:
        address = (changes["email"] or {}).get("address")
        if address in (None, ""):
            unsets["channels.email"] = ""
        else:
            sets["channels.email.address"] = normalize_email(str(address))
    update: Doc = {"$set": sets}
    if unsets:
        update["$unset"] = unsets
    try:
        updated = await svc.db.offices.find_one_and_update({"code": code}, update, return_document=True)
    except Exception as exc:
        if is_duplicate_key(exc):
            raise Conflict("channel_in_use", "another office already uses this number or address") from None
        raise
    assert updated is not None
    await svc.offices.changed(code)
    log.info("office %s channels changed by %s", code, user["_id"])
    return updated
