"""WhatsApp and e-mail channel tests: the app wired to a fake Graph API (and, for e-mail, a real dovecot)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from server.settings import Settings
from tests.fakes.fake_whatsapp import (
    FakeWhatsApp,
    dumps,
    fake_whatsapp_server,  # noqa: F401 - the fixture "fake_whatsapp"
)

PNID = "106540352242922"  # the receiving number of office 7406
OTHER_PNID = "106540352242999"  # office 1808's


@pytest.fixture
def settings(settings: Settings, fake_whatsapp: FakeWhatsApp) -> Settings:
    """The test app's settings, pointed at the fake Graph API."""
    return settings.model_copy(
        update={
            "whatsapp_token": fake_whatsapp.token,
            "whatsapp_app_secret": fake_whatsapp.app_secret,
            "whatsapp_verify_token": fake_whatsapp.verify_token,
            "whatsapp_api_base": fake_whatsapp.api_base,
        }
    )


@dataclass
class WhatsAppRig:
    """The app and the fake Graph API, with the office's number configured and one clock for both."""

    client: Any
    fake: FakeWhatsApp
    services: Any

    async def webhook(
        self, body: Any, *, raw: bytes | None = None, signature: str | None = None, expect: int | None = 200
    ) -> Any:
        data = raw if raw is not None else dumps(body)
        headers = {"Content-Type": "application/json"}
        sig = signature if signature is not None else self.fake.sign(data)
        if sig:
            headers["X-Hub-Signature-256"] = sig
        resp = await self.client.post("/api/v1/channels/whatsapp/webhook", data=data, headers=headers)
        out = await resp.json() if "json" in resp.headers.get("Content-Type", "") else await resp.text()
        if expect is not None:
            assert resp.status == expect, (resp.status, out)
        return out

    async def user_says(self, wa_id: str, name: str, text: str, pnid: str = PNID) -> str:
        body, wamid = self.fake.user_message(pnid, wa_id, name, text=text)
        await self.webhook(body)
        return wamid

    async def wait_sent(self, count: int, within: float = 10.0) -> list[Any]:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.fake.sent) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} WhatsApp messages, got {[s.text for s in self.fake.sent]}")
            await asyncio.sleep(0.02)
        return self.fake.sent


@pytest.fixture
async def wa(client: Any, services: Any, fake_whatsapp: FakeWhatsApp) -> WhatsAppRig:
    await services.db.offices.update_one({"code": "7406"}, {"$set": {"channels.whatsapp.phone_number_id": PNID}})
    await services.db.offices.update_one({"code": "1808"}, {"$set": {"channels.whatsapp.phone_number_id": OTHER_PNID}})
    services.offices.forget()  # written behind the app's back: read it again
    fake_whatsapp.now = services.clock.now
    return WhatsAppRig(client, fake_whatsapp, services)
