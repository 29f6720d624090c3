"""What each database call of the message path costs the database, one by one and grouped.

    .venv/bin/python bench/message_db_costs.py                 # SecantusDB embedded (temp dir), ~30 s
    .venv/bin/python bench/message_db_costs.py --uri mongodb://127.0.0.1:27017/ --pid <mongod pid>

Prints the database process's CPU (from /proc/<pid>/stat) per call for the four calls a chat message
makes (session read, consultation read, message insert, consultation update), the same update on a
copy of the consultations without their indexes (the reference: what the indexes cost), and the four
grouped as server/storage/batching.py groups them (find $in, insert_many, bulk_write) in groups of 1,
5 and 20. Sequential calls from one client: it measures the database's work, not its concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, UpdateOne

from mongo_init.schema import apply, seed_offices
from server.embedded import EmbeddedDatabase

ROOMS = 200  # --rooms


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(uri: str, pid: int | None, n: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    name = f"bench_costs_{ObjectId()}"
    d = client[name]
    try:
        await apply(d)
        await seed_offices(d)
        now = datetime.now(UTC)
        cons = [
            {
                "_id": ObjectId(),
                "number": f"7406-2026-{i:05d}",
                "office": "7406",
                "status": "active",
                "channel": "online",
                "user_id": ObjectId(),
                "assigned_to": ObjectId(),
                "created_at": now,
                "updated_at": now,
                "last_seq": 0,
                "topic": "data",
                "subject": "Data inflasi",
                "time_zone": "Asia/Makassar",
                "reads": {},
                "sla": {"state": "on_track", "due_at": now, "check_at": now},
            }
            for i in range(ROOMS)
        ]
        for i in range(0, len(cons), 1000):
            await d.consultations.insert_many(cons[i : i + 1000])
            await d.plain.insert_many([dict(c) for c in cons[i : i + 1000]])
        sessions = [
            {"_id": ObjectId(), "token_hash": f"h{i}", "user_id": ObjectId(), "expires_at": now} for i in range(ROOMS)
        ]
        for i in range(0, len(sessions), 1000):
            await d.sessions.insert_many(sessions[i : i + 1000])
        seqs = {c["_id"]: 0 for c in cons}
        counter = iter(range(10**9))

        def message(i: int) -> dict[str, Any]:
            cid = cons[i % ROOMS]["_id"]
            seqs[cid] += 1
            return {
                "consultation_id": cid,
                "seq": seqs[cid],
                "kind": "text",
                "text": "x" * 100,
                "created_at": now,
                "author_id": ObjectId(),
                "author_name": "Sari",
                "author_role": "user",
                "client_id": f"c{next(counter)}",
            }

        def update(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
            t = datetime.now(UTC)
            last = {"seq": i, "kind": "text", "text": "x" * 100, "author_name": "Sari", "created_at": t}
            return (
                {"_id": cons[i % ROOMS]["_id"]},
                {
                    "$set": {"last_message": last, "last_visible_message": last, "updated_at": t, "last_message_at": t},
                    "$max": {"last_seq": i, "last_visible_seq": i, f"reads.u{i % 3}": i},
                    "$unset": {"idle": ""},
                },
            )

        async def measure(label: str, fn: Callable[[], Awaitable[None]]) -> None:
            c0, t0 = (cpu_seconds(pid) if pid else 0.0), time.perf_counter()
            await fn()
            c1, t1 = (cpu_seconds(pid) if pid else 0.0), time.perf_counter()
            db = f"{(c1 - c0) / n * 1e6:8.0f}" if pid else "       -"
            print(f"  {label:52s} {db} us  {(t1 - t0) / n * 1e6:8.0f} us")

        async def session_reads() -> None:
            for i in range(n):
                await d.sessions.find_one({"_id": sessions[i % ROOMS]["_id"]})

        async def consultation_reads() -> None:
            for i in range(n):
                await d.consultations.find_one({"_id": cons[i % ROOMS]["_id"]})

        async def inserts() -> None:
            for i in range(n):
                await d.messages.insert_one(message(i))

        async def updates() -> None:
            for i in range(n):
                await d.consultations.update_one(*update(i))

        async def plain_updates() -> None:
            for i in range(n):
                await d.plain.update_one(*update(i))

        def grouped(k: int) -> Callable[[], Awaitable[None]]:
            async def go() -> None:
                for b in range(n // k):
                    ids = [(b * k + j) % ROOMS for j in range(k)]
                    await d.sessions.find({"_id": {"$in": [sessions[i]["_id"] for i in ids]}}).to_list()
                    await d.consultations.find({"_id": {"$in": [cons[i]["_id"] for i in ids]}}).to_list()
                    await d.messages.insert_many([message(b * k + j) for j in range(k)], ordered=False)
                    await d.consultations.bulk_write([UpdateOne(*update(b * k + j)) for j in range(k)], ordered=False)

            return go

        print(f"{n} calls each; per call (or per message for the grouped rows):")
        print(f"  {'call':52s} {'db CPU':>11s}  {'wall':>8s}")
        await measure("session find_one by _id", session_reads)
        await measure("consultation find_one by _id", consultation_reads)
        await measure("message insert_one", inserts)
        await measure("consultation update_one (a message's update)", updates)
        await measure("  the same on a copy without the indexes (reference)", plain_updates)
        for k in (1, 5, 20):
            await measure(f"all four for one message, grouped by {k}", grouped(k))
    finally:
        await client.drop_database(name)
        await client.close()


async def amain(args: argparse.Namespace) -> None:
    if args.uri:
        print(f"database: {args.uri} (pid {args.pid or 'not given: no CPU figures'})")
        await run(args.uri, args.pid, args.n)
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedDatabase(Path(tmp) / "db")
        await server.start()
        try:
            assert server.proc is not None
            print(f"database: embedded SecantusDB (pid {server.proc.pid}, temp dir)")
            await run(server.uri, server.proc.pid, args.n)
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uri", default=None, help="an external MongoDB instead of the embedded SecantusDB")
    p.add_argument("--pid", type=int, default=None, help="with --uri: the database's pid, for its CPU")
    p.add_argument("-n", type=int, default=300, help="calls of each kind (300)")
    p.add_argument("--rooms", type=int, default=ROOMS, help=f"consultations and sessions stored ({ROOMS})")
    args = p.parse_args()
    globals()["ROOMS"] = args.rooms
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
