"""The ports the domain talks through; adapters live in storage/, realtime/, notifier/, integrations/."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    """Where the domain gets the time; injected so tests and the test clock can steer it."""

    def now(self) -> datetime: ...


class EventSink(Protocol):
    """Emits realtime events to Socket.IO rooms (possibly across processes)."""

    async def emit(self, event: str, data: Any, room: str) -> None: ...


class PresenceLookup(Protocol):
    """Who is connected to this process; server.realtime.events.Presence, kept in svc.extras["presence"]."""

    def is_online(self, user_id: str) -> bool: ...

    def online_staff(self, office: str) -> list[str]: ...


class MeetingProvider(Protocol):
    """Creates, updates and cancels an online meeting."""

    name: str

    async def create(self, *, topic: str, start: datetime | None, duration_min: int, tz: str) -> dict[str, Any]: ...


class NullEvents:
    """An EventSink for processes with no Socket.IO server and no Redis to reach one."""

    async def emit(self, event: str, data: Any, room: str) -> None:
        return None


class RecordingEvents:
    """An EventSink that keeps what it was given; used by unit tests of actions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, str]] = []

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.events.append((event, data, room))
