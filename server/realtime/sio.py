"""The Socket.IO server: built on the aiohttp app, with the consultation namespace registered on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio
import socketio.packet
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp

from server.domain import events as ev
from server.domain.rooms import consultation_room
from server.http.csrf import origin_allowed
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


class JsonPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Our events and acks are JSON, never bytes: python-socketio's default packet walks every payload for
    bytes before encoding it (12 us for one room:activity item, twice what encoding it costs). A payload
    with bytes would fail to encode, loudly. What clients send is decoded as before."""

    uses_binary_events = False


async def _after_delivery(server: Any, event: str, data: Any, namespace: str | None, room: Any) -> None:
    """Let the namespace act on an event its sockets here just received (ConsultationNamespace.after_delivery)."""
    handler = server.namespace_handlers.get(namespace or "/") if server is not None else None
    hook = getattr(handler, "after_delivery", None)
    if hook is not None and (room is None or isinstance(room, str)):
        await hook(event, data, room)


def _activity_deliveries(
    manager: Any, data: Any, namespace: str | None, room: Any, skip_sid: Any
) -> list[tuple[Any, Any, Any]]:
    """One event per recipient: `room:activity` tells the office's staff sockets of the rooms that moved, and a
    socket that joined one of those rooms already got its message as `message:new` (the console's lists follow
    that one: console/main.js), so each socket gets the items of the rooms it has not joined. Judged by each
    process for its own sockets, at delivery: (payload, room or sid, skip_sid) for each emit to make."""
    items = data.get("items") if isinstance(data, dict) else None
    ns = namespace or "/"
    if not items or ns not in manager.rooms:  # no socket of this namespace here: python-socketio delivers nothing
        return [(data, room, skip_sid)]
    joined = [
        {sid for sid, _ in manager.get_participants(ns, consultation_room(str(item.get("consultation_id"))))}
        for item in items
    ]
    if not any(joined):
        return [(data, room, skip_sid)]
    skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
    # Sockets grouped by the items they get: most get every item (one emit, one encoding), the others their own.
    groups: dict[tuple[int, ...], list[str]] = {}
    for sid, _ in manager.get_participants(ns, room):
        if sid not in skip:
            groups.setdefault(tuple(i for i, members in enumerate(joined) if sid not in members), []).append(sid)
    every = tuple(range(len(items)))
    out: list[tuple[Any, Any, Any]] = []
    if every in groups:
        others = [sid for key, sids in groups.items() if key != every for sid in sids]
        out.append((data, room, [*skip, *others]))
    for key, sids in groups.items():
        if key != every and key:
            out.extend(({**data, "items": [items[i] for i in key]}, sid, None) for sid in sids)
    return out


# python-socketio ships no type information, so its managers are Any to mypy.
class LocalManager(socketio.AsyncManager):  # type: ignore[misc]
    """One process: delivers an event to the sockets of a room, then tells the namespace."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, *args: Any, **kwargs: Any) -> Any:
        room = kwargs.pop("to", None) or room
        if event == ev.ROOM_ACTIVITY:
            for payload, to, skip in _activity_deliveries(self, data, namespace, room, kwargs.pop("skip_sid", None)):
                await super().emit(event, payload, namespace, to, *args, skip_sid=skip, **kwargs)
            return None
        result = await super().emit(event, data, namespace, room, *args, **kwargs)
        await _after_delivery(self.server, event, data, namespace, room)
        return result


class RedisManager(sinks.ResilientRedisManager):
    """Several processes: every emit goes through Redis and each process delivers it to its own sockets in
    `_handle_emit` (for its own emits too, before publishing). After that local delivery the namespace is
    told, so a `session:ended` disconnects the sockets that live here and a transfer takes them out of the
    consultation's rooms, in every process, in the order the events were published. `_handle_emit` is
    python-socketio's (5.x, pinned) hook for exactly this delivery; tests/realtime/test_redis_fanout.py
    covers it with two processes."""

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        payload = _payload(message)
        if message.get("event") == ev.ROOM_ACTIVITY and payload is not None:
            deliveries = _activity_deliveries(
                self, payload, message.get("namespace"), message.get("room"), message.get("skip_sid")
            )
            for data, to, skip in deliveries:
                await super()._handle_emit({**message, "data": [data], "room": to, "skip_sid": skip})
            return
        await super()._handle_emit(message)
        await _after_delivery(
            self.server, message.get("event", ""), payload, message.get("namespace"), message.get("room")
        )


def _payload(message: dict[str, Any]) -> Any:
    """The single payload of a published emit (python-socketio wraps it in a list)."""
    data = message.get("data")
    if isinstance(data, list) and len(data) == 1 and not message.get("binary"):
        return data[0]
    return None


def origin_check(settings: Settings) -> Callable[[str | None, dict[str, Any]], bool]:
    """Which browser origins may open a socket: the CSRF rule (PUBLIC_BASE_URL's origin, the request's own
    host, PST_ALLOWED_ORIGINS). python-engineio calls it only when the request carries an Origin."""
    allowed = settings.allowed_origins

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        # Also asked for the CORS headers of a request without an Origin: then there is nothing to allow.
        return bool(origin) and origin_allowed(str(origin), str(environ.get("HTTP_HOST", "")), allowed)

    return check


def attach(app: web.Application, settings: Settings) -> socketio.AsyncServer:
    """Create the Socket.IO server on `app` (path /socket.io) with Redis fan-out when REDIS_URL is set."""
    manager = RedisManager(settings.redis_url) if settings.redis_url else LocalManager()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        # An empty list would switch python-engineio's Origin check off; a browser page of another
        # site could then open a socket with the user's cookie.
        cors_allowed_origins=origin_check(settings),
        serializer=JsonPacket,
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
