"""Reports over HTTP: the summary (JSON, CSV, XLSX), the dashboard's trends, the consultation list as a file."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.domain import report_files, reports
from server.domain.errors import ValidationFailed
from server.http.api import Api, json_response
from server.http.auth import me
from server.http.schemas import Out
from server.keys import SERVICES

api = Api()

PERIOD_QUERY: dict[str, dict[str, Any]] = {
    "office": {"type": "string", "description": "an office code, or `all` (national admins)"},
    "from": {"type": "string", "format": "date", "description": "first local date (default: the 1st of the month)"},
    "to": {"type": "string", "format": "date", "description": "last local date, included (default: today)"},
}
FILE_FORMATS = ("csv", "xlsx")


class MinutesOut(Out):
    median: float | None
    p90: float | None


class SummaryOut(Out):
    office: str
    consultations: dict[str, Any]
    first_response_minutes: MinutesOut
    resolution_minutes: MinutesOut
    sla: dict[str, Any]
    ratings: dict[str, Any]
    ikm: dict[str, Any]
    complaints: dict[str, Any]
    walk_in: dict[str, Any]


class TrendsOut(Out):
    office: str
    weeks: list[dict[str, Any]]
    hours: dict[str, Any]


def _format(request: web.Request, allowed: tuple[str, ...]) -> str:
    fmt = request.query.get("format") or allowed[0]
    if fmt not in allowed:
        raise ValidationFailed("invalid_format", f"format must be one of {', '.join(allowed)}", field="format")
    return fmt


def _period_args(request: web.Request) -> dict[str, Any]:
    q = request.query
    return {"office": q.get("office") or None, "first": q.get("from"), "last": q.get("to")}


def _filename(kind: str, office: str, first: str, last: str, ext: str) -> str:
    return f"{kind}-{office}-{first}_{last}.{ext}"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@api.route(
    "GET",
    "/reports/summary",
    summary="An office's (or every office's) figures over a period of local dates; ?format=csv|xlsx as a file",
    auth="supervisor",
    response=SummaryOut,
    other_content_types=(report_files.CSV_TYPE, report_files.XLSX_TYPE),
    tags=["reports"],
    errors=(403, 404, 422),
    query={**PERIOD_QUERY, "format": {"type": "string", "enum": ["json", "csv", "xlsx"]}},
)
async def summary(request: web.Request) -> web.Response:
    fmt = _format(request, ("json", *FILE_FORMATS))
    out = await reports.summary(request.app[SERVICES], me(request), **_period_args(request))
    if fmt == "json":
        return json_response(out)
    name = _filename("laporan", out["office"], out["from"], out["to"], fmt)
    if fmt == "csv":
        return web.Response(
            body=report_files.summary_csv(out),
            content_type=report_files.CSV_TYPE,
            charset="utf-8",
            headers=_attachment(name),
        )
    body = await asyncio.to_thread(report_files.summary_xlsx, out)
    return web.Response(body=body, content_type=report_files.XLSX_TYPE, headers=_attachment(name))


@api.route(
    "GET",
    "/reports/trends",
    summary="Weekly series (volume, SLA, average working minutes) and the busiest hours, for the dashboard",
    auth="supervisor",
    response=TrendsOut,
    tags=["reports"],
    errors=(403, 404, 422),
    query=PERIOD_QUERY,
)
async def trends(request: web.Request) -> web.Response:
    return json_response(await reports.trends(request.app[SERVICES], me(request), **_period_args(request)))


@api.route(
    "GET",
    "/reports/consultations",
    summary="The period's consultations as a CSV or XLSX file (oldest first, at most 200,000 rows)",
    auth="supervisor",
    response={"type": "string", "format": "binary"},
    content_type=report_files.CSV_TYPE,
    other_content_types=(report_files.XLSX_TYPE,),
    tags=["reports"],
    errors=(403, 404, 422),
    query={**PERIOD_QUERY, "format": {"type": "string", "enum": list(FILE_FORMATS)}},
)
async def consultation_list(request: web.Request) -> web.StreamResponse:
    fmt = _format(request, FILE_FORMATS)
    p, rows = await reports.consultation_list(request.app[SERVICES], me(request), **_period_args(request))
    name = _filename("konsultasi", p.office, p.first.isoformat(), p.last.isoformat(), fmt)
    if fmt == "xlsx":
        listed = [row async for row in rows]
        body = await asyncio.to_thread(report_files.list_xlsx, reports.LIST_COLUMNS, listed)
        return web.Response(body=body, content_type=report_files.XLSX_TYPE, headers=_attachment(name))
    resp = web.StreamResponse(headers={**_attachment(name), "Content-Type": f"{report_files.CSV_TYPE}; charset=utf-8"})
    await resp.prepare(request)
    async for chunk in report_files.list_csv(reports.LIST_COLUMNS, rows):
        await resp.write(chunk)
    await resp.write_eof()
    return resp
