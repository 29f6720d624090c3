"""The consultation jobs: SLA alerts, idle warnings and closes, rating reminders.

Every job has the same shape:
1. one indexed range query over its partial sweep index (`sla.check_at`, `idle.check_at`,
   `rating_reminder_at`) finds the consultations whose timestamp has passed;
2. a pure function decides what is due for each (`sla_step`, `idle_step`, `reminder_due`);
3. the item is claimed by a compare-and-set on the very timestamp that made it due, moving it to a
   short lease, so of two runners exactly one gets it;
4. the effects follow, each idempotent (system messages carry a client_id, e-mails a dedupe_key,
   the idle close is conditional on the claim still holding);
5. a final write, conditional on the lease, records the outcome and the next check.

A runner that dies between 3 and 5 leaves the lease behind; when it runs out another runner redoes
the item and the idempotent effects make the redo harmless, so a crash loses nothing and sends
nothing twice. Due-ness is only ever "stored timestamp <= now" and claims only move timestamps
forward or remove them, so a clock set backwards re-fires nothing.

Claims use update_one, not find_one_and_update: SecantusDB (the embedded database) runs
findAndModify as a scan of the whole collection (measured 1.2 s per call at 100,000 consultations)
while update_one by _id takes ~3 ms; MongoDB is fast either way. bench/scheduler_sweep.py has the figures.
The sweep, the lease and the compare-and-set live in server/storage/sweeps.py, shared with the
meeting reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from server.domain import access, events, messages
from server.domain import consultations as cons
from server.domain.errors import Conflict
from server.mail import mailing
from server.services import Services
from server.storage import sweeps
from server.storage.sweeps import CLAIM_LEASE as CLAIM_LEASE
from server.storage.sweeps import due_query as due_query
from server.storage.sweeps import lease_until as _lease_until

log = logging.getLogger(__name__)

Doc = dict[str, Any]
Job = Callable[[Services], Awaitable[int]]

# The partial indexes (mongo-init/schema.py) that serve the sweeps.
SLA_SWEEP_INDEX = "sla_sweep"
IDLE_SWEEP_INDEX = "idle_sweep"
RATING_SWEEP_INDEX = "rating_sweep"

SlaState = Literal["on_track", "at_risk", "breached"]
IdleAction = Literal["warn", "close", "wait", "drop"]


# --- the pure core: what is due ---------------------------------------------------------------


@dataclass(frozen=True)
class SlaStep:
    """What the SLA sweep does for one consultation at `now`."""

    state: SlaState
    alert: SlaState | None  # the alert to send now, if one has not gone out for this state
    next_check_at: datetime | None


def sla_step(c: Doc, now: datetime) -> SlaStep | None:
    """The SLA state at `now` by the stored deadlines; None when its clock no longer runs."""
    sla = c.get("sla") or {}
    if c.get("status") == "closed" or sla.get("state") == "met" or sla.get("paused") or not sla.get("due_at"):
        return None
    due_at: datetime = sla["due_at"]
    at_risk_at: datetime = sla.get("at_risk_at") or due_at
    state: SlaState
    if now >= due_at:
        state, next_check = "breached", None
    elif now >= at_risk_at:
        state, next_check = "at_risk", due_at
    else:
        state, next_check = "on_track", at_risk_at
    # A sweep that finds a request already past its deadline does not send a stale "at risk" first.
    alert: SlaState | None = state if state != "on_track" and state not in (sla.get("alerted") or []) else None
    return SlaStep(state, alert, next_check)


def idle_step(c: Doc, now: datetime) -> tuple[IdleAction, datetime | None]:
    """What the idle sweep does for one consultation at `now`, and its next check after that."""
    idle = c.get("idle") or {}
    if c.get("status") == "closed" or not idle.get("close_at"):
        return "drop", None
    close_at: datetime = idle["close_at"]
    warn_at: datetime | None = idle.get("warn_at")
    warned = bool(idle.get("warned")) or warn_at is None
    # `not warned` implies warn_at is set; the explicit check is for the type checker.
    if not warned and warn_at is not None and now >= warn_at:
        # Even when the close is due too (the scheduler was down): warn first, close on the next pass.
        return "warn", close_at
    if now >= close_at:
        return "close", None
    return "wait", close_at if warned else warn_at


def reminder_due(c: Doc) -> bool:
    """A closed consultation nobody has rated yet gets its one rating reminder."""
    return c.get("status") == "closed" and not c.get("rating")


# --- storage helpers --------------------------------------------------------------------------


async def _cas(svc: Services, c: Doc, field: str, observed: Any, update: Doc) -> bool:
    """Apply `update` only if the consultation's `field` still holds `observed` (one racing runner wins)."""
    return await sweeps.cas(svc.db.consultations, c["_id"], field, observed, update)


async def _sweep(svc: Services, name: str, field: str, projection: Doc,
                 handle: Callable[[Services, Doc, datetime], Awaitable[bool]]) -> int:
    """One pass over the consultations due now; the number this runner claimed (0: nothing left for it)."""
    now = svc.now()

    async def one(cand: Doc) -> bool:
        return await handle(svc, cand, now)

    return await sweeps.sweep(svc.db.consultations, name, field, now, projection, one, logger=log)


# --- SLA --------------------------------------------------------------------------------------


