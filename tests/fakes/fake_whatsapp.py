"""A small fake of Meta's WhatsApp Cloud API (Graph API), strict enough to catch client bugs.

It implements what the product calls, as documented: `POST /{phone_number_id}/messages` (text,
template, image, document), `POST /{phone_number_id}/media` (multipart upload), `GET /{media-id}`
(metadata with a short-lived `url`) and that URL; every call needs the bearer token (else the
Graph API's OAuthException, code 190). It keeps Meta's 24-hour rule: a free-form message to a number
that has not written within 24 hours (on the clock the test gives it) is refused with error 131047
in the Graph API's error shape; templates must be among the approved names.

It also builds the webhook bodies Meta would send (incoming messages, statuses) and signs them.
Use it with `from tests.fakes.fake_whatsapp import fake_whatsapp  # noqa: F401`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

API_VERSION = "v21.0"
WINDOW = timedelta(hours=24)
_BAD_TOKEN = {
    "error": {
        "message": "Invalid OAuth access token - Cannot parse access token",
        "type": "OAuthException",
        "code": 190,
        "fbtrace_id": "AbCdEfFake",
    }
}


def graph_error(code: int, message: str, details: str, status: int = 400, subcode: int | None = None) -> web.Response:
    err: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbCdEfFake",
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    return web.json_response({"error": err}, status=status)


@dataclass
class Sent:
    """One message the fake accepted."""

    phone_number_id: str
    to: str
    type: str
    body: dict[str, Any]
    wamid: str
    at: datetime

    @property
    def text(self) -> str:
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "template":
            params = self.body["template"]["components"][0]["parameters"]
            return f"[template {self.body['template']['name']}: {' | '.join(p['text'] for p in params)}]"
        part = self.body[self.type]
        return f"[{self.type} {part.get('filename') or ''} {part.get('caption') or ''}]".replace("  ", " ")


@dataclass
class FakeWhatsApp:
    token: str = field(default_factory=lambda: "EAAG" + secrets.token_urlsafe(32))
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    verify_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    templates: set[str] = field(default_factory=lambda: {"pst_reply_waiting", "pst_rating_request", "pst_idle_warning"})
    base_url: str = ""
    # The clock of the 24-hour rule (the test points it at the app's test clock).
    now: Callable[[], datetime] = field(default_factory=lambda: lambda: datetime.now(UTC))

    last_inbound: dict[str, datetime] = field(default_factory=dict)  # wa_id -> when they last wrote
    sent: list[Sent] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # media id -> data, type, name
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # inbound media id -> data, mime
    declared_sizes: dict[str, int] = field(default_factory=dict)  # media id -> file_size to announce
    calls: list[tuple[str, str]] = field(default_factory=list)

    fail_500_next: int = 0
    unauthorized: int = 0  # requests refused for a bad token

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/{API_VERSION}"

    # --- what the test does as Meta / the user ---------------------------------------------------

    def sign(self, raw: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    def _envelope(self, pnid: str, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"display_phone_number": "6282261848787", "phone_number_id": pnid},
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    def user_message(
        self,
        pnid: str,
        wa_id: str,
        name: str,
        *,
        text: str | None = None,
        image: str | None = None,
        document: str | None = None,
        filename: str | None = None,
        caption: str | None = None,
        kind: str | None = None,
        wamid: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """A webhook body for one message the user sends (the fake's window opens for them)."""
        wamid = wamid or "wamid.HBgL" + secrets.token_hex(12).upper()
        msg: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(self.now().timestamp()))}
        if text is not None:
            msg.update({"type": "text", "text": {"body": text}})
        elif image is not None:
            msg.update({"type": "image", "image": {"id": image, "mime_type": self.media[image][1], "sha256": "x"}})
            if caption:
                msg["image"]["caption"] = caption
        elif document is not None:
            part = {"id": document, "mime_type": self.media[document][1], "sha256": "x", "filename": filename}
            msg.update({"type": "document", "document": part})
        else:
            msg.update({"type": kind or "sticker", kind or "sticker": {"id": "1"}})
        self.last_inbound[wa_id] = self.now()
        body = self._envelope(pnid, {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [msg]})
        return body, wamid

    def status(self, sent: Sent, status: str) -> dict[str, Any]:
        """A webhook body telling what became of a message the fake accepted."""
        st = {
            "id": sent.wamid,
            "status": status,
            "timestamp": str(int(self.now().timestamp())),
            "recipient_id": sent.to,
        }
        return self._envelope(sent.phone_number_id, {"statuses": [st]})

    def add_media(self, data: bytes, mime: str, declared_size: int | None = None) -> str:
        media_id = str(secrets.randbelow(10**15) + 10**15)
        self.media[media_id] = (data, mime)
        if declared_size is not None:
            self.declared_sizes[media_id] = declared_size
        return media_id

    def texts_to(self, wa_id: str) -> list[str]:
        return [s.text for s in self.sent if s.to == wa_id]

    # --- the API ------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post(f"/{API_VERSION}/{{pnid}}/messages", self._send)
        app.router.add_post(f"/{API_VERSION}/{{pnid}}/media", self._upload)
        app.router.add_get(f"/{API_VERSION}/{{media_id}}", self._media_meta)
        app.router.add_get("/whatsapp_business/attachments/{media_id}", self._media_bytes)
        return app

    def _authorized(self, request: web.Request) -> bool:
        ok = request.headers.get("Authorization") == f"Bearer {self.token}"
        if not ok:
            self.unauthorized += 1
        return ok

    async def _send(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", request.path))
        if not self._authorized(request):
            return web.json_response(_BAD_TOKEN, status=401)
        if self.fail_500_next > 0:
            self.fail_500_next -= 1
            return graph_error(131000, "Something went wrong", "Service temporarily unavailable", status=500)
        try:
            body = await request.json()
        except ValueError:
            return graph_error(100, "(#100) Invalid parameter", "the body is not JSON")
        problem = _check_message(body, self.templates, set(self.uploads))
        if problem:
            self.refused.append({"body": body, "reason": problem})
            return graph_error(100, "(#100) Invalid parameter", problem)
        to, kind = body["to"], body["type"]
        last = self.last_inbound.get(to)
        if kind != "template" and (last is None or self.now() - last >= WINDOW):
            self.refused.append({"body": body, "reason": "131047"})
            return graph_error(
                131047,
                "(#131047) Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last"
                " replied to this number.",
                subcode=2494010,
            )
        wamid = "wamid.HBgM" + secrets.token_hex(16).upper()
        self.sent.append(Sent(request.match_info["pnid"], to, kind, body, wamid, self.now()))
        return web.json_response(
            {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]}
        )

    async def _upload(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", request.path))
        if not self._authorized(request):
            return web.json_response(_BAD_TOKEN, status=401)
        form = await request.post()
        file = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not isinstance(file, web.FileField):
            return graph_error(100, "(#100) Invalid parameter", "messaging_product and file are required")
        data = file.file.read()
        media_id = str(secrets.randbelow(10**15) + 10**15)
        self.uploads[media_id] = (data, str(form.get("type")), file.filename)
        return web.json_response({"id": media_id})

    async def _media_meta(self, request: web.Request) -> web.Response:
        self.calls.append(("GET", request.path))
        if not self._authorized(request):
            return web.json_response(_BAD_TOKEN, status=401)
        media_id = request.match_info["media_id"]
        if media_id not in self.media:
            return graph_error(100, "(#100) Invalid parameter", "unknown media id")
        data, mime = self.media[media_id]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/whatsapp_business/attachments/{media_id}?ext={int(time.time())}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": self.declared_sizes.get(media_id, len(data)),
                "id": media_id,
            }
        )

    async def _media_bytes(self, request: web.Request) -> web.Response:
        self.calls.append(("GET", request.path))
        if not self._authorized(request):
            return web.Response(status=401, text="unauthorized")
        data, mime = self.media[request.match_info["media_id"]]
        return web.Response(body=data, content_type=mime)


