"""Event sinks: the domain's EventSink as Socket.IO in this process, or Redis to reach the web processes."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from aiohttp import web

from server.domain.ports import EventSink, NullEvents
from server.keys import SIO
from server.services import Services

log = logging.getLogger(__name__)


class SioEvents:
    """Emits through the Socket.IO server; with REDIS_URL its manager fans out to every process."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        try:
            await self.sio.emit(event, data, room=room, namespace=namespace)
        except Exception:  # noqa: BLE001 - an emit failure must not undo a stored change
            log.exception("emit %s failed", event)


class RedisOnlyEvents:
    """For scheduler/notifier processes: publish events for the web processes to deliver."""

    def __init__(self, redis_url: str) -> None:
        self.manager = socketio.AsyncRedisManager(redis_url, write_only=True)

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        try:
            await self.manager.emit(event, data, room=room, namespace=namespace)
        except Exception:  # noqa: BLE001
            log.exception("emit %s through redis failed", event)


def make_event_sink(app: web.Application, services: Services) -> EventSink:
    """The sink for this process: its Socket.IO server, else Redis (scheduler, notifier), else nothing."""
    sio = app.get(SIO)
    if sio is not None:
        return SioEvents(sio)
    if services.settings.redis_url:
        return RedisOnlyEvents(services.settings.redis_url)
    return NullEvents()


async def shutdown(app: web.Application) -> None:
    """Close this process's Socket.IO server (its connections) on app shutdown."""
    sio = app.get(SIO)
    if sio is None:
        return
    try:
        await sio.shutdown()
    except Exception:  # noqa: BLE001
        log.debug("socket.io shutdown raised", exc_info=True)
