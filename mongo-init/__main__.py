"""Apply the schema and seed the offices against any MongoDB: python -m mongo_init --uri URI --db NAME."""

from __future__ import annotations

import argparse
import asyncio
import logging

from pymongo import AsyncMongoClient

from mongo_init.schema import apply, seed_offices


async def _run(uri: str, db_name: str, seed: bool) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        db = client[db_name]
        await apply(db)
        if seed:
            await seed_offices(db)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mongo_init", description=__doc__)
    parser.add_argument("--uri", required=True)
    parser.add_argument("--db", default="pst")
    parser.add_argument("--no-seed", action="store_true", help="indexes and validators only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_run(args.uri, args.db, not args.no_seed))


if __name__ == "__main__":
    main()
