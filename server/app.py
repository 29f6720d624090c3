"""create_app(settings): everything is built here, nothing at import; resources open and close in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web

from server import __version__
from server.cluster import REDIS_LINK, clock_moved, redis_ctx
from server.domain.clock import SystemClock, TestClock
from server.domain.errors import BadRequest, NotFound
from server.http import auth as http_auth
from server.http.api import Api, Handler, Route, json_response, parse_body, read_json, require_role
from server.http.csrf import make_csrf_middleware
from server.http.middleware import error_middleware
from server.http.openapi import build_openapi
from server.http.ratelimit import RATE_LIMITS, RateLimits
from server.keys import DATABASE, MAIL_WATCHERS, NOTIFIER, SCHEDULER, SERVICES, SETTINGS, SIO
from server.services import Services
from server.settings import Settings
from server.storage.db import Database, open_database

log = logging.getLogger(__name__)

# How long shutdown waits for the rooms' trailing updates (server.storage.batching.Trailing) to be written.
TRAILING_FLUSH_SECS = 10.0


def _all_apis() -> list[Api]:
    from server.http import routes_accounts, routes_consultations, routes_extra

    return [routes_accounts.api, routes_consultations.api, *routes_extra.apis()]


def _wrap(route: Route) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        user = await http_auth.current_user(request)
        require_role(user, route.auth)
        if route.body is not None:
            body = await parse_body(request, route.body)
            return await route.handler(request, body=body)
        return await route.handler(request)

    handler.__name__ = route.handler.__name__
    return handler


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with open_database(settings) as database:
        app[DATABASE] = database
        clock = TestClock() if settings.pst_test_clock else SystemClock()
        services = Services(settings=settings, db=database.db, clock=clock)
        # Alone (no REDIS_URL), this process hears every write of the product only when it is all of it;
        # with REDIS_URL, server.cluster switches the copies on while the link is up.
        services.consultations.enabled = settings.role == "all" and not settings.redis_url
        app[SERVICES] = services
        yield


async def _trailing_ctx(app: web.Application) -> AsyncIterator[None]:
    """The rooms' trailing updates (server.storage.batching.Trailing): on, then written at shutdown, after
    the sockets and loops that make them have stopped and before Redis and the database close."""
    services = app[SERVICES]
    services.batch.trailing.delay = app[SETTINGS].pst_trailing_secs
    yield
    trailing = services.batch.trailing
    try:
        await asyncio.wait_for(trailing.flush(), TRAILING_FLUSH_SECS)
    except Exception as exc:  # noqa: BLE001 - shutting down: say what is lost, and go on
        log.error("shutdown: %d trailing room updates not applied: %r", len(trailing), exc)


async def _meetings_ctx(app: web.Application) -> AsyncIterator[None]:
    """The meeting providers (Zoom, Jitsi, pasted links) for Services.meetings; closed on shutdown."""
    from server.integrations.meeting_backends import MeetingBackends

    services = app[SERVICES]
    backends = MeetingBackends(app[SETTINGS], services.clock)
    services.meetings = backends
    yield
    await backends.close()


async def _whatsapp_ctx(app: web.Application) -> AsyncIterator[None]:
    """The WhatsApp Cloud API client for Services.whatsapp (one HTTP session); closed on shutdown."""
    from server.integrations.whatsapp import WhatsAppClient

    services = app[SERVICES]
    client = WhatsAppClient(app[SETTINGS].whatsapp_token, app[SETTINGS].whatsapp_api_base)
    services.whatsapp = client
    yield
    await client.close()


async def _mail_intake_ctx(app: web.Application) -> AsyncIterator[None]:
    """One IMAP watcher per office whose mailbox is configured (PST_IMAP_*); stopped and awaited on shutdown."""
    from functools import partial

    from server.domain import email_channel
    from server.integrations.imap import ImapAccount, MailboxWatcher

    settings = app[SETTINGS]
    services = app[SERVICES]
    stop = asyncio.Event()
    watchers: list[MailboxWatcher] = []
    for code, url in sorted(settings.imap_accounts().items()):

        async def handle(raw: bytes, too_large: bool, size: int, code: str = code) -> str:
            return await email_channel.take_mail(services, code, raw, too_large=too_large, size=size)

        watchers.append(
            MailboxWatcher(
                ImapAccount.from_url(url),
                handle,
                partial(email_channel.load_cursor, services, code),
                partial(email_channel.save_cursor, services, code),
                poll_secs=settings.pst_imap_poll_secs,
                idle_secs=settings.pst_imap_idle_secs,
                max_fetch_bytes=email_channel.MAX_MAIL_BYTES,
            )
        )
    app[MAIL_WATCHERS] = watchers
    tasks = [asyncio.create_task(w.run(stop), name=f"imap:{w.account.host}") for w in watchers]
    yield
    stop.set()
    for w in watchers:
        w.stop()  # a waiting IDLE returns within a second; the watcher then logs out
    if tasks:
        _, late = await asyncio.wait(tasks, timeout=10)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _realtime_ctx(app: web.Application) -> AsyncIterator[None]:
    from server.realtime import sinks
    from server.realtime.presence import Presence

    services = app[SERVICES]
    if REDIS_LINK not in app:
        services.presence = Presence()  # else cluster.redis_ctx put the shared one there
    services.events = sinks.make_event_sink(app, services)
    sinks.start_session_sweep(app)
    yield
    await sinks.shutdown(app)


async def _search_ctx(app: web.Application) -> AsyncIterator[None]:
    from server.domain import kb

    services = app[SERVICES]
    await kb.start_index(services)
    yield
    await kb.stop_index(services)


async def _workers_ctx(app: web.Application) -> AsyncIterator[None]:
    """The notifier and scheduler loops for this process's role; cancelled and awaited on shutdown."""
    settings = app[SETTINGS]
    services = app[SERVICES]
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if settings.role in ("all", "notifier"):
        from notifier.runtime import make_notifier

        notifier = make_notifier(services)
        app[NOTIFIER] = notifier
        services.outbox_worker = notifier
        tasks.append(asyncio.create_task(notifier.run(stop, settings.pst_notifier_interval_secs), name="notifier"))
    if settings.role in ("all", "scheduler"):
        from schedulers.runner import Scheduler

        scheduler = Scheduler(services)
        app[SCHEDULER] = scheduler
        if not settings.pst_test_clock:
            # Under the test clock jobs run when the clock moves, never by wall time.
            tasks.append(
                asyncio.create_task(scheduler.run(stop, settings.pst_scheduler_interval_secs), name="scheduler")
            )
    yield
    stop.set()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_clock(request: web.Request) -> web.Response:
    """Set or advance the test clock, then run every scheduler job that has come due."""
    services = request.app[SERVICES]
    clock = services.clock
    if not isinstance(clock, TestClock):
        raise NotFound("not_found", "no such endpoint")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise BadRequest("malformed_json", "expected a JSON object")
    # Time jumps: what this process was about to write (its rooms' trailing updates) is written first.
    await services.batch.trailing.flush()
    if "set" in data:
        try:
            when = datetime.fromisoformat(str(data["set"]))
        except ValueError:
            raise BadRequest("invalid_time", "set must be an ISO 8601 time with an offset") from None
        if when.tzinfo is None:
            raise BadRequest("invalid_time", "set must carry a UTC offset")
        clock.set(when)
    elif "advance_seconds" in data:
        secs = data["advance_seconds"]
        if isinstance(secs, bool) or not isinstance(secs, (int, float)) or secs < 0 or secs > 10 * 366 * 86400:
            raise BadRequest("invalid_advance", "advance_seconds must be a non-negative number")
        clock.advance(float(secs))
    # Every process of a deployment reads the same test clock (and a scheduler process runs its jobs).
    await clock_moved(request.app, clock.now())
    ran: dict[str, int] = {}
    scheduler = request.app.get(SCHEDULER)
    if scheduler is not None:
        if REDIS_LINK in request.app:
            # The other processes write their trailing room updates on hearing it: let them land first.
            await asyncio.sleep(request.app[SETTINGS].pst_trailing_secs + 0.05)
        ran = await scheduler.run_once()
    notifier = request.app.get(NOTIFIER)
    if notifier is not None:
        await notifier.run_once()
    return json_response({"now": clock.now().isoformat(), "ran": ran})


