"""Zoom meetings through a Server-to-Server OAuth app (account_credentials grant).

Docs followed: developers.zoom.us "Server-to-Server OAuth" (POST /oauth/token with
grant_type=account_credentials&account_id=…, HTTP Basic client_id:client_secret, a one-hour token
and no refresh token), "Create a meeting" (POST /users/{userId}/meetings; a local start_time
"yyyy-MM-ddTHH:mm:ss" is read in `timezone`), and "Error codes" ({"code": 300, "message": …}).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import aiohttp

from server.domain.clock import SystemClock
from server.domain.errors import Unavailable, ValidationFailed
from server.domain.ports import Clock
from server.integrations import (
    check_duration,
    check_start,
    clean_topic,
    meeting_dict,
    public_meeting_fields,
    zone,
)

__all__ = ["ZoomClient", "public_meeting_fields"]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECS = 15.0
# Fetch a new token this long before Zoom's expiry, so a request never carries a dying token.
TOKEN_REFRESH_MARGIN_SECS = 300
RATE_LIMIT_RETRIES = 3  # after the first try: waits of 0.5 s, 1 s, 2 s by default
# A Retry-After longer than this means a daily quota, not a burst: fail now instead of hanging.
MAX_RETRY_AFTER_SECS = 30.0
AGENDA_MAX_CHARS = 2000
LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

Sleep = Callable[[float], Awaitable[None]]


class _Token:
    """An access token and the moment we stop trusting it."""

    __slots__ = ("value", "refresh_at")

    def __init__(self, value: str, refresh_at: datetime) -> None:
        self.value = value
        self.refresh_at = refresh_at


class ZoomClient:
    """Creates, updates and deletes Zoom meetings for the account's own user (`me`)."""

    name = "zoom"

    def __init__(
        self,
        account_id: str | None,
        client_id: str | None,
        client_secret: str | None,
        api_base: str = "https://api.zoom.us/v2",
        oauth_url: str = "https://zoom.us/oauth/token",
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        timeout_secs: float = REQUEST_TIMEOUT_SECS,
        backoff_base: float = 0.5,
        rate_limit_retries: int = RATE_LIMIT_RETRIES,
        max_retry_after_secs: float = MAX_RETRY_AFTER_SECS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._account_id = account_id or ""
        self._client_id = client_id or ""
        self._client_secret = client_secret or ""
        self._api_base = api_base.rstrip("/")
        self._oauth_url = oauth_url
        self._session = session
        self._owns_session = session is None
        self._clock: Clock = clock or SystemClock()
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self._backoff_base = backoff_base
        self._rate_limit_retries = rate_limit_retries
        self._max_retry_after_secs = max_retry_after_secs
        self._sleep = sleep
        self._token: _Token | None = None
        # One token request at a time: concurrent callers wait for the same fetch (single flight).
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        # Never the secret, never the token.
        return f"ZoomClient(api_base={self._api_base!r}, client_id={self._client_id[:4]!r}…)"

    @property
    def configured(self) -> bool:
        """True when all three app credentials are set."""
        return bool(self._account_id and self._client_id and self._client_secret)

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> ZoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- meetings -----------------------------------------------------------------------------

    async def create_meeting(
        self,
        *,
        topic: str,
        start: datetime | None,
        duration_min: int,
        tz: str,
        agenda: str | None = None,
    ) -> dict[str, Any]:
        """Create a scheduled (start given) or instant (start None) meeting; the normalized dict."""
        office_zone = zone(tz)
        title = clean_topic(topic)
        duration = check_duration(duration_min)
        start_utc = check_start(start, self._clock.now())
        body: dict[str, Any] = {
            "topic": title,
            "duration": duration,
            "timezone": tz,
            # The user waits until the officer lets them in; nobody enters before the host.
            "settings": {"waiting_room": True, "join_before_host": False},
        }
        if start_utc is None:
            body["type"] = 1
        else:
            body["type"] = 2
            # Local wall time plus `timezone`: Zoom's documented form for a zoned start.
            body["start_time"] = start_utc.astimezone(office_zone).strftime(LOCAL_TIME_FORMAT)
        if agenda:
            body["agenda"] = agenda[:AGENDA_MAX_CHARS]
        status, data = await self._request("POST", "/users/me/meetings", body)
        if status not in (200, 201):
            self._raise_for(status, data)
        return self._normalize(data, tz=tz, scheduled=start_utc is not None, duration=duration, topic=title)

    async def update_meeting(
        self,
        external_id: str,
        *,
        start: datetime,
        duration_min: int,
        tz: str,
        topic: str | None = None,
    ) -> None:
        """Move a scheduled meeting to a new start, duration and (optionally) topic."""
        meeting_id = _meeting_id(external_id)
        office_zone = zone(tz)
        duration = check_duration(duration_min)
        start_utc = check_start(start, self._clock.now())
        if start_utc is None:
            raise ValidationFailed(
                "invalid_start_time", "Waktu mulai wajib diisi / Start time is required", field="start"
            )
        body: dict[str, Any] = {
            "start_time": start_utc.astimezone(office_zone).strftime(LOCAL_TIME_FORMAT),
            "timezone": tz,
            "duration": duration,
        }
        if topic is not None:
            body["topic"] = clean_topic(topic)
        status, data = await self._request("PATCH", f"/meetings/{meeting_id}", body)
        if status not in (200, 204):
            self._raise_for(status, data)

    async def delete_meeting(self, external_id: str) -> bool:
        """Delete a meeting; True if deleted, False if Zoom had no such meeting any more."""
        meeting_id = _meeting_id(external_id)
        status, data = await self._request("DELETE", f"/meetings/{meeting_id}", None)
        if status in (200, 204):
            return True
        if status == 404:
            return False
        self._raise_for(status, data)

    # --- token --------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        """A valid access token, fetched at most once however many callers ask at the same time."""
        token = self._token
        if token is not None and self._clock.now() < token.refresh_at:
            return token.value
        async with self._token_lock:
            token = self._token
            if token is not None and self._clock.now() < token.refresh_at:
                return token.value
            self._token = await self._fetch_token()
            return self._token.value

    def _drop_token(self, value: str) -> None:
        """Forget the token Zoom refused, unless another caller has already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch_token(self) -> _Token:
        if not self.configured:
            raise Unavailable(
                "zoom_not_configured",
                "Zoom belum dikonfigurasi (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET) / "
                "Zoom is not configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)",
            )
        session = self._http()
        params = {"grant_type": "account_credentials", "account_id": self._account_id}
        basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        try:
            async with session.post(self._oauth_url, params=params, headers=headers, timeout=self._timeout) as resp:
                status = resp.status
                data = _parse_json(await resp.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("zoom token request failed: %s", type(exc).__name__)
            raise _unavailable() from exc
        if status in (400, 401, 403):
            # Zoom answers {"reason", "error"}; neither carries a secret.
            log.warning("zoom refused the app credentials: status=%s error=%s", status, data.get("error"))
            raise Unavailable(
                "zoom_not_configured",
                "Zoom menolak kredensial aplikasi; periksa ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID dan "
                "ZOOM_CLIENT_SECRET / Zoom refused the app credentials; check ZOOM_ACCOUNT_ID, "
                "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
            )
        value = data.get("access_token")
        expires_in = data.get("expires_in")
        if (
            status != 200
            or not isinstance(value, str)
            or not value
            or not isinstance(expires_in, int | float)
            or isinstance(expires_in, bool)
            or expires_in <= 0
        ):
            log.warning("zoom token endpoint answered status=%s without a usable token", status)
            raise _unavailable()
        lifetime = max(float(expires_in) - TOKEN_REFRESH_MARGIN_SECS, float(expires_in) / 2)
        log.info("zoom access token fetched; valid %.0f s", float(expires_in))
        return _Token(value, self._clock.now() + timedelta(seconds=lifetime))

    async def get_meeting(self, external_id: str) -> dict[str, Any] | None:
        """Zoom's current record of a meeting (fresh start_url included), or None if it is gone."""
        status, data = await self._request("GET", f"/meetings/{int(external_id)}", None)
        return data if status == 200 else None

    # --- HTTP ---------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the ClientSession given to ZoomClient is closed")
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """Send one API call: refetch the token once on 401, back off on 429; (status, JSON body)."""
        url = self._api_base + path
        refetched = False
        rate_limited = 0
        while True:
            token = await self._access_token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with self._http().request(method, url, json=body, headers=headers, timeout=self._timeout) as resp:
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
                    data = _parse_json(await resp.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("zoom %s %s failed: %s", method, path, type(exc).__name__)
                raise _unavailable() from exc
            if status == 401:
                self._drop_token(token)
                if refetched:
                    log.warning("zoom %s %s: 401 again with a fresh token", method, path)
                    raise Unavailable(
                        "zoom_unavailable",
                        "Zoom menolak token akses yang baru; periksa cakupan (scope) aplikasi Zoom / "
                        "Zoom refused a fresh access token; check the Zoom app's scopes",
                    )
                refetched = True
                continue
            if status == 429:
                if rate_limited >= self._rate_limit_retries:
                    raise _rate_limited()
                delay = self._retry_delay(retry_after, rate_limited)
                if delay > self._max_retry_after_secs:
                    raise _rate_limited()
                rate_limited += 1
                log.info("zoom %s %s rate limited; retrying in %.2f s", method, path, delay)
                await self._sleep(delay)
                continue
            if status >= 500:
                log.warning("zoom %s %s answered %s", method, path, status)
                raise _unavailable()
            return status, data

    def _retry_delay(self, retry_after: str | None, attempt: int) -> float:
        """Seconds to wait: Zoom's Retry-After (seconds or an HTTP date), else exponential backoff."""
        if retry_after:
            text = retry_after.strip()
            try:
                secs = float(text)
            except ValueError:
                try:
                    when = parsedate_to_datetime(text)
                except (TypeError, ValueError):
                    when = None
                if when is not None:
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=UTC)
                    return max(0.0, (when - self._clock.now()).total_seconds())
            else:
                if math.isfinite(secs):
                    return max(0.0, secs)
        return float(self._backoff_base * (2**attempt))

    @staticmethod
    def _raise_for(status: int, data: dict[str, Any]) -> NoReturn:
        """Turn an unexpected 4xx into the domain error the officer sees."""
        zoom_message = str(data.get("message") or "").strip()[:300]
        zoom_code = data.get("code")
        if status == 403:
            raise Unavailable(
                "zoom_not_configured",
                f"Aplikasi Zoom tidak punya izin untuk tindakan ini ({zoom_message}) / "
                f"The Zoom app lacks permission for this action ({zoom_message})",
            )
        detail = zoom_message or f"HTTP {status}"
        raise ValidationFailed(
            "zoom_rejected",
            f"Zoom menolak permintaan: {detail} / Zoom rejected the request: {detail}",
            zoom_code=zoom_code,
            status=status,
        )

    @staticmethod
    def _normalize(data: dict[str, Any], *, tz: str, scheduled: bool, duration: int, topic: str) -> dict[str, Any]:
        meeting_id = data.get("id")
        join_url = data.get("join_url")
        start_url = data.get("start_url")
        if meeting_id is None or not isinstance(join_url, str) or not isinstance(start_url, str):
            log.warning("zoom create answered 201 without id/join_url/start_url")
            raise _unavailable()
        start_time: datetime | None = None
        raw_start = data.get("start_time")
        if scheduled and isinstance(raw_start, str):
            start_time = _parse_zoom_time(raw_start)
        answered_duration = data.get("duration")
        password = data.get("password")
        return meeting_dict(
            provider="zoom",
            external_id=str(meeting_id),
            join_url=join_url,
            start_url=start_url,
            passcode=password if isinstance(password, str) and password else None,
            start_time=start_time,
            duration=answered_duration
            if isinstance(answered_duration, int) and not isinstance(answered_duration, bool)
            else duration,
            timezone=tz,
            topic=str(data.get("topic") or topic),
        )


def _meeting_id(external_id: str) -> str:
    """A Zoom meeting id is a number; anything else must not reach the URL path."""
    text = str(external_id).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise ValidationFailed(
            "invalid_meeting_id",
            f"Nomor rapat Zoom tidak sah: {external_id!r} / Invalid Zoom meeting id: {external_id!r}",
        )
    return text


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _parse_zoom_time(text: str) -> datetime | None:
    """Zoom's "2026-11-24T02:00:00Z" (GMT) as an aware UTC datetime; None if unreadable."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _unavailable() -> Unavailable:
    return Unavailable(
        "zoom_unavailable",
        "Zoom sedang tidak dapat dihubungi; coba lagi nanti atau gunakan Jitsi / "
        "Zoom cannot be reached right now; try again later or use Jitsi",
    )


def _rate_limited() -> Unavailable:
    return Unavailable(
        "zoom_rate_limited",
        "Batas permintaan Zoom tercapai; coba lagi nanti atau gunakan Jitsi / "
        "Zoom's request limit was reached; try again later or use Jitsi",
    )
