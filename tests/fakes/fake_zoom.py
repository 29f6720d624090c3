"""A small fake Zoom: the documented OAuth and meeting endpoints, strict enough to catch client bugs.

Use it from any test module with `from tests.fakes.fake_zoom import fake_zoom  # noqa: F401`; the same
fixture is also importable as `fake_zoom_server`, which spares a `# noqa: F811` on every test that
takes a `fake_zoom` argument.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from aiohttp import web

_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_GMT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}


@dataclass
class Recorded:
    """One API call as the fake received it."""

    method: str
    path: str
    body: Any
    content_type: str


@dataclass
class FakeZoom:
    """Configuration, counters and failure switches of the fake; tests read and flip these."""

    account_id: str = "acct_PST_test"
    client_id: str = "client_PST_test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    base_url: str = ""  # set when the server is bound
    token_expires_in: int = 3599
    # Zoom now allows several live tokens; flip this to model the old "a new token revokes the
    # previous one" behaviour, under which parallel token fetches break each other.
    new_token_revokes_old: bool = False

    # Counters and records.
    token_requests: int = 0
    api_requests: int = 0
    requests: list[Recorded] = field(default_factory=list)
    meetings: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry

    # Switches: each counts down once per API call it answers.
    fail_401_next: int = 0
    fail_429_next: int = 0
    retry_after: str | None = "1"  # header sent with the forced 429s; None sends none
    fail_400_next: int = 0
    fail_400_message: str = "Invalid field."
    fail_500_next: int = 0
    fail_oauth_500_next: int = 0
    delay_secs: float = 0.0  # every API answer waits this long (timeouts)

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v2"

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def created(self) -> list[Recorded]:
        """The create-meeting calls received, oldest first."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/meetings")]

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as after an hour or a credentials rotation."""
        self.tokens.clear()

    # --- app ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_post("/v2/users/{user_id}/meetings", self._create)
        app.router.add_patch("/v2/meetings/{meeting_id}", self._update)
        app.router.add_delete("/v2/meetings/{meeting_id}", self._delete)
        app.router.add_get("/v2/meetings/{meeting_id}", self._get)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.fail_oauth_500_next > 0:
            self.fail_oauth_500_next -= 1
            return web.json_response({"reason": "Internal error", "error": "server_error"}, status=500)
        client_id, client_secret = _basic_auth(request.headers.get("Authorization", ""))
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return web.json_response(
                {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, status=401
            )
        # The docs allow the two parameters in the query or a form body.
        params: dict[str, str] = dict(request.query)
        if request.content_type == "application/x-www-form-urlencoded":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        if params.get("grant_type") != "account_credentials":
            return web.json_response(
                {"reason": "unsupported grant type", "error": "unsupported_grant_type"}, status=400
            )
        if params.get("account_id") != self.account_id:
            return web.json_response({"reason": "Invalid account_id", "error": "invalid_request"}, status=400)
        token = "eyJzdiI6IjAwMDAwMSJ9." + secrets.token_urlsafe(48)
        if self.new_token_revokes_old:
            self.tokens.clear()
        self.tokens[token] = time.monotonic() + self.token_expires_in
        return web.json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_expires_in,
                "scope": " ".join(
                    (
                        "meeting:write:meeting:admin",
                        "meeting:update:meeting:admin",
                        "meeting:delete:meeting:admin",
                    )
                ),
                "api_url": "https://api.zoom.us",
            }
        )

    async def _gate(self, request: web.Request) -> web.Response | None:
        """Delay, forced failures and the bearer check every API endpoint shares."""
        self.api_requests += 1
        if self.delay_secs:
            await asyncio.sleep(self.delay_secs)
        if self.fail_500_next > 0:
            self.fail_500_next -= 1
            return web.json_response({"code": 500, "message": "Internal server error."}, status=500)
        if self.fail_429_next > 0:
            self.fail_429_next -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return web.json_response(
                {
                    "code": 429,
                    "message": "You have reached the maximum per-second rate limit for this API. "
                    "Try again later.",
                },
                status=429,
                headers=headers,
            )
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if self.fail_401_next > 0:
            self.fail_401_next -= 1
            self.tokens.pop(token, None)  # the token really is dead afterwards
            return web.json_response(_INVALID_TOKEN, status=401)
        expiry = self.tokens.get(token)
        if expiry is None or expiry <= time.monotonic():
            return web.json_response(_INVALID_TOKEN, status=401)
        if self.fail_400_next > 0:
            self.fail_400_next -= 1
            return web.json_response({"code": 300, "message": self.fail_400_message}, status=400)
        return None

    async def _json_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        raw = await request.read()
        self.requests.append(Recorded(request.method, request.path, None, request.content_type))
        if request.content_type != "application/json":
            return _invalid("Request Body should be a valid JSON object.")
        try:
            body = await request.json()
        except ValueError:
            return _invalid("Request Body should be a valid JSON object.")
        if not isinstance(body, dict) or not raw:
            return _invalid("Request Body should be a valid JSON object.")
        self.requests[-1].body = body
        return body

    async def _create(self, request: web.Request) -> web.Response:
        denied = await self._gate(request)
        if denied is not None:
            return denied
        if request.match_info["user_id"] != "me":
            return web.json_response({"code": 1001, "message": "User does not exist."}, status=404)
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        errors = _check_meeting_fields(body, creating=True)
        if errors:
            return _validation_failed(errors)
        meeting_type = body["type"]
        now = datetime.now(UTC).replace(microsecond=0)
        tz = body.get("timezone") or "Asia/Jakarta"
        start = _gmt(body, now) if meeting_type == 2 else now
        meeting_id = secrets.randbelow(9 * 10**10) + 10**10  # 11 digits, like Zoom's
        password = secrets.token_urlsafe(6)[:6]
        encrypted = secrets.token_urlsafe(24)
        host_id = "KdYKjnimT4KPd8FFgQt9FQ"
        settings_in = body.get("settings") or {}
        meeting: dict[str, Any] = {
            "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "id": meeting_id,
            "host_id": host_id,
            "host_email": "pst@bps.go.id",
            "assistant_id": "",
            "topic": body.get("topic", ""),
            "type": meeting_type,
            "status": "waiting",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": body.get("duration", 60),
            "timezone": tz,
            "agenda": body.get("agenda", ""),
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_url": f"https://us05web.zoom.us/s/{meeting_id}?zak={secrets.token_urlsafe(40)}",
            "join_url": f"https://us05web.zoom.us/j/{meeting_id}?pwd={encrypted}",
            "password": password,
            "h323_password": password,
            "pstn_password": password,
            "encrypted_password": encrypted,
            "settings": {
                "host_video": False,
                "participant_video": False,
                "join_before_host": bool(settings_in.get("join_before_host", False)),
                "waiting_room": bool(settings_in.get("waiting_room", False)),
                "mute_upon_entry": False,
                "approval_type": 2,
                "audio": "voip",
                "auto_recording": "none",
                "meeting_authentication": False,
            },
            "pre_schedule": False,
        }
        self.meetings[meeting_id] = meeting
        return web.json_response(meeting, status=201)

    def _find(self, request: web.Request) -> tuple[int, web.Response | None]:
        raw = request.match_info["meeting_id"]
        meeting_id = int(raw) if raw.isdigit() else -1
        if meeting_id not in self.meetings:
            return meeting_id, web.json_response(
                {"code": 3001, "message": f"Meeting does not exist: {raw}."}, status=404
            )
        return meeting_id, None

    async def _update(self, request: web.Request) -> web.Response:
        denied = await self._gate(request)
        if denied is not None:
            return denied
        body = await self._json_body(request)
        if isinstance(body, web.Response):
            return body
        meeting_id, missing = self._find(request)
        if missing is not None:
            return missing
        errors = _check_meeting_fields(body, creating=False)
        if errors:
            return _validation_failed(errors)
        meeting = self.meetings[meeting_id]
        for key in ("topic", "duration", "timezone", "agenda"):
            if key in body:
                meeting[key] = body[key]
        if "start_time" in body:
            meeting["start_time"] = _gmt({**meeting, **body}, datetime.now(UTC)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        return web.Response(status=204)

    async def _delete(self, request: web.Request) -> web.Response:
        denied = await self._gate(request)
        if denied is not None:
            return denied
        self.requests.append(Recorded(request.method, request.path, None, request.content_type))
        meeting_id, missing = self._find(request)
        if missing is not None:
            return missing
        del self.meetings[meeting_id]
        return web.Response(status=204)

    async def _get(self, request: web.Request) -> web.Response:
        denied = await self._gate(request)
        if denied is not None:
            return denied
        meeting_id, missing = self._find(request)
        if missing is not None:
            return missing
        return web.json_response(self.meetings[meeting_id])


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    if not header.startswith("Basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


def _invalid(message: str) -> web.Response:
    return web.json_response({"code": 300, "message": message}, status=400)


def _validation_failed(errors: list[dict[str, str]]) -> web.Response:
    return web.json_response({"code": 300, "message": "Validation Failed.", "errors": errors}, status=400)


def _valid_zone(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_meeting_fields(body: dict[str, Any], *, creating: bool) -> list[dict[str, str]]:
    """Field errors as Zoom reports them; empty when the body is acceptable."""
    errors: list[dict[str, str]] = []

    def bad(name: str, message: str = "Invalid field.") -> None:
        errors.append({"field": name, "message": message})

    if creating or "topic" in body:
        topic = body.get("topic")
        if not isinstance(topic, str) or not topic.strip() or len(topic) > 200:
            bad("topic")
    if creating:
        if body.get("type") not in (1, 2) or isinstance(body.get("type"), bool):
            bad("type")
    if "duration" in body or (creating and body.get("type") == 2):
        duration = body.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            bad("duration")
    if "timezone" in body and not _valid_zone(body["timezone"]):
        bad("timezone")
    scheduled = creating and body.get("type") == 2
    if scheduled or "start_time" in body:
        start = body.get("start_time")
        if isinstance(start, str) and _GMT_TIME.match(start):
            pass
        elif isinstance(start, str) and _LOCAL_TIME.match(start):
            # A local time means nothing without its zone.
            if not _valid_zone(body.get("timezone")):
                bad("timezone", "A local start_time needs a valid timezone.")
            else:
                try:
                    datetime.strptime(start + "Z", "%Y-%m-%dT%H:%M:%S%z")
                except ValueError:
                    bad("start_time")
        else:
            bad("start_time")
    if "settings" in body and not isinstance(body["settings"], dict):
        bad("settings")
    return errors


def _gmt(body: dict[str, Any], default: datetime) -> datetime:
    """The body's start_time as UTC, reading a local time in its timezone as Zoom does."""
    start = body.get("start_time")
    if not isinstance(start, str):
        return default
    if start.endswith("Z"):
        return datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    local = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=ZoneInfo(body["timezone"]))
    return local.astimezone(UTC)


@pytest.fixture(name="fake_zoom")
async def fake_zoom_server() -> AsyncIterator[FakeZoom]:
    """A fake Zoom (OAuth + meetings API) on a free local port."""
    fake = FakeZoom()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        fake.base_url = f"http://{host}:{port}"
        yield fake
    finally:
        await runner.cleanup()


fake_zoom = fake_zoom_server
