"""The meeting providers behind the domain's one MeetingProvider port: Zoom, Jitsi Meet, a pasted link.

`MeetingBackends` is built by the app in a cleanup context and handed to the domain as
`Services.meetings`; the Zoom client (a token cache and an HTTP session) is made on first use and
closed with the app.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from server.domain.errors import Unavailable, ValidationFailed
from server.domain.ports import Clock, MeetingProvider, MeetingRequest
from server.integrations.jitsi import (
    DEFAULT_HOST_NAME,
    TOKEN_CLOCK_SKEW_SECS,
    TOKEN_GRACE_AFTER_END_SECS,
    jitsi_meeting,
    jitsi_token,
)
from server.integrations.links import pasted_link_meeting
from server.settings import Settings

if TYPE_CHECKING:
    from server.integrations.zoom import ZoomClient

log = logging.getLogger(__name__)

Doc = dict[str, Any]


class ZoomBackend:
    """Zoom through the Server-to-Server OAuth app; the client is made on first use and kept."""

    name = "zoom"

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._client: ZoomClient | None = None

    @property
    def configured(self) -> bool:
        """True when the Server-to-Server OAuth app's three credentials are set."""
        s = self._settings
        return bool(s.zoom_account_id and s.zoom_client_id and s.zoom_client_secret)

    def client(self) -> ZoomClient:
        """The process's ZoomClient (one token cache, one HTTP session), created on first use."""
        if self._client is None:
            # Imported here: a process that never makes a Zoom meeting never loads the HTTP client.
            from server.integrations.zoom import ZoomClient

            s = self._settings
            self._client = ZoomClient(
                s.zoom_account_id,
                s.zoom_client_id,
                s.zoom_client_secret,
                s.zoom_api_base,
                s.zoom_oauth_url,
                clock=self._clock,
            )
        return self._client

    async def close(self) -> None:
        """Close the client's HTTP session; safe to call twice and when Zoom was never used."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def create(self, req: MeetingRequest) -> Doc:
        meeting: Doc = await self.client().create_meeting(
            topic=req.topic, start=req.start, duration_min=req.duration_min, tz=req.tz, agenda=req.agenda
        )
        return meeting

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        if meeting.get("start_time") is None:
            # Zoom's instant meetings (type 1) have no start time to move.
            raise ValidationFailed(
                "instant_meeting",
                "Pertemuan Zoom instan tidak dapat dijadwalkan ulang; batalkan lalu buat pertemuan "
                "terjadwal / An instant Zoom meeting cannot be rescheduled; cancel it and create a "
                "scheduled one",
                field="start_time",
            )
        assert req.start is not None
        await self.client().update_meeting(
            str(meeting["external_id"]), start=req.start, duration_min=req.duration_min, tz=req.tz
        )
        return {}

    async def cancel(self, meeting: Doc) -> None:
        if meeting.get("external_id"):
            gone = await self.client().delete_meeting(str(meeting["external_id"]))
            if not gone:
                log.info("zoom meeting of %s was already deleted at Zoom", meeting.get("_id"))

    async def fresh_start_url(self, meeting: Doc) -> str | None:
        """Zoom's start_url carries a host key that expires after about two hours: ask for a new one."""
        client = self.client()
        try:
            data = await client.get_meeting(str(meeting["external_id"]))
        except (Unavailable, ValueError):
            return None
        url = data.get("start_url") if data else None
        return url if isinstance(url, str) and url.startswith("https://") else None


