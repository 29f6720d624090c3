"""WhatsApp's webhook and the offices' channel settings over HTTP.

The webhook is Meta's, not a browser's: it is exempt from the CSRF check (server/http/csrf.py), its
body is read raw (the signature covers the exact bytes), and it answers 200 to anything it cannot use
(malformed, unknown number) so Meta keeps the subscription; only a bad signature is refused (401).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.domain import channels, whatsapp_channel
from server.domain.errors import PayloadTooLarge, Unauthorized
from server.domain.models import public_office
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import In, OfficeOut, OkOut, Out
from server.integrations.whatsapp import verify_signature
from server.keys import SERVICES

log = logging.getLogger(__name__)

api = Api()

WEBHOOK_PATH = "/channels/whatsapp/webhook"
# Meta's notifications are small; anything far larger is not one.
WEBHOOK_MAX_BYTES = 1024 * 1024


class _Strict(BaseModel):
    # A password or token sent here is refused (422), not silently dropped: secrets come from the environment.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WhatsAppChannelIn(_Strict):
    phone_number_id: str | None = Field(default=None, max_length=32)


class EmailChannelIn(_Strict):
    address: str | None = Field(default=None, max_length=254)


class ChannelsIn(In):
    """Omit a channel to keep it; `null` (or an empty value) removes it."""

    whatsapp: WhatsAppChannelIn | None = None
    email: EmailChannelIn | None = None


class ChannelsOut(Out):
    office: OfficeOut
    channels: dict[str, dict[str, object]]


@api.route(
    "GET",
    WEBHOOK_PATH,
    summary="Meta's webhook verification: the hub.challenge back for the right hub.verify_token",
    auth=None,
    query={
        "hub.mode": {"type": "string"},
        "hub.verify_token": {"type": "string"},
        "hub.challenge": {"type": "string"},
    },
    response={"type": "string"},
    content_type="text/plain",
    tags=["channels"],
    errors=(403,),
)
async def webhook_verify(request: web.Request) -> web.Response:
    q = request.query
    challenge = whatsapp_channel.verify_subscription(
        request.app[SERVICES], q.get("hub.mode"), q.get("hub.verify_token"), q.get("hub.challenge")
    )
    return web.Response(text=challenge, content_type="text/plain")


@api.route(
    "POST",
    WEBHOOK_PATH,
    summary="Meta's WhatsApp notifications (signed with X-Hub-Signature-256)",
    auth=None,
    response=OkOut,
    request_content={"application/json": {"schema": {"type": "object"}}},
    tags=["channels"],
    errors=(401, 413),
)
async def webhook(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    if request.content_length is not None and request.content_length > WEBHOOK_MAX_BYTES:
        raise PayloadTooLarge("body_too_large", "request body too large")
    raw = await request.content.read(WEBHOOK_MAX_BYTES + 1)
    if len(raw) > WEBHOOK_MAX_BYTES:
        raise PayloadTooLarge("body_too_large", "request body too large")
    if not verify_signature(raw, request.headers.get("X-Hub-Signature-256"), svc.settings.whatsapp_app_secret):
        log.warning("whatsapp webhook: refused a notification with a missing or wrong signature")
        raise Unauthorized("invalid_signature", "the X-Hub-Signature-256 signature does not match")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        log.warning("whatsapp webhook: a signed body that is not JSON (%d bytes); ignored", len(raw))
        return json_response({"ok": True})
    outcome = await whatsapp_channel.take_notification(svc, body)
    return json_response({"ok": True, **outcome})


@api.route(
    "GET",
    "/offices/{code}/channels",
    summary="An office's WhatsApp number and mailbox, and whether their secrets are configured (admin)",
    auth="admin",
    response=ChannelsOut,
    tags=["offices"],
    errors=(403, 404),
)
async def get_channels(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    office = await channels.office_channels(svc, me(request), request.match_info["code"])
    return json_response({"office": public_office(office), "channels": channels.channels_view(svc, office)})


@api.route(
    "PATCH",
    "/offices/{code}/channels",
    summary="Set an office's WhatsApp phone_number_id and mailbox address (admin; secrets come from the environment)",
    auth="admin",
    body=ChannelsIn,
    response=ChannelsOut,
    tags=["offices"],
    errors=(403, 404, 409, 422),
)
async def set_channels(request: web.Request, body: ChannelsIn) -> web.Response:
    svc = request.app[SERVICES]
    changes = {
        name: (part.model_dump() if part is not None else None)
        for name, part in ((n, getattr(body, n)) for n in ("whatsapp", "email"))
        if name in body.model_fields_set
    }
    office = await channels.set_channels(svc, me(request), request.match_info["code"], changes)
    return json_response({"office": public_office(office), "channels": channels.channels_view(svc, office)})
