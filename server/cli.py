"""The `pst` command: serve the product, and administer it."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from server.settings import ROLES, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger("server")

T = TypeVar("T")


class JsonishFormatter(logging.Formatter):
    """One line per record: time, level, logger, message (no secrets are ever passed to the logger)."""

    def format(self, record: logging.LogRecord) -> str:
        base = (
            f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S%z')} {record.levelname} {record.name}: {record.getMessage()}"
        )
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonishFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("server.access").setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
    for noisy in ("aiohttp.access", "pymongo", "engineio", "socketio", "aiosmtplib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = dict(extra)
    if getattr(args, "data_dir", None):
        overrides["pst_data_dir"] = Path(args.data_dir)
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        print(f"pst: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app

    settings = _settings(args, host=args.host, port=args.port, role=args.role)
    setup_logging(settings.pst_log_level)
    try:
        import uvloop

        uvloop.install() if sys.version_info < (3, 12) else None
    except ImportError:
        pass
    app = create_app(settings)

    async def _freeze_gc(_: web.Application) -> None:
        # Everything built at start-up lives for the whole run: keep it out of every GC pass.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)

    app.on_startup.append(_freeze_gc)
    log.info("PST Konsultasi serving on http://%s:%s (role %s)", settings.host, settings.port, settings.role)
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=None,
            shutdown_timeout=10,
            handle_signals=True,
        )
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    return 0


async def _with_services(settings: Settings, fn: Callable[[Services], Awaitable[T]]) -> T:
    from server.domain.clock import SystemClock
    from server.services import Services
    from server.storage.db import open_database

    async with open_database(settings, reuse_running=True) as database:
        svc = Services(settings=settings, db=database.db, clock=SystemClock())
        return await fn(svc)


def cmd_create_user(args: argparse.Namespace) -> int:
    from server.domain import accounts
    from server.domain.errors import DomainError

    settings = _settings(args)
    setup_logging("WARNING")
    password = sys.stdin.readline().rstrip("\r\n")

    async def run(svc: Services) -> dict[str, Any]:
        return await accounts.create_staff(
            svc, email=args.email, name=args.name, role=args.role, office=args.office, password=password
        )

    try:
        user = asyncio.run(_with_services(settings, run))
    except DomainError as exc:
        print(f"pst: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    print(f"created {user['role']} {user['email']} (office {user.get('office') or 'national'}) id {user['_id']}")
    return 0


def cmd_disable_user(args: argparse.Namespace) -> int:
    """Disable (or, with enable-user, re-enable) an account by e-mail.

    Disabling ends every session at once; with REDIS_URL the web processes hear it through Redis and
    disconnect the account's sockets now; without it, their session sweep does within a minute, and
    no event of those sockets is acted on meanwhile (each checks its session)."""
    from server.domain import accounts
    from server.domain.errors import DomainError

    settings = _settings(args)
    setup_logging("WARNING")
    enable = args.admin_command == "enable-user"

    async def run(svc: Services) -> dict[str, Any]:
        if enable:
            return await accounts.enable_user(svc, args.email)
        events = None
        if settings.redis_url:
            from server.realtime.sinks import RedisOnlyEvents

            svc.events = events = RedisOnlyEvents(settings.redis_url)
        try:
            return await accounts.disable_user(svc, args.email)
        finally:
            if events is not None:
                await events.close()

    try:
        user = asyncio.run(_with_services(settings, run))
    except DomainError as exc:
        print(f"pst: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    print(f"{'enabled' if enable else 'disabled'} {user['role']} {user['email']} id {user['_id']}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from server.demo import seed_demo

    settings = _settings(args)
    setup_logging("INFO")
    summary = asyncio.run(_with_services(settings, seed_demo))
    for line in summary:
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pst", description="PST Konsultasi — layanan konsultasi statistik BPS")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (HTTP + Socket.IO, notifier, schedulers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data-dir", default=None, help="where the embedded database and mail files live (./data)")
    serve.add_argument(
        "--role", choices=[r for r in ROLES], default="all", help="run only one part: web, notifier or scheduler"
    )
    serve.set_defaults(fn=cmd_serve)
    admin = sub.add_parser("admin", help="administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    cu = admin_sub.add_parser("create-user", help="create a staff account; the password is read from stdin")
    cu.add_argument("--email", required=True)
    cu.add_argument("--name", required=True)
    cu.add_argument("--role", required=True, choices=["officer", "supervisor", "admin"])
    cu.add_argument("--office", default=None, help="office code (e.g. 7406); omit for a national admin")
    cu.add_argument("--data-dir", default=None)
    cu.set_defaults(fn=cmd_create_user)
    for name, what in (
        ("disable-user", "disable an account: no sign-in, every session and open socket ends now"),
        ("enable-user", "let a disabled account sign in again"),
    ):
        du = admin_sub.add_parser(name, help=what)
        du.add_argument("--email", required=True)
        du.add_argument("--data-dir", default=None)
        du.set_defaults(fn=cmd_disable_user)
    sd = admin_sub.add_parser("seed-demo", help="demo users, consultations and knowledge-base articles")
    sd.add_argument("--data-dir", default=None)
    sd.set_defaults(fn=cmd_seed_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.fn(args))
