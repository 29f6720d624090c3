"""Supervision: the live overview of an office's work, the nation's at a glance, and taking a room.

The overview lists every open consultation of the office with its officer, age, the side it waits
for, the officer's unread count and its SLA state as of now (the stored state moves only when the
scheduler passes; the overview computes it from the stored deadlines), at-risk and breached first;
each officer's load against the office's cap (`policy.max_concurrent_rooms`) and presence; the
queue's oldest wait; today's walk-in desk. The console keeps it live by reloading it when the
office's staff room hears a change (consultation:updated, room:activity, queue:updated).

Taking an active room from another officer is a supervisor's action (`take`): the assignment moves
by compare-and-set on the previous officer, the room is told by a system message, the history keeps
a transfer record marked `taken`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.domain import access, audit, messages
from server.domain import consultations as cons
from server.domain.errors import Conflict, Forbidden
from server.domain.events import staff_view
from server.domain.models import iso, sid
from server.domain.offices import get_office
from server.services import Services
from server.storage.atomic import update_and_get

log = logging.getLogger(__name__)

Doc = dict[str, Any]

OVERVIEW_MAX = 500
STAFF_MAX = 300
SUPERVISOR_ROLES = ("supervisor", "admin")
DEFAULT_MAX_ROOMS = 8
# The order of the list: what needs a supervisor's eye first.
SLA_RANK = {"breached": 0, "at_risk": 1, "on_track": 2, "paused": 3, "met": 4, "none": 5}


def is_national(user: Doc) -> bool:
    return user.get("role") == "admin" and not user.get("office")


def require_supervisor_of(user: Doc, office: str) -> None:
    """Supervisors and admins of the office, and national admins; nobody else."""
    if user.get("role") not in SUPERVISOR_ROLES:
        raise Forbidden("forbidden", "supervisors and admins only / hanya supervisor dan admin")
    if not is_national(user) and user.get("office") != office:
        raise Forbidden("forbidden", "not your office / bukan kantor Anda")


# --- one consultation as the overview sees it (pure) --------------------------------------------


def live_sla_state(c: Doc, now: datetime) -> str:
    """The SLA state at `now` from the stored deadlines: met, paused, breached, at_risk, on_track or none."""
    sla = c.get("sla") or {}
    # Met by the first answer (or the close), not by a greeting: the first reply alone keeps it running.
    if sla.get("state") == "met":
        return "met"
    due = sla.get("due_at")
    if due is None:
        return "none"
    if sla.get("paused"):
        return "paused"
    if now >= due:
        return "breached"
    at_risk = sla.get("at_risk_at") or due
    return "at_risk" if now >= at_risk else "on_track"


def waiting_side(c: Doc) -> str:
    """Whose turn it is: the office ("officer") while nobody answered the user's last message, else the user."""
    if c.get("status") == "queued":
        return "officer"
    user_at = c.get("last_user_message_at")
    staff_at = c.get("last_staff_message_at")
    if staff_at is None or (user_at is not None and user_at > staff_at):
        return "officer"
    return "user"


def officer_unread(c: Doc) -> int:
    """Messages the assigned officer (or, while queued, any officer) has not read."""
    reads: Doc = c.get("reads") or {}
    last = int(c.get("last_seq", 0))
    if c.get("assigned_to") is not None:
        return max(0, last - int(reads.get(str(c["assigned_to"]), 0)))
    staff_reads = [int(v) for k, v in reads.items() if k != str(c.get("user_id"))]
    return max(0, last - max(staff_reads, default=0))


