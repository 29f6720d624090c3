"""History page: the last 50 messages of a room holding 100,000, through the same action the API uses.

Target (shared/PERFORMANCE.md): p99 <= 10 ms. Runs against SecantusDB started here (or --uri).
Prints p50/p99/max of the action (consultation lookup + message page), of the bare message query,
and the query plan's documents examined.

    .venv/bin/python bench/history_page.py [--messages 100000] [--iterations 500] [--uri mongodb://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import apply, seed_offices  # noqa: E402
from server.domain import messages  # noqa: E402
from server.domain.clock import SystemClock  # noqa: E402
from server.embedded import EmbeddedDatabase  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

BATCH = 1_000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(uri: str, db_name: str, n_messages: int, iterations: int, label: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    await client.drop_database(db_name)
    db = client[db_name]
    now = datetime.now(UTC)
    user = {"_id": None, "name": "Bench", "role": "user", "email": "bench@example.id", "email_verified_at": now}
    user["_id"] = (
        await db.users.insert_one({k: v for k, v in user.items() if k != "_id"} | {"created_at": now})
    ).inserted_id
    c = {
        "number": "7406-2026-99999",
        "office": "7406",
        "time_zone": "Asia/Makassar",
        "channel": "online",
        "topic": "data",
        "subject": "bench",
        "user_id": user["_id"],
        "status": "active",
        "created_at": now,
        "last_seq": n_messages,
        "last_visible_seq": n_messages,
        "reads": {},
    }
    c["_id"] = (await db.consultations.insert_one(c)).inserted_id
    # A second, busy room so the index holds other rooms' messages too.
    other = (
        await db.consultations.insert_one({**{k: v for k, v in c.items() if k != "_id"}, "number": "7406-2026-99998"})
    ).inserted_id
    t0 = time.perf_counter()
    start = now - timedelta(days=30)
    for base in range(0, n_messages, BATCH):
        docs = []
        for seq in range(base + 1, min(n_messages, base + BATCH) + 1):
            for room in (c["_id"], other):
                docs.append(
                    {
                        "consultation_id": room,
                        "seq": seq,
                        "kind": "text" if seq % 7 else "note",
                        "author_id": user["_id"],
                        "author_name": "Bench",
                        "author_role": "user",
                        "text": f"pesan nomor {seq} tentang data inflasi dan kemiskinan",
                        "created_at": start + timedelta(seconds=seq),
                    }
                )
        await db.messages.insert_many(docs, ordered=False)
    load_secs = time.perf_counter() - t0
    # Indexes after the load: SecantusDB maintains an index on every insert far more slowly than it
    # builds one afterwards; what is measured (the reads) is the same either way.
    t1 = time.perf_counter()
    await apply(db)
    await seed_offices(db)
    index_secs = time.perf_counter() - t1
    svc = Services(
        settings=Settings(mongodb_uri=uri, pst_db_name=db_name, pst_secret_key="bench"), db=db, clock=SystemClock()
    )
    before = n_messages + 1
    action_ms: list[float] = []
    query_ms: list[float] = []
    for _ in range(20):  # warm-up
        await messages.history(svc, user, c["_id"], before_seq=before, limit=50)
    for _ in range(iterations):
        t = time.perf_counter()
        _, page = await messages.history(svc, user, c["_id"], before_seq=before, limit=50)
        action_ms.append((time.perf_counter() - t) * 1000)
        assert len(page) == 50 and page[-1]["seq"] <= n_messages
    window = {"consultation_id": c["_id"], "seq": {"$gte": before - 50, "$lte": before - 1}}
    open_ended = {"consultation_id": c["_id"], "kind": {"$ne": "note"}, "seq": {"$lt": before}}
    for _ in range(iterations):
        t = time.perf_counter()
        await db.messages.find(window).sort("seq", -1).to_list()
        query_ms.append((time.perf_counter() - t) * 1000)
    old_ms: list[float] = []
    for _ in range(min(iterations, 5)):
        t = time.perf_counter()
        await db.messages.find(open_ended).sort("seq", -1).limit(50).to_list()
        old_ms.append((time.perf_counter() - t) * 1000)
    plan = await db.messages.find(window).sort("seq", -1).explain()
    stats = plan.get("executionStats", {})
    old_plan = (await db.messages.find(open_ended).sort("seq", -1).limit(50).explain()).get("executionStats", {})
    info = await db.command("buildInfo")
    print(f"database: {label} (server version {info.get('version')})")
    print(
        f"room size: {n_messages:,} messages (+{n_messages:,} in another room); loaded in {load_secs:.1f} s, "
        f"indexes built in {index_secs:.1f} s"
    )
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, xs in (
        ("history action (user view)", action_ms),
        ("seq-window query", query_ms),
        ("old open-ended query", old_ms),
    ):
        print(f"{name:28}{statistics.median(xs):10.2f}{pct(xs, 99):10.2f}{max(xs):10.2f}")
    print(
        f"seq-window plan: keys examined {stats.get('totalKeysExamined')}, docs examined "
        f"{stats.get('totalDocsExamined')}, returned {stats.get('nReturned')} (target p99 <= 10 ms)"
    )
    print(
        f"old open-ended plan ({{consultation_id, kind: {{$ne: note}}, seq: {{$lt}}}} sort -1 limit 50): keys "
        f"{old_plan.get('totalKeysExamined')}, docs {old_plan.get('totalDocsExamined')} — what this design avoids"
    )
    await client.drop_database(db_name)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--uri", default=None, help="a MongoDB to use instead of starting SecantusDB")
    args = parser.parse_args()
    if args.uri:
        asyncio.run(run(args.uri, "bench_history", args.messages, args.iterations, args.uri.split("@")[-1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedDatabase(Path(tmp) / "db")

        async def go() -> None:
            await server.start()
            try:
                await run(server.uri, "bench_history", args.messages, args.iterations, "SecantusDB 0.7.0b3 (embedded)")
            finally:
                server.stop()

        asyncio.run(go())


if __name__ == "__main__":
    main()