async def _sla_item(svc: Services, cand: Doc, now: datetime) -> bool:
    observed = cand["sla"]["check_at"]
    step = sla_step(cand, now)
    if step is None:
        return await _cas(svc, cand, "sla.check_at", observed, {"$unset": {"sla.check_at": ""}})
    stored_state = cand["sla"].get("state")
    if step.alert is None:
        sets: Doc = {"sla.state": step.state}
        update: Doc = {"$set": sets}
        if step.next_check_at is None:
            update["$unset"] = {"sla.check_at": ""}
        else:
            sets["sla.check_at"] = step.next_check_at
        if not await _cas(svc, cand, "sla.check_at", observed, update):
            return False
        if step.state != stored_state:
            c = await svc.db.consultations.find_one({"_id": cand["_id"]})
            if c is not None:
                await access.emit_updated(svc, c)
        return True
    lease = _lease_until(now)
    if not await _cas(svc, cand, "sla.check_at", observed,
                      {"$set": {"sla.check_at": lease, "sla.state": step.state}}):
        return False
    c = await svc.db.consultations.find_one({"_id": cand["_id"]})
    if c is None or sla_step(c, now) is None:
        return True  # answered, paused or closed between the query and the claim
    await events.emit_sla_alert(svc.events, c, step.alert)
    await mailing.sla_alert(svc, c, step.alert)
    final: Doc = {"$addToSet": {"sla.alerted": step.alert}}
    if step.next_check_at is None:
        final["$unset"] = {"sla.check_at": ""}
    else:
        final["$set"] = {"sla.check_at": step.next_check_at}
    await _cas(svc, c, "sla.check_at", lease, final)
    c = await svc.db.consultations.find_one({"_id": cand["_id"]})
    if c is not None:
        await access.emit_updated(svc, c)
    log.info("sla %s: consultation %s", step.alert, cand["_id"])
    return True


async def sla_alerts(svc: Services) -> int:
    """At risk and breached: alert the assigned officer and the office's supervisors, once per state."""
    return await _sweep(svc, "sla_alerts", "sla.check_at", {"status": 1, "sla": 1}, _sla_item)


# --- idle -------------------------------------------------------------------------------------


async def _idle_item(svc: Services, cand: Doc, now: datetime) -> bool:
    observed = cand["idle"]["check_at"]
    action, next_check = idle_step(cand, now)
    if action == "drop":
        return await _cas(svc, cand, "idle.check_at", observed, {"$unset": {"idle.check_at": ""}})
    if action == "wait":
        return await _cas(svc, cand, "idle.check_at", observed, {"$set": {"idle.check_at": next_check}})
    lease = _lease_until(now)
    if not await _cas(svc, cand, "idle.check_at", observed, {"$set": {"idle.check_at": lease}}):
        return False
    c = await svc.db.consultations.find_one({"_id": cand["_id"]})
    if c is None or (c.get("idle") or {}).get("check_at") != lease:
        return True  # a reply or a close between the claim and now: the idle plan is gone
    close_at: datetime = cand["idle"]["close_at"]
    if action == "warn":
        # The client_id makes the message idempotent: a retry after a crash finds the first one.
        await messages.post_system_message(
            svc, c, "consultation.idle_warning",
            params={"close_at": close_at, "tz": c.get("time_zone") or "Asia/Jakarta"},
            client_id=f"idle-warning:{close_at.isoformat()}",
            data={"event": "idle_warning", "close_at": close_at})
        await mailing.idle_warning(svc, c, close_at)
        await _cas(svc, c, "idle.check_at", lease,
                   {"$set": {"idle.warned": True, "idle.warned_at": now, "idle.check_at": next_check}})
        log.info("idle warning: consultation %s", c["_id"])
        return True
    try:
        # Only while our claim holds: a reply (which removes `idle`) after the claim keeps it open.
        await cons.close(svc, None, c, reason="idle", only_if={"idle.check_at": lease})
    except Conflict:
        log.info("idle close skipped: consultation %s changed meanwhile", c["_id"])
        return True
    log.info("idle close: consultation %s", c["_id"])
    return True


async def idle_close(svc: Services) -> int:
    """Warn once, then close, consultations whose user has not answered staff for the office's idle period."""
    return await _sweep(svc, "idle_close", "idle.check_at", {"status": 1, "idle": 1}, _idle_item)


# --- rating reminders -------------------------------------------------------------------------


async def _reminder_item(svc: Services, cand: Doc, now: datetime) -> bool:
    observed = cand["rating_reminder_at"]
    if not reminder_due(cand):
        return await _cas(svc, cand, "rating_reminder_at", observed, {"$unset": {"rating_reminder_at": ""}})
    lease = _lease_until(now)
    if not await _cas(svc, cand, "rating_reminder_at", observed, {"$set": {"rating_reminder_at": lease}}):
        return False
    c = await svc.db.consultations.find_one({"_id": cand["_id"]})
    if c is None:
        return True
    if reminder_due(c):
        await mailing.rating_reminder(svc, c)
    await _cas(svc, c, "rating_reminder_at", lease,
               {"$unset": {"rating_reminder_at": ""}, "$set": {"rating_reminded_at": now}})
    return True


async def rating_reminders(svc: Services) -> int:
    """One reminder, two days after the close, to a user who has not rated."""
    return await _sweep(svc, "rating_reminders", "rating_reminder_at",
                        {"status": 1, "rating": 1, "rating_reminder_at": 1}, _reminder_item)


JOBS: list[tuple[str, Job]] = [
    ("sla_alerts", sla_alerts),
    ("idle_close", idle_close),
    ("rating_reminders", rating_reminders),
]
