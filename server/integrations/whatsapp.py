"""WhatsApp Business through Meta's Cloud API (Graph API): webhook checks and parsing, sending, media.

Docs followed (developers.facebook.com, WhatsApp Cloud API): webhooks carry `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>`; a notification is
`{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value":
{"metadata": {"phone_number_id"}, "contacts": [{"profile": {"name"}, "wa_id"}], "messages": [...],
"statuses": [...]}}]}]}`; messages are sent with `POST /{phone_number_id}/messages`, media uploaded
with `POST /{phone_number_id}/media` (multipart) and read with `GET /{media-id}` (a short-lived `url`)
then `GET <url>` with the same bearer token; errors are `{"error": {"message", "type", "code",
"error_subcode", "error_data": {"details"}, "fbtrace_id"}}` (131047: outside the 24-hour window).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

Doc = dict[str, Any]

REQUEST_TIMEOUT_SECS = 20.0
# Graph error codes (Cloud API "Error codes").
WINDOW_CLOSED_CODES = frozenset({131047, 470})
# Throttling and temporary trouble on Meta's side: try again later.
TEMPORARY_CODES = frozenset({1, 2, 4, 17, 32, 80007, 130429, 131000, 131016, 131048, 131056, 133004, 133016})
# The token expired or was revoked (code 190): our configuration, kept queued while someone fixes it.
TOKEN_CODES = frozenset({190})
SIGNATURE_PREFIX = "sha256="
STATUSES = ("sent", "delivered", "read", "failed")


class GraphError(Exception):
    """The Graph API refused a call or could not be reached; `temporary` says whether a retry may help."""

    def __init__(self, reason: str, *, status: int | None = None, code: int | None = None, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code
        self.temporary = temporary

    @property
    def window_closed(self) -> bool:
        """Meta refused a free-form message: more than 24 hours since the user last wrote."""
        return self.code in WINDOW_CLOSED_CODES


def verify_signature(raw_body: bytes, header: str | None, app_secret: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the raw body under the app secret (constant time)."""
    if not app_secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip().lower())


