"""Turning an outbox document into an e-mail and handing it to a sink: SMTP (aiosmtplib) or .eml files."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from server.storage.outbox import sanitize_header

log = logging.getLogger(__name__)

Doc = dict[str, Any]
Security = Literal["none", "starttls", "tls"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
# Per SMTP command; kept well under the worker's lease so a slow server cannot outlive it.
DEFAULT_SMTP_TIMEOUT_SECS = 20.0
# Servers drop idle clients (RFC 5321 suggests 5 minutes); we give the connection back much sooner.
DEFAULT_SMTP_IDLE_SECS = 10.0
_CALENDAR_METHODS = {"REQUEST", "CANCEL", "PUBLISH", "REPLY"}


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server; the password never appears in repr()."""

    host: str
    port: int
    security: Security = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """A loggable description without credentials."""
        return f"{self.security}://{self.host}:{self.port}" + (" (auth)" if self.username else "")


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://user:pass@host:port`, `smtp+starttls://…` or `smtps://…` -> SmtpConfig; ValueError if bad."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("SMTP_URL has an invalid port") from exc
    security, default_port = _SCHEMES[scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpConfig(parts.hostname, port or default_port, security, username, password)


# --- building the message -----------------------------------------------------------------------


class BuildError(ValueError):
    """The outbox document cannot become an e-mail; retrying will not help."""


def _address(addr: str, name: str | None) -> Address:
    addr = sanitize_header(addr)
    if not addr or " " in addr or addr.count("@") != 1:
        raise BuildError("invalid e-mail address")
    try:
        return Address(display_name=sanitize_header(name or ""), addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise BuildError(f"invalid e-mail address: {exc}") from None


def _from_address(mail_from: str) -> Address:
    name, addr = parseaddr(sanitize_header(mail_from))
    if not addr:
        raise BuildError("MAIL_FROM is not an e-mail address")
    return _address(addr, name)


def build_email(doc: Doc, mail_from: str, *, now: datetime | None = None) -> EmailMessage:
    """The e-mail for one outbox document; header values never carry line breaks."""
    msg = EmailMessage(policy=policy.default)
    thread = doc.get("thread") or {}
    # An e-mail consultation's mails leave from the office's address, in the user's thread.
    if thread.get("from"):
        msg["From"] = _address(str(thread["from"]), thread.get("from_name"))
    else:
        msg["From"] = _from_address(mail_from)
    msg["To"] = _address(str(doc.get("to") or ""), doc.get("to_name"))
    msg["Subject"] = sanitize_header(str(doc.get("subject") or ""))
    message_id = sanitize_header(str(doc.get("message_id") or ""))
    if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
        raise BuildError("invalid Message-ID")
    msg["Message-ID"] = message_id
    for header, key in (("In-Reply-To", "in_reply_to"), ("References", "references")):
        ids = re.findall(r"<[^<>\s@]+@[^<>\s@]+>", sanitize_header(str(thread.get(key) or "")))
        if ids:
            msg[header] = " ".join(ids)
    if thread.get("from"):
        msg["Reply-To"] = msg["From"]
    when = now or doc.get("created_at") or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    msg["Date"] = format_datetime(when.astimezone(UTC))
    msg["Auto-Submitted"] = "auto-generated"
    # Asks Exchange/Outlook not to answer with out-of-office replies.
    msg["X-Auto-Response-Suppress"] = "All"
    if doc.get("lang") in ("id", "en"):
        msg["Content-Language"] = doc["lang"]
    msg.set_content(str(doc.get("text") or ""))
    if doc.get("html"):
        msg.add_alternative(str(doc["html"]), subtype="html")
    for att in doc.get("attachments") or []:
        _attach(msg, att)
    return msg


def _attach(msg: EmailMessage, att: Doc) -> None:
    data = att.get("data")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BuildError("attachment without bytes")
    content_type = str(att.get("content_type") or "application/octet-stream").lower()
    maintype, _, subtype = content_type.partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", maintype) or not re.fullmatch(r"[a-z0-9][a-z0-9.+-]*", subtype):
        raise BuildError("invalid attachment content type")
    filename = sanitize_header(str(att.get("filename") or "attachment")).replace("/", "_").replace("\\", "_")
    params: dict[str, str] = {}
    if content_type == "text/calendar":
        params["charset"] = "utf-8"
        method = str(att.get("method") or "").upper()
        if method:
            if method not in _CALENDAR_METHODS:
                raise BuildError("invalid calendar method")
            params["method"] = method
    msg.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=filename, params=params)


# --- classifying failures -----------------------------------------------------------------------


class SendError(Exception):
    """Sending failed; `temporary` says whether a later retry may succeed."""

    temporary: bool = True

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TemporarySendError(SendError):
    """Try again later: timeouts, refused or dropped connections, 4xx replies."""

    temporary = True


class PermanentSendError(SendError):
    """Do not retry: 5xx replies, every recipient refused, a message the server cannot take."""

    temporary = False


def _short(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def classify_smtp_error(exc: BaseException) -> SendError:
    """Map an aiosmtplib / network exception to a temporary or permanent SendError."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {_short(r.message, 120)}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            return TemporarySendError(f"recipient deferred: {detail}", code=codes[0])
        return PermanentSendError(f"recipient refused: {detail}", code=codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Wrong credentials are our configuration, not this message: keep it queued while someone fixes it.
        return TemporarySendError(f"SMTP authentication failed: {exc.code} {_short(exc.message)}", code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"{type(exc).__name__}: {exc.code} {_short(exc.message)}"
        if 400 <= exc.code < 500 or exc.code < 200 or exc.code == -1:
            return TemporarySendError(reason, code=exc.code)
        return PermanentSendError(reason, code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentSendError(f"not supported by the server: {_short(str(exc))}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return TemporarySendError(f"{type(exc).__name__}: {_short(str(exc))}")
    if isinstance(exc, TimeoutError | OSError | aiosmtplib.SMTPException):
        return TemporarySendError(f"{type(exc).__name__}: {_short(str(exc))}")
    if isinstance(exc, ValueError):
        # aiosmtplib raises ValueError for addresses it cannot put in an envelope.
        return PermanentSendError(f"unsendable: {_short(str(exc))}")
    return TemporarySendError(f"{type(exc).__name__}: {_short(str(exc))}")


# --- sinks --------------------------------------------------------------------------------------


class MailSink(Protocol):
    """Where built e-mails go; SmtpSink and FileSink share this interface."""

    async def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise TemporarySendError / PermanentSendError."""
        ...

    async def flush(self) -> None:
        """End of a batch: release any connection held open for it."""
        ...

    async def close(self) -> None:
        """Release everything; the sink may be used again afterwards."""
        ...


class SmtpSink:
    """Sends over SMTP, reusing one connection for a burst and closing it when idle or at a batch's end."""

    def __init__(
        self,
        config: SmtpConfig,
        *,
        timeout_secs: float = DEFAULT_SMTP_TIMEOUT_SECS,
        idle_secs: float = DEFAULT_SMTP_IDLE_SECS,
        tls_context: ssl.SSLContext | None = None,
        ca_file: str | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.config = config
        self.timeout_secs = timeout_secs
        self.idle_secs = idle_secs
        self._tls_context = tls_context
        if tls_context is None and ca_file:
            self._tls_context = ssl.create_default_context(cafile=ca_file)
        self._local_hostname = local_hostname
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._last_used = 0.0
        self._idle_handle: asyncio.TimerHandle | None = None
        self._idle_task: asyncio.Task[None] | None = None
        # After a failed connect, the rest of the batch fails fast instead of waiting out timeouts again.
        self._down_reason: str | None = None
        self._down_until = 0.0
        self.connections_opened = 0

    @property
    def connected(self) -> bool:
        """Whether a connection is being kept open right now."""
        return self._client is not None and self._client.is_connected

    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self.config
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            timeout=self.timeout_secs,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        self.connections_opened += 1
        self._local_hostname = client.local_hostname  # resolve the FQDN once, not per connection
        log.debug("smtp connected to %s", cfg.describe())
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def send(self, message: EmailMessage) -> None:
        """Send one message; raises TemporarySendError or PermanentSendError."""
        async with self._lock:
            self._disarm_idle_timer()
            try:
                await self._send_locked(message)
            finally:
                self._last_used = asyncio.get_running_loop().time()
                if self._client is not None:
                    self._arm_idle_timer()

    async def _send_locked(self, message: EmailMessage) -> None:
        loop = asyncio.get_running_loop()
        if self._down_reason is not None and loop.time() < self._down_until:
            raise TemporarySendError(f"server unavailable: {self._down_reason}")
        self._down_reason = None
        reused = self._client is not None and self._client.is_connected
        if reused and loop.time() - self._last_used > self.idle_secs:
            # The server may have timed us out already; a fresh connection costs less than a failed send.
            await self._quit()
            reused = False
        for attempt in (1, 2):
            if self._client is None or not self._client.is_connected:
                self._drop()
                try:
                    self._client = await self._connect()
                except Exception as exc:
                    err = classify_smtp_error(exc)
                    if err.temporary:
                        self._down_reason = err.reason
                        self._down_until = loop.time() + self.idle_secs
                    raise err from None
            try:
                await self._client.send_message(message)
                return
            except aiosmtplib.SMTPServerDisconnected as exc:
                self._drop()
                if reused and attempt == 1:
                    # A kept connection went stale between messages: reconnect once.
                    log.info("smtp connection dropped; reconnecting")
                    reused = False
                    continue
                raise classify_smtp_error(exc) from None
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                # aiosmtplib has sent RSET; the connection stays usable for the next message.
                raise classify_smtp_error(exc) from None
            except asyncio.CancelledError:
                self._drop()  # cut off mid-command: the connection's state is unknown
                raise
            except Exception as exc:
                self._drop()
                raise classify_smtp_error(exc) from None

    async def _quit(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit(timeout=min(self.timeout_secs, 5.0))
        except Exception as exc:  # the goodbye is a courtesy; a failure here changes nothing
            log.debug("smtp quit failed: %s", type(exc).__name__)
        finally:
            client.close()

    def _arm_idle_timer(self) -> None:
        self._idle_handle = asyncio.get_running_loop().call_later(self.idle_secs, self._on_idle)

    def _disarm_idle_timer(self) -> None:
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None

    def _on_idle(self) -> None:
        self._idle_handle = None
        self._idle_task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        """Close the connection kept for the batch and forget a 'server down' verdict."""
        async with self._lock:
            self._disarm_idle_timer()
            self._down_reason = None
            await self._quit()

    async def close(self) -> None:
        """Close the connection and stop the idle timer."""
        await self.flush()
        task, self._idle_task = self._idle_task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            await task


class FileSink:
    """Writes each message as <mail_dir>/<utc timestamp>-<safe id>.eml, atomically (temp file + rename)."""

    def __init__(self, mail_dir: Path | str, *, clock: Any = None) -> None:
        self.mail_dir = Path(mail_dir)
        self._clock = clock

    def _now(self) -> datetime:
        now: datetime = self._clock.now() if self._clock is not None else datetime.now(UTC)
        return now.astimezone(UTC)

    def path_for(self, message: EmailMessage) -> Path:
        """The file name a message gets: sortable by time, unique by Message-ID."""
        stamp = self._now().strftime("%Y%m%dT%H%M%S%fZ")
        safe_id = re.sub(r"[^A-Za-z0-9._-]+", "_", str(message.get("Message-ID", "")).strip("<> "))[:120]
        return self.mail_dir / f"{stamp}-{safe_id or 'message'}.eml"

    async def send(self, message: EmailMessage) -> None:
        """Write the message; an OSError is a temporary failure (disk full, permissions)."""
        path = self.path_for(message)
        data = message.as_bytes(policy=policy.default)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise TemporarySendError(f"cannot write {path.name}: {exc.strerror or exc}") from None
        log.info("mail written to %s", path)

    async def flush(self) -> None:
        """Nothing is held between messages."""

    async def close(self) -> None:
        """Nothing to release."""


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def make_sink(smtp_url: str | None, mail_dir: Path | str, *, clock: Any = None) -> MailSink:
    """SmtpSink for a configured SMTP_URL, else a FileSink under the data dir (CONTRACT: <data-dir>/mail)."""
    if smtp_url:
        return SmtpSink(parse_smtp_url(smtp_url))
    return FileSink(mail_dir, clock=clock)
