"""CSRF: a cookie-authenticated write needs a JSON body and an allowed origin; bearer tokens are exempt."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from server.settings import Settings, SettingsError, load_settings
from tests.conftest import Api, outbox_link

OPEN = {"office": "7406", "topic": "data", "subject": "Inflasi", "text": "Halo"}


async def _cookie_login(client: Any, app: Any) -> str:
    """Register, verify and log in with the cookie only (the session lands in the client's cookie jar)."""
    from server.keys import SERVICES

    email = f"csrf-{uuid.uuid4().hex[:6]}@example.id"
    anon = Api(client)
    await anon.call("POST", "/auth/register", {"email": email, "password": "rahasia-123", "name": "C"})
    token = (await outbox_link(app[SERVICES].db, email, "verify_email")).split("token=")[1]
    await anon.call("POST", "/auth/verify", {"token": token}, expect=200)
    _, body = await anon.call("POST", "/auth/login", {"email": email, "password": "rahasia-123"}, expect=200)
    assert any(c.key == "pst_session" for c in client.session.cookie_jar)
    return str(body["token"])


async def _post(
    client: Any, path: str, body: Any = None, *, ctype: str | None = "application/json", **headers: str
) -> tuple[int, Any]:
    hdrs = dict(headers)
    if ctype is not None:
        hdrs["Content-Type"] = ctype
    data = json.dumps(body).encode() if body is not None else None
    resp = await client.post("/api/v1" + path, data=data, headers=hdrs)
    is_json = "json" in resp.headers.get("Content-Type", "")
    return resp.status, (await resp.json() if is_json else await resp.text())


async def _count(app: Any) -> int:
    from server.keys import SERVICES

    return int(await app[SERVICES].db.consultations.count_documents({}))


async def test_cross_site_text_plain_post_with_the_cookie_is_refused(client: Any, app: Any) -> None:
    await _cookie_login(client, app)
    # What a form on an attacker's page can send without a preflight: text/plain, from its origin.
    status, body = await _post(client, "/consultations", OPEN, ctype="text/plain", Origin="https://evil.example")
    assert status == 403 and body["error"]["code"] == "cross_site_request", (status, body)
    status, body = await _post(client, "/consultations", OPEN, ctype="text/plain", **{"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and body["error"]["code"] == "cross_site_request", (status, body)
    # No origin information at all (a non-browser client with a cookie): the body must still be JSON.
    status, body = await _post(client, "/consultations", OPEN, ctype="text/plain")
    assert status == 415 and body["error"]["code"] == "unsupported_media_type", (status, body)
    status, body = await _post(client, "/consultations", OPEN, ctype="application/x-www-form-urlencoded")
    assert status == 415, (status, body)
    # JSON from another site, or from a sibling site, or from a sandboxed page ("null"): refused too.
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "http://pst.test.evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        status, body = await _post(client, "/consultations", OPEN, **headers)
        assert status == 403, (headers, status, body)
    status, _ = await _post(client, "/auth/logout", None, ctype=None, Origin="https://evil.example")
    assert status == 403
    assert await _count(app) == 0


async def test_same_origin_json_with_the_cookie_works(client: Any, app: Any) -> None:
    await _cookie_login(client, app)
    own = str(client.make_url("/")).rstrip("/")
    for headers in (
        {"Origin": own, "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://pst.test"},  # PUBLIC_BASE_URL's origin (the test settings)
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {},
    ):
        status, body = await _post(client, "/consultations", OPEN, **headers)
        assert status == 201, (headers, status, body)
    # A POST without a body needs no content type.
    status, body = await _post(client, "/auth/logout", None, ctype=None, Origin=own)
    assert status == 200, body


async def test_upload_from_the_page_may_be_multipart(client: Any, app: Any) -> None:
    await _cookie_login(client, app)
    own = str(client.make_url("/")).rstrip("/")
    status, room = await _post(client, "/consultations", OPEN, Origin=own)
    assert status == 201
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="data.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\ntahun,nilai\r\n2024,1\r\n\r\n--b--\r\n"
    )
    path = f"/api/v1/consultations/{room['id']}/attachments"
    ok = await client.post(path, data=body, headers={"Content-Type": "multipart/form-data; boundary=b", "Origin": own})
    assert ok.status == 201, await ok.text()
    evil = await client.post(
        path, data=body, headers={"Content-Type": "multipart/form-data; boundary=b", "Origin": "https://evil.example"}
    )
    assert evil.status == 403
    # Multipart is for the upload route only.
    other = await client.post(
        "/api/v1/consultations", data=body, headers={"Content-Type": "multipart/form-data; boundary=b", "Origin": own}
    )
    assert other.status == 415


async def test_bearer_token_requests_are_exempt(client: Any, app: Any) -> None:
    token = await _cookie_login(client, app)
    status, body = await _post(
        client, "/consultations", OPEN, Origin="https://evil.example", Authorization=f"Bearer {token}"
    )
    assert status == 201, body


async def test_configured_extra_origins_are_allowed(settings: Settings, aiohttp_client: Any) -> None:
    from server.app import create_app

    app = create_app(settings.model_copy(update={"pst_allowed_origins": "https://intranet.bps.go.id"}))
    client = await aiohttp_client(app)
    await _cookie_login(client, app)
    status, body = await _post(client, "/consultations", OPEN, Origin="https://intranet.bps.go.id")
    assert status == 201, body
    status, body = await _post(client, "/consultations", OPEN, Origin="https://other.bps.go.id")
    assert status == 403, body


@pytest.mark.parametrize(
    "value", ["intranet.bps.go.id", "ftp://x.example", "https://x.example/path", "https://x:99999"]
)
def test_allowed_origins_setting_is_validated(value: str) -> None:
    with pytest.raises(SettingsError, match="PST_ALLOWED_ORIGINS"):
        load_settings(PST_ALLOWED_ORIGINS=value)


def test_allowed_origins_are_normalised() -> None:
    s = load_settings(
        PST_ALLOWED_ORIGINS="https://A.example:443, http://b.example:8080/", PUBLIC_BASE_URL="https://pst.go.id/x"
    )
    assert s.allowed_origins == {"https://a.example", "http://b.example:8080", "https://pst.go.id"}
