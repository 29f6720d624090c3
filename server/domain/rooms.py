"""Names of Socket.IO rooms; one place so that emitters and joiners agree."""

from __future__ import annotations


def consultation_room(consultation_id: str) -> str:
    """Everyone in a consultation: its user and the staff who joined it."""
    return f"c:{consultation_id}"


def consultation_staff_room(consultation_id: str) -> str:
    """Staff only: internal notes go here and nowhere else."""
    return f"c:{consultation_id}:staff"


def office_staff_room(office: str) -> str:
    """All staff of an office: queue changes, SLA alerts."""
    return f"office:{office}:staff"


def user_room(user_id: str) -> str:
    """Every connection of one person: list updates, unread counts."""
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    """Every connection opened with one login session: ended together at logout."""
    return f"session:{session_id}"
