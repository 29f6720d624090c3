"""Per-room seq hints of one process (server.domain.ports.RoomSeqState), bounded by least recent use."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

# Rooms remembered at most; past it the least recently used idle room is forgotten (costing one read).
ROOM_STATE_MAX = 20_000


class _Room:
    __slots__ = ("lock", "last_seq")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.last_seq: int | None = None


class LocalRoomSeqState:
    """A lock and the last stored seq per consultation, for this process; at most `max_rooms` rooms.

    A room whose lock is held is never forgotten; if every remembered room is busy the map grows past
    the bound until they finish. (A room forgotten just as its lock passes to a waiter may get a second
    lock: its sends then race like those of two processes, and the unique index still numbers them.)
    """

    def __init__(self, max_rooms: int = ROOM_STATE_MAX) -> None:
        if max_rooms < 1:
            raise ValueError("max_rooms must be at least 1")
        self.max_rooms = max_rooms
        self._rooms: OrderedDict[str, _Room] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rooms)

    def _room(self, room: str) -> _Room:
        state = self._rooms.get(room)
        if state is None:
            self._trim(self.max_rooms - 1)
            state = self._rooms[room] = _Room()
        else:
            self._rooms.move_to_end(room)
        return state

    def _trim(self, keep: int) -> None:
        excess = len(self._rooms) - keep
        if excess <= 0:
            return
        idle = [k for k, r in self._rooms.items() if not r.lock.locked()][:excess]
        for key in idle:
            del self._rooms[key]

    def lock(self, room: str) -> asyncio.Lock:
        """The lock of `room`'s sends in this process."""
        return self._room(room).lock

    def last_seq(self, room: str) -> int | None:
        """The last seq this process stored in `room`, or None when it does not remember."""
        state = self._rooms.get(room)
        return None if state is None else state.last_seq

    def remember_seq(self, room: str, seq: int) -> None:
        """Note that `seq` is stored in `room` (kept only while the room is remembered)."""
        self._room(room).last_seq = seq
