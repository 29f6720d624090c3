"""HTTP basics: offices, health, error shape, OpenAPI, bad bodies."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


async def test_offices_carry_their_standards(anon: Api) -> None:
    body = await anon.get("/offices")
    offices = {o["code"]: o for o in body["offices"]}
    assert set(offices) == {"7406", "1808", "7501", "1600", "7411"}
    assert offices["7501"]["policy"]["sla_working_days"] == 1
    assert offices["7406"]["policy"]["idle_close"] == {"amount": 7, "unit": "days"}
    assert offices["1600"]["policy"]["idle_close"] == {"amount": 3, "unit": "working_days"}
    assert offices["7411"]["policy"]["idle_close"] == {"amount": 3, "unit": "working_days"}
    assert offices["1808"]["walk_in"]["id_card_required"] is True
    assert offices["7501"]["walk_in"]["id_card_required"] is True
    assert offices["7406"]["walk_in"]["id_card_required"] is False
    assert offices["7406"]["time_zone"] == "Asia/Makassar" and offices["1808"]["time_zone"] == "Asia/Jakarta"
    assert "082261848787" in offices["7406"]["contacts"]["whatsapp"]
    assert offices["7501"]["contacts"]["complaint_email"] == "pengaduan7501@gmail.com"
    assert offices["1600"]["address"].startswith("Jalan Kapten Anwar Sastro")
    one = await anon.get("/offices/7411")
    assert one["name"] == "BPS Kabupaten Kolaka Timur"
    status, err = await anon.call("GET", "/offices/0000")
    assert status == 404 and err["error"]["code"] == "office_not_found"


async def test_admin_changes_policy_and_bad_policies_are_refused(make_staff: Any, make_user: Any, anon: Api) -> None:
    admin = await make_staff("admin", None)
    officer = await make_staff("officer", "7406")
    user = await make_user()
    status, _ = await officer.call("PATCH", "/offices/7406/policy", {"sla_working_days": 2})
    assert status == 403
    status, _ = await user.call("PATCH", "/offices/7406/policy", {"sla_working_days": 2})
    assert status == 403
    status, body = await admin.call(
        "PATCH", "/offices/7406/policy", {"sla_working_days": 2, "extra_closed_dates": ["2026-12-28"]}
    )
    assert status == 200, body
    assert body["policy"]["sla_working_days"] == 2 and body["policy"]["extra_closed_dates"] == ["2026-12-28"]
    for bad in (
        {"sla_working_days": -1},
        {"sla_working_days": 10_000},
        {"idle_close": {"amount": -3, "unit": "days"}},
        {"idle_close": {"amount": 3, "unit": "weeks"}},
        {"extra_closed_dates": ["tomorrow"]},
    ):
        status, body = await admin.call("PATCH", "/offices/7406/policy", bad)
        assert status == 422, (bad, body)
        assert body["error"]["code"].startswith("invalid_")
    assert (await anon.get("/offices/7406"))["policy"]["sla_working_days"] == 2
    # An office admin administers only their own office.
    local_admin = await make_staff("admin", "1600")
    assert (await local_admin.call("PATCH", "/offices/7406/policy", {"sla_working_days": 3}))[0] == 403
    assert (await local_admin.call("PATCH", "/offices/1600/policy", {"sla_working_days": 2}))[0] == 200


async def test_healthz_and_unknown_paths(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json()) == {"status": "ok", "database": True}
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"


async def test_bad_bodies_are_4xx(client: Any, anon: Api) -> None:
    resp = await client.post("/api/v1/auth/login", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "malformed_json"
    resp = await client.post("/api/v1/auth/login", data=b"[1,2]", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post(
        "/api/v1/auth/register",
        data=b'{"email": "' + b"a" * 400_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "body_too_large"
    status, body = await anon.call("POST", "/auth/login", {"email": 5, "password": None})
    assert status == 422
    resp = await client.get("/api/v1/consultations")
    assert resp.status == 401 and set((await resp.json())["error"]) == {"code", "message"}


async def test_openapi_describes_every_route(client: Any, app: Any) -> None:
    resp = await client.get("/api/v1/openapi.json")
    spec = await resp.json()
    assert spec["openapi"].startswith("3.")
    registered = set()
    for route in app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter")
        if (
            path
            and path.startswith("/api/v1/")
            and route.method in ("GET", "POST", "PATCH", "PUT", "DELETE")
            and "openapi" not in path
            and "_test" not in path
        ):
            registered.add((route.method.lower(), path))
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert registered and registered <= documented, registered - documented
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    schema_ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert {"email", "password", "name"} <= set(schema["required"])
    assert "202" in register["responses"] and "422" in register["responses"]
    get_c = spec["paths"]["/api/v1/consultations/{id}"]["get"]
    assert get_c["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ConsultationOut")


async def test_test_clock_endpoint_moves_time(client: Any, services: Any) -> None:
    resp = await client.post("/api/v1/_test/clock", json={"set": "2026-12-21T09:00:00+07:00"})
    assert resp.status == 200
    assert services.clock.now().isoformat() == "2026-12-21T02:00:00+00:00"
    resp = await client.post("/api/v1/_test/clock", json={"advance_seconds": 3600})
    assert (await resp.json())["now"] == "2026-12-21T03:00:00+00:00"
    resp = await client.post("/api/v1/_test/clock", json={"set": "yesterday"})
    assert resp.status == 400


async def test_test_clock_is_404_without_the_variable(settings: Any, aiohttp_client: Any) -> None:
    from server.app import create_app

    app = create_app(settings.model_copy(update={"pst_test_clock": False}))
    client = await aiohttp_client(app)
    resp = await client.post("/api/v1/_test/clock", json={"advance_seconds": 1})
    assert resp.status == 404


async def test_idle_warning_lead_is_an_admin_setting(make_staff: Any) -> None:
    admin = await make_staff("admin", None)
    status, body = await admin.call("PATCH", "/offices/7406/policy", {"idle_warning_lead": 2})
    assert status == 200 and body["policy"]["idle_warning_lead"] == 2
    status, body = await admin.call("PATCH", "/offices/7406/policy", {"idle_warning_lead": 7})
    assert status == 422 and body["error"]["code"] == "invalid_idle_warning_lead"
