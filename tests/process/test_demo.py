"""`pst admin seed-demo` fills a usable demo and is safe to run twice."""

from __future__ import annotations

from typing import Any

from server.demo import DEMO_PASSWORD, seed_demo


async def test_seed_demo_is_idempotent_and_usable(services: Any, anon: Any) -> None:
    first = await seed_demo(services)
    assert any("consultations created: 3" in line for line in first)
    second = await seed_demo(services)
    assert any("consultations created: 0" in line for line in second)
    assert await services.db.consultations.count_documents({}) == 3
    assert await services.db.users.count_documents({"role": "officer"}) == 5
    status, body = await anon.call(
        "POST", "/auth/login", {"email": "petugas7406@demo.bps.go.id", "password": DEMO_PASSWORD}
    )
    assert status == 200 and body["user"]["office"] == "7406"
    status, body = await anon.call("POST", "/auth/login", {"email": "sari.demo@example.id", "password": DEMO_PASSWORD})
    assert status == 200
