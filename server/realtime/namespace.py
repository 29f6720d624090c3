"""The Socket.IO namespace: authenticate on connect, then every event parses its payload and calls one action.

Rules (who may write a note, which kinds exist, whether a consultation is open) live in the domain
actions; a handler here only parses with the models shared with HTTP (server.domain.inputs), calls
the action and shapes the ack. A DomainError becomes an error ack and the connection stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import socketio

from server.domain import access, accounts, inputs
from server.domain import events as ev
from server.domain import messages as msgs
from server.domain.errors import DomainError, Forbidden, RateLimited
from server.domain.models import MessageOut, is_staff, public_message
from server.domain.rooms import consultation_room, consultation_staff_room, office_staff_room, user_room
from server.http.auth import COOKIE_NAME
from server.services import Services
from server.storage.db import is_unavailable, request_deadline, unavailable_error

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 10
JOIN_HISTORY_MAX = 10_000
# What a connection keeps of its user for the handlers (the session lives in the Socket.IO server).
SESSION_USER_FIELDS = ("_id", "name", "role", "office", "email", "email_verified_at", "lang")

Handler = Callable[[str, Any], Awaitable[ev.Ack]]


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


def error_ack(code: str, message: str) -> ev.ErrorAck:
    return {"ok": False, "error": {"code": code, "message": message}}


def cookie_token(environ: dict[str, Any]) -> str | None:
    """The session token from the page's cookie, when the client sent no token in `auth`."""
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


# python-socketio ships no type information, so its AsyncNamespace is Any to mypy.
class ConsultationNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Consultation rooms over Socket.IO: join, leave, send, read, typing."""

    def __init__(self, services: Callable[[], Services], namespace: str = "/") -> None:
        super().__init__(namespace)
        # A getter: the app's Services are built in a cleanup context, after the server is attached.
        self._services = services
        self._buckets: dict[str, _Bucket] = {}
        # Event name -> handler. python-socketio would look up "on_" + name, which cannot work for
        # names with ':'; this table is the one place names meet methods. Payload models: ev.RECEIVED.
        self.handlers: dict[str, Handler] = {
            ev.CONSULTATION_JOIN: self.on_consultation_join,
            ev.CONSULTATION_LEAVE: self.on_consultation_leave,
            ev.MESSAGE_SEND: self.on_message_send,
            ev.MESSAGE_READ: self.on_message_read,
            ev.TYPING: self.on_typing,
        }

    # --- dispatch ---------------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route an event through the table; python-socketio calls this for every event of the namespace."""
        if event == "connect":
            return await self.on_connect(*args)
        if event == "disconnect":
            return await self.on_disconnect(*args)
        handler = self.handlers.get(event)
        if handler is None:
            return self.server.not_handled  # no ack, as for an event nobody listens to
        sid: str = args[0]
        return await self.dispatch(event, handler, sid, args[1] if len(args) > 1 else None)

    async def dispatch(self, event: str, handler: Handler, sid: str, data: Any) -> ev.Ack:
        """Parse the payload with its model, run the handler; every failure is an error ack."""
        try:
            # The same deadline as an HTTP request: a frozen database is an error ack, not a hang.
            with request_deadline(self._services().settings.pst_db_timeout_secs):
                return await handler(sid, inputs.parse(ev.RECEIVED[event], data))
        except DomainError as exc:
            return error_ack(exc.code, exc.message)
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable on socket event %s: %r", event, exc)
                down = unavailable_error()
                return error_ack(down.code, down.message)
            log.exception("socket event %s failed", event)
            return error_ack("internal_error", "internal error")

    # --- connection -------------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Authenticate by the `auth` token or the session cookie, then enter the user's standing rooms."""
        token = auth.get("token") if isinstance(auth, dict) and isinstance(auth.get("token"), str) else None
        user = await accounts.authenticate(self._services(), token or cookie_token(environ))
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError(
                "unauthenticated", {"code": "unauthenticated", "message": "sign in first / silakan masuk"}
            )
        await self.save_session(sid, {"user": {k: user.get(k) for k in SESSION_USER_FIELDS}})
        await self.enter_room(sid, user_room(str(user["_id"])))
        staff = is_staff(user)
        if staff and user.get("office"):
            await self.enter_room(sid, office_staff_room(user["office"]))
        self._services().presence.add(str(user["_id"]), sid, user.get("office"), staff)
        self._buckets[sid] = _Bucket()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._buckets.pop(sid, None)
        try:
            session = await self.get_session(sid)
        except KeyError:
            return
        user = session.get("user")
        if user:
            self._services().presence.remove(str(user["_id"]), sid)

    # --- events -----------------------------------------------------------------------------------

    async def on_consultation_join(self, sid: str, p: inputs.JoinIn) -> ev.JoinAck:
        """Enter the consultation's rooms; the ack carries it and every message after `after_seq`."""
        user = await self._user(sid)
        svc = self._services()
        c = await access.load_for(svc, user, p.consultation_id)
        cid = str(c["_id"])
        await self.enter_room(sid, consultation_room(cid))
        if is_staff(user):
            await self.enter_room(sid, consultation_staff_room(cid))
        messages: list[MessageOut] = []
        cursor_seq = p.after_seq or 0
        while len(messages) < JOIN_HISTORY_MAX:
            _, page = await msgs.history(svc, user, c, after_seq=cursor_seq, limit=msgs.HISTORY_PAGE_MAX)
            messages.extend(public_message(m) for m in page)
            if len(page) < msgs.HISTORY_PAGE_MAX:
                break
            cursor_seq = int(page[-1]["seq"])
        return {"ok": True, "consultation": ev.consultation_view(c, user), "messages": messages}

    async def on_consultation_leave(self, sid: str, p: inputs.ConsultationRef) -> ev.OkAck:
        await self.leave_room(sid, consultation_room(p.consultation_id))
        await self.leave_room(sid, consultation_staff_room(p.consultation_id))
        return {"ok": True}

    async def on_message_send(self, sid: str, p: inputs.SendMessageIn) -> ev.SendAck:
        """post_message, at most MESSAGES_PER_SECOND per connection; the ack carries the stored message."""
        user = await self._user(sid)
        bucket = self._buckets.get(sid)
        if bucket is not None and not bucket.take():
            raise RateLimited("rate_limited", f"at most {MESSAGES_PER_SECOND} messages a second")
        msg, _ = await msgs.post_message(
            self._services(), user, p.consultation_id, text=p.text, kind=p.kind, client_id=p.client_id
        )
        return {"ok": True, "message": public_message(msg)}

    async def on_typing(self, sid: str, p: inputs.TypingIn) -> ev.OkAck:
        """Relay to the others in a room this connection has joined (not stored, not echoed)."""
        user = await self._user(sid)
        room = consultation_room(p.consultation_id)
        if room not in self.rooms(sid):
            raise Forbidden("forbidden", "join the consultation first")
        await self.emit(ev.TYPING, ev.typing_relay(p.consultation_id, user, p.typing), room=room, skip_sid=sid)
        return {"ok": True}

    async def on_message_read(self, sid: str, p: inputs.ReadMessageIn) -> ev.ReadAck:
        """Move the read pointer (mark_read tells the room); the ack carries where it now is."""
        user = await self._user(sid)
        c = await msgs.mark_read(self._services(), user, p.consultation_id, p.seq)
        return {"ok": True, "seq": int((c.get("reads") or {}).get(str(user["_id"]), 0))}

    # --- helpers ----------------------------------------------------------------------------------

    async def _user(self, sid: str) -> dict[str, Any]:
        session = await self.get_session(sid)
        user: dict[str, Any] = session["user"]
        return user
