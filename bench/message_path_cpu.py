"""Where a chat message's CPU goes inside our server, without sockets: the domain's `post_message` against
the database driver's own floor, one `insert_one` of the same document at the same pace, in one run.

    .venv/bin/python bench/message_path_cpu.py                          # embedded SecantusDB, ~1 min
    .venv/bin/python bench/message_path_cpu.py --uri mongodb://127.0.0.1:27017/

`bench/chat_latency.py` says how much CPU a message costs the whole server beside a bare relay; this says
which part of it is the message path's own (`server.domain.messages.post_message`: checks, the insert
through the group commit, the room's update, building the events' payloads; the event sink does not
send) and which part is the driver's insert that no design of ours avoids. Messages go one at a time,
`--pace-ms` apart (33 ms: 30 msg/s, the rate of chat_latency's first figure), alternating the user and
the officer of 20 rooms, so nothing groups and the code runs as cold as it does at that rate. CPU is this
process's (time.process_time: its own, not the database's), per message, over --messages messages after
a warm-up; the parts are measured around their awaits, so each includes what the loop ran meanwhile for
it (the group commit's flusher: the driver's call). The loop's own wake-ups are measured alone first and
subtracted. This process runs on core 0 and the database on core 1 when the machine has two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_latency import pin_all_threads  # noqa: E402

from mongo_init.schema import apply, seed_offices  # noqa: E402
from server.domain import events, messages  # noqa: E402
from server.domain.clock import SystemClock  # noqa: E402
from server.embedded import EmbeddedDatabase  # noqa: E402
from server.realtime.presence import Presence  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.storage.db import make_client  # noqa: E402

Doc = dict[str, Any]
ROOMS = 20
TEXT = "Apakah data inflasi bulanan kabupaten tersedia sampai tingkat kecamatan? " * 2


class BuiltNotSent:
    """The payloads are built by the domain before they reach the sink; the sink sends nothing."""

    async def emit(self, event: str, data: Any, room: str, namespace: str = "/") -> None:
        return None


async def _paced(n: int, pace: float, step: Callable[[int], Awaitable[None]]) -> float:
    """CPU seconds of this process over `n` steps, `pace` seconds apart."""
    started = time.process_time()
    for k in range(n):
        await step(k)
        await asyncio.sleep(pace)
    return time.process_time() - started


def _timed(owner: Any, name: str, spent: collections.defaultdict[str, float]) -> None:
    """Count the CPU of `owner.name` (a coroutine function) in `spent`, around its awaits."""
    inner = getattr(owner, name)

    @functools.wraps(inner)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return await inner(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started

    setattr(owner, name, wrapper)


async def _rooms(svc: Services) -> list[tuple[Doc, Doc, Any]]:
    now = svc.now()
    out = []
    for i in range(ROOMS):
        user = {"name": f"Warga {i}", "email": f"w{i}@contoh.id", "role": "user", "created_at": now}
        officer = {
            "name": f"Petugas {i}",
            "email": f"p{i}@bps.go.id",
            "role": "officer",
            "office": "7406",
            "created_at": now,
        }
        user["_id"] = (await svc.db.users.insert_one(dict(user))).inserted_id
        officer["_id"] = (await svc.db.users.insert_one(dict(officer))).inserted_id
        c = {
            "number": f"7406-2026-{i:05d}",
            "office": "7406",
            "time_zone": "Asia/Makassar",
            "user_id": user["_id"],
            "user_name": user["name"],
            "status": "active",
            "channel": "online",
            "assigned_to": officer["_id"],
            "assigned_name": officer["name"],
            "created_at": now,
            "last_seq": 0,
            "last_visible_seq": 0,
            "reads": {},
            "sla": {"state": "on_track", "due_at": now + timedelta(days=3)},
        }
        cid = (await svc.db.consultations.insert_one(c)).inserted_id
        # Connected, as in chat_latency: an officer's reply sends no "officer replied" mail.
        svc.presence.add(str(user["_id"]), f"sid-{i}", None, False)
        out.append((user, officer, cid))
    return out


async def run(uri: str, args: argparse.Namespace) -> None:
    pace = args.pace_ms / 1000
    n = args.messages
    # The server's own client (its write watch listens to every command).
    client: AsyncMongoClient[Doc] = make_client(uri)
    bare: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    name = f"bench_path_{os.getpid()}"
    db = client[name]
    try:
        await apply(db)
        await seed_offices(db)
        settings = Settings(
            mongodb_uri=uri,
            pst_db_name=name,
            pst_data_dir=Path(tempfile.gettempdir()) / name,
            pst_secret_key="bench-secret-key-not-for-production",
            public_base_url="http://pst.bench",
        )
        svc = Services(settings=settings, db=db, clock=SystemClock(), events=BuiltNotSent())
        svc.consultations.enabled = True  # one process hearing every write: the message path keeps its copies
        svc.presence = Presence()
        svc.batch.trailing.delay = settings.pst_trailing_secs  # as create_app sets it
        rooms = await _rooms(svc)
        spent: collections.defaultdict[str, float] = collections.defaultdict(float)
        for owner, fn in (
            (messages, "post_message"),
            (messages, "_insert_message"),
            (messages, "_after_message"),
            (events, "emit_message_new"),
        ):
            _timed(owner, fn, spent)

        async def message(k: int) -> None:
            user, officer, cid = rooms[k % ROOMS]
            author = user if (k // ROOMS) % 2 == 0 else officer
            await messages.post_message(svc, author, cid, text=TEXT, client_id=f"m{k}-{os.getpid()}")

        bare_coll = bare[name].bare_messages

        async def insert(k: int) -> None:
            _, _, cid = rooms[k % ROOMS]
            doc = {"consultation_id": cid, "seq": k, "kind": "text", "text": TEXT, "created_at": svc.now()}
            await bare_coll.insert_one(doc)

        async def nothing(k: int) -> None:
            return None

        await _paced(args.warmup, pace, message)
        await _paced(args.warmup, pace, insert)
        spent.clear()
        loop_alone = await _paced(n, pace, nothing)
        ours = await _paced(n, pace, message)
        await svc.batch.trailing.flush()
        parts = dict(spent)
        driver = await _paced(n, pace, insert)
    finally:
        await client.drop_database(name)
        await client.close()
        await bare.close()

    def us(seconds: float) -> str:
        return f"{seconds / n * 1e6:,.0f}"

    net = ours - loop_alone
    floor = driver - loop_alone
    rows = [
        ("post_message, all of it (the room's trailing update included)", us(net)),
        ("  its insert (group commit, driver, seq)", us(parts["_insert_message"])),
        ("  the room's update (statement, copy, trailing hand-over)", us(parts["_after_message"])),
        ("  the events' payloads (message:new, room:activity)", us(parts["emit_message_new"])),
        (
            "  checks and the rest of post_message",
            us(parts["post_message"] - parts["_insert_message"] - parts["_after_message"] - parts["emit_message_new"]),
        ),
        ("  outside post_message (trailing flushes)", us(net - parts["post_message"])),
        ("reference: the driver's insert_one alone, same pace", us(floor)),
        ("event loop wake-ups alone (subtracted above)", us(loop_alone)),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\n== bench/message_path_cpu.py: {n} messages {args.pace_ms:g} ms apart, {ROOMS} rooms, this process's CPU")
    print(f"{'':{width}}  us a message")
    for label, value in rows:
        print(f"{label:{width}}  {value:>12}")
    print(f"\npost_message / the driver's insert_one: {net / floor:.2f}x")


async def amain(args: argparse.Namespace) -> None:
    two_cores = (os.cpu_count() or 1) >= 2
    if two_cores:
        pin_all_threads(os.getpid(), 0)
    if args.uri:
        await run(args.uri, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedDatabase(Path(tmp) / "db")
        await server.start()
        assert server.proc is not None
        if two_cores:
            pin_all_threads(server.proc.pid, 1)  # every thread it started, not the first only
        try:
            print(f"database: embedded SecantusDB (pid {server.proc.pid}, temp dir, core 1)")
            await run(server.uri, args)
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uri", default=None, help="an external MongoDB instead of the embedded SecantusDB")
    p.add_argument("--messages", type=int, default=900, help="measured messages (900)")
    p.add_argument("--warmup", type=int, default=200, help="messages before measuring (200)")
    p.add_argument("--pace-ms", type=float, default=33.3, help="between messages (33.3 ms: 30 msg/s)")
    args = p.parse_args()
    import uvloop  # as `pst serve` runs (server.cli)

    uvloop.install()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
