"""Meeting reminders: 15 minutes before a scheduled meeting, a room message and an e-mail.

Each due meeting is claimed by unsetting its `reminder_at` in one find_one_and_update, so two
schedulers running at once never remind twice; the partial index on `reminder_at` keeps the sweep
to the meetings that still owe a reminder.
"""

from __future__ import annotations

import logging

from server.domain import meetings
from server.services import Services

log = logging.getLogger(__name__)

REMINDER_BATCH = 50


async def send_meeting_reminders(svc: Services) -> int:
    """Remind of every meeting whose reminder has come due (up to a batch); how many were claimed."""
    handled = 0
    while handled < REMINDER_BATCH:
        meeting = await meetings.claim_due_reminder(svc)
        if meeting is None:
            break
        handled += 1
        try:
            await meetings.remind_meeting(svc, meeting)
        except Exception:
            # One broken meeting (deleted consultation, bad office) must not stop the others.
            log.exception("reminder for meeting %s failed", meeting.get("_id"))
    return handled


JOBS = [("meeting_reminders", send_meeting_reminders)]
