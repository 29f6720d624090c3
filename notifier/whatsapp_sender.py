"""Sending a WhatsApp outbox document through the Graph API, beside the SMTP sender for e-mails."""

from __future__ import annotations

import copy
from typing import Any

from notifier.sender import PermanentSendError, SendError, TemporarySendError
from server.integrations.whatsapp import GraphError, WhatsAppClient

Doc = dict[str, Any]


class WindowClosedError(PermanentSendError):
    """Meta refused a free-form message outside the 24-hour window: hold it until the user writes again."""


def classify_graph_error(exc: GraphError) -> SendError:
    """A Graph API failure as the outbox worker's temporary / permanent / window-closed error."""
    if exc.window_closed:
        return WindowClosedError(exc.reason, code=exc.code)
    if exc.temporary:
        return TemporarySendError(exc.reason, code=exc.code)
    return PermanentSendError(exc.reason, code=exc.code)


class WhatsAppSink:
    """Uploads the document's file (if any), then sends its payload; returns Meta's message id."""

    def __init__(self, client: WhatsAppClient) -> None:
        self.client = client

    async def send(self, doc: Doc) -> str:
        """Deliver one outbox document or raise a SendError (WindowClosedError outside the window)."""
        pnid = str(doc.get("phone_number_id") or "")
        to = str(doc.get("to") or "")
        payload = copy.deepcopy(doc.get("payload") or {})
        if not pnid.isdigit() or not to.isdigit() or not isinstance(payload.get("type"), str):
            raise PermanentSendError("not a sendable WhatsApp message (number, recipient or type missing)")
        payload["to"] = to
        try:
            media = doc.get("media")
            if media:
                data = media.get("data")
                if not isinstance(data, bytes | bytearray):
                    raise PermanentSendError("the file to send has no bytes")
                media_id = await self.client.upload_media(
                    pnid, bytes(data), str(media.get("content_type")), str(media.get("filename"))
                )
                payload.setdefault(payload["type"], {})["id"] = media_id
            return await self.client.send(pnid, payload)
        except GraphError as exc:
            raise classify_graph_error(exc) from None
