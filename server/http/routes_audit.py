"""The audit log of staff actions over HTTP: admins of an office read theirs, national admins any office's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.domain import audit
from server.domain import consultations as cons
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import Out
from server.keys import SERVICES

api = Api()


class AuditOut(Out):
    office: str | None
    entries: list[dict[str, Any]]
    next_before: str | None


@api.route(
    "GET",
    "/audit",
    summary="Staff actions on people's data (claims, takes, transfers, reads, attachment downloads, exports, "
    "ID reveals), newest first; admins of the office, national admins for any or every office",
    auth="admin",
    response=AuditOut,
    tags=["audit"],
    errors=(403, 422),
    query={
        "office": {"type": "string", "description": "an office code; national admins may leave it out (every office)"},
        "actor": {"type": "string", "description": "a staff member's id"},
        "action": {"type": "string", "enum": list(audit.ACTIONS)},
        "from": {"type": "string", "description": "a local date (YYYY-MM-DD) or a time with an offset"},
        "to": {"type": "string", "description": "a local date (included) or a time with an offset"},
        "before": {"type": "string", "description": "the previous page's next_before (a cursor)"},
        "limit": {"type": "integer", "minimum": 1, "maximum": audit.LIMIT_MAX},
    },
)
async def audit_log(request: web.Request) -> web.Response:
    q = request.query
    out = await audit.entries(
        request.app[SERVICES],
        me(request),
        office=q.get("office") or None,
        actor=q.get("actor") or None,
        action=q.get("action") or None,
        first=q.get("from"),
        last=q.get("to"),
        before=q.get("before"),
        limit=cons.parse_int(q.get("limit"), "limit", audit.LIMIT_DEFAULT, 1, audit.LIMIT_MAX),
    )
    return json_response(out)
