"""A scripted walk-in morning: 20 visitors, 2 desks, on the test clock, through the desk's real actions.

The office is Bombana (7406, WITA). Visitors arrive on a fixed schedule from 08:00 (two of them
priority: elderly, pregnant); two officers call the next ticket when their desk is free, the
visitor sits down a minute later, each service lasts a scripted 5 to 18 minutes, and after each
finish the officer takes a scripted 0.5 to 12 minutes (notes, a phone call) before calling again;
one visitor does not come when called. The clock moves in 30-second steps. Every figure is read
back from the database through `walkin_board.summary`, the same function as
`GET /offices/{code}/queue/summary`.

    .venv/bin/python bench/walkin_morning.py [--uri mongodb://...] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import apply, seed_offices  # noqa: E402
from server.domain import accounts, walkin  # noqa: E402
from server.domain import walkin_board as wb  # noqa: E402
from server.domain.clock import TestClock  # noqa: E402
from server.domain.errors import NotFound  # noqa: E402
from server.domain.ports import RecordingEvents  # noqa: E402
from server.embedded import EmbeddedDatabase  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

OFFICE = "7406"
WITA = ZoneInfo("Asia/Makassar")
OPEN = datetime(2026, 11, 23, 8, 0, tzinfo=WITA)  # a Monday
STEP = timedelta(seconds=30)
SIT_DOWN = timedelta(minutes=1)
VISITORS = 20


@dataclass
class Desk:
    name: str
    officer: dict[str, Any]
    ticket: dict[str, Any] | None = None
    serve_at: datetime | None = None
    done_at: datetime | None = None
    free_at: datetime | None = None


def turnarounds(seed: int) -> list[float]:
    """Minutes an officer takes after a finish before calling again: notes, a phone call, a break."""
    rng = random.Random(seed + 1)
    return [rng.choice([0.5, 1, 1, 2, 3, 4, 6, 9, 12]) for _ in range(VISITORS + 5)]


def schedule(seed: int) -> list[tuple[datetime, str | None, float, bool]]:
    """(arrival, priority, service minutes, no-show) for each visitor, reproducible from the seed."""
    rng = random.Random(seed)
    t = OPEN
    out = []
    for i in range(VISITORS):
        t += timedelta(minutes=rng.choice([0, 2, 3, 5, 6, 8, 10, 12]))
        priority = {6: "elderly", 13: "pregnant"}.get(i)
        out.append((t, priority, float(rng.randint(5, 18)), i == 9))
    return out


async def morning(svc: Services, clock: TestClock, seed: int) -> list[dict[str, Any]]:
    officers = []
    for n in (1, 2):
        officers.append(
            await accounts.create_staff(
                svc, email=f"desk{n}@bps.go.id", name=f"Petugas {n}", role="officer", office=OFFICE, password="x" * 12
            )
        )
    desks = [Desk(str(n + 1), officers[n]) for n in range(2)]
    plan = schedule(seed)
    gaps = turnarounds(seed)
    by_number: dict[str, tuple[float, bool]] = {}
    arrivals = list(plan)
    clock.set(OPEN)
    while arrivals or any(d.ticket for d in desks) or await _waiting(svc):
        now = clock.now()
        while arrivals and arrivals[0][0] <= now:
            _, priority, minutes, absent = arrivals.pop(0)
            entry, _, _ = await walkin.add_guestbook_entry(
                svc,
                OFFICE,
                name=f"Pengunjung {len(by_number) + 1}",
                email=f"v{len(by_number) + 1}@example.org",
                purpose="Data statistik kecamatan",
            )
            t, _ = await walkin.take_ticket(svc, OFFICE, guestbook_id=entry["_id"], priority=priority)
            by_number[t["number"]] = (minutes, absent)
        for d in desks:
            if d.ticket is not None and d.serve_at is not None and now >= d.serve_at:
                minutes, absent = by_number[d.ticket["number"]]
                if absent:
                    await walkin.no_show(svc, d.officer, d.ticket["_id"])
                    d.ticket = None
                    d.free_at = now
                else:
                    await walkin.serve(svc, d.officer, d.ticket["_id"])
                    d.done_at = now + timedelta(minutes=minutes)
                d.serve_at = None
            elif d.ticket is not None and d.done_at is not None and now >= d.done_at:
                await walkin.finish(svc, d.officer, d.ticket["_id"], topic="data", summary="Dilayani di meja.")
                d.ticket, d.done_at = None, None
                d.free_at = now + timedelta(minutes=gaps.pop(0))
            if d.ticket is None and (d.free_at is None or now >= d.free_at):
                try:
                    d.ticket = await walkin.call_next(svc, d.officer, OFFICE, desk=d.name)
                    d.serve_at = now + SIT_DOWN
                except NotFound:
                    pass
        clock.advance(STEP.total_seconds())
    day = wb.local_day(OPEN, "Asia/Makassar")
    return [t async for t in svc.db.queue_tickets.find({"office": OFFICE, "day": day}).sort("seq", 1)]


async def _waiting(svc: Services) -> bool:
    return bool(await svc.db.queue_tickets.count_documents({"office": OFFICE, "status": "waiting"}))


def local(t: datetime | None) -> str:
    return t.astimezone(WITA).strftime("%H:%M") if t else "  -  "


async def run(uri: str, seed: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    name = "bench_walkin_morning"
    await client.drop_database(name)
    db = client[name]
    await apply(db)
    await seed_offices(db)
    clock = TestClock(OPEN)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            mongodb_uri=uri, pst_db_name=name, pst_data_dir=Path(tmp), pst_secret_key="bench-only-secret-key"
        )
        svc = Services(settings=settings, db=db, clock=clock, events=RecordingEvents())
        tickets = await morning(svc, clock, seed)
        figures = await wb.summary(svc, None, OFFICE, wb.local_day(OPEN, "Asia/Makassar"))
    print(f"Scripted morning at {OFFICE} (WITA), {VISITORS} visitors, 2 desks, seed {seed}")
    print("number prio      taken called desk  waited  promise-ref        wait-vs-ref  kept  status")
    for t in tickets:
        p = t.get("promise") or {}
        ref = f"{p.get('ref', '-'):<17} {local(p.get('ref_at'))}" if p else "-"
        print(
            f"{t['number']}  {str(t.get('priority') or ''):<9} {local(t['created_at'])}  {local(t.get('called_at'))}"
            f"  {t.get('desk') or '-':>4}  {t.get('waited_seconds', 0) / 60:5.1f}m  {ref:<24}"
            f"  {int(p.get('wait_seconds', 0)) / 60:5.1f}m  {str(p.get('kept', '-')):<5} {t['status']}"
        )
    w, pw = figures["wait_minutes"], figures["promise_wait_minutes"]
    print()
    print(
        f"tickets {figures['tickets']}, served {figures['served']}, no-show {figures['no_show']}, "
        f"priority {figures['priority']}"
    )
    print(f"wait from taking the ticket to the call: mean {w['mean']} min, median {w['median']}, max {w['max']}")
    print(
        f"wait counted by the promise (from its reference): mean {pw['mean']}, median {pw['median']}, max {pw['max']}"
    )
    print(
        f"10-minute promise: kept {figures['promise_kept']}, broken {figures['promise_broken']}, "
        f"compliance {figures['promise_compliance']}"
    )
    print(f"service time at the desk: mean {figures['service_minutes']['mean']} min")
    await client.drop_database(name)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=None, help="a MongoDB to use instead of starting SecantusDB")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.uri:
        asyncio.run(run(args.uri, args.seed))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedDatabase(Path(tmp) / "db")

        async def go() -> None:
            await server.start()
            try:
                await run(server.uri, args.seed)
            finally:
                server.stop()

        asyncio.run(go())


if __name__ == "__main__":
    main()
