"""Reports benchmark: GET /reports/summary's work over 100,000 consultations of one office and over
500,000 across 50 offices, beside a plain count of the same range measured in the same run.

Run: .venv/bin/python bench/reports.py [--total 500000] [--offices 50] [--big 100000] [--runs 2]
                                       [--mongodb-uri mongodb://…] [--skip-embedded]

It starts SecantusDB, the embedded database, on a temporary directory (and, with --mongodb-uri,
runs the same on that server too), fills one database with the data set below, builds the schema's
indexes, then times, per scope:
  - reports.summary_of (every figure of the summary: the consultations' one-pass $facet, complaints,
    walk-in tickets, KB misses), the dashboard's reports.trends, and the consultation list export;
  - the reference: count_documents over the same (office, created_at) range, the least any report
    over those consultations must do;
and the history search (casebook.search) for a word that only occurs in messages.

The data set: 50 offices (the five seeds and 45 more across WIB, WITA and WIT); office 7406 has
`--big` consultations over the year 2026, the others share the rest of `--total`; shaped like the
real ones (channels, topics, statuses, SLA deadlines met or breached, working minutes, ratings), plus
walk-in tickets, complaints, KB misses, and 5 messages in each of 7406's newest 400 rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from mongo_init.schema import COLLECTIONS, apply, seed_offices  # noqa: E402
from server.domain import casebook, reports  # noqa: E402
from server.domain.clock import TestClock  # noqa: E402
from server.domain.ports import NullEvents  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402

Doc = dict[str, Any]
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
BIG_OFFICE = "7406"
YEAR = 2026
# Wednesday 2 December 2026, 09:00 WITA: the moment the reports are asked for.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=ZoneInfo("Asia/Makassar")).astimezone(UTC)
INSERT_BATCH = 2000
INSERT_CONCURRENCY = 4
NATIONAL: Doc = {"_id": ObjectId(), "name": "Pusat", "role": "admin", "office": None}
MESSAGE_ROOMS = 400
CHANNELS = ("online", "online", "online", "whatsapp", "email", "walk_in")
TOPICS = ("data", "metadata", "classification", "other")
SUBJECTS = ("Data inflasi bulanan", "PDRB kecamatan", "Jumlah penduduk miskin", "Kode KBLI usaha",
            "Metadata Susenas", "Tabel IPM kabupaten", "Data ekspor impor", "Luas panen padi")


def make_consultation(i: int, office: str, tz: str, rng: random.Random) -> Doc:
    """One consultation of `office` received at a random moment of the year."""
    start = datetime(YEAR, 1, 1, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    created = start + timedelta(seconds=rng.uniform(0, (NOW - start).total_seconds() - 3600))
    channel = rng.choice(CHANNELS)
    user_id = ObjectId()
    c: Doc = {
        "number": f"{office}-{YEAR}-{i:06d}", "office": office, "time_zone": tz, "channel": channel,
        "topic": rng.choice(TOPICS), "subject": f"{rng.choice(SUBJECTS)} {i}", "user_id": user_id,
        "user_name": f"Pengguna {i}", "user_email": f"pengguna{i}@example.id", "user_lang": "id",
        "assigned_to": None, "assigned_name": None, "created_at": created, "updated_at": created,
        "last_seq": 5, "last_visible_seq": 5, "reads": {str(user_id): 5}, "kb_query": None, "kb_opened": [],
        "transfers": [], "close_reason": None, "status": "queued",
    }
    if channel == "walk_in":
        c.update(status="closed", close_reason="resolved", first_response_at=created + timedelta(minutes=8),
                 closed_at=created + timedelta(minutes=30), first_response_wmin=8, resolution_wmin=30,
                 assigned_to=ObjectId(), assigned_name="Petugas")
        return c
    due = created + timedelta(days=rng.choice((3, 4, 5)))
    c["sla"] = {"started_at": created, "due_at": due, "at_risk_at": due - timedelta(days=1), "state": "on_track",
                "paused": False, "alerted": [], "margin": 1}
    r = rng.random()
    if r < 0.85 or created < NOW - timedelta(days=30):
        answer_wmin = int(rng.lognormvariate(5.0, 1.2))  # median ~150 working minutes, a long tail
        answered = created + timedelta(minutes=answer_wmin * 3)  # calendar time passes faster than working time
        c.update(first_response_at=answered, first_response_wmin=answer_wmin, assigned_to=ObjectId(),
                 assigned_name="Petugas", status="active", claimed_at=answered)
        c["sla"].update(state="met", met_at=answered)
        if rng.random() < 0.9 and answered < NOW - timedelta(days=1):
            spent = answer_wmin + int(rng.lognormvariate(6.0, 1.0))
            c.update(status="closed", close_reason=rng.choice(("resolved", "resolved", "user", "idle")),
                     closed_at=answered + timedelta(minutes=(spent - answer_wmin) * 3), resolution_wmin=spent)
            if rng.random() < 0.55:
                c["rating"] = {"score": rng.choices((1, 2, 3, 4, 5), (1, 1, 3, 8, 10))[0], "comment": None,
                               "at": c["closed_at"]}
    return c


async def insert(coll: Any, docs: list[Doc], sem: asyncio.Semaphore) -> None:
    async with sem:
        await coll.insert_many(docs, ordered=False)


async def fill(db: Any, total: int, n_offices: int, big: int) -> tuple[list[tuple[str, str]], float]:
    """The offices and their consultations, tickets, complaints, KB misses and messages; seconds taken."""
    rng = random.Random(20261202)
    await seed_offices(db, NOW)
    seeds = [(o["code"], o["time_zone"]) async for o in db.offices.find({}, {"code": 1, "time_zone": 1})]
    offices = list(seeds)
    template = await db.offices.find_one({"code": BIG_OFFICE})
    assert template is not None
    extra = [(f"{9000 + k:04d}", ZONES[k % len(ZONES)]) for k in range(max(0, n_offices - len(seeds)))]
    for code, tz in extra:
        doc = {k: v for k, v in template.items() if k != "_id"}
        doc.update(code=code, name=f"BPS Kantor {code}", time_zone=tz)
        await db.offices.insert_one(doc)
    offices += extra
    others = [o for o in offices if o[0] != BIG_OFFICE]
    plan: list[tuple[str, str]] = [(BIG_OFFICE, dict(offices)[BIG_OFFICE])] * big
    rest = max(0, total - big)
    plan += [others[i % len(others)] for i in range(rest)]
    started = time.perf_counter()
    sem = asyncio.Semaphore(INSERT_CONCURRENCY)
    batches = []
    for lo in range(0, len(plan), INSERT_BATCH):
        docs = [make_consultation(i, *plan[i], rng) for i in range(lo, min(lo + INSERT_BATCH, len(plan)))]
        batches.append(insert(db.consultations, docs, sem))
        if len(batches) >= INSERT_CONCURRENCY * 2:
            await asyncio.gather(*batches)
            batches = []
    await asyncio.gather(*batches)
    # The walk-in desk: ~20 tickets a working day at 7406, a few at every other office.
    tickets = []
    day = date(YEAR, 1, 1)
    while day < NOW.date():
        if day.weekday() < 5:
            for code, _tz in offices:
                for n in range(20 if code == BIG_OFFICE else 2):
                    kept = rng.random() < 0.8
                    tickets.append({"office": code, "day": day.isoformat(), "number": f"A-{n + 1:03d}", "seq": n + 1,
                                    "status": rng.choice(("done", "done", "done", "no_show")), "prio": 1,
                                    "promise": {"kept": kept}, "created_at": datetime.combine(day, datetime.min.time(),
                                                                                               tzinfo=UTC)})
        day += timedelta(days=1)
    for lo in range(0, len(tickets), INSERT_BATCH):
        await db.queue_tickets.insert_many(tickets[lo:lo + INSERT_BATCH], ordered=False)
    complaints = [
        {"office": rng.choice(offices)[0], "status": rng.choice(("received", "in_progress", "resolved")),
         "created_at": NOW - timedelta(days=rng.uniform(1, 330)), "due_at": NOW - timedelta(days=rng.uniform(-5, 300))}
        for _ in range(2000)
    ]
    await db.complaints.insert_many(complaints)
    misses = [{"office": rng.choice(offices)[0], "found": False, "q": "data langka", "source": "search",
               "at": NOW - timedelta(days=rng.uniform(1, 330))} for _ in range(5000)]
    await db.kb_queries.insert_many(misses)
    newest = [c["_id"] async for c in db.consultations.find({"office": BIG_OFFICE}, {"_id": 1})
              .sort("created_at", -1).limit(MESSAGE_ROOMS)]
    msgs = []
    for k, cid in enumerate(newest):
        for seq in range(1, 6):
            place = "Rarowatu Utara" if k == 7 and seq == 3 else "Poleang"
            text = f"Mohon data penduduk kecamatan {place}"
            msgs.append({"consultation_id": cid, "seq": seq, "kind": "text", "text": text, "created_at": NOW,
                         "author_role": "user"})
    await db.messages.insert_many(msgs)
    return offices, time.perf_counter() - started


# The consultations indexes the reports and the history search use; the schema has more (sweeps, queue,
# assignee) that take no part here and cost SecantusDB minutes to build at 500,000 documents.
REPORT_INDEXES = ("office_created", "number_unique")


async def build_indexes(db: Any, all_indexes: bool) -> str:
    """The schema's indexes, after the bulk load (SecantusDB builds an index faster than it maintains one)."""
    if all_indexes:
        await apply(db)
        return "the whole schema (mongo-init/schema.py)"
    for coll in COLLECTIONS:
        if coll.name not in await db.list_collection_names():
            await db.create_collection(coll.name)
        indexes = coll.indexes
        if coll.name == "consultations":
            indexes = [ix for ix in indexes if ix.document["name"] in REPORT_INDEXES]
        if indexes:
            await db[coll.name].create_indexes(indexes)
    return f"the schema, consultations with only {', '.join(REPORT_INDEXES)} (--all-indexes for every index)"


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    """The best of `runs` wall-clock times in seconds, and the last result."""
    best, out = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        out = await fn()
        best = min(best, time.perf_counter() - started)
    return best, out