def overview_row(c: Doc, now: datetime) -> Doc:
    """A consultation of the overview: its staff view and what the supervisor sorts and reads by."""
    out: Doc = dict(staff_view(c))
    created = c.get("created_at")
    out.update(
        age_minutes=int((now - created).total_seconds() // 60) if created else None,
        waiting_side=waiting_side(c),
        officer_unread=officer_unread(c),
        sla_live=live_sla_state(c, now),
        sla_at_risk_at=iso((c.get("sla") or {}).get("at_risk_at")),
        last_user_message_at=iso(c.get("last_user_message_at")),
        last_staff_message_at=iso(c.get("last_staff_message_at")),
    )
    return out


def _sort_key(row: Doc) -> tuple[int, str, str]:
    return (SLA_RANK.get(row["sla_live"], 9), row["sla"]["due_at"] or "~", row["created_at"] or "")


# --- the office's overview -----------------------------------------------------------------------


async def _walk_in_today(svc: Services, office: Doc, now: datetime) -> Doc:
    day = now.astimezone(ZoneInfo(office["time_zone"])).date().isoformat()
    pipeline: list[Doc] = [
        {"$match": {"office": office["code"], "day": day}},
        {"$group": {"_id": {"s": "$status", "k": "$promise.kept"}, "n": {"$sum": 1}}},
    ]
    counts = {s: 0 for s in ("waiting", "called", "serving", "done", "no_show")}
    kept = broken = 0
    async for g in await svc.db.queue_tickets.aggregate(pipeline):
        n = int(g["n"])
        status = g["_id"].get("s")
        if status in counts:
            counts[status] += n
        if g["_id"].get("k") is True:
            kept += n
        elif g["_id"].get("k") is False:
            broken += n
    return {"day": day, "tickets": sum(counts.values()), **counts, "promise_kept": kept, "promise_broken": broken}


async def _officers(svc: Services, office: Doc, rows: list[Doc]) -> list[Doc]:
    """The office's staff with their active rooms against the cap, and whether they are connected."""
    cap = int((office.get("policy") or {}).get("max_concurrent_rooms", DEFAULT_MAX_ROOMS))
    load: dict[str, int] = {}
    pipeline: list[Doc] = [
        {"$match": {"office": office["code"], "status": "active"}},
        {"$group": {"_id": "$assigned_to", "n": {"$sum": 1}}},
    ]
    async for g in await svc.db.consultations.aggregate(pipeline):
        if g["_id"] is not None:
            load[str(g["_id"])] = int(g["n"])
    at_risk: dict[str, int] = {}
    for r in rows:
        if r["assigned_to"] and r["sla_live"] in ("at_risk", "breached"):
            key = str(r["assigned_to"]["id"])
            at_risk[key] = at_risk.get(key, 0) + 1
    cursor = (
        svc.db.users.find(
            {"office": office["code"], "role": {"$in": ["officer", "supervisor", "admin"]}},
            {"name": 1, "role": 1, "disabled": 1},
        )
        .sort("name", 1)
        .limit(STAFF_MAX)
    )
    out = []
    async for u in cursor:
        if u.get("disabled"):
            continue
        uid = str(u["_id"])
        n = load.pop(uid, 0)
        out.append(
            {
                "id": uid,
                "name": u["name"],
                "role": u["role"],
                "online": svc.presence.is_online(uid),
                "active": n,
                "cap": cap,
                "over_cap": n > cap,
                "at_risk": at_risk.get(uid, 0),
            }
        )
    # Rooms held by someone no longer of this office (moved, or an admin of another): shown, not lost.
    for uid, n in load.items():
        holder = next(
            (r["assigned_to"]["name"] for r in rows if r["assigned_to"] and r["assigned_to"]["id"] == uid), None
        )
        out.append(
            {
                "id": uid,
                "name": holder or uid,
                "role": None,
                "online": svc.presence.is_online(uid),
                "active": n,
                "cap": cap,
                "over_cap": n > cap,
                "at_risk": at_risk.get(uid, 0),
            }
        )
    return out


async def office_overview(svc: Services, user: Doc, code: str) -> Doc:
    """GET /offices/{code}/overview: the office's open work, most urgent first."""
    require_supervisor_of(user, code)
    office = await get_office(svc, code)
    now = svc.now()
    cursor = (
        svc.db.consultations.find({"office": code, "status": {"$in": ["queued", "active"]}})
        .sort("created_at", 1)
        .limit(OVERVIEW_MAX + 1)
    )
    # With what this process wrote that is still on its way (its rooms' trailing counters and previews).
    docs = [svc.batch.trailing.overlay(c) async for c in cursor]
    truncated = len(docs) > OVERVIEW_MAX
    rows = sorted((overview_row(c, now) for c in docs[:OVERVIEW_MAX]), key=_sort_key)
    queued = [r for r in rows if r["status"] == "queued"]
    oldest = min((r["created_at"] for r in queued if r["created_at"]), default=None)
    totals = {
        "open": len(rows),
        "queued": len(queued),
        "active": len(rows) - len(queued),
        "breached": sum(1 for r in rows if r["sla_live"] == "breached"),
        "at_risk": sum(1 for r in rows if r["sla_live"] == "at_risk"),
        "waiting_for_officer": sum(1 for r in rows if r["waiting_side"] == "officer"),
    }
    oldest_wait = max((r["age_minutes"] or 0 for r in queued), default=None)
    return {
        "office": {"code": office["code"], "name": office.get("name"), "time_zone": office["time_zone"]},
        "now": iso(now),
        "totals": totals,
        "truncated": truncated,
        "queue": {"count": len(queued), "oldest_created_at": oldest, "oldest_wait_minutes": oldest_wait},
        "consultations": rows,
        "officers": await _officers(svc, office, rows),
        "walk_in": await _walk_in_today(svc, office, now),
    }


async def national_overview(svc: Services, user: Doc) -> Doc:
    """GET /overview: each office's open work in one line (national admins)."""
    if not is_national(user):
        raise Forbidden("forbidden", "national admins only / hanya admin pusat")
    now = svc.now()
    offices = []
    async for office in svc.db.offices.find({}).sort("code", 1):
        cursor = svc.db.consultations.find(
            {"office": office["code"], "status": {"$in": ["queued", "active"]}},
            {"status": 1, "sla": 1, "first_response_at": 1, "created_at": 1},
        ).limit(OVERVIEW_MAX)
        states = {"breached": 0, "at_risk": 0}
        queued = active = 0
        oldest: datetime | None = None
        async for c in cursor:
            state = live_sla_state(c, now)
            if state in states:
                states[state] += 1
            if c["status"] == "queued":
                queued += 1
                if oldest is None or c["created_at"] < oldest:
                    oldest = c["created_at"]
            else:
                active += 1
        online = len(svc.presence.online_staff(office["code"]))
        offices.append(
            {
                "code": office["code"],
                "name": office.get("name"),
                "time_zone": office["time_zone"],
                "open": queued + active,
                "queued": queued,
                "active": active,
                **states,
                "oldest_wait_minutes": int((now - oldest).total_seconds() // 60) if oldest else None,
                "staff_online": online,
            }
        )
    return {"now": iso(now), "offices": offices}


# --- taking a room ---------------------------------------------------------------------------------


async def take(svc: Services, user: Doc, consultation: Any) -> Doc:
    """A supervisor takes a room: a queued one is claimed, an active one moves from its officer to them."""
    c = consultation if isinstance(consultation, dict) else await access.load(svc, consultation)
    require_supervisor_of(user, c["office"])
    if c["status"] == "closed":
        raise Conflict("consultation_closed", "this consultation is closed / konsultasi sudah ditutup")
    if c["status"] == "queued":
        return await cons.claim(svc, user, c)
    previous, previous_name = c.get("assigned_to"), c.get("assigned_name")
    if previous == user["_id"]:
        return c
    now = svc.now()
    record: Doc = {
        "at": now,
        "by": user["_id"],
        "from_office": c["office"],
        "to_office": c["office"],
        "from_user": previous,
        "to_user": user["_id"],
        "taken": True,
    }
    updated = await update_and_get(
        svc.db.consultations,
        {"_id": c["_id"], "status": "active", "assigned_to": previous},
        {
            "$set": {"assigned_to": user["_id"], "assigned_name": user["name"], "claimed_at": now, "updated_at": now},
            "$push": {"transfers": record},
        },
    )
    if updated is None:
        raise Conflict("consultation_changed", "the room changed meanwhile; look again / ruang berubah, muat ulang")
    await audit.record(
        svc, user, "take", office=c["office"], consultation=updated, details={"from_user": sid(previous)}
    )
    _, updated = await messages.post_system_message(
        svc,
        updated,
        "consultation.taken",
        params={"officer": user["name"], "previous": previous_name},
        data={"event": "taken", "by": str(user["_id"]), "from": str(previous) if previous else None},
    )
    await access.emit_updated(svc, updated)
    log.info("consultation %s taken by %s from %s", c["_id"], user["_id"], previous)
    return updated
