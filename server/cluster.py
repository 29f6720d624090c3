"""Several processes as one product (REDIS_URL): what create_app swaps in for the in-process parts.

With REDIS_URL set, one cleanup context (`redis_ctx`, before the realtime and worker contexts) gives
this process a RedisLink and puts behind the existing ports:
- presence (`svc.presence`): server.realtime.redis_presence.RedisPresence, every process's sockets;
- rate limits (the app's RateLimits): each rule counted across processes too (server.storage.redis_limits);
- the notifier's wake-up (`svc.outbox_worker` of a process without a notifier): a message the notifier
  processes listen to (server.storage.redis_link.RedisWakeup);
- events of a process without sockets (`svc.events` of the scheduler and notifier): a write-only
  Socket.IO Redis manager (server.realtime.sinks.RedisOnlyEvents);
- the offices each process keeps (`svc.offices`): a change is published and every process forgets it;
- the consultations each process's message path keeps (`svc.consultations`): the ids a process wrote are
  published and every other process forgets them; the copies are used only while this process is
  subscribed and Redis answers, and are all forgotten each time the subscriber (re)connects;
- under PST_TEST_CLOCK, the test clock: moving it in one process moves it in all, and a scheduler
  process runs its due jobs when it hears of it.
Message numbering needs nothing here: the unique (consultation_id, seq) index decides between processes
(server.domain.messages._insert_message; each process's LocalRoomSeqState is only a hint).
Without REDIS_URL nothing changes. With Redis down, every part falls back to what this process knows
(see each module), the link logs it once and reconnects by itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web
from bson import ObjectId
from bson.errors import InvalidId

from server.domain.clock import TestClock
from server.http.ratelimit import RATE_LIMITS
from server.keys import NOTIFIER, SCHEDULER, SERVICES, SETTINGS, SIO
from server.realtime.redis_presence import RedisPresence
from server.realtime.sinks import RedisOnlyEvents
from server.storage.redis_limits import RedisCounters
from server.storage.redis_link import (
    CLOCK_CHANNEL,
    CONSULTATIONS_CHANNEL,
    OFFICES_CHANNEL,
    OUTBOX_WAKE_CHANNEL,
    RedisLink,
    RedisWakeup,
)

log = logging.getLogger(__name__)

REDIS_LINK = web.AppKey("redis_link", RedisLink)
# Jobs a scheduler process started on hearing that the test clock moved (kept so they are not collected).
_CLOCK_RUNS: web.AppKey[set[asyncio.Task[object]]] = web.AppKey("clock_runs")


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The shared parts of this process when REDIS_URL is set (see the module's docstring)."""
    settings = app[SETTINGS]
    services = app[SERVICES]
    if not settings.redis_url:
        if settings.role in ("notifier", "scheduler"):
            log.warning("role %s without REDIS_URL: its events reach no socket", settings.role)
        yield
        return
    link = RedisLink(settings.redis_url)
    app[REDIS_LINK] = link
    app[_CLOCK_RUNS] = set()
    link.on(OUTBOX_WAKE_CHANNEL, lambda _: _wake_notifier(app))
    if settings.pst_test_clock:
        link.on(CLOCK_CHANNEL, lambda data: _clock_heard(app, data))
    link.on(OFFICES_CHANNEL, lambda data: _office_changed(app, data))
    link.on(CONSULTATIONS_CHANNEL, lambda data: _consultations_changed(app, data))
    kept = services.consultations
    link.on_subscribed.append(kept.forget)
    kept.shared_ok = lambda: link.subscribed and link.up
    await link.start()

    async def publish_office(code: str) -> None:
        await link.publish(OFFICES_CHANNEL, json.dumps({"from": link.process_id, "code": code}))

    async def publish_consultations(ids: frozenset[object] | None) -> None:
        written = None if ids is None else [str(i) for i in ids]
        await link.publish(CONSULTATIONS_CHANNEL, json.dumps({"from": link.process_id, "ids": written}))

    services.offices.publish = publish_office
    kept.publish = publish_consultations
    kept.enabled = True

    presence = RedisPresence(
        link,
        info={"host": socket.gethostname(), "pid": os.getpid(), "port": settings.port, "role": settings.role},
    )
    await presence.start()
    services.presence = presence
    counters: RedisCounters | None = None
    if RATE_LIMITS in app:
        counters = RedisCounters(link)
        await counters.start()
        app[RATE_LIMITS].share(counters.limiter)
    wakeup = RedisWakeup(link)
    if settings.role not in ("all", "notifier"):
        # No notifier here: wake the notifier processes (the workers context sets this process's own otherwise).
        services.outbox_worker = wakeup
    events: RedisOnlyEvents | None = None
    if SIO not in app:
        # No sockets here: publish for the web processes to deliver.
        events = RedisOnlyEvents(settings.redis_url)
        services.events = events
    log.info("sharing presence, limits and wake-ups through redis as %s", link.process_id)
    try:
        yield
    finally:
        services.offices.publish = None
        kept.publish = None
        kept.enabled = False
        await presence.close()
        if counters is not None:
            await counters.close()
        await wakeup.close()
        if events is not None:
            await events.close()
        runs: set[asyncio.Task[object]] = app[_CLOCK_RUNS]
        for task in list(runs):
            task.cancel()
        await link.close()