def create_app(settings: Settings) -> web.Application:
    """The whole product for one process, per `settings.role`."""
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.pst_max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_database_ctx)
    # Presence, limits, wake-ups and events shared through Redis (REDIS_URL), before the parts that use them.
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(_trailing_ctx)
    app.cleanup_ctx.append(_meetings_ctx)
    app.cleanup_ctx.append(_whatsapp_ctx)
    web_role = settings.role in ("all", "web")
    if web_role:
        from server.realtime import sio as rt_sio
        from server.web import setup_static

        app.cleanup_ctx.append(_realtime_ctx)
        app.cleanup_ctx.append(_search_ctx)
        apis = _all_apis()
        for api in apis:
            api.mount(app, _wrap)
        # Inside error_middleware, so a refused write gets the usual JSON error.
        app.middlewares.append(make_csrf_middleware(settings, apis))
        # Request limits per client address and account, for this process (real time, not the test clock).
        app[RATE_LIMITS] = RateLimits(enabled=settings.pst_rate_limits)
        spec = build_openapi(apis, __version__)

        async def openapi(_: web.Request) -> web.Response:
            return json_response(spec)

        app.router.add_get("/api/v1/openapi.json", openapi)
        app[SIO] = rt_sio.attach(app, settings)
        setup_static(app, settings)
    app.cleanup_ctx.append(_workers_ctx)
    if settings.role in ("all", "scheduler"):
        app.cleanup_ctx.append(_mail_intake_ctx)

    if settings.pst_test_clock:
        # Every role: a deployment's test moves the scheduler process's clock through its own port.
        app.router.add_post("/api/v1/_test/clock", test_clock)

    from server.http.routes_accounts import healthz

    app.router.add_get("/healthz", healthz)
    return app


def database_of(app: web.Application) -> Database:
    return app[DATABASE]
