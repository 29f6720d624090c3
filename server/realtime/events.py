"""Event sinks (Socket.IO in this process, or Redis to reach other processes) and presence."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import socketio
from aiohttp import web

from server.domain.ports import EventSink
from server.keys import SIO
from server.services import Services

log = logging.getLogger(__name__)


class SioEvents:
    """Emits through the Socket.IO server; with REDIS_URL its manager fans out to every process."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(self, event: str, data: Any, room: str) -> None:
        try:
            await self.sio.emit(event, data, room=room)
        except Exception:  # noqa: BLE001 - an emit failure must not undo a stored change
            log.exception("emit %s failed", event)


class RedisOnlyEvents:
    """For scheduler/notifier processes: publish events for the web processes to deliver."""

    def __init__(self, redis_url: str) -> None:
        self.manager = socketio.AsyncRedisManager(redis_url, write_only=True)

    async def emit(self, event: str, data: Any, room: str) -> None:
        try:
            await self.manager.emit(event, data, room=room, namespace="/")
        except Exception:  # noqa: BLE001
            log.exception("emit %s through redis failed", event)


class Presence:
    """Who is connected to this process (server.domain.ports.PresenceRegistry): user id -> socket ids,
    and staff per office. create_app's realtime context puts one in `svc.presence`."""

    def __init__(self) -> None:
        self.sids: dict[str, set[str]] = defaultdict(set)
        self.staff_office: dict[str, str] = {}

    def add(self, user_id: str, sid: str, office: str | None, staff: bool) -> None:
        self.sids[user_id].add(sid)
        if staff and office:
            self.staff_office[user_id] = office

    def remove(self, user_id: str, sid: str) -> None:
        s = self.sids.get(user_id)
        if s is None:
            return
        s.discard(sid)
        if not s:
            del self.sids[user_id]
            self.staff_office.pop(user_id, None)

    def is_online(self, user_id: str) -> bool:
        return bool(self.sids.get(user_id))

    def online_staff(self, office: str) -> list[str]:
        return [uid for uid, off in self.staff_office.items() if off == office and self.sids.get(uid)]


def make_event_sink(app: web.Application, services: Services) -> EventSink:
    sio = app.get(SIO)
    if sio is not None:
        return SioEvents(sio)
    if services.settings.redis_url:
        return RedisOnlyEvents(services.settings.redis_url)
    from server.domain.ports import NullEvents

    return NullEvents()


async def shutdown(app: web.Application) -> None:
    sio = app.get(SIO)
    if sio is None:
        return
    try:
        await sio.shutdown()
    except Exception:  # noqa: BLE001
        log.debug("socket.io shutdown raised", exc_info=True)
