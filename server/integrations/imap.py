"""Reading each office's mailbox over IMAP: new mails since a stored UID, with IDLE where the server offers it.

The client is the standard library's `imaplib`, each blocking call run in a worker thread. Why not an
asyncio IMAP library: the maintained one (aioimaplib) is GPL-3.0, which this proprietary product cannot
link, and the others are unmaintained; imaplib is complete for what we need except IDLE before Python
3.14, which is a few lines here (RFC 2177: `IDLE`, wait for an untagged EXISTS, `DONE`). One thread per
mailbox, waiting in select() in one-second steps so shutdown never waits long.

A mailbox's position is (UIDVALIDITY, last UID taken), kept by the caller (the database); a mail is
marked \\Seen and the position moves only after the handler took it, so a crash or a database outage
re-reads it (and the handler is idempotent on its Message-ID).
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import re
import select
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

FETCH_BATCH = 50
CONNECT_TIMEOUT_SECS = 30.0
RECONNECT_MAX_SECS = 300.0
_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


@dataclass(frozen=True)
class ImapAccount:
    """Where an office's mailbox is; the password never appears in repr() or the logs."""

    host: str
    port: int
    tls: bool
    user: str
    password: str = field(repr=False)
    mailbox: str = "INBOX"

    @classmethod
    def from_url(cls, url: str) -> ImapAccount:
        """`imaps://user:password@host[:993][/MAILBOX]` or `imap://…` (plain, for a local server)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ValueError("not an imap:// or imaps:// URL with a user")
        tls = parts.scheme == "imaps"
        mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(
            parts.hostname,
            parts.port or (993 if tls else 143),
            tls,
            unquote(parts.username),
            unquote(parts.password or ""),
            mailbox,
        )

    def describe(self) -> str:
        return f"{'imaps' if self.tls else 'imap'}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


class ImapMailbox:
    """One blocking IMAP connection; every method is meant to run in a worker thread."""

    def __init__(self, account: ImapAccount, *, timeout_secs: float = CONNECT_TIMEOUT_SECS) -> None:
        self.account = account
        self.timeout_secs = timeout_secs
        self.conn: imaplib.IMAP4 | None = None
        self.uidvalidity: int | None = None
        self.idle_supported = False
        self.stopping = threading.Event()
        self._tags = 0

    def open(self) -> None:
        a = self.account
        if a.tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                a.host, a.port, ssl_context=ssl.create_default_context(), timeout=self.timeout_secs
            )
        else:
            conn = imaplib.IMAP4(a.host, a.port, timeout=self.timeout_secs)
        try:
            conn.login(a.user, a.password)
            typ, _ = conn.select(_quote(a.mailbox))
            if typ != "OK":
                raise imaplib.IMAP4.error(f"cannot select {a.mailbox}")
            _, data = conn.response("UIDVALIDITY")
            self.uidvalidity = int(data[0]) if data and data[0] else 0
            self.idle_supported = "IDLE" in conn.capabilities
        except BaseException:
            _shutdown(conn)
            raise
        self.conn = conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
            _shutdown(conn)

    def _c(self) -> imaplib.IMAP4:
        if self.conn is None:
            raise imaplib.IMAP4.abort("not connected")
        return self.conn

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs above `after_uid`, oldest first (`n:*` also names the last mail when none is newer)."""
        typ, data = self._c().uid("SEARCH", f"UID {after_uid + 1}:*")
        if typ != "OK":
            raise imaplib.IMAP4.error("UID SEARCH failed")
        found = [int(x) for x in b" ".join(d for d in data if isinstance(d, bytes)).split()]
        return sorted(u for u in found if u > after_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        typ, data = self._c().uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)")
        if typ != "OK":
            raise imaplib.IMAP4.error("UID FETCH RFC822.SIZE failed")
        out: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes):
                m = _SIZE.search(line)
                if m:
                    uid, size = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
                    out[int(uid)] = int(size)
        return out

    def fetch_many(self, uids: list[int]) -> dict[int, bytes]:
        """Several whole mails in one round trip (without marking them seen)."""
        if not uids:
            return {}
        typ, data = self._c().uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error("UID FETCH failed")
        out: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                m = re.search(rb"UID (\d+)", item[0])
                if m:
                    out[int(m.group(1))] = item[1]
        return out

    def fetch(self, uid: int, *, headers_only: bool = False) -> bytes:
        """The mail (or its header block) without marking it seen."""
        what = "(BODY.PEEK[HEADER])" if headers_only else "(BODY.PEEK[])"
        typ, data = self._c().uid("FETCH", str(uid), what)
        if typ != "OK":
            raise imaplib.IMAP4.error("UID FETCH failed")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return b""

    def mark_seen(self, uids: list[int]) -> None:
        if uids:
            self._c().uid("STORE", ",".join(map(str, uids)), "+FLAGS", "(\\Seen)")

    def idle(self, seconds: float) -> bool:
        """RFC 2177 IDLE for up to `seconds`: True when the server announced new mail."""
        conn = self._c()
        self._tags += 1
        tag = f"PSTI{self._tags}".encode()
        conn.send(tag + b" IDLE\r\n")
        line = conn.readline()
        if not line.startswith(b"+"):
            raise imaplib.IMAP4.error(f"IDLE refused: {line[:80]!r}")
        sock = conn.sock
        changed = False
        deadline = time.monotonic() + seconds
        while not changed and not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready = (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0) or bool(
                select.select([sock], [], [], min(remaining, 1.0))[0]
            )
            if ready:
                line = conn.readline()
                if not line:
                    raise imaplib.IMAP4.abort("connection closed during IDLE")
                if line.startswith(b"* BYE"):
                    raise imaplib.IMAP4.abort("server said BYE during IDLE")
                changed = b"EXISTS" in line or b"RECENT" in line
        conn.send(b"DONE\r\n")
        while True:
            line = conn.readline()
            if not line:
                raise imaplib.IMAP4.abort("connection closed after IDLE")
            if line.startswith(tag + b" "):
                return changed


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shutdown(conn: imaplib.IMAP4) -> None:
    try:
        conn.shutdown()
    except OSError:
        pass


