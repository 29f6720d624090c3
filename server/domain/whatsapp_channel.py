"""The WhatsApp channel's actions: Meta's webhook verification, incoming messages and status updates.

The webhook handler (server/http/routes_channels.py) checks the signature, then hands the parsed body
here. Malformed parts and numbers no office owns are logged and skipped (Meta disables a webhook that
keeps failing); a database that does not answer or is too busy raises, so the webhook answers 503 or
409 `busy` and Meta sends the notification again.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any

from server import i18n
from server.domain import channels, delivery
from server.domain.errors import Busy, DomainError, Forbidden, Unavailable
from server.integrations.whatsapp import GraphError, InboundMessage, StatusUpdate, parse_notification
from server.services import Services
from server.storage.db import refusal

log = logging.getLogger(__name__)

Doc = dict[str, Any]

TEXT_TYPES = ("text", "button", "interactive")
MEDIA_TYPES = ("image", "document")
_MAX_MB = channels.MAX_FILE_BYTES // (1024 * 1024)


def verify_subscription(svc: Services, mode: str | None, token: str | None, challenge: str | None) -> str:
    """Meta's GET check: the challenge back when the verify token matches (constant time), else 403."""
    expected = svc.settings.whatsapp_verify_token
    if (
        mode != "subscribe"
        or not expected
        or not token
        or challenge is None
        or not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))
    ):
        raise Forbidden("forbidden", "verification failed")
    return challenge[:256]


async def take_notification(svc: Services, body: Any) -> Doc:
    """Every message and status of one webhook body; returns what became of them (for the log and tests)."""
    msgs, statuses, problems = parse_notification(body)
    for problem in problems:
        log.warning("whatsapp webhook: ignored %s", problem)
    outcome: Doc = {"messages": [], "statuses": [], "problems": len(problems)}
    for m in msgs:
        outcome["messages"].append(await _guarded(svc, m))
    for st in statuses:
        outcome["statuses"].append(await _guarded(svc, st))
    return outcome


async def _guarded(svc: Services, item: InboundMessage | StatusUpdate) -> str:
    """One item; only an unavailable database (or Graph API, for media) escapes, so Meta retries."""
    try:
        if isinstance(item, InboundMessage):
            return await take_message(svc, item)
        return await take_status(svc, item)
    except (Unavailable, Busy):
        raise
    except Exception as exc:
        if refusal(exc) is not None:
            raise
        log.exception("whatsapp webhook: could not take %s %s", type(item).__name__, item.wamid)
        return "failed"


async def take_message(svc: Services, m: InboundMessage) -> str:
    """An incoming WhatsApp message into its consultation, once per Meta message id."""
    office = await channels.office_by_phone_number_id(svc, m.phone_number_id)
    if office is None:
        log.warning("whatsapp webhook: no office owns phone_number_id %s; message ignored", m.phone_number_id)
        return "unknown_office"
    key = f"wa:{m.wamid}"[:200]
    if not await channels.claim_inbound(svc, key, channel="whatsapp", office=office["code"], sender=m.wa_id):
        return "duplicate"
    try:
        inc = channels.Incoming(
            channel="whatsapp",
            office=office,
            address=m.wa_id,
            display=f"+{m.wa_id}",
            name=m.profile_name,
            text=m.text,
            key=key,
        )
        if m.type in MEDIA_TYPES and m.media_id:
            inc.files = [await _fetch(svc, m)]
            c = await channels.receive(svc, inc)
        elif m.type in TEXT_TYPES and (m.text or "").strip():
            c = await channels.receive(svc, inc)
        else:
            c = await channels.note_unsupported(svc, inc, m.type)
    except DomainError as exc:
        if isinstance(exc, (Unavailable, Busy)):  # handed back: Meta sends it again
            await channels.release_inbound(svc, key)
            raise
        log.warning("whatsapp message %s from office %s refused: %s", m.wamid, office["code"], exc.code)
        await channels.finish_inbound(svc, key, "refused")
        return "refused"
    except BaseException:
        await channels.release_inbound(svc, key)
        raise
    await channels.finish_inbound(svc, key, "done", c["_id"])
    log.info("whatsapp message %s taken into consultation %s", m.wamid, c["_id"])
    return "taken"


async def _fetch(svc: Services, m: InboundMessage) -> channels.InboundFile:
    """The media's bytes through the Graph API, or why they were not taken (too large, gone)."""
    assert m.media_id is not None
    name = m.filename or f"whatsapp-{m.type}"
    try:
        data, _, _ = await svc.whatsapp.download_media(m.media_id, max_bytes=channels.MAX_FILE_BYTES)
    except GraphError as exc:
        if exc.temporary:
            raise Unavailable("whatsapp_unavailable", "the WhatsApp media could not be fetched; try again") from None
        if exc.reason.startswith("too_large"):
            return channels.InboundFile(name, refused=i18n.t("channel.too_large", "id", max_mb=_MAX_MB))
        log.warning("whatsapp media %s of message %s not fetched: %s", m.media_id, m.wamid, exc.reason)
        return channels.InboundFile(name, refused=exc.reason[:200])
    return channels.InboundFile(name, data=data)


async def take_status(svc: Services, st: StatusUpdate) -> str:
    """sent / delivered / read / failed of a reply we sent: stored on its room message, told to the room."""
    sent = await svc.db.outbox.find_one({"provider_id": st.wamid}, {"room_message_id": 1})
    if sent is None or sent.get("room_message_id") is None:
        return "not_ours"  # a notice without a room message (receipt, transcript), or not ours
    msg = await svc.db.messages.find_one({"_id": sent["room_message_id"]})
    c = await svc.db.consultations.find_one({"_id": msg["consultation_id"]}) if msg else None
    if msg is None or c is None:
        return "not_ours"
    at = datetime.fromtimestamp(st.timestamp, UTC) if st.timestamp else svc.now()
    state: Doc = {"channel": "whatsapp", "status": st.status, "at": at}
    if st.error:
        state["error"] = st.error
    updated = await delivery.record(svc, c, msg, state)
    return "recorded" if updated is not None else "stale"
