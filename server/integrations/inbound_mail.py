"""Reading one incoming e-mail: who sent it, its thread ids, the new text (quotes and signature cut
off), its attachments, and whether a machine sent it (auto-replies and bounces never open a consultation).

Pure functions over the raw RFC 5322 bytes; the IMAP client (server/integrations/imap.py) fetches them
and server/domain/email_channel.py decides what to do.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

MSG_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
# A consultation number in a subject: "Re: Data IPM [7406-2026-00012]".
NUMBER = re.compile(r"\b([0-9]{4}-[0-9]{4}-[0-9]{5})\b")
# Senders that are machines (RFC 3834 and the usual conventions).
MACHINE_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "bounces"}
)
_QUOTE_HEADERS = [
    re.compile(r"^On\b.*\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^Pada\b.*\bmenulis:\s*$", re.IGNORECASE),
    re.compile(r"^Le\b.*\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^Am\b.*\bschrieb\b.*:\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(Original Message|Pesan Asli|Pesan Asal|Forwarded message)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{10,}\s*$"),
]
_OUTLOOK_FROM = re.compile(r"^(From|Dari)\s*:\s*\S", re.IGNORECASE)
_SENT_FROM = re.compile(r"^(Sent from my|Sent from Mail|Dikirim dari|Get Outlook for|Kirim dari)\b", re.IGNORECASE)


@dataclass
class MailFile:
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    """What the channel needs of one e-mail."""

    from_addr: str
    from_name: str | None
    subject: str
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    text: str
    files: list[MailFile] = field(default_factory=list)
    machine: str | None = None  # why a machine sent it (auto-reply, bounce, list), or None

    @property
    def thread_ids(self) -> list[str]:
        """Every id this mail answers, nearest first."""
        seen: list[str] = []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.append(mid)
        return seen

    @property
    def subject_number(self) -> str | None:
        m = NUMBER.search(self.subject)
        return m.group(1) if m else None


def _ids(value: str | None) -> list[str]:
    return MSG_ID.findall(str(value or ""))[:50]


def machine_reason(msg: EmailMessage, from_addr: str) -> str | None:
    """Why this mail was sent by a machine (so it must not open a consultation), or None for a person."""
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    local = from_addr.split("@", 1)[0].lower()
    if local in MACHINE_LOCAL_PARTS:
        return f"sender {local}"
    if str(msg.get("Precedence") or "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "Precedence: " + str(msg.get("Precedence")).strip().lower()
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if msg.get(header) is not None:
            return header
    if msg.get("X-Auto-Response-Suppress") and str(msg.get("X-Auto-Response-Suppress")).lower() in ("all", "oof"):
        # Only machines set this on their own mails (ours do too: a loop stops here).
        return "X-Auto-Response-Suppress"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return_path = str(msg.get("Return-Path") or "").strip()
    if return_path == "<>":
        return "empty Return-Path (a bounce)"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "mailing list"
    return None


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "blockquote"):
            self.parts.append("\n")
            if tag == "blockquote":
                self.parts.append("\x00QUOTE\x00\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body; a <blockquote> (the quoted history) and what follows is dropped."""
    parser = _TextOfHtml()
    parser.feed(markup)
    text = "".join(parser.parts)
    text = text.split("\x00QUOTE\x00", 1)[0]
    return html.unescape(text)


def trim_reply(text: str) -> str:
    """The new part of a mail: quoted history, its "On … wrote:" line, signatures and phone footers cut."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped in ("--", "-- ") or line == "-- ":
            break  # the signature delimiter (RFC 3676)
        if any(p.search(stripped) for p in _QUOTE_HEADERS) or _SENT_FROM.search(stripped):
            break
        # Gmail wraps a long "On <date>, <name> <addr>" header over two lines.
        if stripped.lower().startswith(("on ", "pada ")) and i + 1 < len(lines):
            nxt = lines[i + 1].strip().lower()
            if nxt.endswith(("wrote:", "menulis:")):
                break
        # Outlook: a blank line, then a "From:" block of the quoted mail.
        if _OUTLOOK_FROM.search(stripped) and (not out or not out[-1].strip()) and out:
            break
        if stripped.startswith(">"):
            continue
        out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    while out and not out[0].strip():
        out.pop(0)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


def _body_and_files(msg: EmailMessage) -> tuple[str, list[MailFile]]:
    files: list[MailFile] = []
    plain: str | None = None
    markup: str | None = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if (
            disposition == "attachment"
            or (filename and disposition == "inline")
            or (filename and not ctype.startswith("text/"))
        ):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                files.append(MailFile(filename, ctype, data))
            continue
        if ctype == "text/plain" and plain is None:
            plain = _decoded_text(part)
        elif ctype == "text/html" and markup is None:
            markup = _decoded_text(part)
    body = plain if plain is not None else html_to_text(markup or "")
    return body, files


def _decoded_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or lying charset
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def parse_mail(raw: bytes, *, headers_only: bool = False) -> ParsedMail:
    """Parse one e-mail (or only its header block, for a message too large to fetch whole)."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    name, addr = parseaddr(str(msg.get("Reply-To") or msg.get("From") or ""))
    from_name, from_addr = parseaddr(str(msg.get("From") or ""))
    if msg.get("Reply-To") and addr:
        from_addr = addr
        from_name = from_name or name
    from_addr = from_addr.strip().lower()
    subject = " ".join(str(msg.get("Subject") or "").split())[:300]
    mid = _ids(msg.get("Message-ID"))
    text, files = ("", []) if headers_only else _body_and_files(msg)
    return ParsedMail(
        from_addr=from_addr,
        from_name=(from_name or "").strip()[:120] or None,
        subject=subject,
        message_id=mid[0] if mid else None,
        in_reply_to=_ids(msg.get("In-Reply-To")),
        references=_ids(msg.get("References")),
        text=trim_reply(text),
        files=files,
        machine=machine_reason(msg, from_addr),
    )


def recipients(raw: bytes) -> list[str]:
    """The To/Cc addresses of a mail, lower-case (which office mailbox it was written to)."""
    msg = message_from_bytes(raw, policy=policy.default)
    pairs = getaddresses([str(msg.get("To") or ""), str(msg.get("Cc") or "")])
    return [a.lower() for _, a in pairs if a]


def is_address(value: str) -> bool:
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError):
        return False
    return "@" in value and " " not in value
