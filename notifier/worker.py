"""The outbox worker: claims due e-mails one at a time with a lease, sends them, records the outcome.

Several workers may run against one outbox: the claim is a single find_one_and_update, so an item
goes to exactly one of them, and an item whose worker died is taken again once its lease ran out.

A temporary failure (SMTP down, 4xx) is retried by a time budget, not an attempt count: with back-off
doubling up to BACKOFF_MAX, until GIVE_UP_AFTER has passed since the failures began, so a mail server
down for a day or two loses nothing. Only an item that keeps killing its worker (claimed again and again
with no outcome recorded, `lost_leases`) is given up by count.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from mongo_init.schema import SWEEP_FLOOR
from notifier.sender import BuildError, MailSink, SendError, TemporarySendError, build_email
from notifier.whatsapp_sender import WhatsAppSink, WindowClosedError
from server.domain.ports import Clock

log = logging.getLogger(__name__)

Doc = dict[str, Any]

_JITTER_MIN = 0.8
_JITTER_MAX = 1.2
# How long temporary failures are retried, counted from the first one of the run (`failing_since`).
GIVE_UP_AFTER = timedelta(days=3)
# The longest wait between two tries, so a mail server that comes back is used within half an hour.
BACKOFF_MAX = timedelta(minutes=30)
# Claims that ended without any outcome (the worker died on the item) before it is given up.
MAX_LOST_LEASES = 8


class _Kicked:
    """What kick() returns: awaiting it is allowed and does nothing, so sync and async callers both work."""

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


def default_worker_id() -> str:
    """host:pid:random, so two workers in one process still differ."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _aware(at: datetime) -> datetime:
    """A stored time as an aware UTC datetime (the driver may hand them back naive)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def backoff_secs(attempts: int, base_secs: float, max_secs: float, jitter: float = 1.0) -> float:
    """Delay before the next try after `attempts` tries: base * 2**(attempts-1), capped, times jitter."""
    exponent = max(0, attempts - 1)
    # Cap the exponent so 2**n cannot overflow for absurd attempt counts.
    raw = base_secs * (2 ** min(exponent, 40))
    return float(min(max_secs, raw) * jitter)


class Notifier:
    """Sends what the outbox holds through a MailSink, with leases, retries and backoff."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        clock: Clock,
        sink: MailSink,
        *,
        mail_from: str,
        lease_secs: float = 60,
        batch: int = 20,
        max_lost_leases: int = MAX_LOST_LEASES,
        backoff_base_secs: float = 30,
        backoff_max_secs: float = BACKOFF_MAX.total_seconds(),
        give_up_after_secs: float = GIVE_UP_AFTER.total_seconds(),
        worker_id: str | None = None,
        rng: random.Random | None = None,
        whatsapp: WhatsAppSink | None = None,
    ) -> None:
        if batch < 1 or max_lost_leases < 1 or lease_secs <= 0 or give_up_after_secs <= 0:
            raise ValueError("batch, max_lost_leases, lease_secs and give_up_after_secs must be positive")
        self.db = db
        self.clock = clock
        self.sink = sink
        self.mail_from = mail_from
        self.lease_secs = lease_secs
        self.batch = batch
        self.max_lost_leases = max_lost_leases
        self.give_up_after = timedelta(seconds=give_up_after_secs)
        self.backoff_base_secs = backoff_base_secs
        self.backoff_max_secs = backoff_max_secs
        self.worker_id = worker_id or default_worker_id()
        # Outbox items with channel "whatsapp" go through this sink (the Graph API) instead of the mail sink.
        self.whatsapp = whatsapp
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()

    def kick(self) -> _Kicked:
        """Wake the run() loop now, e.g. right after something was enqueued; works with or without await."""
        self._wake.set()
        return _Kicked()

    async def claim(self) -> Doc | None:
        """Lease the next due item to this worker, or None when nothing is due.

        Candidates come from two scans of the (status, due_at) index, each an equality plus a bounded
        range: the embedded database answers that shape from the index, while an `$in`/`$or` query
        made it read the whole outbox (378 ms per poll at 20,000 sent mails). The guarded update_one
        then gives each item to exactly one worker.
        """
        now = self.clock.now()
        lease = {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}
        update = {
            "$set": {
                "status": "sending",
                "lease_until": now + timedelta(seconds=self.lease_secs),
                "worker": self.worker_id,
            },
            "$inc": {"attempts": 1},
        }
        for status in ("pending", "sending"):
            # A "sending" item is claimed again only once its lease ran out: its worker died on it.
            if status == "sending":
                update = {**update, "$inc": {"attempts": 1, "lost_leases": 1}}
            window = {"status": status, "due_at": {"$gte": SWEEP_FLOOR, "$lte": now}}
            cursor = self.db.outbox.find(window, {"_id": 1, "lease_until": 1}).sort("due_at", ASCENDING).limit(50)
            async for cand in cursor:
                held = cand.get("lease_until")
                if held is not None and held > now:
                    continue  # another worker holds it
                res = await self.db.outbox.update_one({"_id": cand["_id"], "status": status, **lease}, update)
                if res.modified_count == 1:
                    return await self.db.outbox.find_one({"_id": cand["_id"]})
        return None

    async def run_once(self) -> int:
        """Claim and send up to `batch` due items; returns how many were handled."""
        handled = 0
        try:
            while handled < self.batch:
                doc = await self.claim()
                if doc is None:
                    break
                handled += 1
                try:
                    await self._deliver(doc)
                except Exception:
                    # Only the bookkeeping can land here (e.g. the database went away); the lease
                    # makes the item come back, so the loop goes on.
                    log.exception("outbox item %s: could not record the outcome", doc.get("_id"))
        finally:
            await self.sink.flush()
        return handled

    async def run(self, stop: asyncio.Event, interval_secs: float) -> None:
        """Send until `stop` is set: a batch, then wait for the interval, a kick() or stop."""
        log.info("notifier %s started", self.worker_id)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except Exception:
                    log.exception("notifier batch failed")
                    handled = 0
                if handled >= self.batch:
                    continue  # more may be due right now
                await self._sleep(stop, interval_secs)
        finally:
            await self.sink.close()
            log.info("notifier %s stopped", self.worker_id)

    async def _sleep(self, stop: asyncio.Event, interval_secs: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=interval_secs, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _deliver(self, doc: Doc) -> None:
        item_id = doc["_id"]
        attempts = int(doc.get("attempts") or 1)
        lost = int(doc.get("lost_leases") or 0)
        if lost > self.max_lost_leases:
            # Got here by leases running out (e.g. a worker dying on this item): stop before it loops forever.
            await self._fail(
                doc, f"gave up: {lost} tries ended without an outcome; last error: {doc.get('last_error')}"
            )
            return
        if doc.get("channel") == "whatsapp":
            await self._deliver_whatsapp(doc, attempts)
            return
        try:
            message = build_email(doc, self.mail_from, now=self.clock.now())
        except Exception as exc:
            reason = (
                f"cannot build the e-mail: {exc}"
                if isinstance(exc, BuildError)
                else (f"cannot build the e-mail: {type(exc).__name__}: {exc}")
            )
            log.warning("outbox item %s kind=%s: %s", item_id, doc.get("kind"), reason)
            await self._fail(doc, reason)
            return
        try:
            await self.sink.send(message)
        except SendError as exc:
            await self._failed_send(doc, attempts, exc)
            return
        except Exception as exc:
            # A sink bug is treated as temporary: bounded by the time budget, so never a crash loop.
            log.exception("outbox item %s: unexpected error from the sink", item_id)
            await self._failed_send(doc, attempts, TemporarySendError(f"{type(exc).__name__}: {exc}"))
            return
        now = self.clock.now()
        await self.db.outbox.update_one(
            {"_id": item_id},
            {"$set": {"status": "sent", "sent_at": now, "lease_until": None, "last_error": None}},
        )
        log.info("outbox item %s kind=%s sent (attempt %s)", item_id, doc.get("kind"), attempts)

    async def _deliver_whatsapp(self, doc: Doc, attempts: int) -> None:
        """Send one WhatsApp item; outside Meta's 24-hour window it is held until the user writes again."""
        item_id = doc["_id"]
        if self.whatsapp is None:
            await self._failed_send(doc, attempts, TemporarySendError("no WhatsApp sender in this process"))
            return
        try:
            provider_id = await self.whatsapp.send(doc)
        except WindowClosedError as exc:
            await self.db.outbox.update_one(
                {"_id": item_id, "status": "sending", "worker": self.worker_id},
                # Held is not failing: the time budget for temporary failures starts afresh once released.
                {
                    "$set": {
                        "status": "held",
                        "lease_until": None,
                        "last_error": exc.reason,
                        "attempts": 0,
                        "failing_since": None,
                    }
                },
            )
            log.info("outbox item %s kind=%s held: outside the 24-hour window", item_id, doc.get("kind"))
            return
        except SendError as exc:
            await self._failed_send(doc, attempts, exc)
            return
        except Exception as exc:
            log.exception("outbox item %s: unexpected error from the WhatsApp sink", item_id)
            await self._failed_send(doc, attempts, TemporarySendError(f"{type(exc).__name__}: {exc}"))
            return
        await self.db.outbox.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "status": "sent",
                    "sent_at": self.clock.now(),
                    "lease_until": None,
                    "last_error": None,
                    "provider_id": provider_id,
                }
            },
        )
        log.info("outbox item %s kind=%s sent to WhatsApp (attempt %s)", item_id, doc.get("kind"), attempts)

    async def _failed_send(self, doc: Doc, attempts: int, exc: SendError) -> None:
        if not exc.temporary:
            log.warning("outbox item %s kind=%s failed permanently: %s", doc["_id"], doc.get("kind"), exc.reason)
            await self._fail(doc, exc.reason)
            return
        now = self.clock.now()
        failing_since = doc.get("failing_since") or now
        if now - _aware(failing_since) >= self.give_up_after:
            log.warning(
                "outbox item %s kind=%s failed for %s (%s attempts): %s",
                doc["_id"],
                doc.get("kind"),
                self.give_up_after,
                attempts,
                exc.reason,
            )
            await self._fail(doc, f"gave up after {attempts} attempts over {self.give_up_after}: {exc.reason}")
            return
        delay = backoff_secs(
            attempts,
            self.backoff_base_secs,
            self.backoff_max_secs,
            self._rng.uniform(_JITTER_MIN, _JITTER_MAX),
        )
        due_at = now + timedelta(seconds=delay)
        await self.db.outbox.update_one(
            {"_id": doc["_id"], "status": "sending", "worker": self.worker_id},
            {
                "$set": {
                    "status": "pending",
                    "due_at": due_at,
                    "lease_until": None,
                    "last_error": exc.reason,
                    "last_attempt_at": now,
                    "failing_since": failing_since,
                }
            },
        )
        log.info(
            "outbox item %s kind=%s: temporary failure (attempt %s), retry in %.0fs: %s",
            doc["_id"],
            doc.get("kind"),
            attempts,
            delay,
            exc.reason,
        )

    async def _fail(self, doc: Doc, reason: str) -> None:
        now = self.clock.now()
        await self.db.outbox.update_one(
            {"_id": doc["_id"], "status": "sending", "worker": self.worker_id},
            {
                "$set": {
                    "status": "failed",
                    "failed_at": now,
                    "lease_until": None,
                    "last_error": reason[:1000],
                    "last_attempt_at": now,
                }
            },
        )

    async def counts(self) -> dict[str, int]:
        """How many outbox items are in each status (for health pages and tests)."""
        out: dict[str, int] = {}
        async for row in await self.db.outbox.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
            out[str(row["_id"])] = int(row["n"])
        return out
