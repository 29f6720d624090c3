"""The ports the domain talks through; adapters live in storage/, realtime/, notifier/, integrations/."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    """Where the domain gets the time; injected so tests and the test clock can steer it."""

    def now(self) -> datetime: ...


class EventSink(Protocol):
    """Emits realtime events to Socket.IO rooms (possibly across processes); `namespace` "/" unless said."""

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None: ...


class PresenceLookup(Protocol):
    """Who is connected: what the domain asks (auto-assignment, the reply e-mail, the staff list)."""

    def is_online(self, user_id: str) -> bool: ...

    def online_staff(self, office: str) -> list[str]: ...


class PresenceRegistry(PresenceLookup, Protocol):
    """Presence as the socket layer keeps it: `svc.presence`. In one process server.realtime.presence.Presence;
    several processes need a shared one (each sees only its own connections)."""

    def add(self, user_id: str, sid: str, office: str | None, staff: bool) -> None: ...

    def remove(self, user_id: str, sid: str) -> None: ...


class NoPresence:
    """Presence of a process without sockets (scheduler, notifier, CLI): nobody is online here."""

    def is_online(self, user_id: str) -> bool:
        return False

    def online_staff(self, office: str) -> list[str]:
        return []

    def add(self, user_id: str, sid: str, office: str | None, staff: bool) -> None:
        return None

    def remove(self, user_id: str, sid: str) -> None:
        return None


class RoomSeqState(Protocol):
    """Per-room hints for numbering messages (`svc.rooms`): a lock that serialises this process's sends
    to one consultation, and the last seq this process stored there. Only hints: a missing entry costs
    one read, and across processes the unique (consultation_id, seq) index decides (a loser retries).
    In one process server.storage.room_seq.LocalRoomSeqState, bounded."""

    def lock(self, room: str) -> AbstractAsyncContextManager[Any]: ...

    def last_seq(self, room: str) -> int | None: ...

    def remember_seq(self, room: str, seq: int) -> None: ...


class OutboxWorker(Protocol):
    """The mail worker running in this process, if any (`svc.outbox_worker`): woken after an enqueue."""

    def kick(self) -> object: ...


@dataclass(frozen=True)
class MeetingRequest:
    """What the officer asked for, already resolved to the office's zone and our clock."""

    topic: str
    start: datetime | None
    duration_min: int
    tz: str
    now: datetime
    url: str | None = None
    user_name: str | None = None
    host_name: str | None = None
    agenda: str | None = None


class MeetingProvider(Protocol):
    """One online-meeting provider (Zoom, Jitsi, a pasted link); adapters in server/integrations/meeting_backends.py."""

    name: str

    async def create(self, req: MeetingRequest) -> dict[str, Any]:
        """The normalized meeting dict of server.integrations."""
        ...

    async def reschedule(self, meeting: dict[str, Any], req: MeetingRequest) -> dict[str, Any]:
        """Move the meeting to req.start/req.duration_min; the stored fields that change."""
        ...

    async def cancel(self, meeting: dict[str, Any]) -> None:
        """Release the meeting at the provider (nothing to do for most)."""
        ...

    async def fresh_start_url(self, meeting: dict[str, Any]) -> str | None:
        """A new host link when the stored one may have expired; None to keep the stored one."""
        ...


class NullEvents:
    """An EventSink for processes with no Socket.IO server and no Redis to reach one."""

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        return None


class RecordingEvents:
    """An EventSink that keeps what it was given; used by unit tests of actions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, str]] = []
        # The namespace of each recorded event, in the same order ("/" for the consultation rooms).
        self.namespaces: list[str] = []

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        self.events.append((event, data, room))
        self.namespaces.append(namespace)
