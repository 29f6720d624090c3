"""The queue boards' Socket.IO namespace, /board: no login, read-only.

A client sends `board:watch {office}` and gets the board in the ack (as `GET /offices/{code}/queue`);
from then on it receives `queue:board` after every change of that office's queue. One office per
connection: watching another leaves the first. The board carries ticket numbers and desks only,
never a visitor's name, so anyone in the waiting room (or on the street) may watch it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from server.domain import events as ev
from server.domain import inputs
from server.domain import walkin_board as wb
from server.domain.errors import DomainError
from server.realtime.namespace import error_ack
from server.services import Services

log = logging.getLogger(__name__)

Handler = Callable[[str, Any], Awaitable[ev.Ack]]


# python-socketio ships no type information, so its AsyncNamespace is Any to mypy.
class BoardNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The /board namespace: watch one office's queue board."""

    def __init__(self, services: Callable[[], Services], namespace: str = wb.BOARD_NAMESPACE) -> None:
        super().__init__(namespace)
        self._services = services
        self.handlers: dict[str, Handler] = {ev.BOARD_WATCH: self.on_board_watch}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route an event through the table (names with ':' cannot be `on_` methods)."""
        if event == "connect":
            return None  # anyone may watch a board
        if event == "disconnect":
            return None
        handler = self.handlers.get(event)
        if handler is None:
            return self.server.not_handled
        sid: str = args[0]
        data = args[1] if len(args) > 1 else None
        try:
            return await handler(sid, inputs.parse(ev.RECEIVED[event], data))
        except DomainError as exc:
            return error_ack(exc.code, exc.message)
        except Exception:
            log.exception("board event %s failed", event)
            return error_ack("internal_error", "internal error")

    async def on_board_watch(self, sid: str, p: inputs.BoardWatchIn) -> ev.BoardAck:
        """Follow one office's board: its current state in the ack, `queue:board` after every change."""
        board = await wb.board(self._services(), p.office)  # 404 office_not_found for an unknown office
        room = wb.board_room(p.office)
        for other in self.rooms(sid):
            if other.startswith("board:") and other != room:
                await self.leave_room(sid, other)
        await self.enter_room(sid, room)
        return {"ok": True, "board": ev.board_view(board)}
