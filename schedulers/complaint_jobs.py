"""Complaint deadlines: the office's supervisors hear when a case is at risk and when it is overdue, once each.

The same claim discipline as every scheduler job (server/storage/sweeps.py): one indexed range query
over the partial index on `complaints.check_at` finds the open cases whose next look is due; a pure
decision (`complaints.alert_step`) says what is due; an alert is claimed by a compare-and-set that moves
`check_at` to a short lease, sent (complaint:alert to the office's staff room, an e-mail to each
supervisor with a dedupe key), and recorded (`alerted`, the next `check_at`) while the lease holds. A
runner that dies after its claim leaves the lease behind; when it runs out the case is due again and
another runner sends, the dedupe keys making the redo harmless. Answering a case removes `check_at`, so
an answered complaint is never alerted.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from server.domain import complaints
from server.services import Services
from server.storage import sweeps

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# The partial index (mongo-init/schema.py) that serves the sweep.
COMPLAINT_SWEEP_INDEX = "complaint_sweep"
_FIELD = "check_at"
# What the pure decision reads; the claimed case is read whole after its claim.
_PROJECTION: Doc = {"status": 1, "due_at": 1, "at_risk_at": 1, "alerted": 1, _FIELD: 1}


async def _item(svc: Services, cand: Doc, now: datetime) -> bool:
    coll = svc.db.complaints
    observed = cand[_FIELD]
    step = complaints.alert_step(cand, now)
    if step is None:
        return await sweeps.cas(coll, cand["_id"], _FIELD, observed, {"$unset": {_FIELD: ""}})
    if step.alert is None:
        # Nothing to send now (sent already): look again at the next moment that matters.
        update: Doc = {"$unset": {_FIELD: ""}} if step.next_check_at is None else {"$set": {_FIELD: step.next_check_at}}
        return await sweeps.cas(coll, cand["_id"], _FIELD, observed, update)
    lease = sweeps.lease_until(now)
    if not await sweeps.cas(coll, cand["_id"], _FIELD, observed, {"$set": {_FIELD: lease}}):
        return False  # another runner has it
    c = await coll.find_one({"_id": cand["_id"]})
    if c is None or c.get(_FIELD) != lease or complaints.alert_step(c, now) is None:
        return True  # answered between the query and the claim: nothing to say
    await complaints.send_alert(svc, c, step.alert)
    final: Doc = {"$addToSet": {"alerted": step.alert}}
    if step.next_check_at is None:
        final["$unset"] = {_FIELD: ""}
    else:
        final["$set"] = {_FIELD: step.next_check_at}
    await sweeps.cas(coll, c["_id"], _FIELD, lease, final)
    log.info("complaint %s: %s", c.get("number"), step.alert)
    return True


async def complaint_alerts(svc: Services) -> int:
    """Alert the supervisors of every complaint that came at risk or overdue; how many this runner claimed."""
    now = svc.now()

    async def one(cand: Doc) -> bool:
        return await _item(svc, cand, now)

    return await sweeps.sweep(svc.db.complaints, "complaint_alerts", _FIELD, now, _PROJECTION, one, logger=log)


JOBS = [("complaint_alerts", complaint_alerts)]
