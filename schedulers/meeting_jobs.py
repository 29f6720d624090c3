"""Meeting reminders: 15 minutes before a scheduled meeting, a room message and an e-mail.

The same claim discipline as every scheduler job (server/storage/sweeps.py): one indexed range
query over the partial index on `meetings.reminder_at` finds the due meetings; each is claimed by a
compare-and-set that moves its `reminder_at` to a short lease, reminded, and then marked done
(`reminder_at` removed, `reminded_at` set) while the lease still holds. A runner that dies after its
claim leaves the lease behind; when it runs out the meeting is due again and another runner reminds
(the room message's client_id and the e-mail's dedupe_key make a redo harmless). Two runners never
both remind: only one compare-and-set on the same `reminder_at` succeeds.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from server.domain import meetings
from server.services import Services
from server.storage import sweeps

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# The partial index (mongo-init/schema.py) that serves the sweep.
REMINDER_SWEEP_INDEX = "reminder_sweep"
_FIELD = "reminder_at"
# What the pure decision reads; the claimed meeting is read whole after its claim.
_PROJECTION: Doc = {"status": 1, "start_time": 1, "duration": 1, _FIELD: 1}


async def _reminder_item(svc: Services, cand: Doc, now: datetime) -> bool:
    observed = cand[_FIELD]
    if not meetings.reminder_due(cand, now):
        return await sweeps.cas(svc.db.meetings, cand["_id"], _FIELD, observed, {"$unset": {_FIELD: ""}})
    lease = sweeps.lease_until(now)
    if not await sweeps.cas(svc.db.meetings, cand["_id"], _FIELD, observed, {"$set": {_FIELD: lease}}):
        return False  # another runner has it
    m = await svc.db.meetings.find_one({"_id": cand["_id"]})
    if m is None or m.get(_FIELD) != lease:
        return True  # cancelled or moved between the claim and now: its own reminder plan stands
    await meetings.remind_meeting(svc, m)
    # Conditional on the lease: a reschedule meanwhile set a new reminder_at, which must stay.
    await sweeps.cas(svc.db.meetings, m["_id"], _FIELD, lease, {"$unset": {_FIELD: ""}, "$set": {"reminded_at": now}})
    log.info("meeting reminder: meeting %s", m["_id"])
    return True


async def send_meeting_reminders(svc: Services) -> int:
    """Remind of every meeting whose reminder has come due; how many this runner claimed."""
    now = svc.now()

    async def one(cand: Doc) -> bool:
        return await _reminder_item(svc, cand, now)

    return await sweeps.sweep(svc.db.meetings, "meeting_reminders", _FIELD, now, _PROJECTION, one, logger=log)


JOBS = [("meeting_reminders", send_meeting_reminders)]
