"""The Socket.IO server: built on the aiohttp app, with the consultation namespace registered on it."""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp

from server.keys import SERVICES
from server.realtime import sinks
from server.realtime.board import BoardNamespace
from server.realtime.namespace import ConsultationNamespace
from server.settings import Settings


# python-engineio ships no type information, so its WebSocket is Any to mypy.
class _NoCompressWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """aiohttp would negotiate permessage-deflate: ~90 KB per connection and CPU for small chat frames."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def attach(app: web.Application, settings: Settings) -> socketio.AsyncServer:
    """Create the Socket.IO server on `app` (path /socket.io) with Redis fan-out when REDIS_URL is set."""
    manager = sinks.ResilientRedisManager(settings.redis_url) if settings.redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[],  # same origin only
        http_compression=False,
        max_http_buffer_size=64 * 1024,
        ping_interval=25,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    sio.eio._async = dict(sio.eio._async, websocket=_NoCompressWebSocket)
    sio.attach(app, socketio_path="socket.io")
    sio.register_namespace(ConsultationNamespace(lambda: app[SERVICES]))
    sio.register_namespace(BoardNamespace(lambda: app[SERVICES]))
    return sio