def _office_changed(app: web.Application, data: str) -> None:
    """Another process changed an office: read it again next time."""
    try:
        code = json.loads(data)["code"]
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed office change message")
        return
    app[SERVICES].offices.forget(str(code))


def _consultations_changed(app: web.Application, data: str) -> None:
    """Another process wrote these consultations: read them again next time (every one when ids is null)."""
    link = app[REDIS_LINK]
    try:
        msg = json.loads(data)
        ids = msg["ids"]
        if msg.get("from") == link.process_id:
            return
        written = None if ids is None else frozenset(ObjectId(i) for i in ids)
    except (ValueError, KeyError, TypeError, InvalidId):
        log.warning("ignored a malformed consultations message")
        app[SERVICES].consultations.forget(None)
        return
    app[SERVICES].consultations.forget(written)


def _wake_notifier(app: web.Application) -> None:
    notifier = app.get(NOTIFIER)
    if notifier is not None:
        notifier.kick()


async def clock_moved(app: web.Application, now: datetime) -> None:
    """Tell the other processes that the test clock now reads `now` (nothing without REDIS_URL)."""
    link = app.get(REDIS_LINK)
    if link is not None:
        await link.publish(CLOCK_CHANNEL, json.dumps({"from": link.process_id, "now": now.isoformat()}))


def _clock_heard(app: web.Application, data: str) -> None:
    """Another process moved the test clock: read the same, and run the jobs that came due here."""
    link = app[REDIS_LINK]
    clock = app[SERVICES].clock
    try:
        msg = json.loads(data)
        now = datetime.fromisoformat(str(msg["now"]))
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed test clock message")
        return
    if msg.get("from") == link.process_id or not isinstance(clock, TestClock) or now.tzinfo is None:
        return
    clock.set(now)
    runs = app[_CLOCK_RUNS]
    task: asyncio.Task[object] = asyncio.get_running_loop().create_task(_after_clock_moved(app))
    runs.add(task)
    task.add_done_callback(runs.discard)
    _wake_notifier(app)


async def _after_clock_moved(app: web.Application) -> None:
    """Time jumped: write this process's trailing room updates now; a scheduler runs its jobs once those
    of every process have landed (each writes its own within Settings.pst_trailing_secs)."""
    services = app[SERVICES]
    await services.batch.trailing.flush()
    scheduler = app.get(SCHEDULER)
    if scheduler is not None:
        await asyncio.sleep(app[SETTINGS].pst_trailing_secs + 0.05)
        await scheduler.run_once()
