"""The Socket.IO namespace: authenticate on connect, then every event calls a domain action."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp

from server.domain import accounts
from server.domain import consultations as cons
from server.domain.errors import DomainError, Forbidden, ValidationFailed
from server.domain.models import MessageOut, is_staff, public_consultation, public_message
from server.domain.rooms import consultation_room, consultation_staff_room, office_staff_room, user_room
from server.http.auth import COOKIE_NAME
from server.keys import SERVICES
from server.realtime.events import Presence
from server.services import Services
from server.settings import Settings

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 10
JOIN_HISTORY_MAX = 10_000


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


class _Bucket:
    """A token bucket: MESSAGES_PER_SECOND sustained, the same as a burst."""

    __slots__ = ("tokens", "at")

    def __init__(self) -> None:
        self.tokens = float(MESSAGES_PER_SECOND)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(MESSAGES_PER_SECOND), self.tokens + (now - self.at) * MESSAGES_PER_SECOND)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def _cookie_token(environ: dict[str, Any]) -> str | None:
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel else None


def attach(app: web.Application, settings: Settings) -> socketio.AsyncServer:
    """Create the Socket.IO server on `app` (path /socket.io) with Redis fan-out when REDIS_URL is set."""
    manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
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
    buckets: dict[str, _Bucket] = {}

    def services() -> Services:
        return app[SERVICES]

    async def user_of(sid: str) -> dict[str, Any]:
        session = await sio.get_session(sid)
        user: dict[str, Any] = session["user"]
        return user

    Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]

    def event(name: str) -> Callable[[Handler], Handler]:
        """Register a handler whose DomainErrors become error acks; the connection is kept."""

        def deco(fn: Handler) -> Handler:
            async def wrapper(sid: str, data: Any = None) -> dict[str, Any]:
                try:
                    if not isinstance(data, dict):
                        raise ValidationFailed("invalid_payload", "the payload must be an object")
                    return await fn(sid, data)
                except DomainError as exc:
                    return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
                except Exception:
                    log.exception("socket event %s failed", name)
                    return _error("internal_error", "internal error")

            sio.on(name, wrapper)
            return fn

        return deco

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            token = auth["token"]
        token = token or _cookie_token(environ)
        user = await accounts.authenticate(services(), token)
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError(
                "unauthenticated", {"code": "unauthenticated", "message": "sign in first / silakan masuk"}
            )
        slim = {k: user.get(k) for k in ("_id", "name", "role", "office", "email", "email_verified_at", "lang")}
        await sio.save_session(sid, {"user": slim})
        await sio.enter_room(sid, user_room(str(user["_id"])))
        staff = is_staff(user)
        if staff and user.get("office"):
            await sio.enter_room(sid, office_staff_room(user["office"]))
        presence: Presence | None = services().extras.get("presence")
        if presence is not None:
            presence.add(str(user["_id"]), sid, user.get("office"), staff)
        buckets[sid] = _Bucket()

    # sio.on(name, fn) is what @sio.event does; called directly so mypy keeps these functions typed.
    sio.on("connect", connect)

    async def disconnect(sid: str, reason: Any = None) -> None:
        buckets.pop(sid, None)
        try:
            session = await sio.get_session(sid)
        except KeyError:
            return
        user = session.get("user")
        presence: Presence | None = services().extras.get("presence")
        if user and presence is not None:
            presence.remove(str(user["_id"]), sid)

    sio.on("disconnect", disconnect)

    @event("consultation:join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        user = await user_of(sid)
        after = data.get("after_seq", 0) or 0
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValidationFailed("invalid_after_seq", "after_seq must be a non-negative integer")
        c = await cons.load_for(services(), user, data.get("consultation_id"))
        cid = str(c["_id"])
        await sio.enter_room(sid, consultation_room(cid))
        if is_staff(user):
            await sio.enter_room(sid, consultation_staff_room(cid))
        messages: list[MessageOut] = []
        cursor_seq = after
        while len(messages) < JOIN_HISTORY_MAX:
            _, page = await cons.history(services(), user, c, after_seq=cursor_seq, limit=cons.HISTORY_PAGE_MAX)
            messages.extend(public_message(m) for m in page)
            if len(page) < cons.HISTORY_PAGE_MAX:
                break
            cursor_seq = int(page[-1]["seq"])
        return {"ok": True, "consultation": public_consultation(c, user), "messages": messages}

    @event("consultation:leave")
    async def leave(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        cid = str(data.get("consultation_id", ""))
        await sio.leave_room(sid, consultation_room(cid))
        await sio.leave_room(sid, consultation_staff_room(cid))
        return {"ok": True}

    @event("message:send")
    async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        user = await user_of(sid)
        bucket = buckets.get(sid)
        if bucket is not None and not bucket.take():
            return _error("rate_limited", f"at most {MESSAGES_PER_SECOND} messages a second")
        kind = data.get("kind") or "text"
        if kind not in ("text", "note"):
            raise ValidationFailed("invalid_kind", "kind must be text or note")
        if kind == "note" and not is_staff(user):
            raise Forbidden("forbidden", "only staff can write internal notes")
        client_id = data.get("client_id")
        if client_id is not None and not isinstance(client_id, str):
            raise ValidationFailed("invalid_client_id", "client_id must be a string")
        msg, _ = await cons.post_message(
            services(),
            user,
            data.get("consultation_id"),
            # Untrusted payload, may be missing or not a string: post_message's clean_text rejects that.
            text=data.get("text"),  # type: ignore[arg-type]
            kind=kind,
            client_id=client_id,
        )
        return {"ok": True, "message": public_message(msg)}

    @event("typing")
    async def typing(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        user = await user_of(sid)
        cid = str(data.get("consultation_id", ""))
        if consultation_room(cid) not in sio.rooms(sid):
            raise Forbidden("forbidden", "join the consultation first")
        payload = {
            "consultation_id": cid,
            "user": {"id": str(user["_id"]), "name": user["name"]},
            "typing": bool(data.get("typing")),
        }
        await sio.emit("typing", payload, room=consultation_room(cid), skip_sid=sid)
        return {"ok": True}

    @event("message:read")
    async def read(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        user = await user_of(sid)
        c = await cons.mark_read(services(), user, data.get("consultation_id"), data.get("seq"))
        return {"ok": True, "seq": int((c.get("reads") or {}).get(str(user["_id"]), 0))}

    return sio
