"""How long a consultation took, in working minutes on its office's calendar (pure).

The reports give medians and percentiles of the first response and of the resolution counted over
office hours on working days only (server.domain.calendar, with the office's own closed dates as
server.domain.sla reads them). Counting them needs the holiday calendar, which the database does not
have; so each duration is counted once, when it happens (the first staff reply in
server.domain.messages, the close in server.domain.consultations), and stored on the consultation as
`first_response_wmin` / `resolution_wmin`, and the reports take their percentiles in the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.domain import calendar, sla

Doc = dict[str, Any]

FIRST_RESPONSE_FIELD = "first_response_wmin"
RESOLUTION_FIELD = "resolution_wmin"


def working_minutes(office: Doc, start: datetime, end: datetime) -> int:
    """Whole minutes of office hours on the office's working days in [start, end), rounded half up."""
    seconds = calendar.working_seconds_between(start, end, office["time_zone"], sla.extra_closed(office))
    return (seconds + 30) // 60


def first_response_minutes(office: Doc, c: Doc, answered_at: datetime) -> int:
    """Working minutes from a consultation's arrival to its first answer."""
    return working_minutes(office, c["created_at"], answered_at)


def close_fields(office: Doc, c: Doc, closed_at: datetime) -> Doc:
    """The duration fields a close writes: the resolution, and the first response where it is missing.

    A walk-in consultation is written answered and closed at once (server.domain.walkin), so its
    first-response minutes are counted here too.
    """
    out: Doc = {RESOLUTION_FIELD: working_minutes(office, c["created_at"], closed_at)}
    answered = c.get("first_response_at")
    if answered is not None and c.get(FIRST_RESPONSE_FIELD) is None:
        out[FIRST_RESPONSE_FIELD] = first_response_minutes(office, c, answered)
    return out
