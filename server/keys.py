"""Typed aiohttp AppKeys shared by the app factory, handlers and the realtime layer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.services import Services
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
SIO = web.AppKey("sio", Any)
DATABASE = web.AppKey("database", Any)
USER = web.RequestKey("user", Any)
SCHEDULER = web.AppKey("scheduler", Any)
NOTIFIER = web.AppKey("notifier", Any)
