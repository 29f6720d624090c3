"""Presence shared through a real Redis: seen across processes, a killed process forgotten, Redis down survived."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from server.realtime import redis_presence
from server.realtime.redis_presence import RedisPresence
from server.storage.redis_link import RedisLink
from tests.realtime.redis_server import RedisServer, running_redis

OFFICER, USER = "a" * 24, "b" * 24


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    yield from running_redis()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seconds instead of the production heartbeat and expiry, so a killed process goes within the test."""
    monkeypatch.setattr(redis_presence, "HEARTBEAT_SECS", 0.2)
    monkeypatch.setattr(redis_presence, "PROCESS_TTL_SECS", 1)


@pytest.fixture
async def processes(redis_server: RedisServer) -> AsyncIterator[Callable[[str], Awaitable[RedisPresence]]]:
    """Presence registries of separate processes (each with its own link, as `pst serve` builds them)."""
    built: list[RedisPresence] = []

    async def make(name: str) -> RedisPresence:
        link = RedisLink(redis_server.url, process_id=name)
        await link.start()
        presence = RedisPresence(link, info={"port": len(built)})
        await presence.start()
        built.append(presence)
        return presence

    yield make
    for presence in built:
        await presence.close()
        await presence.link.close()


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.02)


async def test_a_connection_in_one_process_is_seen_by_the_others_at_once(
    processes: Callable[[str], Awaitable[RedisPresence]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No heartbeat rereads within this test (only the one at start): what is seen came as a message.
    monkeypatch.setattr(redis_presence, "HEARTBEAT_SECS", 60)
    monkeypatch.setattr(redis_presence, "PROCESS_TTL_SECS", 120)
    a, b = await processes("web-a"), await processes("web-b")
    a.add(OFFICER, "sid-1", "7406", staff=True)
    b.add(USER, "sid-2", None, staff=False)
    await eventually(lambda: b.is_online(OFFICER) and a.is_online(USER), within=3)
    assert b.online_staff("7406") == [OFFICER] and a.online_staff("7406") == [OFFICER]
    assert b.online_staff("1808") == [] and not b.is_online("c" * 24)
    # Two sockets of one officer: online until the last one goes.
    a.add(OFFICER, "sid-3", "7406", staff=True)
    a.remove(OFFICER, "sid-1")
    await asyncio.sleep(0.1)
    assert b.is_online(OFFICER)
    a.remove(OFFICER, "sid-3")
    await eventually(lambda: not b.is_online(OFFICER))
    assert b.online_staff("7406") == []
    # A process that starts later reads what is there already.
    c = await processes("web-c")
    assert c.is_online(USER) and not c.is_online(OFFICER)


async def test_a_killed_process_sockets_disappear_after_its_entry_expires(
    processes: Callable[[str], Awaitable[RedisPresence]],
) -> None:
    a, b = await processes("web-a"), await processes("web-b")
    a.add(OFFICER, "sid-1", "7406", staff=True)
    await eventually(lambda: b.is_online(OFFICER))
    # SIGKILL: no goodbye, no more heartbeats (the link's subscriber dies with it too).
    for task in a._tasks:
        task.cancel()
    await a.link.close()
    await asyncio.sleep(0.5)
    assert b.is_online(OFFICER), "forgotten before its entry expired"
    await eventually(lambda: not b.is_online(OFFICER), within=4)
    assert b.online_staff("7406") == []
    assert "web-a" not in b.processes()


async def test_a_process_that_stops_cleanly_is_forgotten_at_once(
    processes: Callable[[str], Awaitable[RedisPresence]],
) -> None:
    a, b = await processes("web-a"), await processes("web-b")
    a.add(USER, "sid-1", None, staff=False)
    await eventually(lambda: b.is_online(USER))
    await a.close()
    await eventually(lambda: not b.is_online(USER), within=0.5)


async def test_redis_down_each_process_sees_its_own_then_all_again_once_back(
    processes: Callable[[str], Awaitable[RedisPresence]],
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="server.storage.redis_link")
    a, b = await processes("web-a"), await processes("web-b")
    a.add(OFFICER, "sid-1", "7406", staff=True)
    await eventually(lambda: b.is_online(OFFICER))

    redis_server.stop()
    # Changes while Redis is down: each process answers for its own sockets, without an error.
    a.add(USER, "sid-2", None, staff=False)
    b.add("c" * 24, "sid-3", "7406", staff=True)
    assert a.is_online(USER) and a.online_staff("7406")[0] == OFFICER
    assert b.online_staff("7406")[0] == "c" * 24
    # The others' sockets as last seen fade out: safe (a reply e-mail too many), never stale for long.
    await eventually(lambda: not b.is_online(OFFICER), within=4)
    assert b.online_staff("7406") == ["c" * 24]
    await asyncio.sleep(0.5)
    down = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(down) == 2, [r.getMessage() for r in down]  # once per process, not once per call

    redis_server.start()  # empty: everything it knew is gone
    await eventually(lambda: b.is_online(OFFICER) and b.is_online(USER) and a.is_online("c" * 24), within=8)
    assert sorted(b.online_staff("7406")) == sorted([OFFICER, "c" * 24])
    back = [r for r in caplog.records if "redis reachable again" in r.getMessage()]
    assert len(back) == 2


async def test_a_redis_that_stops_answering_is_noticed_and_rejoined(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not a closed connection but silence (a frozen host): the subscriber's unanswered ping tells."""
    import signal

    from server.storage import redis_link

    monkeypatch.setattr(redis_link, "PING_IDLE_SECS", 0.3)
    caplog.set_level(logging.INFO, logger="server.storage.redis_link")
    heard: list[str] = []
    link = RedisLink(redis_server.url, process_id="web-a")
    link.on(redis_link.CLOCK_CHANNEL, heard.append)
    await link.start()
    try:
        await asyncio.sleep(1.5)  # idle for several pings: answered, so still up
        assert link.up and not [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert redis_server.proc is not None
        redis_server.proc.send_signal(signal.SIGSTOP)
        try:
            deadline = asyncio.get_running_loop().time() + 5
            while link.up:
                assert asyncio.get_running_loop().time() < deadline, "a silent redis went unnoticed"
                await asyncio.sleep(0.05)
        finally:
            redis_server.proc.send_signal(signal.SIGCONT)
        deadline = asyncio.get_running_loop().time() + 8
        while not heard:
            assert asyncio.get_running_loop().time() < deadline, "the subscriber did not come back"
            await link.publish(redis_link.CLOCK_CHANNEL, "hello")
            await asyncio.sleep(0.2)
        assert heard[0] == "hello" and link.up
    finally:
        await link.close()