# What the watcher is handed: take one mail (raw bytes, whether only the header was fetched, its size).
MailHandler = Callable[[bytes, bool, int], Awaitable[object]]
CursorLoad = Callable[[], Awaitable[tuple[int | None, int]]]
CursorSave = Callable[[int, int], Awaitable[None]]


class MailboxWatcher:
    """Follows one mailbox: takes every new mail in UID order, then waits (IDLE or polling), reconnecting."""

    def __init__(
        self,
        account: ImapAccount,
        handler: MailHandler,
        load_cursor: CursorLoad,
        save_cursor: CursorSave,
        *,
        poll_secs: float,
        idle_secs: float,
        max_fetch_bytes: int,
    ) -> None:
        self.account = account
        self.handler = handler
        self.load_cursor = load_cursor
        self.save_cursor = save_cursor
        self.poll_secs = poll_secs
        self.idle_secs = idle_secs
        self.max_fetch_bytes = max_fetch_bytes
        self.box = ImapMailbox(account)
        self.synced = asyncio.Event()  # set after every pass over the mailbox (tests wait on it)
        self.passes = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: connect, take what is new, wait for more; back off after a failure."""
        backoff = 1.0
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.box.open)
                log.info("imap %s connected (IDLE %s)", self.account.describe(), self.box.idle_supported)
                backoff = 1.0
                while not stop.is_set():
                    await self.sync_once()
                    if self.box.idle_supported:
                        await asyncio.to_thread(self.box.idle, self.idle_secs)
                    else:
                        await _wait(stop, self.poll_secs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # imaplib's messages carry the server's words, never our password.
                log.warning(
                    "imap %s: %s: %s; again in %.0f s",
                    self.account.describe(),
                    type(exc).__name__,
                    str(exc)[:200],
                    backoff,
                )
                await _wait(stop, backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECS)
            finally:
                await asyncio.to_thread(self.box.close)

    async def sync_once(self) -> int:
        """Take every mail after the stored position; returns how many."""
        box = self.box
        validity, last = await self.load_cursor()
        if validity != box.uidvalidity:
            last = 0  # a new mailbox (or one rebuilt): start over; the handler skips what it took before
        uids = await asyncio.to_thread(box.new_uids, last)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start : start + FETCH_BATCH]
            sizes = await asyncio.to_thread(box.sizes, batch)
            for chunk in _chunks(batch, sizes, self.max_fetch_bytes):
                too_large = sizes.get(chunk[0], 0) > self.max_fetch_bytes
                # Small mails come several per round trip; a mail too large to take, only its header.
                bodies = {} if too_large else await asyncio.to_thread(box.fetch_many, chunk)
                for uid in chunk:
                    raw = bodies.get(uid)
                    if raw is None:
                        raw = await asyncio.to_thread(box.fetch, uid, headers_only=too_large)
                    await self.handler(raw, too_large, sizes.get(uid, 0))
            # Taken: marked seen for the people who read the mailbox too, and the position moves on.
            await asyncio.to_thread(box.mark_seen, batch)
            await self.save_cursor(box.uidvalidity or 0, batch[-1])
        self.passes += 1
        self.synced.set()
        return len(uids)

    def stop(self) -> None:
        """Make a waiting IDLE return within a second."""
        self.box.stopping.set()


def _chunks(uids: list[int], sizes: dict[int, int], max_bytes: int) -> list[list[int]]:
    """Consecutive UIDs grouped up to `max_bytes` of mail per fetch; a mail over it stands alone."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if size > max_bytes:
            if current:
                out.append(current)
            out.append([uid])
            current, total = [], 0
            continue
        if current and total + size > max_bytes:
            out.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        out.append(current)
    return out


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
