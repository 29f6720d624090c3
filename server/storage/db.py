"""The MongoDB connection: PyMongo's native async client, embedded SecantusDB when no URI is set.

When the database is down or frozen, calls fail fast and say so: every HTTP request and socket event
runs its database work under a deadline (`request_deadline`), and a failure of the database itself
(`is_unavailable`) becomes 503 `database_unavailable`, never a 500 and never a hang. A database that
has fallen behind (the group commit refuses: `Overloaded`) becomes 409 `busy` (`refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from mongo_init.schema import apply, seed_offices
from server.domain.errors import DomainError, Unavailable, server_busy
from server.embedded import EmbeddedDatabase, running_instance
from server.settings import Settings
from server.storage.batching import Overloaded
from server.storage.write_watch import listeners

log = logging.getLogger(__name__)

Doc = dict[str, Any]

# How long an operation waits for a server to answer its selection (a stopped or unreachable database).
SERVER_SELECTION_TIMEOUT_MS = 3_000
CONNECT_TIMEOUT_MS = 3_000
# A backstop for work outside requests (notifier, schedulers, index refresh): no single read from the
# database waits longer, so a frozen database cannot hang a worker for good. Requests have their own,
# much shorter, deadline (Settings.pst_db_timeout_secs).
SOCKET_TIMEOUT_MS = 60_000
# /healthz answers within 2 s even when the database is frozen: its ping gets this much.
HEALTH_PING_SECS = 1.5


def is_unavailable(exc: BaseException) -> bool:
    """A failure of the database itself (down, frozen, unreachable, out of time), not of the request."""
    return isinstance(exc, ConnectionFailure) or (isinstance(exc, PyMongoError) and exc.timeout)


def unavailable_error() -> Unavailable:
    """The 503 every transport answers while the database is not answering."""
    return Unavailable(
        "database_unavailable",
        "the database is not answering; try again shortly / basis data tidak menjawab, coba lagi sebentar lagi",
    )


def refusal(exc: BaseException) -> DomainError | None:
    """What a transport answers for a failure of the database rather than of the request, else None:
    `busy` when the group commit refused (server.storage.batching.Overloaded), 503 when it is not answering.
    Nothing was written either way: the same request may be sent again."""
    if isinstance(exc, Overloaded):
        return server_busy()
    if is_unavailable(exc):
        return unavailable_error()
    return None


@contextlib.contextmanager
def request_deadline(secs: float) -> Iterator[None]:
    """Every database operation inside finishes within `secs` in total, or fails with a timeout error.

    Only around one request or one socket event: tasks started inside inherit the deadline.
    """
    with pymongo.timeout(secs):
        yield


@dataclass
class Database:
    """An open client and the product's database."""

    client: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    embedded: EmbeddedDatabase | None = None

    async def ping(self, within_secs: float = HEALTH_PING_SECS) -> bool:
        """True when the database answers a ping within `within_secs`."""
        try:
            with pymongo.timeout(within_secs):
                # wait_for as well: the driver's deadline does not cover every await inside it.
                await asyncio.wait_for(self.db.command("ping"), within_secs + 0.2)
            return True
        except Exception:  # noqa: BLE001 - any failure means "not up"
            return False


def make_client(uri: str, *, journal: bool | None = None, retry_writes: bool | None = None) -> AsyncMongoClient[Doc]:
    """The client; `journal=True` acknowledges a write only once it is in the on-disk journal.

    `retry_writes=False` for the embedded SecantusDB: it keeps every retryable write's reply for 30 minutes
    and, once it holds 10,000 of them, sorts them all on every write (secantus/transactions.py
    `_prune_retryable_locked`): 37 % of its CPU at 10,000 clients, and a message's update went from ~1.5 ms
    to ~11 ms. Without retryable writes a write cut off by the loopback connection fails (503, the client
    sends again: messages carry their client_id) instead of being re-sent by the driver. MongoDB keeps them.
    """
    # tz_aware: every datetime read back carries UTC, never naive.
    options: dict[str, Any] = {}
    if journal is not None:
        options["journal"] = journal
    if retry_writes is not None:
        options["retryWrites"] = retry_writes
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        connectTimeoutMS=CONNECT_TIMEOUT_MS,
        socketTimeoutMS=SOCKET_TIMEOUT_MS,
        # Every write command is seen, so the copies this process keeps are forgotten (write_watch).
        event_listeners=listeners(),
        **options,
    )


@asynccontextmanager
async def open_database(
    settings: Settings, *, init_schema: bool = True, reuse_running: bool = False
) -> AsyncIterator[Database]:
    """Connect (starting the embedded server if needed), apply the schema, seed offices; close on exit.

    `reuse_running`: admin commands talk to the embedded database of a `pst serve` that is up.
    """
    embedded: EmbeddedDatabase | None = None
    uri = settings.mongodb_uri
    ours = uri is None  # the embedded SecantusDB, started here or by a running `pst serve`
    if uri is None and reuse_running:
        port = running_instance(settings.pst_data_dir / "db")
        if port is not None:
            uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    if uri is None:
        data_dir = settings.pst_data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        # Not the web server's port: it is bound only after this starts (a free port drawn twice collided).
        embedded = EmbeddedDatabase(
            data_dir / "db", log_path=data_dir / "secantusdb.log", avoid=frozenset({settings.port})
        )
        await embedded.start()
        uri = embedded.uri
    # The embedded child is restarted on the same port when it dies; the client reconnects by itself.
    supervisor = asyncio.create_task(embedded.supervise(), name="embedded-db") if embedded is not None else None
    # The embedded database journals a write before acknowledging it (writeConcern j:true): killed, it
    # loses nothing that was acknowledged (without it, the last writes in its log buffer were lost to a
    # SIGKILL). A configured MongoDB keeps whatever write concern its URI asks for.
    client = make_client(uri, journal=True if embedded is not None else None, retry_writes=False if ours else None)
    try:
        db = client[settings.pst_db_name]
        if init_schema:
            await apply(db, wall_clock_expiry=not settings.pst_test_clock)
            await seed_offices(db)
        yield Database(client=client, db=db, embedded=embedded)
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await client.close()
        if embedded is not None:
            embedded.stop()
