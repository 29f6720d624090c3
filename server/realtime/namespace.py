"""The Socket.IO namespace: authenticate on connect, then every event parses its payload and calls one action.

Rules (who may write a note, which kinds exist, whether a consultation is open) live in the domain
actions; a handler here only parses with the models shared with HTTP (server.domain.inputs), calls
the action and shapes the ack. A DomainError becomes an error ack and the connection stays.

A connection lives only as long as its login session, and stays in a consultation's rooms only while
its person may see it. Both are enforced where the socket lives, in every web process:
- the manager (server.realtime.sio) calls `after_delivery` once an event reached this process's
  sockets of a room: `session:ended` (to `session:<id>` at logout, to `user:<id>` when every session
  of a person ends) disconnects them; `consultation:updated` to `c:<id>:staff` (emitted after every
  change of office or assignment) takes out of `c:<id>` and `c:<id>:staff` the sockets whose person
  may no longer see it (access.can_view on the state the event carries);
- every event first checks that the session still holds, so a socket whose disconnect was missed
  cannot act: against the session's expiry it was opened with (no read), and in the database when
  neither the sweep nor an event has found it holding for SESSION_RECHECK_SECS (one indexed read, grouped
  with the other events'). The ends this process hears of disconnect at once; `end_dead_sessions` (every
  SESSION_SWEEP, one query a chunk of sessions) ends the sockets of a missed end (a process that could not
  reach this one), silent or not, and what it finds holding counts as checked, so an event reads the
  session itself only while the sweep is not running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import socketio
from bson import ObjectId
from bson.errors import InvalidId

from server.domain import access, accounts, inputs
from server.domain import events as ev
from server.domain import messages as msgs
from server.domain.errors import DomainError, Forbidden, RateLimited, server_busy
from server.domain.models import MessageOut, is_staff, public_message
from server.domain.rooms import (
    consultation_room,
    consultation_staff_room,
    office_staff_room,
    session_room,
    user_room,
)
from server.http.auth import COOKIE_NAME
from server.realtime.loop_lag import LoopLag
from server.services import Services
from server.storage.db import refusal, request_deadline

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 10
# Past this lateness of the event loop (server.realtime.loop_lag) new messages are refused `busy`
# (Settings.pst_busy_loop_late_secs, read when the namespace starts; this until then).
BUSY_LOOP_LATE_SECS = 0.1
JOIN_HISTORY_MAX = 10_000
# What a connection keeps of its user for the handlers (the session lives in the Socket.IO server).
SESSION_USER_FIELDS = ("_id", "name", "role", "office", "email", "email_verified_at", "lang")
# How often this process checks that the login sessions of its sockets still hold.
SESSION_SWEEP = timedelta(seconds=30)
# How long an active socket acts on its session's last check (an event's read, or the sweep finding it
# holding) before reading it again: two sweeps, so while the sweep runs an event never reads (at 10,000
# clients each speaking every 100 s the read was one database call a message; bench/chat_latency.py).
SESSION_RECHECK_SECS = 2 * SESSION_SWEEP.total_seconds()
# Sessions looked up in one query by the sweep.
SWEEP_CHUNK = 500

Handler = Callable[[str, Any], Awaitable[ev.Ack]]


class _Bucket:
    """A token bucket: MESSAGES_PER_SECOND sustained, the same as a burst; real time, never the test clock."""

    __slots__ = ("tokens", "at")
    # Where the bucket reads real time (a test may stand it still).
    clock: Callable[[], float] = time.monotonic

    def __init__(self) -> None:
        self.tokens = float(MESSAGES_PER_SECOND)
        self.at = _Bucket.clock()

    def take(self) -> bool:
        now = _Bucket.clock()
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

    # Where the session re-check reads real time (a test may move it on).
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, services: Callable[[], Services], namespace: str = "/") -> None:
        super().__init__(namespace)
        # A getter: the app's Services are built in a cleanup context, after the server is attached.
        self._services = services
        self._buckets: dict[str, _Bucket] = {}
        # sid -> (real time of the last check that found its session holding, the session's expiry)
        self._checked: dict[str, tuple[float, datetime]] = {}
        self._sweep: asyncio.Task[None] | None = None
        # How late this process's event loop runs (started and stopped with the session sweep).
        self.loop_lag = LoopLag()
        self.busy_loop_late_secs = BUSY_LOOP_LATE_SECS
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
        """Check the session, parse the payload with its model, run the handler; every failure is an error ack."""
        try:
            # The same deadline as an HTTP request: a frozen database is an error ack, not a hang.
            with request_deadline(self._services().settings.pst_db_timeout_secs):
                if not await self._session_holds(sid):
                    await self.end_socket(sid, "expired")
                    return error_ack("unauthenticated", "your session has ended; sign in again / sesi Anda berakhir")
                return await handler(sid, inputs.parse(ev.RECEIVED[event], data))
        except DomainError as exc:
            return error_ack(exc.code, exc.message)
        except Exception as exc:
            refused = refusal(exc)
            if refused is not None:
                if refused.code != "busy":  # busy refusals come by the hundred past saturation: counted, not logged
                    log.warning("database unavailable on socket event %s: %r", event, exc)
                return error_ack(refused.code, refused.message)
            log.exception("socket event %s failed", event)
            return error_ack("internal_error", "internal error")

    # --- connection -------------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Authenticate by the `auth` token or the session cookie, then enter the user's standing rooms."""
        token = auth.get("token") if isinstance(auth, dict) and isinstance(auth.get("token"), str) else None
        found = await accounts.authenticate_session(self._services(), token or cookie_token(environ))
        if found is None:
            raise socketio.exceptions.ConnectionRefusedError(
                "unauthenticated", {"code": "unauthenticated", "message": "sign in first / silakan masuk"}
            )
        user, login = found
        await self.save_session(
            sid, {"user": {k: user.get(k) for k in SESSION_USER_FIELDS}, "session_id": login["_id"]}
        )
        self._checked[sid] = (self.clock(), login["expires_at"])
        await self.enter_room(sid, session_room(str(login["_id"])))
        await self.enter_room(sid, user_room(str(user["_id"])))
        staff = is_staff(user)
        if staff and user.get("office"):
            await self.enter_room(sid, office_staff_room(user["office"]))
        self._services().presence.add(str(user["_id"]), sid, user.get("office"), staff)
        self._buckets[sid] = _Bucket()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._buckets.pop(sid, None)
        self._checked.pop(sid, None)
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
        # The kept copy (read-only here): the messages that follow the join then read nothing.
        c = await access.load_for(svc, user, await access.load_kept(svc, p.consultation_id))
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
        if self.busy_loop_late_secs and self.loop_lag.late > self.busy_loop_late_secs:
            # The CPU is the limit: taking more only makes every message wait longer (loop_lag).
            raise server_busy()
        msg, _ = await msgs.post_message(
            self._services(),
            user,
            p.consultation_id,
            text=p.text,
            kind=p.kind,
            client_id=p.client_id,
            answer=p.answer,
        )
        return {"ok": True, "message": public_message(msg)}

    async def on_typing(self, sid: str, p: inputs.TypingIn) -> ev.OkAck:
        """Relay to the others in a room this connection has joined and may still see (not stored, not echoed)."""
        user = await self._user(sid)
        room = consultation_room(p.consultation_id)
        if room not in self.rooms(sid):
            raise Forbidden("forbidden", "join the consultation first")
        # Membership alone is not enough: the room may have moved to another office since the join.
        await access.load_for(self._services(), user, p.consultation_id)
        await self.emit(ev.TYPING, ev.typing_relay(p.consultation_id, user, p.typing), room=room, skip_sid=sid)
        return {"ok": True}

    async def on_message_read(self, sid: str, p: inputs.ReadMessageIn) -> ev.ReadAck:
        """Move the read pointer (mark_read tells the room); the ack carries where it now is."""
        user = await self._user(sid)
        c = await msgs.mark_read(self._services(), user, p.consultation_id, p.seq)
        return {"ok": True, "seq": int((c.get("reads") or {}).get(str(user["_id"]), 0))}

    # --- who may stay: sessions and rooms ----------------------------------------------------------

    async def after_delivery(self, event: str, data: Any, room: str | None) -> None:
        """Called by the manager once `event` reached this process's sockets of `room` (see the module doc)."""
        if room is None:
            return
        if event == ev.SESSION_ENDED:
            for sid in self._local_sids(room):
                await self.server.disconnect(sid, namespace=self.namespace, ignore_queue=True)
        elif event == ev.CONSULTATION_UPDATED and isinstance(data, dict):
            cid = str(data.get("id"))
            if room == consultation_staff_room(cid):
                await self._drop_those_who_may_not_see(cid, data)

    async def end_socket(self, sid: str, reason: ev.SessionEndReason) -> None:
        """session:ended to one socket; its delivery disconnects it (after_delivery)."""
        payload: ev.SessionEnded = {"reason": reason}
        await self.emit(ev.SESSION_ENDED, payload, to=sid)

    async def end_dead_sessions(self) -> int:
        """End this process's sockets whose login session no longer holds; how many were ended."""
        by_session: dict[ObjectId, list[str]] = defaultdict(list)
        for sid in self._local_sids(None):  # room None: every connection of the namespace
            try:
                session_id = (await self.get_session(sid)).get("session_id")
            except KeyError:
                continue
            if session_id is not None:
                by_session[session_id].append(sid)
        ids = list(by_session)
        alive: set[ObjectId] = set()
        asked_at = self.clock()
        for i in range(0, len(ids), SWEEP_CHUNK):
            alive |= await accounts.live_sessions(self._services(), ids[i : i + SWEEP_CHUNK])
        ended = 0
        for session_id, sids in by_session.items():
            if session_id in alive:
                for sid in sids:  # found holding: the events of these sockets need not read it again
                    checked = self._checked.get(sid)
                    if checked is not None and checked[0] < asked_at:
                        self._checked[sid] = (asked_at, checked[1])
                continue
            for sid in sids:
                await self.end_socket(sid, "expired")
                ended += 1
        return ended

    def start_session_sweep(self) -> None:
        """Run end_dead_sessions every SESSION_SWEEP until stop_session_sweep."""
        if self._sweep is None:
            self._sweep = asyncio.create_task(self._sweep_loop(), name="socket-session-sweep")
        self.busy_loop_late_secs = self._services().settings.pst_busy_loop_late_secs
        if self.busy_loop_late_secs:
            self.loop_lag.start()

    async def stop_session_sweep(self) -> None:
        await self.loop_lag.stop()
        task, self._sweep = self._sweep, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SESSION_SWEEP.total_seconds())
            try:
                with request_deadline(self._services().settings.pst_db_timeout_secs):
                    ended = await self.end_dead_sessions()
                if ended:
                    log.info("ended %s socket(s) whose session had ended", ended)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("socket session sweep failed: %r", exc)

    async def _session_holds(self, sid: str) -> bool:
        """The login session this socket was opened with has not ended: by its expiry, and by a read by _id
        when the last one is over SESSION_RECHECK_SECS old (see the module's docstring)."""
        svc = self._services()
        checked = self._checked.get(sid)
        if checked is not None and self.clock() - checked[0] < SESSION_RECHECK_SECS and checked[1] > svc.now():
            return True
        session_id = (await self.get_session(sid)).get("session_id")
        if session_id is None:
            return False
        expires_at = await accounts.session_expiry(svc, session_id)
        if expires_at is None:
            self._checked.pop(sid, None)
            return False
        self._checked[sid] = (self.clock(), expires_at)
        return True

    async def _drop_those_who_may_not_see(self, cid: str, view: dict[str, Any]) -> None:
        """Take this process's sockets out of the consultation's rooms when their person may no longer see it,
        judged by access.can_view on the consultation as `view` (consultation:updated) describes it."""
        assigned = view.get("assigned_to") or {}
        c = {
            "user_id": _oid((view.get("user") or {}).get("id")),
            "office": view.get("office"),
            "assigned_to": _oid(assigned.get("id")),
        }
        rooms = (consultation_room(cid), consultation_staff_room(cid))
        for sid in set(self._local_sids(rooms[0])) | set(self._local_sids(rooms[1])):
            try:
                user = (await self.get_session(sid)).get("user")
            except KeyError:
                continue
            if user is None or access.can_view(user, c):
                continue
            for room in rooms:
                await self.leave_room(sid, room)
            log.info("socket %s left consultation %s: no longer allowed to see it", sid, cid)

    def _local_sids(self, room: str | None) -> list[str]:
        """This process's sockets of the namespace in `room` (a copy: the caller may change the rooms)."""
        participants: Iterable[tuple[str, str]] = self.server.manager.get_participants(self.namespace, room)
        return [sid for sid, _ in participants]

    # --- helpers ----------------------------------------------------------------------------------

    async def _user(self, sid: str) -> dict[str, Any]:
        session = await self.get_session(sid)
        user: dict[str, Any] = session["user"]
        return user


def _oid(value: Any) -> ObjectId | None:
    try:
        return ObjectId(value) if value else None
    except (InvalidId, TypeError):
        return None
