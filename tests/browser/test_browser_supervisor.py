"""The supervisors' console in real headless Chromium: the live overview following the office as it works,
taking a room, the history search and a consultation's own page, the dashboard drawing its charts
(Chart.js from npm) and printing to PDF."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from server.domain import surveys
from server.keys import SERVICES
from tests.browser import (
    assert_no_console_errors,
    page_for,
    shot,
    sign_in_as,
)
from tests.conftest import Api
from tests.domain.test_reports import seed_november, wita

pytestmark = pytest.mark.browser
SKM_KEYS = ("persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana")


async def _open(user: Api, subject: str, text: str = "Saya butuh data inflasi 2025.") -> Any:
    body = {"office": "7406", "topic": "data", "subject": subject, "text": text}
    return await user.post("/consultations", body, expect=201)


async def _console(make_context: Any, staff: Api, hash_: str) -> Page:
    ctx = await make_context()
    await sign_in_as(ctx, staff)
    page = await page_for(ctx)
    await page.goto(f"/console/{hash_}")
    await expect(page.locator("#nav .who")).to_be_attached()
    return page


def _row(page: Page, cid: str) -> Any:
    return page.locator(f"#overview-table tr[data-id='{cid}']")


async def test_the_overview_follows_the_office_live_and_a_supervisor_takes_a_room(
    app: Any,
    anon: Api,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 23, 9, 0))
    sari = await make_user("Sari Wulandari")
    budi = await make_staff("officer", "7406", name="Budi Santoso")
    wati = await make_staff("supervisor", "7406", name="Wati Supervisor")
    first = await _open(sari, "Data inflasi")

    page = await _console(new_context, wati, "#overview")
    await expect(page.locator("#overview-h")).to_contain_text("BPS Kabupaten Bombana")
    await expect(_row(page, first["id"])).to_contain_text("Data inflasi")
    await expect(page.locator("#view-overview")).to_have_attribute("aria-current", "page")

    # A new consultation arrives: the office's queue:updated brings it in without a reload.
    svc.clock.set(wita(2026, 11, 23, 10, 0))
    second = await _open(sari, "PDRB kecamatan")
    await expect(_row(page, second["id"])).to_be_visible()
    # The officer claims the first: its row shows him, and his load appears against the cap.
    await budi.post(f"/consultations/{first['id']}/claim", expect=200)
    await expect(_row(page, first["id"]).locator(".ov-officer")).to_have_text("Budi Santoso")
    await expect(page.locator(".ov-officer-item", has_text="Budi Santoso")).to_contain_text("1 dari 8 ruang")
    # Four days later both are past their deadlines: the scheduler's consultation:updated turns them red,
    # the one due first on top.
    await anon.post("/_test/clock", {"set": wita(2026, 11, 27, 9, 30).isoformat()}, expect=200)
    await expect(_row(page, first["id"]).locator(".badge.sla-breached")).to_be_visible()
    await expect(page.locator("#overview-table tbody tr").first).to_have_attribute("data-id", first["id"])
    await expect(page.locator(".tile-bad .tile-value")).to_have_text("2")
    await shot(page, "supervisor-overview")

    # The supervisor takes the breached room over: the room opens in a pane, the row shows her.
    await _row(page, first["id"]).locator("button.take").click()
    await expect(page.locator(f".pane[data-id='{first['id']}']")).to_be_visible()
    await expect(page.locator(f".pane[data-id='{first['id']}'] .msg").last).to_contain_text("diambil alih")
    c = await budi.get(f"/consultations/{first['id']}")
    assert c["assigned_to"]["name"] == "Wati Supervisor"
    await page.locator("#view-overview").click()
    await expect(_row(page, first["id"]).locator(".ov-officer")).to_have_text("Wati Supervisor")
    assert_no_console_errors(page)


async def test_officers_search_the_history_and_open_a_consultations_own_page(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_user: Any,
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 11, 23, 9, 0))
    sari = await make_user("Sari Wulandari")
    agus = await make_user("Agus Salim")
    budi = await make_staff("officer", "7406", name="Budi Santoso")
    older = await _open(sari, "Tabel kemiskinan")
    await budi.post(f"/consultations/{older['id']}/claim", expect=200)
    await budi.post(f"/consultations/{older['id']}/messages", {"text": "Tabel Rarowatu terlampir", "client_id": "x1"})
    svc.clock.set(wita(2026, 11, 23, 10, 0))
    await budi.post(f"/consultations/{older['id']}/close", {"summary": "Dijawab"}, expect=200)
    await sari.post(f"/consultations/{older['id']}/rating", {"score": 5, "comment": "Sangat membantu"}, expect=201)
    newer = await _open(sari, "Data IPM")
    await _open(agus, "Penduduk")

    page = await _console(new_context, budi, "#history")
    await expect(page.locator("#history-table tbody tr")).to_have_count(3)
    assert await page.locator("#view-overview").count() == 0  # an officer has no overview or dashboard
    await page.locator("#history-q").fill("rarowatu")
    await page.locator("#history-form button[type=submit]").click()
    await expect(page.locator("#history-table tbody tr")).to_have_count(1)
    await page.locator(f"#history-table a[href='#c/{older['id']}']").click()
    await expect(page).to_have_url(f"{page.url.split('#')[0]}#c/{older['id']}")
    await expect(page.locator("#record-messages")).to_contain_text("Tabel Rarowatu terlampir")
    await expect(page.locator("#record-rating")).to_contain_text("Sangat membantu")
    await expect(page.locator(".rec-facts")).to_contain_text("Dijawab")
    await expect(page.locator("#record-previous a")).to_have_attribute("href", f"#c/{newer['id']}")
    await shot(page, "supervisor-record")

    # The address is the consultation's own: opened fresh it shows the same page; its previous one links back.
    page2 = await _console(new_context, budi, f"#c/{newer['id']}")
    await expect(page2.locator("#history-h")).to_contain_text("Data IPM")
    await page2.locator("#record-previous a").click()
    await expect(page2.locator("#history-h")).to_contain_text("Tabel kemiskinan")
    await page2.go_back()
    await expect(page2.locator("#history-h")).to_contain_text("Data IPM")
    # Open the room from its page: the pane joins it and the officer can write.
    await page2.locator("#record-open").click()
    await expect(page2.locator(f".pane[data-id='{newer['id']}']")).to_be_visible()
    assert_no_console_errors(page, page2)


async def test_the_dashboard_draws_its_charts_and_prints(
    app: Any,
    new_context: Any,  # noqa: F811 - the fixture imported from tests.browser
    make_staff: Any,
) -> None:
    svc = app[SERVICES]
    svc.clock.set(wita(2026, 12, 2, 9, 0))
    await svc.db.users.insert_one({"name": "Warga", "email": "w@example.id", "role": "user", "created_at": svc.now()})
    await seed_november(svc)
    # Two SKM responses in November: the IKM tile and the chart by element.
    svc.clock.set(wita(2026, 11, 20, 10, 0))
    for waktu in (2, 4):
        answers = dict.fromkeys(SKM_KEYS, 4) | {"waktu": waktu}
        await surveys.submit(svc, None, office="7406", channel="online", answers=answers)
    svc.clock.set(wita(2026, 12, 2, 9, 0))
    wati = await make_staff("supervisor", "7406", name="Wati Supervisor")
    page = await _console(new_context, wati, "#dashboard")
    await expect(page.locator("#dash-form")).to_be_visible()
    await page.locator("#dash-from").fill("2026-11-01")
    await page.locator("#dash-to").fill("2026-11-30")
    await page.locator("#dash-form button[type=submit]").click()
    await expect(page.locator("#dash-period")).to_contain_text("2026-11-01")
    await expect(page.locator("#kpi-total .tile-value")).to_have_text("9")
    await expect(page.locator("#kpi-sla .tile-value")).to_have_text("66,7%")
    await expect(page.locator("#kpi-first .tile-value")).to_have_text("30 mnt")
    await expect(page.locator("#kpi-ikm .tile-value")).to_have_text("97,22")  # (8 × 4 + 3) / 9 × 25
    for chart in ("chart-weeks", "chart-sla", "chart-times", "chart-hours", "chart-channels", "chart-ikm"):
        await expect(page.locator(f"#{chart}")).to_have_attribute("data-ready", "1")
    weeks = await page.evaluate(
        "() => Chart.getChart(document.querySelector('#chart-weeks')).data.datasets.map((d) => d.data)"
    )
    assert weeks == [[1, 5, 0, 2, 0, 0], [0, 0, 0, 0, 0, 1]]  # online and walk-in, Mondays 26 Oct .. 30 Nov
    nrr = await page.evaluate("() => Chart.getChart(document.querySelector('#chart-ikm')).data.datasets[0].data")
    assert nrr == [4, 4, 3, 4, 4, 4, 4, 4, 4]
    by_hour = await page.evaluate("() => Chart.getChart(document.querySelector('#chart-hours')).data.datasets[0].data")
    assert sum(by_hour) == 9 and by_hour[10] == 1
    # The download links carry the period.
    href = await page.locator("#dash-downloads a").first.get_attribute("href")
    assert href == "/api/v1/reports/summary?office=7406&from=2026-11-01&to=2026-11-30&format=csv"
    await shot(page, "supervisor-dashboard", full_page=True)

    # Printed: no navigation, no buttons, the charts still drawn.
    await page.emulate_media(media="print")
    await expect(page.locator(".viewbar")).to_be_hidden()
    await expect(page.locator("#dash-form")).to_be_hidden()
    await expect(page.locator("#chart-sla")).to_be_visible()
    await shot(page, "supervisor-dashboard-print", full_page=True)
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    await page.emulate_media(media="screen")

    # In English.
    await page.locator("#lang-switch").click()
    await expect(page.locator("#dashboard-h")).to_have_text("Service report")
    await expect(page.locator("#kpi-first .tile-value")).to_have_text("30 min")
    await expect(page.locator("#chart-weeks")).to_have_attribute("data-ready", "1")
    assert_no_console_errors(page)