async def drain(rows: Any) -> int:
    return sum([1 async for _ in rows])


async def measure(svc: Services, label: str, office: str, first: str, last: str, runs: int) -> None:
    p = await reports.period(svc, NATIONAL, office, first, last)
    match = p.match("created_at")
    count_s, n = await timed(lambda: svc.db.consultations.count_documents(match), runs)
    summary_s, out = await timed(lambda: reports.summary_of(svc, p), runs)
    trends_s, _ = await timed(lambda: reports.trends(svc, NATIONAL, office=office, first=first, last=last), 1)

    async def export() -> int:
        _, rows = await reports.consultation_list(svc, NATIONAL, office=office, first=first, last=last)
        return await drain(rows)

    export_s, exported = await timed(export, 1)
    fr = out["first_response_minutes"]
    print(f"  {label:<34}{n:>9,}{summary_s:>10.2f}{trends_s:>9.2f}{export_s:>9.2f}{count_s:>10.2f}"
          f"{summary_s / count_s if count_s else 0:>9.1f}x   median/p90 {fr['median']}/{fr['p90']} wmin, "
          f"SLA {out['sla']['compliance']}, exported {exported:,}")


async def run(uri: str, where: str, args: argparse.Namespace) -> None:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    db_name = f"bench_reports_{os.getpid()}"
    db = client[db_name]
    try:
        info = await client.admin.command("buildInfo")
        secantus = info.get("secantusVersion")
        version = f"SecantusDB {secantus}" if secantus else f"MongoDB {info.get('version')}"
        print(f"\ndatabase: {where} ({version})")
        offices, secs = await fill(db, args.total, args.offices, args.big)
        n = await db.consultations.estimated_document_count()
        print(f"filled {n:,} consultations over {len(offices)} offices ({args.big:,} at {BIG_OFFICE}) and the "
              f"tickets, complaints, KB misses and messages in {secs:.1f} s "
              f"(insert_many x{INSERT_BATCH}, before indexes)")
        started = time.perf_counter()
        built = await build_indexes(db, args.all_indexes)
        print(f"built {built} in {time.perf_counter() - started:.1f} s")
        settings = Settings(pst_secret_key="bench-secret", public_base_url="http://pst.bench")
        svc = Services(settings=settings, db=db, clock=TestClock(NOW), events=NullEvents())
        other = next(code for code, _tz in offices if code != BIG_OFFICE)
        print(f"\ntimes in seconds (summary: best of {args.runs}; the others once); reference = count_documents "
              "over the same range")
        print(f"  {'scope':<34}{'in range':>9}{'summary':>10}{'trends':>9}{'export':>9}{'count':>10}{'sum/count':>10}")
        await measure(svc, f"{BIG_OFFICE}, the year {YEAR}", BIG_OFFICE, f"{YEAR}-01-01", f"{YEAR}-12-31", args.runs)
        await measure(svc, f"{BIG_OFFICE}, November {YEAR}", BIG_OFFICE, f"{YEAR}-11-01", f"{YEAR}-11-30", args.runs)
        await measure(svc, f"{other}, the year {YEAR}", other, f"{YEAR}-01-01", f"{YEAR}-12-31", args.runs)
        await measure(svc, f"all {len(offices)} offices, the year {YEAR}", "all", f"{YEAR}-01-01", f"{YEAR}-12-31",
                      max(1, args.runs - 1))
        staff = {"_id": ObjectId(), "role": "officer", "office": BIG_OFFICE, "name": "Petugas"}
        for q, what in (("Rarowatu", "a word only in a message"), ("PDRB kecamatan", "a subject"),
                        (f"{BIG_OFFICE}-{YEAR}-000042", "a number")):
            try:
                took, out = await timed(lambda q=q: casebook.search(svc, staff, q=q), 1)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports what went wrong and goes on
                print(f"  history search {q!r} ({what}) at {BIG_OFFICE}: failed: {exc!r}")
                continue
            print(f"  history search {q!r} ({what}) at {BIG_OFFICE}: {took * 1000:,.0f} ms, "
                  f"{len(out['consultations'])} found, message text searched in {out['message_scope']['rooms']} rooms")
    finally:
        await client.drop_database(db_name)
        await client.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--total", type=int, default=500_000, help="consultations over every office")
    ap.add_argument("--offices", type=int, default=50)
    ap.add_argument("--big", type=int, default=100_000, help=f"consultations of office {BIG_OFFICE}")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--all-indexes", action="store_true", help="build every index of the schema (slow on SecantusDB)")
    ap.add_argument("--mongodb-uri", default=None, help="also run against this MongoDB")
    ap.add_argument("--skip-embedded", action="store_true", help="only the server given by --mongodb-uri")
    args = ap.parse_args()
    if not args.skip_embedded:
        from server.embedded import EmbeddedDatabase

        tmp = Path(tempfile.mkdtemp(prefix="pst-bench-"))
        server = EmbeddedDatabase(tmp / "db", log_path=tmp / "secantus.log")
        await server.start()
        try:
            await run(server.uri, "embedded, temp dir", args)
        finally:
            server.stop()
    if args.mongodb_uri:
        await run(args.mongodb_uri, f"external server at {args.mongodb_uri.split('@')[-1]}", args)


if __name__ == "__main__":
    asyncio.run(main())
