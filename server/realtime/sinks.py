"""Event sinks: the domain's EventSink as Socket.IO in this process, or Redis to reach the web processes.

With REDIS_URL every web process's Socket.IO server fans its events out through Redis (a
ResilientRedisManager, see server/realtime/sio.py), and the scheduler and notifier processes, which
have no sockets, publish theirs through a write-only one (`RedisOnlyEvents`) for the web processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web

from server.domain import events as ev
from server.domain.ports import EventSink, NullEvents
from server.keys import SIO
from server.services import Services
from server.storage.redis_link import RECONNECT_FIRST_SECS, RECONNECT_MAX_SECS, REDIS_ERRORS, make_client, published

log = logging.getLogger(__name__)


class ResilientRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, failing fast and logging an outage once.

    Its emit delivers to this process's sockets first and then publishes for the other processes
    (python-socketio 5.x), so with Redis down each process keeps serving its own clients. What changes
    here is the publish and the subscriber, the two hooks a pub/sub manager implements: one try with
    short timeouts (an emit never waits on a dead Redis), one log line per outage instead of two per
    event, and the subscriber back within RECONNECT_MAX_SECS of Redis (its own back-off reaches 60 s).
    """

    def __init__(self, url: str, *, write_only: bool = False) -> None:
        super().__init__(url, write_only=write_only)
        # One client for publishing and the subscriber's connection (the base class would build a new
        # client on every reconnect, sharing it between the two).
        self.client = make_client(url, decode=False)
        self.up = True
        self.dropped = 0

    def _failed(self, what: str, exc: BaseException) -> None:
        if self.up:
            log.warning(
                "socket.io fan-out: redis unavailable (%s: %s); events reach this process's sockets only",
                what,
                type(exc).__name__,
            )
        self.up = False

    def _succeeded(self) -> None:
        if not self.up:
            log.info("socket.io fan-out: redis reachable again (%d events reached this process only)", self.dropped)
            self.up = True
            self.dropped = 0

    async def _publish(self, data: Any) -> Any:
        try:
            result = await self.client.publish(self.channel, self.json.dumps(data))
        except REDIS_ERRORS as exc:
            self.dropped += 1
            self._failed("publish", exc)
            return None
        self._succeeded()
        return result

    async def _listen(self) -> AsyncIterator[Any]:
        channel = self.channel.encode("utf-8")
        delay = RECONNECT_FIRST_SECS
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._succeeded()
                delay = RECONNECT_FIRST_SECS
                async for message in published(pubsub):
                    if message["channel"] == channel:
                        yield message["data"]
            except REDIS_ERRORS as exc:
                self._failed("subscribe", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_SECS, delay * 2)

    async def close(self) -> None:
        """Stop the subscriber and close the Redis connections."""
        task = getattr(self, "thread", None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.aclose()


# room:activity gathered for this long, per office staff room, into one event (SioEvents).
ACTIVITY_GATHER_SECS = 0.1
# SioEvents forgets the staff rooms that heard room:activity over ACTIVITY_GATHER_SECS ago past this many.
SENT_AT_PRUNE_AT = 1_000


class SioEvents:
    """Emits through the Socket.IO server; with REDIS_URL its manager fans out to every process.

    `room:activity` is gathered: a staff room that heard nothing for ACTIVITY_GATHER_SECS hears a room's move at
    once; the moves that follow within that time go to it together at its end as one event (each room once,
    with its newest message and view), one frame a staff socket instead of one a message for each officer
    outside the rooms. So a lone move costs no delay and no wake-up of its own, and a busy office hears at
    most about one event a staff socket each ACTIVITY_GATHER_SECS. Any other event to that staff room sends
    what was gathered for it first, so an officer's list never hears a room's older view after a newer one
    (a message, then its close). `gather_secs` 0: each at once."""

    def __init__(self, sio: socketio.AsyncServer, gather_secs: float = ACTIVITY_GATHER_SECS) -> None:
        self.sio = sio
        self.gather_secs = gather_secs
        # staff room -> consultation id -> its newest item, in the order the rooms first moved.
        self._gathered: dict[str, dict[str, Any]] = {}
        # staff room -> when it last heard room:activity (loop time), for those that heard it lately.
        self._sent_at: dict[str, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        if event == ev.ROOM_ACTIVITY and self.gather_secs > 0 and namespace == "/" and isinstance(data, dict):
            loop = asyncio.get_running_loop()
            now = loop.time()
            if room not in self._gathered and now - self._sent_at.get(room, -math.inf) >= self.gather_secs:
                self._mark_sent(room, now)
                await self._send(event, data, room, namespace)
                return
            gathered = self._gathered.setdefault(room, {})
            for item in data.get("items", ()):
                gathered[item["consultation_id"]] = item
            if self._timer is None:
                self._timer = loop.call_later(self.gather_secs, self._send_all_soon)
            return
        if room in self._gathered:
            await self._send_gathered(room)
        await self._send(event, data, room, namespace)

    async def flush(self) -> None:
        """Send everything gathered now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for room in list(self._gathered):
            await self._send_gathered(room)

    def _send_all_soon(self) -> None:
        self._timer = None
        task = asyncio.create_task(self.flush(), name="room-activity")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_gathered(self, room: str) -> None:
        items = list(self._gathered.pop(room, {}).values())
        if items:
            self._mark_sent(room, asyncio.get_running_loop().time())
            await self._send(ev.ROOM_ACTIVITY, {"items": items}, room, "/")

    def _mark_sent(self, room: str, now: float) -> None:
        self._sent_at[room] = now
        if len(self._sent_at) > SENT_AT_PRUNE_AT:
            self._sent_at = {r: t for r, t in self._sent_at.items() if now - t < self.gather_secs}

    async def _send(self, event: str, data: Any, room: str, namespace: str) -> None:
        try:
            await self.sio.emit(event, data, room=room, namespace=namespace)
        except Exception:  # noqa: BLE001 - an emit failure must not undo a stored change
            log.exception("emit %s failed", event)


class RedisOnlyEvents:
    """For scheduler/notifier processes: publish events for the web processes to deliver."""

    def __init__(self, redis_url: str) -> None:
        self.manager = ResilientRedisManager(redis_url, write_only=True)

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        try:
            await self.manager.emit(event, data, room=room, namespace=namespace)
        except Exception:  # noqa: BLE001 - an emit failure must not undo a stored change
            log.exception("emit %s through redis failed", event)

    async def close(self) -> None:
        await self.manager.close()


def make_event_sink(app: web.Application, services: Services) -> EventSink:
    """The sink for this process: its Socket.IO server, else Redis (scheduler, notifier), else nothing."""
    sio = app.get(SIO)
    if sio is not None:
        return SioEvents(sio)
    if services.settings.redis_url:
        return RedisOnlyEvents(services.settings.redis_url)
    if services.settings.role != "all":
        log.warning("role %s without REDIS_URL: its events reach no socket", services.settings.role)
    return NullEvents()


def _consultation_namespace(app: web.Application) -> Any:
    sio = app.get(SIO)
    return None if sio is None else sio.namespace_handlers.get("/")


def start_session_sweep(app: web.Application) -> None:
    """Start the consultation namespace's sweep of sockets whose login session ended (web processes)."""
    namespace = _consultation_namespace(app)
    if namespace is not None and hasattr(namespace, "start_session_sweep"):
        namespace.start_session_sweep()


async def shutdown(app: web.Application, services: Services | None = None) -> None:
    """Stop the session sweep and close this process's Socket.IO server (its connections), or its
    write-only Redis sink, on app shutdown."""
    sio = app.get(SIO)
    if sio is None:
        events = services.events if services is not None else None
        if isinstance(events, RedisOnlyEvents):
            await events.close()
        return
    namespace = _consultation_namespace(app)
    if namespace is not None and hasattr(namespace, "stop_session_sweep"):
        await namespace.stop_session_sweep()
    try:
        await sio.shutdown()
    except Exception:  # noqa: BLE001
        log.debug("socket.io shutdown raised", exc_info=True)
    manager = sio.manager
    if isinstance(manager, ResilientRedisManager):
        await manager.close()
