"""Typed aiohttp AppKeys shared by the app factory, handlers and the realtime layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.services import Services
from server.settings import Settings

if TYPE_CHECKING:
    # Only for the annotations: every HTTP handler imports this module, and it should not pull in
    # socketio, the workers or the database layer at run time.
    import socketio

    from notifier.worker import Notifier
    from schedulers.runner import Scheduler
    from server.integrations.imap import MailboxWatcher
    from server.storage.db import Database

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
DATABASE: web.AppKey[Database] = web.AppKey("database")
# The signed-in user of this request (None when anonymous); set once by server.http.auth.current_user.
USER: web.RequestKey[dict[str, Any] | None] = web.RequestKey("user")
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")
NOTIFIER: web.AppKey[Notifier] = web.AppKey("notifier")
# The IMAP watchers of this process, one per office mailbox (server/integrations/imap.py).
MAIL_WATCHERS: web.AppKey[list[MailboxWatcher]] = web.AppKey("mail_watchers")