class JitsiBackend:
    """Jitsi Meet: a fresh unguessable room; signed links when an app id and secret are set."""

    name = "jitsi"

    def __init__(self, base_url: str | None, *, app_id: str | None = None, app_secret: str | None = None) -> None:
        self._base_url = base_url
        self._app_id = app_id
        self._app_secret = app_secret

    def __repr__(self) -> str:
        return f"JitsiBackend(base_url={self._base_url!r}, signed={self.signed})"

    def _base(self) -> str:
        if not self._base_url:
            raise Unavailable(
                "jitsi_not_configured",
                "Jitsi belum dikonfigurasi (JITSI_BASE_URL) / Jitsi is not configured (JITSI_BASE_URL)",
            )
        return self._base_url

    @property
    def signed(self) -> bool:
        return bool(self._app_id and self._app_secret)

    @property
    def configured(self) -> bool:
        """True when there is a Jitsi server to make rooms on."""
        return bool(self._base_url)

    async def create(self, req: MeetingRequest) -> Doc:
        return jitsi_meeting(
            self._base(),
            topic=req.topic,
            start=req.start,
            duration_min=req.duration_min,
            tz=req.tz,
            app_id=self._app_id,
            app_secret=self._app_secret,
            user_name=req.user_name,
            host_name=req.host_name,
            now=req.now,
        )

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        if not self.signed:
            return {}
        # Same room, new tokens: the old ones would expire before a later meeting ends.
        app_id, app_secret = self._app_id, self._app_secret
        assert app_id and app_secret
        room = str(meeting["external_id"])
        room_url = str(meeting["join_url"]).split("?", 1)[0]
        begins = req.start or req.now
        not_before = req.now - timedelta(seconds=TOKEN_CLOCK_SKEW_SECS)
        expires = begins + timedelta(minutes=req.duration_min, seconds=TOKEN_GRACE_AFTER_END_SECS)
        sub = (urlsplit(self._base()).hostname or "").lower()

        def signed(name: str | None, moderator: bool) -> str:
            token = jitsi_token(
                app_id=app_id,
                app_secret=app_secret,
                sub=sub,
                room=room,
                not_before=not_before,
                expires=expires,
                user_name=name,
                moderator=moderator,
            )
            return f"{room_url}?jwt={token}"

        return {
            "join_url": signed(req.user_name, False),
            "start_url": signed(req.host_name or DEFAULT_HOST_NAME, True),
        }

    async def cancel(self, meeting: Doc) -> None:
        return None  # a Jitsi room exists only while people are in it

    async def fresh_start_url(self, meeting: Doc) -> str | None:
        return None  # the stored host link holds until the meeting's end


class LinkBackend:
    """A meeting link of any other service, pasted by the officer (https only)."""

    name = "link"

    async def create(self, req: MeetingRequest) -> Doc:
        if not req.url:
            raise ValidationFailed(
                "missing_url", "Tautan pertemuan wajib diisi / The meeting link is required", field="url"
            )
        return pasted_link_meeting(
            req.url, topic=req.topic, start=req.start, duration_min=req.duration_min, tz=req.tz, now=req.now
        )

    async def reschedule(self, meeting: Doc, req: MeetingRequest) -> Doc:
        return {}

    async def cancel(self, meeting: Doc) -> None:
        return None

    async def fresh_start_url(self, meeting: Doc) -> str | None:
        return None


class MeetingBackends:
    """The providers of this process, configured from the settings; nothing connects before first use."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.zoom = ZoomBackend(settings, clock)
        self.jitsi = JitsiBackend(
            settings.jitsi_base_url, app_id=settings.jitsi_app_id, app_secret=settings.jitsi_app_secret
        )
        self.link = LinkBackend()
        self._by_name: dict[str, MeetingProvider] = {"zoom": self.zoom, "jitsi": self.jitsi, "link": self.link}

    def configured(self) -> list[str]:
        """The providers an officer can use here, the preferred first: Zoom when set up, Jitsi, a pasted link."""
        names = ["zoom"] if self.zoom.configured else []
        if self.jitsi.configured:
            names.append("jitsi")
        return [*names, "link"]

    def unconfigured(self) -> list[str]:
        """The providers this deployment offers but has not been given the settings for."""
        return [n for n in ("zoom", "jitsi") if n not in self.configured()]

    def get(self, provider: str) -> MeetingProvider | None:
        """The backend called `provider`, or None for a name we do not offer."""
        return self._by_name.get(provider)

    def __getitem__(self, provider: str) -> MeetingProvider:
        return self._by_name[provider]

    async def close(self) -> None:
        """Release what the providers hold (the Zoom client's HTTP session)."""
        await self.zoom.close()
