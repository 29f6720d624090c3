"""How the product's database client talks to the embedded SecantusDB and to a configured MongoDB."""

from __future__ import annotations

from server.settings import Settings
from server.storage.db import open_database
from server.storage.write_watch import watch_of


async def test_the_embedded_database_gets_journaled_writes_without_retryable_ones(settings: Settings) -> None:
    """SecantusDB sorts every retryable write it keeps (up to 10,000) on each write: the embedded database's
    client does not make them (server.storage.db.make_client); a configured MongoDB keeps the default."""
    async with open_database(settings.model_copy(update={"mongodb_uri": None}), init_schema=False) as database:
        assert database.embedded is not None
        assert database.client.options.retry_writes is False
        assert database.client.options.write_concern.document == {"j": True}
        assert watch_of(database.client) is not None


async def test_a_configured_database_keeps_its_uri_s_options(settings: Settings, mongo_uri: str) -> None:
    uri = mongo_uri.replace("&retryWrites=false", "")
    async with open_database(settings.model_copy(update={"mongodb_uri": uri}), init_schema=False) as database:
        assert database.embedded is None
        assert database.client.options.retry_writes is True
        assert watch_of(database.client) is not None
