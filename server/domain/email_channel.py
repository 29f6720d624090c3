"""The e-mail channel's action: one mail from an office's mailbox into its consultation.

A person's mail opens a consultation (`channel: "email"`) or continues the one its thread points at
(In-Reply-To / References naming a mail we sent or took, or the consultation number in the subject,
from the same sender). Machines never open one (auto-replies, bounces, lists); a sender past
PST_CHANNEL_MAILS_PER_HOUR is dropped without a reply (an e-mail bomb must not make us send a
thousand answers); a mail too large to take, or a file over the upload limit, is refused with a
reply that says why. The IMAP reading itself is server/integrations/imap.py, wired by server/app.py.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from server import i18n
from server.domain import channels
from server.domain.errors import Busy, DomainError, Unavailable
from server.integrations.inbound_mail import ParsedMail, is_address, parse_mail
from server.mail import mailing
from server.services import Services

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# A mail larger than this is not downloaded at all (its header is read to answer the sender).
MAX_MAIL_BYTES = 25 * 1024 * 1024
_MAX_MB = channels.MAX_FILE_BYTES // (1024 * 1024)
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|bls|balas|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def clean_subject(subject: str) -> str:
    """A subject without its Re:/Fwd: chain and our [number] tag."""
    s = _PREFIX.sub("", subject)
    s = re.sub(r"\s*\[[0-9]{4}-[0-9]{4}-[0-9]{5}\]\s*", " ", s)
    return " ".join(s.split())


def _address_of(office: Doc) -> str | None:
    address = ((office.get("channels") or {}).get("email") or {}).get("address")
    return str(address) if address else None


async def _thread_consultation(svc: Services, code: str, mail: ParsedMail) -> Any:
    """The consultation this mail answers: a mail we sent or took that it names, else its subject's number."""
    for mid in mail.thread_ids[:20]:
        sent = await svc.db.outbox.find_one({"message_id": mid}, {"consultation_id": 1})
        if sent is not None and sent.get("consultation_id") is not None:
            return sent["consultation_id"]
        taken = await svc.db.channel_inbound.find_one({"_id": f"mail:{code}:{mid}"}, {"consultation_id": 1})
        if taken is not None and taken.get("consultation_id") is not None:
            return taken["consultation_id"]
    number = mail.subject_number
    if number:
        c = await svc.db.consultations.find_one({"number": number, "office": code}, {"_id": 1})
        if c is not None:
            return c["_id"]
    return None


def _reply_thread(office: Doc, mail: ParsedMail) -> Doc:
    return {
        "from": _address_of(office),
        "from_name": f"PST {office.get('name') or office['code']}",
        "in_reply_to": mail.message_id,
        "references": " ".join([*mail.references, mail.message_id or ""][-channels.REFERENCES_KEPT :]),
    }


async def take_mail(svc: Services, code: str, raw: bytes, *, too_large: bool = False, size: int = 0) -> str:
    """One mail from office `code`'s mailbox; returns what became of it (for the log and tests)."""
    office = await svc.db.offices.find_one({"code": code})
    if office is None:
        log.warning("mail intake: office %s is gone; mail ignored", code)
        return "unknown_office"
    # The header block first: a machine's mail or a bomb is turned away without parsing its body.
    mail = parse_mail(raw, headers_only=True)
    sender = mail.from_addr
    if not sender or not is_address(sender) or sender == _address_of(office):
        log.info("mail to office %s without a usable sender ignored", code)
        return "ignored"
    if mail.machine:
        log.info("mail to office %s from a machine ignored (%s)", code, mail.machine)
        return "machine"
    key = f"mail:{code}:{mail.message_id or '<' + hashlib.sha256(raw).hexdigest() + '@no-id>'}"[:300]
    if not await channels.claim_inbound(svc, key, channel="email", office=code, sender=sender):
        return "duplicate"
    try:
        outcome, cid = await _take(svc, office, mail, raw, key, too_large=too_large, size=size)
    except DomainError as exc:
        if isinstance(exc, (Unavailable, Busy)):  # handed back: the mailbox position stays, the next pass takes it
            await channels.release_inbound(svc, key)
            raise
        log.warning("mail to office %s refused: %s", code, exc.code)
        await channels.finish_inbound(svc, key, "refused")
        return "refused"
    except BaseException:
        await channels.release_inbound(svc, key)
        raise
    await channels.finish_inbound(svc, key, outcome, cid)
    return outcome


async def _take(
    svc: Services, office: Doc, mail: ParsedMail, raw: bytes, key: str, *, too_large: bool, size: int
) -> tuple[str, Any]:
    code = office["code"]
    sender = mail.from_addr
    recent = await channels.count_this_hour(svc, "email", sender)
    limit = svc.settings.pst_channel_mails_per_hour
    if recent > limit:
        if recent == limit + 1:
            log.warning("mail intake: %s sent over %d mails to office %s within an hour; dropping", sender, limit, code)
        return "rate_limited", None
    if too_large:
        reason = i18n.t("channel.too_large", "id", max_mb=_MAX_MB)
        log.info("mail to office %s refused: %d bytes", code, size)
        await mailing.channel_refused(
            svc, None, office, to=sender, subject=mail.subject, reason=reason, thread=_reply_thread(office, mail)
        )
        return "too_large", None
    mail = parse_mail(raw)
    files = [
        channels.InboundFile(f.filename, data=f.data)
        if len(f.data) <= channels.MAX_FILE_BYTES
        else channels.InboundFile(f.filename, refused=i18n.t("channel.too_large", "id", max_mb=_MAX_MB))
        for f in mail.files
    ]
    inc = channels.Incoming(
        channel="email",
        office=office,
        address=sender,
        display=sender,
        name=mail.from_name,
        text=mail.text,
        key=key,
        subject=clean_subject(mail.subject) or None,
        files=files,
        thread_consultation=await _thread_consultation(svc, code, mail),
        message_id=mail.message_id,
        references=mail.references,
    )
    c = await channels.receive(svc, inc)
    log.info("mail to office %s taken into consultation %s", code, c["_id"])
    return "taken", c["_id"]


# --- the mailbox position ------------------------------------------------------------------------------


async def load_cursor(svc: Services, code: str) -> tuple[int | None, int]:
    """(UIDVALIDITY, last UID taken) of the office's mailbox."""
    doc = await svc.db.channel_cursors.find_one({"_id": f"imap:{code}"})
    if doc is None:
        return None, 0
    return doc.get("uidvalidity"), int(doc.get("last_uid") or 0)


async def save_cursor(svc: Services, code: str, uidvalidity: int, uid: int) -> None:
    await svc.db.channel_cursors.update_one(
        {"_id": f"imap:{code}"},
        {"$set": {"uidvalidity": uidvalidity, "last_uid": uid, "updated_at": svc.now()}},
        upsert=True,
    )
