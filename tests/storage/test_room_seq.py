"""server.storage.room_seq.LocalRoomSeqState: per-room locks and seq hints, bounded by least recent use."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.ports import NoPresence, RoomSeqState
from server.services import Services
from server.settings import Settings
from server.storage.room_seq import LocalRoomSeqState


def test_it_remembers_the_last_seq_per_room() -> None:
    rooms = LocalRoomSeqState(max_rooms=10)
    assert rooms.last_seq("a") is None
    rooms.remember_seq("a", 3)
    rooms.remember_seq("b", 7)
    assert (rooms.last_seq("a"), rooms.last_seq("b")) == (3, 7)
    assert rooms.lock("a") is rooms.lock("a") and rooms.lock("a") is not rooms.lock("b")


def test_it_forgets_the_least_recently_used_room_past_its_bound() -> None:
    rooms = LocalRoomSeqState(max_rooms=3)
    for room in ("a", "b", "c"):
        rooms.remember_seq(room, 1)
    rooms.lock("a")  # "a" used again: "b" is now the oldest
    rooms.remember_seq("d", 1)
    assert len(rooms) == 3
    assert rooms.last_seq("b") is None and rooms.last_seq("a") == 1 and rooms.last_seq("d") == 1
    for i in range(1000):
        rooms.remember_seq(f"r{i}", i)
    assert len(rooms) == 3


async def test_a_room_whose_lock_is_held_is_never_forgotten() -> None:
    rooms = LocalRoomSeqState(max_rooms=2)
    held = rooms.lock("busy")
    async with held:
        rooms.remember_seq("busy", 41)
        for i in range(10):
            rooms.remember_seq(f"r{i}", i)
        assert rooms.lock("busy") is held and rooms.last_seq("busy") == 41
        assert len(rooms) == 2


async def test_the_lock_serialises_sends_to_one_room() -> None:
    rooms = LocalRoomSeqState()
    order: list[str] = []

    async def send(name: str) -> None:
        async with rooms.lock("c1"):
            order.append(f"{name}+")
            await asyncio.sleep(0.01)
            order.append(f"{name}-")

    await asyncio.gather(send("x"), send("y"))
    assert order in (["x+", "x-", "y+", "y-"], ["y+", "y-", "x+", "x-"])


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        LocalRoomSeqState(max_rooms=0)


def test_services_carry_bounded_room_state_and_no_presence_by_default(settings: Settings, db: object) -> None:
    from server.domain.clock import TestClock

    svc = Services(settings=settings, db=db, clock=TestClock())  # type: ignore[arg-type]
    rooms: RoomSeqState = svc.rooms
    assert isinstance(rooms, LocalRoomSeqState) and rooms.max_rooms > 0
    assert (
        isinstance(svc.presence, NoPresence)
        and not svc.presence.is_online("u")
        and svc.presence.online_staff("7406") == []
    )
    assert svc.kb_index is None and svc.outbox_worker is None
    assert not hasattr(svc, "extras")
