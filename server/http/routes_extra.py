"""The route groups beyond accounts and consultations, listed explicitly for create_app.

A module that is missing or misspelt fails at import: routes are never dropped in silence.
"""

from __future__ import annotations

from server.http import (
    routes_audit,
    routes_channels,
    routes_complaints,
    routes_escalation,
    routes_kb,
    routes_officer,
    routes_privacy,
    routes_rating,
    routes_reports,
    routes_supervisor,
    routes_surveys,
    routes_walkin,
)
from server.http.api import Api


def apis() -> list[Api]:
    """Each group's `api`, in the order of the OpenAPI document."""
    return [
        routes_officer.api,
        routes_kb.api,
        routes_escalation.api,
        routes_rating.api,
        routes_walkin.api,
        routes_reports.api,
        routes_supervisor.api,
        routes_privacy.api,
        routes_audit.api,
        routes_channels.api,
        routes_complaints.api,
        routes_surveys.api,
    ]