def sign(raw_body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta would send for this body (tests and tools)."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


# --- notifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundMessage:
    """One message a WhatsApp user sent to one of our numbers."""

    phone_number_id: str
    wa_id: str
    profile_name: str | None
    wamid: str
    timestamp: int | None
    type: str
    text: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """What became of a message we sent: sent, delivered, read or failed."""

    phone_number_id: str
    wamid: str
    status: str
    timestamp: int | None
    recipient: str | None
    error: str | None = None
    error_code: int | None = None


def _str(value: Any, limit: int = 4096) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_notification(body: Any) -> tuple[list[InboundMessage], list[StatusUpdate], list[str]]:
    """(messages, statuses, problems) of a webhook body; anything malformed is skipped and named in problems."""
    problems: list[str] = []
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        return [], [], ["not a whatsapp_business_account notification"]
    entries = body.get("entry")
    if not isinstance(entries, list):
        return [], [], ["no entry list"]
    for entry in entries[:100]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            problems.append("an entry without changes")
            continue
        for change in changes[:100]:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # other subscriptions (template status, quality...) are not ours
            value = change.get("value")
            meta = value.get("metadata") if isinstance(value, dict) else None
            pnid = _str(meta.get("phone_number_id"), 64) if isinstance(meta, dict) else None
            if not isinstance(value, dict) or pnid is None:
                problems.append("a change without metadata.phone_number_id")
                continue
            names = {}
            for contact in value.get("contacts") or []:
                if isinstance(contact, dict) and isinstance(contact.get("wa_id"), str):
                    profile = contact.get("profile")
                    names[contact["wa_id"]] = _str(profile.get("name"), 200) if isinstance(profile, dict) else None
            for raw in (value.get("messages") or [])[:100]:
                msg = _message(pnid, raw, names)
                if msg is None:
                    problems.append("a message without from/id/type")
                else:
                    messages.append(msg)
            for raw in (value.get("statuses") or [])[:100]:
                st = _status(pnid, raw)
                if st is None:
                    problems.append("a status without id/status")
                else:
                    statuses.append(st)
    return messages, statuses, problems


def _message(pnid: str, raw: Any, names: dict[str, str | None]) -> InboundMessage | None:
    if not isinstance(raw, dict):
        return None
    sender, wamid, kind = _str(raw.get("from"), 32), _str(raw.get("id"), 256), _str(raw.get("type"), 32)
    if sender is None or wamid is None or kind is None or not sender.isdigit():
        return None
    common: Doc = {
        "phone_number_id": pnid,
        "wa_id": sender,
        "profile_name": names.get(sender),
        "wamid": wamid,
        "timestamp": _int(raw.get("timestamp")),
        "type": kind,
    }
    found = raw.get(kind)
    part: Doc = found if isinstance(found, dict) else {}
    if kind == "text":
        return InboundMessage(**common, text=_str(part.get("body")))
    if kind in ("image", "document"):
        return InboundMessage(
            **common,
            text=_str(part.get("caption")),
            media_id=_str(part.get("id"), 128),
            mime_type=_str(part.get("mime_type"), 128),
            filename=_str(part.get("filename"), 255),
        )
    if kind == "button":
        return InboundMessage(**common, text=_str(part.get("text")))
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return InboundMessage(**common, text=_str(reply.get("title")) if isinstance(reply, dict) else None)
    # Audio, video, stickers, locations, contacts, reactions...: kept as a type without content.
    return InboundMessage(**common)


def _status(pnid: str, raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    wamid, status = _str(raw.get("id"), 256), _str(raw.get("status"), 32)
    if wamid is None or status not in STATUSES:
        return None
    error, code = None, None
    errors = raw.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = _int(errors[0].get("code"))
        error = _str(errors[0].get("title") or errors[0].get("message"), 300)
    return StatusUpdate(pnid, wamid, status, _int(raw.get("timestamp")), _str(raw.get("recipient_id"), 32), error, code)


# --- the client -----------------------------------------------------------------------------------


class WhatsAppClient:
    """Calls the Graph API with the system user's token; one HTTP session, opened on first use."""

    def __init__(
        self,
        token: str | None,
        api_base: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout_secs: float = REQUEST_TIMEOUT_SECS,
    ) -> None:
        self._token = token or ""
        self._api_base = api_base.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)

    def __repr__(self) -> str:
        return f"WhatsAppClient(api_base={self._api_base!r})"  # never the token

    @property
    def configured(self) -> bool:
        return bool(self._token)

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    def _auth(self) -> dict[str, str]:
        if not self._token:
            raise GraphError("WHATSAPP_TOKEN is not set", temporary=True)
        return {"Authorization": f"Bearer {self._token}"}

    async def send(self, phone_number_id: str, payload: Doc) -> str:
        """POST /{phone_number_id}/messages; returns Meta's message id (wamid)."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **payload}
        data = await self._call("POST", f"/{phone_number_id}/messages", json_body=body)
        msgs = data.get("messages")
        if not isinstance(msgs, list) or not msgs or not isinstance(msgs[0], dict) or not msgs[0].get("id"):
            raise GraphError("the Graph API answered without a message id", temporary=True)
        return str(msgs[0]["id"])

    async def upload_media(self, phone_number_id: str, data: bytes, content_type: str, filename: str) -> str:
        """POST /{phone_number_id}/media (multipart); returns the media id to send by."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", content_type)
        form.add_field("file", data, filename=filename, content_type=content_type)
        answer = await self._call("POST", f"/{phone_number_id}/media", form=form)
        if not answer.get("id"):
            raise GraphError("the Graph API answered without a media id", temporary=True)
        return str(answer["id"])

    async def download_media(self, media_id: str, *, max_bytes: int) -> tuple[bytes, str | None, int | None]:
        """GET /{media-id} for its URL, then the bytes with the same token: (data, mime type, declared size).

        A file over `max_bytes` (by its declared size, or by what arrives) stops the download with
        a permanent GraphError whose reason starts with "too_large".
        """
        meta = await self._call("GET", f"/{media_id}")
        url = meta.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise GraphError("the media has no download URL", temporary=False)
        size = _int(meta.get("file_size"))
        if size is not None and size > max_bytes:
            raise GraphError(f"too_large: {size} bytes", temporary=False)
        try:
            async with self._http().get(url, headers=self._auth()) as resp:
                if resp.status != 200:
                    raise GraphError(
                        f"media download answered {resp.status}", status=resp.status, temporary=resp.status >= 500
                    )
                chunks: list[bytes] = []
                got = 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    got += len(chunk)
                    if got > max_bytes:
                        raise GraphError(f"too_large: over {max_bytes} bytes", temporary=False)
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(f"media download failed: {type(exc).__name__}", temporary=True) from None
        mime = meta.get("mime_type")
        return b"".join(chunks), mime if isinstance(mime, str) else None, size

    async def _call(
        self, method: str, path: str, *, json_body: Doc | None = None, form: aiohttp.FormData | None = None
    ) -> Doc:
        try:
            async with self._http().request(
                method, self._api_base + path, json=json_body, data=form, headers=self._auth()
            ) as resp:
                try:
                    data = await resp.json(content_type=None)
                except ValueError:
                    data = None
                if 200 <= resp.status < 300 and isinstance(data, dict):
                    return data
                raise _graph_error(resp.status, data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GraphError(f"the Graph API could not be reached: {type(exc).__name__}", temporary=True) from None


def _graph_error(status: int, data: Any) -> GraphError:
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return GraphError(f"HTTP {status}", status=status, temporary=status >= 500 or status == 429)
    code = _int(err.get("code"))
    message = " ".join(str(err.get("message") or "").split())[:200]
    details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
    reason = f"({code}) {message}" + (f": {' '.join(str(details).split())[:200]}" if details else "")
    temporary = (
        status >= 500 or status == 429 or code in TEMPORARY_CODES or code in TOKEN_CODES or status == 401
    ) and code not in WINDOW_CLOSED_CODES
    return GraphError(reason, status=status, code=code, temporary=temporary)
