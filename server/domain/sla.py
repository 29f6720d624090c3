"""A consultation's deadlines on its office's calendar: the SLA clock and the idle-close plan (pure).

Both the lifecycle (opening, a clarification pause) and the message path (a reply resumes the
clock or restarts the idle countdown) plan with these, so they live apart from either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from server.domain import calendar

Doc = dict[str, Any]


def extra_closed(office: Doc) -> list[date]:
    """The office's own closed dates (policy.extra_closed_dates); malformed entries are skipped."""
    out = []
    for d in (office.get("policy") or {}).get("extra_closed_dates") or []:
        try:
            out.append(date.fromisoformat(str(d)))
        except ValueError:
            continue
    return out


def sla_plan(office: Doc, received_at: datetime) -> Doc:
    """The SLA sub-document of a consultation received at `received_at`."""
    policy = office.get("policy") or {}
    tz = office["time_zone"]
    extra = extra_closed(office)
    started = calendar.request_clock_start(received_at, tz, extra)
    due = calendar.sla_due_at(received_at, int(policy.get("sla_working_days", 3)), tz, extra)
    margin = int(policy.get("sla_at_risk_margin_working_days", 1))
    at_risk = calendar.at_risk_at(due, margin, tz, extra)
    state = calendar.sla_state(received_at, due, margin, tz, extra)
    # The scheduler's SLA sweep looks at a consultation first at its at-risk moment, even when that is
    # already past (a margin as long as the SLA: at risk from the start), so the at-risk alert goes out.
    return {
        "started_at": started,
        "due_at": due,
        "at_risk_at": at_risk,
        "state": state,
        "paused": False,
        "alerted": [],
        "check_at": at_risk,
    }


def resume_sla(office: Doc, c: Doc, now: datetime) -> Doc:
    """The SLA fields after a clarification pause ends, on the office's calendar (its extra closed dates too)."""
    sla = c.get("sla") or {}
    tz = office["time_zone"]
    extra = extra_closed(office)
    due = calendar.sla_resume_due_at(sla["due_at"], sla.get("paused_at") or now, now, tz, extra)
    margin = int(sla.get("margin", (office.get("policy") or {}).get("sla_at_risk_margin_working_days", 1)))
    at_risk = calendar.at_risk_at(due, margin, tz, extra)
    state = calendar.sla_state(now, due, margin, tz, extra)
    # Past the at-risk moment the sweep is due at once: it sends whichever alert has not gone out yet.
    return {
        "sla.paused": False,
        "sla.paused_at": None,
        "sla.due_at": due,
        "sla.at_risk_at": at_risk,
        "sla.state": state,
        "sla.check_at": at_risk if state == "on_track" else now,
    }


def idle_plan(office: Doc, last_staff_at: datetime) -> Doc:
    """The idle sub-document after a staff reply: when to warn the user and when to close."""
    policy = office.get("policy") or {}
    idle = policy.get("idle_close") or {"amount": 7, "unit": "days"}
    tz = office["time_zone"]
    extra = extra_closed(office)
    close_at = calendar.idle_close_at(last_staff_at, idle, tz, extra)
    # The warning lead is in the idle rule's own unit (one day, or one working day), default 1.
    lead = policy.get("idle_warning_lead")
    if isinstance(lead, bool) or not isinstance(lead, int) or lead < 0:
        lead = None
    warn_at = calendar.idle_warning_at(close_at, idle, tz, extra, lead)
    # A lead as long as the idle period leaves no moment to warn in: the room just closes.
    no_warning = warn_at <= last_staff_at
    return {
        "last_staff_at": last_staff_at,
        "warn_at": warn_at,
        "close_at": close_at,
        "warned": no_warning,
        "check_at": close_at if no_warning else warn_at,
    }