def _check_message(body: Any, templates: set[str], uploads: set[str]) -> str | None:
    """What the Graph API would refuse in a send-message body (None when it is acceptable)."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not isinstance(body.get("to"), str) or not body["to"].isdigit():
        return "to must be a phone number"
    kind = body.get("type")
    part = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        return f"the {kind} object is required"
    if kind == "text":
        text = part.get("body")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return "text.body must be 1..4096 characters"
    elif kind == "template":
        if part.get("name") not in templates:
            return f"template name does not exist in the translation: {part.get('name')}"
        if not isinstance(part.get("language"), dict) or not part["language"].get("code"):
            return "template.language.code is required"
        for comp in part.get("components") or []:
            for p in comp.get("parameters") or []:
                if p.get("type") != "text" or not str(p.get("text") or "").strip():
                    return "template parameters must be non-empty text"
    elif kind in ("image", "document"):
        if part.get("id") not in uploads and not part.get("link"):
            return f"{kind}.id must be an uploaded media id"
    else:
        return f"unsupported type {kind}"
    return None


@pytest.fixture(name="fake_whatsapp")
async def fake_whatsapp_server() -> AsyncIterator[FakeWhatsApp]:
    """A fake Graph API (WhatsApp Cloud API) on a free local port."""
    fake = FakeWhatsApp()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        fake.base_url = f"http://{host}:{port}"
        yield fake
    finally:
        await runner.cleanup()


def dumps(body: dict[str, Any]) -> bytes:
    """A webhook body as Meta sends it: compact JSON with non-ASCII escaped."""
    return json.dumps(body, separators=(",", ":")).encode()
