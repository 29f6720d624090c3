"""Socket.IO accepts only the product's own origins: PUBLIC_BASE_URL's, the request's own host, and
PST_ALLOWED_ORIGINS (the same rule as CSRF for cookie-authenticated writes)."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from server.app import create_app
from server.settings import Settings


@pytest.fixture
async def origin_client(settings: Settings, aiohttp_client: Any) -> Any:
    app = create_app(settings.model_copy(update={"pst_allowed_origins": "https://mitra.example"}))
    return await aiohttp_client(app)


async def _try_socket(url: str, token: str | None, origin: str | None, transport: str) -> bool:
    """Whether a Socket.IO client sending this Origin gets connected."""
    sio = socketio.AsyncClient(reconnection=False)
    headers = {"Origin": origin} if origin else {}
    try:
        await sio.connect(
            url,
            auth={"token": token} if token else None,
            headers=headers,
            transports=[transport],
            socketio_path="socket.io",
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        return False
    connected = bool(sio.connected)
    await sio.disconnect()
    return connected


async def test_a_foreign_origin_is_refused_and_ours_are_accepted(origin_client: Any, settings: Settings) -> None:
    from server.domain import accounts
    from server.keys import SERVICES

    svc = origin_client.app[SERVICES]
    await accounts.create_staff(
        svc, email="asal@bps.go.id", name="Asal", role="officer", office="7406", password="petugas-123"
    )
    token, _ = await accounts.login(svc, email="asal@bps.go.id", password="petugas-123")
    url = str(origin_client.make_url("/"))
    own = url.rstrip("/")
    assert settings.public_base_url == "http://pst.test"
    for bad in ("https://evil.example", "null", "http://pst.test.evil.example", "https://pst.test:8443"):
        assert not await _try_socket(url, token, bad, "websocket"), bad
    for ok in (own, "http://pst.test", "https://mitra.example", None):
        assert await _try_socket(url, token, ok, "websocket"), ok


async def test_polling_handshake_from_a_foreign_origin_is_a_400(origin_client: Any) -> None:
    """Engine.IO's first request (the long-polling handshake) is where the Origin is judged. (A full polling
    client is not used here: its clean disconnect waits out a 25 s long poll.)"""
    url = "/socket.io/?EIO=4&transport=polling"
    for bad in ("https://evil.example", "null"):
        resp = await origin_client.get(url, headers={"Origin": bad})
        assert resp.status == 400, bad
        assert "access-control-allow-origin" not in {k.lower() for k in resp.headers}
    own = str(origin_client.make_url("/")).rstrip("/")
    for good in ("https://mitra.example", "http://pst.test", own):
        resp = await origin_client.get(url, headers={"Origin": good})
        assert resp.status == 200, good
        assert resp.headers.get("Access-Control-Allow-Origin") == good
    assert (await origin_client.get(url)).status == 200  # no Origin: not a browser page of another site
