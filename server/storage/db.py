"""The MongoDB connection: PyMongo's native async client, embedded SecantusDB when no URI is set."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mongo_init.schema import apply, seed_offices
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from server.embedded import EmbeddedDatabase, running_instance
from server.settings import Settings

log = logging.getLogger(__name__)

Doc = dict[str, Any]


@dataclass
class Database:
    """An open client and the product's database."""

    client: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    embedded: EmbeddedDatabase | None = None

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not up"
            return False


def make_client(uri: str) -> AsyncMongoClient[Doc]:
    # tz_aware: every datetime read back carries UTC, never naive.
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


@asynccontextmanager
async def open_database(
    settings: Settings, *, init_schema: bool = True, reuse_running: bool = False
) -> AsyncIterator[Database]:
    """Connect (starting the embedded server if needed), apply the schema, seed offices; close on exit.

    `reuse_running`: admin commands talk to the embedded database of a `pst serve` that is up.
    """
    embedded: EmbeddedDatabase | None = None
    uri = settings.mongodb_uri
    if uri is None and reuse_running:
        port = running_instance(settings.pst_data_dir / "db")
        if port is not None:
            uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    if uri is None:
        data_dir = settings.pst_data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedDatabase(data_dir / "db", log_path=data_dir / "secantusdb.log")
        await embedded.start()
        uri = embedded.uri
    client = make_client(uri)
    try:
        db = client[settings.pst_db_name]
        if init_schema:
            await apply(db)
            await seed_offices(db)
        yield Database(client=client, db=db, embedded=embedded)
    finally:
        await client.close()
        if embedded is not None:
            embedded.stop()
