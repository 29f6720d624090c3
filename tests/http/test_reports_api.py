"""GET /reports/summary, /reports/trends and /reports/consultations over HTTP: the figures of a hand-made
month, the CSV and XLSX files read back, who may ask for what, and bad input."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from server.domain import reports
from server.keys import SERVICES
from tests.conftest import Api
from tests.domain.test_reports import seed_november, wita

Doc = dict[str, Any]
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
async def month(app: Any, client: Any) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 12, 2, 9, 0))
    await svc.db.users.insert_one(
        {"name": "Warga", "email": "warga@example.id", "role": "user", "created_at": svc.now()}
    )
    await seed_november(svc)


async def raw(api: Api, path: str) -> tuple[int, str, bytes]:
    resp = await api.client.get("/api/v1" + path, headers={"Authorization": f"Bearer {api.token}"})
    return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def flat(out: Doc) -> dict[str, str]:
    """The JSON summary as the files write it: `section.figure` -> the value as text."""
    from server.domain.report_files import figures

    return {k: "" if v is None else str(v) for k, v in figures(out)}


async def test_summary_json_csv_and_xlsx_say_the_same(month: None, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    out = await sup.get(f"/reports/summary?office=7406&{NOVEMBER}")
    assert out["consultations"]["total"] == 9
    assert out["first_response_minutes"]["median"] == 30.0 and out["first_response_minutes"]["p90"] == 616.0
    assert out["sla"]["compliance"] == round(4 / 6, 4)
    assert out["walk_in"]["promise_kept"] == 2 and out["complaints"]["overdue"] == 1

    status, ctype, body = await raw(sup, f"/reports/summary?office=7406&{NOVEMBER}&format=csv")
    assert status == 200 and ctype.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["figure", "value"]
    from_csv = dict((r[0], r[1]) for r in rows[1:])
    expected = flat(out)
    expected.pop("generated_at")
    from_csv.pop("generated_at")
    assert from_csv == expected
    assert from_csv["first_response_minutes.median"] == "30.0"
    assert from_csv["consultations.by_channel.walk_in"] == "1"

    status, ctype, body = await raw(sup, f"/reports/summary?office=7406&{NOVEMBER}&format=xlsx")
    assert status == 200 and "spreadsheetml" in ctype
    ws = load_workbook(io.BytesIO(body)).active
    assert ws is not None
    cells = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert cells["consultations.total"] == 9
    assert cells["first_response_minutes.p90"] == 616.0
    assert cells["sla.compliance"] == round(4 / 6, 4)
    assert cells["ikm.ikm"] is None


async def test_the_consultation_list_as_files(month: None, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    status, ctype, body = await raw(sup, f"/reports/consultations?office=7406&{NOVEMBER}&format=csv")
    assert status == 200 and ctype.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 9
    assert list(rows[0]) == list(reports.LIST_COLUMNS)
    assert rows[0]["created_at"] == "2026-11-01T00:30:00+08:00" and rows[0]["sla"] == "breached"
    assert sorted(r["first_response_working_minutes"] for r in rows if r["first_response_working_minutes"]) == sorted(
        ["10", "20", "30", "40", "1000", "1"]
    )

    status, ctype, body = await raw(sup, f"/reports/consultations?office=7406&{NOVEMBER}&format=xlsx")
    assert status == 200 and "spreadsheetml" in ctype
    ws = load_workbook(io.BytesIO(body)).active
    assert ws is not None
    table = list(ws.iter_rows(values_only=True))
    assert list(table[0]) == list(reports.LIST_COLUMNS) and len(table) == 10
    assert sum(1 for r in table[1:] if r[reports.LIST_COLUMNS.index("sla")] == "met") == 4


async def test_trends(month: None, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    out = await sup.get(f"/reports/trends?office=7406&{NOVEMBER}")
    assert [w["week"] for w in out["weeks"]][:2] == ["2026-10-26", "2026-11-02"]
    assert sum(out["hours"]["by_hour"]) == 9


@pytest.mark.parametrize(
    "path",
    [
        f"/reports/summary?office=7406&{NOVEMBER}",
        f"/reports/summary?office=7406&{NOVEMBER}&format=csv",
        f"/reports/trends?office=7406&{NOVEMBER}",
        f"/reports/consultations?office=7406&{NOVEMBER}&format=csv",
    ],
)
async def test_who_may_read_each_report(path: str, anon: Api, make_staff: Any, make_user: Any) -> None:
    anon.client.session.cookie_jar.clear()
    await anon.call("GET", path, expect=401)
    await (await make_user()).call("GET", path, expect=403)
    await (await make_staff("officer", "7406")).call("GET", path, expect=403)
    await (await make_staff("supervisor", "1808")).call("GET", path, expect=403)
    await (await make_staff("admin", "1808")).call("GET", path, expect=403)
    status, _ = await (await make_staff("supervisor", "7406")).call("GET", path)
    assert status == 200
    status, _ = await (await make_staff("admin", "7406")).call("GET", path)
    assert status == 200
    national = await make_staff("admin", None)
    status, _ = await national.call("GET", path)
    assert status == 200
    all_path = path.replace("office=7406", "office=all")
    status, _ = await national.call("GET", all_path)
    assert status == 200
    _, body = await (await make_staff("supervisor", "7406")).call("GET", all_path, expect=403)
    assert body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("from=2026-13-01&to=2026-12-01", "invalid_date"),
        ("from=2026-11-01&to=soon", "invalid_date"),
        ("from=2026-12-01&to=2026-11-01", "invalid_range"),
        ("from=2020-01-01&to=2026-01-01", "range_too_long"),
        ("from=2026-11-01&to=2026-11-30&format=pdf", "invalid_format"),
        ("office=bogus&from=2026-11-01&to=2026-11-30", "invalid_office"),
    ],
)
async def test_bad_input_is_422(query: str, code: str, make_staff: Any) -> None:
    sup = await make_staff("supervisor", "7406")
    _, body = await sup.call("GET", f"/reports/summary?{query}", expect=422)
    assert body["error"]["code"] == code
    if "format" not in query:
        _, body = await sup.call("GET", f"/reports/consultations?{query}&format=csv", expect=422)
        assert body["error"]["code"] == code


async def test_an_empty_period_is_zeros(make_staff: Any) -> None:
    out = await (await make_staff("admin", None)).get("/reports/summary?office=all&from=2019-01-01&to=2019-12-31")
    assert out["consultations"]["total"] == 0 and out["sla"]["compliance"] is None
    assert out["first_response_minutes"] == {"median": None, "p90": None, "count": 0}


async def test_the_reports_are_in_the_openapi_document(anon: Api) -> None:
    doc = await anon.get("/openapi.json")
    for path in ("/api/v1/reports/summary", "/api/v1/reports/trends", "/api/v1/reports/consultations"):
        assert path in doc["paths"], path
